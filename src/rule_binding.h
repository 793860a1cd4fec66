/*
 * rule_binding.h
 *		A rule's trigger, read: its name, the events it checks, and its
 *		columns by attribute number.
 */
#ifndef RULE_BINDING_H
#define RULE_BINDING_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "nodes/pg_list.h"

struct RuleKind;
#include "utils/relcache.h"

#define MAX_GROUP_COLUMNS 8

/*
 * The WHEN-clause functions that mark a rule's triggers and bind its
 * columns, one per role of a trigger in its rule, named by the rule's kind
 * (rule_kind.h).  Their arguments are the code column, the date-of-service
 * column (a NULL::date constant for a rule without one), then 1 to
 * MAX_GROUP_COLUMNS group columns; the "moving" marker takes each of them
 * as an (OLD, NEW) pair.  rule_marker_call() writes such a call,
 * rule_bind() reads it back, and the markers check it.
 */
#define RULE_ROLE_ARRIVING	0
#define RULE_ROLE_MOVING	1
#define RULE_ROLE_LEAVING	2

#define RULE_ARG_CODE		0
#define RULE_ARG_DATE		1
#define RULE_ARG_GROUPS		2
#define RULE_ARG_UNITS		2	/* of a kind with units: the groups follow it */

/*
 * The leading arguments of a kind with options: the setting and indicators
 * (constants), then the row's tableoid, which tells a marker the relation
 * it is queueing checks for.
 */
#define RULE_NOPTIONS		3
#define RULE_OPT_TABLEOID	2

/* The first group column's position among a kind's columns. */
#define rule_first_group(kind)	(RULE_ARG_GROUPS + ((kind)->has_units ? 1 : 0))

/*
 * The columns a marker call of nargs arguments (the options left out) of a
 * rule of that kind names, or -1 if it cannot be one.
 */
extern int	rule_marker_columns(const struct RuleKind *kind, int nargs, int stride);

/* A rule's options, for a kind that has them (MUE). */
typedef struct RuleOptions
{
	NameData	setting;		/* practitioner, outpatient hospital, dme */
	int32		indicators;		/* bit i: adjudication indicator i enforced */
} RuleOptions;

/*
 * The WHEN clause of the trigger of that role ("arriving", "moving",
 * "leaving") of a rule of that kind, for those columns (date NULL when
 * there is none).
 */
extern char *rule_marker_call(const struct RuleKind *kind, const char *role, const char *code,
							  const char *date, const char *units, const RuleOptions *options,
							  int ngroup, char **groups);

/*
 * The trigger argument after the rule's name that marks a rule enforced
 * without validating the lines already stored, as a foreign key added NOT
 * VALID (pg_dump keeps it); validating the rule removes it.
 */
#define RULE_NOT_VALID		"NOT VALID"

typedef struct BoundRule
{
	const struct RuleKind *kind;
	NameData	rulename;
	bool		validated;		/* false: enforced NOT VALID */
	bool		arrivals;		/* a line arriving in a group */
	bool		departures;		/* a line leaving a group */
	bool		when_compares;	/* the WHEN clause filters unchanged UPDATEs */
	bool		by_name;		/* a 1.1 trigger */
	int			ngroup;
	AttrNumber	code_attno;
	AttrNumber	date_attno;		/* InvalidAttrNumber: no date of service */
	AttrNumber	units_attno;	/* of a kind with units */
	RuleOptions options;		/* of a kind with options */
	AttrNumber	group_attnos[MAX_GROUP_COLUMNS];
} BoundRule;

/* Read a rule trigger's WHEN clause (or 1.1 arguments); ERROR if it is none. */
extern void rule_bind(const char *tgqual, int nargs, char **args, const char *tgname,
					  int16 tgtype, Oid relid, BoundRule *out);

/* The same, of a pg_trigger row (tgdesc: pg_trigger's descriptor). */
extern void rule_bind_tuple(HeapTuple tup, TupleDesc tgdesc, BoundRule *out);

/*
 * ERROR unless the code column is a code column (below), the date column
 * a date and the units column a number; says whether the code column is of
 * a text type.
 */
extern bool rule_check_column_types(Relation rel, const BoundRule *b);

/*
 * A code column is a cpt_code, or text, varchar or char(n) read as cpt_code
 * input reads it (each a domain over it, too).  Is a column of that type
 * one, and of a text type?
 */
extern bool rule_code_type_ok(Oid type, bool *text_form);

/* A units column is a smallint, integer, bigint, numeric, real or double (or a domain). */
extern bool rule_units_type_ok(Oid type);

/*
 * The rule a trigger belongs to, its role in it ("arriving", "moving",
 * "leaving", or "legacy" for a 1.1 trigger), and the current names of the
 * rule's columns.
 */
extern void rule_describe(Oid tgoid, char **rulename, const char **role,
						  char **code, char **date, List **groups, bool *validated);

/* The same, whole: the trigger bound, and its relation (ERROR if none). */
extern Oid	rule_describe_bound(Oid tgoid, BoundRule *b);

extern Oid	cpt_code_type_oid(void);

/* The schema of the extension's type and functions, quoted. */
extern const char *cpt_code_type_schema(void);

/*
 * For a pg_type invalidation: was it (or may it have been) the cpt_code
 * type?  Then its OID is looked up again when next needed.
 */
extern bool cpt_code_type_changed(uint32 hashvalue);

/* Is this function the constraint trigger of a kind of rule? */
extern bool rule_trigger_function(Oid fn);

#endif							/* RULE_BINDING_H */
