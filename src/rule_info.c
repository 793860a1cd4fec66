/*
 * rule_info.c
 *		Resolve a rule's trigger once: its columns, the relation it was
 *		attached to, and which relations and indexes a check reads.
 *
 * Columns are bound by attribute number, as a foreign key binds them: the
 * trigger's WHEN clause is a call to one of the marker functions
 * (rule_markers.c) whose arguments are the rule's columns, so PostgreSQL
 * itself records them by number, follows renames, copies them to new
 * partitions with the right numbers, refuses to drop them (RESTRICT) or
 * drops the trigger with them (CASCADE), and pg_dump writes them by name.
 *
 * Triggers made by version 1.1 carry column names in their arguments; they
 * are bound by name until ALTER EXTENSION UPDATE replaces them.
 *
 * The result is kept per trigger and forgotten on any relcache invalidation
 * of a relation or index it depends on (the model is ri_triggers.c's
 * InvalidateConstraintCacheCallBack).  Attaching or detaching a partition,
 * creating or dropping an index, renaming or altering a column and changing
 * a trigger all send one.
 */
#include "postgres.h"

#include "rule_info.h"
#include "citus_meta.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_am.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "nodes/nodeFuncs.h"
#include "nodes/primnodes.h"
#include "partitioning/partdesc.h"
#include "rewrite/prs2lock.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
#include "utils/snapmgr.h"

#include "pg_compat.h"

#define RULES_SCHEMA "cpt_rules"

static HTAB *rule_infos = NULL;
static uint64 invalidations = 0;	/* bumped by every callback */

/* ---------- the cpt_code type ---------- */

static Oid	cached_cpt_code_oid = InvalidOid;

Oid
cpt_code_type_oid(void)
{
	Relation	extrel;
	ScanKeyData skey;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			nsp = InvalidOid;

	if (OidIsValid(cached_cpt_code_oid))
		return cached_cpt_code_oid;

	extrel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&skey, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("cpt_rules"));
	scan = systable_beginscan(extrel, ExtensionNameIndexId, true, NULL, 1, &skey);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		nsp = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	systable_endscan(scan);
	table_close(extrel, AccessShareLock);

	if (!OidIsValid(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"%s\" is not installed", "cpt_rules")));
	cached_cpt_code_oid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
										  CStringGetDatum("cpt_code"),
										  ObjectIdGetDatum(nsp));
	return cached_cpt_code_oid;
}

bool
rule_trigger_function(Oid fn)
{
	char	   *fname = get_func_name(fn);
	char	   *nspname = fname ? get_namespace_name(get_func_namespace(fn)) : NULL;

	return fname && nspname && strcmp(fname, "addon_rule_trigger") == 0 &&
		strcmp(nspname, RULES_SCHEMA) == 0;
}

/* ---------- binding the columns ---------- */

typedef struct BoundRule
{
	NameData	rulename;
	bool		arrivals;
	bool		departures;
	bool		when_compares;
	bool		by_name;		/* a 1.1 trigger */
	int			ngroup;
	AttrNumber	code_attno;
	AttrNumber	date_attno;
	AttrNumber	group_attnos[MAX_GROUP_COLUMNS];
} BoundRule;

static void
bad_trigger(const char *tgname, Oid relid, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
			 errmsg("trigger \"%s\" on table \"%s\" is not a valid add-on rule trigger",
					tgname, get_rel_name(relid)),
			 errdetail("%s", detail),
			 errhint("Attach the rule with cpt_rules.enforce_addon_rule().")));
}

/* The column a marker argument names; InvalidAttrNumber for a NULL constant. */
static AttrNumber
marker_arg_column(Node *arg, int want_varno, bool null_ok, const char *tgname, Oid relid)
{
	while (arg && IsA(arg, RelabelType))
		arg = (Node *) ((RelabelType *) arg)->arg;
	if (arg && IsA(arg, Var) && ((Var *) arg)->varno == want_varno &&
		((Var *) arg)->varattno > 0 && ((Var *) arg)->varlevelsup == 0)
		return ((Var *) arg)->varattno;
	if (null_ok && arg && IsA(arg, Const) && ((Const *) arg)->constisnull)
		return InvalidAttrNumber;
	bad_trigger(tgname, relid, "An argument of its WHEN clause is not a column of the row.");
	return InvalidAttrNumber;	/* keep compiler quiet */
}

