/*
 * rule_info.h
 *		Everything the constraint trigger needs to know about one of its
 *		triggers, resolved once and kept until the catalogs change (the
 *		counterpart of ri_triggers.c's RI_ConstraintInfo).
 */
#ifndef RULE_INFO_H
#define RULE_INFO_H

#include "postgres.h"

#include "partition_set.h"
#include "rule_binding.h"
#include "rule_index.h"

#include "commands/trigger.h"
#include "fmgr.h"
#include "lib/ilist.h"
#include "utils/relcache.h"

typedef struct RuleInfo
{
	Oid			tgoid;			/* hash key: the trigger, clone or not */
	bool		valid;			/* false once a catalog change may affect it */
	dlist_node	valid_link;		/* in the list of valid entries */
	MemoryContext cxt;

	const struct RuleKind *kind;	/* what the rule checks (rule_kind.h) */
	Oid			relid;			/* the relation the trigger fires on */
	Oid			rootid;			/* the relation the rule was attached to */
	Oid			shard_of;		/* on Citus, the distributed table of a shard */
	NameData	rulename;		/* constraint name in errors */
	bool		checks_arrivals;	/* a line arriving in a group as an add-on */
	bool		checks_departures;	/* a line leaving a group */
	bool		when_compares;	/* the WHEN clause filters unchanged UPDATEs */

	/* columns, numbered as in relid */
	int			ngroup;
	AttrNumber	code_attno;
	bool		code_is_text;	/* a text column, read as cpt_code input */
	AttrNumber	date_attno;
	AttrNumber	units_attno;	/* of a kind with units */
	Oid			units_type;		/* the number type it is (or is over) */
	RuleOptions options;		/* of a kind with options */
	AttrNumber	group_attnos[MAX_GROUP_COLUMNS];
	Oid			group_types[MAX_GROUP_COLUMNS];
	Oid			group_collations[MAX_GROUP_COLUMNS];
	FmgrInfo	group_eq[MAX_GROUP_COLUMNS];	/* the type's btree equality */
	bool		group_hashable[MAX_GROUP_COLUMNS];
	FmgrInfo	group_hash[MAX_GROUP_COLUMNS];	/* its hash, where it has one */

	/*
	 * Relations to read, the trigger's own relation first.  A partition whose
	 * partition key lies inside the group key holds its groups whole, so
	 * then it is the only one (own); otherwise they are the leaves of the
	 * smallest subtree that holds groups whole, shared with every other
	 * trigger on it (set), read from own_pos outwards.
	 */
	int			ntargets;
	ProbeTarget own;
	PartitionSet *set;
	uint64		set_generation;
	int			own_pos;

	/*
	 * The ancestors up to the rule's root, whose partition keys decided the
	 * subtree: a change to any of them invalidates the rule.
	 */
	int			nancestors;
	Oid		   *ancestors;

	/*
	 * How the neighbour probe of group_check.c fares on this relation: it
	 * is tried while it finds primaries, and only now and then once it has
	 * missed many times in a row (a table whose claims are stored apart).
	 */
	int			probe_misses;	/* in a row */
	uint32		probes_skipped;
} RuleInfo;

/*
 * The rule of a trigger call.  The result stays usable until the next call;
 * a check that takes a new lock must test rule_info_current() afterwards
 * and start again if it went false.
 */
extern RuleInfo *rule_info_get(Trigger *trigger, Relation rel);

static inline bool
rule_info_current(const RuleInfo *info)
{
	return info->valid &&
		(info->set == NULL ||
		 (info->set->valid && info->set->generation == info->set_generation));
}

/* Make the next rule_info_get build it again. */
extern void rule_info_forget(RuleInfo *info);

/* The relid of the t-th relation a check reads, 0 <= t < ntargets. */
static inline Oid
rule_target_relid(const RuleInfo *info, int t)
{
	if (info->set == NULL)
		return info->own.relid;
	return info->set->targets[partition_set_nth(info->set, info->own_pos, t)].relid;
}

/* The t-th relation a check reads, once rule_target_open has opened it. */
static inline ProbeTarget *
rule_target(RuleInfo *info, int t)
{
	if (info->set == NULL)
		return &info->own;
	return &info->set->targets[partition_set_nth(info->set, info->own_pos, t)];
}

/* Resolve the t-th relation's scan details; trel is it, open and locked. */
extern ProbeTarget *rule_target_open(RuleInfo *info, int t, Relation trel);

extern void rule_info_init(void);

/* A relcache invalidation of relid (InvalidOid: of every relation). */
extern void rule_info_relation_changed(Oid relid);

#endif							/* RULE_INFO_H */
