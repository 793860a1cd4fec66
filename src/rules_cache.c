/*
 * rules_cache.c
 *		Backend-local cache of the add-on code rules.
 *
 * is_addon() and valid_pairing() run once per row over millions of claim
 * lines and inside the constraint trigger, so they must not query the rule
 * tables per call.  The rules (a few thousand rows) are read once into an
 * open-addressing hash keyed by add-on code.  A statement trigger on every
 * rule table sends a relcache invalidation for that table; the callback
 * below drops the cache, so a change is seen by this session at its next
 * command and by other sessions once it commits.
 */
#include "postgres.h"

#include "rules_cache.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#define RULES_SCHEMA "cpt_rules"

/* Tables whose changes invalidate the cache. */
static const char *const rule_tables[] = {
	"aoc_edit_shipped", "aoc_edit_added", "aoc_edit_removed", "payer_pair"
};
#define N_RULE_TABLES lengthof(rule_tables)

typedef struct RulesCache
{
	MemoryContext cxt;
	uint32		mask;
	uint32	   *keys;
	AddonRule  *slots;
	Oid			table_oids[N_RULE_TABLES];
} RulesCache;

/* what the build writes; rules_table is the read-only view the lookups use */
static RulesCache cache;
RulesTable	rules_table;
static uint64 invalidation_count = 0;
static bool provisional = false;	/* built from a parallel query's snapshot */

static inline bool
primary_rule_applies(const AddonRule *rule, const PrimaryRule *p,
					 DateADT on_date)
{
	/* Type 1 lists are closed: payer additions never count for them */
	if (p->payer_defined && rule->aoc_type == 1)
		return false;
	if (on_date == RULES_ANY_DATE)
		return true;
	return p->effective <= on_date && on_date < p->ends;
}

bool
rules_pairing_valid(const AddonRule *rule, CptCode primary, DateADT on_date)
{
	int			lo = 0;
	int			hi = rule->nprimaries;

	if (!rules_addon_active(rule, on_date))
		return false;

	/* binary search for the first entry of this primary */
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (rule->primaries[mid].primary < primary)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < rule->nprimaries && rule->primaries[lo].primary == primary; lo++)
		if (primary_rule_applies(rule, &rule->primaries[lo], on_date))
			return true;
	return false;
}

bool
rules_addon_has_primaries(const AddonRule *rule, DateADT on_date)
{
	for (int i = 0; i < rule->nprimaries; i++)
		if (primary_rule_applies(rule, &rule->primaries[i], on_date))
			return true;
	return false;
}

int
rules_line_primary(int line, int nlines, const CptCode *codes,
				   const bool *code_isnull, const DateADT *dates,
				   const bool *date_isnull)
{
	const AddonRule *rule;
	DateADT		on_date;
	bool		any_listed;

	if (code_isnull[line])
		return RULES_LINE_NEEDS_NONE;
	on_date = (dates && !date_isnull[line]) ? dates[line] : RULES_ANY_DATE;
	rule = rules_lookup_addon(codes[line]);
	if (rule == NULL || !rules_addon_active(rule, on_date))
		return RULES_LINE_NEEDS_NONE;

	any_listed = rules_addon_needs_listed(rule, on_date);
	for (int j = 0; j < nlines; j++)
	{
		if (j == line || code_isnull[j])
			continue;
		if (rules_primary_eligible(rule, any_listed, codes[j], on_date))
			return j;
	}
	return RULES_LINE_VIOLATES;
}

/* ---------- building ---------- */

static void
rules_invalidate_callback(Datum arg, Oid relid)
{
	if (relid != InvalidOid)
	{
		bool		ours = false;

		for (int i = 0; i < (int) N_RULE_TABLES; i++)
			if (cache.table_oids[i] == relid)
				ours = true;
		if (!ours)
			return;
	}
	/* counted even mid-build, so that the build knows to start over */
	rules_table.valid = false;
	invalidation_count++;
}

static int
compare_primary_rules(const void *a, const void *b)
{
	const PrimaryRule *pa = a;
	const PrimaryRule *pb = b;

	if (pa->primary != pb->primary)
		return pa->primary < pb->primary ? -1 : 1;
	if (pa->effective != pb->effective)
		return pa->effective < pb->effective ? -1 : 1;
	return 0;
}

