/*
 * addon_trigger.c
 *		Constraint trigger: every add-on code in a group of claim lines needs
 *		an eligible primary code in the same group.
 *
 * Arguments (as written by cpt_rules.enforce_addon_rule, or by hand):
 *		code column, date-of-service column or '', group column, ...
 *
 * Which events matter.  A line can break the rule by arriving in a group as
 * an add-on (INSERT, or UPDATE giving it an add-on code or a new group), or
 * by leaving a group it may have satisfied (DELETE, or UPDATE of its code or
 * group).  enforce_addon_rule() installs one trigger per side, with WHEN
 * clauses so that ordinary inserts queue nothing.  Here, a trigger defined
 * for INSERT checks the new row's group on UPDATE, one defined for DELETE
 * checks the old row's group, and one defined for both checks both.
 *
 * Concurrency.  Like a foreign key check, the check locks what it relies on
 * and reads the group with the latest snapshot (see group_reader.c), so a
 * concurrent transaction cannot take away a primary this check counted, and
 * a transaction that removes a primary sees add-ons committed meanwhile.
 * Row locks live in the tuples, not in the shared lock table, so a bulk load
 * of any size cannot exhaust max_locks_per_transaction.
 */
#include "postgres.h"

#include "addon_trigger.h"
#include "checked_groups.h"
#include "group_reader.h"
#include "rules_cache.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#define MAX_PRIMARIES_IN_HINT 12

void
addon_trigger_init(void)
{
	checked_groups_init();
	group_reader_init();
}

/*
 * OID of the cpt_code type of the installed extension.  Remembered across
 * calls and re-read if the extension was dropped and created again.
 */
static Oid
cpt_code_type_oid(void)
{
	static Oid	cached = InvalidOid;
	Relation	extrel;
	ScanKeyData skey;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			nsp = InvalidOid;

	if (OidIsValid(cached))
	{
		HeapTuple	typtup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(cached));

		if (HeapTupleIsValid(typtup))
		{
			bool		same = strcmp(NameStr(((Form_pg_type) GETSTRUCT(typtup))->typname),
									  "cpt_code") == 0;

			ReleaseSysCache(typtup);
			if (same)
				return cached;
		}
	}

	extrel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&skey, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("cpt_rules"));
	scan = systable_beginscan(extrel, ExtensionNameIndexId, true, NULL, 1, &skey);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		nsp = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	systable_endscan(scan);
	table_close(extrel, AccessShareLock);

	if (!OidIsValid(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"%s\" is not installed", "cpt_rules")));
	cached = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
							 CStringGetDatum("cpt_code"), ObjectIdGetDatum(nsp));
	return cached;
}

static AttrNumber
column_or_error(Relation rel, const char *name, const char *role)
{
	int			attno = SPI_fnumber(RelationGetDescr(rel), name);

	if (attno <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("%s column \"%s\" of the add-on rule does not exist in table \"%s\"",
						role, name, RelationGetRelationName(rel)),
				 errhint("Re-attach the rule with cpt_rules.enforce_addon_rule() after renaming columns.")));
	return (AttrNumber) attno;
}

static void
parse_args(Relation rel, Trigger *trigger, RuleArgs *args)
{
	TupleDesc	desc = RelationGetDescr(rel);

	if (trigger->tgnargs < 3 || trigger->tgnargs > 2 + MAX_GROUP_COLUMNS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("trigger \"%s\" on table \"%s\" has %d arguments",
						trigger->tgname, RelationGetRelationName(rel), trigger->tgnargs),
				 errdetail("cpt_rules.addon_rule_trigger() takes the code column, the date-of-service column "
						   "(or an empty string), and 1 to %d group columns.", MAX_GROUP_COLUMNS)));

	args->code_col = trigger->tgargs[0];
	args->date_col = trigger->tgargs[1][0] ? trigger->tgargs[1] : NULL;
	args->ngroup = trigger->tgnargs - 2;

	args->code_attno = column_or_error(rel, args->code_col, "code");
	if (TupleDescAttr(desc, args->code_attno - 1)->atttypid != cpt_code_type_oid())
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("code column \"%s\" of table \"%s\" is not of type cpt_code",
						args->code_col, RelationGetRelationName(rel))));

	args->date_attno = InvalidAttrNumber;
	if (args->date_col)
	{
		args->date_attno = column_or_error(rel, args->date_col, "date-of-service");
		if (TupleDescAttr(desc, args->date_attno - 1)->atttypid != DATEOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("date-of-service column \"%s\" of table \"%s\" is not of type date",
							args->date_col, RelationGetRelationName(rel))));
	}

	for (int i = 0; i < args->ngroup; i++)
	{
		args->group_cols[i] = trigger->tgargs[2 + i];
		args->group_attnos[i] = column_or_error(rel, args->group_cols[i], "group");
		args->group_types[i] = TupleDescAttr(desc, args->group_attnos[i] - 1)->atttypid;
	}
}