/*
 * Rules of 1.2: WHEN (cpt_rules.addon_rule_<event>(code, date, group...)),
 * or for UPDATE the same columns as (OLD, NEW) pairs.
 */
static bool
bind_from_when(const char *tgqual, const char *tgname, Oid relid, BoundRule *out)
{
	Node	   *qual;
	FuncExpr   *fexpr;
	char	   *fname;
	char	   *nspname;
	List	   *args;
	int			nargs;
	int			stride;
	int			varno;

	if (tgqual == NULL)
		return false;
	qual = stringToNode(tgqual);
	if (!IsA(qual, FuncExpr))
		return false;
	fexpr = (FuncExpr *) qual;
	nspname = get_namespace_name(get_func_namespace(fexpr->funcid));
	fname = get_func_name(fexpr->funcid);
	if (nspname == NULL || fname == NULL || strcmp(nspname, RULES_SCHEMA) != 0)
		return false;

	out->when_compares = false;
	if (strcmp(fname, RULE_MARK_ARRIVING) == 0)
	{
		out->arrivals = true;
		out->departures = false;
		stride = 1;
		varno = PRS2_NEW_VARNO;
	}
	else if (strcmp(fname, RULE_MARK_LEAVING) == 0)
	{
		out->arrivals = false;
		out->departures = true;
		stride = 1;
		varno = PRS2_OLD_VARNO;
	}
	else if (strcmp(fname, RULE_MARK_MOVING) == 0)
	{
		out->arrivals = true;
		out->departures = true;
		out->when_compares = true;
		stride = 2;
		varno = PRS2_NEW_VARNO;
	}
	else
		return false;

	args = fexpr->args;
	nargs = list_length(args);
	if (nargs % stride != 0 || nargs / stride < 3 || nargs / stride > 2 + MAX_GROUP_COLUMNS)
		bad_trigger(tgname, relid, "Its WHEN clause has the wrong number of columns.");

	for (int i = 0; i < nargs / stride; i++)
	{
		AttrNumber	att;

		if (stride == 2)
		{
			AttrNumber	old_att = marker_arg_column(list_nth(args, 2 * i), PRS2_OLD_VARNO,
													i == 1, tgname, relid);

			att = marker_arg_column(list_nth(args, 2 * i + 1), varno, i == 1, tgname, relid);
			if (old_att != att)
				bad_trigger(tgname, relid, "Its WHEN clause compares different columns.");
		}
		else
			att = marker_arg_column(list_nth(args, i), varno, i == 1, tgname, relid);

		if (i == 0)
			out->code_attno = att;
		else if (i == 1)
			out->date_attno = att;
		else
			out->group_attnos[i - 2] = att;
	}
	out->ngroup = nargs / stride - 2;
	return true;
}

/* Rules of 1.1: the column names are the trigger's arguments. */
static void
bind_by_name(int nargs, char **args, const char *tgname, int16 tgtype,
			 Oid relid, BoundRule *out)
{
	if (nargs < 3 || nargs > 2 + MAX_GROUP_COLUMNS)
		bad_trigger(tgname, relid, "It has neither the rule's WHEN clause nor its column arguments.");
	out->arrivals = TRIGGER_FOR_INSERT(tgtype) || !TRIGGER_FOR_DELETE(tgtype);
	out->departures = TRIGGER_FOR_DELETE(tgtype) || !TRIGGER_FOR_INSERT(tgtype);
	out->when_compares = false;
	out->ngroup = nargs - 2;
	for (int i = 0; i < nargs; i++)
	{
		AttrNumber	att = InvalidAttrNumber;

		if (i != 1 || args[i][0] != '\0')
		{
			att = get_attnum(relid, args[i]);
			if (att <= 0)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("column \"%s\" of the add-on rule does not exist in table \"%s\"",
								args[i], get_rel_name(relid)),
						 errhint("Run ALTER EXTENSION cpt_rules UPDATE, which rebinds version 1.1 rules by column number.")));
		}
		if (i == 0)
			out->code_attno = att;
		else if (i == 1)
			out->date_attno = att;
		else
			out->group_attnos[i - 2] = att;
	}
}

