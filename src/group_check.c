/*
 * group_check.c
 *		Read a group of claim lines with row locks, for any kind of rule.
 *
 * A group is read from each relation the rule's RuleInfo lists (the
 * trigger's own relation first), through the index that serves the rule
 * there, or by a sequential scan where none does.  Relations are read
 * directly, never through SPI or a partitioned parent.
 *
 * Snapshots.  The group is read with the latest snapshot, after making our
 * own changes visible: at READ COMMITTED that is what a new statement would
 * see, and at REPEATABLE READ or SERIALIZABLE it is the "detect new rows"
 * check of ri_triggers.c, which must not miss an add-on committed after our
 * transaction snapshot.
 *
 * Locks.  Like a foreign key check, the check share-locks the lines it
 * relies on (for the add-on rule, the primary that satisfies an add-on).
 * A concurrent transaction then cannot delete or recode that line until
 * we commit, and one that removes such a line first makes us wait and then
 * read the group again (READ COMMITTED) or fail to serialize (the stricter
 * levels).
 * Lines written by this transaction need no lock: no other transaction can
 * change them before we commit.  Row locks live in the tuples, so a bulk
 * load of any size cannot exhaust the shared lock table.
 */
#include "postgres.h"

#include "group_check.h"
#include "group_map.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/relation.h"
#include "access/sysattr.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "pg_compat.h"

typedef enum VisitResult
{
	VISIT_CONTINUE,
	VISIT_STOP,
	VISIT_RESTART				/* a line changed under us: read again */
} VisitResult;

typedef VisitResult (*LineVisitor) (void *arg, Relation trel, int target,
									TupleTableSlot *slot, Snapshot snapshot);

/* The trigger's relation is open already; others are locked as SELECT FOR SHARE locks them. */
static Relation
open_target(RuleInfo *info, int t, Relation own_rel)
{
	Relation	trel;

	if (t == 0)
		return own_rel;
	trel = try_table_open(rule_target_relid(info, t), RowShareLock);
	if (trel == NULL || !rule_info_current(info))
	{
		/* detached, dropped or otherwise changed while we waited */
		if (trel)
			table_close(trel, NoLock);
		rule_info_forget(info);
		return NULL;
	}
	(void) rule_target_open(info, t, trel);
	return trel;
}

static void
close_target(Relation trel, Relation own_rel)
{
	if (trel && trel != own_rel)
		table_close(trel, NoLock);
}

static bool
group_values_match(RuleInfo *info, const ProbeTarget *t, TupleTableSlot *slot,
				   const Datum *values, const bool *isnull)
{
	for (int g = 0; g < info->ngroup; g++)
	{
		bool		n;
		Datum		v = slot_getattr(slot, t->group_attnos[g], &n);

		if (n != isnull[g])
			return false;
		if (!n && !DatumGetBool(FunctionCall2Coll(&info->group_eq[g],
												  info->group_collations[g],
												  v, values[g])))
			return false;
	}
	return true;
}

/* Visit every line of the group in one relation, until the visitor stops. */
static VisitResult
scan_group_on(RuleInfo *info, Relation trel, int t, const Datum *values,
			  const bool *isnull, const DateADT *on_date, Snapshot snapshot,
			  LineVisitor visit, void *arg)
{
	const ProbeTarget *target = rule_target(info, t);
	TupleTableSlot *slot = table_slot_create(trel, NULL);
	VisitResult result = VISIT_CONTINUE;

	if (OidIsValid(target->indexoid))
	{
		Relation	index = index_open(target->indexoid, AccessShareLock);
		ScanKeyData keys[MAX_GROUP_COLUMNS + 1];
		int			nkeys = info->ngroup;
		IndexScanDesc scan;

		for (int k = 0; k < info->ngroup; k++)
		{
			int			g = target->group_of_indexcol[k];

			if (isnull[g])
				ScanKeyEntryInitialize(&keys[k], SK_ISNULL | SK_SEARCHNULL,
									   k + 1, InvalidStrategy, InvalidOid,
									   InvalidOid, InvalidOid, (Datum) 0);
			else
				ScanKeyEntryInitialize(&keys[k], 0, k + 1, BTEqualStrategyNumber,
									   target->key_subtype[k], target->key_collation[k],
									   target->key_proc[k], values[g]);
		}
		/* only the lines of that date of service, where the index has it next */
		if (on_date && target->date_keyed)
			ScanKeyEntryInitialize(&keys[nkeys++], 0, info->ngroup + 1, BTEqualStrategyNumber,
								   target->date_key_subtype, InvalidOid,
								   target->date_key_proc, DateADTGetDatum(*on_date));
		scan = cpt_index_beginscan(trel, index, snapshot, nkeys, 0);
		index_rescan(scan, keys, nkeys, NULL, 0);
		while (result == VISIT_CONTINUE &&
			   index_getnext_slot(scan, ForwardScanDirection, slot))
		{
			result = visit(arg, trel, t, slot, snapshot);
			ExecClearTuple(slot);
		}
		index_endscan(scan);
		index_close(index, NoLock);
	}
	else
	{
		TableScanDesc scan = table_beginscan(trel, snapshot, 0, NULL);

		while (result == VISIT_CONTINUE &&
			   table_scan_getnextslot(scan, ForwardScanDirection, slot))
		{
			CHECK_FOR_INTERRUPTS();
			if (group_values_match(info, target, slot, values, isnull))
				result = visit(arg, trel, t, slot, snapshot);
			ExecClearTuple(slot);
		}
		table_endscan(scan);
	}
	ExecDropSingleTupleTableSlot(slot);
	return result;
}

