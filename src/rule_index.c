/*
 * rule_index.c
 *		Which index serves a rule, and which partitioning keeps its groups
 *		whole: the one place that answers both, for the checks and for SQL.
 */
#include "postgres.h"

#include "rule_index.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/stratnum.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/typcache.h"

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
	bool		found_date_keyed = false;
	TupleDesc	desc = RelationGetDescr(rel);
	ProbeTarget best;

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
		scratch.date_keyed = false;
		if (usable && target && target->date_attno != InvalidAttrNumber &&
			form->indnkeyatts > ngroup && form->indkey.values[ngroup] == target->date_attno)
		{
			Oid			opr = get_opfamily_member(index->rd_opfamily[ngroup], index->rd_opcintype[ngroup],
												  index->rd_opcintype[ngroup], BTEqualStrategyNumber);

			if (OidIsValid(opr) && opr == rule_type_equality(DATEOID))
			{
				scratch.date_keyed = true;
				scratch.date_key_proc = get_opcode(opr);
				scratch.date_key_subtype = index->rd_opcintype[ngroup];
			}
		}
		index_close(index, AccessShareLock);
		if (usable && (!OidIsValid(found) || (scratch.date_keyed && !found_date_keyed)))
		{
			found = lfirst_oid(lc);
			found_date_keyed = scratch.date_keyed;
			best = scratch;
			if (target == NULL || found_date_keyed)
				break;
		}
	}
	list_free(indexes);
	if (target)
	{
		target->indexoid = found;
		target->date_keyed = false;
		if (OidIsValid(found))
		{
			memcpy(target->group_of_indexcol, best.group_of_indexcol, sizeof(best.group_of_indexcol));
			memcpy(target->key_proc, best.key_proc, sizeof(best.key_proc));
			memcpy(target->key_subtype, best.key_subtype, sizeof(best.key_subtype));
			memcpy(target->key_collation, best.key_collation, sizeof(best.key_collation));
			target->date_keyed = best.date_keyed;
			target->date_key_proc = best.date_key_proc;
			target->date_key_subtype = best.date_key_subtype;
		}
	}
	return found;
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

void
rule_column_names(TupleDesc desc, const BoundRule *b, RuleColumnNames *names)
{
	memset(names, 0, sizeof(*names));
	names->ngroup = b->ngroup;
	names->code = TupleDescAttr(desc, b->code_attno - 1)->attname;
	names->has_date = b->date_attno != InvalidAttrNumber;
	if (names->has_date)
		names->date = TupleDescAttr(desc, b->date_attno - 1)->attname;
	names->has_units = b->units_attno != InvalidAttrNumber;
	if (names->has_units)
		names->units = TupleDescAttr(desc, b->units_attno - 1)->attname;
	names->options = b->options;
	for (int g = 0; g < b->ngroup; g++)
		names->groups[g] = TupleDescAttr(desc, b->group_attnos[g] - 1)->attname;
}

void
rule_group_names_from_array(ArrayType *group_by, RuleColumnNames *names)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(group_by, NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR, &elems, &nulls, &n);
	if (n < 1 || n > MAX_GROUP_COLUMNS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"group_by\" must name 1 to %d columns", MAX_GROUP_COLUMNS)));
	names->ngroup = n;
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument \"group_by\" must not hold NULL")));
		namestrcpy(&names->groups[i], NameStr(*DatumGetName(elems[i])));
	}
}

Datum
rule_group_names_array(const RuleColumnNames *names)
{
	Datum	   *elems = palloc(sizeof(Datum) * names->ngroup);

	for (int g = 0; g < names->ngroup; g++)
		elems[g] = NameGetDatum(&names->groups[g]);
	return PointerGetDatum(construct_array(elems, names->ngroup, NAMEOID, NAMEDATALEN, false,
										   TYPALIGN_CHAR));
}

char *
rule_group_names_text(const RuleColumnNames *names)
{
	Oid			out;
	bool		varlena;

	getTypeOutputInfo(NAMEARRAYOID, &out, &varlena);
	return OidOutputFunctionCall(out, rule_group_names_array(names));
}

void
rule_probe_target(ProbeTarget *t, Relation rel, const RuleColumnNames *names)
{
	Oid			relid = RelationGetRelid(rel);
	char	   *group_names[MAX_GROUP_COLUMNS];

	t->relid = relid;
	t->code_attno = get_attnum(relid, NameStr(names->code));
	t->date_attno = names->has_date ? get_attnum(relid, NameStr(names->date))
		: InvalidAttrNumber;
	t->units_attno = names->has_units ? get_attnum(relid, NameStr(names->units))
		: InvalidAttrNumber;
	for (int g = 0; g < names->ngroup; g++)
	{
		t->group_attnos[g] = get_attnum(relid, NameStr(names->groups[g]));
		group_names[g] = (char *) NameStr(names->groups[g]);
	}
	if (t->code_attno <= 0 || (names->has_date && t->date_attno <= 0) ||
		(names->has_units && t->units_attno <= 0))
		elog(ERROR, "column of the rule missing in relation %u", relid);
	if (!rule_code_type_ok(TupleDescAttr(RelationGetDescr(rel), t->code_attno - 1)->atttypid,
						   &t->code_is_text))
		elog(ERROR, "code column of the rule of another type in relation %u", relid);
	for (int g = 0; g < names->ngroup; g++)
		if (t->group_attnos[g] <= 0)
			elog(ERROR, "group column \"%s\" missing in relation %u", group_names[g], relid);
	rule_usable_index(rel, names->ngroup, t->group_attnos, t);
}

bool
rule_levels_keep_groups(Oid root, Oid parent, int ngroup, char **group_names)
{
	List	   *levels = list_make1_oid(parent);
	ListCell   *lc;

	if (parent != root)
	{
		List	   *ancestors = get_partition_ancestors(parent);

		if (!list_member_oid(ancestors, root))
			return false;
		foreach(lc, ancestors)
		{
			levels = lappend_oid(levels, lfirst_oid(lc));
			if (lfirst_oid(lc) == root)
				break;
		}
	}
	foreach(lc, levels)
	{
		Relation	rel = relation_open(lfirst_oid(lc), AccessShareLock);
		bool		keeps = rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE &&
			rule_partition_keeps_groups(rel, ngroup, group_names);

		relation_close(rel, NoLock);
		if (!keeps)
			return false;
	}
	return true;
}
