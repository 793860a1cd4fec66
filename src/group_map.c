/*
 * group_map.c
 *		Groups of an unindexed relation, mapped in two sequential scans.
 *
 * Without an index on the group columns a check must scan the relation, so
 * a statement writing n claims would scan it n times.  Instead, once a
 * command has probed the same relation a few times, two scans with the
 * latest snapshot collect the groups that hold an add-on (first scan) and
 * then every coded line of those groups (second scan).  Later probes in the
 * same command look their group up here.
 *
 * The map is only a hint.  Other transactions may commit after it was made,
 * and the caller validates every line it takes from it: a line of ours must
 * still be visible, another's must be share-locked, which fails if it was
 * changed since.  A group the map knows no primary for is read from the
 * table as before, and then the map is rebuilt at the next command.  So the
 * map can make a check cheaper, never wrong.  It lives in the transaction's
 * memory and is forgotten when the transaction ends.
 */
#include "postgres.h"

#include "group_map.h"
#include "rule_kind.h"

#include "access/sysattr.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/typcache.h"

#include "rules_cache.h"

/* Probes of one relation in one command before it is worth mapping. */
#define PROBES_BEFORE_MAPPING 4

typedef struct MapGroup
{
	struct MapGroup *next;		/* in its bucket */
	uint32		hash;
	Datum	   *values;
	bool	   *isnull;
	int			nlines;
	int			capacity;
	MapLine    *lines;
} MapGroup;

typedef struct MapKey
{
	Oid			tgoid;
	Oid			relid;
} MapKey;

struct GroupMap
{
	MapKey		key;			/* hash key */
	CommandId	cid;			/* the command it was made in, or probed in */
	int			probes;			/* in that command */
	bool		built;
	bool		stale;
	MemoryContext cxt;
	uint32		nbuckets;		/* a power of 2 */
	MapGroup  **buckets;
	FmgrInfo	hash_fn[MAX_GROUP_COLUMNS];
};

static HTAB *maps = NULL;		/* in TopTransactionContext */

static void
group_map_xact_callback(XactEvent event, void *arg)
{
	/* the maps' memory goes with TopTransactionContext */
	maps = NULL;
}

void
group_map_init(void)
{
	RegisterXactCallback(group_map_xact_callback, NULL);
}

static uint32
group_hash(GroupMap *map, RuleInfo *info, const Datum *values, const bool *isnull)
{
	uint32		h = 0;

	for (int g = 0; g < info->ngroup; g++)
	{
		uint32		v = isnull[g] ? 0x9e3779b9
			: DatumGetUInt32(FunctionCall1Coll(&map->hash_fn[g], info->group_collations[g], values[g]));

		h = (h << 5 | h >> 27) ^ v;
	}
	return h;
}

static MapGroup *
find_group(GroupMap *map, RuleInfo *info, uint32 hash, const Datum *values, const bool *isnull)
{
	for (MapGroup *grp = map->buckets[hash & (map->nbuckets - 1)]; grp; grp = grp->next)
	{
		bool		same = grp->hash == hash;

		for (int g = 0; same && g < info->ngroup; g++)
			same = grp->isnull[g] == isnull[g] &&
				(isnull[g] ||
				 DatumGetBool(FunctionCall2Coll(&info->group_eq[g], info->group_collations[g],
												grp->values[g], values[g])));
		if (same)
			return grp;
	}
	return NULL;
}

static void
add_group(GroupMap *map, RuleInfo *info, uint32 hash, const Datum *values, const bool *isnull)
{
	MapGroup   *grp = MemoryContextAllocZero(map->cxt, sizeof(MapGroup));
	uint32		b = hash & (map->nbuckets - 1);

	grp->hash = hash;
	grp->values = MemoryContextAlloc(map->cxt, sizeof(Datum) * info->ngroup);
	grp->isnull = MemoryContextAlloc(map->cxt, sizeof(bool) * info->ngroup);
	for (int g = 0; g < info->ngroup; g++)
	{
		int16		typlen;
		bool		typbyval;

		grp->isnull[g] = isnull[g];
		get_typlenbyval(info->group_types[g], &typlen, &typbyval);
		grp->values[g] = isnull[g] ? (Datum) 0 : datumCopy(values[g], typbyval, typlen);
	}
	grp->next = map->buckets[b];
	map->buckets[b] = grp;
}

static void
slot_group(RuleInfo *info, const ProbeTarget *target, TupleTableSlot *slot,
		   Datum *values, bool *isnull)
{
	for (int g = 0; g < info->ngroup; g++)
		values[g] = slot_getattr(slot, target->group_attnos[g], &isnull[g]);
}

static bool
slot_code(const ProbeTarget *target, TupleTableSlot *slot, MapLine *line)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, target->code_attno, &isnull);

	if (isnull || !cpt_code_of_column(d, target->code_is_text, &line->code))
		return false;
	line->date_isnull = true;
	line->date = 0;
	if (target->date_attno != InvalidAttrNumber)
	{
		d = slot_getattr(slot, target->date_attno, &line->date_isnull);
		if (!line->date_isnull)
			line->date = DatumGetDateADT(d);
	}
	return true;
}

