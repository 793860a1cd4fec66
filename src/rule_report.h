/*
 * rule_report.h
 *		One reporter for a rule's violations, whichever path finds them: a
 *		row's check, enforcing a rule, a DDL statement (the counterpart of
 *		ri_ReportViolation).
 */
#ifndef RULE_REPORT_H
#define RULE_REPORT_H

#include "postgres.h"

#include "rule_audit.h"
#include "rule_info.h"
#include "rule_kind.h"

#include "cpt_code.h"
#include "utils/date.h"

#include "pg_compat.h"

/*
 * A group of rel, as a row's check of info found it: the line of this code
 * (and date, if has_date) breaks the rule.  values/isnull are the group's
 * key, in the rule's order.  The rule's kind words the error, with
 * kind_arg (what its check found besides).
 */
extern cpt_noreturn void rule_report_group(const RuleInfo *info, Relation rel,
										   const Datum *values, const bool *isnull,
										   CptCode code, bool has_date, DateADT date,
										   const void *kind_arg);

/*
 * What a validation of rule rulename (of that kind, columns cols) on tbl
 * found, if anything: for enforcing the rule (what NULL), or for a
 * statement ("what" would leave ...).
 */
extern void rule_report_validation(const RuleKind *kind, Oid tbl, const char *rulename,
								   const RuleColumnNames *cols, const char *what,
								   const AuditSummary *found);

/*
 * A relation's name as the messages write it: qualified unless its schema
 * is pg_catalog, the extension's or the session's temporary one.
 */
extern char *rule_relation_text(Oid relid);

#endif							/* RULE_REPORT_H */
