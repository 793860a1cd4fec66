/*
 * rule_binding.c
 *		Which columns a rule's trigger names, and what it checks.
 *
 * Columns are bound by attribute number, as a foreign key binds them: the
 * trigger's WHEN clause is a call to one of the marker functions
 * (rule_markers.c) whose arguments are the rule's columns, so PostgreSQL
 * itself records them by number, follows renames, copies them to new
 * partitions with the right numbers, refuses to drop them (RESTRICT) or
 * drops the trigger with them (CASCADE), and pg_dump writes them by name.
 *
 * Triggers made by version 1.1 carry column names in their arguments; they
 * are bound by name until ALTER EXTENSION UPDATE replaces them.
 */
#include "postgres.h"

#include "rule_binding.h"
#include "rule_kind.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/sysattr.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "nodes/primnodes.h"
#include "rewrite/prs2lock.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "pg_compat.h"

#define RULES_SCHEMA "cpt_rules"

/* ---------- the cpt_code type ---------- */

static Oid	cached_cpt_code_oid = InvalidOid;
static Oid	cached_extension_nsp = InvalidOid;
static uint32 cached_cpt_code_hash;

Oid
cpt_code_type_oid(void)
{
	Relation	extrel;
	ScanKeyData skey;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			nsp = InvalidOid;

	if (OidIsValid(cached_cpt_code_oid))
		return cached_cpt_code_oid;

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
	cached_extension_nsp = nsp;
	cached_cpt_code_oid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
										  CStringGetDatum("cpt_code"),
										  ObjectIdGetDatum(nsp));
	cached_cpt_code_hash = GetSysCacheHashValue1(TYPEOID,
												 ObjectIdGetDatum(cached_cpt_code_oid));
	return cached_cpt_code_oid;
}

const char *
cpt_code_type_schema(void)
{
	(void) cpt_code_type_oid();
	return quote_identifier(get_namespace_name(cached_extension_nsp));
}

bool
cpt_code_type_changed(uint32 hashvalue)
{
	if (!OidIsValid(cached_cpt_code_oid) ||
		(hashvalue != 0 && hashvalue != cached_cpt_code_hash))
		return false;
	/* dropped with the extension, perhaps, and made again */
	cached_cpt_code_oid = InvalidOid;
	return true;
}

bool
rule_trigger_function(Oid fn)
{
	return rule_kind_of_trigger_function(fn) != NULL;
}

/* ---------- binding the columns ---------- */


static void
bad_trigger(const char *tgname, Oid relid, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
			 errmsg("trigger \"%s\" on table \"%s\" is not a valid add-on rule trigger",
					tgname, get_rel_name(relid)),
			 errdetail("%s", detail),
			 errhint("Attach the rule with cpt_rules.enforce_addon_rule().")));
}

/* The column a marker argument names; InvalidAttrNumber for a NULL constant. */
static AttrNumber
marker_arg_column(Node *arg, int want_varno, bool null_ok, const char *tgname, Oid relid)
{
	while (arg && IsA(arg, RelabelType))
		arg = (Node *) ((RelabelType *) arg)->arg;
	if (arg && IsA(arg, Var) && ((Var *) arg)->varno == want_varno &&
		((Var *) arg)->varattno > 0 && ((Var *) arg)->varlevelsup == 0)
		return ((Var *) arg)->varattno;
	if (null_ok && arg && IsA(arg, Const) && ((Const *) arg)->constisnull)
		return InvalidAttrNumber;
	bad_trigger(tgname, relid, "An argument of its WHEN clause is not a column of the row.");
	return InvalidAttrNumber;	/* keep compiler quiet */
}

/* ---------- the markers' layout ---------- */

typedef struct MarkerRole
{
	const char *role;
	int			stride;			/* 2: (OLD, NEW) pairs */
	int			varno;			/* the row of a single column */
	bool		arrivals;
	bool		departures;
} MarkerRole;

/* by RULE_ROLE_* */
static const MarkerRole marker_roles[] = {
	{"arriving", 1, PRS2_NEW_VARNO, true, false},
	{"moving", 2, PRS2_NEW_VARNO, true, true},
	{"leaving", 1, PRS2_OLD_VARNO, false, true},
};

int
rule_marker_columns(const RuleKind *kind, int nargs, int stride)
{
	int			ncols = nargs / stride;
	int			first = rule_first_group(kind);

	if (nargs % stride != 0 || ncols < first + 1 || ncols > first + MAX_GROUP_COLUMNS)
		return -1;
	return ncols;
}