static inline VisitResult
scan_group(RuleInfo *info, Relation trel, int t, const Datum *values,
		   const bool *isnull, Snapshot snapshot, LineVisitor visit, void *arg)
{
	return scan_group_on(info, trel, t, values, isnull, NULL, snapshot, visit, arg);
}

bool
group_line_is_ours(TupleTableSlot *slot)
{
	bool		isnull;
	TransactionId xmin;

	xmin = DatumGetTransactionId(slot_getsysattr(slot, MinTransactionIdAttributeNumber,
												 &isnull));
	return TransactionIdIsCurrentTransactionId(xmin);
}

static void
line_code_date(const ProbeTarget *t, TupleTableSlot *slot, CptCode *code,
			   bool *code_isnull, DateADT *date, bool *date_isnull)
{
	Datum		d = slot_getattr(slot, t->code_attno, code_isnull);

	/* a value that is no code is neither an add-on nor a primary: as NULL */
	*code = 0;
	if (!*code_isnull && !cpt_code_of_column(d, t->code_is_text, code))
		*code_isnull = true;
	*date_isnull = true;
	*date = 0;
	if (t->date_attno != InvalidAttrNumber)
	{
		d = slot_getattr(slot, t->date_attno, date_isnull);
		if (!*date_isnull)
			*date = DatumGetDateADT(d);
	}
}

static void
serialization_failure(Oid rootid)
{
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg("could not serialize access due to concurrent update"),
			 errdetail("A line of the same group of table \"%s\" was changed by a concurrent transaction.",
					   get_rel_name(rootid)),
			 errhint("The transaction might succeed if retried.")));
}

/*
 * Share-lock a line the check relies on.  False when it was changed by a
 * transaction that committed meanwhile, and the group must be read again.
 */
static bool
lock_line(const RuleInfo *info, Relation trel, ItemPointer tid, Snapshot snapshot)
{
	TupleTableSlot *lockslot = table_slot_create(trel, NULL);
	TM_FailureData tmfd;
	TM_Result	result;

	result = table_tuple_lock(trel, tid, snapshot, lockslot,
							  GetCurrentCommandId(false), LockTupleShare,
							  LockWaitBlock, 0, &tmfd);
	ExecDropSingleTupleTableSlot(lockslot);
	switch (result)
	{
		case TM_Ok:
		case TM_SelfModified:
			return true;
		case TM_Updated:
		case TM_Deleted:
			if (IsolationUsesXactSnapshot())
				serialization_failure(info->rootid);
			return false;
		default:
			elog(ERROR, "unexpected result %d locking a line of \"%s\"",
				 (int) result, RelationGetRelationName(trel));
	}
	return false;				/* keep compiler quiet */
}

/* ---------- one line the arriving line needs ---------- */

typedef struct FindLine
{
	RuleInfo   *info;
	LineTest	test;
	void	   *test_arg;
} FindLine;

