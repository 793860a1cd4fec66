/*
 * rule_sql.c
 *		What the C side knows about rules, for the SQL functions and views
 *		that attach, list and audit them.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/partition.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "rule_info.h"
#include "rule_kind.h"

static void
names_from_array(ArrayType *arr, char ***names, int *n)
{
	RuleColumnNames *cols = palloc0(sizeof(RuleColumnNames));

	rule_group_names_from_array(arr, cols);
	*n = cols->ngroup;
	*names = palloc(sizeof(char *) * *n);
	for (int i = 0; i < *n; i++)
		(*names)[i] = NameStr(cols->groups[i]);
}

/*
 * cpt_rules.rule_marker_call(role, code, service_date, group_by, kind): a
 * trigger's WHEN clause
 */
PG_FUNCTION_INFO_V1(cpt_rule_marker_call);
Datum
cpt_rule_marker_call(PG_FUNCTION_ARGS)
{
	char	  **groups;
	int			n;
	const RuleKind *kind;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("only the date-of-service column of a rule may be NULL")));
	kind = rule_kind_by_name(text_to_cstring(PG_GETARG_TEXT_PP(4)));
	if (kind == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not a kind of rule", text_to_cstring(PG_GETARG_TEXT_PP(4))),
				 errhint("The kinds are: add-on.")));
	names_from_array(PG_GETARG_ARRAYTYPE_P(3), &groups, &n);
	PG_RETURN_TEXT_P(cstring_to_text(rule_marker_call(kind, text_to_cstring(PG_GETARG_TEXT_PP(0)),
													  NameStr(*PG_GETARG_NAME(1)),
													  PG_ARGISNULL(2) ? NULL : NameStr(*PG_GETARG_NAME(2)),
													  n, groups)));
}

PG_FUNCTION_INFO_V1(cpt_rule_trigger_columns);
Datum
cpt_rule_trigger_columns(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};
	char	   *rulename;
	const char *role;
	char	   *code;
	char	   *date;
	List	   *groups;
	Datum	   *elems;
	int			n = 0;
	ListCell   *lc;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	rule_describe(PG_GETARG_OID(0), &rulename, &role, &code, &date, &groups, NULL);

	elems = palloc(sizeof(Datum) * list_length(groups));
	foreach(lc, groups)
		elems[n++] = DirectFunctionCall1(namein, CStringGetDatum(lfirst(lc)));
	values[0] = DirectFunctionCall1(namein, CStringGetDatum(rulename));
	values[1] = CStringGetTextDatum(role);
	values[2] = DirectFunctionCall1(namein, CStringGetDatum(code));
	if (date)
		values[3] = DirectFunctionCall1(namein, CStringGetDatum(date));
	else
		nulls[3] = true;
	values[4] = PointerGetDatum(construct_array(elems, n, NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

PG_FUNCTION_INFO_V1(cpt_rule_trigger_validated);
Datum
cpt_rule_trigger_validated(PG_FUNCTION_ARGS)
{
	char	   *rulename;
	const char *role;
	char	   *code;
	char	   *date;
	List	   *groups;
	bool		validated;

	rule_describe(PG_GETARG_OID(0), &rulename, &role, &code, &date, &groups, &validated);
	PG_RETURN_BOOL(validated);
}

PG_FUNCTION_INFO_V1(cpt_group_index);
Datum
cpt_group_index(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	  **names;
	int			n;
	AttrNumber	attnos[MAX_GROUP_COLUMNS];
	Relation	rel;
	Oid			index;

	names_from_array(PG_GETARG_ARRAYTYPE_P(1), &names, &n);
	for (int i = 0; i < n; i++)
	{
		attnos[i] = get_attnum(relid, names[i]);
		if (attnos[i] <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" does not exist",
							names[i], get_rel_name(relid))));
	}
	rel = relation_open(relid, AccessShareLock);
	index = rule_usable_index(rel, n, attnos, NULL);
	relation_close(rel, AccessShareLock);
	if (!OidIsValid(index))
		PG_RETURN_NULL();
	PG_RETURN_OID(index);
}

PG_FUNCTION_INFO_V1(cpt_group_type_ok);
Datum
cpt_group_type_ok(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(OidIsValid(rule_type_equality(PG_GETARG_OID(0))));
}

/* cpt_rules.partitions_keep_groups(root, parent, group_by): see rule_levels_keep_groups() */
PG_FUNCTION_INFO_V1(cpt_partitions_keep_groups);
Datum
cpt_partitions_keep_groups(PG_FUNCTION_ARGS)
{
	char	  **names;
	int			n;

	names_from_array(PG_GETARG_ARRAYTYPE_P(2), &names, &n);
	PG_RETURN_BOOL(rule_levels_keep_groups(PG_GETARG_OID(0), PG_GETARG_OID(1), n, names));
}
