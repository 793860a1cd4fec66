/*
 * validation_progress.c
 *		How far a long validation has read, as NOTICEs.
 *
 * PostgreSQL's progress views (pg_stat_progress_*) belong to core
 * commands; an extension has no command of its own there.  A validation of
 * a billion lines is one query, so the audit query calls
 * cpt_rules.validation_tick(pass) on each line it reads, and the tick
 * reports, at most every cpt_rules.progress_interval, which pass it is in
 * and how many lines it has read against the planner's count of the
 * table's lines.  Outside a validation the tick only answers true.
 */
#include "postgres.h"

#include "validation_progress.h"

#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "lib/stringinfo.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "rule_report.h"

/* the clock is read once per this many lines */
#define LINES_PER_CLOCK_READ 4096

int			validation_progress_interval = 10000;

typedef struct ValidationProgress
{
	bool		active;
	char	   *what;			/* "add-on rule "x" on table y" */
	double		lines;			/* the planner's count; 0 when unknown */
	int64		read[PROGRESS_PASSES + 1];
	TimestampTz started;
	TimestampTz last;
} ValidationProgress;

static ValidationProgress progress;

void
validation_progress_init(void)
{
	DefineCustomIntVariable("cpt_rules.progress_interval",
							"Time between the NOTICEs that report a long validation's progress.",
							"0 turns them off.",
							&validation_progress_interval,
							10000, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	MarkGUCPrefixReserved("cpt_rules");
}

bool
validation_progress_available(void)
{
	Oid			argtypes[1] = {INT4OID};

	return OidIsValid(LookupFuncName(list_make2(makeString("cpt_rules"), makeString("validation_tick")),
									 1, argtypes, true));
}

/* The lines of tbl and its partitions, as the last ANALYZE or VACUUM counted them. */
static double
planner_lines(Oid tbl)
{
	double		lines = 0;
	ListCell   *lc;

	foreach(lc, find_all_inheritors(tbl, NoLock, NULL))
	{
		HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(lfirst_oid(lc)));

		if (!HeapTupleIsValid(tup))
			continue;
		if (((Form_pg_class) GETSTRUCT(tup))->reltuples > 0)
			lines += ((Form_pg_class) GETSTRUCT(tup))->reltuples;
		ReleaseSysCache(tup);
	}
	return lines;
}

void
validation_progress_begin(const char *kind_name, const char *rulename, Oid tbl)
{
	validation_progress_end();
	if (validation_progress_interval <= 0)
		return;
	progress.what = MemoryContextStrdup(TopMemoryContext,
										psprintf("%s rule \"%s\" on table %s", kind_name, rulename,
												 rule_relation_text(tbl)));
	progress.lines = planner_lines(tbl);
	memset(progress.read, 0, sizeof(progress.read));
	progress.started = progress.last = GetCurrentTimestamp();
	progress.active = true;
}

void
validation_progress_end(void)
{
	progress.active = false;
	if (progress.what)
		pfree(progress.what);
	progress.what = NULL;
}

static void
report(int pass, TimestampTz now)
{
	long		secs;
	int			usecs;
	int64		read = progress.read[pass];

	TimestampDifference(progress.started, now, &secs, &usecs);
	if (pass == PROGRESS_PASS_JUDGING)
		ereport(NOTICE,
				(errmsg("validating %s: judging the groups, " INT64_FORMAT " judged, %ld s",
						progress.what, read, secs),
				 errdetail("The lines have been read; the groups that need judging are judged one by one.")));
	else
		ereport(NOTICE,
				(errmsg("validating %s: pass %d of %d, " INT64_FORMAT "%s, %ld s",
						progress.what, pass, PROGRESS_PASS_UNGROUPED, read,
						progress.lines > 0
						? psprintf(" of about %.0f lines (%.0f%%)", progress.lines,
								   Min(100.0, 100.0 * read / progress.lines))
						: " lines", secs),
				 errdetail("Pass 1 reads every line for the groups that need judging, "
						   "pass 2 those groups' lines, pass 3 the lines outside any group; then the groups are judged.")));
}

/* cpt_rules.validation_tick(pass): true, having counted a line of that pass. */
PG_FUNCTION_INFO_V1(cpt_validation_tick);
Datum
cpt_validation_tick(PG_FUNCTION_ARGS)
{
	int			pass = PG_GETARG_INT32(0);
	TimestampTz now;

	if (!progress.active || pass < 1 || pass > PROGRESS_PASSES)
		PG_RETURN_BOOL(true);
	/* groups are fewer and slower than lines: the clock more often */
	if (++progress.read[pass] % (pass == PROGRESS_PASS_JUDGING ? 256 : LINES_PER_CLOCK_READ) != 0)
		PG_RETURN_BOOL(true);
	now = GetCurrentTimestamp();
	if (TimestampDifferenceExceeds(progress.last, now, validation_progress_interval))
	{
		progress.last = now;
		report(pass, now);
	}
	PG_RETURN_BOOL(true);
}
