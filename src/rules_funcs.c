/*
 * rules_funcs.c
 *		SQL functions answering questions about the add-on code rules, all
 *		served from the backend-local rules cache.
 */
#include "postgres.h"

#include "rules_cache.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/lsyscache.h"

#define PG_GETARG_DATE_OR_ANY(n) \
	(PG_NARGS() > (n) ? PG_GETARG_DATEADT(n) : RULES_ANY_DATE)

PG_FUNCTION_INFO_V1(cpt_is_addon);
Datum
cpt_is_addon(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(rules_is_addon(PG_GETARG_CPT_CODE(0),
								  PG_GETARG_DATE_OR_ANY(1)));
}

PG_FUNCTION_INFO_V1(cpt_valid_pairing);
Datum
cpt_valid_pairing(PG_FUNCTION_ARGS)
{
	const AddonRule *rule = rules_lookup_addon(PG_GETARG_CPT_CODE(0));

	PG_RETURN_BOOL(rule != NULL &&
				   rules_pairing_valid(rule, PG_GETARG_CPT_CODE(1),
									   PG_GETARG_DATE_OR_ANY(2)));
}

PG_FUNCTION_INFO_V1(cpt_aoc_type);
Datum
cpt_aoc_type(PG_FUNCTION_ARGS)
{
	const AddonRule *rule = rules_lookup_addon(PG_GETARG_CPT_CODE(0));

	if (rule == NULL || !rules_addon_active(rule, PG_GETARG_DATE_OR_ANY(1)))
		PG_RETURN_NULL();
	PG_RETURN_INT16(rule->aoc_type);
}

static void
array_to_values(ArrayType *arr, Datum **values, bool **nulls, int *n)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("array must be one-dimensional")));
	get_typlenbyvalalign(ARR_ELEMTYPE(arr), &typlen, &typbyval, &typalign);
	deconstruct_array(arr, ARR_ELEMTYPE(arr), typlen, typbyval, typalign,
					  values, nulls, n);
}

/*
 * violating_lines(codes cpt_code[], dates date[]): 1-based positions of the
 * lines of one group that break the rule.  This is the set-based audit's
 * per-group step; the constraint trigger applies the same rule.
 */
PG_FUNCTION_INFO_V1(cpt_violating_lines);
Datum
cpt_violating_lines(PG_FUNCTION_ARGS)
{
	Datum	   *code_values;
	bool	   *code_isnull;
	int			ncodes;
	CptCode    *codes;
	DateADT    *dates = NULL;
	bool	   *date_isnull = NULL;
	Datum	   *result;
	int			nresult = 0;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	array_to_values(PG_GETARG_ARRAYTYPE_P(0), &code_values, &code_isnull, &ncodes);
	codes = palloc(sizeof(CptCode) * (ncodes + 1));
	for (int i = 0; i < ncodes; i++)
		codes[i] = DatumGetCptCode(code_values[i]);

	if (!PG_ARGISNULL(1))
	{
		Datum	   *date_values;
		int			ndates;

		array_to_values(PG_GETARG_ARRAYTYPE_P(1), &date_values, &date_isnull, &ndates);
		if (ndates != ncodes)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("codes and dates arrays must have the same length"),
					 errdetail("There are %d codes and %d dates.", ncodes, ndates)));
		dates = palloc(sizeof(DateADT) * (ncodes + 1));
		for (int i = 0; i < ncodes; i++)
			dates[i] = DatumGetDateADT(date_values[i]);
	}

	result = palloc(sizeof(Datum) * (ncodes + 1));
	for (int i = 0; i < ncodes; i++)
		if (rules_line_violates(i, ncodes, codes, code_isnull, dates, date_isnull))
			result[nresult++] = Int32GetDatum(i + 1);

	PG_RETURN_ARRAYTYPE_P(construct_array(result, nresult, INT4OID,
										  sizeof(int32), true, TYPALIGN_INT));
}
