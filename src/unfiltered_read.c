/*
 * unfiltered_read.c
 *		Run the checks of DDL so that row security hides no line from them.
 *
 * The checks of ATTACH, DETACH, DROP and TRUNCATE of a partition are
 * queries (cpt_rules.check_ddl()), which see what their user may see.  A
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
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/syscache.h"

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
