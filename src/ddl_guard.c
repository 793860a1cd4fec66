/*
 * ddl_guard.c
 *		Statements that change which lines a rule sees without a row event:
 *		attaching, detaching, dropping (also by DROP SCHEMA ... CASCADE or
 *		DROP OWNED) and truncating partitions, and adding inheritance
 *		children.  An event trigger (and, for TRUNCATE, which fires no event
 *		trigger, a statement trigger on each partition) hands them to
 *		rule_check_ddl() (rule_validate.c), which checks the claims they
 *		affect or refuses them.  Tables dropped or truncated together are judged
 *		together: two partitions may hold a claim's only primaries.
 *
 * The checks read every line, whatever row security would hide
 * (rule_audit.c), with the latest snapshot, taken after the statement
 * holds its locks, so that they see every line committed by then at any
 * isolation level; writers that commit later find the partitions changed
 * when they lock them (partition_set.c) and read the new layout.
 */
#include "postgres.h"

#include "rule_info.h"
#include "rule_kind.h"
#include "rule_validate.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "nodes/parsenodes.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

static Oid
relation_of(RangeVar *rv)
{
	return rv ? RangeVarGetRelid(rv, NoLock, true) : InvalidOid;
}

/*
 * The name of a rule whose trigger fires on this table (its own, or one
 * cloned from above), or NULL.
 */
static char *
rule_enforced_on(Oid relid, const RuleKind **kind)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TriggerDesc *trigdesc = rel->trigdesc;
	char	   *rulename = NULL;

	for (int i = 0; trigdesc && i < trigdesc->numtriggers && rulename == NULL; i++)
	{
		Trigger    *trigger = &trigdesc->triggers[i];

		if ((*kind = rule_kind_of_trigger_function(trigger->tgfoid)) != NULL)
			rulename = pstrdup(trigger->tgnargs > 0 && trigger->tgargs[0][0] != '\0'
							   ? trigger->tgargs[0] : trigger->tgname);
	}
	table_close(rel, AccessShareLock);
	return rulename;
}

/*
 * PostgreSQL fires no constraint trigger on a foreign table, and refuses to
 * clone one onto it, deep inside its own code.  Say so first, in the rule's
 * words: a foreign table (or a partitioned table holding one) may not join
 * a table that enforces a rule.
 */
static void
refuse_foreign_partition(Oid parent, Oid child, const char *childname)
{
	char	   *rulename;
	const RuleKind *kind;
	Oid			foreign = InvalidOid;
	Relation	prel;

	if (OidIsValid(child))
	{
		ListCell   *lc;

		foreach(lc, find_all_inheritors(child, NoLock, NULL))
			if (get_rel_relkind(lfirst_oid(lc)) == RELKIND_FOREIGN_TABLE)
			{
				foreign = lfirst_oid(lc);
				break;
			}
		if (!OidIsValid(foreign))
			return;
		childname = get_rel_name(foreign);
	}
	if (!OidIsValid(parent) || (rulename = rule_enforced_on(parent, &kind)) == NULL)
		return;
	prel = table_open(parent, AccessShareLock);
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("foreign table \"%s\" cannot become a partition of \"%s\", which enforces %s rule \"%s\"",
					childname, RelationGetRelationName(prel), kind->name, rulename),
			 errdetail("PostgreSQL fires no constraint trigger on a foreign table, so lines written to it would not be checked."),
			 errhint("Keep those lines in a regular table, or drop the rule first: SELECT %s(...);",
					 kind->drop_function),
			 errtableconstraint(prel, rulename)));
}

/*
 * ATTACH PARTITION locks only the parent (SHARE UPDATE EXCLUSIVE) and the
 * new partition.  A writer elsewhere in the tree that removed a primary and
 * has not committed yet would be invisible to the attach's check, and its
 * own check cannot see the partition being attached: both would commit.  So
 * the whole tree is locked against writers, as enforcing a rule locks its
 * table, and the check runs once the writers in flight have finished.
 */
static void
lock_tree_against_writers(Oid relid)
{
	List	   *ancestors = get_partition_ancestors(relid);
	Oid			top = ancestors != NIL ? llast_oid(ancestors) : relid;

	LockRelationOid(top, ShareRowExclusiveLock);
	(void) find_all_inheritors(top, ShareRowExclusiveLock, NULL);
}

