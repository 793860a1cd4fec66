/*
 * cpt_rules.c
 *		Module entry point.
 */
#include "postgres.h"

#include "fmgr.h"

#include "addon_trigger.h"
#include "citus_guard.h"
#include "rules_cache.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	rules_cache_init();
	addon_trigger_init();
	citus_guard_init();
}
