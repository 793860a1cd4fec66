/*
 * group_reader.c
 *		Read one group of claim lines with row locks, for the add-on rule.
 *
 * Two ways, with the same result:
 *
 * - Through an index whose leading columns are the group columns, scanning
 *   the heap directly.  This is the common case and the fast one: a bulk
 *   load checks tens of thousands of groups at commit.  Lines written by
 *   this transaction are not locked, since no other transaction can change
 *   them before we commit; every other line is locked FOR SHARE.
 *
 * - Otherwise (no such index, or a partitioned table, whose claims may span
 *   partitions) with a cached SPI query SELECT ... FOR SHARE, run as the
 *   table owner with row-level security off, as ri_triggers.c does.
 *
 * Either way the group is read with the latest snapshot, after making our
 * own changes visible: at READ COMMITTED that is what a new statement would
 * see, and at REPEATABLE READ or SERIALIZABLE it is the "detect new rows"
 * check of ri_triggers.c, which must not miss an add-on committed after our
 * transaction snapshot.  When a line we must lock was changed by a
 * transaction that committed while we waited, READ COMMITTED reads the group
 * again; the stricter levels raise a serialization failure.
 */
#include "postgres.h"

#include "group_reader.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/relation.h"
#include "access/sysattr.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_am.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

/* ---------- which index serves a rule ---------- */

typedef struct IndexChoice
{
	Oid			tgoid;			/* hash key */
	Oid			relid;
	Oid			indexoid;		/* InvalidOid: none suits, use SPI */
	int			group_of_indexcol[MAX_GROUP_COLUMNS];
} IndexChoice;

static HTAB *index_choices = NULL;

/* Index definitions change with relcache invalidations: forget choices. */
static void
index_choice_invalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	IndexChoice *entry;

	if (index_choices == NULL)
		return;
	hash_seq_init(&status, index_choices);
	while ((entry = hash_seq_search(&status)) != NULL)
		if (relid == InvalidOid || entry->relid == relid || entry->indexoid == relid)
			hash_search(index_choices, &entry->tgoid, HASH_REMOVE, NULL);
}

void
group_reader_init(void)
{
	CacheRegisterRelcacheCallback(index_choice_invalidate, (Datum) 0);
}

/*
 * A valid, non-partial btree index whose first ngroup key columns are the
 * group columns (in any order), compared with the type's default equality.
 */
static const IndexChoice *
choose_index(Relation rel, Trigger *trigger, const RuleArgs *args)
{
	IndexChoice *choice;
	bool		found;
	List	   *indexes;
	ListCell   *lc;

	if (index_choices == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(IndexChoice);
		index_choices = hash_create("cpt_rules index choices", 32, &ctl,
									HASH_ELEM | HASH_BLOBS);
	}
	choice = hash_search(index_choices, &trigger->tgoid, HASH_ENTER, &found);
	if (found && choice->relid == RelationGetRelid(rel))
		return choice;

	choice->relid = RelationGetRelid(rel);
	choice->indexoid = InvalidOid;
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index form = index->rd_index;
		bool		usable = form->indisvalid && form->indislive &&
			index->rd_rel->relam == BTREE_AM_OID &&
			heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL) &&
			form->indnkeyatts >= args->ngroup;

		for (int k = 0; usable && k < args->ngroup; k++)
		{
			int			g;

			for (g = 0; g < args->ngroup; g++)
				if (form->indkey.values[k] == args->group_attnos[g])
					break;
			if (g == args->ngroup ||
				index->rd_opcintype[k] != getBaseType(args->group_types[g]) ||
				!OidIsValid(get_opfamily_member(index->rd_opfamily[k],
												index->rd_opcintype[k],
												index->rd_opcintype[k],
												BTEqualStrategyNumber)) ||
				get_typcollation(args->group_types[g]) != index->rd_indcollation[k])
				usable = false;
			else
				choice->group_of_indexcol[k] = g;
		}
		index_close(index, AccessShareLock);
		if (usable)
		{
			choice->indexoid = lfirst_oid(lc);
			break;
		}
	}
	list_free(indexes);
	return choice;
}

