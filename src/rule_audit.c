/*
 * rule_audit.c
 *		The audit of a rule over a whole table, built here as one query (the
 *		counterpart of RI_Initial_Check's), and read so that row security
 *		hides no line from the checks.
 *
 * Only some groups can break a rule (for the add-on rule, those holding an
 * add-on): the query finds those first, by the kind's condition, then
 * judges each group once with the same rule as the trigger, by the kind's
 * SQL function.  Groups with a NULL key column cannot be joined on, so
 * they are judged apart.
 *
 * cpt_rules.addon_rule_violations() runs it as its caller, and sees what
 * the caller may see.  A policy that hides add-on lines, forced on the owner
 * or applying to a clerk allowed to TRUNCATE, would let an orphan past the
 * validation of enforce_addon_rule and the checks of ATTACH, DETACH, DROP
 * and TRUNCATE of a partition.  So those read through
 * audit_read_unfiltered(), which runs it with row_security off: a policy
 * that applies raises an error instead of hiding rows.  A caller with the
 * privileges of the table's owner runs it as the owner with FORCE ROW LEVEL
 * SECURITY not applied, as ri_triggers.c runs its queries, which is no more
 * than the owner could do by ALTER TABLE; anyone else stays who they are,
 * and a policy that applies to them refuses the statement.
 *
 * It reads with the latest snapshot, not the transaction's: at REPEATABLE
 * READ and SERIALIZABLE a validation must still see every line committed
 * before its caller's lock was granted, as RI_Initial_Check does.
 */
#include "postgres.h"

#include "rule_audit.h"
#include "citus_meta.h"
#include "validation_progress.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#define AUDIT_NCOLS 5

void
audit_columns_from_args(Name code, ArrayType *group_by, Name service_date, RuleColumnNames *cols)
{
	memset(cols, 0, sizeof(*cols));
	rule_group_names_from_array(group_by, cols);
	namestrcpy(&cols->code, NameStr(*code));
	cols->has_date = service_date != NULL;
	if (cols->has_date)
		namestrcpy(&cols->date, NameStr(*service_date));
}

/*
 * The group columns as the query's own relations carry them: g1__, g2__...,
 * so that no name of the table's can meet a name of the query's (codes__,
 * tab__ and the like).  "t.a AS g1__, ..." with select, else "l.g1__, ..."
 * (prefix "l") or "'a', g.g1__, ..." (prefix "g", key).
 */
static char *
numbered_groups(const RuleColumnNames *cols, const char *prefix, bool select, bool key)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int g = 0; g < cols->ngroup; g++)
	{
		if (g > 0)
			appendStringInfoString(&buf, ", ");
		if (select)
			appendStringInfo(&buf, "t.%s AS g%d__", quote_identifier(NameStr(cols->groups[g])), g + 1);
		else if (key)
			appendStringInfo(&buf, "%s, %s.g%d__", quote_literal_cstr(NameStr(cols->groups[g])), prefix, g + 1);
		else
			appendStringInfo(&buf, "%s.g%d__", prefix, g + 1);
	}
	return buf.data;
}

/* "t.a, t.b" and the like: each group column, as fmt writes it */
static char *
each_group(const RuleColumnNames *cols, const char *fmt, const char *sep)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int g = 0; g < cols->ngroup; g++)
	{
		const char *q = quote_identifier(NameStr(cols->groups[g]));

		if (g > 0)
			appendStringInfoString(&buf, sep);
		/* fmt names the column as %1$s, its name as a literal as %2$s */
		appendStringInfo(&buf, fmt, q, quote_literal_cstr(NameStr(cols->groups[g])));
	}
	return buf.data;
}

/* The call that counts a line read by a pass, first among a scan's conditions. */
static const char *
tick(bool progress, int pass)
{
	return progress ? psprintf("cpt_rules.validation_tick(%d) AND ", pass) : "";
}

