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
#include "citus_meta.h"

#include "access/parallel.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
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
	Oid			read_oids[N_RULE_TABLES];	/* on Citus, the local placements */
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

void
rules_cache_relation_changed(Oid relid)
{
	if (relid != InvalidOid)
	{
		bool		ours = false;

		for (int i = 0; i < (int) N_RULE_TABLES; i++)
			if (cache.table_oids[i] == relid || cache.read_oids[i] == relid)
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

/*
 * One rule row: a CMS edit in force (payer = false) or a payer pair.
 * has_primary is false for CMS's "contractor-defined" (CCCCC) rows.
 */
typedef struct RuleRow
{
	CptCode		addon;
	int16		aoc_type;		/* 0 for payer rows */
	bool		payer;
	bool		has_primary;
	CptCode		primary;
	DateADT		addon_ends;		/* DATEVAL_NOEND when NULL */
	DateADT		ends;			/* DATEVAL_NOEND when NULL */
	DateADT		effective;		/* DATEVAL_NOBEGIN when NULL */
} RuleRow;

typedef struct RuleRows
{
	RuleRow    *rows;
	int			n;
	int			cap;
} RuleRows;

/* Make room for one more element of a growing array. */
static void *
grow(void *arr, int n, int *cap, Size elsize)
{
	if (n < *cap)
		return arr;
	*cap = *cap ? *cap * 2 : 64;
	return arr ? repalloc(arr, elsize * *cap) : palloc(elsize * *cap);
}

static RuleRow *
next_row(RuleRows *rr)
{
	rr->rows = grow(rr->rows, rr->n, &rr->cap, sizeof(RuleRow));
	memset(&rr->rows[rr->n], 0, sizeof(RuleRow));
	return &rr->rows[rr->n++];
}

#define MAX_RULE_COLUMNS 7

typedef void (*RuleTableVisitor) (TupleTableSlot *slot, const AttrNumber *attno, void *arg);

/*
 * Visit every row of a rule table under snapshot, its columns found by
 * name (attno[i] for names[i]).
 */
static void
scan_rule_table(Oid relid, const char *const *names, int ncols, Snapshot snapshot,
				RuleTableVisitor visit, void *arg)
{
	Relation	rel = table_open(relid, AccessShareLock);
	AttrNumber	attno[MAX_RULE_COLUMNS];
	TupleTableSlot *slot;
	TableScanDesc scan;

	Assert(ncols <= MAX_RULE_COLUMNS);
	for (int i = 0; i < ncols; i++)
	{
		attno[i] = get_attnum(relid, names[i]);
		if (attno[i] == InvalidAttrNumber)
			elog(ERROR, "column \"%s\" of \"%s\" is missing",
				 names[i], RelationGetRelationName(rel));
	}
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, snapshot, 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
		visit(slot, attno, arg);
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
}

static CptCode
code_col(TupleTableSlot *slot, AttrNumber attno, bool *isnull)
{
	Datum		d = slot_getattr(slot, attno, isnull);

	return *isnull ? 0 : DatumGetCptCode(d);
}

static DateADT
date_col(TupleTableSlot *slot, AttrNumber attno, DateADT if_null)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, attno, &isnull);

	return isnull ? if_null : DatumGetDateADT(d);
}

/* The key of aoc_edit_removed: (addon, primary or none, edit_effective). */
typedef struct EditKey
{
	CptCode		addon;
	bool		has_primary;
	CptCode		primary;
	DateADT		effective;
} EditKey;

typedef struct EditKeys
{
	EditKey    *keys;
	int			n;
	int			cap;
} EditKeys;

static int
compare_edit_keys(const void *a, const void *b)
{
	const EditKey *ka = a;
	const EditKey *kb = b;

	if (ka->addon != kb->addon)
		return ka->addon < kb->addon ? -1 : 1;
	if (ka->has_primary != kb->has_primary)
		return ka->has_primary ? 1 : -1;
	if (ka->primary != kb->primary)
		return ka->primary < kb->primary ? -1 : 1;
	if (ka->effective != kb->effective)
		return ka->effective < kb->effective ? -1 : 1;
	return 0;
}