/* ---------- reading ---------- */

static void
init_lines(GroupLines *out, int capacity)
{
	out->nlines = 0;
	out->codes = palloc(sizeof(CptCode) * capacity);
	out->code_isnull = palloc(sizeof(bool) * capacity);
	out->dates = palloc(sizeof(DateADT) * capacity);
	out->date_isnull = palloc(sizeof(bool) * capacity);
}

static void
add_line(GroupLines *out, int *capacity, Datum code, bool code_isnull,
		 Datum date, bool date_isnull)
{
	if (out->nlines == *capacity)
	{
		*capacity *= 2;
		out->codes = repalloc(out->codes, sizeof(CptCode) * *capacity);
		out->code_isnull = repalloc(out->code_isnull, sizeof(bool) * *capacity);
		out->dates = repalloc(out->dates, sizeof(DateADT) * *capacity);
		out->date_isnull = repalloc(out->date_isnull, sizeof(bool) * *capacity);
	}
	out->codes[out->nlines] = code_isnull ? 0 : DatumGetCptCode(code);
	out->code_isnull[out->nlines] = code_isnull;
	out->dates[out->nlines] = date_isnull ? 0 : DatumGetDateADT(date);
	out->date_isnull[out->nlines] = date_isnull;
	out->nlines++;
}

static void
serialization_failure(Relation rel)
{
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg("could not serialize access due to concurrent update"),
			 errdetail("A line of the same group of table \"%s\" was changed by a concurrent transaction.",
					   RelationGetRelationName(rel)),
			 errhint("The transaction might succeed if retried.")));
}

/*
 * One pass over the group.  Returns false when a line changed under us
 * while we waited for its lock and the group must be read again.
 */
static bool
read_via_index_once(Relation rel, Relation index, const IndexChoice *choice,
					const RuleArgs *args, const Datum *values,
					const bool *isnull, GroupLines *out)
{
	Snapshot	snapshot;
	ScanKeyData keys[MAX_GROUP_COLUMNS];
	IndexScanDesc scan;
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	TupleTableSlot *lockslot = table_slot_create(rel, NULL);
	int			capacity = 16;
	bool		complete = true;

	for (int k = 0; k < args->ngroup; k++)
	{
		int			g = choice->group_of_indexcol[k];

		if (isnull[g])
			ScanKeyEntryInitialize(&keys[k], SK_ISNULL | SK_SEARCHNULL,
								   k + 1, InvalidStrategy, InvalidOid,
								   InvalidOid, InvalidOid, (Datum) 0);
		else
		{
			Oid			opr = get_opfamily_member(index->rd_opfamily[k],
												  index->rd_opcintype[k],
												  index->rd_opcintype[k],
												  BTEqualStrategyNumber);

			ScanKeyEntryInitialize(&keys[k], 0, k + 1, BTEqualStrategyNumber,
								   index->rd_opcintype[k],
								   index->rd_indcollation[k],
								   get_opcode(opr), values[g]);
		}
	}

	CommandCounterIncrement();
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	init_lines(out, capacity);

	scan = index_beginscan(rel, index, snapshot, args->ngroup, 0);
	index_rescan(scan, keys, args->ngroup, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		xmin_isnull;
		TransactionId xmin;
		bool		code_isnull;
		bool		date_isnull = true;
		Datum		code;
		Datum		date = (Datum) 0;

		xmin = DatumGetTransactionId(slot_getsysattr(slot, MinTransactionIdAttributeNumber,
													 &xmin_isnull));
		if (!TransactionIdIsCurrentTransactionId(xmin))
		{
			TM_FailureData tmfd;
			TM_Result	result;

			result = table_tuple_lock(rel, &slot->tts_tid, snapshot, lockslot,
									  GetCurrentCommandId(false), LockTupleShare,
									  LockWaitBlock, 0, &tmfd);
			switch (result)
			{
				case TM_Ok:
				case TM_SelfModified:
					break;
				case TM_Updated:
				case TM_Deleted:
					if (IsolationUsesXactSnapshot())
						serialization_failure(rel);
					complete = false;
					break;
				default:
					elog(ERROR, "unexpected result %d locking a line of \"%s\"",
						 (int) result, RelationGetRelationName(rel));
			}
			if (!complete)
				break;
		}

		code = slot_getattr(slot, args->code_attno, &code_isnull);
		if (args->date_attno != InvalidAttrNumber)
			date = slot_getattr(slot, args->date_attno, &date_isnull);
		add_line(out, &capacity, code, code_isnull, date, date_isnull);
	}
	index_endscan(scan);
	UnregisterSnapshot(snapshot);
	ExecDropSingleTupleTableSlot(slot);
	ExecDropSingleTupleTableSlot(lockslot);
	return complete;
}

