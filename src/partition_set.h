/*
 * partition_set.h
 *		The leaf partitions a rule's check reads in one partition tree,
 *		shared by every trigger of the rules on that tree in a backend.
 */
#ifndef PARTITION_SET_H
#define PARTITION_SET_H

#include "postgres.h"

#include "rule_index.h"

typedef struct PartitionSetKey
{
	Oid			subtree;		/* the partitioned table whose leaves are read */
	RuleColumnNames names;
} PartitionSetKey;

typedef struct PartitionSet
{
	PartitionSetKey key;		/* hash key */
	bool		valid;			/* false once the tree may have changed */
	uint64		generation;		/* bumped by each build */
	MemoryContext cxt;

	/*
	 * Every leaf, the subtree's own leaf partitions first in their bound
	 * order, then the leaves of partitioned partitions.  A target is filled
	 * in when a check first reads it, and again after a change to it (an
	 * index made or dropped): a check that stops in the trigger's own
	 * partition never opens the others.
	 */
	int			ntargets;
	int			ndirect;
	ProbeTarget *targets;
	bool	   *filled;
	Oid		   *sorted_relids;	/* targets' relids, sorted, for lookups */
	int		   *sorted_pos;		/* and where each one is in targets */

	/* partitioned tables of the subtree, the subtree first; sorted */
	int			nparents;
	Oid		   *parents;
} PartitionSet;

/* The set of subtree for a rule with these columns, built if need be. */
extern PartitionSet *partition_set_get(Oid subtree, const RuleColumnNames *names);

/* Where relid is in set->targets, or -1. */
extern int	partition_set_position(const PartitionSet *set, Oid relid);

/*
 * The index into set->targets of the t-th relation a check from the leaf at
 * own_pos reads: the leaf itself (t = 0), then its siblings by nearness in
 * the bound order, the one before first, then the one after (a claim whose
 * lines span range partitions, months of service, most often spans
 * neighbouring ones), then the leaves further down.
 */
extern int	partition_set_nth(const PartitionSet *set, int own_pos, int t);

/* Target pos, filled in; rel is it, open and locked. */
extern ProbeTarget *partition_set_target(PartitionSet *set, int pos, Relation rel);

/* A relcache invalidation of relid (InvalidOid: of every relation). */
extern void partition_set_relation_changed(Oid relid);

#endif							/* PARTITION_SET_H */
