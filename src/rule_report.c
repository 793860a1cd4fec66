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
#include "rule_kind.h"

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

char *
rule_relation_text(Oid relid)
{
	int			save_nestlevel = NewGUCNestLevel();
	char	   *text;

	(void) set_config_option("search_path",
							 psprintf("pg_catalog, %s, pg_temp", cpt_code_type_schema()),
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
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
	if (info->units_attno != InvalidAttrNumber &&
		pg_attribute_aclcheck(relid, info->units_attno, user, ACL_SELECT) != ACLCHECK_OK)
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

/*
 * The error names the table the rule was attached to (the partitioned
 * table, not the partition; on Citus the distributed table, not the shard)
 * and the rule, as a foreign key violation names its table and constraint.
 * The kind words it.
 */
void
rule_report_group(const RuleInfo *info, Relation rel, const Datum *values,
				  const bool *isnull, CptCode code, bool has_date, DateADT date,
				  const void *kind_arg)
{
	Oid			named = OidIsValid(info->shard_of) ? info->shard_of : info->rootid;
	GroupViolation v;

	v.table = named == RelationGetRelid(rel) ? rel : relation_open(named, AccessShareLock);
	v.rulename = NameStr(info->rulename);
	v.show_values = may_read_rule_columns(rel, info);
	v.group_key = v.show_values ? format_group_key(rel, info, values, isnull) : NULL;
	v.detail_suffix = OidIsValid(info->shard_of)
		? psprintf(" %s", citus_guard_fields(v.table, v.rulename)) : "";
	v.code = code;
	v.has_date = has_date;
	v.date = date;
	v.kind_arg = kind_arg;
	info->kind->report_group(&v);
	elog(ERROR, "the %s rule reported no violation", info->kind->name);
}

/* SELECT * FROM cpt_rules.addon_rule_violations('t', 'code', '{g}', 'dos'); */
static char *
audit_call(const RuleKind *kind, Oid tbl, const RuleColumnNames *cols)
{
	if (kind->audit_call)
		return kind->audit_call(tbl, cols);
	return psprintf("SELECT * FROM %s(%s, %s, %s%s%s);", kind->audit_function,
					quote_literal_cstr(rule_relation_text(tbl)),
					quote_literal_cstr(NameStr(cols->code)),
					quote_literal_cstr(rule_group_names_text(cols)),
					cols->has_date ? ", " : "",
					cols->has_date ? quote_literal_cstr(NameStr(cols->date)) : "");
}

void
rule_report_validation(const RuleKind *kind, Oid tbl, const char *rulename,
					   const RuleColumnNames *cols, const char *what, const AuditSummary *found)
{
	StringInfoData examples;
	char	   *table;
	Relation	rel;

	if (found->count == 0)
		return;
	initStringInfo(&examples);
	for (int i = 0; i < found->nexamples; i++)
		appendStringInfo(&examples, "%s%s in group %s", i ? "; " : "",
						 found->code[i], found->group_key[i]);
	table = rule_relation_text(tbl);
	rel = relation_open(tbl, AccessShareLock);
	if (what == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("table %s has " INT64_FORMAT " %s %s",
						table, found->count, kind->lines_noun, kind->lines_fault),
				 errdetail("For example: %s.", examples.data),
				 errhint("List them with %s", audit_call(kind, tbl, cols)),
				 errtableconstraint(rel, rulename)));
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("%s would leave " INT64_FORMAT " %s of table %s %s",
					what, found->count, kind->lines_noun, table, kind->lines_fault),
			 errdetail("%c%s rule \"%s\": for example %s.", pg_toupper((unsigned char) kind->name[0]),
					   kind->name + 1, rulename, examples.data),
			 errhint("List them with %s", audit_call(kind, tbl, cols)),
			 errtableconstraint(rel, rulename)));
}
