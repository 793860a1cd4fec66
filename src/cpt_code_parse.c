/*
 * cpt_code_parse.c
 *		Server-independent parsing and formatting of HCPCS procedure codes.
 *
 * Kept free of PostgreSQL headers on purpose: the fuzz harness links this
 * file alone.
 */
#include "cpt_code_parse.h"

#define BITS_PER_CHAR 6
#define CHAR_MASK 0x3F

/* cpt_code_parse.h says what each entry holds. */
const unsigned char cpt_code_char_table[256] = {
	[' '] = CPT_CHAR_SPACE, ['\t'] = CPT_CHAR_SPACE, ['\n'] = CPT_CHAR_SPACE, ['\r'] = CPT_CHAR_SPACE, ['\f'] = CPT_CHAR_SPACE, ['\v'] = CPT_CHAR_SPACE,
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16, ['G'] = 17, ['H'] = 18, ['I'] = 19, ['J'] = 20, ['K'] = 21, ['L'] = 22, ['M'] = 23,
	['N'] = 24, ['O'] = 25, ['P'] = 26, ['Q'] = 27, ['R'] = 28, ['S'] = 29, ['T'] = 30, ['U'] = 31, ['V'] = 32, ['W'] = 33, ['X'] = 34, ['Y'] = 35, ['Z'] = 36,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16, ['g'] = 17, ['h'] = 18, ['i'] = 19, ['j'] = 20, ['k'] = 21, ['l'] = 22, ['m'] = 23,
	['n'] = 24, ['o'] = 25, ['p'] = 26, ['q'] = 27, ['r'] = 28, ['s'] = 29, ['t'] = 30, ['u'] = 31, ['v'] = 32, ['w'] = 33, ['x'] = 34, ['y'] = 35, ['z'] = 36,
};


static inline bool
is_space(unsigned char c)
{
	return cpt_code_char_table[c] == CPT_CHAR_SPACE;
}

/* Map [0-9A-Za-z] to 0..35, anything else to -1. */
static inline int
char_to_digit(unsigned char c)
{
	unsigned char v = cpt_code_char_table[c];

	return v == 0 || v == CPT_CHAR_SPACE ? -1 : v - 1;
}

static inline bool
is_num(int d)
{
	return d >= 0 && d <= 9;
}

/* Classify five character values (0..35 each). */
static CptCodeSet
classify(const int d[CPT_CODE_LEN])
{
	bool		middle_numeric = is_num(d[1]) && is_num(d[2]) && is_num(d[3]);

	if (!middle_numeric)
		return CPT_SET_INVALID;

	if (is_num(d[0]))
	{
		if (is_num(d[4]))
			return CPT_SET_CATEGORY_I;
		switch (d[4] - 10 + 'A')
		{
			case 'A':
				/* vaccine administration (0001A and on) */
				return CPT_SET_CATEGORY_I;
			case 'F':
				return CPT_SET_CATEGORY_II;
			case 'T':
				return CPT_SET_CATEGORY_III;
			case 'U':
				return CPT_SET_PLA;
			case 'M':
				return CPT_SET_MAAA;
			default:
				return CPT_SET_INVALID;
		}
	}
	/* a letter first: HCPCS Level II needs four digits after it */
	return is_num(d[4]) ? CPT_SET_HCPCS_LEVEL_II : CPT_SET_INVALID;
}

CptParseResult
cpt_code_parse(const char *str, size_t len, uint32_t *packed)
{
	const unsigned char *s = (const unsigned char *) str;
	size_t		start = 0;
	size_t		end = len;
	int			d[CPT_CODE_LEN];
	uint32_t	value = 0;

	if (len == CPT_CODE_LEN && cpt_code_parse_five(str, packed))
		return CPT_PARSE_OK;

	while (start < end && is_space(s[start]))
		start++;
	while (end > start && is_space(s[end - 1]))
		end--;

	if (start == end)
		return CPT_PARSE_EMPTY;

	if (end - start != CPT_CODE_LEN)
	{
		/* the alphabet first, so that "2093é" reports the character, not the length */
		for (size_t i = start; i < end; i++)
			if (char_to_digit(s[i]) < 0)
				return CPT_PARSE_BAD_CHARACTER;
		return CPT_PARSE_BAD_LENGTH;
	}

	for (int i = 0; i < CPT_CODE_LEN; i++)
	{
		d[i] = char_to_digit(s[start + i]);
		if (d[i] < 0)
			return CPT_PARSE_BAD_CHARACTER;
		value = (value << BITS_PER_CHAR) | (uint32_t) d[i];
	}

	if (classify(d) == CPT_SET_INVALID)
		return CPT_PARSE_BAD_PATTERN;

	*packed = value;
	return CPT_PARSE_OK;
}

static void
unpack(uint32_t packed, int d[CPT_CODE_LEN])
{
	for (int i = CPT_CODE_LEN - 1; i >= 0; i--)
	{
		d[i] = (int) (packed & CHAR_MASK);
		packed >>= BITS_PER_CHAR;
	}
}

void
cpt_code_format(uint32_t packed, char *out)
{
	int			d[CPT_CODE_LEN];

	unpack(packed, d);
	for (int i = 0; i < CPT_CODE_LEN; i++)
	{
		/* out-of-range values only come from corrupt data; show them as '?' */
		if (d[i] < 10)
			out[i] = (char) ('0' + d[i]);
		else if (d[i] < 36)
			out[i] = (char) ('A' + d[i] - 10);
		else
			out[i] = '?';
	}
	out[CPT_CODE_LEN] = '\0';
}

CptCodeSet
cpt_code_set_of(uint32_t packed)
{
	int			d[CPT_CODE_LEN];

	if (packed >> (BITS_PER_CHAR * CPT_CODE_LEN))
		return CPT_SET_INVALID;
	unpack(packed, d);
	for (int i = 0; i < CPT_CODE_LEN; i++)
		if (d[i] > 35)
			return CPT_SET_INVALID;
	return classify(d);
}

const char *
cpt_code_set_name(CptCodeSet set)
{
	switch (set)
	{
		case CPT_SET_CATEGORY_I:
			return "CPT Category I";
		case CPT_SET_CATEGORY_II:
			return "CPT Category II";
		case CPT_SET_CATEGORY_III:
			return "CPT Category III";
		case CPT_SET_PLA:
			return "CPT PLA";
		case CPT_SET_MAAA:
			return "CPT MAAA";
		case CPT_SET_HCPCS_LEVEL_II:
			return "HCPCS Level II";
		case CPT_SET_INVALID:
			break;
	}
	return "invalid";
}

const char *
cpt_parse_result_text(CptParseResult result)
{
	switch (result)
	{
		case CPT_PARSE_OK:
			return "valid";
		case CPT_PARSE_EMPTY:
			return "the value is empty";
		case CPT_PARSE_BAD_LENGTH:
			return "a code has exactly five characters";
		case CPT_PARSE_BAD_CHARACTER:
			return "a code contains only the ASCII letters A-Z and digits 0-9";
		case CPT_PARSE_BAD_PATTERN:
			return "the characters do not form a CPT or HCPCS code";
	}
	return "unknown error";
}
