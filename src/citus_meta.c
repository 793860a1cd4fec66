/*
 * citus_meta.c
 *		What the rule needs to know of Citus's metadata, read from its
 *		catalog tables without linking to Citus: whether a relation is a
 *		Citus table and how it is distributed, the local placement of a
 *		reference table, and the distributed table a shard belongs to.
 *
 * Citus keeps its metadata in ordinary tables of pg_catalog (pg_dist_*),
 * synced to every worker.  They are read here with catalog scans, never
 * through SPI: a trigger's WHEN clause runs outside any trigger depth, where
 * Citus refuses a query from a shard to reach a Citus table.  Where Citus is
 * not installed none of those tables exists and every answer is "no".
 */
#include "postgres.h"

#include "citus_meta.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "nodes/primnodes.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

/* A pg_dist_* table, or InvalidOid where Citus is not installed. */
static Oid
dist_table(const char *name)
{
	return get_relname_relid(name, PG_CATALOG_NAMESPACE);
}

/*
 * The first row of a pg_dist_* table whose column equals the value, copied;
 * NULL if none.  These tables are small and scanned without an index.
 */
static HeapTuple
dist_lookup(Oid dist, const char *column, RegProcedure eq, Datum value, TupleDesc *desc)
{
	Relation	rel = table_open(dist, AccessShareLock);
	AttrNumber	attno = get_attnum(dist, column);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	HeapTuple	result = NULL;

	if (attno == InvalidAttrNumber)
		elog(ERROR, "Citus catalog %s has no column %s", get_rel_name(dist), column);
	ScanKeyInit(&key, attno, BTEqualStrategyNumber, eq, value);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		result = heap_copytuple(tup);
	systable_endscan(scan);
	*desc = CreateTupleDescCopy(RelationGetDescr(rel));
	table_close(rel, AccessShareLock);
	return result;
}

static Datum
dist_column(HeapTuple tup, TupleDesc desc, const char *column, bool *isnull)
{
	for (int i = 0; i < desc->natts; i++)
		if (strcmp(NameStr(TupleDescAttr(desc, i)->attname), column) == 0)
			return heap_getattr(tup, i + 1, desc, isnull);
	elog(ERROR, "Citus catalog has no column %s", column);
	return (Datum) 0;
}

bool
citus_distribution(Oid relid, CitusDistribution *out)
{
	Oid			dist = dist_table("pg_dist_partition");
	TupleDesc	desc;
	HeapTuple	tup;
	bool		isnull;
	Datum		d;

	memset(out, 0, sizeof(*out));
	if (!OidIsValid(dist))
		return false;
	tup = dist_lookup(dist, "logicalrelid", F_OIDEQ, ObjectIdGetDatum(relid), &desc);
	if (tup == NULL)
		return false;
	out->made_here = TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tup->t_data));
	out->method = DatumGetChar(dist_column(tup, desc, "partmethod", &isnull));
	out->replication = DatumGetChar(dist_column(tup, desc, "repmodel", &isnull));
	out->column = InvalidAttrNumber;
	d = dist_column(tup, desc, "partkey", &isnull);
	if (!isnull)
	{
		Node	   *key = stringToNode(TextDatumGetCString(d));

		if (key && IsA(key, Var))
			out->column = ((Var *) key)->varattno;
	}
	return true;
}

/* The shard of a table with a single shard (a reference table), or 0. */
static int64
single_shard(Oid relid)
{
	Oid			dist = dist_table("pg_dist_shard");
	TupleDesc	desc;
	HeapTuple	tup;
	bool		isnull;

	if (!OidIsValid(dist))
		return 0;
	tup = dist_lookup(dist, "logicalrelid", F_OIDEQ, ObjectIdGetDatum(relid), &desc);
	if (tup == NULL)
		return 0;
	return DatumGetInt64(dist_column(tup, desc, "shardid", &isnull));
}

Oid
citus_reference_placement(Oid relid, bool *is_reference)
{
	CitusDistribution dist;
	int64		shardid;
	char	   *name;

	*is_reference = false;
	if (!citus_distribution(relid, &dist) || dist.replication != 't')
		return InvalidOid;
	*is_reference = true;
	shardid = single_shard(relid);
	if (shardid == 0)
		return InvalidOid;
	/* Citus names a placement <table>_<shard id>, in the table's schema */
	name = psprintf("%s_" INT64_FORMAT, get_rel_name(relid), shardid);
	return get_relname_relid(name, get_rel_namespace(relid));
}

/*
 * On Citus the rule tables are reference tables (cpt_rules.citus_setup()):
 * every node holds a placement, written in the same transaction as the
 * coordinator's change, while the table itself keeps the rows it had when it
 * was distributed.  A node without a placement must not fall back on those.
 */
Oid
citus_rule_table_to_read(Oid relid, bool *is_reference)
{
	Oid			placement = citus_reference_placement(relid, is_reference);

	if (!*is_reference)
		return relid;
	if (!OidIsValid(placement))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this node holds no placement of the reference table %s.%s",
						get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid)),
				 errdetail("The coding rules are read from the node's own placement of their tables."),
				 errhint("Register the coordinator with SELECT citus_set_coordinator_host(...), "
						 "or run SELECT replicate_reference_tables(); on the coordinator.")));
	return placement;
}

Oid
citus_shard_table(Relation rel)
{
	const char *name = RelationGetRelationName(rel);
	const char *underscore = strrchr(name, '_');
	Oid			dist;
	TupleDesc	desc;
	HeapTuple	tup;
	char	   *end;
	int64		shardid;
	Oid			logical;
	bool		isnull;

	if (underscore == NULL || underscore[1] == '\0' || !OidIsValid(dist = dist_table("pg_dist_shard")))
		return InvalidOid;
	errno = 0;
	shardid = strtoi64(underscore + 1, &end, 10);
	if (*end != '\0' || errno != 0 || shardid <= 0)
		return InvalidOid;
	tup = dist_lookup(dist, "shardid", F_INT8EQ, Int64GetDatum(shardid), &desc);
	if (tup == NULL)
		return InvalidOid;
	logical = DatumGetObjectId(dist_column(tup, desc, "logicalrelid", &isnull));
	/* a table of that name elsewhere is not this shard's */
	if (logical == RelationGetRelid(rel) ||
		get_rel_namespace(logical) != RelationGetNamespace(rel))
		return InvalidOid;
	return logical;
}
