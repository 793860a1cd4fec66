/*
 * unfiltered_read.c
 *		The audit that enforcing a rule and the checks of DDL judge by,
 *		read so that row security hides no line from it.
 *
 * cpt_rules.addon_rule_violations() is a query and sees what its caller may
 * see.  A policy that hides add-on lines, forced on the owner or applying
 * to a clerk allowed to TRUNCATE, would let an orphan past the validation
 * of enforce_addon_rule and the checks of ATTACH, DETACH, DROP and TRUNCATE
 * of a partition (cpt_rules.check_rule()).  So they read through
 * cpt_rules.violations_unfiltered(), which runs the audit with row_security
 * off: a policy that applies raises an error instead of hiding rows.  A
 * caller with the privileges of the table's owner runs it as the owner with
 * FORCE ROW LEVEL SECURITY not applied, as ri_triggers.c runs its queries,
 * which is no more than the owner could do by ALTER TABLE; anyone else
 * stays who they are, and a policy that applies to them refuses the
 * statement.
 *
 * It reads with the latest snapshot, not the transaction's: at REPEATABLE
 * READ and SERIALIZABLE a validation must still see every line committed
 * before its caller's lock was granted, as RI_Initial_Check does.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#define AUDIT_NARGS 6
#define AUDIT_NCOLS 5

static Oid
relation_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * cpt_rules.violations_unfiltered(tbl, code, group_by, service_date,
 * only_groups_of, excluding): the rows of cpt_rules.addon_rule_violations()
 * for the same arguments, read as above.
 */
PG_FUNCTION_INFO_V1(cpt_violations_unfiltered);
Datum
cpt_violations_unfiltered(PG_FUNCTION_ARGS)
{
	static const Oid argtypes[AUDIT_NARGS] = {
		REGCLASSOID, NAMEOID, NAMEARRAYOID, NAMEOID, REGCLASSOID, REGCLASSARRAYOID
	};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[AUDIT_NARGS];
	char		nulls[AUDIT_NARGS];
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
	Oid			owner;
	bool		as_owner;
	int			rc;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"tbl\" must not be NULL")));
	for (int i = 0; i < AUDIT_NARGS; i++)
	{
		values[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (rsinfo->setDesc->natts != AUDIT_NCOLS)
		elog(ERROR, "cpt_rules.violations_unfiltered must return %d columns", AUDIT_NCOLS);

	/*
	 * Both are undone by (sub)transaction abort if the audit fails.  A
	 * superuser sees every row already, and may read partitions the owner
	 * cannot.
	 */
	owner = relation_owner(PG_GETARG_OID(0));
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	as_owner = !superuser() && has_privs_of_role(save_userid, owner);
	if (as_owner)
		SetUserIdAndSecContext(owner, save_sec_context |
							   SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("row_security", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetLatestSnapshot());
	rc = SPI_execute_with_args("SELECT * FROM cpt_rules.addon_rule_violations($1, $2, $3, $4, $5, $6)",
							   AUDIT_NARGS, (Oid *) argtypes, values, nulls, true, 0);
	PopActiveSnapshot();
	if (rc != SPI_OK_SELECT || SPI_tuptable->tupdesc->natts != AUDIT_NCOLS)
		elog(ERROR, "cpt_rules.addon_rule_violations failed: %s", SPI_result_code_string(rc));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		Datum		row[AUDIT_NCOLS];
		bool		rownulls[AUDIT_NCOLS];

		heap_deform_tuple(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, row, rownulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, rownulls);
	}
	SPI_finish();

	AtEOXact_GUC(true, save_nestlevel);
	if (as_owner)
		SetUserIdAndSecContext(save_userid, save_sec_context);
	return (Datum) 0;
}
