/*
 * citus_guard.c
 *		What a Citus coordinator does for the rule, beyond what each shard's
 *		own check does on its worker.
 *
 * - A table enforcing a rule that is distributed afterwards
 *   (create_distributed_table, alter_distributed_table) by a column outside
 *   the rule's groups would have groups spanning shards that no check can
 *   see whole.  Citus calls no user code then, but invalidates the table's
 *   relcache entry; those tables are remembered and judged before commit,
 *   ahead of Citus's own commit (its callback was registered first, and
 *   PostgreSQL calls the newest first).
 * - A transaction that writes to one shard, or to shards of one worker,
 *   commits there in one phase: a deferred violation then ends the worker's
 *   COMMIT, and Citus can only report that the commit failed (XX000).
 *   Writing to a table that enforces a rule switches the transaction to two
 *   phases, so that the worker's check runs at PREPARE TRANSACTION and its
 *   23514 reaches the client as an error (cpt_rules.citus_two_phase_commit).
 * - Citus passes a worker's SQLSTATE, message, detail and hint to the
 *   client, but not the schema, table and constraint fields.  A shard's
 *   violation repeats them at the end of its detail; they are put back here.
 *
 * Nothing here does anything unless Citus is loaded in this backend.
 */
#include "postgres.h"

#include "citus_guard.h"
#include "citus_meta.h"
#include "rule_info.h"
#include "rule_kind.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

/* how a shard's violation ends its detail; citus_guard_fields() reads it */
#define FIELDS_PREFIX "Table "

static bool two_phase_commit = true;

/* relations invalidated in this transaction, to judge at commit */
#define MAX_PENDING 64
static Oid	pending[MAX_PENDING];
static int	npending = 0;
static bool pending_overflow = false;

static bool write_to_enforced = false;	/* this transaction wrote to one */

static ExecutorStart_hook_type prev_executor_start = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;
static emit_log_hook_type prev_emit_log_hook = NULL;

static bool
citus_loaded(void)
{
	return GetConfigOption("citus.enable_unsafe_triggers", true, false) != NULL;
}

/* The rule triggers on rel (Trigger pointers into its relcache entry), or NIL. */
static List *
rule_triggers_of(Relation rel)
{
	TriggerDesc *trigdesc = rel->trigdesc;
	List	   *result = NIL;

	for (int i = 0; trigdesc && i < trigdesc->numtriggers; i++)
		if (rule_trigger_function(trigdesc->triggers[i].tgfoid))
			result = lappend(result, &trigdesc->triggers[i]);
	return result;
}

/* ---------- distributed after the rule was enforced ---------- */

void
citus_guard_relation_changed(Oid relid)
{
	if (!OidIsValid(relid))
		return;
	for (int i = 0; i < npending; i++)
		if (pending[i] == relid)
			return;
	if (npending < MAX_PENDING)
		pending[npending++] = relid;
	else
		pending_overflow = true;
}

static void
judge_distribution(Oid relid)
{
	Relation	rel;
	CitusDistribution dist;
	List	   *triggers;
	ListCell   *lc;

	/*
	 * Only what this transaction distributed, which it has locked already:
	 * no lock is taken here, since Citus's own connections to this node may
	 * hold locks on the shards it makes until they commit after us.
	 */
	if (!citus_distribution(relid, &dist) || !dist.made_here || dist.method == 'n')
		return;
	rel = try_relation_open(relid, NoLock);
	if (rel == NULL)
		return;
	triggers = rule_triggers_of(rel);
	if (triggers == NIL)
	{
		relation_close(rel, NoLock);
		return;
	}
	foreach(lc, triggers)
	{
		char	   *rulename;
		const char *role;
		char	   *code;
		char	   *date;
		List	   *groups;
		ListCell   *lg;
		char	   *column = dist.column != InvalidAttrNumber ? get_attname(relid, dist.column, true) : NULL;
		bool		ok = false;

		Trigger    *trigger = lfirst(lc);
		const RuleKind *kind = rule_kind_of_trigger_function(trigger->tgfoid);

		rule_describe(trigger->tgoid, &rulename, &role, &code, &date, &groups, NULL);
		foreach(lg, groups)
			if (dist.method == 'h' && column && strcmp(column, (char *) lfirst(lg)) == 0)
				ok = true;
		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("table \"%s\" enforces %s rule \"%s\" and cannot be distributed by %s",
							RelationGetRelationName(rel), kind->name, rulename,
							column ? quote_identifier(column) : "no column"),
					 errdetail("Each shard checks the groups it holds; a group whose lines lie on several shards cannot be judged."),
					 errhint("Distribute it by one of the rule's group columns, e.g. SELECT create_distributed_table('%s', '%s');",
							 RelationGetRelationName(rel), (char *) linitial(groups)),
					 errtableconstraint(rel, rulename)));
	}
	relation_close(rel, NoLock);
}

/* ---------- two-phase commit for writes to enforcing tables ---------- */

static void
note_write(Oid relid)
{
	Relation	rel;

	if (write_to_enforced || !OidIsValid(relid))
		return;
	rel = try_relation_open(relid, AccessShareLock);
	if (rel == NULL)
		return;
	if (rule_triggers_of(rel) != NIL)
	{
		CitusDistribution dist;

		write_to_enforced = citus_distribution(relid, &dist);
	}
	relation_close(rel, AccessShareLock);
}

/*
 * Once the rule tables are reference tables, Citus sends an UPDATE or
 * DELETE through the view cpt_rules.aoc_edit to a worker, where it cannot
 * run: say what to do instead, before Citus says something less helpful.
 */
