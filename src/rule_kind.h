/*
 * rule_kind.h
 *		A kind of coding rule, as the engine sees it.
 *
 * The engine is what every rule shares: its three constraint triggers
 * (rule_trigger.c) and the markers in their WHEN clauses that bind its
 * columns by number (rule_binding.c), the per-trigger state and the shared
 * partition state with their invalidation (rule_info.c, partition_set.c),
 * reading a group of lines with the latest snapshot and share locks
 * (group_check.c), the audit query and the validations of enforcing and of
 * DDL (rule_audit.c, rule_validate.c, ddl_guard.c), the one reporter
 * (rule_report.c), and Citus (citus_guard.c).  A kind says only what is
 * its own: which lines matter, how a group is judged, and how a violation
 * is worded.  The add-on rule (addon_kind.c) is the first kind.
 */
#ifndef RULE_KIND_H
#define RULE_KIND_H

#include "postgres.h"

#include "cpt_code.h"
#include "executor/tuptable.h"
#include "utils/array.h"
#include "utils/date.h"
#include "utils/relcache.h"

struct RuleInfo;
struct GroupLines;

/* What a check of one event found. */
typedef enum ProbeResult
{
	PROBE_FOUND,				/* the rule holds, and is locked in */
	PROBE_NONE,					/* the group breaks the rule */
	PROBE_STALE					/* the RuleInfo went stale: get it again */
} ProbeResult;

/* judge_line's answers besides the index of the line relied on */
#define RULE_LINE_NEEDS_NONE	(-1)
#define RULE_LINE_VIOLATES		(-2)

/* A violation by one group, as the reporter hands it to the kind. */
typedef struct GroupViolation
{
	Relation	table;			/* the table to name: the rule's own */
	const char *rulename;
	bool		show_values;	/* may the user read the rule's columns? */
	const char *group_key;		/* "(claim_id)=(7)", when shown */
	const char *detail_suffix;	/* appended to the detail (Citus's fields) */
	CptCode		code;			/* the line that breaks the rule */
	bool		has_date;
	DateADT		date;
	const void *kind_arg;		/* what the kind's check adds (MUE: the units) */
} GroupViolation;

struct RuleColumnNames;

typedef struct RuleKind
{
	const char *name;			/* "add-on": "add-on rule \"r\"" in messages */
	const char *trigger_function;	/* its constraint trigger, in schema cpt_rules */
	const char *markers[3];		/* its WHEN-clause markers: arriving, moving, leaving */

	/*
	 * The columns a rule of the kind names besides code, date and group: a
	 * units column (MUE) follows the date.  A kind judged against one of
	 * CMS's tables per setting (MUE) leads its marker calls with two
	 * constants, the setting and a mask of the indicators enforced.
	 */
	bool		has_units;
	bool		has_options;

	/*
	 * Can removing lines from a group (detaching, dropping or truncating a
	 * partition) break the rule?  Not for a limit on a sum of units.
	 */
	bool		removal_may_break;

	/*
	 * Before each check of a row event: make sure the kind's own data (for
	 * the add-on rule, its edits) can be read, and on a Citus shard that
	 * the node's copy is the one every node shares.
	 */
	void		(*begin_check) (const struct RuleInfo *info);

	/*
	 * Optional, asked first for every arriving line, before its group is
	 * read: the kind's check of many lines at once (mue_sweep.c).
	 * PROBE_FOUND when the line is judged already, PROBE_NONE to check it
	 * as usual, PROBE_STALE to start again.  Lines whose checks the markers
	 * left unqueued are judged here, whatever line's event asks.
	 */
	ProbeResult (*arrival_judged) (struct RuleInfo *info, Relation rel, TupleTableSlot *slot);

	/*
	 * Which lines matter.  A line arrived in its group (inserted, or
	 * updated into it; its group values given): PROBE_FOUND when the rule
	 * is satisfied and locked in (the line is none of the rule's business,
	 * or the kind found and locked what it needs), PROBE_NONE to have the
	 * whole group judged, PROBE_STALE.
	 */
	ProbeResult (*arrival) (struct RuleInfo *info, Relation rel, TupleTableSlot *slot,
							const Datum *group, const bool *group_isnull);

	/*
	 * Could a group holding a line of this code and date break the rule?
	 * (for the add-on rule: is it an add-on?)  A table without an index
	 * maps only such groups (group_map.c).
	 */
	bool		(*line_may_break) (CptCode code, DateADT date, bool date_isnull);

	/* A line left its group: could the group's verdict change? */
	bool		(*departure_matters) (struct RuleInfo *info, TupleTableSlot *slot);

	/*
	 * How a group is judged: for line i, RULE_LINE_NEEDS_NONE,
	 * RULE_LINE_VIOLATES, or the index of the line it relies on, which the
	 * engine then share-locks.
	 */
	int			(*judge_line) (const struct GroupLines *lines, int i);

	/* How a violation by a group is worded: ereport(ERROR), 23514. */
	void		(*report_group) (const GroupViolation *v);

	/*
	 * The audit, in SQL: a condition on the line t marking the groups that
	 * may break the rule, given the extension's schema (quoted) and the
	 * line's code as a cpt_code expression (NULL for a value that is no
	 * code); and the function (schema-qualified) judging a
	 * group's arrays of codes and dates, returning the 1-based positions of
	 * the lines that break it.
	 */
	char	   *(*audit_candidate) (const char *schema, const char *code);
	const char *audit_judge;

	/*
	 * A kind whose audit is its own SQL function: the query of its rows
	 * (group_key, code, date, line_table, line_ctid), and the call shown
	 * in hints.  NULL for the add-on rule's shape above.
	 */
	char	   *(*audit_query) (Oid tbl, const struct RuleColumnNames *cols);
	char	   *(*audit_call) (Oid tbl, const struct RuleColumnNames *cols);

	/* How the validations word what they found, and the SQL to see it. */
	const char *lines_noun;		/* "add-on line(s)" */
	const char *lines_fault;	/* "without an eligible primary code" */
	const char *audit_function; /* "cpt_rules.addon_rule_violations" */
	const char *enforce_function;	/* "cpt_rules.enforce_addon_rule" */
	const char *drop_function;	/* "cpt_rules.drop_addon_rule" */
} RuleKind;

extern const RuleKind addon_rule_kind;
extern const RuleKind mue_rule_kind;

/* Set up the MUE kind's caches and callbacks, once per backend. */
extern void mue_kind_init(void);
extern void mue_cache_relation_changed(Oid relid);

/* An MUE rule's options from SQL arguments (setting, indicators int[]), or ERROR. */
struct RuleOptions;
extern void mue_options_from_args(text *setting, ArrayType *indicators, struct RuleOptions *options);

/* The kind of that name ("add-on"), or NULL. */
extern const RuleKind *rule_kind_by_name(const char *name);

/* The kind whose marker function this is (its role in *role), or NULL. */
extern const RuleKind *rule_kind_of_marker(const char *fname, int *role);

/* The kind whose constraint trigger function this is, or NULL. */
extern const RuleKind *rule_kind_of_trigger_function(Oid fn);

#endif							/* RULE_KIND_H */
