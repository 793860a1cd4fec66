/*
 * rule_trigger.c
 *		The constraint trigger of every kind of rule: a group of claim lines
 *		must obey the rule whenever a line arrives in it or leaves it.
 *
 * A rule is three constraint triggers, made by its kind's enforce function
 * (see rule_binding.c for how they name their columns):
 *		<rule>_arriving		AFTER INSERT, for a line the kind's marker picks
 *		<rule>_moving		AFTER UPDATE, for a line whose code, date or group
 *							changed, whatever the statement's target list
 *		<rule>_leaving		AFTER DELETE, for a line that may have mattered
 * Their WHEN clauses see the row as stored, after every BEFORE trigger, so
 * a user's trigger that rewrites a line cannot slip past them.
 *
 * An arriving line is first checked the kind's own quick way (for the
 * add-on rule: one eligible primary, the first found).  Otherwise, and for
 * a leaving line that mattered, the whole group is judged as it is now, not
 * as the event saw it.
 */
#include "postgres.h"

#include "rule_trigger.h"
#include "citus_guard.h"
#include "group_check.h"
#include "group_map.h"
#include "rule_info.h"
#include "rule_report.h"

#include "access/relation.h"
#include "commands/trigger.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/inval.h"
#include "utils/rel.h"

#include "pg_compat.h"


void
rule_trigger_init(void)
{
	rule_info_init();
	group_map_init();
}

static void
row_group(const RuleInfo *info, TupleTableSlot *slot, Datum *values, bool *isnull)
{
	for (int i = 0; i < info->ngroup; i++)
		values[i] = slot_getattr(slot, info->group_attnos[i], &isnull[i]);
}

/* Judge the whole group; raise the violation if there is one. */
static ProbeResult
check_whole_group(RuleInfo *info, Relation rel, const Datum *values, const bool *isnull)
{
	GroupLines	lines;
	int			bad;
	ProbeResult result = group_check_all(info, rel, values, isnull, &lines, &bad);

	if (result == PROBE_NONE)
		rule_report_group(info, rel, values, isnull, lines.codes[bad],
						 !lines.date_isnull[bad], lines.dates[bad], NULL);
	return result;
}

/* A line arrived in its group: the kind's quick check, else the group. */
static ProbeResult
check_arrival(RuleInfo *info, Relation rel, TupleTableSlot *slot)
{
	Datum		values[MAX_GROUP_COLUMNS];
	bool		nulls[MAX_GROUP_COLUMNS];
	ProbeResult result;

	if (info->kind->arrival_judged)
	{
		result = info->kind->arrival_judged(info, rel, slot);
		if (result != PROBE_NONE)
			return result;
	}
	row_group(info, slot, values, nulls);
	result = info->kind->arrival(info, rel, slot, values, nulls);
	if (result != PROBE_NONE)
		return result;
	/* not satisfied as the event saw it: judge the group as it is */
	return check_whole_group(info, rel, values, nulls);
}

/* A line left its group: if it mattered, the group is judged again. */
static ProbeResult
check_departure(RuleInfo *info, Relation rel, TupleTableSlot *slot)
{
	Datum		values[MAX_GROUP_COLUMNS];
	bool		nulls[MAX_GROUP_COLUMNS];

	if (!info->kind->departure_matters(info, slot))
		return PROBE_FOUND;
	row_group(info, slot, values, nulls);
	return check_whole_group(info, rel, values, nulls);
}

/* Rules of 1.1 have no WHEN clause comparing old and new rows. */
static bool
rule_columns_equal(const RuleInfo *info, TupleTableSlot *a, TupleTableSlot *b)
{
	AttrNumber	cols[MAX_GROUP_COLUMNS + 2];
	int			ncols = 0;
	TupleDesc	desc = a->tts_tupleDescriptor;

	cols[ncols++] = info->code_attno;
	if (info->date_attno != InvalidAttrNumber)
		cols[ncols++] = info->date_attno;
	for (int i = 0; i < info->ngroup; i++)
		cols[ncols++] = info->group_attnos[i];

	for (int i = 0; i < ncols; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, cols[i] - 1);
		bool		anull;
		bool		bnull;
		Datum		av = slot_getattr(a, cols[i], &anull);
		Datum		bv = slot_getattr(b, cols[i], &bnull);

		if (anull != bnull)
			return false;
		if (!anull && !datum_image_eq(av, bv, att->attbyval, att->attlen))
			return false;
	}
	return true;
}

Datum
rule_trigger_fire(FunctionCallInfo fcinfo, const RuleKind *kind, const char *fname)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleTableSlot *new_slot = NULL;
	TupleTableSlot *old_slot = NULL;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by trigger manager", fname)));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired AFTER ROW for INSERT, UPDATE or DELETE",
						fname)));
	rel = trigdata->tg_relation;

	/* catalog and rule changes other sessions committed count from now on */
	AcceptInvalidationMessages();

	for (;;)
	{
		RuleInfo   *info = rule_info_get(trigdata->tg_trigger, rel);
		ProbeResult result = PROBE_FOUND;

		if (info->kind != kind)
			ereport(ERROR,
					(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
					 errmsg("trigger \"%s\" calls %s() but its WHEN clause is a %s rule's",
							trigdata->tg_trigger->tgname, fname, info->kind->name)));
		kind->begin_check(info);

		if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
			new_slot = info->checks_arrivals ? trigdata->tg_trigslot : NULL;
		else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
			old_slot = info->checks_departures ? trigdata->tg_trigslot : NULL;
		else
		{
			if (!info->when_compares &&
				rule_columns_equal(info, trigdata->tg_trigslot, trigdata->tg_newslot))
				break;
			new_slot = info->checks_arrivals ? trigdata->tg_newslot : NULL;
			old_slot = info->checks_departures ? trigdata->tg_trigslot : NULL;
		}

		if (new_slot)
			result = check_arrival(info, rel, new_slot);
		if (result != PROBE_STALE && old_slot)
			result = check_departure(info, rel, old_slot);
		if (result != PROBE_STALE)
			break;
		CHECK_FOR_INTERRUPTS();
	}
	return PointerGetDatum(NULL);
}