static void
bind_rule(const char *tgqual, int nargs, char **args, const char *tgname,
		  int16 tgtype, Oid relid, BoundRule *out)
{
	memset(out, 0, sizeof(*out));
	if (bind_from_when(tgqual, tgname, relid, out))
	{
		if (nargs >= 1 && args[0][0] != '\0')
			namestrcpy(&out->rulename, args[0]);
		else
			namestrcpy(&out->rulename, tgname);
	}
	else
	{
		size_t		len = strlen(tgname);

		bind_by_name(nargs, args, tgname, tgtype, relid, out);
		out->by_name = true;
		namestrcpy(&out->rulename, tgname);
		/* 1.1 named its triggers <rule>_addon and <rule>_primary */
		if (len > 6 && strcmp(tgname + len - 6, "_addon") == 0)
			NameStr(out->rulename)[len - 6] = '\0';
		else if (len > 8 && strcmp(tgname + len - 8, "_primary") == 0)
			NameStr(out->rulename)[len - 8] = '\0';
	}
}

/* ---------- which index serves a rule ---------- */

static bool
collations_agree(Oid a, Oid b)
{
	if (a == b)
		return true;
	if (!OidIsValid(a) || !OidIsValid(b))
		return false;
	/* under a deterministic collation, equal means bytewise equal */
	return get_collation_isdeterministic(a) && get_collation_isdeterministic(b);
}

Oid
rule_type_equality(Oid type)
{
	TypeCacheEntry *tce = lookup_type_cache(type, TYPECACHE_EQ_OPR | TYPECACHE_BTREE_OPFAMILY);

	return OidIsValid(tce->btree_opf) ? tce->eq_opr : InvalidOid;
}

Oid
rule_usable_index(Relation rel, int ngroup, const AttrNumber *group_attnos,
				  ProbeTarget *target)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	Oid			found = InvalidOid;
	TupleDesc	desc = RelationGetDescr(rel);

	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index form = index->rd_index;
		bool		usable = form->indisvalid && form->indislive &&
			index->rd_rel->relam == BTREE_AM_OID &&
			heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL) &&
			form->indnkeyatts >= ngroup;
		ProbeTarget scratch;

		for (int k = 0; usable && k < ngroup; k++)
		{
			int			g;
			Form_pg_attribute att;
			Oid			opr;

			for (g = 0; g < ngroup; g++)
				if (form->indkey.values[k] == group_attnos[g])
					break;
			if (g == ngroup)
			{
				usable = false;
				break;
			}
			att = TupleDescAttr(desc, group_attnos[g] - 1);
			opr = get_opfamily_member(index->rd_opfamily[k], index->rd_opcintype[k],
									  index->rd_opcintype[k], BTEqualStrategyNumber);
			if (!OidIsValid(opr) || opr != rule_type_equality(att->atttypid) ||
				!collations_agree(index->rd_indcollation[k], att->attcollation))
			{
				usable = false;
				break;
			}
			scratch.group_of_indexcol[k] = g;
			scratch.key_proc[k] = get_opcode(opr);
			scratch.key_subtype[k] = index->rd_opcintype[k];
			scratch.key_collation[k] = index->rd_indcollation[k];
		}
		index_close(index, AccessShareLock);
		if (usable)
		{
			found = lfirst_oid(lc);
			if (target)
			{
				memcpy(target->group_of_indexcol, scratch.group_of_indexcol, sizeof(scratch.group_of_indexcol));
				memcpy(target->key_proc, scratch.key_proc, sizeof(scratch.key_proc));
				memcpy(target->key_subtype, scratch.key_subtype, sizeof(scratch.key_subtype));
				memcpy(target->key_collation, scratch.key_collation, sizeof(scratch.key_collation));
			}
			break;
		}
	}
	list_free(indexes);
	if (target)
		target->indexoid = found;
	return found;
}

/* ---------- the relation a rule was attached to, and its partitions ---------- */

/*
 * A partitioned table's trigger is cloned onto its partitions; the clone
 * names its parent trigger.  The top of that chain is where the DBA attached
 * the rule.  Anything else (a Citus shard's trigger is a copy, not a clone)
 * is its own root.
 */
