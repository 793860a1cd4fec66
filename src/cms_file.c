/*
 * cms_file.c
 *		Reading the fields of CMS's files as they are shipped, fast enough
 *		for the 2.6 million records of a PTP table: a date written YYYYMMDD.
 */
#include "postgres.h"

#include "pg_compat.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "parser/scansup.h"
#include "utils/datetime.h"

#include "cms_file.h"

/*
 * A date of eight digits YYYYMMDD (blanks around them allowed) into
 * *result; false for anything else, a 30 February included.
 */
bool
cms_yyyymmdd_parse(const char *s, int len, DateADT *result)
{
	int			start = 0;
	int			end = len;
	int			v[8];
	int			year;
	int			month;
	int			day;

	while (start < end && scanner_isspace(s[start]))
		start++;
	while (end > start && scanner_isspace(s[end - 1]))
		end--;
	if (end - start != 8)
		return false;
	for (int i = 0; i < 8; i++)
	{
		if (s[start + i] < '0' || s[start + i] > '9')
			return false;
		v[i] = s[start + i] - '0';
	}
	year = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3];
	month = v[4] * 10 + v[5];
	day = v[6] * 10 + v[7];
	if (year < 1 || month < 1 || month > 12 || day < 1 ||
		day > day_tab[isleap(year)][month - 1])
		return false;
	*result = date2j(year, month, day) - POSTGRES_EPOCH_JDATE;
	return true;
}

/*
 * cpt_rules.cms_yyyymmdd(text): the date, or NULL; never an error, so that
 * a refresh can name every bad record.
 */
PG_FUNCTION_INFO_V1(cpt_cms_yyyymmdd);
Datum
cpt_cms_yyyymmdd(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	DateADT		d;

	if (!cms_yyyymmdd_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &d))
		PG_RETURN_NULL();
	PG_RETURN_DATEADT(d);
}