static char *
audit_code_expression(Oid tbl, const RuleColumnNames *cols, const char *ext)
{
	const char *column = quote_identifier(NameStr(cols->code));
	AttrNumber	attno = get_attnum(tbl, NameStr(cols->code));
	bool		text_form = false;

	if (attno == InvalidAttrNumber ||
		!rule_code_type_ok(get_atttype(tbl, attno), &text_form))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" is not a code column",
						NameStr(cols->code), get_rel_name(tbl)),
				 errhint("A code column is of type cpt_code, text, varchar or char.")));
	return text_form ? psprintf("%s.cpt_code_or_null(t.%s::pg_catalog.text)", ext, column)
		: psprintf("t.%s::%s.cpt_code", column, ext);
}

char *
audit_query(const RuleKind *kind, Oid tbl, const RuleColumnNames *cols, Oid only_groups_of,
			List *excluding, bool progress)
{
	const char *ext = cpt_code_type_schema();
	const char *table = quote_qualified_identifier(get_namespace_name(get_rel_namespace(tbl)),
												   get_rel_name(tbl));
	char	   *code;
	char	   *tcols = each_group(cols, "t.%1$s", ", ");
	char	   *tselect = numbered_groups(cols, "t", true, false);
	char	   *lcols = numbered_groups(cols, "l", false, false);
	char	   *anynull = each_group(cols, "t.%1$s IS NULL", " OR ");
	char	   *key = psprintf("pg_catalog.jsonb_build_object(%s)",
							   numbered_groups(cols, "g", false, true));
	char	   *date;
	char	   *tab;
	StringInfoData where;
	StringInfoData q;
	CitusDistribution dist;

	/* a kind with an audit function of its own reads every group */
	if (kind->audit_query)
		return kind->audit_query(tbl, cols);

	/*
	 * Columns of a domain type are read as the type the domain is over; a
	 * text code column as cpt_code input reads it, a value that is no code
	 * as NULL (neither an add-on nor a primary), as the checks read it.
	 */
	code = audit_code_expression(tbl, cols, ext);
	date = cols->has_date ? psprintf("t.%s::pg_catalog.date", quote_identifier(NameStr(cols->date)))
		: pstrdup("NULL::pg_catalog.date");
	/*
	 * On Citus a line's tableoid is its shard's on some worker, where the
	 * table's OID means nothing either: the caller names the table.
	 */
	tab = citus_distribution(tbl, &dist) ? "NULL::pg_catalog.regclass"
		: "t.tableoid::pg_catalog.regclass";

	initStringInfo(&where);
	appendStringInfoString(&where, "true");
	if (excluding != NIL)
	{
		ListCell   *lc;

		appendStringInfoString(&where, " AND t.tableoid <> ALL (ARRAY(SELECT p.relid FROM pg_catalog.unnest('{");
		foreach(lc, excluding)
			appendStringInfo(&where, "%s%u", foreach_current_index(lc) ? "," : "", lfirst_oid(lc));
		appendStringInfoString(&where, "}'::pg_catalog.oid[]) e, pg_catalog.pg_partition_tree(e::pg_catalog.regclass) p))");
	}
	if (OidIsValid(only_groups_of))
		appendStringInfo(&where, " AND EXISTS (SELECT 1 FROM %s k WHERE %s)",
						 quote_qualified_identifier(get_namespace_name(get_rel_namespace(only_groups_of)),
													get_rel_name(only_groups_of)),
						 each_group(cols, "k.%1$s IS NOT DISTINCT FROM t.%1$s", " AND "));

	initStringInfo(&q);
	appendStringInfo(&q,
					 "WITH lines AS ("
					 " SELECT %s, %s AS code__, %s AS dos__, %s AS tab__, t.ctid AS tid__"
					 "   FROM %s t"
					 "  WHERE %s(%s) IN (SELECT %s FROM %s t WHERE %s%s AND %s)"
					 "    AND %s"
					 " UNION ALL"
					 " SELECT %s, %s, %s, %s, t.ctid"
					 "   FROM %s t"
					 "  WHERE %s(%s) AND %s"
					 "), groups AS ("
					 " SELECT %s, pg_catalog.array_agg(l.code__) AS codes, pg_catalog.array_agg(l.dos__) AS dates,"
					 "        pg_catalog.array_agg(l.tab__) AS tabs, pg_catalog.array_agg(l.tid__) AS tids"
					 "   FROM lines l GROUP BY %s"
					 ")"
					 " SELECT %s, g.codes[i], g.dates[i], g.tabs[i], g.tids[i]"
					 "   FROM groups g, pg_catalog.unnest(CASE WHEN %strue THEN %s(g.codes, g.dates) END) i"
					 "  ORDER BY 1, 2",
					 tselect, code, date, tab,
					 table,
					 tick(progress, PROGRESS_PASS_GROUPS), tcols, tcols, table,
					 tick(progress, PROGRESS_PASS_CANDIDATES), kind->audit_candidate(ext, code), where.data,
					 where.data,
					 tcols, code, date, tab,
					 table,
					 tick(progress, PROGRESS_PASS_UNGROUPED), anynull, where.data,
					 lcols, lcols,
					 key, tick(progress, PROGRESS_PASS_JUDGING), kind->audit_judge);
	return q.data;
}

