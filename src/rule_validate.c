/*
 * rule_validate.c
 *		Validating a rule over the lines already stored: when it is
 *		enforced or enabled again, and when a statement changes which lines
 *		it sees without a row event (attaching, detaching, dropping or
 *		truncating a partition).  The counterpart of RI_Initial_Check and
 *		RI_PartitionRemove_Check: one C call reads the audit
 *		(rule_audit.c) and reports through rule_report.c.
 *
 * The event trigger (ddl_guard.c) hands a statement to rule_check_ddl()
 * with the tables it touches; the rules it finds are those attached to the
 * parent or to any of its ancestors.
 */
#include "postgres.h"

#include "rule_validate.h"
#include "rule_audit.h"
#include "rule_binding.h"
#include "rule_index.h"
#include "rule_kind.h"
#include "rule_report.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "pg_compat.h"

/* A rule as attached to a table (its triggers there, clones left out). */
typedef struct AttachedRule
{
	const RuleKind *kind;
	Oid			table;
	char	   *table_text;		/* as the messages name it */
	NameData	rulename;
	RuleColumnNames cols;
	int			ntriggers;
	bool		roles[3];		/* arriving, moving, leaving */
	bool		legacy;			/* a 1.1 rule */
	bool		all_fire;		/* every trigger fires in a normal session */
} AttachedRule;

static bool
same_rule(const AttachedRule *r, const RuleKind *kind, const NameData *rulename,
		  const RuleColumnNames *cols)
{
	return r->kind == kind && strcmp(NameStr(r->rulename), NameStr(*rulename)) == 0 &&
		memcmp(&r->cols, cols, sizeof(RuleColumnNames)) == 0;
}

/* The rules attached to relid itself, as cpt_rules.enforced_rules lists them. */
static List *
rules_attached_to(Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TriggerDesc *trigdesc = rel->trigdesc;
	List	   *rules = NIL;

	for (int i = 0; trigdesc && i < trigdesc->numtriggers; i++)
	{
		Trigger    *t = &trigdesc->triggers[i];
		BoundRule	b;
		RuleColumnNames cols;
		TupleDesc	desc = RelationGetDescr(rel);
		AttachedRule *r = NULL;
		ListCell   *lc;

		if (t->tgisclone || !rule_trigger_function(t->tgfoid))
			continue;
		rule_bind(t->tgqual, t->tgnargs, t->tgargs, t->tgname, t->tgtype, relid, &b);
		rule_column_names(desc, &b, &cols);

		foreach(lc, rules)
			if (same_rule(lfirst(lc), b.kind, &b.rulename, &cols))
				r = lfirst(lc);
		if (r == NULL)
		{
			r = palloc0(sizeof(AttachedRule));
			r->kind = b.kind;
			r->table = relid;
			r->table_text = rule_relation_text(relid);
			r->rulename = b.rulename;
			r->cols = cols;
			r->all_fire = true;
			rules = lappend(rules, r);
		}
		r->ntriggers++;
		if (b.by_name)
			r->legacy = true;
		else
			r->roles[b.when_compares ? 1 : b.arrivals ? 0 : 2] = true;
		if (t->tgenabled != TRIGGER_FIRES_ON_ORIGIN && t->tgenabled != TRIGGER_FIRES_ALWAYS)
			r->all_fire = false;
	}
	table_close(rel, AccessShareLock);
	return rules;
}

static bool
rule_enabled(const AttachedRule *r)
{
	return r->all_fire && (r->legacy || (r->roles[0] && r->roles[1] && r->roles[2]));
}

static int
attached_rule_cmp(const ListCell *a, const ListCell *b)
{
	const AttachedRule *x = lfirst(a);
	const AttachedRule *y = lfirst(b);
	int			c = 0;

	if (x->table != y->table)
		c = strcmp(x->table_text, y->table_text);
	return c != 0 ? c : strcmp(NameStr(x->rulename), NameStr(y->rulename));
}

/* The rules over parent: attached to it or to an ancestor, in name order. */
static List *
rules_over(Oid parent)
{
	List	   *rules = rules_attached_to(parent);
	ListCell   *lc;

	if (get_rel_relispartition(parent))
		foreach(lc, get_partition_ancestors(parent))
			rules = list_concat(rules, rules_attached_to(lfirst_oid(lc)));
	list_sort(rules, attached_rule_cmp);
	return rules;
}

