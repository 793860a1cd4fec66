/*
 * rule_markers.c
 *		The functions in the WHEN clauses of an add-on rule's triggers.
 *
 * They decide which row events are queued at all (an ordinary line queues
 * nothing), and their arguments are how a trigger names its columns, laid
 * out as rule_binding.h says.  Arguments are "any" so that group columns of
 * every type can be passed.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"

#include "cpt_code.h"
#include "rule_binding.h"
#include "rule_info.h"
#include "rule_kind.h"
#include "rules_cache.h"

/* a column of the type, or of a domain over it (looked up only then) */
static inline bool
type_is_or_is_over(Oid type, Oid base)
{
	return type == base || getBaseType(type) == base;
}

/* Checked once per query; says whether the code column is of a text type. */
static bool
check_marker_call(FunctionCallInfo fcinfo, const char *fname, int stride)
{
	int			nargs = PG_NARGS();
	bool		text_form = false;

	if (get_fn_expr_variadic(fcinfo->flinfo))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s() does not take a VARIADIC array", fname)));
	if (rule_marker_columns(&addon_rule_kind, nargs, stride) < 0 ||
		!rule_code_type_ok(get_fn_expr_argtype(fcinfo->flinfo, RULE_ARG_CODE * stride), &text_form) ||
		!type_is_or_is_over(get_fn_expr_argtype(fcinfo->flinfo, RULE_ARG_DATE * stride), DATEOID))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s() takes the code column, the date-of-service column (or NULL::date) "
						"and 1 to %d group columns%s", fname, MAX_GROUP_COLUMNS,
						stride == 2 ? ", each as an OLD, NEW pair" : "")));
	return text_form;
}

/* fn_extra of the arriving and leaving markers, once their call is checked */
static const bool code_as_cpt_code = false;
static const bool code_as_text = true;

/* Is the code column of a text type?  The call checked on its first row. */
static bool
single_marker_code_is_text(FunctionCallInfo fcinfo, int role)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = (void *)
			(check_marker_call(fcinfo, addon_rule_kind.markers[role], 1)
			 ? &code_as_text : &code_as_cpt_code);
	return *(const bool *) fcinfo->flinfo->fn_extra;
}

PG_FUNCTION_INFO_V1(addon_rule_arriving);
Datum
addon_rule_arriving(PG_FUNCTION_ARGS)
{
	DateADT		on_date = RULES_ANY_DATE;
	CptCode		code;

	bool		text_form = single_marker_code_is_text(fcinfo, RULE_ROLE_ARRIVING);

	/* a value that is no code is no add-on */
	if (PG_ARGISNULL(RULE_ARG_CODE) ||
		!cpt_code_of_column(PG_GETARG_DATUM(RULE_ARG_CODE), text_form, &code))
		PG_RETURN_BOOL(false);
	if (!PG_ARGISNULL(RULE_ARG_DATE))
	{
		on_date = PG_GETARG_DATEADT(RULE_ARG_DATE);
		rules_reject_infinite_date(code, on_date);
	}
	PG_RETURN_BOOL(rules_is_addon(code, on_date));
}

PG_FUNCTION_INFO_V1(addon_rule_leaving);
Datum
addon_rule_leaving(PG_FUNCTION_ARGS)
{
	CptCode		code;
	bool		text_form = single_marker_code_is_text(fcinfo, RULE_ROLE_LEAVING);

	/* a line without a code was nobody's primary */
	PG_RETURN_BOOL(!PG_ARGISNULL(RULE_ARG_CODE) &&
				   cpt_code_of_column(PG_GETARG_DATUM(RULE_ARG_CODE), text_form, &code));
}

/* Types of the arguments, looked up once per query. */
typedef struct PairTypes
{
	int			nargs;
	int16		typlen[2 * (2 + MAX_GROUP_COLUMNS)];
	bool		typbyval[2 * (2 + MAX_GROUP_COLUMNS)];
} PairTypes;

PG_FUNCTION_INFO_V1(addon_rule_moving);
Datum
addon_rule_moving(PG_FUNCTION_ARGS)
{
	PairTypes  *types = fcinfo->flinfo->fn_extra;

	if (types == NULL)
	{
		(void) check_marker_call(fcinfo, addon_rule_kind.markers[RULE_ROLE_MOVING], 2);
		types = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(PairTypes));
		types->nargs = PG_NARGS();
		for (int i = 0; i < types->nargs; i++)
		{
			Oid			t = get_fn_expr_argtype(fcinfo->flinfo, i);

			if (i % 2 == 1 && t != get_fn_expr_argtype(fcinfo->flinfo, i - 1))
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("%s() compares values of different types", addon_rule_kind.markers[RULE_ROLE_MOVING])));
			get_typlenbyval(t, &types->typlen[i], &types->typbyval[i]);
		}
		fcinfo->flinfo->fn_extra = types;
	}

	/*
	 * Bitwise comparison: values that are equal but stored differently (1.0
	 * and 1.00) count as a change, which costs a check and never misses one.
	 */
	for (int i = 0; i < types->nargs; i += 2)
	{
		bool		old_null = PG_ARGISNULL(i);
		bool		new_null = PG_ARGISNULL(i + 1);

		if (old_null != new_null)
			PG_RETURN_BOOL(true);
		if (!old_null &&
			!datum_image_eq(PG_GETARG_DATUM(i), PG_GETARG_DATUM(i + 1),
							types->typbyval[i], types->typlen[i]))
			PG_RETURN_BOOL(true);
	}
	PG_RETURN_BOOL(false);
}
