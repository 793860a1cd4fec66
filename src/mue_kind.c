/*
 * mue_kind.c
 *		Medically unlikely edits as a kind of rule (rule_kind.h): the units
 *		of a code billed for one group (patient, provider) may not exceed
 *		the code's MUE in force on the date of service, per claim line
 *		(adjudication indicator 1) or summed over the date (2 and 3), for the
 *		indicators the rule enforces.
 *
 * Which lines matter: the markers queue a line only when its code has an
 * enforced edit on its date and its units could break it: over the value
 * for indicator 1 (the line alone breaks it), more than none for 2 and 3.
 * Lines that leave a group, or bill fewer units, cannot break a limit on a
 * sum, so deletions are never checked.
 *
 * Concurrency.  A sum grows by insertion, which no row lock on what a check
 * read can stop, so a check of a date's sum first takes a transaction lock
 * on (rule, group, code, date), then reads the group with the latest
 * snapshot.  Two transactions adding units of the same code for the same
 * group and date are so serialized: the second reads the first's lines once
 * it has committed.  So that a bulk load cannot fill the shared lock table,
 * a transaction that has taken MUE_KEY_LOCKS of them on one rule takes one
 * lock on the whole rule instead, which the key locks of others wait for
 * (they hold the rule lock in a mode that lets them run side by side).
 */
#include "postgres.h"

#include "group_check.h"
#include "mue_cache.h"
#include "mue_kind.h"
#include "rule_binding.h"
#include "rule_index.h"
#include "rule_info.h"
#include "rule_kind.h"
#include "rule_report.h"
#include "rule_trigger.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

/* the lock tags' class fields, apart from pg_advisory_lock's 1 and 2 */
#define MUE_LOCK_CLASS_KEY		0x4D55
#define MUE_LOCK_CLASS_RULE		0x4D56

/* key locks a transaction takes on one rule before it locks the rule whole */
#define MUE_KEY_LOCKS			256

/* ---------- units ---------- */

Numeric
mue_units_numeric(Datum d, bool isnull, Oid type)
{
	if (isnull)
		return int64_to_numeric(1);
	switch (type)
	{
		case INT2OID:
			return int64_to_numeric(DatumGetInt16(d));
		case INT4OID:
			return int64_to_numeric(DatumGetInt32(d));
		case INT8OID:
			return int64_to_numeric(DatumGetInt64(d));
		case NUMERICOID:
			return DatumGetNumeric(d);
		case FLOAT4OID:
			return DatumGetNumeric(DirectFunctionCall1(float4_numeric, d));
		case FLOAT8OID:
			return DatumGetNumeric(DirectFunctionCall1(float8_numeric, d));
	}
	elog(ERROR, "units of type %u", type);
	return NULL;				/* keep compiler quiet */
}

/* Integers are compared as they are. */
bool
mue_units_exceed(Datum d, bool isnull, Oid type, int64 limit)
{
	if (isnull)
		return 1 > limit;
	switch (type)
	{
		case INT2OID:
			return DatumGetInt16(d) > limit;
		case INT4OID:
			return DatumGetInt32(d) > limit;
		case INT8OID:
			return DatumGetInt64(d) > limit;
	}
	return DatumGetBool(DirectFunctionCall2(numeric_gt,
											NumericGetDatum(mue_units_numeric(d, isnull, type)),
											NumericGetDatum(int64_to_numeric(limit))));
}

static char *
numeric_text(Numeric n)
{
	return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(n)));
}

/*
 * Could a line of this code, date and units break the rule?  For indicator
 * 1 only if its own units are over the edit; for 2 and 3 if it bills any.
 */
static bool
line_may_break(int setting, int32 mask, CptCode code, DateADT date,
			   Datum units, bool units_isnull, Oid units_type, MueValue *edit)
{
	if (!mue_lookup(setting, code, date, edit) || (mask & (1 << edit->indicator)) == 0)
		return false;
	return mue_units_exceed(units, units_isnull, units_type, edit->indicator == 1 ? edit->mue : 0);
}

/* ---------- the markers ---------- */

