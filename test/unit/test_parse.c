/*
 * test_parse.c
 *		Unit tests of the server-independent procedure-code parser and
 *		formatter (src/cpt_code_parse.c).  Output is TAP: one "ok N - ..."
 *		or "not ok N - ..." line per test case, then the plan "1..N".
 *
 * Build:  cc -std=gnu99 -Wall -Wextra -Werror -Isrc \
 *             test/unit/test_parse.c src/cpt_code_parse.c -o test_parse
 * Run:    ./test_parse [prefix]
 * An optional prefix (e.g. "plain" or "asan") is put in front of every
 * test description so the output of several builds can be told apart.
 * The exit status is 0 when every test passed, 1 otherwise.
 */
#include "cpt_code_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SENTINEL 0xDEADBEEFu

/* ----------------------------------------------------------------------
 * A minimal TAP emitter
 * ---------------------------------------------------------------------- */

static const char *prefix = "";
static int	test_count = 0;
static int	failed_count = 0;

/* Report one test case; returns cond so callers can chain diagnostics. */
static bool __attribute__((format(printf, 2, 3)))
ok(bool cond, const char *fmt,...)
{
	va_list		ap;

	test_count++;
	if (!cond)
		failed_count++;
	printf("%s %d - %s", cond ? "ok" : "not ok", test_count, prefix);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return cond;
}