static VisitResult
find_line_visit(void *arg, Relation trel, int t, TupleTableSlot *slot,
				   Snapshot snapshot)
{
	FindLine *fp = arg;
	CptCode		code;
	bool		code_isnull;
	DateADT		date;
	bool		date_isnull;

	line_code_date(rule_target(fp->info, t), slot, &code, &code_isnull, &date, &date_isnull);
	if (code_isnull || !fp->test(fp->test_arg, code, date, date_isnull))
		return VISIT_CONTINUE;
	if (group_line_is_ours(slot) || lock_line(fp->info, trel, &slot->tts_tid, snapshot))
		return VISIT_STOP;
	return VISIT_RESTART;
}

/*
 * Without an index: the group map's candidates first, each validated
 * against the table, then the table itself.
 */
static VisitResult
find_line_unindexed(FindLine *fp, Relation trel, int t, const Datum *values,
					   const bool *isnull, Snapshot snapshot)
{
	GroupMap   *map = group_map_for(fp->info, t, trel);
	VisitResult result;

	if (map != NULL)
	{
		int			n;
		const MapLine *lines = group_map_lines(map, fp->info, values, isnull, &n);
		TupleTableSlot *slot = NULL;
		bool		found = false;

		for (int i = 0; i < n && !found; i++)
		{
			ItemPointerData tid = lines[i].tid;

			if (!fp->test(fp->test_arg, lines[i].code, lines[i].date, lines[i].date_isnull))
				continue;
			if (lines[i].ours)
			{
				if (slot == NULL)
					slot = table_slot_create(trel, NULL);
				found = table_tuple_fetch_row_version(trel, &tid, snapshot, slot);
			}
			else
				found = lock_line(fp->info, trel, &tid, snapshot);
		}
		if (slot)
			ExecDropSingleTupleTableSlot(slot);
		if (found)
			return VISIT_STOP;
	}
	result = scan_group(fp->info, trel, t, values, isnull, snapshot, find_line_visit, fp);
	if (map != NULL && result != VISIT_CONTINUE)
		group_map_stale(map);
	return result;
}

/*
 * Most lines a neighbour probe looks at on each side of the add-on line: it
 * bounds the cost for a long run of add-ons of one group without primaries.
 */
#define NEIGHBOUR_PROBE_LINES	32

/*
 * After this many misses in a row on a relation, probe only one check in
 * NEIGHBOUR_PROBE_RETRY, until a probe finds a line again: where claims
 * are stored apart, a miss costs two or three line fetches for nothing.
 */
#define NEIGHBOUR_PROBE_MISSES	16
#define NEIGHBOUR_PROBE_RETRY	64

/*
 * Look at the lines stored next to "near" on its heap page, outwards on
 * each side until a line of another group, an empty or invisible slot, or
 * the page's end.  TIDs name neighbours only in heap tables; the fetch
 * follows HOT chains from their root, as an index scan's does.  A miss
 * costs a few lines, and the caller's scan then decides.
 */
static VisitResult
probe_neighbours(FindLine *fp, Relation rel, ItemPointer near,
				 const Datum *values, const bool *isnull, Snapshot snapshot)
{
	BlockNumber block = ItemPointerGetBlockNumber(near);
	OffsetNumber start = ItemPointerGetOffsetNumber(near);
	IndexFetchTableData *fetch;
	TupleTableSlot *slot;
	VisitResult result = VISIT_CONTINUE;

	fetch = table_index_fetch_begin(rel);
	slot = table_slot_create(rel, NULL);
	for (int step = -1; step <= 1 && result == VISIT_CONTINUE; step += 2)
	{
		/* the line itself is left to the index scan, which may need it */
		int			off = start + step;

		for (int n = 0; n < NEIGHBOUR_PROBE_LINES && off >= FirstOffsetNumber &&
			 off <= MaxOffsetNumber && result == VISIT_CONTINUE; n++, off += step)
		{
			ItemPointerData tid;
			bool		call_again = false;
			bool		all_dead = false;

			ItemPointerSet(&tid, block, off);
			if (!table_index_fetch_tuple(fetch, &tid, snapshot, slot, &call_again, &all_dead))
				break;
			if (!group_values_match(fp->info, rule_target(fp->info, 0), slot, values, isnull))
				break;
			result = find_line_visit(fp, rel, 0, slot, snapshot);
			ExecClearTuple(slot);
		}
	}
	ExecDropSingleTupleTableSlot(slot);
	table_index_fetch_end(fetch);
	if (result == VISIT_CONTINUE)
		fp->info->probe_misses++;
	else
		fp->info->probe_misses = 0;
	return result;
}