/*
 * The relation a rule was attached to.  A partitioned table's trigger is
 * cloned onto its partitions, and a claim may span partitions, so a clone
 * checks the whole partitioned table it descends from.  Anything else
 * (including a Citus shard, whose trigger is a copy, not a clone) checks the
 * relation it fired on.
 */
static Oid
rule_relation(Trigger *trigger, Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	Oid			tgoid = trigger->tgoid;
	Relation	tgrel;

	if (!rel->rd_rel->relispartition)
		return relid;

	tgrel = table_open(TriggerRelationId, AccessShareLock);
	while (OidIsValid(tgoid))
	{
		ScanKeyData skey;
		SysScanDesc scan;
		HeapTuple	tup;
		Form_pg_trigger form;

		ScanKeyInit(&skey, Anum_pg_trigger_oid, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(tgoid));
		scan = systable_beginscan(tgrel, TriggerOidIndexId, true, NULL, 1, &skey);
		tup = systable_getnext(scan);
		if (!HeapTupleIsValid(tup))
			elog(ERROR, "could not find trigger %u", tgoid);
		form = (Form_pg_trigger) GETSTRUCT(tup);
		relid = form->tgrelid;
		tgoid = form->tgparentid;
		systable_endscan(scan);
	}
	table_close(tgrel, AccessShareLock);
	return relid;
}

/* Bytes identifying (rule, group values) for the checked-groups memory. */
static void
group_key_bytes(StringInfo buf, Trigger *trigger, Oid queryrelid,
				TupleDesc desc, const RuleArgs *args,
				const Datum *values, const bool *isnull)
{
	appendBinaryStringInfo(buf, (const char *) &queryrelid, sizeof(Oid));
	for (int i = 0; i < trigger->tgnargs; i++)
		appendBinaryStringInfo(buf, trigger->tgargs[i], strlen(trigger->tgargs[i]) + 1);
	for (int i = 0; i < args->ngroup; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, args->group_attnos[i] - 1);

		appendStringInfoChar(buf, isnull[i] ? 'n' : 'v');
		if (isnull[i])
			continue;
		if (att->attbyval)
			appendBinaryStringInfo(buf, (const char *) &values[i], sizeof(Datum));
		else if (att->attlen == -1)
		{
			struct varlena *v = PG_DETOAST_DATUM_PACKED(values[i]);
			uint32		len = VARSIZE_ANY_EXHDR(v);

			appendBinaryStringInfo(buf, (const char *) &len, sizeof(len));
			appendBinaryStringInfo(buf, VARDATA_ANY(v), len);
		}
		else
		{
			Size		len = datumGetSize(values[i], false, att->attlen);

			appendBinaryStringInfo(buf, DatumGetPointer(values[i]), len);
		}
	}
}

static char *
describe_group(TupleDesc desc, const RuleArgs *args, const Datum *values,
			   const bool *isnull)
{
	StringInfoData names;
	StringInfoData vals;

	initStringInfo(&names);
	initStringInfo(&vals);
	for (int i = 0; i < args->ngroup; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, args->group_attnos[i] - 1);

		if (i > 0)
		{
			appendStringInfoString(&names, ", ");
			appendStringInfoString(&vals, ", ");
		}
		appendStringInfoString(&names, quote_identifier(args->group_cols[i]));
		if (isnull[i])
			appendStringInfoString(&vals, "null");
		else
		{
			Oid			out;
			bool		varlena;

			getTypeOutputInfo(att->atttypid, &out, &varlena);
			appendStringInfoString(&vals, OidOutputFunctionCall(out, values[i]));
		}
	}
	return psprintf("(%s)=(%s)", names.data, vals.data);
}

static char *
eligible_primaries_text(const AddonRule *rule, DateADT on_date, int *count)
{
	StringInfoData buf;
	int			shown = 0;
	CptCode		last = 0xFFFFFFFF;

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
report_violation(Relation rel, Trigger *trigger, const char *group,
				 CptCode addon, bool has_date, DateADT on_date)
{
	const AddonRule *rule = rules_lookup_addon(addon);
	char		code[6];
	char	   *as_of = "";
	int			count;
	char	   *primaries;

	cpt_code_to_cstring(addon, code);
	if (has_date)
		as_of = psprintf(" on %s", DatumGetCString(DirectFunctionCall1(date_out,
																		DateADTGetDatum(on_date))));
	primaries = eligible_primaries_text(rule, has_date ? on_date : RULES_ANY_DATE, &count);

	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("add-on code %s has no eligible primary code in group %s of table \"%s\"",
					code, group, RelationGetRelationName(rel)),
			 errdetail("Add-on code %s (AOC type %d) may only be billed with an eligible primary "
					   "procedure in the same group%s; constraint \"%s\".",
					   code, rule->aoc_type, as_of, trigger->tgname),
			 count > 0
			 ? errhint("Add a line with one of its eligible primary codes: %s.", primaries)
			 : rule->aoc_type == 2
			 ? errhint("Type 2 add-on codes without payer-defined primaries need a line that is not an add-on code.")
			 : errhint("No primary code is eligible for it%s; see cpt_rules.aoc_edit.", as_of),
			 errtableconstraint(rel, trigger->tgname)));
}