static Oid
rule_root(Oid tgoid, Relation rel)
{
	Relation	tgrel;
	Oid			relid = RelationGetRelid(rel);

	if (!rel->rd_rel->relispartition)
		return relid;
	tgrel = table_open(TriggerRelationId, AccessShareLock);
	while (OidIsValid(tgoid))
	{
		ScanKeyData skey;
		SysScanDesc scan;
		HeapTuple	tup;
		Form_pg_trigger form;

		ScanKeyInit(&skey, Anum_pg_trigger_oid, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(tgoid));
		scan = systable_beginscan(tgrel, TriggerOidIndexId, true, NULL, 1, &skey);
		tup = systable_getnext(scan);
		if (!HeapTupleIsValid(tup))
			elog(ERROR, "could not find trigger %u", tgoid);
		form = (Form_pg_trigger) GETSTRUCT(tup);
		relid = form->tgrelid;
		tgoid = form->tgparentid;
		systable_endscan(scan);
	}
	table_close(tgrel, AccessShareLock);
	return relid;
}

/*
 * Does partitioning rel keep each group in one partition?  It does when
 * every partition key column is a group column compared with the same
 * equality: lines equal on the group key are then equal on the partition
 * key and are routed alike.  group_names are the rule's group columns.
 */
bool
rule_partition_keeps_groups(Relation rel, int ngroup, char **group_names)
{
	PartitionKey key = RelationGetPartitionKey(rel);

	for (int i = 0; i < key->partnatts; i++)
	{
		AttrNumber	att = key->partattrs[i];
		const char *name;
		int			strategy;
		Oid			opr;
		Form_pg_attribute a;
		int			g;

		if (att == 0)
			return false;		/* an expression */
		a = TupleDescAttr(RelationGetDescr(rel), att - 1);
		name = NameStr(a->attname);
		for (g = 0; g < ngroup; g++)
			if (strcmp(group_names[g], name) == 0)
				break;
		if (g == ngroup)
			return false;
		strategy = key->strategy == PARTITION_STRATEGY_HASH ? HTEqualStrategyNumber
			: BTEqualStrategyNumber;
		opr = get_opfamily_member(key->partopfamily[i], key->partopcintype[i],
								  key->partopcintype[i], strategy);
		if (!OidIsValid(opr) || opr != rule_type_equality(a->atttypid) ||
			!collations_agree(key->partcollation[i], a->attcollation))
			return false;
	}
	return true;
}

static void
fill_target(ProbeTarget *t, Relation rel, const BoundRule *b, char **group_names,
			const char *code_name, const char *date_name)
{
	Oid			relid = RelationGetRelid(rel);

	t->relid = relid;
	t->code_attno = get_attnum(relid, code_name);
	t->date_attno = date_name ? get_attnum(relid, date_name) : InvalidAttrNumber;
	for (int g = 0; g < b->ngroup; g++)
		t->group_attnos[g] = get_attnum(relid, group_names[g]);
	rule_usable_index(rel, b->ngroup, t->group_attnos, t);
}

typedef struct LeafOrder
{
	Oid			relid;
	int			rank;			/* nearness to the trigger's partition */
	int			seq;			/* then as found */
} LeafOrder;

typedef struct BoundPosition
{
	Oid			relid;
	int			pos;			/* in the parent's bound order */
} BoundPosition;

static int
bound_position_cmp(const void *a, const void *b)
{
	Oid			x = ((const BoundPosition *) a)->relid;
	Oid			y = ((const BoundPosition *) b)->relid;

	return x < y ? -1 : x > y;
}

