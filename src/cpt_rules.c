/*
 * cpt_rules.c
 *		Module entry point.
 */
#include "postgres.h"

#include "fmgr.h"

#include "rule_trigger.h"
#include "rule_kind.h"
#include "citus_guard.h"
#include "partition_set.h"
#include "rule_info.h"
#include "rules_cache.h"
#include "validation_progress.h"

#include "utils/inval.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * One relcache callback for the whole module: PostgreSQL has room for only
 * a few (ten on 15), and Citus, loaded beside us, takes most of them.
 */
static void
relation_changed(Datum arg, Oid relid)
{
	rules_cache_relation_changed(relid);
	mue_cache_relation_changed(relid);
	rule_info_relation_changed(relid);
	partition_set_relation_changed(relid);
	citus_guard_relation_changed(relid);
}

void
_PG_init(void)
{
	rules_cache_init();
	rule_trigger_init();
	mue_kind_init();
	citus_guard_init();
	validation_progress_init();
	CacheRegisterRelcacheCallback(relation_changed, (Datum) 0);
}