static void
guard_alter_table(AlterTableStmt *stmt, bool at_start)
{
	Oid			relid = relation_of(stmt->relation);
	ListCell   *lc;

	if (!OidIsValid(relid))
		return;
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		switch (cmd->subtype)
		{
			case AT_AttachPartition:
				if (get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE)
					break;
				if (at_start)
					refuse_foreign_partition(relid, relation_of(((PartitionCmd *) cmd->def)->name), NULL);
				else
				{
					const RuleKind *kind;

					if (rule_enforced_on(relid, &kind) != NULL)
						lock_tree_against_writers(relid);
					rule_check_ddl("attach", relid, relation_of(((PartitionCmd *) cmd->def)->name), NIL);
				}
				break;
			case AT_DetachPartition:
				{
					PartitionCmd *pc = (PartitionCmd *) cmd->def;

					if (at_start && pc->concurrent)
						rule_check_ddl("detach concurrently", relid, relation_of(pc->name), NIL);
					else if (!at_start && !pc->concurrent)
						rule_check_ddl("detach", relid, relation_of(pc->name), NIL);
				}
				break;
			case AT_AlterColumnType:
				if (at_start)
					rule_check_column_type_change(relid, cmd->name);
				break;
			case AT_AddInherit:
				if (!at_start)
					rule_check_ddl("inherit", relation_of((RangeVar *) cmd->def), relid, NIL);
				break;
			case AT_EnableTrig:
			case AT_EnableAlwaysTrig:
			case AT_EnableReplicaTrig:
			case AT_DisableTrig:
			case AT_EnableTrigAll:
			case AT_DisableTrigAll:
			case AT_EnableTrigUser:
			case AT_DisableTrigUser:
				if (!at_start)
					rule_check_ddl("triggers", InvalidOid, relid, NIL);
				break;
			default:
				break;
		}
	}
}

static void
guard_create(CreateStmt *stmt)
{
	Oid			relid = relation_of(stmt->relation);
	ListCell   *lc;

	if (!OidIsValid(relid))
		return;
	foreach(lc, stmt->inhRelations)
		rule_check_ddl(stmt->partbound ? "create partition" : "inherit",
				  relation_of(lfirst_node(RangeVar, lc)), relid, NIL);
}

/* Schemas owned by the roles, which DROP OWNED drops with what is in them. */
static List *
schemas_owned_by(List *roleids)
{
	List	   *nspids = NIL;
	Relation	pg_namespace = table_open(NamespaceRelationId, AccessShareLock);
	TableScanDesc scan = table_beginscan_catalog(pg_namespace, 0, NULL);
	HeapTuple	tup;

	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_namespace n = (Form_pg_namespace) GETSTRUCT(tup);

		if (list_member_oid(roleids, n->nspowner))
			nspids = lappend_oid(nspids, n->oid);
	}
	table_endscan(scan);
	table_close(pg_namespace, AccessShareLock);
	return nspids;
}

/*
 * Tables of the schemas, or owned by the roles, that a DROP SCHEMA ...
 * CASCADE or DROP OWNED would drop.
 */
static List *
tables_dropped_with(List *nspids, List *roleids)
{
	List	   *relids = NIL;
	Relation	pg_class = table_open(RelationRelationId, AccessShareLock);
	TableScanDesc scan = table_beginscan_catalog(pg_class, 0, NULL);
	HeapTuple	tup;

	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_class c = (Form_pg_class) GETSTRUCT(tup);

		if (c->relkind != RELKIND_RELATION && c->relkind != RELKIND_PARTITIONED_TABLE &&
			c->relkind != RELKIND_FOREIGN_TABLE)
			continue;
		if (list_member_oid(nspids, c->relnamespace) || list_member_oid(roleids, c->relowner))
			relids = lappend_oid(relids, c->oid);
	}
	table_endscan(scan);
	table_close(pg_class, AccessShareLock);
	/* checked in the order the tables were made, not where pg_class keeps them */
	list_sort(relids, list_oid_cmp);
	return relids;
}

/*
 * DROP of partitions whose partitioned table stays: each is checked with
 * every table the statement drops left out, so that two partitions holding
 * a claim's only primaries cannot go together.
 */
static void
guard_drop_tables(List *relids)
{
	ListCell   *lc;

	foreach(lc, relids)
	{
		Oid			relid = lfirst_oid(lc);
		List	   *ancestors;
		ListCell   *la;
		bool		parent_dropped = false;

		if (!get_rel_relispartition(relid))
			continue;
		ancestors = get_partition_ancestors(relid);
		foreach(la, ancestors)
			if (list_member_oid(relids, lfirst_oid(la)))
				parent_dropped = true;
		if (parent_dropped)
			continue;
		/* what DROP TABLE would lock, taken first so that the check stays true */
		LockRelationOid(relid, AccessExclusiveLock);
		rule_check_ddl("drop", linitial_oid(ancestors), relid, relids);
	}
}


