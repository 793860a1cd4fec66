/*
 * rule_audit.h
 *		The audit of a rule over a whole table: the one query that finds
 *		every add-on line without an eligible primary in its group, for
 *		analysts, for enforcing a rule and for the checks of DDL.
 */
#ifndef RULE_AUDIT_H
#define RULE_AUDIT_H

#include "postgres.h"

#include "rule_index.h"
#include "rule_kind.h"

#include "nodes/pg_list.h"
#include "utils/array.h"
#include "utils/tuplestore.h"

#define AUDIT_MAX_EXAMPLES 5

/* What a validation found: how many lines, and the first few. */
typedef struct AuditSummary
{
	int64		count;
	int			nexamples;
	char	   *code[AUDIT_MAX_EXAMPLES];		/* the code of a line that breaks it */
	char	   *group_key[AUDIT_MAX_EXAMPLES];	/* the group, as jsonb text */
} AuditSummary;

/*
 * The audit query of a rule of that kind with columns cols on tbl (and its
 * partitions),
 * limited to the groups with a line in only_groups_of (if valid) and
 * leaving out the lines of the tables in excluding and their partitions.
 * Its rows: group_key jsonb, addon cpt_code, date_of_service date,
 * line_table regclass (NULL for a Citus table: name it), line_ctid tid.
 * With progress, its scans count the lines they read
 * (validation_progress.h).
 */
extern char *audit_query(const RuleKind *kind, Oid tbl, const RuleColumnNames *cols,
						 Oid only_groups_of, List *excluding, bool progress);

/*
 * Run it as the checks must: with row security off (as the table's owner,
 * FORCE not applied, for a caller with the owner's privileges) and with the
 * latest snapshot.  Every row goes into store (if given), and summary (if
 * given) counts them and keeps the first few.  With progress_rule (the
 * rule's name), a long read reports its progress as NOTICEs.
 */
extern void audit_read_unfiltered(const RuleKind *kind, Oid tbl, const RuleColumnNames *cols,
								  Oid only_groups_of,
								  List *excluding, Tuplestorestate *store, TupleDesc desc,
								  AuditSummary *summary, const char *progress_rule);

/* The columns of a rule from SQL arguments (code, group_by name[], service_date). */
extern void audit_columns_from_args(Name code, ArrayType *group_by, Name service_date,
									RuleColumnNames *cols);

#endif							/* RULE_AUDIT_H */
