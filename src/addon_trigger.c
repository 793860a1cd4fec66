/*
 * addon_trigger.c
 *		Constraint trigger: every add-on code in a group of claim lines needs
 *		an eligible primary code in the same group.
 *
 * A rule is three constraint triggers, made by cpt_rules.enforce_addon_rule
 * (see rule_binding.c for how they name their columns):
 *		<rule>_arriving		AFTER INSERT, for a line that is an add-on
 *		<rule>_moving		AFTER UPDATE, for a line whose code, date or group
 *							changed, whatever the statement's target list
 *		<rule>_leaving		AFTER DELETE, for a line that may have been a
 *							primary
 * Their WHEN clauses see the row as stored, after every BEFORE trigger, so
 * a user's trigger that rewrites a line cannot slip past them.
 *
 * An arriving add-on needs one eligible primary: the check stops at the
 * first it finds.  A leaving line may have been the primary of any add-on
 * of its group, so the whole group is judged.  A group is judged as it is
 * now, not as the event saw it: if no primary is found for an add-on line
 * that has since changed, the whole group decides.
 */
#include "postgres.h"

#include "addon_trigger.h"
#include "citus_guard.h"
#include "group_check.h"
#include "group_map.h"
#include "rule_info.h"
#include "rule_report.h"
#include "rules_cache.h"

#include "access/relation.h"
#include "commands/trigger.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "pg_compat.h"


void
addon_trigger_init(void)
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
						 !lines.date_isnull[bad], lines.dates[bad]);
	return result;
}

/* A line arrived in its group: if it is an add-on, it needs a primary. */
static ProbeResult
check_arrival(RuleInfo *info, Relation rel, TupleTableSlot *slot)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, info->code_attno, &isnull);
	DateADT		on_date = RULES_ANY_DATE;
	const AddonRule *rule;
	Datum		values[MAX_GROUP_COLUMNS];
	bool		nulls[MAX_GROUP_COLUMNS];
	ProbeResult result;

	if (isnull)
		return PROBE_FOUND;
	if (info->date_attno != InvalidAttrNumber)
	{
		Datum		dd = slot_getattr(slot, info->date_attno, &isnull);

		if (!isnull)
		{
			on_date = DatumGetDateADT(dd);
			rules_reject_infinite_date(DatumGetCptCode(d), on_date);
		}
	}
	rule = rules_lookup_addon(DatumGetCptCode(d));
	if (rule == NULL || !rules_addon_active(rule, on_date))
		return PROBE_FOUND;

	row_group(info, slot, values, nulls);
	result = group_find_primary(info, rel, values, nulls, rule, on_date, &slot->tts_tid);
	if (result != PROBE_NONE)
		return result;
	/* none for this line as the event saw it: judge the group as it is */
	return check_whole_group(info, rel, values, nulls);
}

/* A line left its group: every add-on left there still needs a primary. */
static ProbeResult
check_departure(RuleInfo *info, Relation rel, TupleTableSlot *slot)
{
	bool		isnull;
	Datum		values[MAX_GROUP_COLUMNS];
	bool		nulls[MAX_GROUP_COLUMNS];

	(void) slot_getattr(slot, info->code_attno, &isnull);
	if (isnull)
		return PROBE_FOUND;		/* it was nobody's primary */
	row_group(info, slot, values, nulls);
	return check_whole_group(info, rel, values, nulls);
}

/*
 * A shard is checked on its worker with the worker's own copy of the rules:
 * that copy must be the one the coordinator changes, a reference table.
 */
static void
require_rules_on_every_node(const RuleInfo *info)
{
	if (unlikely(!rules_table.valid))
		rules_cache_rebuild();
	if (!rules_table.on_every_node)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("add-on rule \"%s\" on distributed table \"%s\" cannot be checked: the rule tables are not on every node",
						NameStr(info->rulename), get_rel_name(info->shard_of)),
				 errdetail("Each node would check claims against its own copy of the rules, which changes made on the coordinator do not reach."),
				 errhint("Run SELECT cpt_rules.citus_setup(); on the coordinator.")));
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

PG_FUNCTION_INFO_V1(addon_rule_trigger);
Datum
addon_rule_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleTableSlot *new_slot = NULL;
	TupleTableSlot *old_slot = NULL;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by trigger manager",
						"addon_rule_trigger")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired AFTER ROW for INSERT, UPDATE or DELETE",
						"addon_rule_trigger")));
	rel = trigdata->tg_relation;

	/* rule changes other sessions committed count from now on */
	rules_cache_refresh();

	for (;;)
	{
		RuleInfo   *info = rule_info_get(trigdata->tg_trigger, rel);
		ProbeResult result = PROBE_FOUND;

		if (OidIsValid(info->shard_of))
			require_rules_on_every_node(info);

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
