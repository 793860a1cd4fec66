/*
 * rule_info.c
 *		Resolve a rule's trigger once: its columns (rule_binding.c), the
 *		relation it was attached to, and which relations a check reads
 *		(its own, or its tree's leaves, partition_set.c).
 *
 * The result is kept per trigger and forgotten on a relcache invalidation
 * of the trigger's relation, the rule's root or an ancestor between them,
 * as ri_triggers.c's InvalidateConstraintCacheCallBack forgets a foreign
 * key: only valid entries are kept in a list, and only they are visited.
 * Attaching or detaching a partition, creating or dropping an index,
 * renaming or altering a column and changing a trigger all send one.
 */
#include "postgres.h"

#include "rule_info.h"
#include "citus_meta.h"
#include "rule_kind.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/partition.h"
#include "catalog/pg_trigger.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "pg_compat.h"

static HTAB *rule_infos = NULL;
static dlist_head valid_infos = DLIST_STATIC_INIT(valid_infos);
static uint64 invalidations = 0;	/* bumped by every callback */

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
			 errmsg("%s rule \"%s\" cannot be checked on table \"%s\": it is distributed by %s, not by a group column",
					b->kind->name, NameStr(b->rulename), get_rel_name(logical),
					column ? quote_identifier(column) : "no column"),
			 errdetail("Each shard checks the groups it holds; a group whose lines lie on several shards cannot be judged."),
			 errhint("Distribute the table by one of the rule's group columns, e.g. SELECT alter_distributed_table('%s', distribution_column := '%s');",
					 get_rel_name(logical),
					 NameStr(TupleDescAttr(RelationGetDescr(shard), b->group_attnos[0] - 1)->attname))));
}

/*
 * The ancestors from rel's parent up to the rule's root, and the smallest
 * subtree holding groups whole that rel lies in: rel itself when every
 * level keeps groups whole, else the lowest level, walking down from the
 * root, that does not.
 */
static Oid
rule_subtree(RuleInfo *info, Relation rel, const RuleColumnNames *names)
{
	Oid			subtree = info->relid;
	List	   *ancestors = NIL;
	char	   *group_names[MAX_GROUP_COLUMNS];

	for (int g = 0; g < names->ngroup; g++)
		group_names[g] = (char *) NameStr(names->groups[g]);

	if (info->rootid != info->relid && rel->rd_rel->relispartition)
	{
		List	   *all = get_partition_ancestors(info->relid);
		int			top = list_length(all) - 1;

		for (int i = 0; i < list_length(all); i++)
			if (list_nth_oid(all, i) == info->rootid)
				top = i;
		for (int i = 0; i <= top; i++)
			ancestors = lappend_oid(ancestors, list_nth_oid(all, i));
		for (int i = top; i >= 0; i--)
		{
			Oid			node = list_nth_oid(all, i);
			Relation	prel = relation_open(node, AccessShareLock);
			bool		whole = rule_partition_keeps_groups(prel, names->ngroup, group_names);

			relation_close(prel, NoLock);
			if (!whole)
			{
				subtree = node;
				break;
			}
		}
	}
	info->nancestors = list_length(ancestors);
	info->ancestors = MemoryContextAlloc(info->cxt, sizeof(Oid) * Max(info->nancestors, 1));
	for (int i = 0; i < info->nancestors; i++)
		info->ancestors[i] = list_nth_oid(ancestors, i);
	return subtree;
}