static void
refuse_view_change(QueryDesc *queryDesc)
{
	ListCell   *lc;

	foreach(lc, queryDesc->plannedstmt->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		char	   *nspname;
		CitusDistribution dist;

		if (rte->rtekind != RTE_RELATION || rte->relkind != RELKIND_VIEW ||
			rte->rellockmode != RowExclusiveLock)
			continue;

		nspname = get_namespace_name(get_rel_namespace(rte->relid));
		if (nspname && strcmp(nspname, "cpt_rules") == 0 &&
			strcmp(get_rel_name(rte->relid), "aoc_edit") == 0 &&
			citus_distribution(get_relname_relid("aoc_edit_added", get_rel_namespace(rte->relid)), &dist))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("on Citus, %s through the view cpt_rules.aoc_edit is not supported",
							queryDesc->operation == CMD_UPDATE ? "UPDATE" : "DELETE"),
					 errdetail("Citus runs it on a worker, where the rule tables cannot be written."),
					 errhint("Remove an edit with INSERT INTO cpt_rules.aoc_edit_removed (addon, primary_code, edit_effective), "
							 "and add one with INSERT INTO cpt_rules.aoc_edit.")));
	}
}

static void
guard_executor_start(QueryDesc *queryDesc, int eflags)
{
	bool		citus = queryDesc->operation != CMD_SELECT && citus_loaded();

	if (citus && (queryDesc->operation == CMD_UPDATE || queryDesc->operation == CMD_DELETE))
		refuse_view_change(queryDesc);
	if (citus && two_phase_commit && !write_to_enforced)
	{
		ListCell   *lc;

		foreach(lc, queryDesc->plannedstmt->rtable)
		{
			RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

			if (rte->rtekind == RTE_RELATION && rte->rellockmode == RowExclusiveLock)
				note_write(rte->relid);
		}
	}
	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

static void
guard_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					  ProcessUtilityContext context, ParamListInfo params,
					  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (two_phase_commit && IsA(pstmt->utilityStmt, CopyStmt) && citus_loaded())
	{
		CopyStmt   *copy = (CopyStmt *) pstmt->utilityStmt;

		if (copy->is_from && copy->relation)
			note_write(RangeVarGetRelid(copy->relation, NoLock, true));
	}
	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
}

static void
use_two_phase_commit(void)
{
	static void (*use_2pc) (void) = NULL;
	static bool looked_up = false;

	if (!looked_up)
	{
		/* Citus is loaded already; this finds it, it does not load it */
		use_2pc = (void (*) (void)) load_external_function("$libdir/citus",
														   "Use2PCForCoordinatedTransaction",
														   false, NULL);
		looked_up = true;
	}
	if (use_2pc)
		use_2pc();
}

static void
guard_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (npending > 0 && citus_loaded())
			{
				/* judging opens relations, which may add to the list */
				for (int i = 0; i < npending; i++)
					judge_distribution(pending[i]);
			}
			if (write_to_enforced)
				use_two_phase_commit();
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			npending = 0;
			pending_overflow = false;
			write_to_enforced = false;
			break;
		default:
			break;
	}
}

/* ---------- the fields of a shard's violation, put back ---------- */

/* the next "quoted" identifier at *p, unquoted; NULL if none */
static char *
next_quoted(const char **p)
{
	StringInfoData buf;
	const char *s = strchr(*p, '"');

	if (s == NULL)
		return NULL;
	initStringInfo(&buf);
	for (s++; *s; s++)
	{
		if (*s == '"' && s[1] == '"')
			appendStringInfoChar(&buf, *s++);
		else if (*s == '"')
			break;
		else
			appendStringInfoChar(&buf, *s);
	}
	if (*s != '"')
		return NULL;
	*p = s + 1;
	return buf.data;
}

static void
guard_emit_log(ErrorData *edata)
{
	if (edata->elevel >= ERROR && edata->sqlerrcode == ERRCODE_CHECK_VIOLATION &&
		edata->table_name == NULL && edata->detail != NULL)
	{
		/* a rule's violation on a shard ends its detail with the fields */
		const char *fields = strstr(edata->detail, " " FIELDS_PREFIX "\"");

		if (fields != NULL)
		{
			const char *p = fields + strlen(" " FIELDS_PREFIX);
			char	   *schema = next_quoted(&p);
			char	   *table = schema && *p == '.' ? next_quoted(&p) : NULL;
			char	   *constraint = table ? next_quoted(&p) : NULL;

			if (constraint && strcmp(p, ".") == 0)
			{
				edata->schema_name = schema;
				edata->table_name = table;
				edata->constraint_name = constraint;
			}
		}
	}
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/* name, always in double quotes, its own quotes doubled */
static char *
quoted(const char *name)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '"');
	for (const char *c = name; *c; c++)
	{
		if (*c == '"')
			appendStringInfoChar(&buf, '"');
		appendStringInfoChar(&buf, *c);
	}
	appendStringInfoChar(&buf, '"');
	return buf.data;
}

char *
citus_guard_fields(Relation rel, const char *constraint)
{
	return psprintf(FIELDS_PREFIX "%s.%s, constraint %s.",
					quoted(get_namespace_name(RelationGetNamespace(rel))),
					quoted(RelationGetRelationName(rel)), quoted(constraint));
}

void
citus_guard_init(void)
{
	DefineCustomBoolVariable("cpt_rules.citus_two_phase_commit",
							 "Commits in two phases a Citus transaction that writes to a table enforcing an add-on rule.",
							 "A violation found at a worker's commit then reaches the client as SQLSTATE 23514 "
							 "instead of Citus's \"could not commit transaction\".",
							 &two_phase_commit, true, PGC_USERSET, 0, NULL, NULL, NULL);
	RegisterXactCallback(guard_xact_callback, NULL);
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = guard_executor_start;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = guard_process_utility;
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = guard_emit_log;
}
