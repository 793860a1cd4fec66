/*
 * mue_cache.c
 *		Backend-local copy of the MUE tables in force (cpt_rules.mue_edit, by
 *		the periods of cpt_rules.mue_quarter), for the MUE rule's markers and
 *		checks, which run once per claim line.
 *
 * A statement trigger on each table a refresh writes sends a relcache
 * invalidation for it (rules_changed(), as for the add-on edits); the
 * callback drops the copy, and the next lookup reads the tables again with
 * the latest snapshot.  On Citus the tables are reference tables and each
 * node reads its own placements, whose triggers send the invalidations.
 */
#include "postgres.h"

#include "mue_cache.h"

#include "citus_meta.h"

#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "pg_compat.h"

static const char *const setting_names[MUE_SETTINGS] = {
	"practitioner", "outpatient hospital", "dme"
};

/* The tables read, in the order the query below names them. */
static const char *const mue_tables[] = {
	"mue_file", "mue_file_shipped", "mue_edit_loaded", "mue_edit_shipped"
};

typedef struct MuePeriod
{
	DateADT		from;
	DateADT		until;			/* exclusive; DATEVAL_NOEND: until further notice */
	MueValue	value;
} MuePeriod;

typedef struct MueKey
{
	int32		setting;
	CptCode		code;
} MueKey;

typedef struct MueEntry
{
	MueKey		key;
	int			nperiods;
	int32		indicators;		/* bit i: some period has indicator i */
	MuePeriod  *periods;		/* by from */
} MueEntry;

/*
 * The entries again as an open-addressing table, probed linearly: every
 * line a load writes is looked up, by its marker and by a sweep, and
 * dynahash's general lookup costs several times this one.  A slot holds
 * its code's latest period, so that a line of the current quarter is
 * judged from one cache line.
 */
typedef struct MueSlot
{
	int32		setting;		/* -1: an empty slot */
	CptCode		code;
	MuePeriod	latest;
	MueEntry   *entry;			/* every period */
} MueSlot;

static MueSlot *mue_slots = NULL;
static uint32 mue_slot_mask = 0;

static inline uint32
mue_slot_hash(int setting, CptCode code)
{
	return murmurhash32((uint32) code ^ ((uint32) setting << 29));
}

static MemoryContext mue_cxt = NULL;
static HTAB *mue_entries = NULL;
static bool mue_valid = false;
static bool mue_provisional = false;	/* built with a parallel query's snapshot */
static Oid	mue_table_oids[lengthof(mue_tables)];
static Oid	mue_read_oids[lengthof(mue_tables)];	/* on Citus, the placements */
static bool mue_on_every_node = false;

static int
setting_number_of(const char *name, size_t len)
{
	for (int i = 0; i < MUE_SETTINGS; i++)
		if (strlen(setting_names[i]) == len && memcmp(setting_names[i], name, len) == 0)
			return i;
	return -1;
}

int
mue_setting_number(const char *setting)
{
	return setting_number_of(setting, strlen(setting));
}

/* The setting's number for a text value, without a C string of it. */
static int
mue_setting_text_number(text *setting)
{
	return setting_number_of(VARDATA_ANY(setting), VARSIZE_ANY_EXHDR(setting));
}

static void
mue_xact_callback(XactEvent event, void *arg)
{
	if (mue_provisional)
	{
		mue_valid = false;
		mue_provisional = false;
	}
}

static int
period_cmp(const void *a, const void *b)
{
	DateADT		x = ((const MuePeriod *) a)->from;
	DateADT		y = ((const MuePeriod *) b)->from;

	return (x > y) - (x < y);
}

