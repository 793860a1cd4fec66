/*
 * mue_sweep.c
 *		The MUE rule's check of many lines at once: one pass over the
 *		relations a rule reads, summing every group, code and date that holds
 *		a line this transaction wrote, in place of one read of a group per
 *		line.
 *
 * A bulk load queues a check for each line billing a code whose edit it
 * could break; checked one by one, each costs an index descent and the heap
 * fetches of its group.  The checks keep count, per rule and relation, of
 * the lines judged one by one since the relation was last swept; once those
 * have cost about what reading the relations whole would, the next check
 * sweeps them instead; and where the markers have queued that many checks
 * of the rule already, the first check sweeps.  So a transaction pays at most about
 * twice the cheaper of the two ways, and a transaction writing a few lines
 * to a large table never sweeps it.
 *
 * The sweep runs under the rule's exclusive lock, the one a transaction
 * holding many key locks takes (mue_kind.c): no other transaction can check
 * lines of the rule, and so commit them, until this one ends.  It reads with
 * the latest snapshot, as the one-line check does.  A line this transaction
 * wrote under an earlier command was in it, so its group, code and date were
 * judged, and its own queued check has nothing left to do; a line written
 * later is checked as usual.  A subtransaction rolled back forgets its
 * sweeps (its lock is gone, and PostgreSQL fires again the checks it fired),
 * and hands them to its parent when it commits.
 *
 * Once a sweep is the cheaper way, the arriving marker stops queueing
 * checks: queueing and firing one costs about 3,500 instructions and a
 * fetch of its line.  A marker skips a line only when its own call site
 * (the rule's trigger on that relation, in the running statement) has
 * queued a check already.  That check fires after the statement's last
 * line, in the same subtransaction or not at all, and the first check of
 * the rule on a relation holding skipped lines not swept since sweeps it,
 * whatever line it was queued for.  The skipping command is marked used,
 * so that the sweep's command counter passes it.  Such a sweep must judge:
 * where its sums outgrow maintenance_work_mem it reads the relations again
 * in parts rather than give up.
 */
#include "postgres.h"

#include "group_check.h"
#include "mue_kind.h"

#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "common/int.h"
#include "nodes/nodeFuncs.h"
#include "rewrite/prs2lock.h"
#include "rewrite/rewriteManip.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/rel.h"

/*
 * Lines checked one by one that cost about what sweeping one block does
 * (measured: some 22,000 instructions a line's check, which descends an
 * index and fetches its group's lines of the day; some 1,200 a line swept,
 * about 110 lines to a block of a claims table).
 */
#define SWEEP_CHECKS_PER_BLOCK	6

/* the fewest checks before a sweep, so that a short transaction never sweeps */
#define SWEEP_MIN_CHECKS		16

/* ---------- what this transaction swept ---------- */

typedef struct SweepStateKey
{
	Oid			rootid;			/* the rule: the table it was attached to */
	NameData	rulename;		/* and its name (a table may have several) */
	Oid			relid;			/* a relation it reads */
} SweepStateKey;

typedef struct SweepState
{
	SweepStateKey key;
	uint64		checks;			/* lines checked one by one since its last sweep */
	uint64		marked;			/* of relid 0, the rule's: lines its markers found
								 * could break it since its last sweep */
	uint64		next_estimate;	/* when to count the blocks again */
	uint64		blocks;			/* of the relations a sweep of it reads */
	CommandId	swept_before;	/* our lines written before it are judged */
	int			swept_level;	/* the transaction nesting level of that sweep */
	bool		too_big;		/* a sweep's sums outgrew their memory */
	bool		skipped;		/* its markers left lines unqueued, */
	CommandId	skipped_cid;	/* the last under this command */
} SweepState;

static HTAB *sweep_states = NULL;	/* in TopTransactionContext */
static SweepState *last_state = NULL;	/* the one asked for last: a load asks for one */