/* ---------- the general way, through SPI ---------- */

/* Cached check plans, one per trigger and NULL pattern of the group key. */
typedef struct PlanKey
{
	Oid			tgoid;
	uint32		nullmask;
} PlanKey;

typedef struct PlanEntry
{
	PlanKey		key;
	char	   *query;			/* text the plan was made from */
	SPIPlanPtr	plan;
} PlanEntry;

static HTAB *plan_cache = NULL;

static void
append_operator(StringInfo buf, Oid type)
{
	TypeCacheEntry *tce = lookup_type_cache(type, TYPECACHE_EQ_OPR);
	HeapTuple	tup;
	Form_pg_operator op;

	if (!OidIsValid(tce->eq_opr))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("could not identify an equality operator for type %s",
						format_type_be(type))));
	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(tce->eq_opr));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for operator %u", tce->eq_opr);
	op = (Form_pg_operator) GETSTRUCT(tup);
	appendStringInfo(buf, "OPERATOR(%s.%s)",
					 quote_identifier(get_namespace_name(op->oprnamespace)),
					 NameStr(op->oprname));
	ReleaseSysCache(tup);
}

/*
 * SELECT code, date FROM [ONLY] rel x WHERE g1 OPERATOR(s.=) $1 AND g2 IS NULL
 * FOR SHARE OF x.  Everything is qualified and quoted, so neither search_path
 * nor odd column names can change its meaning.
 */
static char *
build_check_query(const RuleArgs *args, Relation queryrel, uint32 nullmask)
{
	StringInfoData buf;
	int			nparam = 0;

	initStringInfo(&buf);
	appendStringInfo(&buf, "SELECT x.%s, %s%s FROM %s%s x WHERE ",
					 quote_identifier(args->code_col),
					 args->date_col ? "x." : "NULL::pg_catalog.date",
					 args->date_col ? quote_identifier(args->date_col) : "",
					 queryrel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE ? "" : "ONLY ",
					 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(queryrel)),
												RelationGetRelationName(queryrel)));
	for (int i = 0; i < args->ngroup; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, " AND ");
		appendStringInfo(&buf, "x.%s ", quote_identifier(args->group_cols[i]));
		if (nullmask & (1u << i))
			appendStringInfoString(&buf, "IS NULL");
		else
		{
			append_operator(&buf, args->group_types[i]);
			appendStringInfo(&buf, " $%d", ++nparam);
		}
	}
	appendStringInfoString(&buf, " FOR SHARE OF x");
	return buf.data;
}

