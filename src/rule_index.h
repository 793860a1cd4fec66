/*
 * rule_index.h
 *		The relations a rule's check reads, and how: which index serves a
 *		rule, and which partitioning keeps its groups whole.
 */
#ifndef RULE_INDEX_H
#define RULE_INDEX_H

#include "postgres.h"

#include "rule_binding.h"

#include "access/tupdesc.h"
#include "utils/array.h"
#include "utils/relcache.h"

/* A rule's columns by name, which hold across the partitions of a tree. */
typedef struct RuleColumnNames
{
	int			ngroup;
	bool		has_date;
	NameData	code;
	NameData	date;
	bool		has_units;
	NameData	units;
	RuleOptions options;		/* zero for a kind without */
	NameData	groups[MAX_GROUP_COLUMNS];
} RuleColumnNames;

/* A relation whose lines a check reads, with the columns in its own numbering. */
typedef struct ProbeTarget
{
	Oid			relid;
	AttrNumber	code_attno;
	bool		code_is_text;	/* a text column, read as cpt_code input */
	AttrNumber	date_attno;		/* InvalidAttrNumber: no date of service */
	AttrNumber	units_attno;	/* InvalidAttrNumber: none */
	AttrNumber	group_attnos[MAX_GROUP_COLUMNS];
	Oid			indexoid;		/* InvalidOid: no usable index, scan the heap */
	/* for the index scan: which group column each index column holds */
	int			group_of_indexcol[MAX_GROUP_COLUMNS];
	RegProcedure key_proc[MAX_GROUP_COLUMNS];
	Oid			key_subtype[MAX_GROUP_COLUMNS];
	Oid			key_collation[MAX_GROUP_COLUMNS];
	/* the date of service as the index's next key column, for a day's read */
	bool		date_keyed;
	RegProcedure date_key_proc;
	Oid			date_key_subtype;
} ProbeTarget;

/* The current names of b's columns in desc (the relation b was bound on). */
extern void rule_column_names(TupleDesc desc, const BoundRule *b, RuleColumnNames *names);

/*
 * The group columns of a SQL name[] argument: 1 to MAX_GROUP_COLUMNS, none
 * NULL, or ERROR.
 */
extern void rule_group_names_from_array(ArrayType *group_by, RuleColumnNames *names);

/* names' group columns as a name[], and as its text ('{claim_id}'). */
extern Datum rule_group_names_array(const RuleColumnNames *names);
extern char *rule_group_names_text(const RuleColumnNames *names);

/* Fill in t for rel, an open relation holding the named columns. */
extern void rule_probe_target(ProbeTarget *t, Relation rel, const RuleColumnNames *names);

/* The btree equality of a type, or InvalidOid. */
extern Oid	rule_type_equality(Oid type);

/*
 * The one definition of "an index that serves a rule": valid, not partial,
 * btree, its first key columns the group columns in any order, each with the
 * column type's equality and a compatible collation.  Returns InvalidOid
 * when there is none.  When target is given, its scan fields are filled in;
 * of several such indexes, one whose next key column is the target's date
 * of service is preferred (a check of one day's lines reads only those).
 */
extern Oid	rule_usable_index(Relation rel, int ngroup, const AttrNumber *group_attnos,
							  ProbeTarget *target);

/*
 * Does the partitioned table rel route all lines of a group to the same
 * partition?  group_names are the rule's group columns.
 */
extern bool rule_partition_keeps_groups(Relation rel, int ngroup, char **group_names);

/*
 * Does every partitioned table from root down to parent (root itself or
 * one of its partitions) keep each group in one partition?
 */
extern bool rule_levels_keep_groups(Oid root, Oid parent, int ngroup, char **group_names);

#endif							/* RULE_INDEX_H */