/* transactions ended in this backend: tells a marker's call site it is stale */
static uint64 xacts_ended = 0;

static void
sweep_xact_callback(XactEvent event, void *arg)
{
	sweep_states = NULL;
	last_state = NULL;
	xacts_ended++;
}

static void
sweep_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	HASH_SEQ_STATUS seq;
	SweepState *s;
	int			level = GetCurrentTransactionNestLevel();

	if (sweep_states == NULL ||
		(event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB))
		return;
	hash_seq_init(&seq, sweep_states);
	while ((s = hash_seq_search(&seq)) != NULL)
	{
		if (s->swept_before == InvalidCommandId || s->swept_level < level)
			continue;
		if (event == SUBXACT_EVENT_ABORT_SUB)
			s->swept_before = InvalidCommandId;
		else
			s->swept_level = level - 1;
	}
}

static SweepState *
sweep_state_of(Oid rootid, const char *rulename, Oid relid, HASHACTION action)
{
	SweepStateKey key;
	SweepState *s;
	bool		found;

	if (last_state != NULL && last_state->key.rootid == rootid &&
		last_state->key.relid == relid &&
		strcmp(NameStr(last_state->key.rulename), rulename) == 0)
		return last_state;
	if (sweep_states == NULL)
	{
		HASHCTL		ctl;

		if (action == HASH_FIND)
			return NULL;
		ctl.keysize = sizeof(SweepStateKey);
		ctl.entrysize = sizeof(SweepState);
		ctl.hcxt = TopTransactionContext;
		sweep_states = hash_create("MUE rule sweeps", 16, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	memset(&key, 0, sizeof(key));
	key.rootid = rootid;
	namestrcpy(&key.rulename, rulename);
	key.relid = relid;
	s = hash_search(sweep_states, &key, action, &found);
	if (s != NULL && !found)
	{
		s->checks = 0;
		s->marked = 0;
		s->next_estimate = SWEEP_MIN_CHECKS;
		s->blocks = 0;
		s->swept_before = InvalidCommandId;
		s->swept_level = 0;
		s->too_big = false;
		s->skipped = false;
		s->skipped_cid = InvalidCommandId;
	}
	if (s != NULL)
		last_state = s;
	return s;
}

static inline SweepState *
sweep_state(const RuleInfo *info, Oid relid, HASHACTION action)
{
	return sweep_state_of(info->rootid, NameStr(info->rulename), relid, action);
}

/* The heap tuple in a slot, if it holds one. */
static HeapTuple
slot_heap_tuple(TupleTableSlot *slot)
{
	if (TTS_IS_BUFFERTUPLE(slot))
		return ((BufferHeapTupleTableSlot *) slot)->base.tuple;
	if (TTS_IS_HEAPTUPLE(slot))
		return ((HeapTupleTableSlot *) slot)->tuple;
	return NULL;
}

/* Did this transaction write the line under a command before cid? */
static bool
line_written_before(TupleTableSlot *slot, CommandId cid)
{
	HeapTuple	tuple = slot_heap_tuple(slot);

	if (tuple == NULL ||
		!TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetRawXmin(tuple->t_data)))
		return false;
	return HeapTupleHeaderGetCmin(tuple->t_data) < cid;
}

bool
mue_sweep_covers(const RuleInfo *info, Relation rel, TupleTableSlot *slot)
{
	SweepState *s = sweep_state(info, RelationGetRelid(rel), HASH_FIND);

	return s != NULL && s->swept_before != InvalidCommandId &&
		line_written_before(slot, s->swept_before);
}

/* The blocks of the relations a sweep from rel reads. */
static uint64
sweep_blocks(RuleInfo *info, Relation rel)
{
	uint64		blocks = 0;

	for (int t = 0; t < info->ntargets; t++)
	{
		Oid			relid = rule_target_relid(info, t);
		Relation	trel;

		if (relid == RelationGetRelid(rel))
		{
			blocks += RelationGetNumberOfBlocks(rel);
			continue;
		}
		/* as a check of a group locks the relations it reads */
		trel = try_table_open(relid, RowShareLock);
		if (trel == NULL)
			continue;
		blocks += RelationGetNumberOfBlocks(trel);
		table_close(trel, NoLock);
	}
	return blocks;
}

bool
mue_sweep_due(RuleInfo *info, Relation rel)
{
	SweepState *s = sweep_state(info, RelationGetRelid(rel), HASH_ENTER);
	uint64		work;

	/* the checks its markers queued, or those made one by one */
	work = Max(++s->checks, sweep_state(info, InvalidOid, HASH_ENTER)->marked);
	if (work < SWEEP_MIN_CHECKS || s->too_big)
		return false;
	/* the relations grow as the load goes on: counted again now and then */
	if (work >= s->next_estimate)
	{
		s->blocks = sweep_blocks(info, rel);
		s->next_estimate = work * 2;
	}
	return work >= s->blocks * SWEEP_CHECKS_PER_BLOCK;
}

bool
mue_sweep_owed(const RuleInfo *info, Relation rel)
{
	SweepState *s = sweep_state(info, RelationGetRelid(rel), HASH_FIND);

	return s != NULL && s->skipped &&
		(s->swept_before == InvalidCommandId || s->skipped_cid >= s->swept_before);
}

/* ---------- the markers' side ---------- */

/*
 * The rule trigger on rel whose WHEN clause this marker call is, as
 * TriggerEnabled() prepared it; none when two triggers have the same one.
 */
static Trigger *
marker_trigger(Relation rel, FmgrInfo *flinfo, bool arriving)
{
	TriggerDesc *trigdesc = rel->trigdesc;
	Trigger    *found = NULL;

	if (trigdesc == NULL || flinfo->fn_expr == NULL)
		return NULL;
	for (int i = 0; i < trigdesc->numtriggers; i++)
	{
		Trigger    *tg = &trigdesc->triggers[i];
		Node	   *qual;

		if (tg->tgqual == NULL || !TRIGGER_FOR_ROW(tg->tgtype) || !TRIGGER_FOR_AFTER(tg->tgtype) ||
			!(arriving ? TRIGGER_FOR_INSERT(tg->tgtype) : TRIGGER_FOR_UPDATE(tg->tgtype)) ||
			rule_kind_of_trigger_function(tg->tgfoid) != &mue_rule_kind)
			continue;
		qual = stringToNode(tg->tgqual);
		ChangeVarNodes(qual, PRS2_OLD_VARNO, INNER_VAR, 0);
		ChangeVarNodes(qual, PRS2_NEW_VARNO, OUTER_VAR, 0);
		if (!equal(qual, flinfo->fn_expr))
			continue;
		if (found != NULL)
			return NULL;
		found = tg;
	}
	return found;
}

/* The call site's rule, found once (and its blocks counted); false if unsure. */
static bool
marker_rule(SweepMarker *m, FmgrInfo *flinfo, Oid relid, bool arriving, uint64 *blocks)
{
	Relation	rel;
	Trigger    *tg;

	if (m->rule < 0 || (m->rule > 0 && blocks == NULL))
		return m->rule > 0;
	/* the statement writing to it holds its lock */
	rel = RelationIdGetRelation(relid);
	if (!RelationIsValid(rel))
	{
		m->rule = -1;
		return false;
	}
	tg = marker_trigger(rel, flinfo, arriving);
	if (tg == NULL || (m->rule > 0 && (tg->tgoid != m->tgoid || relid != m->relid)))
		m->rule = -1;
	else
	{
		RuleInfo   *info = rule_info_get(tg, rel);

		m->rule = 1;
		m->relid = relid;
		m->tgoid = tg->tgoid;
		m->rootid = info->rootid;
		namestrcpy(&m->rulename, NameStr(info->rulename));
		if (blocks != NULL)
			*blocks = sweep_blocks(info, rel);
	}
	RelationClose(rel);
	return m->rule > 0;
}

bool
mue_sweep_marker_queues(SweepMarker *m, FmgrInfo *flinfo, Oid relid, bool arriving)
{
	SweepState *s;
	uint64		marked;
	uint64		blocks;

	if (m->xact != xacts_ended || m->subid != GetCurrentSubTransactionId())
	{
		m->xact = xacts_ended;
		m->subid = GetCurrentSubTransactionId();
		m->queued = 0;
		m->state = NULL;
		m->skipping = false;
	}
	if (!marker_rule(m, flinfo, relid, arriving, NULL) || relid != m->relid)
		return ++m->queued > 0;
	/* dynahash entries stay where they are until removed */
	if (m->state == NULL)
	{
		m->rule_state = sweep_state_of(m->rootid, NameStr(m->rulename), InvalidOid, HASH_ENTER);
		m->state = sweep_state_of(m->rootid, NameStr(m->rulename), relid, HASH_ENTER);
	}
	s = m->state;
	/* sweeping reads every relation the rule's check from relid reads */
	marked = ++m->rule_state->marked;
	/* an UPDATE's checks are counted, never skipped */
	if (!arriving || m->queued == 0 || s->too_big || marked < SWEEP_MIN_CHECKS || IsInParallelMode())
		return ++m->queued > 0;
	if (marked >= s->next_estimate)
	{
		if (!marker_rule(m, flinfo, relid, arriving, &blocks))
			return ++m->queued > 0;
		s->blocks = blocks;
		s->next_estimate = marked * 2;
	}
	if (marked < s->blocks * SWEEP_CHECKS_PER_BLOCK)
		return ++m->queued > 0;
	s->skipped = true;
	s->skipped_cid = GetCurrentCommandId(true);
	m->skipping = arriving;
	return false;
}

bool
mue_sweep_marker_skips(SweepMarker *m, Oid relid)
{
	if (m->xact != xacts_ended || m->subid != GetCurrentSubTransactionId() ||
		relid != m->relid)
	{
		m->skipping = false;
		return false;
	}
	/* a sweep since, made by a statement this one ran, must not pass it by */
	m->state->skipped = true;
	m->state->skipped_cid = GetCurrentCommandId(true);
	return true;
}

/* ---------- the sweep ---------- */

typedef enum SweepScan
{
	SCAN_SUM_ALL,				/* sum every key */
	SCAN_KEYS_OF_OURS,			/* note the keys of our lines */
	SCAN_SUM_NOTED				/* sum the keys noted */
} SweepScan;

/*
 * A group, code and date; the group values as in rule order.  The sums
 * store only the rule's group columns (DAY_KEY_SIZE), and its total right
 * after: a load's sums can run to hundreds of thousands, read at random.
 */
typedef struct DayKey
{
	uint32		hash;
	CptCode		code;
	DateADT		date;
	bool		group_isnull[MAX_GROUP_COLUMNS];
	Datum		group[MAX_GROUP_COLUMNS];
} DayKey;

#define DAY_KEY_SIZE(ngroup)	(offsetof(DayKey, group) + (ngroup) * sizeof(Datum))

typedef struct DayTotal
{
	MueValue	edit;
	int			lines;
	bool		units_overflow; /* too large for int64: over any MUE */
	bool		ours;			/* has a line of ours with units: its check is due */
	int64		units_int;		/* the sum, for integer units */
	Numeric		units;			/* the sum, for other units */
} DayTotal;

#define DAY_TOTAL(key)	((DayTotal *) ((char *) (key) + MAXALIGN(DAY_KEY_SIZE(sweep_info->ngroup))))

typedef struct Sweep
{
	RuleInfo   *info;
	int			setting;
	bool		int_units;
	bool		group_byval[MAX_GROUP_COLUMNS];
	int16		group_len[MAX_GROUP_COLUMNS];
	MemoryContext cxt;
	HTAB	   *sums;
	uint64		nsums;
	bool		too_big;		/* the sums outgrew maintenance_work_mem */
	MueFinding *finding;

	/*
	 * Where the sums of every group, code and date outgrow their memory, a
	 * sweep that must judge takes two reads a part: the keys of our lines
	 * whose hash falls in the part, then the sums of those keys only.
	 */
	SweepScan	scan;
	uint32		nparts;
	uint32		part;
} Sweep;

static const RuleInfo *sweep_info;	/* for the hash table's key comparison */

static uint32
day_key_hash(const void *key, Size keysize)
{
	return ((const DayKey *) key)->hash;
}

static int
day_key_compare(const void *a, const void *b, Size keysize)
{
	const DayKey *x = a;
	const DayKey *y = b;

	if (x->hash != y->hash || x->code != y->code || x->date != y->date)
		return 1;
	for (int g = 0; g < sweep_info->ngroup; g++)
	{
		if (x->group_isnull[g] != y->group_isnull[g])
			return 1;
		if (!x->group_isnull[g] &&
			!DatumGetBool(FunctionCall2Coll((FmgrInfo *) &sweep_info->group_eq[g],
											sweep_info->group_collations[g],
											x->group[g], y->group[g])))
			return 1;
	}
	return 0;
}

static void
find(Sweep *sw, const DayKey *key, MueValue edit, Numeric units, int lines)
{
	MueFinding *f = sw->finding;

	if (f->found)
		return;
	f->found = true;
	f->code = key->code;
	f->date = key->date;
	f->v.edit = edit;
	/* in the caller's memory: the slot and the sums go before the report */
	f->v.units = DatumGetNumeric(datumCopy(NumericGetDatum(units), false, -1));
	f->v.lines = lines;
	for (int g = 0; g < sw->info->ngroup; g++)
	{
		f->group_isnull[g] = key->group_isnull[g];
		f->group[g] = key->group_isnull[g] ? (Datum) 0 :
			datumCopy(key->group[g], sw->group_byval[g], sw->group_len[g]);
	}
}

static bool
sweep_line(void *arg, const ProbeTarget *t, TupleTableSlot *slot)
{
	Sweep	   *sw = arg;
	RuleInfo   *info = sw->info;
	DayKey		key;
	MueValue	edit;
	bool		isnull;
	Datum		d;
	Datum		units;
	bool		units_isnull;
	bool		ours;
	DayKey	   *sum;
	DayTotal   *tot;
	bool		found;

	d = slot_getattr(slot, t->date_attno, &isnull);
	if (isnull)
		return true;
	key.date = DatumGetDateADT(d);
	d = slot_getattr(slot, t->code_attno, &isnull);
	if (isnull || !cpt_code_of_column(d, t->code_is_text, &key.code))
		return true;
	if (!mue_lookup(sw->setting, key.code, key.date, &edit) ||
		(info->options.indicators & (1 << edit.indicator)) == 0)
		return true;
	units = slot_getattr(slot, t->units_attno, &units_isnull);
	ours = group_line_is_ours(slot);

	if (edit.indicator == 1)
	{
		/* judged alone: as its marker, a line of ours over the edit */
		if (ours && sw->scan != SCAN_SUM_NOTED && sw->part == 0 &&
			mue_units_exceed(units, units_isnull, info->units_type, edit.mue))
		{
			for (int g = 0; g < info->ngroup; g++)
				key.group[g] = slot_getattr(slot, t->group_attnos[g], &key.group_isnull[g]);
			find(sw, &key, edit, mue_units_numeric(units, units_isnull, info->units_type), 1);
		}
		return true;
	}

	for (int g = 0; g < info->ngroup; g++)
		key.group[g] = slot_getattr(slot, t->group_attnos[g], &key.group_isnull[g]);
	key.hash = mue_key_hash(info, key.group, key.group_isnull, key.code, key.date);
	if (sw->nparts > 1 && key.hash % sw->nparts != sw->part)
		return true;
	if (sw->scan == SCAN_KEYS_OF_OURS &&
		!(ours && mue_units_exceed(units, units_isnull, info->units_type, 0)))
		return true;
	sum = hash_search(sw->sums, &key, sw->scan == SCAN_SUM_NOTED ? HASH_FIND : HASH_ENTER, &found);
	if (sum == NULL)
		return true;
	tot = DAY_TOTAL(sum);
	if (!found)
	{
		MemoryContext old = MemoryContextSwitchTo(sw->cxt);

		for (int g = 0; g < info->ngroup; g++)
			if (!key.group_isnull[g])
				sum->group[g] = datumCopy(key.group[g], sw->group_byval[g], sw->group_len[g]);
		MemoryContextSwitchTo(old);
		tot->edit = edit;
		tot->units_int = 0;
		tot->units_overflow = false;
		tot->units = sw->int_units ? NULL : int64_to_numeric(0);
		tot->lines = 0;
		tot->ours = false;
		/* the sums are held in memory as a sort's are: within maintenance_work_mem */
		if (++sw->nsums % 1024 == 0 &&
			MemoryContextMemAllocated(sw->cxt, true) > (Size) maintenance_work_mem * 1024)
		{
			sw->too_big = true;
			return false;
		}
	}
	if (sw->scan == SCAN_KEYS_OF_OURS)
	{
		tot->ours = true;
		return true;
	}
	/* every line counts in the sum, as the one-line check adds them */
	if (!sw->int_units)
	{
		MemoryContext old = MemoryContextSwitchTo(sw->cxt);

		tot->units = DatumGetNumeric(DirectFunctionCall2(numeric_add, NumericGetDatum(tot->units),
														 NumericGetDatum(mue_units_numeric(units, units_isnull,
																						   info->units_type))));
		MemoryContextSwitchTo(old);
	}
	else
	{
		int64		u = units_isnull ? 1 :
			info->units_type == INT2OID ? DatumGetInt16(units) :
			info->units_type == INT4OID ? DatumGetInt32(units) : DatumGetInt64(units);

		if (pg_add_s64_overflow(tot->units_int, u, &tot->units_int))
			tot->units_overflow = true;
	}
	tot->lines++;
	/* the lines whose checks were queued: those billing units */
	if (ours && mue_units_exceed(units, units_isnull, info->units_type, 0))
		tot->ours = true;
	return true;
}

/* Empty sums, for a read of the relations. */
static void
sweep_reset(Sweep *sw)
{
	HASHCTL		ctl;

	MemoryContextReset(sw->cxt);
	ctl.keysize = DAY_KEY_SIZE(sw->info->ngroup);
	ctl.entrysize = MAXALIGN(ctl.keysize) + sizeof(DayTotal);
	ctl.hash = day_key_hash;
	ctl.match = day_key_compare;
	ctl.hcxt = sw->cxt;
	sw->sums = hash_create("MUE rule sweep sums", 1024, &ctl,
						   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	sw->nsums = 0;
	sw->too_big = false;
}

static ProbeResult
sweep_read(Sweep *sw, Relation rel, SweepScan scan, CommandId *as_of)
{
	CommandId	cid;
	ProbeResult result;

	if (scan != SCAN_SUM_NOTED)
		sweep_reset(sw);
	sw->scan = scan;
	sweep_info = sw->info;
	result = group_read_all_lines(sw->info, rel, sweep_line, sw, &cid);
	/* the lines judged are those the first read saw */
	if (*as_of == InvalidCommandId)
		*as_of = cid;
	return result;
}

/* Find the first group, code and date of ours over its edit, if any. */
static void
sweep_judge(Sweep *sw)
{
	HASH_SEQ_STATUS seq;
	DayKey	   *sum;

	if (sw->finding->found)
		return;
	hash_seq_init(&seq, sw->sums);
	while ((sum = hash_seq_search(&seq)) != NULL)
	{
		DayTotal   *tot = DAY_TOTAL(sum);
		bool		over;

		if (!tot->ours)
			continue;
		over = sw->int_units
			? tot->units_overflow || tot->units_int > tot->edit.mue
			: DatumGetBool(DirectFunctionCall2(numeric_gt, NumericGetDatum(tot->units),
											   NumericGetDatum(int64_to_numeric(tot->edit.mue))));
		if (over)
		{
			find(sw, sum, tot->edit,
				 sw->int_units ? int64_to_numeric(tot->units_int) : tot->units, tot->lines);
			hash_seq_term(&seq);
			break;
		}
	}
}

/* The sweep in parts, each within maintenance_work_mem: more parts until they fit. */
static ProbeResult
sweep_in_parts(Sweep *sw, Relation rel, CommandId *as_of)
{
	for (sw->nparts = 2;; sw->nparts *= 4)
	{
		bool		fit = true;

		for (sw->part = 0; sw->part < sw->nparts && fit; sw->part++)
		{
			ProbeResult result = sweep_read(sw, rel, SCAN_KEYS_OF_OURS, as_of);

			if (result != PROBE_FOUND || sw->finding->found)
				return result;
			if (sw->too_big)
			{
				fit = false;
				break;
			}
			result = sweep_read(sw, rel, SCAN_SUM_NOTED, as_of);
			if (result != PROBE_FOUND)
				return result;
			sweep_judge(sw);
			if (sw->finding->found)
				return PROBE_FOUND;
		}
		if (fit)
			return PROBE_FOUND;
		if (sw->nparts > PG_UINT32_MAX / 4)
			elog(ERROR, "MUE rule sweep cannot fit its sums in memory");
	}
}

ProbeResult
mue_sweep(RuleInfo *info, Relation rel, int setting, bool must_judge, MueFinding *finding,
		  bool *swept)
{
	Sweep		sw;
	CommandId	as_of = InvalidCommandId;
	ProbeResult result;

	finding->found = false;
	sw.info = info;
	sw.setting = setting;
	sw.int_units = info->units_type == INT2OID || info->units_type == INT4OID ||
		info->units_type == INT8OID;
	for (int g = 0; g < info->ngroup; g++)
		get_typlenbyval(info->group_types[g], &sw.group_len[g], &sw.group_byval[g]);
	sw.cxt = AllocSetContextCreate(CurrentMemoryContext, "MUE rule sweep", ALLOCSET_DEFAULT_SIZES);
	sw.finding = finding;
	sw.nparts = 1;
	sw.part = 0;

	result = sweep_read(&sw, rel, SCAN_SUM_ALL, &as_of);
	if (result == PROBE_FOUND && sw.too_big)
	{
		sweep_state(info, RelationGetRelid(rel), HASH_ENTER)->too_big = true;
		if (!must_judge)
		{
			/* judged nothing: the lines are checked one by one after all */
			finding->found = false;
			*swept = false;
			MemoryContextDelete(sw.cxt);
			return result;
		}
		if (!finding->found)
			result = sweep_in_parts(&sw, rel, &as_of);
	}
	else if (result == PROBE_FOUND)
		sweep_judge(&sw);
	*swept = true;
	if (result == PROBE_FOUND && !finding->found)
	{
		/* what is judged now: our lines in every relation read */
		for (int t = 0; t < info->ntargets; t++)
		{
			SweepState *s = sweep_state(info, rule_target_relid(info, t), HASH_ENTER);

			s->swept_before = as_of;
			s->swept_level = GetCurrentTransactionNestLevel();
			s->checks = 0;
		}
		sweep_state(info, InvalidOid, HASH_ENTER)->marked = 0;
	}
	MemoryContextDelete(sw.cxt);
	return result;
}

void
mue_sweep_init(void)
{
	RegisterXactCallback(sweep_xact_callback, NULL);
	RegisterSubXactCallback(sweep_subxact_callback, NULL);
}
