/*
 * checked_groups.c
 *		Skip re-checking a group that nothing has touched since its check.
 *
 * A check of group G stays good while this transaction has run no command
 * other than our own checks since.  After each check we take the current
 * command id and mark it used, so that any later statement or trigger that
 * could change data starts a new one; seeing a different command id at the
 * next event means something else ran, and every remembered group is
 * forgotten (the epoch moves on).
 *
 * Row locks taken by a check in a subtransaction vanish if it rolls back,
 * and the trigger manager re-arms the events fired inside it, so an aborted
 * subtransaction also ends the epoch.  Everything lives in
 * TopTransactionContext and goes with the transaction.
 */
#include "postgres.h"

#include "checked_groups.h"

#include "access/xact.h"
#include "common/hashfn.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

/* Past this many groups, start over rather than grow without bound. */
#define MAX_REMEMBERED_GROUPS 100000

typedef struct CheckedGroup
{
	uint64		hash;			/* hash key */
	uint64		epoch;
	Size		keylen;
	char	   *key;
} CheckedGroup;

static HTAB *groups = NULL;
static MemoryContext groups_cxt = NULL;	/* holds the table and its keys */
static uint64 epoch = 1;
static CommandId cid_after_last_check = InvalidCommandId;

static uint64
key_hash(const char *key, Size keylen)
{
	return hash_bytes_extended((const unsigned char *) key, (int) keylen, 0);
}

/* Forget everything if anything but our own checks ran since the last one. */
static void
advance_epoch_if_needed(void)
{
	if (GetCurrentCommandId(false) != cid_after_last_check)
		epoch++;
}

bool
checked_group_seen(const char *key, Size keylen)
{
	CheckedGroup *entry;
	uint64		hash;

	if (groups == NULL)
		return false;
	advance_epoch_if_needed();
	hash = key_hash(key, keylen);
	entry = hash_search(groups, &hash, HASH_FIND, NULL);
	return entry != NULL && entry->epoch == epoch &&
		entry->keylen == keylen && memcmp(entry->key, key, keylen) == 0;
}

void
checked_group_remember(const char *key, Size keylen)
{
	CheckedGroup *entry;
	uint64		hash;
	bool		found;

	advance_epoch_if_needed();
	if (groups == NULL || hash_get_num_entries(groups) >= MAX_REMEMBERED_GROUPS)
	{
		HASHCTL		ctl;

		if (groups_cxt != NULL)
			MemoryContextDelete(groups_cxt);
		groups_cxt = AllocSetContextCreate(TopTransactionContext,
										   "cpt_rules checked groups",
										   ALLOCSET_DEFAULT_SIZES);
		ctl.keysize = sizeof(uint64);
		ctl.entrysize = sizeof(CheckedGroup);
		ctl.hcxt = groups_cxt;
		groups = hash_create("cpt_rules checked groups", 1024, &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	hash = key_hash(key, keylen);
	entry = hash_search(groups, &hash, HASH_ENTER, &found);
	if (found && entry->keylen != keylen)
	{
		pfree(entry->key);
		found = false;
	}
	if (!found)
		entry->key = MemoryContextAlloc(groups_cxt, keylen);
	memcpy(entry->key, key, keylen);
	entry->keylen = keylen;
	entry->epoch = epoch;

	/*
	 * Mark the command id used, so that the next statement of this
	 * transaction gets a new one even if it is the first to write anything
	 * (an UPDATE or DELETE right after SET CONSTRAINTS ... IMMEDIATE).
	 */
	cid_after_last_check = GetCurrentCommandId(true);
}

static void
checked_groups_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			groups = NULL;		/* its memory goes with TopTransactionContext */
			groups_cxt = NULL;
			epoch++;
			cid_after_last_check = InvalidCommandId;
			break;
		default:
			break;
	}
}

static void
checked_groups_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
								SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		epoch++;
}

void
checked_groups_init(void)
{
	RegisterXactCallback(checked_groups_xact_callback, NULL);
	RegisterSubXactCallback(checked_groups_subxact_callback, NULL);
}
