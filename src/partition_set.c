/*
 * partition_set.c
 *		The leaf partitions of one partition tree that a rule's check reads,
 *		kept once per backend for the whole tree.
 *
 * Every trigger of a rule on a tree of P partitions reads the same leaves;
 * only where it starts differs.  Kept per trigger, the list costs P^2 in
 * memory and in the catalog reads that build it.  Here it is kept per
 * (tree, columns), each leaf's scan details are resolved the first time a
 * check reads it, and a trigger keeps only its own position.
 *
 * A set is dropped by a relcache invalidation of any partitioned table in
 * it (a partition attached or detached at any depth, a column renamed); a
 * leaf's own invalidation (an index made or dropped) only makes that leaf
 * be resolved again.
 */
#include "postgres.h"

#include "partition_set.h"

#include "access/relation.h"
#include "access/table.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "partitioning/partdesc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

static HTAB *sets = NULL;
static uint64 set_invalidations = 0;	/* bumped by every callback */
static uint64 next_generation = 1;

typedef struct LeafPlace
{
	Oid			relid;			/* first: sorted and searched by oid_cmp */
	int			bound;			/* in the subtree's bound order; INT_MAX below it */
	int			seq;			/* then as found */
} LeafPlace;

static int
oid_cmp(const void *a, const void *b)
{
	Oid			x = *(const Oid *) a;
	Oid			y = *(const Oid *) b;

	return x < y ? -1 : x > y;
}

