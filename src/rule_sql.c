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

#include "mue_cache.h"
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
													  NULL, NULL, n, groups)));
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

/* An MUE rule's options from SQL arguments: setting, indicators int[]. */
void
mue_options_from_args(text *setting, ArrayType *indicators, RuleOptions *options)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	char	   *s = text_to_cstring(setting);

	memset(options, 0, sizeof(*options));
	if (mue_setting_number(s) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("setting \"%s\" is not an MUE setting", s),
				 errhint("The settings are practitioner, outpatient hospital and dme.")));
	namestrcpy(&options->setting, s);
	deconstruct_array(indicators, INT4OID, sizeof(int32), true, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i] || DatumGetInt32(elems[i]) < 1 || DatumGetInt32(elems[i]) > 3)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("MUE adjudication indicators are 1, 2 and 3")));
		options->indicators |= 1 << DatumGetInt32(elems[i]);
	}
	if (options->indicators == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an MUE rule enforces at least one adjudication indicator")));
}

/*
 * cpt_rules.mue_rule_marker_call(role, code, service_date, units, group_by,
 * setting, indicators): the WHEN clause of an MUE rule's trigger
 */
PG_FUNCTION_INFO_V1(cpt_mue_rule_marker_call);
Datum
cpt_mue_rule_marker_call(PG_FUNCTION_ARGS)
{
	char	  **groups;
	int			n;
	RuleOptions options;

	for (int i = 0; i < 7; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the arguments of an MUE rule's WHEN clause must not be NULL")));
	mue_options_from_args(PG_GETARG_TEXT_PP(5), PG_GETARG_ARRAYTYPE_P(6), &options);
	names_from_array(PG_GETARG_ARRAYTYPE_P(4), &groups, &n);
	PG_RETURN_TEXT_P(cstring_to_text(rule_marker_call(&mue_rule_kind, text_to_cstring(PG_GETARG_TEXT_PP(0)),
													  NameStr(*PG_GETARG_NAME(1)),
													  NameStr(*PG_GETARG_NAME(2)),
													  NameStr(*PG_GETARG_NAME(3)),
													  &options, n, groups)));
}

/* An indicators mask as an int[]. */
static Datum
indicators_datum(int32 mask)
{
	Datum		elems[3];
	int			n = 0;

	for (int i = 1; i <= 3; i++)
		if (mask & (1 << i))
			elems[n++] = Int32GetDatum(i);
	return PointerGetDatum(construct_array(elems, n, INT4OID, sizeof(int32), true, TYPALIGN_INT));
}

/*
 * cpt_rules.rule_trigger_definition(trigger): the rule a trigger belongs
 * to, of any kind, with its columns' current names and its options
 */
PG_FUNCTION_INFO_V1(cpt_rule_trigger_definition);
Datum
cpt_rule_trigger_definition(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[10];
	bool		nulls[10] = {0};
	BoundRule	b;
	Oid			relid;
	Datum		elems[MAX_GROUP_COLUMNS];

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	relid = rule_describe_bound(PG_GETARG_OID(0), &b);
	for (int g = 0; g < b.ngroup; g++)
		elems[g] = DirectFunctionCall1(namein, CStringGetDatum(get_attname(relid, b.group_attnos[g], false)));
	values[0] = CStringGetTextDatum(b.kind->name);
	values[1] = NameGetDatum(&b.rulename);
	values[2] = CStringGetTextDatum(b.by_name ? "legacy"
									: b.when_compares ? "moving" : b.arrivals ? "arriving" : "leaving");
	values[3] = DirectFunctionCall1(namein, CStringGetDatum(get_attname(relid, b.code_attno, false)));
	nulls[4] = b.date_attno == InvalidAttrNumber;
	if (!nulls[4])
		values[4] = DirectFunctionCall1(namein, CStringGetDatum(get_attname(relid, b.date_attno, false)));
	nulls[5] = b.units_attno == InvalidAttrNumber;
	if (!nulls[5])
		values[5] = DirectFunctionCall1(namein, CStringGetDatum(get_attname(relid, b.units_attno, false)));
	values[6] = PointerGetDatum(construct_array(elems, b.ngroup, NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR));
	nulls[7] = !b.kind->has_options;
	nulls[8] = !b.kind->has_options;
	if (b.kind->has_options)
	{
		values[7] = CStringGetTextDatum(NameStr(b.options.setting));
		values[8] = indicators_datum(b.options.indicators);
	}
	values[9] = BoolGetDatum(b.validated);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

PG_FUNCTION_INFO_V1(cpt_units_type_ok);
Datum
cpt_units_type_ok(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(rule_units_type_ok(PG_GETARG_OID(0)));
}