static Oid
relation_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

void
audit_read_unfiltered(const RuleKind *kind, Oid tbl, const RuleColumnNames *cols,
					  Oid only_groups_of, List *excluding, Tuplestorestate *store,
					  TupleDesc desc, AuditSummary *summary, const char *progress_rule)
{
	bool		progress = progress_rule != NULL && validation_progress_interval > 0 &&
		validation_progress_available();
	char	   *query = audit_query(kind, tbl, cols, only_groups_of, excluding, progress);
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
	Oid			owner = relation_owner(tbl);
	bool		as_owner;
	volatile int rc;
	MemoryContext callercxt = CurrentMemoryContext;
	CitusDistribution dist;
	bool		distributed = citus_distribution(tbl, &dist);

	/*
	 * Both are undone by (sub)transaction abort if the audit fails.  A
	 * superuser sees every row already, and may read partitions the owner
	 * cannot.
	 */
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	as_owner = !superuser() && has_privs_of_role(save_userid, owner);
	if (as_owner)
		SetUserIdAndSecContext(owner, save_sec_context |
							   SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("row_security", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	/* the query names its functions; its operators are pg_catalog's */
	(void) set_config_option("search_path", psprintf("pg_catalog, %s, pg_temp", cpt_code_type_schema()),
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetLatestSnapshot());
	if (progress)
		validation_progress_begin(kind->name, progress_rule, tbl);
	PG_TRY();
	{
		rc = SPI_execute(query, true, 0);
	}
	PG_FINALLY();
	{
		validation_progress_end();
	}
	PG_END_TRY();
	PopActiveSnapshot();
	if (rc != SPI_OK_SELECT || SPI_tuptable->tupdesc->natts != AUDIT_NCOLS)
		elog(ERROR, "the audit of table \"%s\" failed: %s", get_rel_name(tbl),
			 SPI_result_code_string(rc));
	if (summary)
	{
		summary->count = SPI_processed;
		summary->nexamples = 0;
	}
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];

		if (store)
		{
			Datum		row[AUDIT_NCOLS];
			bool		rownulls[AUDIT_NCOLS];

			heap_deform_tuple(tup, SPI_tuptable->tupdesc, row, rownulls);
			if (distributed)
			{
				row[3] = ObjectIdGetDatum(tbl);
				rownulls[3] = false;
			}
			tuplestore_putvalues(store, desc, row, rownulls);
		}
		if (summary && summary->nexamples < AUDIT_MAX_EXAMPLES)
		{
			MemoryContext old = MemoryContextSwitchTo(callercxt);

			summary->group_key[summary->nexamples] = SPI_getvalue(tup, SPI_tuptable->tupdesc, 1);
			summary->code[summary->nexamples] = SPI_getvalue(tup, SPI_tuptable->tupdesc, 2);
			summary->nexamples++;
			MemoryContextSwitchTo(old);
		}
	}
	SPI_finish();

	AtEOXact_GUC(true, save_nestlevel);
	if (as_owner)
		SetUserIdAndSecContext(save_userid, save_sec_context);
}