/* A marker call, checked on its first row. */
typedef struct MarkerCall
{
	SweepMarker sweep;
	int			setting;
	int32		mask;
	bool		code_is_text;
	Oid			units_type;
	int			nargs;
	int16		typlen[RULE_NOPTIONS + 2 * (3 + MAX_GROUP_COLUMNS)];
	bool		typbyval[RULE_NOPTIONS + 2 * (3 + MAX_GROUP_COLUMNS)];
} MarkerCall;

static MarkerCall *
marker_call(FunctionCallInfo fcinfo, int role, int stride)
{
	MarkerCall *call = fcinfo->flinfo->fn_extra;
	const char *fname = mue_rule_kind.markers[role];
	int			nargs = PG_NARGS();
	bool		ok;
	char	   *setting;

	if (call != NULL)
		return call;
	if (get_fn_expr_variadic(fcinfo->flinfo))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s() does not take a VARIADIC array", fname)));
	call = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(MarkerCall));
	ok = nargs > RULE_NOPTIONS &&
		rule_marker_columns(&mue_rule_kind, nargs - RULE_NOPTIONS, stride) > 0 &&
		get_fn_expr_argtype(fcinfo->flinfo, 0) == TEXTOID &&
		get_fn_expr_argtype(fcinfo->flinfo, 1) == INT4OID &&
		get_fn_expr_argtype(fcinfo->flinfo, RULE_OPT_TABLEOID) == OIDOID &&
		!PG_ARGISNULL(0) && !PG_ARGISNULL(1) && !PG_ARGISNULL(RULE_OPT_TABLEOID) &&
		rule_code_type_ok(get_fn_expr_argtype(fcinfo->flinfo, RULE_NOPTIONS + RULE_ARG_CODE * stride),
						  &call->code_is_text) &&
		getBaseType(get_fn_expr_argtype(fcinfo->flinfo, RULE_NOPTIONS + RULE_ARG_DATE * stride)) == DATEOID &&
		rule_units_type_ok(get_fn_expr_argtype(fcinfo->flinfo, RULE_NOPTIONS + RULE_ARG_UNITS * stride));
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s() takes the setting, the indicators, the row's tableoid, the code, "
						"date-of-service and units columns and 1 to %d group columns%s", fname, MAX_GROUP_COLUMNS,
						stride == 2 ? ", each column as an OLD, NEW pair" : "")));
	setting = text_to_cstring(PG_GETARG_TEXT_PP(0));
	call->setting = mue_setting_number(setting);
	call->mask = PG_GETARG_INT32(1);
	if (call->setting < 0 || (call->mask & ~0xE) != 0 || call->mask == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s() takes an MUE setting and a mask of indicators 1 to 3, not \"%s\" and %d",
						fname, setting, call->mask)));
	call->units_type = getBaseType(get_fn_expr_argtype(fcinfo->flinfo, RULE_NOPTIONS + RULE_ARG_UNITS * stride));
	call->nargs = nargs;
	for (int i = RULE_NOPTIONS; i < nargs; i++)
	{
		Oid			t = get_fn_expr_argtype(fcinfo->flinfo, i);

		if (stride == 2 && (i - RULE_NOPTIONS) % 2 == 1 && t != get_fn_expr_argtype(fcinfo->flinfo, i - 1))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("%s() compares values of different types", fname)));
		get_typlenbyval(t, &call->typlen[i], &call->typbyval[i]);
	}
	fcinfo->flinfo->fn_extra = call;
	return call;
}

/* The line of arguments code, date, units (positions): may it break the rule? */
static bool
marker_line_matters(FunctionCallInfo fcinfo, MarkerCall *call, int code_arg,
					int date_arg, int units_arg, bool arriving)
{
	CptCode		code;
	MueValue	edit;

	/* a value that is no code, or a line without a date, has no edit */
	if (PG_ARGISNULL(code_arg) || PG_ARGISNULL(date_arg) ||
		!cpt_code_of_column(PG_GETARG_DATUM(code_arg), call->code_is_text, &code))
		return false;
	if (!line_may_break(call->setting, call->mask, code, PG_GETARG_DATEADT(date_arg),
						PG_ARGISNULL(units_arg) ? (Datum) 0 : PG_GETARG_DATUM(units_arg),
						PG_ARGISNULL(units_arg), call->units_type, &edit))
		return false;
	return mue_sweep_marker_queues(&call->sweep, fcinfo->flinfo, PG_GETARG_OID(RULE_OPT_TABLEOID),
								   arriving);
}

