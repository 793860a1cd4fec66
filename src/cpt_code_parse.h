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
	CPT_SET_CATEGORY_I,			/* 5 digits */
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

/* Write the canonical five characters plus a NUL into out[6]. */
extern void cpt_code_format(uint32_t packed, char *out);

/* Which code set a packed value belongs to; CPT_SET_INVALID if none. */
extern CptCodeSet cpt_code_set_of(uint32_t packed);

/* Human-readable name of a code set, e.g. "CPT Category I". */
extern const char *cpt_code_set_name(CptCodeSet set);

/* Short description of a parse failure, for error details. */
extern const char *cpt_parse_result_text(CptParseResult result);

#endif							/* CPT_CODE_PARSE_H */