static List *
oids_of_array(ArrayType *arr)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *oids = NIL;

	deconstruct_array(arr, ARR_ELEMTYPE(arr), sizeof(Oid), true, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			oids = lappend_oid(oids, DatumGetObjectId(elems[i]));
	return oids;
}

/* An audit's SQL arguments: (tbl, code, group_by, service_date, only_groups_of, excluding) */
typedef struct AuditArgs
{
	Oid			tbl;
	RuleColumnNames cols;
	Oid			only_groups_of;
	List	   *excluding;
} AuditArgs;

static void
audit_args(FunctionCallInfo fcinfo, AuditArgs *a)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("only the date-of-service column, only_groups_of and excluding may be NULL")));
	a->tbl = PG_GETARG_OID(0);
	audit_columns_from_args(PG_GETARG_NAME(1), PG_GETARG_ARRAYTYPE_P(2),
							PG_ARGISNULL(3) ? NULL : PG_GETARG_NAME(3), &a->cols);
	a->only_groups_of = PG_ARGISNULL(4) ? InvalidOid : PG_GETARG_OID(4);
	a->excluding = PG_ARGISNULL(5) ? NIL : oids_of_array(PG_GETARG_ARRAYTYPE_P(5));
}

/*
 * cpt_rules.audit_query(tbl, code, group_by, service_date, only_groups_of,
 * excluding): the query of cpt_rules.addon_rule_violations().
 */
PG_FUNCTION_INFO_V1(cpt_audit_query);
Datum
cpt_audit_query(PG_FUNCTION_ARGS)
{
	AuditArgs	a;

	audit_args(fcinfo, &a);
	PG_RETURN_TEXT_P(cstring_to_text(audit_query(&addon_rule_kind, a.tbl, &a.cols,
												 a.only_groups_of, a.excluding, false)));
}

/*
 * cpt_rules.audit_code_expression(tbl, code): how the audits read that code
 * column of table t, for the audits written in SQL.
 */
PG_FUNCTION_INFO_V1(cpt_audit_code_expression);
Datum
cpt_audit_code_expression(PG_FUNCTION_ARGS)
{
	RuleColumnNames cols;

	memset(&cols, 0, sizeof(cols));
	namestrcpy(&cols.code, NameStr(*PG_GETARG_NAME(1)));
	PG_RETURN_TEXT_P(cstring_to_text(audit_code_expression(PG_GETARG_OID(0), &cols,
														   cpt_code_type_schema())));
}

/*
 * cpt_rules.violations_unfiltered(tbl, code, group_by, service_date,
 * only_groups_of, excluding): the rows of cpt_rules.addon_rule_violations()
 * for the same arguments, read as the checks read them.
 */
PG_FUNCTION_INFO_V1(cpt_violations_unfiltered);
Datum
cpt_violations_unfiltered(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AuditArgs	a;

	audit_args(fcinfo, &a);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (rsinfo->setDesc->natts != AUDIT_NCOLS)
		elog(ERROR, "cpt_rules.violations_unfiltered must return %d columns", AUDIT_NCOLS);
	audit_read_unfiltered(&addon_rule_kind, a.tbl, &a.cols, a.only_groups_of, a.excluding,
						  rsinfo->setResult, rsinfo->setDesc, NULL, NULL);
	return (Datum) 0;
}