static void
validate(const RuleKind *kind, Oid tbl, const char *rulename, const RuleColumnNames *cols,
		 const char *what, Oid only_groups_of, List *excluding)
{
	AuditSummary found;

	audit_read_unfiltered(kind, tbl, cols, only_groups_of, excluding, NULL, NULL, &found, rulename);
	rule_report_validation(kind, tbl, rulename, cols, what, &found);
}

/* Run a DDL helper of the extension: cpt_rules.<fn>(table, name or name[]). */
static void
call_helper(const char *fn, Oid relid, Oid argtype, Datum arg)
{
	Oid			argtypes[2] = {REGCLASSOID, argtype};
	Datum		values[2] = {ObjectIdGetDatum(relid), arg};
	char	   *sql = psprintf("SELECT cpt_rules.%s($1, $2)", fn);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(sql, 2, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "cpt_rules.%s failed", fn);
	SPI_finish();
}

void
rule_check_ddl(const char *action, Oid parent, Oid child, List *gone)
{
	ListCell   *lc;

	if (strcmp(action, "inherit") == 0)
	{
		List	   *rules = OidIsValid(parent) ? rules_attached_to(parent) : NIL;

		if (rules != NIL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("table %s cannot inherit from %s, which enforces %s %s rule",
							rule_relation_text(child), rule_relation_text(parent),
							((AttachedRule *) linitial(rules))->kind->name[0] == 'a' ? "an" : "a",
							((AttachedRule *) linitial(rules))->kind->name),
					 errdetail("The rule's triggers would not fire for lines written to the child table."),
					 errhint("Use declarative partitioning (PARTITION BY ... and PARTITION OF) instead.")));
		return;
	}
	if (strcmp(action, "triggers") == 0)
	{
		foreach(lc, rules_attached_to(child))
		{
			AttachedRule *r = lfirst(lc);

			if (!rule_enabled(r))
				ereport(WARNING,
						(errmsg("%s rule \"%s\" on table %s is not enforced: some of its triggers do not fire",
								r->kind->name, NameStr(r->rulename), rule_relation_text(child)),
						 errhint("Lines written meanwhile are not checked.  Enable it again, validating them: "
								 "SELECT %s(%s, ...);", r->kind->enforce_function,
								 quote_literal_cstr(rule_relation_text(child)))));
		}
		return;
	}
	if (!OidIsValid(parent) || !OidIsValid(child))
		return;

	foreach(lc, rules_over(parent))
	{
		AttachedRule *r = lfirst(lc);
		const char *rulename = NameStr(r->rulename);
		bool		attach = strcmp(action, "attach") == 0;
		char	   *names[MAX_GROUP_COLUMNS];

		if (attach || strcmp(action, "create partition") == 0)
		{
			if (r->kind->removal_may_break)
				call_helper("guard_truncate", child, NAMEOID, NameGetDatum(&r->rulename));
			call_helper("warn_unindexed", child, NAMEARRAYOID, rule_group_names_array(&r->cols));
		}
		else if (strcmp(action, "detach") == 0 && r->kind->removal_may_break)
			call_helper("unguard_truncate", child, NAMEOID, NameGetDatum(&r->rulename));

		for (int g = 0; g < r->cols.ngroup; g++)
			names[g] = NameStr(r->cols.groups[g]);
		/* taking lines away cannot break a limit on a sum */
		if (!attach && !r->kind->removal_may_break)
			continue;
		/* a partition that holds its groups whole takes none away */
		if (!attach && rule_levels_keep_groups(r->table, parent, r->cols.ngroup, names))
			continue;

		if (attach)
			validate(r->kind, r->table, rulename, &r->cols,
					 psprintf("attaching partition %s", rule_relation_text(child)), child, NIL);
		else if (strcmp(action, "detach") == 0)
			/* the partition is gone from the tree: judge what is left */
			validate(r->kind, r->table, rulename, &r->cols,
					 psprintf("detaching partition %s", rule_relation_text(child)), child, NIL);
		else if (strcmp(action, "drop") == 0 || strcmp(action, "truncate") == 0)
		{
			/* the partition's lines are gone, with those of the rest of gone */
			StringInfoData what;

			initStringInfo(&what);
			appendStringInfo(&what, "%s partition %s",
							 action[0] == 'd' ? "dropping" : "truncating", rule_relation_text(child));
			if (list_length(gone) > 1)
				appendStringInfo(&what, " with %d other table(s)", list_length(gone) - 1);
			validate(r->kind, r->table, rulename, &r->cols, what.data, child,
					 gone != NIL ? gone : list_make1_oid(child));
		}
		else if (strcmp(action, "detach concurrently") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot detach partition %s concurrently: %s rule \"%s\" on %s lets claims span partitions",
							rule_relation_text(child), r->kind->name, rulename, r->table_text),
					 errhint("DETACH PARTITION without CONCURRENTLY checks the claims the partition takes away.")));
	}
}