static void
build(GroupMap *map, RuleInfo *info, int t, Relation trel)
{
	const ProbeTarget *target = rule_target(info, t);
	Snapshot	snapshot;
	TupleTableSlot *slot = table_slot_create(trel, NULL);
	MemoryContext oldcxt;
	double		ntuples = Max(trel->rd_rel->reltuples, 1024);

	if (map->cxt)
		MemoryContextReset(map->cxt);
	else
		map->cxt = AllocSetContextCreate(TopTransactionContext, "cpt_rules group map",
										 ALLOCSET_DEFAULT_SIZES);
	map->nbuckets = 1024;
	while (map->nbuckets < ntuples / 4 && map->nbuckets < (1u << 24))
		map->nbuckets <<= 1;
	map->buckets = MemoryContextAllocZero(map->cxt, sizeof(MapGroup *) * map->nbuckets);

	/* the caller made our own changes visible */
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	for (int pass = 1; pass <= 2; pass++)
	{
		TableScanDesc scan = table_beginscan(trel, snapshot, 0, NULL);

		while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
		{
			Datum		values[MAX_GROUP_COLUMNS];
			bool		isnull[MAX_GROUP_COLUMNS];
			MapLine		line;
			uint32		hash;
			MapGroup   *grp;

			CHECK_FOR_INTERRUPTS();
			if (!slot_code(target, slot, &line))
				continue;
			if (pass == 1 && !info->kind->line_may_break(line.code, line.date, line.date_isnull))
				continue;
			slot_group(info, target, slot, values, isnull);
			hash = group_hash(map, info, values, isnull);
			grp = find_group(map, info, hash, values, isnull);
			if (pass == 1)
			{
				if (grp == NULL)
					add_group(map, info, hash, values, isnull);
				continue;
			}
			if (grp == NULL)
				continue;
			oldcxt = MemoryContextSwitchTo(map->cxt);
			if (grp->nlines == grp->capacity)
			{
				grp->capacity = grp->capacity ? grp->capacity * 2 : 8;
				grp->lines = grp->lines ? repalloc(grp->lines, sizeof(MapLine) * grp->capacity)
					: palloc(sizeof(MapLine) * grp->capacity);
			}
			MemoryContextSwitchTo(oldcxt);
			line.tid = slot->tts_tid;
			{
				bool		xisnull;
				TransactionId xmin = DatumGetTransactionId(slot_getsysattr(slot, MinTransactionIdAttributeNumber,
																		  &xisnull));

				line.ours = TransactionIdIsCurrentTransactionId(xmin);
			}
			grp->lines[grp->nlines++] = line;
		}
		table_endscan(scan);
	}
	UnregisterSnapshot(snapshot);
	ExecDropSingleTupleTableSlot(slot);
	map->built = true;
}

GroupMap *
group_map_for(RuleInfo *info, int t, Relation trel)
{
	MapKey		key;
	GroupMap   *map;
	bool		found;
	CommandId	cid = GetCurrentCommandId(false);

	if (maps == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(MapKey);
		ctl.entrysize = sizeof(GroupMap);
		ctl.hcxt = TopTransactionContext;
		maps = hash_create("cpt_rules group maps", 16, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	memset(&key, 0, sizeof(key));
	key.tgoid = info->tgoid;
	key.relid = rule_target_relid(info, t);
	map = hash_search(maps, &key, HASH_ENTER, &found);
	if (!found)
	{
		map->cid = cid;
		map->probes = 0;
		map->built = false;
		map->stale = false;
		map->cxt = NULL;
		for (int g = 0; g < info->ngroup; g++)
		{
			TypeCacheEntry *tce = lookup_type_cache(info->group_types[g], TYPECACHE_HASH_PROC_FINFO);

			if (!OidIsValid(tce->hash_proc_finfo.fn_oid))
			{
				map->probes = -1;	/* cannot hash these groups: never map */
				break;
			}
			map->hash_fn[g] = tce->hash_proc_finfo;
		}
	}
	if (map->probes < 0)
		return NULL;
	if (map->cid != cid)
	{
		/* a new command may have written lines: map again if it pays */
		map->cid = cid;
		map->probes = 0;
		map->built = false;
		map->stale = false;
	}
	if (map->stale)
		return NULL;			/* it missed in this command: read the table */
	if (!map->built && ++map->probes > PROBES_BEFORE_MAPPING)
		build(map, info, t, trel);
	return map->built ? map : NULL;
}

const MapLine *
group_map_lines(GroupMap *map, RuleInfo *info, const Datum *values,
				const bool *isnull, int *nlines)
{
	MapGroup   *grp = find_group(map, info, group_hash(map, info, values, isnull), values, isnull);

	*nlines = grp ? grp->nlines : 0;
	return grp ? grp->lines : NULL;
}

void
group_map_stale(GroupMap *map)
{
	map->stale = true;
}