static bool
probe_worth_trying(RuleInfo *info, Relation rel, ItemPointer near)
{
	if (!ItemPointerIsValid(near) || rel->rd_tableam != GetHeapamTableAmRoutine())
		return false;
	return info->probe_misses < NEIGHBOUR_PROBE_MISSES ||
		++info->probes_skipped % NEIGHBOUR_PROBE_RETRY == 0;
}

ProbeResult
group_find_line(RuleInfo *info, Relation rel, const Datum *values,
				const bool *isnull, LineTest test, void *test_arg, ItemPointer near)
{
	FindLine fp;
	bool		probe = probe_worth_trying(info, rel, near);

	Assert(rule_target_relid(info, 0) == RelationGetRelid(rel));
	fp.info = info;
	fp.test = test;
	fp.test_arg = test_arg;

	for (;;)
	{
		Snapshot	snapshot;
		VisitResult result = VISIT_CONTINUE;

		CommandCounterIncrement();
		snapshot = RegisterSnapshot(GetLatestSnapshot());
		if (probe)
			result = probe_neighbours(&fp, rel, near, values, isnull, snapshot);
		for (int t = 0; t < info->ntargets && result == VISIT_CONTINUE; t++)
		{
			Relation	trel = open_target(info, t, rel);

			if (trel == NULL)
			{
				UnregisterSnapshot(snapshot);
				return PROBE_STALE;
			}
			if (!OidIsValid(rule_target(info, t)->indexoid))
				result = find_line_unindexed(&fp, trel, t, values, isnull, snapshot);
			else
				result = scan_group(info, trel, t, values, isnull, snapshot,
									find_line_visit, &fp);
			close_target(trel, rel);
		}
		UnregisterSnapshot(snapshot);
		if (result == VISIT_STOP)
			return PROBE_FOUND;
		if (result == VISIT_CONTINUE)
			return PROBE_NONE;
		CHECK_FOR_INTERRUPTS();
	}
}

/* ---------- the whole group ---------- */

static void
lines_reset(GroupLines *lines)
{
	if (lines->capacity == 0)
	{
		lines->capacity = 16;
		lines->codes = palloc(sizeof(CptCode) * lines->capacity);
		lines->code_isnull = palloc(sizeof(bool) * lines->capacity);
		lines->dates = palloc(sizeof(DateADT) * lines->capacity);
		lines->date_isnull = palloc(sizeof(bool) * lines->capacity);
		lines->target = palloc(sizeof(int) * lines->capacity);
		lines->tids = palloc(sizeof(ItemPointerData) * lines->capacity);
		lines->ours = palloc(sizeof(bool) * lines->capacity);
	}
	lines->nlines = 0;
}

typedef struct CollectLines
{
	RuleInfo   *info;
	GroupLines *lines;
} CollectLines;

static VisitResult
collect_visit(void *arg, Relation trel, int t, TupleTableSlot *slot, Snapshot snapshot)
{
	CollectLines *cl = arg;
	GroupLines *l = cl->lines;
	int			n = l->nlines;

	if (n == l->capacity)
	{
		l->capacity *= 2;
		l->codes = repalloc(l->codes, sizeof(CptCode) * l->capacity);
		l->code_isnull = repalloc(l->code_isnull, sizeof(bool) * l->capacity);
		l->dates = repalloc(l->dates, sizeof(DateADT) * l->capacity);
		l->date_isnull = repalloc(l->date_isnull, sizeof(bool) * l->capacity);
		l->target = repalloc(l->target, sizeof(int) * l->capacity);
		l->tids = repalloc(l->tids, sizeof(ItemPointerData) * l->capacity);
		l->ours = repalloc(l->ours, sizeof(bool) * l->capacity);
	}
	line_code_date(rule_target(cl->info, t), slot, &l->codes[n], &l->code_isnull[n],
				   &l->dates[n], &l->date_isnull[n]);
	l->target[n] = t;
	l->tids[n] = slot->tts_tid;
	l->ours[n] = group_line_is_ours(slot);
	l->nlines++;
	return VISIT_CONTINUE;
}

