/*
 * group_map.h
 *		For a relation with no index on the group columns: one pass that
 *		maps each group holding an add-on to its lines, so that a statement
 *		writing many claims scans the table a few times, not once per claim.
 */
#ifndef GROUP_MAP_H
#define GROUP_MAP_H

#include "postgres.h"

#include "cpt_code.h"
#include "rule_info.h"
#include "utils/date.h"

typedef struct MapLine
{
	ItemPointerData tid;
	CptCode		code;
	DateADT		date;			/* meaningless when date_isnull */
	bool		date_isnull;
	bool		ours;			/* written by this transaction */
} MapLine;

typedef struct GroupMap GroupMap;

/*
 * The map of target t of info, for the current transaction and command,
 * built on demand (after a few probes of the same relation in one command,
 * so that a single-claim statement scans once, as before); NULL when there
 * is none yet or the group columns cannot be hashed.  trel is the target,
 * locked.  The map is a hint: every line taken from it must be validated
 * against the table (lock, or visibility for our own lines) before use.
 */
extern GroupMap *group_map_for(RuleInfo *info, int t, Relation trel);

/* Lines of the group (values/isnull in rule order), or NULL and *nlines = 0. */
extern const MapLine *group_map_lines(GroupMap *map, RuleInfo *info,
									  const Datum *values, const bool *isnull,
									  int *nlines);

/* The map missed a primary the table has: read the table for the rest of this command. */
extern void group_map_stale(GroupMap *map);

extern void group_map_init(void);

#endif							/* GROUP_MAP_H */