/* key columns, in the order both kinds of edit table are read */
static void
read_edit_key(TupleTableSlot *slot, const AttrNumber *attno, EditKey *key)
{
	bool		isnull;

	memset(key, 0, sizeof(EditKey));
	key->addon = code_col(slot, attno[0], &isnull);
	key->primary = code_col(slot, attno[1], &isnull);
	key->has_primary = !isnull;
	key->effective = date_col(slot, attno[2], DATEVAL_NOBEGIN);
}

static void
removed_visit(TupleTableSlot *slot, const AttrNumber *attno, void *arg)
{
	EditKeys   *ek = arg;

	ek->keys = grow(ek->keys, ek->n, &ek->cap, sizeof(EditKey));
	read_edit_key(slot, attno, &ek->keys[ek->n++]);
}

typedef struct EditsScan
{
	RuleRows   *rr;
	const EditKeys *removed;	/* NULL: none to leave out */
} EditsScan;

static void
edit_visit(TupleTableSlot *slot, const AttrNumber *attno, void *arg)
{
	EditsScan  *es = arg;
	EditKey		key;
	RuleRow    *row;
	bool		isnull;

	read_edit_key(slot, attno, &key);
	if (es->removed &&
		bsearch(&key, es->removed->keys, es->removed->n, sizeof(EditKey), compare_edit_keys))
		return;
	row = next_row(es->rr);
	row->addon = key.addon;
	row->has_primary = key.has_primary;
	row->primary = key.primary;
	row->effective = key.effective;
	row->aoc_type = DatumGetInt16(slot_getattr(slot, attno[3], &isnull));
	row->addon_ends = date_col(slot, attno[4], DATEVAL_NOEND);
	/* the pairing ends with the edit or the primary code, which first */
	row->ends = Min(date_col(slot, attno[5], DATEVAL_NOEND),
					date_col(slot, attno[6], DATEVAL_NOEND));
}

/*
 * The edits of the view cpt_rules.aoc_edit: shipped rows whose key is not
 * in aoc_edit_removed (primary compared IS NOT DISTINCT), and the added
 * rows.  Read directly, as a catalog is, rather than through the executor:
 * every new session builds the cache, and a query cost several times more.
 */
static void
read_cms_edits(RuleRows *rr, Oid shipped, Oid added, Oid removed, Snapshot snapshot)
{
	static const char *const edit_cols[] = {
		"addon", "primary_code", "edit_effective",
		"aoc_type", "addon_deleted", "edit_deleted", "primary_deleted"
	};
	EditKeys	ek = {NULL, 0, 0};
	EditsScan	es;

	scan_rule_table(removed, edit_cols, 3, snapshot, removed_visit, &ek);
	if (ek.n > 1)
		qsort(ek.keys, ek.n, sizeof(EditKey), compare_edit_keys);

	es.rr = rr;
	es.removed = ek.n > 0 ? &ek : NULL;
	scan_rule_table(shipped, edit_cols, lengthof(edit_cols), snapshot, edit_visit, &es);
	es.removed = NULL;
	scan_rule_table(added, edit_cols, lengthof(edit_cols), snapshot, edit_visit, &es);
}

static void
payer_visit(TupleTableSlot *slot, const AttrNumber *attno, void *arg)
{
	RuleRow    *row = next_row((RuleRows *) arg);
	bool		isnull;

	row->payer = true;
	row->addon = code_col(slot, attno[0], &isnull);
	row->has_primary = true;
	row->primary = code_col(slot, attno[1], &isnull);
	row->effective = date_col(slot, attno[2], DATEVAL_NOBEGIN);
	row->ends = date_col(slot, attno[3], DATEVAL_NOEND);
	row->addon_ends = DATEVAL_NOEND;
}

