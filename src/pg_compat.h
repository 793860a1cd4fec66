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

/* 18 replaced pg_attribute_noreturn() with pg_noreturn, written first. */
#if PG_VERSION_NUM >= 180000
#define cpt_noreturn pg_noreturn
#else
#define cpt_noreturn pg_attribute_noreturn()
#endif

#endif							/* CPT_RULES_PG_COMPAT_H */
