/*
 * citus_guard.h
 *		A Citus coordinator's part of the rule (citus_guard.c).
 */
#ifndef CITUS_GUARD_H
#define CITUS_GUARD_H

#include "postgres.h"

#include "utils/relcache.h"

extern void citus_guard_init(void);

/* A relcache invalidation of relid (InvalidOid: of every relation). */
extern void citus_guard_relation_changed(Oid relid);

/*
 * The schema, table and constraint of a shard's violation, as the last
 * sentence of its detail: Citus passes the detail on, not the fields, and
 * the coordinator puts them back from it.
 */
extern char *citus_guard_fields(Relation rel, const char *constraint);

#endif							/* CITUS_GUARD_H */