static int
leaf_place_cmp(const void *a, const void *b)
{
	const LeafPlace *x = a;
	const LeafPlace *y = b;

	if (x->bound != y->bound)
		return x->bound < y->bound ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
relid_position_cmp(const void *key, const void *elem)
{
	return oid_cmp(key, elem);
}

static void
build_set(PartitionSet *set)
{
	Oid			subtree = set->key.subtree;
	Relation	prel;
	PartitionDesc pd;
	List	   *all;
	ListCell   *lc;
	LeafPlace  *places;
	LeafPlace  *direct;			/* the subtree's own partitions, by relid */
	int			ndirect_children;
	int			n = 0;
	int			nparents = 0;
	Oid		   *parents;
	MemoryContext cxt = set->cxt;

	/*
	 * The check reads lines with the latest snapshot, so it must read the
	 * partitions as of then too.  A deferred check may run on a catalog
	 * snapshot from before a partition that another session attached had
	 * committed: pg_inherits sends no invalidation that would refresh it.
	 */
	InvalidateCatalogSnapshot();
	all = find_all_inheritors(subtree, NoLock, NULL);

	prel = relation_open(subtree, AccessShareLock);
	pd = RelationGetPartitionDesc(prel, false);
	ndirect_children = pd->nparts;
	direct = palloc(sizeof(LeafPlace) * Max(ndirect_children, 1));
	for (int i = 0; i < ndirect_children; i++)
	{
		direct[i].relid = pd->oids[i];
		direct[i].bound = i;
	}
	relation_close(prel, NoLock);
	qsort(direct, ndirect_children, sizeof(LeafPlace), oid_cmp);

	places = palloc(sizeof(LeafPlace) * list_length(all));
	parents = MemoryContextAlloc(cxt, sizeof(Oid) * list_length(all));
	foreach(lc, all)
	{
		Oid			child = lfirst_oid(lc);
		char		relkind = get_rel_relkind(child);

		if (relkind == RELKIND_PARTITIONED_TABLE)
			parents[nparents++] = child;
		else if (relkind == RELKIND_RELATION)
		{
			LeafPlace  *own = bsearch(&child, direct, ndirect_children, sizeof(LeafPlace),
								  oid_cmp);

			places[n].relid = child;
			places[n].bound = own ? own->bound : INT_MAX;
			places[n].seq = n;
			n++;
		}
	}
	pfree(direct);
	qsort(places, n, sizeof(LeafPlace), leaf_place_cmp);

	set->ntargets = n;
	set->ndirect = 0;
	set->targets = MemoryContextAllocZero(cxt, sizeof(ProbeTarget) * Max(n, 1));
	set->filled = MemoryContextAllocZero(cxt, sizeof(bool) * Max(n, 1));
	set->sorted_relids = MemoryContextAlloc(cxt, sizeof(Oid) * Max(n, 1));
	set->sorted_pos = MemoryContextAlloc(cxt, sizeof(int) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		set->targets[i].relid = places[i].relid;
		set->sorted_relids[i] = places[i].relid;
		if (places[i].bound != INT_MAX)
			set->ndirect++;
	}
	pfree(places);
	qsort(set->sorted_relids, n, sizeof(Oid), oid_cmp);
	for (int i = 0; i < n; i++)
	{
		Oid		   *hit = bsearch(&set->targets[i].relid, set->sorted_relids, n,
								  sizeof(Oid), relid_position_cmp);

		set->sorted_pos[hit - set->sorted_relids] = i;
	}
	qsort(parents, nparents, sizeof(Oid), oid_cmp);
	set->nparents = nparents;
	set->parents = parents;
	list_free(all);
}

/*
 * Give back the memory of sets that went stale and were not built again
 * (their tree was renamed, detached or dropped).  The entries stay: a
 * RuleInfo may still point to one, and finds it invalid.  Called only
 * between checks, never while one reads a set's targets.
 */
static void
release_stale_sets(PartitionSet *except)
{
	HASH_SEQ_STATUS status;
	PartitionSet *set;

	hash_seq_init(&status, sets);
	while ((set = hash_seq_search(&status)) != NULL)
		if (!set->valid && set != except && set->cxt != NULL && set->ntargets + set->nparents > 0)
		{
			MemoryContextReset(set->cxt);
			set->ntargets = 0;
			set->ndirect = 0;
			set->nparents = 0;
		}
}

PartitionSet *
partition_set_get(Oid subtree, const RuleColumnNames *names)
{
	PartitionSetKey key;
	PartitionSet *set;
	bool		found;

	if (sets == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(PartitionSetKey);
		ctl.entrysize = sizeof(PartitionSet);
		sets = hash_create("cpt_rules partition sets", 16, &ctl, HASH_ELEM | HASH_BLOBS);
	}
	memset(&key, 0, sizeof(key));
	key.subtree = subtree;
	key.names = *names;
	set = hash_search(sets, &key, HASH_ENTER, &found);
	if (!found)
	{
		set->valid = false;
		set->cxt = NULL;
		set->ntargets = 0;
		set->nparents = 0;
	}
	if (!set->valid)
		release_stale_sets(set);
	while (!set->valid)
	{
		uint64		before = set_invalidations;

		set->ntargets = 0;
		set->nparents = 0;
		if (set->cxt)
			MemoryContextReset(set->cxt);
		else
			set->cxt = AllocSetContextCreate(CacheMemoryContext, "cpt_rules partition set",
											 ALLOCSET_SMALL_SIZES);
		set->generation = next_generation++;
		build_set(set);
		/* a lock taken while building may have brought news: build again */
		set->valid = (set_invalidations == before);
	}
	return set;
}

int
partition_set_position(const PartitionSet *set, Oid relid)
{
	Oid		   *hit;

	if (set->ntargets == 0)
		return -1;
	hit = bsearch(&relid, set->sorted_relids, set->ntargets, sizeof(Oid),
				  relid_position_cmp);
	return hit ? set->sorted_pos[hit - set->sorted_relids] : -1;
}

int
partition_set_nth(const PartitionSet *set, int own_pos, int t)
{
	int			before;
	int			after;
	int			pairs;

	if (t == 0)
		return own_pos;
	if (own_pos >= set->ndirect)
		return t - 1 < own_pos ? t - 1 : t;	/* in order, past itself */
	if (t >= set->ndirect)
		return t;				/* the leaves further down */
	before = own_pos;
	after = set->ndirect - 1 - own_pos;
	pairs = Min(before, after);
	if (t <= 2 * pairs)
		return t % 2 ? own_pos - (t + 1) / 2 : own_pos + t / 2;
	return before > after ? own_pos - (t - pairs) : own_pos + (t - pairs);
}

ProbeTarget *
partition_set_target(PartitionSet *set, int pos, Relation rel)
{
	ProbeTarget *t = &set->targets[pos];

	Assert(RelationGetRelid(rel) == t->relid);
	if (!set->filled[pos])
	{
		rule_probe_target(t, rel, &set->key.names);
		set->filled[pos] = true;
	}
	return t;
}

void
partition_set_relation_changed(Oid relid)
{
	HASH_SEQ_STATUS status;
	PartitionSet *set;

	set_invalidations++;
	if (sets == NULL)
		return;
	hash_seq_init(&status, sets);
	while ((set = hash_seq_search(&status)) != NULL)
	{
		int			pos;

		if (!set->valid)
			continue;
		if (relid == InvalidOid ||
			bsearch(&relid, set->parents, set->nparents, sizeof(Oid), oid_cmp) != NULL)
		{
			set->valid = false;
			continue;
		}
		pos = partition_set_position(set, relid);
		if (pos >= 0)
		{
			set->filled[pos] = false;
			continue;
		}
		/* an index of a leaf: a change to it also reaches the leaf, mostly */
		for (int i = 0; i < set->ntargets; i++)
			if (set->filled[i] && set->targets[i].indexoid == relid)
				set->filled[i] = false;
	}
}
