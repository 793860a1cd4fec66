/*
 * group_reader.h
 *		Reading one group of claim lines for the add-on rule, with the row
 *		locks that keep the answer true until commit.
 */
#ifndef GROUP_READER_H
#define GROUP_READER_H

#include "postgres.h"

#include "commands/trigger.h"
#include "cpt_code.h"
#include "utils/date.h"
#include "utils/relcache.h"

#define MAX_GROUP_COLUMNS 8

/* A rule's trigger arguments, resolved against the relation it fired on. */
typedef struct RuleArgs
{
	const char *code_col;
	const char *date_col;		/* NULL when there is none */
	int			ngroup;
	const char *group_cols[MAX_GROUP_COLUMNS];
	AttrNumber	code_attno;
	AttrNumber	date_attno;		/* InvalidAttrNumber when there is none */
	AttrNumber	group_attnos[MAX_GROUP_COLUMNS];
	Oid			group_types[MAX_GROUP_COLUMNS];
} RuleArgs;

/* The lines of one group, as the rule needs them. */
typedef struct GroupLines
{
	int			nlines;
	CptCode    *codes;
	bool	   *code_isnull;
	DateADT    *dates;
	bool	   *date_isnull;
} GroupLines;

/*
 * Read every line of the group whose key is values/isnull from queryrel
 * (the relation the rule is attached to), share-locking each line that
 * another transaction could still change.
 */
extern void read_group_locked(Relation queryrel, Trigger *trigger,
							  const RuleArgs *args, const Datum *values,
							  const bool *isnull, GroupLines *out);

extern void group_reader_init(void);

#endif							/* GROUP_READER_H */