static void
append_column(StringInfo buf, const MarkerRole *m, const char *column, bool first)
{
	if (!first)
		appendStringInfoString(buf, ", ");
	if (column == NULL)
		appendStringInfoString(buf, m->stride == 2 ? "NULL::date, NULL::date" : "NULL::date");
	else if (m->stride == 2)
		appendStringInfo(buf, "OLD.%s, NEW.%s", quote_identifier(column), quote_identifier(column));
	else
		appendStringInfo(buf, "%s.%s", m->varno == PRS2_NEW_VARNO ? "NEW" : "OLD",
						 quote_identifier(column));
}

char *
rule_marker_call(const RuleKind *kind, const char *role, const char *code, const char *date,
				 const char *units, const RuleOptions *options, int ngroup, char **groups)
{
	const MarkerRole *m = NULL;
	const char *marker = NULL;
	StringInfoData buf;

	for (size_t i = 0; i < lengthof(marker_roles); i++)
		if (strcmp(marker_roles[i].role, role) == 0)
		{
			m = &marker_roles[i];
			marker = kind->markers[i];
		}
	if (m == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not a role of a rule's trigger", role),
				 errhint("The roles are arriving, moving and leaving.")));
	if (ngroup < 1 || ngroup > MAX_GROUP_COLUMNS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"group_by\" must name 1 to %d columns", MAX_GROUP_COLUMNS)));
	if (kind->has_units && (units == NULL || date == NULL || options == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a %s rule needs a units column, a date-of-service column and its options",
						kind->name)));
	initStringInfo(&buf);
	appendStringInfo(&buf, "%s.%s(", RULES_SCHEMA, marker);
	if (kind->has_options)
		appendStringInfo(&buf, "%s::text, %d, %s.tableoid, ", quote_literal_cstr(NameStr(options->setting)),
						 options->indicators, m->varno == PRS2_NEW_VARNO ? "NEW" : "OLD");
	StaticAssertStmt(RULE_ARG_CODE == 0 && RULE_ARG_DATE == 1 && RULE_ARG_GROUPS == 2 &&
					 RULE_ARG_UNITS == 2,
					 "the columns are written in argument order");
	append_column(&buf, m, code, true);
	append_column(&buf, m, date, false);
	if (kind->has_units)
		append_column(&buf, m, units, false);
	for (int g = 0; g < ngroup; g++)
		append_column(&buf, m, groups[g], false);
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

/* The leading constants of a kind with options, as rule_marker_call writes them. */
static void
bind_options(List *args, int varno, const char *tgname, Oid relid, RuleOptions *options)
{
	Node	   *setting = list_length(args) > RULE_NOPTIONS ? linitial(args) : NULL;
	Node	   *mask = list_length(args) > RULE_NOPTIONS ? lsecond(args) : NULL;
	Node	   *tableoid = list_length(args) > RULE_NOPTIONS ? lthird(args) : NULL;

	while (setting && IsA(setting, RelabelType))
		setting = (Node *) ((RelabelType *) setting)->arg;
	if (setting == NULL || !IsA(setting, Const) || ((Const *) setting)->constisnull ||
		((Const *) setting)->consttype != TEXTOID ||
		mask == NULL || !IsA(mask, Const) || ((Const *) mask)->constisnull ||
		((Const *) mask)->consttype != INT4OID)
		bad_trigger(tgname, relid, "Its WHEN clause does not begin with the rule's setting and indicators.");
	if (tableoid == NULL || !IsA(tableoid, Var) || ((Var *) tableoid)->varno != varno ||
		((Var *) tableoid)->varattno != TableOidAttributeNumber || ((Var *) tableoid)->varlevelsup != 0)
		bad_trigger(tgname, relid, "Its WHEN clause does not pass the row's tableoid after the rule's options.");
	namestrcpy(&options->setting, TextDatumGetCString(((Const *) setting)->constvalue));
	options->indicators = DatumGetInt32(((Const *) mask)->constvalue);
}