void
rule_check_column_type_change(Oid relid, const char *column)
{
	ListCell   *lc;

	foreach(lc, rules_attached_to(relid))
	{
		AttachedRule *r = lfirst(lc);
		const RuleColumnNames *c = &r->cols;
		bool		uses = strcmp(NameStr(c->code), column) == 0 ||
			(c->has_date && strcmp(NameStr(c->date), column) == 0) ||
			(c->has_units && strcmp(NameStr(c->units), column) == 0);
		StringInfoData enforce;
		char	   *table = rule_relation_text(relid);

		for (int g = 0; g < c->ngroup; g++)
			uses |= strcmp(NameStr(c->groups[g]), column) == 0;
		if (!uses)
			continue;
		initStringInfo(&enforce);
		appendStringInfo(&enforce, "SELECT %s(%s, code => %s, group_by => %s",
						 r->kind->enforce_function, quote_literal_cstr(table), quote_literal_cstr(NameStr(c->code)),
						 quote_literal_cstr(rule_group_names_text(c)));
		if (c->has_date)
			appendStringInfo(&enforce, ", service_date => %s", quote_literal_cstr(NameStr(c->date)));
		if (c->has_units)
		{
			appendStringInfo(&enforce, ", units => %s, setting => %s, indicators => '{",
							 quote_literal_cstr(NameStr(c->units)),
							 quote_literal_cstr(NameStr(c->options.setting)));
			for (int i = 1, n = 0; i <= 3; i++)
				if (c->options.indicators & (1 << i))
					appendStringInfo(&enforce, "%s%d", n++ ? "," : "", i);
			appendStringInfoString(&enforce, "}'");
		}
		appendStringInfo(&enforce, ", constraint_name => %s);", quote_literal_cstr(NameStr(r->rulename)));
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot alter type of column \"%s\" of table %s: %s rule \"%s\" uses it",
						column, table, r->kind->name, NameStr(r->rulename)),
				 errhint("Drop the rule, alter the column, and enforce the rule again: "
						 "SELECT %s(%s, %s); ALTER TABLE %s ALTER COLUMN %s TYPE ...; %s",
						 r->kind->drop_function, quote_literal_cstr(table), quote_literal_cstr(NameStr(r->rulename)), table,
						 quote_identifier(column), enforce.data)));
	}
}

/*
 * cpt_rules.validate_rule(tbl, rule_name, code, group_by, service_date,
 * what): the lines of tbl must obey the rule, as ALTER TABLE ... ADD
 * FOREIGN KEY validates; what (NULL for a new rule) is the action named
 * in the error.
 */
PG_FUNCTION_INFO_V1(cpt_validate_rule);
Datum
cpt_validate_rule(PG_FUNCTION_ARGS)
{
	RuleColumnNames cols;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("only the date-of-service column and the action may be NULL")));
	audit_columns_from_args(PG_GETARG_NAME(2), PG_GETARG_ARRAYTYPE_P(3),
							PG_ARGISNULL(4) ? NULL : PG_GETARG_NAME(4), &cols);
	validate(&addon_rule_kind, PG_GETARG_OID(0), NameStr(*PG_GETARG_NAME(1)), &cols,
			 PG_ARGISNULL(5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(5)), InvalidOid, NIL);
	PG_RETURN_VOID();
}

/*
 * cpt_rules.validate_mue_rule(tbl, rule_name, code, units, group_by,
 * service_date, setting, indicators, what): the same for an MUE rule
 */
PG_FUNCTION_INFO_V1(cpt_validate_mue_rule);
Datum
cpt_validate_mue_rule(PG_FUNCTION_ARGS)
{
	RuleColumnNames cols;

	for (int i = 0; i < 8; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("only the action may be NULL")));
	audit_columns_from_args(PG_GETARG_NAME(2), PG_GETARG_ARRAYTYPE_P(4), PG_GETARG_NAME(5), &cols);
	cols.has_units = true;
	namestrcpy(&cols.units, NameStr(*PG_GETARG_NAME(3)));
	mue_options_from_args(PG_GETARG_TEXT_PP(6), PG_GETARG_ARRAYTYPE_P(7), &cols.options);
	validate(&mue_rule_kind, PG_GETARG_OID(0), NameStr(*PG_GETARG_NAME(1)), &cols,
			 PG_ARGISNULL(8) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(8)), InvalidOid, NIL);
	PG_RETURN_VOID();
}