static void
guard_drop(DropStmt *stmt)
{
	List	   *relids = NIL;
	ListCell   *lc;

	if (stmt->removeType == OBJECT_TABLE)
	{
		foreach(lc, stmt->objects)
		{
			Oid			relid = relation_of(makeRangeVarFromNameList(lfirst_node(List, lc)));

			if (OidIsValid(relid))
				relids = lappend_oid(relids, relid);
		}
	}
	else if (stmt->removeType == OBJECT_SCHEMA && stmt->behavior == DROP_CASCADE)
	{
		List	   *nspids = NIL;

		foreach(lc, stmt->objects)
		{
			Oid			nspid = get_namespace_oid(strVal(lfirst(lc)), true);

			if (OidIsValid(nspid))
				nspids = lappend_oid(nspids, nspid);
		}
		relids = tables_dropped_with(nspids, NIL);
	}
	guard_drop_tables(relids);
}

static void
guard_drop_owned(DropOwnedStmt *stmt)
{
	List	   *roleids = NIL;
	ListCell   *lc;

	foreach(lc, stmt->roles)
	{
		Oid			roleid = get_rolespec_oid(lfirst_node(RoleSpec, lc), true);

		if (OidIsValid(roleid))
			roleids = lappend_oid(roleids, roleid);
	}
	if (roleids != NIL)
		guard_drop_tables(tables_dropped_with(schemas_owned_by(roleids), roleids));
}

PG_FUNCTION_INFO_V1(cpt_ddl_guard);
Datum
cpt_ddl_guard(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	bool		at_start;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by the event trigger manager",
						"cpt_rules.ddl_guard")));
	trigdata = (EventTriggerData *) fcinfo->context;
	at_start = strcmp(trigdata->event, "ddl_command_start") == 0;

	switch (nodeTag(trigdata->parsetree))
	{
		case T_AlterTableStmt:
			guard_alter_table((AlterTableStmt *) trigdata->parsetree, at_start);
			break;
		case T_CreateStmt:
			if (!at_start)
				guard_create((CreateStmt *) trigdata->parsetree);
			break;
		case T_CreateForeignTableStmt:
			{
				CreateStmt *base = &((CreateForeignTableStmt *) trigdata->parsetree)->base;

				if (at_start && base->partbound != NULL && base->inhRelations != NIL)
					refuse_foreign_partition(relation_of(linitial_node(RangeVar, base->inhRelations)),
											 InvalidOid, base->relation->relname);
			}
			break;
		case T_DropStmt:
			if (at_start)
				guard_drop((DropStmt *) trigdata->parsetree);
			break;
		case T_DropOwnedStmt:
			if (at_start)
				guard_drop_owned((DropOwnedStmt *) trigdata->parsetree);
			break;
		default:
			break;
	}
	PG_RETURN_VOID();
}

/* ---------- TRUNCATE ---------- */

/*
 * TRUNCATE fires each table's BEFORE TRUNCATE triggers, the named table's
 * first and then its partitions', before truncating any.  A partition whose
 * ancestor is truncated by the same command goes with it and needs no
 * check; that is remembered here for the current command.
 */
static TransactionId truncating_xid = InvalidTransactionId;
static CommandId truncating_cid = InvalidCommandId;
static List *truncating = NIL;	/* in TopMemoryContext */

PG_FUNCTION_INFO_V1(cpt_truncate_guard);
Datum
cpt_truncate_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Oid			relid;
	bool		with_ancestor = false;
	MemoryContext oldcxt;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired BEFORE TRUNCATE", "addon_rule_truncate")));
	relid = RelationGetRelid(trigdata->tg_relation);

	if (truncating_xid != GetTopTransactionId() || truncating_cid != GetCurrentCommandId(false))
	{
		list_free(truncating);
		truncating = NIL;
		truncating_xid = GetTopTransactionId();
		truncating_cid = GetCurrentCommandId(false);
	}
	if (trigdata->tg_relation->rd_rel->relispartition)
	{
		ListCell   *lc;

		foreach(lc, get_partition_ancestors(relid))
			if (list_member_oid(truncating, lfirst_oid(lc)))
				with_ancestor = true;
	}
	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	truncating = lappend_oid(truncating, relid);
	MemoryContextSwitchTo(oldcxt);

	if (trigdata->tg_relation->rd_rel->relispartition && !with_ancestor)
	{
		/* judged without every table the command truncated so far */
		rule_check_ddl("truncate", get_partition_parent(relid, false), relid, truncating);
		/* the check's own command counter step is not a new command */
		truncating_cid = GetCurrentCommandId(false);
	}
	return PointerGetDatum(NULL);
}