PG_FUNCTION_INFO_V1(mue_rule_arriving);
Datum
mue_rule_arriving(PG_FUNCTION_ARGS)
{
	MarkerCall *call = marker_call(fcinfo, RULE_ROLE_ARRIVING, 1);

	if (call->sweep.skipping &&
		mue_sweep_marker_skips(&call->sweep, PG_GETARG_OID(RULE_OPT_TABLEOID)))
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(marker_line_matters(fcinfo, call, RULE_NOPTIONS + RULE_ARG_CODE,
									   RULE_NOPTIONS + RULE_ARG_DATE,
									   RULE_NOPTIONS + RULE_ARG_UNITS, true));
}

/* A line changed (bitwise, as the add-on rule's marker compares) and may break it now. */
PG_FUNCTION_INFO_V1(mue_rule_moving);
Datum
mue_rule_moving(PG_FUNCTION_ARGS)
{
	MarkerCall *call = marker_call(fcinfo, RULE_ROLE_MOVING, 2);
	bool		changed = false;

	for (int i = RULE_NOPTIONS; i < call->nargs && !changed; i += 2)
	{
		bool		old_null = PG_ARGISNULL(i);
		bool		new_null = PG_ARGISNULL(i + 1);

		changed = old_null != new_null ||
			(!old_null && !datum_image_eq(PG_GETARG_DATUM(i), PG_GETARG_DATUM(i + 1),
										  call->typbyval[i], call->typlen[i]));
	}
	PG_RETURN_BOOL(changed &&
				   marker_line_matters(fcinfo, call, RULE_NOPTIONS + 2 * RULE_ARG_CODE + 1,
									   RULE_NOPTIONS + 2 * RULE_ARG_DATE + 1,
									   RULE_NOPTIONS + 2 * RULE_ARG_UNITS + 1, false));
}

/* A line leaving its group lowers a sum: nothing to check. */
PG_FUNCTION_INFO_V1(mue_rule_leaving);
Datum
mue_rule_leaving(PG_FUNCTION_ARGS)
{
	(void) marker_call(fcinfo, RULE_ROLE_LEAVING, 1);
	PG_RETURN_BOOL(false);
}

/* ---------- the lock on a group, code and date ---------- */

typedef struct RuleLocks
{
	Oid			rootid;
	int			keys;			/* key locks taken this transaction */
} RuleLocks;

static RuleLocks rule_locks[16];
static int	nrule_locks = 0;

static void
mue_xact_callback(XactEvent event, void *arg)
{
	nrule_locks = 0;
}

uint32
mue_key_hash(const RuleInfo *info, const Datum *values, const bool *isnull, CptCode code,
		 DateADT date)
{
	uint32		h = hash_combine(murmurhash32(code), murmurhash32((uint32) date));

	/* a group column without a hash only makes the lock coarser */
	for (int g = 0; g < info->ngroup; g++)
		if (isnull[g])
			h = hash_combine(h, 0x5bd1e995);
		else if (info->group_hashable[g])
			h = hash_combine(h, DatumGetUInt32(FunctionCall1Coll((FmgrInfo *) &info->group_hash[g],
																 info->group_collations[g],
																 values[g])));
	return h;
}

