/*
 * unfiltered_read.c
 *		Run the checks of DDL, and the validation of enforcing a rule, so
 *		that row security hides no line from them.
 *
 * The checks of ATTACH, DETACH, DROP and TRUNCATE of a partition
 * (cpt_rules.check_ddl()) and the validation of the lines already stored
 * are queries, which see what their user may see.  A
 * policy that hides add-on lines, forced on the owner or applying to a
 * clerk allowed to TRUNCATE, would let an orphan in.  So they run with
 * row_security off: a policy that applies raises an error instead of
 * hiding rows.  A user with the privileges of the table's owner runs them
 * as the owner with FORCE ROW LEVEL SECURITY not applied, as ri_triggers.c
 * runs its queries, which is no more than the owner could do by ALTER
 * TABLE; anyone else stays who they are, and a policy that applies to them
 * refuses the statement.
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
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "unfiltered_read.h"

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
 * Both are undone by (sub)transaction abort if the check fails.  A
 * superuser sees every row already, and may read partitions the owner
 * cannot.
 */
void
unfiltered_read_begin(UnfilteredRead *state, Oid relid)
{
	Oid			owner = OidIsValid(relid) ? relation_owner(relid) : InvalidOid;

	GetUserIdAndSecContext(&state->save_userid, &state->save_sec_context);
	state->as_owner = OidIsValid(owner) && !superuser() &&
		has_privs_of_role(state->save_userid, owner);
	if (state->as_owner)
		SetUserIdAndSecContext(owner, state->save_sec_context |
							   SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
	state->save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("row_security", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

void
unfiltered_read_end(UnfilteredRead *state)
{
	AtEOXact_GUC(true, state->save_nestlevel);
	if (state->as_owner)
		SetUserIdAndSecContext(state->save_userid, state->save_sec_context);
}

/*
 * cpt_rules.violations_unfiltered(tbl, code, group_by, service_date,
 * only_groups_of, excluding): the rows of cpt_rules.addon_rule_violations()
 * for the same arguments, read as above.  What enforcing a rule validates
 * and what check_rule() judges DDL by.
 */
#define AUDIT_NARGS 6
#define AUDIT_NCOLS 5

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
	UnfilteredRead unfiltered;
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

	unfiltered_read_begin(&unfiltered, PG_GETARG_OID(0));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args("SELECT * FROM cpt_rules.addon_rule_violations($1, $2, $3, $4, $5, $6)",
							   AUDIT_NARGS, (Oid *) argtypes, values, nulls, true, 0);
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
	unfiltered_read_end(&unfiltered);
	return (Datum) 0;
}
