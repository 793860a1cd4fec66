/*
 * validation_progress.h
 *		NOTICEs that tell how far a long validation of a rule has read.
 */
#ifndef VALIDATION_PROGRESS_H
#define VALIDATION_PROGRESS_H

#include "postgres.h"

/* The passes of the audit query over a table's lines (rule_audit.c). */
#define PROGRESS_PASS_CANDIDATES	1	/* every line: does its group need judging? */
#define PROGRESS_PASS_GROUPS		2	/* the lines of those groups */
#define PROGRESS_PASS_UNGROUPED		3	/* lines with a NULL group column */
#define PROGRESS_PASS_JUDGING		4	/* the groups, gathered, judged one by one */
#define PROGRESS_PASSES				4

/* cpt_rules.progress_interval, in milliseconds; 0: no progress NOTICEs. */
extern int	validation_progress_interval;

extern void validation_progress_init(void);

/*
 * Has the installed version of the extension's SQL the function the audit
 * query calls to count lines?  (A database not yet updated to 1.6 runs
 * this module with its older SQL: its validations go without progress.)
 */
extern bool validation_progress_available(void);

/*
 * Count the lines the audit reads from here on, and report them as the
 * validation of that rule on tbl, until validation_progress_end().
 */
extern void validation_progress_begin(const char *kind_name, const char *rulename, Oid tbl);
extern void validation_progress_end(void);

#endif							/* VALIDATION_PROGRESS_H */