/* A diagnostic line, TAP comment style. */
static void __attribute__((format(printf, 1, 2)))
diag(const char *fmt,...)
{
	va_list		ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/*
 * Render len bytes as a printable, single-line, quoted string for test
 * descriptions.  Uses a small ring of static buffers so that several calls
 * can appear in one printf.  '#' is escaped too: it starts a TAP directive.
 */
static const char *
show(const char *s, size_t len)
{
	static char ring[8][256];
	static int	next = 0;
	char	   *out = ring[next];
	size_t		o = 0;

	next = (next + 1) % 8;
	out[o++] = '"';
	for (size_t i = 0; i < len && o < sizeof(ring[0]) - 8; i++)
	{
		unsigned char c = (unsigned char) s[i];

		switch (c)
		{
			case '\t':
				o += (size_t) sprintf(out + o, "\\t");
				break;
			case '\n':
				o += (size_t) sprintf(out + o, "\\n");
				break;
			case '\r':
				o += (size_t) sprintf(out + o, "\\r");
				break;
			case '\v':
				o += (size_t) sprintf(out + o, "\\v");
				break;
			case '\f':
				o += (size_t) sprintf(out + o, "\\f");
				break;
			case '"':
			case '\\':
				o += (size_t) sprintf(out + o, "\\%c", c);
				break;
			default:
				if (c < 0x20 || c >= 0x7F || c == '#')
					o += (size_t) sprintf(out + o, "\\x%02X", c);
				else
					out[o++] = (char) c;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

static const char *
result_name(CptParseResult r)
{
	switch (r)
	{
		case CPT_PARSE_OK:
			return "OK";
		case CPT_PARSE_EMPTY:
			return "EMPTY";
		case CPT_PARSE_BAD_LENGTH:
			return "BAD_LENGTH";
		case CPT_PARSE_BAD_CHARACTER:
			return "BAD_CHARACTER";
		case CPT_PARSE_BAD_PATTERN:
			return "BAD_PATTERN";
	}
	return "(out of range)";
}

static const char *
set_name(CptCodeSet s)
{
	switch (s)
	{
		case CPT_SET_INVALID:
			return "INVALID";
		case CPT_SET_CATEGORY_I:
			return "CATEGORY_I";
		case CPT_SET_CATEGORY_II:
			return "CATEGORY_II";
		case CPT_SET_CATEGORY_III:
			return "CATEGORY_III";
		case CPT_SET_PLA:
			return "PLA";
		case CPT_SET_MAAA:
			return "MAAA";
		case CPT_SET_HCPCS_LEVEL_II:
			return "HCPCS_LEVEL_II";
	}
	return "(out of range)";
}

/*
 * Parse a copy of exactly len bytes in a heap buffer of exactly that size,
 * so the sanitizer build catches any read past the end.
 */
static CptParseResult
parse_exact(const char *s, size_t len, uint32_t *packed)
{
	char	   *copy = malloc(len ? len : 1);
	CptParseResult r;

	if (copy == NULL)
	{
		perror("malloc");
		exit(2);
	}
	if (len)
		memcpy(copy, s, len);
	r = cpt_code_parse(copy, len, packed);
	free(copy);
	return r;
}

/* Pack five canonical characters independently of the code under test. */
static uint32_t
reference_pack(const char *canon)
{
	uint32_t	v = 0;

	for (int i = 0; i < CPT_CODE_LEN; i++)
	{
		unsigned char c = (unsigned char) canon[i];
		uint32_t	d = (c >= '0' && c <= '9') ? (uint32_t) (c - '0')
			: (uint32_t) (c - 'A' + 10);

		v = (v << 6) | d;
	}
	return v;
}

/* ----------------------------------------------------------------------
 * Accepted inputs
 * ---------------------------------------------------------------------- */

typedef struct Accepted
{
	const char *input;			/* NUL-terminated */
	const char *canonical;
	CptCodeSet	set;
} Accepted;

static const Accepted accepted[] = {
	/* CPT Category I: five digits */
	{"99213", "99213", CPT_SET_CATEGORY_I},
	{"00100", "00100", CPT_SET_CATEGORY_I},
	{"00000", "00000", CPT_SET_CATEGORY_I},
	{"99999", "99999", CPT_SET_CATEGORY_I},
	{"  99213", "99213", CPT_SET_CATEGORY_I},
	{"99213  ", "99213", CPT_SET_CATEGORY_I},
	{" 99213 ", "99213", CPT_SET_CATEGORY_I},
	{"\t99213\n", "99213", CPT_SET_CATEGORY_I},
	{"\r\n99213\r\n", "99213", CPT_SET_CATEGORY_I},
	{"\v\f 12345 \f\v", "12345", CPT_SET_CATEGORY_I},
	/* CPT Category II: four digits + F */
	/* Category I vaccine administration: four digits + A */
	{"0001A", "0001A", CPT_SET_CATEGORY_I},
	{"0051a", "0051A", CPT_SET_CATEGORY_I},
	{" 0174A\n", "0174A", CPT_SET_CATEGORY_I},
	{"0001F", "0001F", CPT_SET_CATEGORY_II},
	{"0001f", "0001F", CPT_SET_CATEGORY_II},
	{"9999F", "9999F", CPT_SET_CATEGORY_II},
	{"\t3074f\t", "3074F", CPT_SET_CATEGORY_II},
	/* CPT Category III: four digits + T */
	{"0042T", "0042T", CPT_SET_CATEGORY_III},
	{"0042t", "0042T", CPT_SET_CATEGORY_III},
	{" 0795t\n", "0795T", CPT_SET_CATEGORY_III},
	/* PLA: four digits + U */
	{"0001U", "0001U", CPT_SET_PLA},
	{"0001u", "0001U", CPT_SET_PLA},
	{"\n\n0355u ", "0355U", CPT_SET_PLA},
	/* MAAA: four digits + M */
	{"0002M", "0002M", CPT_SET_MAAA},
	{"0002m", "0002M", CPT_SET_MAAA},
	{"  0018m\r", "0018M", CPT_SET_MAAA},
	/* HCPCS Level II: a letter + four digits */
	{"G0121", "G0121", CPT_SET_HCPCS_LEVEL_II},
	{"g0121", "G0121", CPT_SET_HCPCS_LEVEL_II},
	{"J3490", "J3490", CPT_SET_HCPCS_LEVEL_II},
	{"A0428", "A0428", CPT_SET_HCPCS_LEVEL_II},
	{"a0428", "A0428", CPT_SET_HCPCS_LEVEL_II},
	{"Z9999", "Z9999", CPT_SET_HCPCS_LEVEL_II},
	{"z0000", "Z0000", CPT_SET_HCPCS_LEVEL_II},
	{"\t e0114 \n", "E0114", CPT_SET_HCPCS_LEVEL_II},
	{"F0001", "F0001", CPT_SET_HCPCS_LEVEL_II},	/* F first: HCPCS, not Cat II */
	{"t0001", "T0001", CPT_SET_HCPCS_LEVEL_II},
	{" \t\n\r\v\fQ4101\f\v\r\n\t ", "Q4101", CPT_SET_HCPCS_LEVEL_II},
};

static void
test_accepted(void)
{
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
	{
		const Accepted *a = &accepted[i];
		size_t		len = strlen(a->input);
		uint32_t	packed = SENTINEL;
		CptParseResult r = parse_exact(a->input, len, &packed);
		char		out[CPT_CODE_LEN + 1];

		if (!ok(r == CPT_PARSE_OK, "accept %s", show(a->input, len)))
		{
			diag("got %s", result_name(r));
			continue;
		}
		ok(packed == reference_pack(a->canonical),
		   "%s packs to the value of %s", show(a->input, len), a->canonical);

		memset(out, 'x', sizeof(out));
		cpt_code_format(packed, out);
		if (!ok(strcmp(out, a->canonical) == 0 && out[CPT_CODE_LEN] == '\0',
				"format(parse(%s)) = %s", show(a->input, len), a->canonical))
			diag("got %s", show(out, sizeof(out)));

		if (!ok(cpt_code_set_of(packed) == a->set,
				"%s is in code set %s", a->canonical, set_name(a->set)))
			diag("got %s", set_name(cpt_code_set_of(packed)));
	}
}

/*
 * The length argument is authoritative: the parser must look at exactly len
 * bytes, so a code followed by garbage parses when len stops before it.
 */
static void
test_explicit_length(void)
{
	static const struct
	{
		const char *buf;
		size_t		len;
		CptParseResult expect;
		const char *canonical;
	}			cases[] = {
		{"99213XYZ", 5, CPT_PARSE_OK, "99213"},
		{"99213!!!", 5, CPT_PARSE_OK, "99213"},
		{"  g0121  \xff\xfe", 9, CPT_PARSE_OK, "G0121"},
		{"0001F\0garbage", 5, CPT_PARSE_OK, "0001F"},
		{"992134", 5, CPT_PARSE_OK, "99213"},
		{"99213", 4, CPT_PARSE_BAD_LENGTH, NULL},
		{"99213", 0, CPT_PARSE_EMPTY, NULL},
		{"   99213", 3, CPT_PARSE_EMPTY, NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		uint32_t	packed = SENTINEL;
		CptParseResult r = parse_exact(cases[i].buf, cases[i].len, &packed);
		bool		good = r == cases[i].expect;

		if (good && cases[i].canonical)
			good = packed == reference_pack(cases[i].canonical);
		if (!ok(good, "first %zu bytes of %s give %s%s%s", cases[i].len,
				show(cases[i].buf, strlen(cases[i].buf)),
				result_name(cases[i].expect),
				cases[i].canonical ? " " : "",
				cases[i].canonical ? cases[i].canonical : ""))
			diag("got %s", result_name(r));
	}
}

/* ----------------------------------------------------------------------
 * Rejected inputs
 * ---------------------------------------------------------------------- */

typedef struct Rejected
{
	const char *bytes;
	size_t		len;			/* explicit: may cover embedded NULs */
	CptParseResult expect;
} Rejected;

#define R(lit, res) {lit, sizeof(lit) - 1, res}

static const Rejected rejected[] = {
	/* empty / whitespace only */
	R("", CPT_PARSE_EMPTY),
	R(" ", CPT_PARSE_EMPTY),
	R("     ", CPT_PARSE_EMPTY),
	R("\t", CPT_PARSE_EMPTY),
	R("\n", CPT_PARSE_EMPTY),
	R(" \t\n\r\v\f", CPT_PARSE_EMPTY),
	R("\r\n\r\n", CPT_PARSE_EMPTY),

	/* wrong length, right alphabet */
	R("9921", CPT_PARSE_BAD_LENGTH),
	R("992134", CPT_PARSE_BAD_LENGTH),
	R("1", CPT_PARSE_BAD_LENGTH),
	R("G012", CPT_PARSE_BAD_LENGTH),
	R("G01211", CPT_PARSE_BAD_LENGTH),
	R("0001FF", CPT_PARSE_BAD_LENGTH),
	R("00001F", CPT_PARSE_BAD_LENGTH),
	R("  9921  ", CPT_PARSE_BAD_LENGTH),
	R("\t992134\n", CPT_PARSE_BAD_LENGTH),
	R("9921399213", CPT_PARSE_BAD_LENGTH),

	/* inner whitespace */
	R("99 213", CPT_PARSE_BAD_CHARACTER),
	R("9921 3", CPT_PARSE_BAD_CHARACTER),
	R("99\t213", CPT_PARSE_BAD_CHARACTER),
	R("G\n0121", CPT_PARSE_BAD_CHARACTER),
	R(" 9 9 2 1 3 ", CPT_PARSE_BAD_CHARACTER),
	R("992 1", CPT_PARSE_BAD_CHARACTER),

	/* non-ASCII UTF-8 bytes */
	R("2093\xC3\xA9", CPT_PARSE_BAD_CHARACTER),			/* 2093e-acute */
	R("\xC3\xA9" "9921", CPT_PARSE_BAD_CHARACTER),
	R("9921\xC3\x89", CPT_PARSE_BAD_CHARACTER),			/* E-acute */
	R("\xEF\xBC\x99\xEF\xBC\x99\xEF\xBC\x92\xEF\xBC\x91\xEF\xBC\x93",
	  CPT_PARSE_BAD_CHARACTER),							/* fullwidth 99213 */
	R("99213\xC2\xA0", CPT_PARSE_BAD_CHARACTER),		/* trailing NBSP */
	R("\xC2\xA0" "99213", CPT_PARSE_BAD_CHARACTER),		/* leading NBSP */
	R("\xE2\x80\x8B" "99213", CPT_PARSE_BAD_CHARACTER),	/* zero-width space */
	R("\xEF\xBB\xBF" "99213", CPT_PARSE_BAD_CHARACTER),	/* UTF-8 BOM */
	R("G012\xD9\xA1", CPT_PARSE_BAD_CHARACTER),			/* Arabic-Indic 1 */
	R("\xFF\xFF\xFF\xFF\xFF", CPT_PARSE_BAD_CHARACTER),
	R("\x80\x81\x82\x83\x84", CPT_PARSE_BAD_CHARACTER),

	/* embedded NUL bytes (explicit length, as in binary receive) */
	R("992\0" "13", CPT_PARSE_BAD_CHARACTER),
	R("99213\0", CPT_PARSE_BAD_CHARACTER),
	R("\0" "99213", CPT_PARSE_BAD_CHARACTER),
	R("9921\0", CPT_PARSE_BAD_CHARACTER),
	R("\0\0\0\0\0", CPT_PARSE_BAD_CHARACTER),
	R("\0", CPT_PARSE_BAD_CHARACTER),
	R(" 99213 \0", CPT_PARSE_BAD_CHARACTER),

	/* punctuation and other ASCII */
	R("99-13", CPT_PARSE_BAD_CHARACTER),
	R("99213!", CPT_PARSE_BAD_CHARACTER),
	R("-9921", CPT_PARSE_BAD_CHARACTER),
	R("+9921", CPT_PARSE_BAD_CHARACTER),
	R("9921.", CPT_PARSE_BAD_CHARACTER),
	R("99,21", CPT_PARSE_BAD_CHARACTER),
	R("'99213'", CPT_PARSE_BAD_CHARACTER),
	R("\"9921\"", CPT_PARSE_BAD_CHARACTER),
	R("G_121", CPT_PARSE_BAD_CHARACTER),
	R("0001@", CPT_PARSE_BAD_CHARACTER),	/* '@' is just below 'A' */
	R("0001[", CPT_PARSE_BAD_CHARACTER),	/* '[' is just above 'Z' */
	R("0001`", CPT_PARSE_BAD_CHARACTER),	/* '`' is just below 'a' */
	R("0001{", CPT_PARSE_BAD_CHARACTER),	/* '{' is just above 'z' */
	R("/9921", CPT_PARSE_BAD_CHARACTER),	/* '/' is just below '0' */
	R(":9921", CPT_PARSE_BAD_CHARACTER),	/* ':' is just above '9' */
	R("9921\x7F", CPT_PARSE_BAD_CHARACTER),
	R("9921\x1B", CPT_PARSE_BAD_CHARACTER),
	R("\x1C" "99213", CPT_PARSE_BAD_CHARACTER),	/* FS: not ASCII whitespace */
	R("99213\x85", CPT_PARSE_BAD_CHARACTER),
	R("!", CPT_PARSE_BAD_CHARACTER),
	/* a bad character wins over a bad length */
	R("99213x!", CPT_PARSE_BAD_CHARACTER),
	R("9!", CPT_PARSE_BAD_CHARACTER),

	/* right alphabet and length, wrong shape */
	R("CCCCC", CPT_PARSE_BAD_PATTERN),
	R("ccccc", CPT_PARSE_BAD_PATTERN),
	R("GG212", CPT_PARSE_BAD_PATTERN),
	R("0001X", CPT_PARSE_BAD_PATTERN),
	R("0001x", CPT_PARSE_BAD_PATTERN),
	R("G221A", CPT_PARSE_BAD_PATTERN),
	R("0001Z", CPT_PARSE_BAD_PATTERN),
	R("0001E", CPT_PARSE_BAD_PATTERN),
	R("0001G", CPT_PARSE_BAD_PATTERN),
	R("0001L", CPT_PARSE_BAD_PATTERN),
	R("0001N", CPT_PARSE_BAD_PATTERN),
	R("0001S", CPT_PARSE_BAD_PATTERN),
	R("0001V", CPT_PARSE_BAD_PATTERN),
	R("A000F", CPT_PARSE_BAD_PATTERN),
	R("G012F", CPT_PARSE_BAD_PATTERN),
	R("12A45", CPT_PARSE_BAD_PATTERN),
	R("1A345", CPT_PARSE_BAD_PATTERN),
	R("123A5", CPT_PARSE_BAD_PATTERN),
	R("ABCDE", CPT_PARSE_BAD_PATTERN),
	R("99F13", CPT_PARSE_BAD_PATTERN),
	R("000FF", CPT_PARSE_BAD_PATTERN),
	R("0F001", CPT_PARSE_BAD_PATTERN),
	R(" GG212 ", CPT_PARSE_BAD_PATTERN),
	R("\tg221a\n", CPT_PARSE_BAD_PATTERN),
};

static void
test_rejected(void)
{
	for (size_t i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++)
	{
		const Rejected *c = &rejected[i];
		uint32_t	packed = SENTINEL;
		CptParseResult r = parse_exact(c->bytes, c->len, &packed);
		if (!ok(r == c->expect, "reject %s (%zu bytes) as %s",
				show(c->bytes, c->len), c->len, result_name(c->expect)))
			diag("got %s", result_name(r));
	}
}

/* The error texts exist, differ, and unknown values do not crash. */
static void
test_texts(void)
{
	static const CptParseResult all[] = {
		CPT_PARSE_OK, CPT_PARSE_EMPTY, CPT_PARSE_BAD_LENGTH,
		CPT_PARSE_BAD_CHARACTER, CPT_PARSE_BAD_PATTERN
	};
	static const CptCodeSet sets[] = {
		CPT_SET_CATEGORY_I, CPT_SET_CATEGORY_II, CPT_SET_CATEGORY_III,
		CPT_SET_PLA, CPT_SET_MAAA, CPT_SET_HCPCS_LEVEL_II
	};
	static const char *const set_names[] = {
		"CPT Category I", "CPT Category II", "CPT Category III",
		"CPT PLA", "CPT MAAA", "HCPCS Level II"
	};
	bool		good = true;

	for (size_t i = 0; i < 5; i++)
	{
		const char *t = cpt_parse_result_text(all[i]);

		if (t == NULL || *t == '\0')
			good = false;
		for (size_t j = 0; good && j < i; j++)
			if (strcmp(t, cpt_parse_result_text(all[j])) == 0)
				good = false;
	}
	ok(good, "cpt_parse_result_text gives a distinct text per result");
	ok(cpt_parse_result_text((CptParseResult) 99) != NULL,
	   "cpt_parse_result_text of an unknown value is not NULL");

	for (size_t i = 0; i < 6; i++)
		ok(strcmp(cpt_code_set_name(sets[i]), set_names[i]) == 0,
		   "cpt_code_set_name(%s) = %s", set_name(sets[i]), set_names[i]);
	ok(strcmp(cpt_code_set_name(CPT_SET_INVALID), "invalid") == 0,
	   "cpt_code_set_name(INVALID) = invalid");
	ok(strcmp(cpt_code_set_name((CptCodeSet) 99), "invalid") == 0,
	   "cpt_code_set_name of an unknown value = invalid");
}

/* ----------------------------------------------------------------------
 * Exhaustive enumeration of all valid codes
 * ---------------------------------------------------------------------- */

#define N_VALID (100000 + 5 * 10000 + 26 * 10000)

typedef struct Code
{
	uint32_t	packed;
	CptCodeSet	set;
	char		canon[CPT_CODE_LEN + 1];
} Code;

static Code *codes;
static size_t n_codes;

static void
add_code(const char *canon, CptCodeSet set)
{
	Code	   *c = &codes[n_codes++];

	memcpy(c->canon, canon, CPT_CODE_LEN + 1);
	c->set = set;
	c->packed = SENTINEL;
}

/* Write n (0..9999) as four digits at out. */
static void
put4(char *out, int n)
{
	out[0] = (char) ('0' + n / 1000);
	out[1] = (char) ('0' + n / 100 % 10);
	out[2] = (char) ('0' + n / 10 % 10);
	out[3] = (char) ('0' + n % 10);
}

/* Generate the canonical text of every valid code, in no particular order. */
static void
generate_all(void)
{
	static const struct
	{
		char		letter;
		CptCodeSet	set;
	}			suffixes[] = {
		{'T', CPT_SET_CATEGORY_III}, {'F', CPT_SET_CATEGORY_II},
		{'M', CPT_SET_MAAA}, {'U', CPT_SET_PLA}, {'A', CPT_SET_CATEGORY_I}
	};
	char		buf[CPT_CODE_LEN + 1];

	codes = calloc(N_VALID, sizeof(Code));
	if (codes == NULL)
	{
		perror("calloc");
		exit(2);
	}
	n_codes = 0;
	buf[CPT_CODE_LEN] = '\0';

	/* deliberately interleave sets so that sorting has work to do */
	for (int n = 9999; n >= 0; n--)
	{
		for (int d = 0; d < 10; d++)
		{
			put4(buf, n);
			buf[4] = (char) ('0' + d);
			add_code(buf, CPT_SET_CATEGORY_I);
		}
		for (size_t s = 0; s < sizeof(suffixes) / sizeof(suffixes[0]); s++)
		{
			put4(buf, n);
			buf[4] = suffixes[s].letter;
			add_code(buf, suffixes[s].set);
		}
		for (int l = 25; l >= 0; l--)
		{
			buf[0] = (char) ('A' + l);
			put4(buf + 1, n);
			add_code(buf, CPT_SET_HCPCS_LEVEL_II);
		}
	}
}

static int
cmp_packed(const void *a, const void *b)
{
	uint32_t	x = ((const Code *) a)->packed;
	uint32_t	y = ((const Code *) b)->packed;

	return (x > y) - (x < y);
}

static int
sign(int x)
{
	return (x > 0) - (x < 0);
}

/* A small deterministic PRNG (xorshift64*), so runs are reproducible. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static void
test_all_valid_codes(void)
{
	size_t		bad_parse = 0,
				bad_value = 0,
				bad_format = 0,
				bad_set = 0,
				bad_variant = 0,
				bad_order = 0,
				bad_pairs = 0;
	char		out[CPT_CODE_LEN + 1];
	size_t		sets_seen[7] = {0};

	generate_all();
	ok(n_codes == N_VALID, "enumerated %zu valid codes (expected %d)",
	   n_codes, N_VALID);

	for (size_t i = 0; i < n_codes; i++)
	{
		Code	   *c = &codes[i];
		char		variant[16];
		uint32_t	v = SENTINEL;

		if (cpt_code_parse(c->canon, CPT_CODE_LEN, &c->packed) != CPT_PARSE_OK)
		{
			if (bad_parse++ < 5)
				diag("%s rejected", c->canon);
			continue;
		}
		if (c->packed != reference_pack(c->canon) && bad_value++ < 5)
			diag("%s packed to 0x%08X", c->canon, c->packed);

		cpt_code_format(c->packed, out);
		if (strcmp(out, c->canon) != 0 && bad_format++ < 5)
			diag("%s formatted back as %s", c->canon, out);

		if (cpt_code_set_of(c->packed) != c->set && bad_set++ < 5)
			diag("%s: set_of = %s, expected %s", c->canon,
				 set_name(cpt_code_set_of(c->packed)), set_name(c->set));
		if ((unsigned) c->set < 7)
			sets_seen[c->set]++;

		/* a lower-case, whitespace-wrapped spelling parses to the same value */
		variant[0] = (i & 1) ? '\t' : ' ';
		for (int k = 0; k < CPT_CODE_LEN; k++)
		{
			char		ch = c->canon[k];

			variant[1 + k] = (ch >= 'A' && ch <= 'Z') ? (char) (ch - 'A' + 'a') : ch;
		}
		variant[6] = (i & 2) ? '\n' : ' ';
		variant[7] = '\0';
		if ((cpt_code_parse(variant, 7, &v) != CPT_PARSE_OK || v != c->packed) &&
			bad_variant++ < 5)
			diag("%s did not parse like %s", show(variant, 7), c->canon);
	}
	ok(bad_parse == 0, "all %d valid codes are accepted", N_VALID);
	ok(bad_value == 0, "all valid codes pack 6 bits per character, MSB first");
	ok(bad_format == 0, "format(parse(x)) = x for all valid codes");
	ok(bad_set == 0, "cpt_code_set_of agrees with the code's shape for all valid codes");
	ok(sets_seen[CPT_SET_CATEGORY_I] == 110000 &&
	   sets_seen[CPT_SET_CATEGORY_II] == 10000 &&
	   sets_seen[CPT_SET_CATEGORY_III] == 10000 &&
	   sets_seen[CPT_SET_PLA] == 10000 &&
	   sets_seen[CPT_SET_MAAA] == 10000 &&
	   sets_seen[CPT_SET_HCPCS_LEVEL_II] == 260000,
	   "code set sizes: 110000 / 10000 x 4 / 260000");
	ok(bad_variant == 0, "lower-case whitespace-wrapped spellings parse identically");

	/*
	 * ORDER PROPERTY.  Sorted by packed value, consecutive canonical strings
	 * must be strictly increasing under strcmp.  Together with distinct
	 * packed values that makes packed order and C-collation order the same
	 * total order on all valid codes: packed(a) < packed(b) iff
	 * strcmp(a, b) < 0.
	 */
	qsort(codes, n_codes, sizeof(Code), cmp_packed);
	for (size_t i = 1; i < n_codes; i++)
	{
		if (!(codes[i - 1].packed < codes[i].packed &&
			  strcmp(codes[i - 1].canon, codes[i].canon) < 0) &&
			bad_order++ < 5)
			diag("order broken between %s (0x%08X) and %s (0x%08X)",
				 codes[i - 1].canon, codes[i - 1].packed,
				 codes[i].canon, codes[i].packed);
	}
	ok(bad_order == 0,
	   "ORDER: sorted by packed value, all %zu canonical strings strictly increase under strcmp",
	   n_codes);
	ok(n_codes > 0 && strcmp(codes[0].canon, "00000") == 0 &&
	   strcmp(codes[n_codes - 1].canon, "Z9999") == 0,
	   "ORDER: smallest code is 00000 and largest is Z9999");

	/* And directly, on a large pseudo-random sample of pairs. */
	for (int k = 0; k < 2000000; k++)
	{
		const Code *a = &codes[rng() % n_codes];
		const Code *b = &codes[rng() % n_codes];
		int			p = (a->packed > b->packed) - (a->packed < b->packed);

		if (p != sign(strcmp(a->canon, b->canon)) && bad_pairs++ < 5)
			diag("pair %s / %s disagrees", a->canon, b->canon);
	}
	ok(bad_pairs == 0,
	   "ORDER: sign(packed a - packed b) = sign(strcmp(a, b)) on 2000000 random pairs");

	/* Every packed value fits in 30 bits, so it is non-negative as int32. */
	ok(n_codes > 0 && codes[n_codes - 1].packed < (1u << 30),
	   "all packed values are below 2^30 (non-negative as int32)");
}

/*
 * Every packed value whose five 6-bit digits are all in 0..35 (36^5 values):
 * cpt_code_set_of is valid exactly for the 400,000 valid codes, and for
 * those format/parse round-trips; for the others the formatted text is
 * rejected by the parser as BAD_PATTERN.
 */
static void
test_all_in_range_values(void)
{
	size_t		n_valid = 0,
				bad_roundtrip = 0,
				bad_invalid = 0,
				bad_alphabet = 0;
	uint32_t	d[CPT_CODE_LEN];

	for (d[0] = 0; d[0] < 36; d[0]++)
		for (d[1] = 0; d[1] < 36; d[1]++)
			for (d[2] = 0; d[2] < 36; d[2]++)
				for (d[3] = 0; d[3] < 36; d[3]++)
					for (d[4] = 0; d[4] < 36; d[4]++)
					{
						uint32_t	p = (d[0] << 24) | (d[1] << 18) |
							(d[2] << 12) | (d[3] << 6) | d[4];
						CptCodeSet	s = cpt_code_set_of(p);
						char		out[CPT_CODE_LEN + 1];
						uint32_t	q = SENTINEL;
						CptParseResult r;

						cpt_code_format(p, out);
						for (int k = 0; k < CPT_CODE_LEN; k++)
							if (!((out[k] >= '0' && out[k] <= '9') ||
								  (out[k] >= 'A' && out[k] <= 'Z')) &&
								bad_alphabet++ < 5)
								diag("0x%08X formats as %s", p, show(out, 5));
						r = cpt_code_parse(out, CPT_CODE_LEN, &q);
						if (s != CPT_SET_INVALID)
						{
							n_valid++;
							if ((r != CPT_PARSE_OK || q != p) &&
								bad_roundtrip++ < 5)
								diag("0x%08X (%s) does not round-trip", p, out);
						}
						else if (r != CPT_PARSE_BAD_PATTERN &&
								 bad_invalid++ < 5)
							diag("0x%08X (%s) invalid but parse gives %s",
								 p, out, result_name(r));
					}
	ok(bad_alphabet == 0, "all 36^5 in-range packed values format as [0-9A-Z]{5}");
	ok(n_valid == N_VALID,
	   "cpt_code_set_of is valid for exactly %d of the 36^5 in-range values (got %zu)",
	   N_VALID, n_valid);
	ok(bad_roundtrip == 0, "every valid packed value round-trips through format and parse");
	ok(bad_invalid == 0, "every in-range value that set_of calls invalid is rejected by parse as BAD_PATTERN");
}

/* ----------------------------------------------------------------------
 * Packed values that are not codes at all
 * ---------------------------------------------------------------------- */

static void
test_invalid_packed(void)
{
	static const char *const bases[] = {"99213", "0001F", "0042T", "0001U",
	"0002M", "G0121", "Z9999", "00000"};
	size_t		bad_digit = 0,
				bad_high = 0,
				bad_random = 0,
				n_random_valid = 0;

	ok(cpt_code_set_of(0) == CPT_SET_CATEGORY_I, "packed 0 is 00000, CPT Category I");

	/* each position, each out-of-range 6-bit digit 36..63, on valid bases */
	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++)
	{
		uint32_t	base = reference_pack(bases[b]);

		for (int pos = 0; pos < CPT_CODE_LEN; pos++)
		{
			int			shift = 6 * (CPT_CODE_LEN - 1 - pos);

			for (uint32_t dig = 36; dig < 64; dig++)
			{
				uint32_t	p = (base & ~(0x3Fu << shift)) | (dig << shift);
				char		out[CPT_CODE_LEN + 1];

				if (cpt_code_set_of(p) != CPT_SET_INVALID && bad_digit++ < 5)
					diag("0x%08X (digit %u at %d of %s) not invalid",
						 p, dig, pos, bases[b]);
				/* formatting corrupt data must still be safe and visible */
				cpt_code_format(p, out);
				if ((out[pos] != '?' || out[CPT_CODE_LEN] != '\0') &&
					bad_digit++ < 5)
					diag("0x%08X formats as %s", p, show(out, 6));
			}
		}
	}
	ok(bad_digit == 0,
	   "cpt_code_set_of is INVALID for a 6-bit digit in 36..63 at any position (formatted as '?')");

	/* bits above 30 */
	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++)
	{
		uint32_t	base = reference_pack(bases[b]);

		for (int bit = 30; bit < 32; bit++)
			if (cpt_code_set_of(base | (1u << bit)) != CPT_SET_INVALID &&
				bad_high++ < 5)
				diag("%s with bit %d set not invalid", bases[b], bit);
		if (cpt_code_set_of(base | 0xC0000000u) != CPT_SET_INVALID &&
			bad_high++ < 5)
			diag("%s with bits 30 and 31 set not invalid", bases[b]);
	}
	ok(bad_high == 0, "cpt_code_set_of is INVALID when bit 30 or 31 is set");
	ok(cpt_code_set_of(1u << 30) == CPT_SET_INVALID, "cpt_code_set_of(2^30) is INVALID");
	ok(cpt_code_set_of(0xFFFFFFFFu) == CPT_SET_INVALID, "cpt_code_set_of(0xFFFFFFFF) is INVALID");
	ok(cpt_code_set_of(0x3FFFFFFFu) == CPT_SET_INVALID, "cpt_code_set_of(0x3FFFFFFF) is INVALID");

	/*
	 * Random 32-bit values: set_of is valid only below 2^30 with every digit
	 * in range, and then formatting and parsing gives the value back.
	 */
	for (int k = 0; k < 4000000; k++)
	{
		uint32_t	p = (uint32_t) (rng() >> 32);
		CptCodeSet	s;
		bool		in_range = p < (1u << 30);

		/* half the time, stay below 2^30 to reach more valid values */
		if (k & 1)
		{
			p &= 0x3FFFFFFFu;
			in_range = true;
		}
		for (int i = 0; in_range && i < CPT_CODE_LEN; i++)
			if (((p >> (6 * i)) & 0x3F) > 35)
				in_range = false;

		s = cpt_code_set_of(p);
		if (s != CPT_SET_INVALID)
		{
			char		out[CPT_CODE_LEN + 1];
			uint32_t	q = SENTINEL;

			n_random_valid++;
			cpt_code_format(p, out);
			if ((!in_range || cpt_code_parse(out, CPT_CODE_LEN, &q) != CPT_PARSE_OK ||
				 q != p) && bad_random++ < 5)
				diag("random 0x%08X: set %s but does not round-trip", p, set_name(s));
		}
		else if (s > CPT_SET_HCPCS_LEVEL_II && bad_random++ < 5)
			diag("random 0x%08X: set_of out of range", p);
	}
	ok(bad_random == 0,
	   "4000000 random 32-bit values: set_of valid only for in-range values that round-trip (%zu were valid)",
	   n_random_valid);
}

int
main(int argc, char **argv)
{
	static char prefix_buf[64];

	if (argc > 1)
	{
		snprintf(prefix_buf, sizeof(prefix_buf), "%s: ", argv[1]);
		prefix = prefix_buf;
	}

	test_accepted();
	test_explicit_length();
	test_rejected();
	test_texts();
	test_all_valid_codes();
	test_all_in_range_values();
	test_invalid_packed();

	free(codes);
	printf("1..%d\n", test_count);
	if (failed_count)
		diag("%d of %d tests failed", failed_count, test_count);
	return failed_count ? 1 : 0;
}