static void
build_rule_info(RuleInfo *info, Trigger *trigger, Relation rel)
{
	BoundRule	b;
	RuleColumnNames names;
	TupleDesc	desc = RelationGetDescr(rel);
	Oid			subtree;

	rule_bind(trigger->tgqual, trigger->tgnargs, trigger->tgargs, trigger->tgname,
			  trigger->tgtype, RelationGetRelid(rel), &b);
	info->code_is_text = rule_check_column_types(rel, &b);

	info->kind = b.kind;
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
	info->units_attno = b.units_attno;
	info->units_type = b.units_attno != InvalidAttrNumber
		? getBaseType(TupleDescAttr(desc, b.units_attno - 1)->atttypid) : InvalidOid;
	info->options = b.options;
	for (int g = 0; g < b.ngroup; g++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, b.group_attnos[g] - 1);
		Oid			eq = rule_type_equality(att->atttypid);
		TypeCacheEntry *tc = lookup_type_cache(att->atttypid, TYPECACHE_HASH_PROC);

		if (!OidIsValid(eq))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("group column \"%s\" of table \"%s\" has no btree equality operator",
							NameStr(att->attname), RelationGetRelationName(rel))));
		info->group_attnos[g] = b.group_attnos[g];
		info->group_types[g] = att->atttypid;
		info->group_collations[g] = att->attcollation;
		fmgr_info_cxt(get_opcode(eq), &info->group_eq[g], info->cxt);
		/* a hash that agrees with that equality: the type's default hash opclass */
		info->group_hashable[g] = OidIsValid(tc->hash_proc) &&
			get_opfamily_member(tc->hash_opf, att->atttypid, att->atttypid,
								HTEqualStrategyNumber) == eq;
		if (info->group_hashable[g])
			fmgr_info_cxt(tc->hash_proc, &info->group_hash[g], info->cxt);
	}

	rule_column_names(desc, &b, &names);
	subtree = rule_subtree(info, rel, &names);
	if (subtree == info->relid)
	{
		info->set = NULL;
		info->ntargets = 1;
		rule_probe_target(&info->own, rel, &names);
	}
	else
	{
		info->set = partition_set_get(subtree, &names);
		info->set_generation = info->set->generation;
		info->own_pos = partition_set_position(info->set, info->relid);
		if (info->own_pos < 0)
			elog(ERROR, "partition \"%s\" is missing from the partitions of its rule's tree",
				 RelationGetRelationName(rel));
		info->ntargets = info->set->ntargets;
		(void) partition_set_target(info->set, info->own_pos, rel);
	}
	info->probe_misses = 0;
	info->probes_skipped = 0;
}

void
rule_info_forget(RuleInfo *info)
{
	if (info->valid)
	{
		info->valid = false;
		dlist_delete(&info->valid_link);
	}
}

void
rule_info_relation_changed(Oid relid)
{
	dlist_mutable_iter iter;

	invalidations++;
	dlist_foreach_modify(iter, &valid_infos)
	{
		RuleInfo   *info = dlist_container(RuleInfo, valid_link, iter.cur);
		bool		hit = relid == InvalidOid || info->relid == relid ||
			info->rootid == relid ||
			(info->set == NULL && info->own.indexoid == relid);

		for (int i = 0; !hit && i < info->nancestors; i++)
			hit = info->ancestors[i] == relid;
		if (hit)
			rule_info_forget(info);
	}
}

static void
type_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	if (cpt_code_type_changed(hashvalue))
		rule_info_relation_changed(InvalidOid);
}

void
rule_info_init(void)
{
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
		info->set = NULL;
		info->ntargets = 0;
		info->nancestors = 0;
	}
	while (!rule_info_current(info) || info->relid != RelationGetRelid(rel))
	{
		uint64		before = invalidations;

		rule_info_forget(info);
		info->set = NULL;
		info->ntargets = 0;
		info->nancestors = 0;
		if (info->cxt)
			MemoryContextReset(info->cxt);
		else
			info->cxt = AllocSetContextCreate(CacheMemoryContext, "cpt_rules rule info",
											  ALLOCSET_SMALL_SIZES);
		build_rule_info(info, trigger, rel);
		/* a lock taken while building may have brought news: build again */
		if (invalidations == before &&
			(info->set == NULL ||
			 (info->set->valid && info->set->generation == info->set_generation)))
		{
			info->valid = true;
			dlist_push_tail(&valid_infos, &info->valid_link);
		}
	}
	/* the own leaf's scan details, again after a change to it */
	if (info->set != NULL)
		(void) partition_set_target(info->set, info->own_pos, rel);
	return info;
}

ProbeTarget *
rule_target_open(RuleInfo *info, int t, Relation trel)
{
	if (info->set == NULL)
		return &info->own;
	return partition_set_target(info->set, partition_set_nth(info->set, info->own_pos, t), trel);
}