/* The lock on a group, code and date; with whole, the lock on every key of the rule. */
static void
lock_key(const RuleInfo *info, const Datum *values, const bool *isnull, CptCode code,
		 DateADT date, bool whole)
{
	LOCKTAG		rule_tag;
	LOCKTAG		key_tag;
	RuleLocks  *r = NULL;

	for (int i = 0; i < nrule_locks && r == NULL; i++)
		if (rule_locks[i].rootid == info->rootid)
			r = &rule_locks[i];
	if (r == NULL && nrule_locks < (int) lengthof(rule_locks))
	{
		r = &rule_locks[nrule_locks++];
		r->rootid = info->rootid;
		r->keys = 0;
	}

	SET_LOCKTAG_ADVISORY(rule_tag, MyDatabaseId, info->rootid, 0, MUE_LOCK_CLASS_RULE);
	if (r == NULL || r->keys >= MUE_KEY_LOCKS || whole)
	{
		if (r != NULL)
			r->keys = MUE_KEY_LOCKS;
		(void) LockAcquire(&rule_tag, ExclusiveLock, false, false);
		return;
	}
	(void) LockAcquire(&rule_tag, RowExclusiveLock, false, false);
	SET_LOCKTAG_ADVISORY(key_tag, MyDatabaseId, info->rootid,
						 mue_key_hash(info, values, isnull, code, date), MUE_LOCK_CLASS_KEY);
	if (LockAcquire(&key_tag, ExclusiveLock, false, false) != LOCKACQUIRE_ALREADY_HELD)
		r->keys++;
}

/* ---------- the check ---------- */

typedef struct DaySum
{
	CptCode		code;
	DateADT		date;
	Oid			units_type;
	Numeric		units;
	int			lines;
} DaySum;

static void
add_line(void *arg, const ProbeTarget *t, TupleTableSlot *slot)
{
	DaySum	   *sum = arg;
	bool		isnull;
	Datum		d = slot_getattr(slot, t->date_attno, &isnull);
	CptCode		code;

	if (isnull || DatumGetDateADT(d) != sum->date)
		return;
	d = slot_getattr(slot, t->code_attno, &isnull);
	if (isnull || !cpt_code_of_column(d, t->code_is_text, &code) || code != sum->code)
		return;
	d = slot_getattr(slot, t->units_attno, &isnull);
	sum->units = DatumGetNumeric(DirectFunctionCall2(numeric_add, NumericGetDatum(sum->units),
													 NumericGetDatum(mue_units_numeric(d, isnull, sum->units_type))));
	sum->lines++;
}

/*
 * A shard is checked on its worker, by the MUE tables of that node: they
 * must be reference tables (cpt_rules.citus_setup()), or the worker would
 * judge by the rows they held when Citus first copied them.
 */
static void
mue_begin_check(const RuleInfo *info)
{
	if (OidIsValid(info->shard_of) && !mue_tables_on_every_node())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("MUE rule \"%s\" on distributed table \"%s\" cannot be checked on this node",
						NameStr(info->rulename), get_rel_name(info->shard_of)),
				 errdetail("The MUE tables are not reference tables, so this node's copy of them may be stale."),
				 errhint("Run SELECT cpt_rules.citus_setup(); on the coordinator.")));
}