static void
mue_cache_build(void)
{
	Oid			nsp = get_namespace_oid("cpt_rules", false);
	Snapshot	snapshot;
	SPIPlanPtr	plan;
	int			rc;
	MemoryContext old;
	const char *read_names[lengthof(mue_tables)];

	if (mue_cxt == NULL)
		mue_cxt = AllocSetContextCreate(CacheMemoryContext, "cpt_rules MUE edits",
										ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(mue_cxt);
	mue_entries = NULL;
	mue_slots = NULL;
	mue_valid = false;
	mue_on_every_node = true;
	for (size_t i = 0; i < lengthof(mue_tables); i++)
	{
		bool		is_reference;

		mue_table_oids[i] = get_relname_relid(mue_tables[i], nsp);
		if (!OidIsValid(mue_table_oids[i]))
			elog(ERROR, "table cpt_rules.%s does not exist", mue_tables[i]);
		mue_read_oids[i] = citus_rule_table_to_read(mue_table_oids[i], &is_reference);
		mue_on_every_node = mue_on_every_node && is_reference;
		read_names[i] = quote_qualified_identifier(get_namespace_name(get_rel_namespace(mue_read_oids[i])),
												   get_rel_name(mue_read_oids[i]));
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * The views mue_quarter and mue_edit, written over the relations this
	 * node reads: every quarter loaded, and every shipped quarter no load
	 * replaced, each in force until the next of its setting.
	 */
	plan = SPI_prepare(psprintf("WITH files AS ("
								" SELECT f.setting, f.effective FROM %1$s f"
								" UNION ALL"
								" SELECT s.setting, s.effective FROM %2$s s"
								"  WHERE NOT EXISTS (SELECT 1 FROM %1$s f"
								"                     WHERE f.setting = s.setting AND f.effective = s.effective)"
								"), quarters AS ("
								" SELECT q.setting, q.effective,"
								"        pg_catalog.lead(q.effective) OVER (PARTITION BY q.setting ORDER BY q.effective) AS ends"
								"   FROM files q"
								"), edits AS ("
								" SELECT l.setting, l.effective, l.code, l.mue_value, l.indicator FROM %3$s l"
								" UNION ALL"
								" SELECT s.setting, s.effective, s.code, s.mue_value, s.indicator FROM %4$s s"
								"  WHERE NOT EXISTS (SELECT 1 FROM %1$s f"
								"                     WHERE f.setting = s.setting AND f.effective = s.effective)"
								")"
								" SELECT q.setting, e.code, q.effective, q.ends, e.mue_value, e.indicator"
								"   FROM quarters q JOIN edits e ON e.setting = q.setting AND e.effective = q.effective",
								read_names[0], read_names[1], read_names[2], read_names[3]),
					   0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare the MUE cache's query: %s", SPI_result_code_string(SPI_result));
	mue_provisional = IsInParallelMode();
	snapshot = RegisterSnapshot(mue_provisional ? GetActiveSnapshot() : GetLatestSnapshot());
	rc = SPI_execute_snapshot(plan, NULL, NULL, snapshot, InvalidSnapshot, true, false, 0);
	UnregisterSnapshot(snapshot);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the MUE tables: %s", SPI_result_code_string(rc));

	old = MemoryContextSwitchTo(mue_cxt);
	{
		HASHCTL		ctl;
		MueEntry   *e;

		ctl.keysize = sizeof(MueKey);
		ctl.entrysize = sizeof(MueEntry);
		ctl.hcxt = mue_cxt;
		mue_entries = hash_create("cpt_rules MUE edits", Max(SPI_processed, 64), &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			Datum		col[6];
			bool		isnull[6];
			MueKey		key;
			MuePeriod  *p;
			bool		found;

			/* one pass over each row: its first column is of variable width */
			heap_deform_tuple(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, col, isnull);
			memset(&key, 0, sizeof(key));
			key.setting = mue_setting_text_number(DatumGetTextPP(col[0]));
			key.code = DatumGetCptCode(col[1]);
			if (key.setting < 0)
				continue;
			e = hash_search(mue_entries, &key, HASH_ENTER, &found);
			if (!found)
			{
				e->nperiods = 0;
				e->indicators = 0;
				e->periods = NULL;
			}
			/* most codes have a period or two: grow one at a time */
			e->periods = e->periods ? repalloc(e->periods, sizeof(MuePeriod) * (e->nperiods + 1))
				: palloc(sizeof(MuePeriod));
			p = &e->periods[e->nperiods++];
			p->from = DatumGetDateADT(col[2]);
			p->until = isnull[3] ? DATEVAL_NOEND : DatumGetDateADT(col[3]);
			p->value.mue = DatumGetInt32(col[4]);
			p->value.indicator = DatumGetInt16(col[5]);
			e->indicators |= 1 << p->value.indicator;
		}
	}
	MemoryContextSwitchTo(old);
	SPI_finish();
	/* each code's periods by their first day, for mue_lookup() */
	{
		HASH_SEQ_STATUS seq;
		MueEntry   *e;

		uint32		nslots = 64;

		while (nslots < 2 * (uint32) hash_get_num_entries(mue_entries))
			nslots <<= 1;
		mue_slots = MemoryContextAlloc(mue_cxt, nslots * sizeof(MueSlot));
		for (uint32 i = 0; i < nslots; i++)
			mue_slots[i].setting = -1;
		mue_slot_mask = nslots - 1;
		hash_seq_init(&seq, mue_entries);
		while ((e = hash_seq_search(&seq)) != NULL)
		{
			uint32		i = mue_slot_hash(e->key.setting, e->key.code) & mue_slot_mask;

			if (e->nperiods > 1)
				qsort(e->periods, e->nperiods, sizeof(MuePeriod), period_cmp);
			while (mue_slots[i].setting >= 0)
				i = (i + 1) & mue_slot_mask;
			mue_slots[i].setting = e->key.setting;
			mue_slots[i].code = e->key.code;
			mue_slots[i].latest = e->periods[e->nperiods - 1];
			mue_slots[i].entry = e;
		}
	}
	mue_valid = true;
}

static inline MueSlot *
mue_slot(int setting, CptCode code)
{
	uint32		i;

	if (unlikely(!mue_valid))
		mue_cache_build();
	i = mue_slot_hash(setting, code) & mue_slot_mask;
	while (mue_slots[i].setting >= 0)
	{
		if (mue_slots[i].code == code && mue_slots[i].setting == setting)
			return &mue_slots[i];
		i = (i + 1) & mue_slot_mask;
	}
	return NULL;
}

static inline MueEntry *
mue_entry(int setting, CptCode code)
{
	MueSlot    *slot = mue_slot(setting, code);

	return slot ? slot->entry : NULL;
}

bool
mue_lookup(int setting, CptCode code, DateADT date, MueValue *out)
{
	MueSlot    *slot = mue_slot(setting, code);
	MueEntry   *e;

	if (slot == NULL)
		return false;
	if (slot->latest.from <= date)
	{
		if (date >= slot->latest.until)
			return false;
		*out = slot->latest.value;
		return true;
	}
	e = slot->entry;
	for (int i = e->nperiods - 2; i >= 0; i--)
		if (e->periods[i].from <= date)
		{
			if (date >= e->periods[i].until)
				return false;
			*out = e->periods[i].value;
			return true;
		}
	return false;
}

bool
mue_code_may_matter(int setting, CptCode code, int32 mask)
{
	MueEntry   *e = mue_entry(setting, code);

	return e != NULL && (e->indicators & mask) != 0;
}

void
mue_cache_relation_changed(Oid relid)
{
	if (!mue_valid)
		return;
	if (relid == InvalidOid)
	{
		mue_valid = false;
		return;
	}
	for (size_t i = 0; i < lengthof(mue_tables); i++)
		if (mue_table_oids[i] == relid || mue_read_oids[i] == relid)
			mue_valid = false;
}

bool
mue_tables_on_every_node(void)
{
	if (unlikely(!mue_valid))
		mue_cache_build();
	return mue_on_every_node;
}

void
mue_cache_init(void)
{
	RegisterXactCallback(mue_xact_callback, NULL);
}
