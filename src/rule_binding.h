/*
 * rule_binding.h
 *		A rule's trigger, read: its name, the events it checks, and its
 *		columns by attribute number.
 */
#ifndef RULE_BINDING_H
#define RULE_BINDING_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "utils/relcache.h"

#define MAX_GROUP_COLUMNS 8

/*
 * The WHEN-clause functions that mark a rule's triggers and bind its
 * columns.  Their arguments are (code, date, group...), the date a NULL
 * constant for a rule without one; the "moving" marker takes each column
 * as an (OLD, NEW) pair.
 */
#define RULE_MARK_ARRIVING	"addon_rule_arriving"
#define RULE_MARK_MOVING	"addon_rule_moving"
#define RULE_MARK_LEAVING	"addon_rule_leaving"

typedef struct BoundRule
{
	NameData	rulename;
	bool		arrivals;		/* a line arriving in a group */
	bool		departures;		/* a line leaving a group */
	bool		when_compares;	/* the WHEN clause filters unchanged UPDATEs */
	bool		by_name;		/* a 1.1 trigger */
	int			ngroup;
	AttrNumber	code_attno;
	AttrNumber	date_attno;		/* InvalidAttrNumber: no date of service */
	AttrNumber	group_attnos[MAX_GROUP_COLUMNS];
} BoundRule;

/* Read a rule trigger's WHEN clause (or 1.1 arguments); ERROR if it is none. */
extern void rule_bind(const char *tgqual, int nargs, char **args, const char *tgname,
					  int16 tgtype, Oid relid, BoundRule *out);

/* ERROR unless the code column is a cpt_code and the date column a date. */
extern void rule_check_column_types(Relation rel, const BoundRule *b);

/*
 * The rule a trigger belongs to, its role in it ("arriving", "moving",
 * "leaving", or "legacy" for a 1.1 trigger), and the current names of the
 * rule's columns.
 */
extern void rule_describe(Oid tgoid, char **rulename, const char **role,
						  char **code, char **date, List **groups);

extern Oid	cpt_code_type_oid(void);

/*
 * For a pg_type invalidation: was it (or may it have been) the cpt_code
 * type?  Then its OID is looked up again when next needed.
 */
extern bool cpt_code_type_changed(uint32 hashvalue);

/* Is this function the rule's constraint trigger, cpt_rules.addon_rule_trigger()? */
extern bool rule_trigger_function(Oid fn);

#endif							/* RULE_BINDING_H */