static AddonRule *
insert_slot(CptCode code, bool *found)
{
	uint32		i = rules_probe(cache.keys, cache.mask, code);

	*found = cache.keys[i] == code;
	cache.keys[i] = code;
	return &cache.slots[i];
}

static DateADT
date_or(SPITupleTable *tt, int row, int col, DateADT if_null)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tt->vals[row], tt->tupdesc, col, &isnull);

	return isnull ? if_null : DatumGetDateADT(d);
}

/*
 * One row per (add-on, primary, period).  CMS rows come first so that every
 * add-on has its type before payer rows are attached to it; primary is NULL
 * for CMS's "contractor-defined" (CCCCC) rows.
 */
static const char *const load_query =
"SELECT e.addon, e.aoc_type, e.addon_deleted, e.primary_code,"
"       LEAST(e.edit_deleted, e.primary_deleted), e.edit_effective, false"
"  FROM " RULES_SCHEMA ".aoc_edit e"
" UNION ALL "
"SELECT p.addon, NULL, NULL, p.primary_code, p.deleted, p.effective, true"
"  FROM " RULES_SCHEMA ".payer_pair p"
" ORDER BY 7, 1";

static AddonRule *
find_slot(CptCode code)
{
	uint32		i = rules_probe(cache.keys, cache.mask, code);

	return cache.keys[i] == code ? &cache.slots[i] : NULL;
}