/* A rule's trigger: WHEN (cpt_rules.<marker>(columns as rule_marker_call writes them)). */
static bool
bind_from_when(const char *tgqual, const char *tgname, Oid relid, BoundRule *out)
{
	Node	   *qual;
	FuncExpr   *fexpr;
	char	   *fname;
	char	   *nspname;
	List	   *args;
	int			ncols;
	const MarkerRole *m;
	const RuleKind *kind;
	int			role;

	if (tgqual == NULL)
		return false;
	qual = stringToNode(tgqual);
	if (!IsA(qual, FuncExpr))
		return false;
	fexpr = (FuncExpr *) qual;
	nspname = get_namespace_name(get_func_namespace(fexpr->funcid));
	fname = get_func_name(fexpr->funcid);
	if (nspname == NULL || fname == NULL || strcmp(nspname, RULES_SCHEMA) != 0)
		return false;
	kind = rule_kind_of_marker(fname, &role);
	if (kind == NULL)
		return false;
	m = &marker_roles[role];
	out->kind = kind;

	out->arrivals = m->arrivals;
	out->departures = m->departures;
	out->when_compares = m->stride == 2;
	args = fexpr->args;
	if (kind->has_options)
	{
		bind_options(args, m->stride == 2 ? PRS2_NEW_VARNO : m->varno, tgname, relid, &out->options);
		args = list_copy_tail(args, RULE_NOPTIONS);
	}
	ncols = rule_marker_columns(kind, list_length(args), m->stride);
	if (ncols < 0)
		bad_trigger(tgname, relid, "Its WHEN clause has the wrong number of columns.");

	for (int i = 0; i < ncols; i++)
	{
		bool		null_ok = i == RULE_ARG_DATE && !kind->has_units;
		AttrNumber	att;

		if (m->stride == 2)
		{
			AttrNumber	old_att = marker_arg_column(list_nth(args, 2 * i), PRS2_OLD_VARNO,
													null_ok, tgname, relid);

			att = marker_arg_column(list_nth(args, 2 * i + 1), PRS2_NEW_VARNO, null_ok, tgname, relid);
			if (old_att != att)
				bad_trigger(tgname, relid, "Its WHEN clause compares different columns.");
		}
		else
			att = marker_arg_column(list_nth(args, i), m->varno, null_ok, tgname, relid);

		if (i == RULE_ARG_CODE)
			out->code_attno = att;
		else if (i == RULE_ARG_DATE)
			out->date_attno = att;
		else if (i == RULE_ARG_UNITS && kind->has_units)
			out->units_attno = att;
		else
			out->group_attnos[i - rule_first_group(kind)] = att;
	}
	out->ngroup = ncols - rule_first_group(kind);
	return true;
}

/* Rules of 1.1: the column names are the trigger's arguments. */
static void
bind_by_name(int nargs, char **args, const char *tgname, int16 tgtype,
			 Oid relid, BoundRule *out)
{
	if (nargs < 3 || nargs > 2 + MAX_GROUP_COLUMNS)
		bad_trigger(tgname, relid, "It has neither the rule's WHEN clause nor its column arguments.");
	out->arrivals = TRIGGER_FOR_INSERT(tgtype) || !TRIGGER_FOR_DELETE(tgtype);
	out->departures = TRIGGER_FOR_DELETE(tgtype) || !TRIGGER_FOR_INSERT(tgtype);
	out->when_compares = false;
	out->ngroup = nargs - 2;
	for (int i = 0; i < nargs; i++)
	{
		AttrNumber	att = InvalidAttrNumber;

		if (i != 1 || args[i][0] != '\0')
		{
			att = get_attnum(relid, args[i]);
			if (att <= 0)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("column \"%s\" of the add-on rule does not exist in table \"%s\"",
								args[i], get_rel_name(relid)),
						 errhint("Run ALTER EXTENSION cpt_rules UPDATE, which rebinds version 1.1 rules by column number.")));
		}
		if (i == 0)
			out->code_attno = att;
		else if (i == 1)
			out->date_attno = att;
		else
			out->group_attnos[i - 2] = att;
	}
}

void
rule_bind(const char *tgqual, int nargs, char **args, const char *tgname,
		  int16 tgtype, Oid relid, BoundRule *out)
{
	memset(out, 0, sizeof(*out));
	out->validated = true;
	if (bind_from_when(tgqual, tgname, relid, out))
	{
		if (nargs >= 1 && args[0][0] != '\0')
			namestrcpy(&out->rulename, args[0]);
		else
			namestrcpy(&out->rulename, tgname);
		out->validated = !(nargs >= 2 && strcmp(args[1], RULE_NOT_VALID) == 0);
	}
	else
	{
		size_t		len = strlen(tgname);

		bind_by_name(nargs, args, tgname, tgtype, relid, out);
		out->kind = &addon_rule_kind;	/* the only kind 1.1 had */
		out->by_name = true;
		namestrcpy(&out->rulename, tgname);
		/* 1.1 named its triggers <rule>_addon and <rule>_primary */
		if (len > 6 && strcmp(tgname + len - 6, "_addon") == 0)
			NameStr(out->rulename)[len - 6] = '\0';
		else if (len > 8 && strcmp(tgname + len - 8, "_primary") == 0)
			NameStr(out->rulename)[len - 8] = '\0';
	}
}

