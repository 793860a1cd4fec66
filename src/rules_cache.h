/*
 * rules_cache.h
 *		Backend-local, read-only copy of the add-on code rules, rebuilt from
 *		the rule tables whenever they change.
 */
#ifndef RULES_CACHE_H
#define RULES_CACHE_H

#include "cpt_code.h"
#include "utils/date.h"

/* One acceptable primary for an add-on, over [effective, ends). */
typedef struct PrimaryRule
{
	CptCode		primary;
	DateADT		effective;		/* DATEVAL_NOBEGIN when unbounded */
	DateADT		ends;			/* first day no longer valid; DATEVAL_NOEND if open */
	bool		payer_defined;	/* from cpt_rules.payer_pair, not CMS */
} PrimaryRule;

typedef struct AddonRule
{
	CptCode		addon;
	int16		aoc_type;		/* 1, 2 or 3 */
	DateADT		effective;		/* earliest edit of this add-on */
	DateADT		ends;			/* add-on code deletion date, or DATEVAL_NOEND */
	int			nprimaries;
	PrimaryRule *primaries;		/* sorted by primary code */
} AddonRule;

/* No date given: the dateless forms of the functions ignore dates. */
#define RULES_ANY_DATE	DATEVAL_NOBEGIN

extern const AddonRule *rules_lookup_addon(CptCode code);
extern bool rules_addon_active(const AddonRule *rule, DateADT on_date);
extern bool rules_pairing_valid(const AddonRule *rule, CptCode primary,
								DateADT on_date);
extern bool rules_addon_has_primaries(const AddonRule *rule, DateADT on_date);
extern bool rules_is_addon(CptCode code, DateADT on_date);

/*
 * The rule of the constraint, shared by the trigger and the audit: does line
 * "line" of a group hold an add-on code (in force on its date of service)
 * with no eligible primary among the other lines?  NULL codes are ignored; a
 * NULL dates array or date means "no date of service": dates are ignored.
 */
extern bool rules_line_violates(int line, int nlines, const CptCode *codes,
								const bool *code_isnull,
								const DateADT *dates,
								const bool *date_isnull);

extern void rules_cache_init(void);

#endif							/* RULES_CACHE_H */
