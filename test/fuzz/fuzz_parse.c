/*
 * fuzz_parse.c
 *		Fuzz harness for the procedure-code parser (src/cpt_code_parse.c).
 *
 * Build (clang):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *         -Isrc test/fuzz/fuzz_parse.c src/cpt_code_parse.c -o fuzz_parse
 *
 * Every input is fed to cpt_code_parse the ways the server does:
 *   - binary receive: the raw bytes with their explicit length (embedded NULs
 *     and all), from a buffer of exactly that size so the sanitizer catches
 *     any read past the end;
 *   - text input: a NUL-terminated copy, length taken with strlen, so only
 *     the bytes before the first NUL count.
 * and the result is checked against the properties below; any violation
 * calls abort(), which the fuzzer reports as a crash with the input saved.
 *
 * Properties, for each call:
 *   - the result is one of the five CptParseResult values;
 *   - the result agrees with an independent reference model of the grammar
 *     (trim ASCII whitespace; empty -> EMPTY; a byte outside [0-9A-Za-z] ->
 *     BAD_CHARACTER; not 5 characters -> BAD_LENGTH; wrong shape ->
 *     BAD_PATTERN);
 *   - if accepted: cpt_code_format(packed) is 5 characters of [0-9A-Z] plus
 *     NUL, equal to the input trimmed and upper-cased; parse(format(packed))
 *     gives packed again; cpt_code_set_of(packed) is not CPT_SET_INVALID and
 *     is the set the reference model predicts; packed < 2^30;
 *   - if rejected: the caller does not need the packed output, so the
 *     harness never reads it as a code; it only checks that the sentinel it
 *     passed in was left alone (the parser writes *packed on success only);
 *   - the result does not change when the input is upper-cased or wrapped in
 *     more whitespace (metamorphic checks).
 * The first four bytes are also used as an arbitrary packed value to check
 * that cpt_code_format and cpt_code_set_of are safe and consistent on
 * corrupt data.
 */
#include "cpt_code_parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SENTINEL 0xA5A5A5A5u

#define CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "property violated at %s:%d: %s\n", \
					__FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

/* ---------------- independent reference model ---------------- */

static int
ref_space(unsigned char c)
{
	/* ASCII whitespace: space, \t \n \v \f \r */
	return c == 0x20 || (c >= 0x09 && c <= 0x0D);
}

static int
ref_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
		(c >= 'a' && c <= 'z');
}

static unsigned char
ref_upper(unsigned char c)
{
	return (c >= 'a' && c <= 'z') ? (unsigned char) (c - 32) : c;
}

static int
ref_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Expected result for len bytes at s; on OK also the canonical text
 * (canon[6]) and the expected code set.
 */
static CptParseResult
reference(const unsigned char *s, size_t len, char *canon, CptCodeSet *set)
{
	size_t		a = 0,
				b = len;

	while (a < b && ref_space(s[a]))
		a++;
	while (b > a && ref_space(s[b - 1]))
		b--;
	if (a == b)
		return CPT_PARSE_EMPTY;
	for (size_t i = a; i < b; i++)
		if (!ref_alnum(s[i]))
			return CPT_PARSE_BAD_CHARACTER;
	if (b - a != CPT_CODE_LEN)
		return CPT_PARSE_BAD_LENGTH;
	for (int i = 0; i < CPT_CODE_LEN; i++)
		canon[i] = (char) ref_upper(s[a + i]);
	canon[CPT_CODE_LEN] = '\0';

	if (!ref_digit(canon[1]) || !ref_digit(canon[2]) || !ref_digit(canon[3]))
		return CPT_PARSE_BAD_PATTERN;
	if (ref_digit(canon[0]))
	{
		switch (canon[4])
		{
			case 'A':
				*set = CPT_SET_CATEGORY_I;
				return CPT_PARSE_OK;
			case 'F':
				*set = CPT_SET_CATEGORY_II;
				return CPT_PARSE_OK;
			case 'T':
				*set = CPT_SET_CATEGORY_III;
				return CPT_PARSE_OK;
			case 'U':
				*set = CPT_SET_PLA;
				return CPT_PARSE_OK;
			case 'M':
				*set = CPT_SET_MAAA;
				return CPT_PARSE_OK;
			default:
				if (ref_digit(canon[4]))
				{
					*set = CPT_SET_CATEGORY_I;
					return CPT_PARSE_OK;
				}
				return CPT_PARSE_BAD_PATTERN;
		}
	}
	if (ref_digit(canon[4]))
	{
		*set = CPT_SET_HCPCS_LEVEL_II;
		return CPT_PARSE_OK;
	}
	return CPT_PARSE_BAD_PATTERN;
}

/* ---------------- checks ---------------- */