static int
leaf_order_cmp(const void *a, const void *b)
{
	const LeafOrder *x = a;
	const LeafOrder *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Order the other partitions by their distance from the trigger's own in
 * the parent's bound order, the one before it first, then the one after:
 * a claim that spans range partitions (months of service) most often spans
 * neighbouring ones.  Partitions further down a nested tree keep their
 * order, after these.
 */
static List *
order_by_nearness(Oid parent, Oid own, List *leaves)
{
	Relation	prel = relation_open(parent, AccessShareLock);
	PartitionDesc pd = RelationGetPartitionDesc(prel, false);
	int			nparts = pd->nparts;
	BoundPosition *bounds = palloc(sizeof(BoundPosition) * Max(nparts, 1));
	BoundPosition key;
	BoundPosition *found;
	int			own_pos;
	int			n = 0;
	LeafOrder  *order;
	List	   *result = NIL;
	ListCell   *lc;

	for (int i = 0; i < nparts; i++)
	{
		bounds[i].relid = pd->oids[i];
		bounds[i].pos = i;
	}
	relation_close(prel, NoLock);
	qsort(bounds, nparts, sizeof(BoundPosition), bound_position_cmp);
	key.relid = own;
	found = bsearch(&key, bounds, nparts, sizeof(BoundPosition), bound_position_cmp);
	if (found == NULL || list_length(leaves) < 2)
	{
		pfree(bounds);
		return leaves;
	}
	own_pos = found->pos;
	order = palloc(sizeof(LeafOrder) * list_length(leaves));
	foreach(lc, leaves)
	{
		key.relid = lfirst_oid(lc);
		found = bsearch(&key, bounds, nparts, sizeof(BoundPosition), bound_position_cmp);
		order[n].relid = key.relid;
		order[n].rank = found == NULL ? INT_MAX
			: 2 * abs(found->pos - own_pos) - (found->pos < own_pos ? 1 : 0);
		order[n].seq = n;
		n++;
	}
	pfree(bounds);
	qsort(order, n, sizeof(LeafOrder), leaf_order_cmp);
	for (int i = 0; i < n; i++)
		result = lappend_oid(result, order[i].relid);
	pfree(order);
	return result;
}

/*
 * The relations a check reads: the trigger's own relation, then, when the
 * rule's root is partitioned so that a group may span partitions, every
 * other leaf partition of the smallest subtree that holds groups whole,
 * nearest first.
 */
static void
build_targets(RuleInfo *info, Relation rel, const BoundRule *b)
{
	char	   *group_names[MAX_GROUP_COLUMNS];
	char	   *code_name = get_attname(info->relid, b->code_attno, false);
	char	   *date_name = b->date_attno ? get_attname(info->relid, b->date_attno, false) : NULL;
	Oid			subtree = info->relid;
	List	   *leaves = NIL;
	List	   *parents = NIL;
	ListCell   *lc;
	int			n = 0;

	for (int g = 0; g < b->ngroup; g++)
		group_names[g] = get_attname(info->relid, b->group_attnos[g], false);

	if (info->rootid != info->relid && rel->rd_rel->relispartition)
	{
		/* ancestors run from the parent up; walk down from the root */
		List	   *ancestors = get_partition_ancestors(info->relid);
		int			top = list_length(ancestors) - 1;

		for (int i = 0; i < list_length(ancestors); i++)
			if (list_nth_oid(ancestors, i) == info->rootid)
				top = i;
		for (int i = 0; i <= top; i++)
			parents = lappend_oid(parents, list_nth_oid(ancestors, i));
		for (int i = top; i >= 0; i--)
		{
			Oid			node = list_nth_oid(ancestors, i);
			Relation	prel = relation_open(node, AccessShareLock);
			bool		whole = rule_partition_keeps_groups(prel, b->ngroup, group_names);

			relation_close(prel, NoLock);
			if (!whole)
			{
				subtree = node;
				break;
			}
		}
	}

	if (subtree != info->relid)
	{
		List	   *all;

		/*
		 * The check reads lines with the latest snapshot, so it must read
		 * the partitions as of then too.  A deferred check may run on a
		 * catalog snapshot from before a partition that another session
		 * attached had committed: pg_inherits sends no invalidation that
		 * would have refreshed it.
		 */
		InvalidateCatalogSnapshot();
		all = find_all_inheritors(subtree, NoLock, NULL);

		foreach(lc, all)
		{
			Oid			child = lfirst_oid(lc);
			char		relkind = get_rel_relkind(child);

			if (child != info->relid && relkind == RELKIND_RELATION)
				leaves = lappend_oid(leaves, child);
			else if (relkind == RELKIND_PARTITIONED_TABLE)
				parents = list_append_unique_oid(parents, child);
		}
		leaves = order_by_nearness(subtree, info->relid, leaves);
	}

	info->nparents = list_length(parents);
	info->parents = MemoryContextAlloc(info->cxt, sizeof(Oid) * Max(info->nparents, 1));
	foreach(lc, parents)
		info->parents[foreach_current_index(lc)] = lfirst_oid(lc);

	info->ntargets = 1 + list_length(leaves);
	info->targets = MemoryContextAllocZero(info->cxt, sizeof(ProbeTarget) * info->ntargets);
	fill_target(&info->targets[n++], rel, b, group_names, code_name, date_name);
	foreach(lc, leaves)
	{
		Relation	leaf = table_open(lfirst_oid(lc), AccessShareLock);

		fill_target(&info->targets[n++], leaf, b, group_names, code_name, date_name);
		table_close(leaf, NoLock);
	}
}

/* ---------- building and keeping ---------- */

static void
check_column_types(Relation rel, const BoundRule *b)
{
	TupleDesc	desc = RelationGetDescr(rel);

	if (getBaseType(TupleDescAttr(desc, b->code_attno - 1)->atttypid) != cpt_code_type_oid())
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("code column \"%s\" of table \"%s\" is not of type cpt_code",
						NameStr(TupleDescAttr(desc, b->code_attno - 1)->attname),
						RelationGetRelationName(rel))));
	if (b->date_attno != InvalidAttrNumber &&
		getBaseType(TupleDescAttr(desc, b->date_attno - 1)->atttypid) != DATEOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("date-of-service column \"%s\" of table \"%s\" is not of type date",
						NameStr(TupleDescAttr(desc, b->date_attno - 1)->attname),
						RelationGetRelationName(rel))));
}

