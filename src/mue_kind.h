/*
 * mue_kind.h
 *		What the MUE rule's one-line check (mue_kind.c) and its check of many
 *		lines at once (mue_sweep.c) share.
 */
#ifndef MUE_KIND_H
#define MUE_KIND_H

#include "postgres.h"

#include "cpt_code.h"
#include "mue_cache.h"
#include "rule_info.h"
#include "rule_kind.h"

#include "executor/tuptable.h"
#include "utils/date.h"
#include "utils/numeric.h"

/* What a violation report shows beside the group, code and date. */
typedef struct MueViolation
{
	MueValue	edit;
	Numeric		units;
	int			lines;
} MueViolation;

/* A line's units as numeric: a line without units bills one. */
extern Numeric mue_units_numeric(Datum d, bool isnull, Oid type);

/* Are the units more than limit? */
extern bool mue_units_exceed(Datum d, bool isnull, Oid type, int64 limit);

/* The hash of a group, code and date, by the group columns' hash functions. */
extern uint32 mue_key_hash(const RuleInfo *info, const Datum *values, const bool *isnull,
						   CptCode code, DateADT date);

/* ---------- mue_sweep.c ---------- */

/* A violation a sweep found: its group (rule order), code, date and sums. */
typedef struct MueFinding
{
	bool		found;
	Datum		group[MAX_GROUP_COLUMNS];
	bool		group_isnull[MAX_GROUP_COLUMNS];
	CptCode		code;
	DateADT		date;
	MueViolation v;
} MueFinding;

/*
 * What an arriving marker's call site (the rule's trigger on one relation,
 * in one statement) knows of the checks it queued.  Zeroed with it.
 */
typedef struct SweepMarker
{
	uint64		xact;			/* the transaction it counted in */
	SubTransactionId subid;		/* and subtransaction */
	uint64		queued;			/* checks it queued there */
	int			rule;			/* 0: not looked for; 1: found; -1: none to be sure of */
	Oid			relid;
	Oid			tgoid;
	Oid			rootid;
	NameData	rulename;
	struct SweepState *state;	/* its rule's on relid, this transaction */
	struct SweepState *rule_state;	/* its rule's on every relation */
	bool		skipping;		/* it skips every line from now on */
} SweepMarker;

/*
 * A line of relid that could break the rule arrived (inserted; or updated,
 * when not arriving): true to queue its check, false when a sweep will
 * judge it (see mue_sweep.c).
 */
extern bool mue_sweep_marker_queues(SweepMarker *m, FmgrInfo *flinfo, Oid relid, bool arriving);

/*
 * Once a call site skips lines, it skips them all, whether they could
 * break the rule or not (a sweep judges every line of ours): true while it
 * still may, for a line of relid.
 */
extern bool mue_sweep_marker_skips(SweepMarker *m, Oid relid);

/* Did markers skip lines of rel that no sweep has judged since? */
extern bool mue_sweep_owed(const RuleInfo *info, Relation rel);

/* Has a sweep of rel judged the line in slot already? */
extern bool mue_sweep_covers(const RuleInfo *info, Relation rel, TupleTableSlot *slot);

/* Count a check of one line of rel; true when sweeping would now be cheaper. */
extern bool mue_sweep_due(RuleInfo *info, Relation rel);

/*
 * Judge every group, code and date of the rule's relations that holds a
 * line of this transaction, under the rule's exclusive lock, which the
 * caller holds.  PROBE_FOUND (the first violation in *finding, if any) or
 * PROBE_STALE.  When the sums outgrow maintenance_work_mem, a sweep that
 * must_judge (lines were skipped) reads the relations again in parts;
 * otherwise *swept is false and nothing was judged: check the line as
 * usual.
 */
extern ProbeResult mue_sweep(RuleInfo *info, Relation rel, int setting, bool must_judge,
							 MueFinding *finding, bool *swept);

extern void mue_sweep_init(void);

#endif							/* MUE_KIND_H */