static void
read_payer_pairs(RuleRows *rr, Oid payer_pair, Snapshot snapshot)
{
	static const char *const pair_cols[] = {"addon", "primary_code", "effective", "deleted"};

	scan_rule_table(payer_pair, pair_cols, lengthof(pair_cols), snapshot, payer_visit, rr);
}

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
	MemoryContext readcxt;
	RuleRows	rr = {NULL, 0, 0};
	RuleRow    *rows;
	uint64		nrows;
	uint32		capacity = 64;
	Oid			nsp;
	Snapshot	snapshot;
	bool		is_reference;
	bool		on_every_node = true;

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
	{
		cache.table_oids[i] = get_relname_relid(rule_tables[i], nsp);
		if (!OidIsValid(cache.table_oids[i]))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("table \"%s.%s\" does not exist", RULES_SCHEMA, rule_tables[i]),
					 errhint("The cpt_rules extension is not installed correctly; "
							 "try DROP EXTENSION cpt_rules and CREATE EXTENSION cpt_rules.")));
		cache.read_oids[i] = citus_rule_table_to_read(cache.table_oids[i], &is_reference);
		on_every_node = on_every_node && is_reference;
	}

	/*
	 * Read the rules as committed now, like a catalog, not as of the caller's
	 * transaction snapshot: a cache built inside a REPEATABLE READ
	 * transaction outlives it.  A parallel query cannot take a new snapshot:
	 * read the query's, and keep the result no longer than this transaction.
	 */
	provisional = IsInParallelMode();
	snapshot = RegisterSnapshot(provisional ? GetActiveSnapshot() : GetLatestSnapshot());
	readcxt = AllocSetContextCreate(CurrentMemoryContext, "cpt_rules rules read",
									ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(readcxt);
	read_cms_edits(&rr, cache.read_oids[0], cache.read_oids[1], cache.read_oids[2], snapshot);
	read_payer_pairs(&rr, cache.read_oids[3], snapshot);
	MemoryContextSwitchTo(oldcxt);
	UnregisterSnapshot(snapshot);
	rows = rr.rows;
	nrows = rr.n;

	oldcxt = MemoryContextSwitchTo(cache.cxt);

	while (capacity < nrows * 2 + 16)
		capacity *= 2;
	cache.mask = capacity - 1;
	cache.keys = palloc(sizeof(uint32) * capacity);
	memset(cache.keys, 0xFF, sizeof(uint32) * capacity);
	cache.slots = palloc0(sizeof(AddonRule) * capacity);

	/*
	 * Pass 0 creates the add-ons from CMS rows, so that every add-on has its
	 * type before payer rows are attached to it; pass 1 counts primaries,
	 * pass 2 fills them.
	 */
	for (uint64 r = 0; r < nrows; r++)
	{
		const RuleRow *row = &rows[r];
		bool		found;
		AddonRule  *rule;

		if (row->payer)
			continue;
		rule = insert_slot(row->addon, &found);
		if (!found)
		{
			rule->addon = row->addon;
			rule->aoc_type = row->aoc_type;
			rule->effective = row->effective;
			rule->ends = row->addon_ends;
		}
		else if (row->effective < rule->effective)
			rule->effective = row->effective;
	}
	for (int pass = 1; pass <= 2; pass++)
	{
		for (uint64 r = 0; r < nrows; r++)
		{
			const RuleRow *row = &rows[r];
			/* a payer pair for a code CMS does not list is inert */
			AddonRule  *rule = find_slot(row->addon);
			PrimaryRule *p;

			if (rule == NULL || !row->has_primary)
				continue;		/* CCCCC: contractor-defined, no listed code */
			if (pass == 1)
			{
				rule->nprimaries++;
				continue;
			}
			if (rule->primaries == NULL)
			{
				rule->primaries = palloc(sizeof(PrimaryRule) * rule->nprimaries);
				rule->nprimaries = 0;
			}
			p = &rule->primaries[rule->nprimaries++];
			p->primary = row->primary;
			p->effective = row->effective;
			p->ends = row->ends;
			p->payer_defined = row->payer;
		}
	}

	for (uint32 i = 0; i < capacity; i++)
		if (cache.keys[i] != RULES_EMPTY_SLOT && cache.slots[i].nprimaries > 1)
			qsort(cache.slots[i].primaries, cache.slots[i].nprimaries,
				  sizeof(PrimaryRule), compare_primary_rules);

	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(readcxt);
	rules_table.on_every_node = on_every_node;
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
 * Rebuild until no invalidation arrives while reading: opening the rule
 * tables may process pending invalidation messages.
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