/*
 * A shard's check reads only its own shard: that holds every line of a
 * group only when the table is distributed by one of the group columns, or
 * not split at all (a reference or a Citus local table).
 */
static void
check_shard_distribution(Oid logical, Relation shard, const BoundRule *b, const char *tgname)
{
	CitusDistribution dist;
	char	   *column;

	if (!citus_distribution(logical, &dist) || dist.method == 'n')
		return;
	column = dist.column != InvalidAttrNumber ? get_attname(logical, dist.column, true) : NULL;
	if (dist.method == 'h' && column != NULL)
	{
		for (int g = 0; g < b->ngroup; g++)
			if (strcmp(NameStr(TupleDescAttr(RelationGetDescr(shard), b->group_attnos[g] - 1)->attname),
					   column) == 0)
				return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("add-on rule \"%s\" cannot be checked on table \"%s\": it is distributed by %s, not by a group column",
					NameStr(b->rulename), get_rel_name(logical), column ? quote_identifier(column) : "no column"),
			 errdetail("Each shard checks the groups it holds; a group whose lines lie on several shards cannot be judged."),
			 errhint("Distribute the table by one of the rule's group columns, e.g. SELECT alter_distributed_table('%s', distribution_column := '%s');",
					 get_rel_name(logical),
					 NameStr(TupleDescAttr(RelationGetDescr(shard), b->group_attnos[0] - 1)->attname))));
}

static void
build_rule_info(RuleInfo *info, Trigger *trigger, Relation rel)
{
	BoundRule	b;
	TupleDesc	desc = RelationGetDescr(rel);

	bind_rule(trigger->tgqual, trigger->tgnargs, trigger->tgargs, trigger->tgname,
			  trigger->tgtype, RelationGetRelid(rel), &b);
	check_column_types(rel, &b);

	info->relid = RelationGetRelid(rel);
	info->rootid = rule_root(trigger->tgoid, rel);
	info->shard_of = rel->rd_rel->relispartition ? InvalidOid : citus_shard_table(rel);
	if (OidIsValid(info->shard_of))
		check_shard_distribution(info->shard_of, rel, &b, trigger->tgname);
	info->rulename = b.rulename;
	info->checks_arrivals = b.arrivals;
	info->checks_departures = b.departures;
	info->when_compares = b.when_compares;
	info->ngroup = b.ngroup;
	info->code_attno = b.code_attno;
	info->date_attno = b.date_attno;
	for (int g = 0; g < b.ngroup; g++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, b.group_attnos[g] - 1);
		Oid			eq = rule_type_equality(att->atttypid);

		if (!OidIsValid(eq))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("group column \"%s\" of table \"%s\" has no btree equality operator",
							NameStr(att->attname), RelationGetRelationName(rel))));
		info->group_attnos[g] = b.group_attnos[g];
		info->group_types[g] = att->atttypid;
		info->group_collations[g] = att->attcollation;
		fmgr_info_cxt(get_opcode(eq), &info->group_eq[g], info->cxt);
	}
	build_targets(info, rel, &b);
	info->probe_misses = 0;
	info->probes_skipped = 0;
}

