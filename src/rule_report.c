/*
 * rule_report.c
 *		One reporter and one family of messages for a rule's violations: a
 *		row's check, enforcing a rule, and the checks of DDL all raise
 *		SQLSTATE 23514 with the table, its schema and the rule as the
 *		error's table and constraint fields.
 *
 * As ri_ReportViolation, a row's check shows the group's values and the
 * codes only to a user who may read them: one with SELECT on the table, or
 * on every column the rule reads, and no row security applying.  Enforcing
 * and the DDL checks are run by the table's owner, who may.
 */
#include "postgres.h"

#include "rule_report.h"
#include "citus_guard.h"
#include "rules_cache.h"

#include "access/relation.h"
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/syscache.h"

#define MAX_PRIMARIES_IN_HINT 12

char *
rule_relation_text(Oid relid)
{
	int			save_nestlevel = NewGUCNestLevel();
	HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(cpt_code_type_oid()));
	char	   *text;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for type cpt_code");
	(void) set_config_option("search_path",
							 psprintf("pg_catalog, %s, pg_temp",
									  quote_identifier(get_namespace_name(((Form_pg_type) GETSTRUCT(tup))->typnamespace))),
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	ReleaseSysCache(tup);
	text = DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(relid)));
	AtEOXact_GUC(true, save_nestlevel);
	return text;
}

/* May the current user read the rule's columns of rel, every row of them? */
static bool
may_read_rule_columns(Relation rel, const RuleInfo *info)
{
	Oid			relid = RelationGetRelid(rel);
	Oid			user = GetUserId();

	if (check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
		return false;
	if (pg_class_aclcheck(relid, user, ACL_SELECT) == ACLCHECK_OK)
		return true;
	if (pg_attribute_aclcheck(relid, info->code_attno, user, ACL_SELECT) != ACLCHECK_OK)
		return false;
	if (info->date_attno != InvalidAttrNumber &&
		pg_attribute_aclcheck(relid, info->date_attno, user, ACL_SELECT) != ACLCHECK_OK)
		return false;
	for (int i = 0; i < info->ngroup; i++)
		if (pg_attribute_aclcheck(relid, info->group_attnos[i], user, ACL_SELECT) != ACLCHECK_OK)
			return false;
	return true;
}

/* "(claim_id, line_date)=(7, 2026-01-05)", with the columns' current names */
static char *
format_group_key(Relation rel, const RuleInfo *info, const Datum *values,
				 const bool *isnull)
{
	StringInfoData names;
	StringInfoData vals;
	TupleDesc	desc = RelationGetDescr(rel);

	initStringInfo(&names);
	initStringInfo(&vals);
	for (int i = 0; i < info->ngroup; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, info->group_attnos[i] - 1);

		if (i > 0)
		{
			appendStringInfoString(&names, ", ");
			appendStringInfoString(&vals, ", ");
		}
		appendStringInfoString(&names, quote_identifier(NameStr(att->attname)));
		if (isnull[i])
			appendStringInfoString(&vals, "null");
		else
		{
			Oid			out;
			bool		varlena;

			getTypeOutputInfo(att->atttypid, &out, &varlena);
			appendStringInfoString(&vals, OidOutputFunctionCall(out, values[i]));
		}
	}
	return psprintf("(%s)=(%s)", names.data, vals.data);
}

static char *
eligible_primaries_text(const AddonRule *rule, DateADT on_date, int *count)
{
	StringInfoData buf;
	int			shown = 0;
	CptCode		last = RULES_EMPTY_SLOT;

	initStringInfo(&buf);
	*count = 0;
	for (int i = 0; i < rule->nprimaries; i++)
	{
		const PrimaryRule *p = &rule->primaries[i];
		char		code[6];

		if (p->primary == last || !rules_pairing_valid(rule, p->primary, on_date))
			continue;
		last = p->primary;
		(*count)++;
		if (shown >= MAX_PRIMARIES_IN_HINT)
			continue;
		cpt_code_to_cstring(p->primary, code);
		appendStringInfo(&buf, "%s%s", shown++ ? ", " : "", code);
	}
	if (*count > shown)
		appendStringInfo(&buf, " and %d more", *count - shown);
	return buf.data;
}

/*
 * The error names the table the rule was attached to (the partitioned
 * table, not the partition; on Citus the distributed table, not the shard)
 * and the rule, as a foreign key violation names its table and constraint.
 */