/* Parse len bytes at buf, check every property, return the result/value. */
static CptParseResult
check_parse(const char *buf, size_t len, uint32_t *out_packed)
{
	uint32_t	packed = SENTINEL;
	CptParseResult r = cpt_code_parse(buf, len, &packed);
	char		canon[CPT_CODE_LEN + 1] = {0};
	CptCodeSet	ref_set = CPT_SET_INVALID;
	CptParseResult ref = reference((const unsigned char *) buf, len,
								   canon, &ref_set);

	CHECK(r == CPT_PARSE_OK || r == CPT_PARSE_EMPTY ||
		  r == CPT_PARSE_BAD_LENGTH || r == CPT_PARSE_BAD_CHARACTER ||
		  r == CPT_PARSE_BAD_PATTERN);
	CHECK(r == ref);
	CHECK(cpt_parse_result_text(r) != NULL);

	if (r == CPT_PARSE_OK)
	{
		char		out[CPT_CODE_LEN + 2];
		uint32_t	again = SENTINEL;

		CHECK(packed < (1u << 30));

		memset(out, 0x7F, sizeof(out));
		cpt_code_format(packed, out);
		for (int i = 0; i < CPT_CODE_LEN; i++)
			CHECK((out[i] >= '0' && out[i] <= '9') ||
				  (out[i] >= 'A' && out[i] <= 'Z'));
		CHECK(out[CPT_CODE_LEN] == '\0');
		CHECK((unsigned char) out[CPT_CODE_LEN + 1] == 0x7F);	/* 6 bytes only */
		CHECK(memcmp(out, canon, CPT_CODE_LEN + 1) == 0);

		CHECK(cpt_code_parse(out, CPT_CODE_LEN, &again) == CPT_PARSE_OK);
		CHECK(again == packed);
		CHECK(cpt_code_set_of(packed) != CPT_SET_INVALID);
		CHECK(cpt_code_set_of(packed) == ref_set);
		CHECK(cpt_code_set_name(cpt_code_set_of(packed)) != NULL);
	}
	else
		CHECK(packed == SENTINEL);

	*out_packed = (r == CPT_PARSE_OK) ? packed : SENTINEL;
	return r;
}

/* An arbitrary 32-bit value: format and set_of must be safe and agree. */
static void
check_packed_value(uint32_t v)
{
	char		out[CPT_CODE_LEN + 1];
	CptCodeSet	set = cpt_code_set_of(v);

	cpt_code_format(v, out);
	CHECK(out[CPT_CODE_LEN] == '\0');
	for (int i = 0; i < CPT_CODE_LEN; i++)
		CHECK((out[i] >= '0' && out[i] <= '9') ||
			  (out[i] >= 'A' && out[i] <= 'Z') || out[i] == '?');
	CHECK(set >= CPT_SET_INVALID && set <= CPT_SET_HCPCS_LEVEL_II);
	if (set != CPT_SET_INVALID)
	{
		uint32_t	p = SENTINEL;

		CHECK(v < (1u << 30));
		CHECK(cpt_code_parse(out, CPT_CODE_LEN, &p) == CPT_PARSE_OK);
		CHECK(p == v);
	}
	else if (v < (1u << 30) && strchr(out, '?') == NULL)
	{
		uint32_t	p = SENTINEL;

		/* right alphabet and length: the text must be rejected by shape */
		CHECK(cpt_code_parse(out, CPT_CODE_LEN, &p) == CPT_PARSE_BAD_PATTERN);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *raw;
	char	   *text;
	char	   *variant;
	size_t		text_len;
	uint32_t	p_raw,
				p_text,
				p_var;
	CptParseResult r_raw,
				r_text,
				r_var;

	/* 1. binary receive path: raw bytes, explicit length, exact-size buffer */
	raw = malloc(size ? size : 1);
	if (raw == NULL)
		return 0;
	if (size)
		memcpy(raw, data, size);
	r_raw = check_parse(raw, size, &p_raw);

	/* 2. text input path: NUL-terminated copy, length by strlen */
	text = malloc(size + 1);
	if (text == NULL)
	{
		free(raw);
		return 0;
	}
	if (size)
		memcpy(text, data, size);
	text[size] = '\0';
	text_len = strlen(text);
	r_text = check_parse(text, text_len, &p_text);
	if (text_len == size)
	{
		/* no embedded NUL: both paths see the same bytes */
		CHECK(r_text == r_raw);
		CHECK(p_text == p_raw);
	}
	else
	{
		/*
		 * An embedded NUL reaches the parser only through binary receive.
		 * NUL is not whitespace, so it is never trimmed away: the raw bytes
		 * must be rejected for their alphabet.
		 */
		CHECK(r_raw == CPT_PARSE_BAD_CHARACTER);
	}

	/* 3. metamorphic: upper-casing and extra surrounding whitespace */
	variant = malloc(size + 4);
	if (variant != NULL)
	{
		static const char ws[] = " \t\n\r\v\f";

		variant[0] = ws[size % 6];
		variant[1] = ' ';
		for (size_t i = 0; i < size; i++)
			variant[2 + i] = (char) ref_upper(data[i]);
		variant[size + 2] = ws[(size / 6) % 6];
		variant[size + 3] = '\n';

		r_var = check_parse(variant, size + 4, &p_var);
		/* all-whitespace input stays EMPTY; everything else is unchanged */
		CHECK(r_var == r_raw);
		CHECK(p_var == p_raw);
		free(variant);
	}

	/* 4. the first four bytes as an arbitrary (possibly corrupt) packed value */
	if (size >= 4)
	{
		uint32_t	v;

		memcpy(&v, data, 4);
		check_packed_value(v);
		check_packed_value(v & 0x3FFFFFFFu);
	}

	free(text);
	free(raw);
	return 0;
}