static void
rules_cache_build(void)
{
	MemoryContext oldcxt;
	SPITupleTable *tt;
	uint64		nrows;
	uint32		capacity = 64;
	Oid			nsp;
	SPIPlanPtr	plan;
	int			rc;

	if (cache.cxt == NULL)
		cache.cxt = AllocSetContextCreate(CacheMemoryContext,
										  "cpt_rules rules cache",
										  ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(cache.cxt);

	nsp = get_namespace_oid(RULES_SCHEMA, true);
	if (!OidIsValid(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_SCHEMA),
				 errmsg("schema \"%s\" does not exist", RULES_SCHEMA),
				 errhint("The cpt_rules extension is not installed correctly; "
						 "try DROP EXTENSION cpt_rules and CREATE EXTENSION cpt_rules.")));
	for (int i = 0; i < (int) N_RULE_TABLES; i++)
		cache.table_oids[i] = get_relname_relid(rule_tables[i], nsp);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/*
	 * Read the rules as committed now, like a catalog, not as of the caller's
	 * transaction snapshot: a cache built inside a REPEATABLE READ
	 * transaction outlives it.
	 */
	plan = SPI_prepare(load_query, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not read the add-on code rules");
	if (IsInParallelMode())
	{
		/*
		 * A parallel query cannot take a new snapshot: read the query's, and
		 * keep the result no longer than this transaction.
		 */
		provisional = true;
		rc = SPI_execute_plan(plan, NULL, NULL, true, 0);
	}
	else
	{
		provisional = false;
		rc = SPI_execute_snapshot(plan, NULL, NULL, GetLatestSnapshot(), InvalidSnapshot,
								  true, false, 0);
	}
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the add-on code rules");
	tt = SPI_tuptable;
	nrows = SPI_processed;

	oldcxt = MemoryContextSwitchTo(cache.cxt);

	while (capacity < nrows * 2 + 16)
		capacity *= 2;
	cache.mask = capacity - 1;
	cache.keys = palloc(sizeof(uint32) * capacity);
	memset(cache.keys, 0xFF, sizeof(uint32) * capacity);
	cache.slots = palloc0(sizeof(AddonRule) * capacity);

	/* pass 1 creates the add-ons and counts primaries; pass 2 fills them */
	for (int pass = 1; pass <= 2; pass++)
	{
		for (uint64 r = 0; r < nrows; r++)
		{
			HeapTuple	tup = tt->vals[r];
			TupleDesc	desc = tt->tupdesc;
			bool		isnull;
			bool		primary_isnull;
			bool		payer;
			CptCode		addon;
			Datum		primary;
			AddonRule  *rule;
			DateADT		effective = date_or(tt, r, 6, DATEVAL_NOBEGIN);

			addon = DatumGetCptCode(SPI_getbinval(tup, desc, 1, &isnull));
			primary = SPI_getbinval(tup, desc, 4, &primary_isnull);
			payer = DatumGetBool(SPI_getbinval(tup, desc, 7, &isnull));

			if (payer)
			{
				/* a payer pair for a code CMS does not list is inert */
				rule = find_slot(addon);
				if (rule == NULL)
					continue;
			}
			else if (pass == 1)
			{
				bool		found;

				rule = insert_slot(addon, &found);
				if (!found)
				{
					rule->addon = addon;
					rule->aoc_type = DatumGetInt16(SPI_getbinval(tup, desc, 2, &isnull));
					rule->effective = effective;
					rule->ends = date_or(tt, r, 3, DATEVAL_NOEND);
				}
				else if (effective < rule->effective)
					rule->effective = effective;
			}
			else
				rule = find_slot(addon);

			if (primary_isnull)
				continue;		/* CCCCC: contractor-defined, no listed code */

			if (pass == 1)
				rule->nprimaries++;
			else
			{
				PrimaryRule *p;

				if (rule->primaries == NULL)
				{
					rule->primaries = palloc(sizeof(PrimaryRule) * rule->nprimaries);
					rule->nprimaries = 0;
				}
				p = &rule->primaries[rule->nprimaries++];
				p->primary = DatumGetCptCode(primary);
				p->effective = effective;
				p->ends = date_or(tt, r, 5, DATEVAL_NOEND);
				p->payer_defined = payer;
			}
		}
	}

	for (uint32 i = 0; i < capacity; i++)
		if (cache.keys[i] != RULES_EMPTY_SLOT && cache.slots[i].nprimaries > 1)
			qsort(cache.slots[i].primaries, cache.slots[i].nprimaries,
				  sizeof(PrimaryRule), compare_primary_rules);

	MemoryContextSwitchTo(oldcxt);
	SPI_finish();
}

/* Make a finished build visible to the inline lookup. */
static void
publish(void)
{
	memset(rules_table.filter, 0, sizeof(rules_table.filter));
	rules_table.naddons = 0;
	for (uint32 i = 0; i <= cache.mask; i++)
	{
		uint32		bit;

		if (cache.keys[i] == RULES_EMPTY_SLOT)
			continue;
		rules_table.naddons++;
		bit = murmurhash32(cache.keys[i]) >> 16;
		rules_table.filter[bit / 64] |= UINT64CONST(1) << (bit % 64);
	}
	rules_table.mask = cache.mask;
	rules_table.keys = cache.keys;
	rules_table.slots = cache.slots;
}

/*
 * Rebuild until no invalidation arrives while reading: the SPI query itself
 * may process pending invalidation messages.
 */
pg_noinline void
rules_cache_rebuild(void)
{
	for (;;)
	{
		uint64		before = invalidation_count;

		rules_table.valid = false;
		rules_cache_build();
		publish();
		rules_table.valid = true;
		if (invalidation_count == before)
			break;
	}
}

void
rules_reject_infinite_date_slow(CptCode addon, DateADT on_date)
{
	char		code[6];

	if (rules_lookup_addon(addon) == NULL)
		return;
	cpt_code_to_cstring(addon, code);
	ereport(ERROR,
			(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
			 errmsg("date of service %s of add-on code %s is outside the range of the add-on rules",
					DATE_IS_NOBEGIN(on_date) ? "-infinity" : "infinity", code),
			 errhint("Give the line a finite date of service, or NULL if it has none.")));
}

void
rules_cache_refresh(void)
{
	AcceptInvalidationMessages();
}

static void
rules_xact_callback(XactEvent event, void *arg)
{
	if (provisional && (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
						event == XACT_EVENT_PREPARE))
	{
		rules_table.valid = false;
		provisional = false;
	}
}

void
rules_cache_init(void)
{
	CacheRegisterRelcacheCallback(rules_invalidate_callback, (Datum) 0);
	RegisterXactCallback(rules_xact_callback, NULL);
}

/*
 * Statement trigger on the rule tables: announce the change through the
 * relcache invalidation machinery, which is transactional and reaches every
 * backend.
 */
PG_FUNCTION_INFO_V1(rules_changed);
Datum
rules_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by trigger manager",
						"rules_changed")));
	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);
}
