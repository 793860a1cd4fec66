/*
 * unfiltered_read.h
 *		Run the checks of DDL, and the validation of enforcing a rule, so
 *		that row security hides no line from them.
 */
#ifndef UNFILTERED_READ_H
#define UNFILTERED_READ_H

typedef struct UnfilteredRead
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
	bool		as_owner;
} UnfilteredRead;

extern void unfiltered_read_begin(UnfilteredRead *state, Oid relid);
extern void unfiltered_read_end(UnfilteredRead *state);

#endif
