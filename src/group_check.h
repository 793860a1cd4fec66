/*
 * group_check.h
 *		Reading a group of claim lines for the add-on rule, with the row
 *		locks that keep the answer true until commit.
 */
#ifndef GROUP_CHECK_H
#define GROUP_CHECK_H

#include "postgres.h"

#include "cpt_code.h"
#include "rule_info.h"
#include "rules_cache.h"
#include "utils/date.h"

typedef enum ProbeResult
{
	PROBE_FOUND,				/* the rule holds, and is locked in */
	PROBE_NONE,					/* no eligible primary */
	PROBE_STALE					/* the RuleInfo went stale: get it again */
} ProbeResult;

/* The lines of one group, as the rule needs them. */
typedef struct GroupLines
{
	int			nlines;
	int			capacity;
	CptCode    *codes;
	bool	   *code_isnull;
	DateADT    *dates;
	bool	   *date_isnull;
	int		   *target;			/* which ProbeTarget the line is in */
	ItemPointerData *tids;
	bool	   *ours;			/* written by this transaction */
} GroupLines;

/*
 * Find one line of the group that is an eligible primary for an add-on
 * under rule on on_date, stopping at the first found, which is then
 * share-locked.  The lines stored next to "near" (the add-on line, in rel)
 * are looked at first, then the trigger's own relation, then the others.
 */
extern ProbeResult group_find_primary(RuleInfo *info, Relation rel,
									  const Datum *values, const bool *isnull,
									  const AddonRule *rule, DateADT on_date,
									  ItemPointer near);

/*
 * Read the whole group and judge every add-on in it, locking the primary
 * each one relies on.  *violating is the index of an add-on line without
 * one, or -1.
 */
extern ProbeResult group_check_all(RuleInfo *info, Relation rel,
								   const Datum *values, const bool *isnull,
								   GroupLines *lines, int *violating);

#endif							/* GROUP_CHECK_H */