static ProbeResult
mue_arrival(RuleInfo *info, Relation rel, TupleTableSlot *slot,
			const Datum *group, const bool *group_isnull)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, info->code_attno, &isnull);
	Datum		units;
	bool		units_isnull;
	int			setting = mue_setting_number(NameStr(info->options.setting));
	MueViolation v;
	DaySum		sum;
	ProbeResult result;

	if (isnull || !cpt_code_of_column(d, info->code_is_text, &sum.code))
		return PROBE_FOUND;
	d = slot_getattr(slot, info->date_attno, &isnull);
	if (isnull)
		return PROBE_FOUND;
	sum.date = DatumGetDateADT(d);
	units = slot_getattr(slot, info->units_attno, &units_isnull);
	if (!line_may_break(setting, info->options.indicators, sum.code, sum.date,
						units, units_isnull, info->units_type, &v.edit))
		return PROBE_FOUND;
	if (v.edit.indicator == 1)
	{
		v.units = mue_units_numeric(units, units_isnull, info->units_type);
		v.lines = 1;
		rule_report_group(info, rel, group, group_isnull, sum.code, true, sum.date, &v);
	}

	if (mue_sweep_due(info, rel))
	{
		MueFinding f;
		bool		swept;

		lock_key(info, group, group_isnull, sum.code, sum.date, true);
		result = mue_sweep(info, rel, setting, false, &f, &swept);
		if (result == PROBE_FOUND && f.found)
			rule_report_group(info, rel, f.group, f.group_isnull, f.code, true, f.date, &f.v);
		if (swept || result != PROBE_FOUND)
			return result;
	}

	lock_key(info, group, group_isnull, sum.code, sum.date, false);
	sum.units_type = info->units_type;
	sum.units = int64_to_numeric(0);
	sum.lines = 0;
	result = group_read_lines(info, rel, group, group_isnull, &sum.date, add_line, &sum);
	if (result != PROBE_FOUND)
		return result;
	if (DatumGetBool(DirectFunctionCall2(numeric_gt, NumericGetDatum(sum.units),
										 NumericGetDatum(int64_to_numeric(v.edit.mue)))))
	{
		v.units = sum.units;
		v.lines = sum.lines;
		rule_report_group(info, rel, group, group_isnull, sum.code, true, sum.date, &v);
	}
	return PROBE_FOUND;
}

/*
 * Before any arriving line's own check: lines its markers skipped are
 * judged by a sweep, whichever line's check comes first.
 */
static ProbeResult
mue_arrival_judged(RuleInfo *info, Relation rel, TupleTableSlot *slot)
{
	if (mue_sweep_owed(info, rel))
	{
		MueFinding	f;
		bool		swept;
		ProbeResult result;

		lock_key(info, NULL, NULL, 0, 0, true);
		result = mue_sweep(info, rel, mue_setting_number(NameStr(info->options.setting)), true,
						   &f, &swept);
		if (result != PROBE_FOUND)
			return result;
		if (f.found)
			rule_report_group(info, rel, f.group, f.group_isnull, f.code, true, f.date, &f.v);
	}
	return mue_sweep_covers(info, rel, slot) ? PROBE_FOUND : PROBE_NONE;
}

static bool
mue_line_may_break(CptCode code, DateADT date, bool date_isnull)
{
	return !date_isnull;
}

static bool
mue_departure_matters(RuleInfo *info, TupleTableSlot *slot)
{
	return false;
}

static int
mue_judge_line(const GroupLines *lines, int i)
{
	return RULE_LINE_NEEDS_NONE;
}

static void
mue_report_group(const GroupViolation *v)
{
	const MueViolation *m = v->kind_arg;
	char		code[6];
	char	   *date;
	char	   *units;

	if (!v->show_values)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("a code is billed over its medically unlikely edit in a group of table \"%s\"",
						RelationGetRelationName(v->table)),
				 errdetail("Constraint \"%s\"; the code, the units and the group are shown only to a user "
						   "who may read the rule's columns.%s", v->rulename, v->detail_suffix),
				 errtableconstraint(v->table, v->rulename)));

	cpt_code_to_cstring(v->code, code);
	date = DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(v->date)));
	units = numeric_text(m->units);
	if (m->edit.indicator == 1)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("code %s is billed for %s units on one line in group %s of table \"%s\", over its MUE of %d",
						code, units, v->group_key, RelationGetRelationName(v->table), m->edit.mue),
				 errdetail("The medically unlikely edit of %s on %s allows %d unit%s per claim line "
						   "(adjudication indicator 1); constraint \"%s\".%s",
						   code, date, m->edit.mue, m->edit.mue == 1 ? "" : "s", v->rulename,
						   v->detail_suffix),
				 errhint("Bill at most %d unit%s of %s on a line.", m->edit.mue, m->edit.mue == 1 ? "" : "s",
						 code),
				 errtableconstraint(v->table, v->rulename)));
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("code %s is billed for %s units on %s in group %s of table \"%s\", over its MUE of %d",
					code, units, date, v->group_key, RelationGetRelationName(v->table), m->edit.mue),
			 errdetail("The medically unlikely edit of %s allows %d unit%s per date of service "
					   "(adjudication indicator %d, %s), summed over the group's %d line(s) of the code "
					   "on that date; constraint \"%s\".%s",
					   code, m->edit.mue, m->edit.mue == 1 ? "" : "s", m->edit.indicator,
					   m->edit.indicator == 2 ? "policy" : "clinical", m->lines, v->rulename,
					   v->detail_suffix),
			 m->edit.indicator == 3
			 ? errhint("Bill at most %d unit%s of %s for the group on %s; an indicator 3 edit may be exceeded on appeal, "
					   "which a rule enforcing indicators 1 and 2 only allows.", m->edit.mue,
					   m->edit.mue == 1 ? "" : "s", code, date)
			 : errhint("Bill at most %d unit%s of %s for the group on %s.", m->edit.mue,
					   m->edit.mue == 1 ? "" : "s", code, date),
			 errtableconstraint(v->table, v->rulename)));
}

