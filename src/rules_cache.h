/*
 * rules_cache.h
 *		Backend-local, read-only copy of the add-on code rules, rebuilt from
 *		the rule tables whenever they change.
 */
#ifndef RULES_CACHE_H
#define RULES_CACHE_H

#include "cpt_code.h"
#include "common/hashfn.h"
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

/*
 * The lookup table.  It is read once per row in large scans, so the lookup
 * is inline: a presence filter rejects most codes that are not add-ons with
 * one memory load, and the rest probe an open-addressing table.
 */
#define RULES_EMPTY_SLOT	0xFFFFFFFFu	/* packed codes use 30 bits */
#define RULES_FILTER_BITS	65536

typedef struct RulesTable
{
	bool		valid;
	int			naddons;		/* add-on codes in the table */
	uint32		mask;			/* capacity - 1, capacity a power of 2 */
	const uint32 *keys;			/* add-on code or RULES_EMPTY_SLOT */
	const AddonRule *slots;
	uint64		filter[RULES_FILTER_BITS / 64];	/* bit set for every add-on */
	bool		on_every_node;	/* read from Citus reference placements */
} RulesTable;

extern RulesTable rules_table;
extern void rules_cache_rebuild(void);

/* The slot holding code, or the empty slot where it would go. */
static inline uint32
rules_probe(const uint32 *keys, uint32 mask, CptCode code)
{
	uint32		i = murmurhash32(code) & mask;

	while (keys[i] != code && keys[i] != RULES_EMPTY_SLOT)
		i = (i + 1) & mask;
	return i;
}

static inline const AddonRule *
rules_lookup_addon(CptCode code)
{
	uint32		bit = murmurhash32(code) >> 16;
	uint32		i;

	if (unlikely(!rules_table.valid))
		rules_cache_rebuild();
	if (!(rules_table.filter[bit / 64] & (UINT64CONST(1) << (bit % 64))))
		return NULL;
	i = rules_probe(rules_table.keys, rules_table.mask, code);
	return rules_table.keys[i] == code ? &rules_table.slots[i] : NULL;
}

static inline bool
rules_addon_active(const AddonRule *rule, DateADT on_date)
{
	if (on_date == RULES_ANY_DATE)
		return true;
	return rule->effective <= on_date && on_date < rule->ends;
}

static inline bool
rules_is_addon(CptCode code, DateADT on_date)
{
	const AddonRule *rule = rules_lookup_addon(code);

	return rule != NULL && rules_addon_active(rule, on_date);
}

extern bool rules_pairing_valid(const AddonRule *rule, CptCode primary,
								DateADT on_date);
extern bool rules_addon_has_primaries(const AddonRule *rule, DateADT on_date);

/*
 * Can a line holding code stand as the primary of an add-on under rule, on
 * the add-on's date?  any_listed is rules_addon_needs_listed(): a Type 2
 * add-on with no primaries defined by the payer accepts any line that is
 * not itself an add-on.
 */
static inline bool
rules_addon_needs_listed(const AddonRule *rule, DateADT on_date)
{
	return rule->aoc_type != 2 || rules_addon_has_primaries(rule, on_date);
}

static inline bool
rules_primary_eligible(const AddonRule *rule, bool any_listed, CptCode code,
					   DateADT on_date)
{
	return any_listed ? rules_pairing_valid(rule, code, on_date)
		: !rules_is_addon(code, on_date);
}

/*
 * The rule of the constraint, shared by the trigger and the audit: line
 * "line" of a group holds an add-on code (in force on its date of service)
 * and needs an eligible primary among the other lines.  Returns the index of
 * the first such primary, RULES_LINE_NEEDS_NONE when the line is not an
 * add-on, or RULES_LINE_VIOLATES.  NULL codes are ignored; a NULL dates
 * array or date means "no date of service": dates are ignored.
 */
#define RULES_LINE_NEEDS_NONE	(-1)
#define RULES_LINE_VIOLATES		(-2)

extern int	rules_line_primary(int line, int nlines, const CptCode *codes,
							   const bool *code_isnull, const DateADT *dates,
							   const bool *date_isnull);

static inline bool
rules_line_violates(int line, int nlines, const CptCode *codes,
					const bool *code_isnull, const DateADT *dates,
					const bool *date_isnull)
{
	return rules_line_primary(line, nlines, codes, code_isnull, dates,
							  date_isnull) == RULES_LINE_VIOLATES;
}

/*
 * Make changes to the rules committed by other sessions visible now, as a
 * new catalog snapshot would.
 */
extern void rules_cache_refresh(void);

/*
 * An add-on line dated -infinity or infinity: the rules are periods of
 * finite dates, so such a line can be neither accepted nor rejected.
 */
extern void rules_reject_infinite_date_slow(CptCode addon, DateADT on_date);

static inline void
rules_reject_infinite_date(CptCode addon, DateADT on_date)
{
	if (unlikely(DATE_NOT_FINITE(on_date)))
		rules_reject_infinite_date_slow(addon, on_date);
}

extern void rules_cache_init(void);

/* A relcache invalidation of relid (InvalidOid: of every relation). */
extern void rules_cache_relation_changed(Oid relid);

#endif							/* RULES_CACHE_H */