static void
rule_info_invalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	RuleInfo   *info;

	invalidations++;
	if (rule_infos == NULL)
		return;
	hash_seq_init(&status, rule_infos);
	while ((info = hash_seq_search(&status)) != NULL)
	{
		if (!info->valid)
			continue;
		if (relid == InvalidOid || info->relid == relid || info->rootid == relid)
		{
			info->valid = false;
			continue;
		}
		for (int i = 0; i < info->ntargets; i++)
			if (info->targets[i].relid == relid || info->targets[i].indexoid == relid)
			{
				info->valid = false;
				break;
			}
		for (int i = 0; info->valid && i < info->nparents; i++)
			if (info->parents[i] == relid)
				info->valid = false;
	}
}

static void
type_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	cached_cpt_code_oid = InvalidOid;	/* the extension may have been recreated */
	rule_info_invalidate((Datum) 0, InvalidOid);
}

void
rule_info_init(void)
{
	CacheRegisterRelcacheCallback(rule_info_invalidate, (Datum) 0);
	CacheRegisterSyscacheCallback(TYPEOID, type_invalidate, (Datum) 0);
}

RuleInfo *
rule_info_get(Trigger *trigger, Relation rel)
{
	RuleInfo   *info;
	bool		found;

	if (rule_infos == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(RuleInfo);
		rule_infos = hash_create("cpt_rules rule info", 64, &ctl, HASH_ELEM | HASH_BLOBS);
	}
	info = hash_search(rule_infos, &trigger->tgoid, HASH_ENTER, &found);
	if (!found)
	{
		info->valid = false;
		info->cxt = NULL;
		info->ntargets = 0;
		info->targets = NULL;
		info->nparents = 0;
		info->parents = NULL;
	}
	while (!info->valid || info->relid != RelationGetRelid(rel))
	{
		uint64		before = invalidations;

		info->valid = false;
		info->ntargets = 0;
		info->targets = NULL;
		info->nparents = 0;
		info->parents = NULL;
		if (info->cxt)
			MemoryContextReset(info->cxt);
		else
			info->cxt = AllocSetContextCreate(CacheMemoryContext, "cpt_rules rule info",
											  ALLOCSET_SMALL_SIZES);
		build_rule_info(info, trigger, rel);
		/* a lock taken while building may have brought news: build again */
		info->valid = (invalidations == before);
	}
	return info;
}

/* ---------- for SQL: the current names of a rule's columns ---------- */

void
rule_info_describe(Oid tgoid, char **rulename, const char **role, char **code,
				   char **date, List **groups)
{
	Relation	tgrel = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyData skey;
	SysScanDesc scan;
	HeapTuple	tup;
	Form_pg_trigger form;
	bool		isnull;
	Datum		d;
	char	   *tgqual = NULL;
	char	  **args = NULL;
	int			nargs;
	BoundRule	b;

	ScanKeyInit(&skey, Anum_pg_trigger_oid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(tgoid));
	scan = systable_beginscan(tgrel, TriggerOidIndexId, true, NULL, 1, &skey);
	tup = systable_getnext(scan);
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("trigger with OID %u does not exist", tgoid)));
	form = (Form_pg_trigger) GETSTRUCT(tup);
	d = heap_getattr(tup, Anum_pg_trigger_tgqual, RelationGetDescr(tgrel), &isnull);
	if (!isnull)
		tgqual = TextDatumGetCString(d);
	nargs = form->tgnargs;
	if (nargs > 0)
	{
		bytea	   *val;
		char	   *p;

		d = heap_getattr(tup, Anum_pg_trigger_tgargs, RelationGetDescr(tgrel), &isnull);
		val = DatumGetByteaPP(d);
		p = VARDATA_ANY(val);
		args = palloc(sizeof(char *) * nargs);
		for (int i = 0; i < nargs; i++)
		{
			args[i] = pstrdup(p);
			p += strlen(p) + 1;
		}
	}
	bind_rule(tgqual, nargs, args, NameStr(form->tgname), form->tgtype, form->tgrelid, &b);

	*rulename = pstrdup(NameStr(b.rulename));
	*role = b.by_name ? "legacy"
		: b.when_compares ? "moving" : b.arrivals ? "arriving" : "leaving";
	*code = get_attname(form->tgrelid, b.code_attno, false);
	*date = b.date_attno ? get_attname(form->tgrelid, b.date_attno, false) : NULL;
	*groups = NIL;
	for (int g = 0; g < b.ngroup; g++)
		*groups = lappend(*groups, get_attname(form->tgrelid, b.group_attnos[g], false));
	systable_endscan(scan);
	table_close(tgrel, AccessShareLock);
}
