/*
 * rule_trigger.h
 *		The constraint trigger every kind of rule fires (rule_trigger.c).
 */
#ifndef RULE_TRIGGER_H
#define RULE_TRIGGER_H

#include "postgres.h"

#include "fmgr.h"
#include "rule_kind.h"

/* The body of a kind's trigger function: check one row event. */
extern Datum rule_trigger_fire(FunctionCallInfo fcinfo, const RuleKind *kind,
							   const char *fname);

extern void rule_trigger_init(void);

#endif							/* RULE_TRIGGER_H */
