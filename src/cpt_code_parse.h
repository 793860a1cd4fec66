/*
 * cpt_code_parse.h
 *		Parsing and formatting of HCPCS procedure codes, free of server
 *		dependencies so that it can be unit-tested and fuzzed on its own.
 *
 * A code is five characters from [0-9A-Z].  It is packed six bits per
 * character (digits 0-9, letters 10-35), most significant character first,
 * so comparing packed values as integers orders codes exactly as their
 * canonical text sorts under the C collation.
 */
#ifndef CPT_CODE_PARSE_H
#define CPT_CODE_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define CPT_CODE_LEN 5

/* Code sets, in the order a coder lists them. */
typedef enum CptCodeSet
{
	CPT_SET_INVALID = 0,
	CPT_SET_CATEGORY_I,			/* 5 digits, or 4 digits + A */
	CPT_SET_CATEGORY_II,		/* 4 digits + F */
	CPT_SET_CATEGORY_III,		/* 4 digits + T */
	CPT_SET_PLA,				/* 4 digits + U */
	CPT_SET_MAAA,				/* 4 digits + M */
	CPT_SET_HCPCS_LEVEL_II		/* letter + 4 digits */
} CptCodeSet;

typedef enum CptParseResult
{
	CPT_PARSE_OK = 0,
	CPT_PARSE_EMPTY,			/* nothing but whitespace */
	CPT_PARSE_BAD_LENGTH,		/* not five characters after trimming */
	CPT_PARSE_BAD_CHARACTER,	/* a character outside [0-9A-Za-z] */
	CPT_PARSE_BAD_PATTERN		/* right alphabet, wrong shape */
} CptParseResult;

/*
 * Parse len bytes at str (need not be NUL-terminated; embedded NULs are
 * rejected).  Leading and trailing ASCII whitespace is ignored and letters
 * may be lower case.  On success *packed holds the packed code.
 */
extern CptParseResult cpt_code_parse(const char *str, size_t len,
									 uint32_t *packed);

/*
 * Each byte as a code character: 1 + its value (0-9, then A-Z and a-z as
 * 10-35), CPT_CHAR_SPACE for ASCII whitespace as isspace() sees it in the C
 * locale, 0 for anything else.
 */
#define CPT_CHAR_SPACE 0x40
extern const unsigned char cpt_code_char_table[256];

/*
 * The common case of cpt_code_parse(), five characters without blanks, in
 * straight-line code that callers inline: a rule on a text column parses
 * every row's code.  False when cpt_code_parse() must decide (and say why
 * the value is no code).
 */
static inline bool
cpt_code_parse_five(const char *str, uint32_t *packed)
{
	const unsigned char *s = (const unsigned char *) str;
	/* each character's value, or above 35 when it is none (0 - 1 wraps) */
	unsigned	d0 = (unsigned) cpt_code_char_table[s[0]] - 1;
	unsigned	d1 = (unsigned) cpt_code_char_table[s[1]] - 1;
	unsigned	d2 = (unsigned) cpt_code_char_table[s[2]] - 1;
	unsigned	d3 = (unsigned) cpt_code_char_table[s[3]] - 1;
	unsigned	d4 = (unsigned) cpt_code_char_table[s[4]] - 1;

	if (d1 > 9 || d2 > 9 || d3 > 9 || d0 > 35 || d4 > 35)
		return false;
	/* digits then A, F, T, U or M (CPT I, II, III, PLA, MAAA); a letter then digits */
	if (d0 <= 9 ? !(d4 <= 10 || d4 == 15 || d4 == 29 || d4 == 30 || d4 == 22) : d4 > 9)
		return false;
	*packed = d0 << 24 | d1 << 18 | d2 << 12 | d3 << 6 | d4;
	return true;
}

/* Write the canonical five characters plus a NUL into out[6]. */
extern void cpt_code_format(uint32_t packed, char *out);

/* Which code set a packed value belongs to; CPT_SET_INVALID if none. */
extern CptCodeSet cpt_code_set_of(uint32_t packed);

/* Human-readable name of a code set, e.g. "CPT Category I". */
extern const char *cpt_code_set_name(CptCodeSet set);

/* Short description of a parse failure, for error details. */
extern const char *cpt_parse_result_text(CptParseResult result);

#endif							/* CPT_CODE_PARSE_H */