/*
 * Check the whole group an event touched, unless this transaction already
 * checked it and changed nothing since.
 */
static void
check_group(Relation rel, Trigger *trigger, const RuleArgs *args,
			const Datum *values, const bool *isnull)
{
	Oid			queryrelid = rule_relation(trigger, rel);
	Relation	queryrel;
	StringInfoData key;
	GroupLines	lines;

	initStringInfo(&key);
	group_key_bytes(&key, trigger, queryrelid, RelationGetDescr(rel), args, values, isnull);
	if (checked_group_seen(key.data, key.len))
		return;

	queryrel = queryrelid == RelationGetRelid(rel) ? rel
		: table_open(queryrelid, RowShareLock);
	read_group_locked(queryrel, trigger, args, values, isnull, &lines);
	if (queryrel != rel)
		table_close(queryrel, NoLock);

	for (int i = 0; i < lines.nlines; i++)
		if (rules_line_violates(i, lines.nlines, lines.codes, lines.code_isnull,
								lines.dates, lines.date_isnull))
			report_violation(rel, trigger,
							 describe_group(RelationGetDescr(rel), args, values, isnull),
							 lines.codes[i], !lines.date_isnull[i], lines.dates[i]);

	checked_group_remember(key.data, key.len);
}

static void
row_group(TupleTableSlot *slot, const RuleArgs *args, Datum *values, bool *isnull)
{
	for (int i = 0; i < args->ngroup; i++)
		values[i] = slot_getattr(slot, args->group_attnos[i], &isnull[i]);
}

static bool
rule_columns_equal(TupleTableSlot *a, TupleTableSlot *b, const RuleArgs *args)
{
	AttrNumber	cols[MAX_GROUP_COLUMNS + 2];
	int			ncols = 0;
	TupleDesc	desc = a->tts_tupleDescriptor;

	cols[ncols++] = args->code_attno;
	if (args->date_attno != InvalidAttrNumber)
		cols[ncols++] = args->date_attno;
	for (int i = 0; i < args->ngroup; i++)
		cols[ncols++] = args->group_attnos[i];

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

/* An arriving line matters only if it is an add-on on its date of service. */
static bool
row_holds_addon(TupleTableSlot *slot, const RuleArgs *args)
{
	bool		isnull;
	Datum		code = slot_getattr(slot, args->code_attno, &isnull);
	DateADT		on_date = RULES_ANY_DATE;

	if (isnull)
		return false;
	if (args->date_attno != InvalidAttrNumber)
	{
		Datum		d = slot_getattr(slot, args->date_attno, &isnull);

		if (!isnull)
			on_date = DatumGetDateADT(d);
	}
	return rules_is_addon(DatumGetCptCode(code), on_date);
}

PG_FUNCTION_INFO_V1(addon_rule_trigger);
Datum
addon_rule_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Trigger    *trigger;
	Relation	rel;
	RuleArgs	args;
	TupleTableSlot *new_slot = NULL;
	TupleTableSlot *old_slot = NULL;
	Datum		values[MAX_GROUP_COLUMNS];
	bool		isnull[MAX_GROUP_COLUMNS];

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

	trigger = trigdata->tg_trigger;
	rel = trigdata->tg_relation;
	parse_args(rel, trigger, &args);

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		new_slot = trigdata->tg_trigslot;
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		old_slot = trigdata->tg_trigslot;
	else
	{
		bool		for_insert = TRIGGER_FOR_INSERT(trigger->tgtype);
		bool		for_delete = TRIGGER_FOR_DELETE(trigger->tgtype);

		if (rule_columns_equal(trigdata->tg_trigslot, trigdata->tg_newslot, &args))
			return PointerGetDatum(NULL);
		if (for_insert || !for_delete)
			new_slot = trigdata->tg_newslot;
		if (for_delete || !for_insert)
			old_slot = trigdata->tg_trigslot;
	}

	/*
	 * The group is checked as it is now, even when this row version has
	 * since been deleted or updated: a later update that leaves the rule's
	 * columns alone queues no event of its own.
	 */
	if (new_slot && row_holds_addon(new_slot, &args))
	{
		row_group(new_slot, &args, values, isnull);
		check_group(rel, trigger, &args, values, isnull);
	}

	if (old_slot)
	{
		bool		code_isnull;

		(void) slot_getattr(old_slot, args.code_attno, &code_isnull);
		if (!code_isnull)
		{
			row_group(old_slot, &args, values, isnull);
			check_group(rel, trigger, &args, values, isnull);
		}
	}

	return PointerGetDatum(NULL);
}
