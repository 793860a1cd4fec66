/*
 * citus_meta.h
 *		Citus's metadata, as far as the rule needs it (citus_meta.c).
 */
#ifndef CITUS_META_H
#define CITUS_META_H

#include "postgres.h"

#include "utils/relcache.h"

typedef struct CitusDistribution
{
	char		method;			/* 'h' hash, 'n' none, 'a'/'r' append/range */
	char		replication;	/* 't' for a reference table */
	AttrNumber	column;			/* distribution column, in the table's numbering */
	bool		made_here;		/* distributed (again) by this transaction */
} CitusDistribution;

/* Is relid a Citus table?  If so, how is it distributed? */
extern bool citus_distribution(Oid relid, CitusDistribution *out);

/*
 * The local placement of a reference table: the relation its rows are read
 * from on this node (the table itself keeps what it held when it was made a
 * reference table).  InvalidOid if relid is not a reference table, or, with
 * *is_reference set, if this node holds no placement of it.
 */
extern Oid	citus_reference_placement(Oid relid, bool *is_reference);

/*
 * The relation a rule table (the add-on or MUE edits) is read from on this
 * node: the table itself, or on Citus its local placement (an error where
 * this node holds none).  *is_reference says which.
 */
extern Oid	citus_rule_table_to_read(Oid relid, bool *is_reference);

/* The distributed table rel is a shard of, or InvalidOid. */
extern Oid	citus_shard_table(Relation rel);

#endif							/* CITUS_META_H */
