/*
 * rule_validate.h
 *		Validating a rule over stored lines: when it is enforced, and when a
 *		statement changes which lines it sees (rule_validate.c).
 */
#ifndef RULE_VALIDATE_H
#define RULE_VALIDATE_H

#include "postgres.h"

#include "nodes/pg_list.h"

/*
 * A statement's effect on the rules over parent: action is "attach",
 * "create partition", "detach", "detach concurrently", "drop" or
 * "truncate" of partition child, "inherit" (child inheriting from
 * parent), or "triggers" (child's triggers enabled or disabled).  gone:
 * every table a drop or truncate takes with it, when more than the child.
 */
extern void rule_check_ddl(const char *action, Oid parent, Oid child, List *gone);

/* ALTER COLUMN ... TYPE of a column a rule on relid uses is refused. */
extern void rule_check_column_type_change(Oid relid, const char *column);

#endif							/* RULE_VALIDATE_H */
