/*
 * rules_selectivity.c
 *		Planner support for is_addon(): how many rows will it keep?
 *
 * Without it the planner assumes a third of all claim lines are add-ons,
 * when a few percent are; semi-joins and aggregates over "claims holding an
 * add-on" (the audit) are then sized a hundred times too large and spill.
 * The estimate comes from the code column's statistics: the most common
 * codes are looked up in the rules, and the rest of the column is assumed
 * to hold add-ons in proportion to how many distinct codes remain.
 */
#include "postgres.h"

#include "rules_cache.h"

#include "access/htup_details.h"
#include "catalog/pg_statistic.h"
#include "nodes/supportnodes.h"
#include "utils/lsyscache.h"
#include "utils/selfuncs.h"

/* With no statistics: a claim line is rarely an add-on. */
#define DEFAULT_ADDON_SELECTIVITY 0.05

static Selectivity
addon_selectivity(PlannerInfo *root, Node *arg, int varRelid)
{
	VariableStatData vardata;
	Selectivity selec = DEFAULT_ADDON_SELECTIVITY;

	examine_variable(root, arg, varRelid, &vardata);
	if (HeapTupleIsValid(vardata.statsTuple))
	{
		Form_pg_statistic stats = (Form_pg_statistic) GETSTRUCT(vardata.statsTuple);
		AttStatsSlot sslot;
		double		common_freq = 0.0;
		double		addon_freq = 0.0;
		int			common_addons = 0;
		int			ncommon = 0;
		bool		isdefault;
		double		ndistinct;
		double		other_distinct;
		double		other_addons;

		if (get_attstatsslot(&sslot, vardata.statsTuple, STATISTIC_KIND_MCV,
							 InvalidOid, ATTSTATSSLOT_VALUES | ATTSTATSSLOT_NUMBERS))
		{
			ncommon = sslot.nvalues;
			for (int i = 0; i < sslot.nvalues; i++)
			{
				common_freq += sslot.numbers[i];
				if (rules_is_addon(DatumGetCptCode(sslot.values[i]), RULES_ANY_DATE))
				{
					addon_freq += sslot.numbers[i];
					common_addons++;
				}
			}
			free_attstatsslot(&sslot);
		}

		/* the rest of the column: add-ons among the remaining distinct codes */
		ndistinct = get_variable_numdistinct(&vardata, &isdefault);
		other_distinct = Max(ndistinct - ncommon, 1.0);
		other_addons = Max(rules_table.naddons - common_addons, 0);
		selec = addon_freq +
			Max(1.0 - stats->stanullfrac - common_freq, 0.0) *
			Min(other_addons / other_distinct, 1.0);
	}
	ReleaseVariableStats(vardata);
	CLAMP_PROBABILITY(selec);
	return selec;
}

PG_FUNCTION_INFO_V1(cpt_is_addon_support);
Datum
cpt_is_addon_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);

	if (IsA(rawreq, SupportRequestSelectivity))
	{
		SupportRequestSelectivity *req = (SupportRequestSelectivity *) rawreq;

		if (req->is_join || list_length(req->args) < 1)
			PG_RETURN_POINTER(NULL);
		req->selectivity = addon_selectivity(req->root, linitial(req->args),
											 req->varRelid);
		PG_RETURN_POINTER(req);
	}
	PG_RETURN_POINTER(NULL);
}