void
rule_report_group(const RuleInfo *info, Relation rel, const Datum *values,
				  const bool *isnull, CptCode addon, bool has_date, DateADT on_date)
{
	const AddonRule *rule = rules_lookup_addon(addon);
	Oid			named = OidIsValid(info->shard_of) ? info->shard_of : info->rootid;
	Relation	root = named == RelationGetRelid(rel) ? rel
		: relation_open(named, AccessShareLock);
	const char *shard_fields = OidIsValid(info->shard_of)
		? psprintf(" %s", citus_guard_fields(root, NameStr(info->rulename))) : "";
	char		code[6];
	char	   *as_of = "";
	int			count;
	char	   *primaries;

	if (!may_read_rule_columns(rel, info))
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("an add-on code has no eligible primary code in its group of table \"%s\"",
						RelationGetRelationName(root)),
				 errdetail("Add-on codes may only be billed with an eligible primary procedure in the same group; "
						   "constraint \"%s\"; the codes and the group are shown only to a user who may read "
						   "the rule's columns.%s", NameStr(info->rulename), shard_fields),
				 errtableconstraint(root, NameStr(info->rulename))));

	cpt_code_to_cstring(addon, code);
	if (has_date)
		as_of = psprintf(" on %s", DatumGetCString(DirectFunctionCall1(date_out,
																		DateADTGetDatum(on_date))));
	primaries = eligible_primaries_text(rule, has_date ? on_date : RULES_ANY_DATE, &count);

	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("add-on code %s has no eligible primary code in group %s of table \"%s\"",
					code, format_group_key(rel, info, values, isnull), RelationGetRelationName(root)),
			 errdetail("Add-on code %s (AOC type %d) may only be billed with an eligible primary "
					   "procedure in the same group%s; constraint \"%s\".%s",
					   code, rule->aoc_type, as_of, NameStr(info->rulename), shard_fields),
			 count > 0
			 ? errhint("Add a line with one of its eligible primary codes: %s.", primaries)
			 : rule->aoc_type == 2
			 ? errhint("Type 2 add-on codes without payer-defined primaries need a line that is not an add-on code.")
			 : errhint("No primary code is eligible for it%s; see cpt_rules.aoc_edit.", as_of),
			 errtableconstraint(root, NameStr(info->rulename))));
	pg_unreachable();
}

/* SELECT * FROM cpt_rules.addon_rule_violations('t', 'code', '{g}', 'dos'); */
static char *
audit_call(Oid tbl, const RuleColumnNames *cols)
{
	Datum	   *names = palloc(sizeof(Datum) * cols->ngroup);
	Oid			out;
	bool		varlena;
	char	   *group_by;

	for (int g = 0; g < cols->ngroup; g++)
		names[g] = NameGetDatum(&cols->groups[g]);
	getTypeOutputInfo(NAMEARRAYOID, &out, &varlena);
	group_by = OidOutputFunctionCall(out, PointerGetDatum(construct_array(names, cols->ngroup, NAMEOID,
																		  NAMEDATALEN, false,
																		  TYPALIGN_CHAR)));
	return psprintf("SELECT * FROM cpt_rules.addon_rule_violations(%s, %s, %s%s%s);",
					quote_literal_cstr(rule_relation_text(tbl)),
					quote_literal_cstr(NameStr(cols->code)), quote_literal_cstr(group_by),
					cols->has_date ? ", " : "",
					cols->has_date ? quote_literal_cstr(NameStr(cols->date)) : "");
}

void
rule_report_validation(Oid tbl, const char *rulename, const RuleColumnNames *cols,
					   const char *what, const AuditSummary *found)
{
	StringInfoData examples;
	char	   *table;
	Relation	rel;

	if (found->count == 0)
		return;
	initStringInfo(&examples);
	for (int i = 0; i < found->nexamples; i++)
		appendStringInfo(&examples, "%s%s in group %s", i ? "; " : "",
						 found->addon[i], found->group_key[i]);
	table = rule_relation_text(tbl);
	rel = relation_open(tbl, AccessShareLock);
	if (what == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("table %s has " INT64_FORMAT " add-on line(s) without an eligible primary code",
						table, found->count),
				 errdetail("For example: %s.", examples.data),
				 errhint("List them with %s", audit_call(tbl, cols)),
				 errtableconstraint(rel, rulename)));
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("%s would leave " INT64_FORMAT " add-on line(s) of table %s without an eligible primary code",
					what, found->count, table),
			 errdetail("Add-on rule \"%s\": for example %s.", rulename, examples.data),
			 errhint("List them with %s", audit_call(tbl, cols)),
			 errtableconstraint(rel, rulename)));
}
