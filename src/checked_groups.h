/*
 * checked_groups.h
 *		Per-transaction memory of groups already checked, so that a claim
 *		with many add-on lines is checked once per batch of events.
 */
#ifndef CHECKED_GROUPS_H
#define CHECKED_GROUPS_H

#include "postgres.h"

/*
 * A group key is an opaque byte string identifying (rule, group values).
 * checked_group_seen() says whether the group was checked with no change to
 * the database by this transaction since; checked_group_remember() records a
 * check just made.
 */
extern bool checked_group_seen(const char *key, Size keylen);
extern void checked_group_remember(const char *key, Size keylen);
extern void checked_groups_init(void);

#endif							/* CHECKED_GROUPS_H */
