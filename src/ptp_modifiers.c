/*
 * ptp_modifiers.c
 *		CMS's PTP-associated modifiers, and finding them among a claim line's
 *		modifiers as the PTP audit carries them, once per pair of lines.
 */
#include "postgres.h"

#include "pg_compat.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "parser/scansup.h"
#include "utils/array.h"
#include "utils/builtins.h"

/*
 * NCCI Policy Manual for Medicare Services, ch. I, E: anatomic, global
 * surgery and the others.  22, 76 and 77 are not among them.
 */
static const char *const ptp_modifier[] = {
	"E1", "E2", "E3", "E4", "FA", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9",
	"TA", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9",
	"LT", "RT", "LC", "LD", "RC", "LM", "RI",
	"24", "25", "57", "58", "78", "79",
	"27", "59", "91", "XE", "XS", "XP", "XU"
};

#define N_PTP_MODIFIERS lengthof(ptp_modifier)

/* The position of a two-character modifier in the list, or -1. */
static int
ptp_modifier_index(char a, char b)
{
	a = pg_ascii_toupper((unsigned char) a);
	b = pg_ascii_toupper((unsigned char) b);
	for (int i = 0; i < (int) N_PTP_MODIFIERS; i++)
		if (ptp_modifier[i][0] == a && ptp_modifier[i][1] == b)
			return i;
	return -1;
}

static ArrayType *
modifier_array(const bool *present)
{
	Datum		elems[N_PTP_MODIFIERS];
	int			n = 0;

	for (int i = 0; i < (int) N_PTP_MODIFIERS; i++)
		if (present == NULL || present[i])
			elems[n++] = CStringGetTextDatum(ptp_modifier[i]);
	return construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT);
}

/* cpt_rules.ptp_modifiers(): the list, in the manual's order. */
PG_FUNCTION_INFO_V1(cpt_ptp_modifiers);
Datum
cpt_ptp_modifiers(PG_FUNCTION_ARGS)
{
	PG_RETURN_ARRAYTYPE_P(modifier_array(NULL));
}

/*
 * cpt_rules.ptp_bypass_modifiers(text): the PTP-associated modifiers among
 * words separated by blanks (any case), each once, in the list's order; NULL
 * when there is none, which is most pairs, so that no array is built.
 */
PG_FUNCTION_INFO_V1(cpt_ptp_bypass_modifiers);
Datum
cpt_ptp_bypass_modifiers(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);
	bool		present[N_PTP_MODIFIERS] = {false};
	bool		any = false;
	int			i = 0;

	while (i < len)
	{
		int			start;

		while (i < len && scanner_isspace(s[i]))
			i++;
		start = i;
		while (i < len && !scanner_isspace(s[i]))
			i++;
		if (i - start == 2)
		{
			int			k = ptp_modifier_index(s[start], s[start + 1]);

			if (k >= 0)
				present[k] = any = true;
		}
	}
	if (!any)
		PG_RETURN_NULL();
	PG_RETURN_ARRAYTYPE_P(modifier_array(present));
}