/* ---------- the audit ---------- */

static char *
indicators_array(int32 mask)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 1; i <= 3; i++)
		if (mask & (1 << i))
			appendStringInfo(&buf, "%s%d", buf.len > 1 ? "," : "", i);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

static char *
mue_audit_query(Oid tbl, const RuleColumnNames *cols)
{
	return psprintf("SELECT v.group_key, v.billed_code, v.date_of_service, v.line_table, v.line_ctid"
					"  FROM cpt_rules.mue_violations(%u::pg_catalog.regclass, %s, %s, %s, %s, %s, %s) v",
					tbl, quote_literal_cstr(NameStr(cols->code)),
					quote_literal_cstr(NameStr(cols->units)),
					quote_literal_cstr(rule_group_names_text(cols)),
					quote_literal_cstr(NameStr(cols->date)),
					quote_literal_cstr(NameStr(cols->options.setting)),
					quote_literal_cstr(indicators_array(cols->options.indicators)));
}

static char *
mue_audit_call(Oid tbl, const RuleColumnNames *cols)
{
	return psprintf("SELECT * FROM cpt_rules.mue_violations(%s, %s, %s, %s, %s, %s, %s);",
					quote_literal_cstr(rule_relation_text(tbl)),
					quote_literal_cstr(NameStr(cols->code)),
					quote_literal_cstr(NameStr(cols->units)),
					quote_literal_cstr(rule_group_names_text(cols)),
					quote_literal_cstr(NameStr(cols->date)),
					quote_literal_cstr(NameStr(cols->options.setting)),
					quote_literal_cstr(indicators_array(cols->options.indicators)));
}

const RuleKind mue_rule_kind = {
	.name = "MUE",
	.trigger_function = "mue_rule_trigger",
	.markers = {"mue_rule_arriving", "mue_rule_moving", "mue_rule_leaving"},
	.has_units = true,
	.has_options = true,
	.removal_may_break = false,
	.begin_check = mue_begin_check,
	.arrival_judged = mue_arrival_judged,
	.arrival = mue_arrival,
	.line_may_break = mue_line_may_break,
	.departure_matters = mue_departure_matters,
	.judge_line = mue_judge_line,
	.report_group = mue_report_group,
	.audit_candidate = NULL,
	.audit_judge = NULL,
	.audit_query = mue_audit_query,
	.audit_call = mue_audit_call,
	.lines_noun = "code(s) billed on a line or a date of service",
	.lines_fault = "over their medically unlikely edit",
	.audit_function = "cpt_rules.mue_violations",
	.enforce_function = "cpt_rules.enforce_mue_rule",
	.drop_function = "cpt_rules.drop_mue_rule",
};

void
mue_kind_init(void)
{
	mue_cache_init();
	mue_sweep_init();
	RegisterXactCallback(mue_xact_callback, NULL);
}

/* The MUE rule's constraint trigger, cpt_rules.mue_rule_trigger(). */
PG_FUNCTION_INFO_V1(mue_rule_trigger);
Datum
mue_rule_trigger(PG_FUNCTION_ARGS)
{
	return rule_trigger_fire(fcinfo, &mue_rule_kind, "mue_rule_trigger");
}
