/*
 * group_check.h
 *		Reading a group of claim lines for a rule, with the row locks that
 *		keep the answer true until commit.
 */
#ifndef GROUP_CHECK_H
#define GROUP_CHECK_H

#include "postgres.h"

#include "cpt_code.h"
#include "rule_info.h"
#include "rule_kind.h"
#include "utils/date.h"

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

/* Is a line of this code (never NULL) and date what the caller looks for? */
typedef bool (*LineTest) (void *arg, CptCode code, DateADT date, bool date_isnull);

/*
 * Find one line of the group that passes test, stopping at the first
 * found, which is then share-locked: PROBE_FOUND, PROBE_NONE or
 * PROBE_STALE.  The lines stored next to "near" (the arriving line, in rel)
 * are looked at first, then the trigger's own relation, then the others
 * nearest first.
 */
extern ProbeResult group_find_line(RuleInfo *info, Relation rel,
								   const Datum *values, const bool *isnull,
								   LineTest test, void *test_arg, ItemPointer near);

/*
 * Read the whole group and judge every line in it with the rule's kind,
 * locking the line each one relies on.  *violating is the index of a line
 * that breaks the rule, or -1.
 */
extern ProbeResult group_check_all(RuleInfo *info, Relation rel,
								   const Datum *values, const bool *isnull,
								   GroupLines *lines, int *violating);

/* Did this transaction write the line?  (By its raw xmin: COPY FREEZE's lines too.) */
extern bool group_line_is_ours(TupleTableSlot *slot);

/* A line of the group, in its relation's column numbering (target). */
typedef void (*GroupLineReader) (void *arg, const ProbeTarget *target, TupleTableSlot *slot);

/*
 * Read every line of the group with the latest snapshot, locking none: for
 * a kind whose verdict a lock of its own keeps true (a sum of units, which
 * grows by insertion).  With on_date, the reader is handed at least the
 * lines of that date of service (only those, where an index has the date
 * after the group columns).  PROBE_FOUND once read, or PROBE_STALE.
 */
extern ProbeResult group_read_lines(RuleInfo *info, Relation rel,
									const Datum *values, const bool *isnull,
									const DateADT *on_date,
									GroupLineReader reader, void *reader_arg);

/*
 * Read every line of every relation the rule reads, with the latest
 * snapshot after making our own changes visible, locking none: for a kind
 * that judges many groups at once under a lock of its own.  *as_of is that
 * snapshot's command: a line this transaction wrote under an earlier one
 * was read.  The reader returns false to stop.  PROBE_FOUND once read (or
 * stopped), or PROBE_STALE.
 */
typedef bool (*AllLinesReader) (void *arg, const ProbeTarget *target, TupleTableSlot *slot);

extern ProbeResult group_read_all_lines(RuleInfo *info, Relation rel,
										AllLinesReader reader, void *reader_arg,
										CommandId *as_of);

#endif							/* GROUP_CHECK_H */