/* ---------- the columns' types ---------- */

bool
rule_code_type_ok(Oid type, bool *text_form)
{
	Oid			base = getBaseType(type);

	*text_form = base == TEXTOID || base == VARCHAROID || base == BPCHAROID;
	return *text_form || base == cpt_code_type_oid();
}

bool
rule_units_type_ok(Oid type)
{
	switch (getBaseType(type))
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case NUMERICOID:
		case FLOAT4OID:
		case FLOAT8OID:
			return true;
		default:
			return false;
	}
}

bool
rule_check_column_types(Relation rel, const BoundRule *b)
{
	TupleDesc	desc = RelationGetDescr(rel);
	bool		text_form;

	if (!rule_code_type_ok(TupleDescAttr(desc, b->code_attno - 1)->atttypid, &text_form))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("code column \"%s\" of table \"%s\" is not of type cpt_code, text, varchar or char",
						NameStr(TupleDescAttr(desc, b->code_attno - 1)->attname),
						RelationGetRelationName(rel))));
	if (b->date_attno != InvalidAttrNumber &&
		getBaseType(TupleDescAttr(desc, b->date_attno - 1)->atttypid) != DATEOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("date-of-service column \"%s\" of table \"%s\" is not of type date",
						NameStr(TupleDescAttr(desc, b->date_attno - 1)->attname),
						RelationGetRelationName(rel))));
	if (b->units_attno != InvalidAttrNumber &&
		!rule_units_type_ok(TupleDescAttr(desc, b->units_attno - 1)->atttypid))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("units column \"%s\" of table \"%s\" is not of a number type",
						NameStr(TupleDescAttr(desc, b->units_attno - 1)->attname),
						RelationGetRelationName(rel))));
	return text_form;
}

/* ---------- for SQL: the current names of a rule's columns ---------- */

void
rule_bind_tuple(HeapTuple tup, TupleDesc tgdesc, BoundRule *out)
{
	Form_pg_trigger form = (Form_pg_trigger) GETSTRUCT(tup);
	bool		isnull;
	Datum		d;
	char	   *tgqual = NULL;
	char	  **args = NULL;
	int			nargs = form->tgnargs;

	d = heap_getattr(tup, Anum_pg_trigger_tgqual, tgdesc, &isnull);
	if (!isnull)
		tgqual = TextDatumGetCString(d);
	if (nargs > 0)
	{
		bytea	   *val;
		char	   *p;

		d = heap_getattr(tup, Anum_pg_trigger_tgargs, tgdesc, &isnull);
		val = DatumGetByteaPP(d);
		p = VARDATA_ANY(val);
		args = palloc(sizeof(char *) * nargs);
		for (int i = 0; i < nargs; i++)
		{
			args[i] = pstrdup(p);
			p += strlen(p) + 1;
		}
	}
	rule_bind(tgqual, nargs, args, NameStr(form->tgname), form->tgtype, form->tgrelid, out);
}

Oid
rule_describe_bound(Oid tgoid, BoundRule *b)
{
	Relation	tgrel = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyData skey;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			relid;

	ScanKeyInit(&skey, Anum_pg_trigger_oid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(tgoid));
	scan = systable_beginscan(tgrel, TriggerOidIndexId, true, NULL, 1, &skey);
	tup = systable_getnext(scan);
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("trigger with OID %u does not exist", tgoid)));
	relid = ((Form_pg_trigger) GETSTRUCT(tup))->tgrelid;
	rule_bind_tuple(tup, RelationGetDescr(tgrel), b);
	systable_endscan(scan);
	table_close(tgrel, AccessShareLock);
	return relid;
}

void
rule_describe(Oid tgoid, char **rulename, const char **role, char **code,
			  char **date, List **groups, bool *validated)
{
	BoundRule	b;
	Oid			relid = rule_describe_bound(tgoid, &b);

	*rulename = pstrdup(NameStr(b.rulename));
	if (validated)
		*validated = b.validated;
	*role = b.by_name ? "legacy"
		: b.when_compares ? "moving" : b.arrivals ? "arriving" : "leaving";
	*code = get_attname(relid, b.code_attno, false);
	*date = b.date_attno ? get_attname(relid, b.date_attno, false) : NULL;
	*groups = NIL;
	for (int g = 0; g < b.ngroup; g++)
		*groups = lappend(*groups, get_attname(relid, b.group_attnos[g], false));
}
