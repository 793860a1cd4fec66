/*
 * mue_cache.h
 *		The medically unlikely edits in force, per setting, code and period,
 *		kept per backend for the MUE rule's checks.
 */
#ifndef MUE_CACHE_H
#define MUE_CACHE_H

#include "postgres.h"

#include "cpt_code.h"
#include "utils/date.h"

#define MUE_SETTINGS 3			/* practitioner, outpatient hospital, dme */

typedef struct MueValue
{
	int32		mue;			/* the most units */
	int16		indicator;		/* 1 per line, 2 and 3 per date of service */
} MueValue;

/* The setting's number, or -1 for no setting. */
extern int	mue_setting_number(const char *setting);

/* The edit of code in force on date in that setting: false when none is known. */
extern bool mue_lookup(int setting, CptCode code, DateADT date, MueValue *out);

/* Has the code an edit with an indicator of mask in any period? */
extern bool mue_code_may_matter(int setting, CptCode code, int32 mask);

extern void mue_cache_relation_changed(Oid relid);

/* On Citus, whether the MUE tables are reference tables, read on every node. */
extern bool mue_tables_on_every_node(void);
extern void mue_cache_init(void);

#endif							/* MUE_CACHE_H */