/*
 * cpt_rules.set_rule_validated(tbl, rule_name, validated): put the NOT VALID
 * mark on the rule's triggers on tbl and on their clones on its partitions,
 * or take it off, in place, as ALTER TABLE ... VALIDATE CONSTRAINT sets
 * convalidated: under a SHARE UPDATE EXCLUSIVE lock, which lets writers
 * go on.  Returns how many triggers it changed.
 */
PG_FUNCTION_INFO_V1(cpt_set_rule_validated);
Datum
cpt_set_rule_validated(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	const char *rulename = NameStr(*PG_GETARG_NAME(1));
	bool		validated = PG_GETARG_BOOL(2);
	Relation	rel;
	Relation	tgrel;
	List	   *rule_triggers = NIL;
	int			changed = 0;
	StringInfoData args;
	ListCell   *lc;

	rel = relation_open(relid, NoLock);
	if (!CheckRelationLockedByMe(rel, ShareUpdateExclusiveLock, true))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s must be locked in SHARE UPDATE EXCLUSIVE mode or stronger",
						rule_relation_text(relid)),
				 errhint("Validate the rule with cpt_rules.validate_addon_rule().")));
	if (!cpt_relation_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(rel->rd_rel->relkind),
					   RelationGetRelationName(rel));

	/* the arguments as CREATE TRIGGER stores them, each ended by a NUL */
	initStringInfo(&args);
	appendBinaryStringInfo(&args, rulename, strlen(rulename) + 1);
	if (!validated)
		appendBinaryStringInfo(&args, RULE_NOT_VALID, strlen(RULE_NOT_VALID) + 1);

	tgrel = table_open(TriggerRelationId, RowExclusiveLock);
	/*
	 * The tree's tables, each after its parent (clones follow their
	 * parents), each locked as the parent is: a caller may have locked it
	 * ONLY.
	 */
	foreach(lc, find_all_inheritors(relid, ShareUpdateExclusiveLock, NULL))
	{
		Oid			r = lfirst_oid(lc);
		ScanKeyData key;
		SysScanDesc scan;
		HeapTuple	tup;
		bool		any = false;

		ScanKeyInit(&key, Anum_pg_trigger_tgrelid, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(r));
		scan = systable_beginscan(tgrel, TriggerRelidNameIndexId, true, NULL, 1, &key);
		while (HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			Form_pg_trigger t = (Form_pg_trigger) GETSTRUCT(tup);
			Datum		values[Natts_pg_trigger] = {0};
			bool		nulls[Natts_pg_trigger] = {0};
			bool		replace[Natts_pg_trigger] = {0};
			BoundRule	b;
			bytea	   *value;
			HeapTuple	newtup;

			if (r == relid ? OidIsValid(t->tgparentid)
				: !list_member_oid(rule_triggers, t->tgparentid))
				continue;
			if (!rule_trigger_function(t->tgfoid))
				continue;
			/* the rule's triggers as enforced_rules finds them; 1.1's carry no mark */
			rule_bind_tuple(tup, RelationGetDescr(tgrel), &b);
			if (b.by_name || strcmp(NameStr(b.rulename), rulename) != 0)
				continue;
			rule_triggers = lappend_oid(rule_triggers, t->oid);
			if (b.validated == validated)
				continue;
			value = palloc(VARHDRSZ + args.len);
			SET_VARSIZE(value, VARHDRSZ + args.len);
			memcpy(VARDATA(value), args.data, args.len);
			values[Anum_pg_trigger_tgargs - 1] = PointerGetDatum(value);
			replace[Anum_pg_trigger_tgargs - 1] = true;
			values[Anum_pg_trigger_tgnargs - 1] = Int16GetDatum(validated ? 1 : 2);
			replace[Anum_pg_trigger_tgnargs - 1] = true;
			newtup = heap_modify_tuple(tup, RelationGetDescr(tgrel), values, nulls, replace);
			CatalogTupleUpdate(tgrel, &newtup->t_self, newtup);
			changed++;
			any = true;
		}
		systable_endscan(scan);
		if (any)
			CacheInvalidateRelcacheByRelid(r);
	}
	table_close(tgrel, RowExclusiveLock);
	relation_close(rel, NoLock);
	PG_RETURN_INT32(changed);
}
