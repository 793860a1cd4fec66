/*
 * pg_compat.h
 *		The few differences between the PostgreSQL major versions cpt_rules
 *		supports (15 to 18), in one place.  Include it after postgres.h.
 */
#ifndef CPT_RULES_PG_COMPAT_H
#define CPT_RULES_PG_COMPAT_H

#include "postgres.h"

/* Since 16 the varlena macros live in their own header. */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/* 18 added an instrumentation argument to index_beginscan(). */
#if PG_VERSION_NUM >= 180000
#define cpt_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan(heap, index, snapshot, NULL, nkeys, norderbys)
#else
#define cpt_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan(heap, index, snapshot, nkeys, norderbys)
#endif

/*
 * 16 lets an input function report a bad value softly (pg_input_is_valid,
 * COPY ... ON_ERROR): ereturn() saves the error in the caller's context
 * when it asks for that, and returns.  Before 16 it is an ERROR.
 */
#if PG_VERSION_NUM >= 160000
#include "nodes/miscnodes.h"
#define cpt_ereturn(context, dummy, ...) ereturn(context, dummy, __VA_ARGS__)
#else
#define cpt_ereturn(context, dummy, ...) \
	do { (void) (context); ereport(ERROR, __VA_ARGS__); return dummy; } while (0)
#endif

/* 16 made the owner checks one function for every kind of object. */
#if PG_VERSION_NUM >= 160000
#define cpt_relation_ownercheck(relid, roleid) \
	object_ownercheck(RelationRelationId, relid, roleid)
#else
#define cpt_relation_ownercheck(relid, roleid) pg_class_ownercheck(relid, roleid)
#endif

/* 18 replaced pg_attribute_noreturn() with pg_noreturn, written first. */
#if PG_VERSION_NUM >= 180000
#define cpt_noreturn pg_noreturn
#else
#define cpt_noreturn pg_attribute_noreturn()
#endif

#endif							/* CPT_RULES_PG_COMPAT_H */
