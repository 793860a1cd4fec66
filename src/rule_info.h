/*
 * rule_info.h
 *		Everything the constraint trigger needs to know about one of its
 *		triggers, resolved once and kept until the catalogs change (the
 *		counterpart of ri_triggers.c's RI_ConstraintInfo).
 */
#ifndef RULE_INFO_H
#define RULE_INFO_H

#include "postgres.h"

#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/relcache.h"

#define MAX_GROUP_COLUMNS 8

/* The WHEN-clause functions that mark a rule's triggers and bind its columns. */
#define RULE_MARK_ARRIVING	"addon_rule_arriving"
#define RULE_MARK_MOVING	"addon_rule_moving"
#define RULE_MARK_LEAVING	"addon_rule_leaving"

/* A relation whose lines a check reads, with the columns in its own numbering. */
typedef struct ProbeTarget
{
	Oid			relid;
	AttrNumber	code_attno;
	AttrNumber	date_attno;		/* InvalidAttrNumber: no date of service */
	AttrNumber	group_attnos[MAX_GROUP_COLUMNS];
	Oid			indexoid;		/* InvalidOid: no usable index, scan the heap */
	/* for the index scan: which group column each index column holds */
	int			group_of_indexcol[MAX_GROUP_COLUMNS];
	RegProcedure key_proc[MAX_GROUP_COLUMNS];
	Oid			key_subtype[MAX_GROUP_COLUMNS];
	Oid			key_collation[MAX_GROUP_COLUMNS];
} ProbeTarget;

typedef struct RuleInfo
{
	Oid			tgoid;			/* hash key: the trigger, clone or not */
	bool		valid;			/* false once a catalog change may affect it */
	MemoryContext cxt;			/* holds targets; freed on rebuild */

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
	AttrNumber	date_attno;
	AttrNumber	group_attnos[MAX_GROUP_COLUMNS];
	Oid			group_types[MAX_GROUP_COLUMNS];
	Oid			group_collations[MAX_GROUP_COLUMNS];
	FmgrInfo	group_eq[MAX_GROUP_COLUMNS];	/* the type's btree equality */

	/*
	 * Relations to read, the trigger's own relation first.  A partition whose
	 * partition key lies inside the group key holds its groups whole, so
	 * then it is the only one.
	 */
	int			ntargets;
	ProbeTarget *targets;

	/*
	 * The partitioned tables whose partition lists decide the targets: the
	 * ancestors up to the rule's root and every partitioned table below the
	 * subtree read.  A partition attached to or detached from any of them,
	 * at any depth, invalidates the rule.
	 */
	int			nparents;
	Oid		   *parents;

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
 * a check that takes a new lock must test ->valid afterwards and start again
 * if it went false.
 */
extern RuleInfo *rule_info_get(Trigger *trigger, Relation rel);

/*
 * The rule a trigger belongs to, its role in it ("arriving", "moving",
 * "leaving", or "legacy" for a 1.1 trigger), and the current names of the
 * rule's columns.
 */
extern void rule_info_describe(Oid tgoid, char **rulename, const char **role,
							   char **code, char **date, List **groups);

/* The btree equality of a type, or InvalidOid. */
extern Oid	rule_type_equality(Oid type);

/*
 * Does the partitioned table rel route all lines of a group to the same
 * partition?  group_names are the rule's group columns.
 */
extern bool rule_partition_keeps_groups(Relation rel, int ngroup, char **group_names);

extern void rule_info_init(void);

/*
 * The one definition of "an index that serves a rule": valid, not partial,
 * btree, its first key columns the group columns in any order, each with the
 * column type's equality and a compatible collation.  Returns InvalidOid
 * when there is none.  When target is given, its scan fields are filled in.
 */
extern Oid	rule_usable_index(Relation rel, int ngroup, const AttrNumber *group_attnos,
							  ProbeTarget *target);

extern Oid	cpt_code_type_oid(void);

/* Is this function the rule's constraint trigger, cpt_rules.addon_rule_trigger()? */
extern bool rule_trigger_function(Oid fn);

#endif							/* RULE_INFO_H */
