/*
 * addon_kind.c
 *		The add-on rule as a kind of rule (rule_kind.h): every add-on code in
 *		a group of claim lines needs an eligible primary code in the same
 *		group, as CMS's add-on code edits say (rules_cache.c holds them).
 *
 * Which lines matter: an arriving add-on code, active on its date of
 * service, needs one eligible primary, and the check stops at the first it
 * finds (the lines stored beside it first).  A leaving line with a code may
 * have been the primary of any add-on of its group.  A group is judged by
 * rules_line_primary(), which the audit's cpt_rules.violating_lines() also
 * uses.
 */
#include "postgres.h"

#include "group_check.h"
#include "rule_info.h"
#include "rule_kind.h"
#include "rule_trigger.h"
#include "rules_cache.h"

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#define MAX_PRIMARIES_IN_HINT 12

/*
 * A shard is checked on its worker with the worker's own copy of the rules:
 * that copy must be the one the coordinator changes, a reference table.
 */
static void
addon_begin_check(const RuleInfo *info)
{
	if (!OidIsValid(info->shard_of))
		return;
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

typedef struct EligiblePrimary
{
	const AddonRule *rule;
	bool		any_listed;
	DateADT		on_date;
} EligiblePrimary;

static bool
is_eligible_primary(void *arg, CptCode code, DateADT date, bool date_isnull)
{
	EligiblePrimary *e = arg;

	return rules_primary_eligible(e->rule, e->any_listed, code, e->on_date);
}

static ProbeResult
addon_arrival(RuleInfo *info, Relation rel, TupleTableSlot *slot,
			  const Datum *group, const bool *group_isnull)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, info->code_attno, &isnull);
	CptCode		code;
	EligiblePrimary e;

	if (isnull || !cpt_code_of_column(d, info->code_is_text, &code))
		return PROBE_FOUND;
	e.on_date = RULES_ANY_DATE;
	if (info->date_attno != InvalidAttrNumber)
	{
		Datum		dd = slot_getattr(slot, info->date_attno, &isnull);

		if (!isnull)
		{
			e.on_date = DatumGetDateADT(dd);
			rules_reject_infinite_date(code, e.on_date);
		}
	}
	e.rule = rules_lookup_addon(code);
	if (e.rule == NULL || !rules_addon_active(e.rule, e.on_date))
		return PROBE_FOUND;
	e.any_listed = rules_addon_needs_listed(e.rule, e.on_date);
	return group_find_line(info, rel, group, group_isnull, is_eligible_primary, &e,
						   &slot->tts_tid);
}

static bool
addon_line_may_break(CptCode code, DateADT date, bool date_isnull)
{
	return rules_is_addon(code, date_isnull ? RULES_ANY_DATE : date);
}

/* A line with a code may have been some add-on's primary. */
static bool
addon_departure_matters(RuleInfo *info, TupleTableSlot *slot)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, info->code_attno, &isnull);
	CptCode		code;

	return !isnull && cpt_code_of_column(d, info->code_is_text, &code);
}

static int
addon_judge_line(const GroupLines *lines, int i)
{
	int			j = rules_line_primary(i, lines->nlines, lines->codes, lines->code_isnull,
									   lines->dates, lines->date_isnull);

	StaticAssertStmt(RULES_LINE_NEEDS_NONE == RULE_LINE_NEEDS_NONE &&
					 RULES_LINE_VIOLATES == RULE_LINE_VIOLATES,
					 "the add-on rule answers in the engine's terms");
	return j;
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

static void
addon_report_group(const GroupViolation *v)
{
	const AddonRule *rule;
	char		code[6];
	char	   *as_of = "";
	int			count;
	char	   *primaries;

	if (!v->show_values)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("an add-on code has no eligible primary code in its group of table \"%s\"",
						RelationGetRelationName(v->table)),
				 errdetail("Add-on codes may only be billed with an eligible primary procedure in the same group; "
						   "constraint \"%s\"; the codes and the group are shown only to a user who may read "
						   "the rule's columns.%s", v->rulename, v->detail_suffix),
				 errtableconstraint(v->table, v->rulename)));

	rule = rules_lookup_addon(v->code);
	cpt_code_to_cstring(v->code, code);
	if (v->has_date)
		as_of = psprintf(" on %s", DatumGetCString(DirectFunctionCall1(date_out,
																		DateADTGetDatum(v->date))));
	primaries = eligible_primaries_text(rule, v->has_date ? v->date : RULES_ANY_DATE, &count);
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("add-on code %s has no eligible primary code in group %s of table \"%s\"",
					code, v->group_key, RelationGetRelationName(v->table)),
			 errdetail("Add-on code %s (AOC type %d) may only be billed with an eligible primary "
					   "procedure in the same group%s; constraint \"%s\".%s",
					   code, rule->aoc_type, as_of, v->rulename, v->detail_suffix),
			 count > 0
			 ? errhint("Add a line with one of its eligible primary codes: %s.", primaries)
			 : rule->aoc_type == 2
			 ? errhint("Type 2 add-on codes without payer-defined primaries need a line that is not an add-on code.")
			 : errhint("No primary code is eligible for it%s; see cpt_rules.aoc_edit.", as_of),
			 errtableconstraint(v->table, v->rulename)));
}

static char *
addon_audit_candidate(const char *schema, const char *code)
{
	return psprintf("%s IS NOT NULL AND %s.is_addon(%s)", code, schema, code);
}

const RuleKind addon_rule_kind = {
	.name = "add-on",
	.trigger_function = "addon_rule_trigger",
	.markers = {"addon_rule_arriving", "addon_rule_moving", "addon_rule_leaving"},
	.has_units = false,
	.has_options = false,
	.removal_may_break = true,
	.begin_check = addon_begin_check,
	.arrival = addon_arrival,
	.line_may_break = addon_line_may_break,
	.departure_matters = addon_departure_matters,
	.judge_line = addon_judge_line,
	.report_group = addon_report_group,
	.audit_candidate = addon_audit_candidate,
	.audit_judge = "cpt_rules.violating_lines",
	.audit_query = NULL,
	.audit_call = NULL,
	.lines_noun = "add-on line(s)",
	.lines_fault = "without an eligible primary code",
	.audit_function = "cpt_rules.addon_rule_violations",
	.enforce_function = "cpt_rules.enforce_addon_rule",
	.drop_function = "cpt_rules.drop_addon_rule",
};

/* The add-on rule's constraint trigger, cpt_rules.addon_rule_trigger(). */
PG_FUNCTION_INFO_V1(addon_rule_trigger);
Datum
addon_rule_trigger(PG_FUNCTION_ARGS)
{
	return rule_trigger_fire(fcinfo, &addon_rule_kind, "addon_rule_trigger");
}