static SPIPlanPtr
get_check_plan(Trigger *trigger, const RuleArgs *args, Relation queryrel,
			   uint32 nullmask)
{
	PlanKey		key;
	PlanEntry  *entry;
	bool		found;
	char	   *query = build_check_query(args, queryrel, nullmask);
	Oid			argtypes[MAX_GROUP_COLUMNS];
	int			nargs = 0;
	SPIPlanPtr	plan;

	if (plan_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(PlanKey);
		ctl.entrysize = sizeof(PlanEntry);
		plan_cache = hash_create("cpt_rules check plans", 64, &ctl,
								 HASH_ELEM | HASH_BLOBS);
	}
	memset(&key, 0, sizeof(key));
	key.tgoid = trigger->tgoid;
	key.nullmask = nullmask;
	entry = hash_search(plan_cache, &key, HASH_ENTER, &found);
	if (found && entry->plan && SPI_plan_is_valid(entry->plan) &&
		strcmp(entry->query, query) == 0)
		return entry->plan;

	/* stale or new: forget the old plan first, so an error leaves no junk */
	if (found && entry->plan)
	{
		SPI_freeplan(entry->plan);
		pfree(entry->query);
	}
	entry->plan = NULL;
	entry->query = NULL;

	for (int i = 0; i < args->ngroup; i++)
		if (!(nullmask & (1u << i)))
			argtypes[nargs++] = args->group_types[i];
	plan = SPI_prepare(query, nargs, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", query,
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	entry->query = MemoryContextStrdup(TopMemoryContext, query);
	entry->plan = plan;
	return plan;
}

static void
read_via_spi(Relation queryrel, Trigger *trigger, const RuleArgs *args,
			 const Datum *values, const bool *isnull, GroupLines *out)
{
	uint32		nullmask = 0;
	Datum		params[MAX_GROUP_COLUMNS];
	int			nparams = 0;
	SPIPlanPtr	plan;
	Oid			save_userid;
	int			save_sec_context;
	int			spirc;
	int			capacity;
	MemoryContext caller_cxt = CurrentMemoryContext;

	for (int i = 0; i < args->ngroup; i++)
	{
		if (isnull[i])
			nullmask |= 1u << i;
		else
			params[nparams++] = values[i];
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(queryrel->rd_rel->relowner,
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_NOFORCE_RLS);

	plan = get_check_plan(trigger, args, queryrel, nullmask);
	CommandCounterIncrement();
	spirc = SPI_execute_snapshot(plan, params, NULL, GetLatestSnapshot(),
								 IsolationUsesXactSnapshot() ? GetTransactionSnapshot() : InvalidSnapshot,
								 false, false, 0);

	SetUserIdAndSecContext(save_userid, save_sec_context);

	if (spirc != SPI_OK_SELECT)
		elog(ERROR, "add-on rule check on \"%s\" failed: %s",
			 RelationGetRelationName(queryrel), SPI_result_code_string(spirc));

	/* the result must outlive SPI_finish */
	{
		MemoryContext spi_cxt = MemoryContextSwitchTo(caller_cxt);

		capacity = Max((int) SPI_processed, 1);
		init_lines(out, capacity);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		code_isnull;
			bool		date_isnull;
			Datum		code = SPI_getbinval(tup, desc, 1, &code_isnull);
			Datum		date = SPI_getbinval(tup, desc, 2, &date_isnull);

			add_line(out, &capacity, code, code_isnull, date, date_isnull);
		}
		MemoryContextSwitchTo(spi_cxt);
	}
	SPI_finish();
}

void
read_group_locked(Relation queryrel, Trigger *trigger, const RuleArgs *args,
				  const Datum *values, const bool *isnull, GroupLines *out)
{
	const IndexChoice *choice = NULL;

	/* a partition's trigger reads the whole partitioned table, through SPI */
	if (queryrel->rd_rel->relkind == RELKIND_RELATION)
		choice = choose_index(queryrel, trigger, args);

	if (choice != NULL && OidIsValid(choice->indexoid))
	{
		/* a copy: opening the index may process invalidations */
		IndexChoice chosen = *choice;
		Relation	index = index_open(chosen.indexoid, AccessShareLock);

		while (!read_via_index_once(queryrel, index, &chosen, args, values, isnull, out))
			CHECK_FOR_INTERRUPTS();
		index_close(index, NoLock);
	}
	else
		read_via_spi(queryrel, trigger, args, values, isnull, out);
}