ProbeResult
group_check_all(RuleInfo *info, Relation rel, const Datum *values,
				const bool *isnull, GroupLines *lines, int *violating)
{
	CollectLines cl;

	cl.info = info;
	cl.lines = lines;
	lines->capacity = 0;

	for (;;)
	{
		Snapshot	snapshot;
		Relation   *trels = palloc0(sizeof(Relation) * info->ntargets);
		bool		restart = false;
		bool	   *locked;

		CommandCounterIncrement();
		snapshot = RegisterSnapshot(GetLatestSnapshot());
		lines_reset(lines);
		for (int t = 0; t < info->ntargets; t++)
		{
			trels[t] = open_target(info, t, rel);
			if (trels[t] == NULL)
			{
				for (int u = 0; u < t; u++)
					close_target(trels[u], rel);
				UnregisterSnapshot(snapshot);
				return PROBE_STALE;
			}
			(void) scan_group(info, trels[t], t, values, isnull, snapshot,
							  collect_visit, &cl);
		}

		*violating = -1;
		locked = palloc0(sizeof(bool) * Max(lines->nlines, 1));
		for (int i = 0; i < lines->nlines && !restart; i++)
		{
			int			j = info->kind->judge_line(lines, i);

			if (j == RULE_LINE_VIOLATES)
			{
				*violating = i;
				break;
			}
			if (j >= 0 && !lines->ours[j] && !locked[j])
			{
				if (!lock_line(info, trels[lines->target[j]], &lines->tids[j], snapshot))
					restart = true;
				locked[j] = true;
			}
		}
		for (int t = 0; t < info->ntargets; t++)
			close_target(trels[t], rel);
		UnregisterSnapshot(snapshot);
		pfree(trels);
		pfree(locked);
		if (!restart)
			return *violating >= 0 ? PROBE_NONE : PROBE_FOUND;
		CHECK_FOR_INTERRUPTS();
	}
}

/* ---------- every line, unlocked ---------- */

typedef struct ReadLines
{
	RuleInfo   *info;
	GroupLineReader reader;
	void	   *reader_arg;
} ReadLines;

static VisitResult
read_visit(void *arg, Relation trel, int t, TupleTableSlot *slot, Snapshot snapshot)
{
	ReadLines  *rl = arg;

	rl->reader(rl->reader_arg, rule_target(rl->info, t), slot);
	return VISIT_CONTINUE;
}

ProbeResult
group_read_lines(RuleInfo *info, Relation rel, const Datum *values, const bool *isnull,
				 const DateADT *on_date, GroupLineReader reader, void *reader_arg)
{
	ReadLines	rl;
	Snapshot	snapshot;

	rl.info = info;
	rl.reader = reader;
	rl.reader_arg = reader_arg;
	CommandCounterIncrement();
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	for (int t = 0; t < info->ntargets; t++)
	{
		Relation	trel = open_target(info, t, rel);

		if (trel == NULL)
		{
			UnregisterSnapshot(snapshot);
			return PROBE_STALE;
		}
		(void) scan_group_on(info, trel, t, values, isnull, on_date, snapshot, read_visit, &rl);
		close_target(trel, rel);
	}
	UnregisterSnapshot(snapshot);
	return PROBE_FOUND;
}

ProbeResult
group_read_all_lines(RuleInfo *info, Relation rel, AllLinesReader reader, void *reader_arg,
					 CommandId *as_of)
{
	Snapshot	snapshot;
	bool		more = true;

	CommandCounterIncrement();
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	*as_of = snapshot->curcid;
	for (int t = 0; t < info->ntargets && more; t++)
	{
		Relation	trel = open_target(info, t, rel);
		const ProbeTarget *target;
		TupleTableSlot *slot;
		TableScanDesc scan;

		if (trel == NULL)
		{
			UnregisterSnapshot(snapshot);
			return PROBE_STALE;
		}
		target = rule_target(info, t);
		slot = table_slot_create(trel, NULL);
		scan = table_beginscan(trel, snapshot, 0, NULL);
		while (more && table_scan_getnextslot(scan, ForwardScanDirection, slot))
		{
			CHECK_FOR_INTERRUPTS();
			more = reader(reader_arg, target, slot);
		}
		table_endscan(scan);
		ExecDropSingleTupleTableSlot(slot);
		close_target(trel, rel);
	}
	UnregisterSnapshot(snapshot);
	return PROBE_FOUND;
}
