/* What `stele-update poll` does with a channel it has verified: nothing, wait for a wave,
 * install a release, or go back to the other slot because the running release was revoked.
 * Pure logic over the channel's releases and the device's state, so that every case is a row
 * in tests/test-choose.c:
 *   - a pull-back when the running release is revoked and the other slot is good, holds a
 *     release that is not revoked, and is at or above the rollback floor;
 *   - a paused channel starts no install;
 *   - candidates are the releases of this product and arch that are not revoked, at or above
 *     the rollback floor and the running rollback index, and newer than the running one;
 *     the newest whose wave is open to this device's share and whose min_from the running
 *     version meets is installed;
 *   - a release this device already tried and marked bad is not tried again, and one already
 *     installed and waiting for its reboot is not installed twice. */
#ifndef STELE_UPDATE_CHOOSE_H
#define STELE_UPDATE_CHOOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/rollout.h"

enum choose_slot_state { CHOOSE_OTHER_NONE, CHOOSE_OTHER_GOOD, CHOOSE_OTHER_TRIAL, CHOOSE_OTHER_BAD };

struct choose_in {
	const struct rollout_release *rels;  /* the channel's releases */
	size_t n;
	const char *channel, *product, *arch;
	const char *version, *root_hash;     /* running */
	uint64_t rollback_index;
	enum choose_slot_state other_state;  /* the other slot */
	const char *other_version, *other_root_hash; /* NULL: empty or unreadable */
	uint64_t other_rollback_index;
	uint64_t floor;                      /* the device's minimum rollback index */
	double share;                        /* lib/rollout.h rollout_share */
	int64_t now;
};

enum choose_what {
	CHOOSE_UP_TO_DATE,  /* nothing newer for this device */
	CHOOSE_PAUSED,      /* the channel is paused */
	CHOOSE_WAIT,        /* a newer release, not open to this device's share yet */
	CHOOSE_BLOCKED,     /* a newer release this device may not take (min_from, failed) */
	CHOOSE_PENDING,     /* installed in the other slot, waiting for the reboot */
	CHOOSE_INSTALL,
	CHOOSE_PULL_BACK,   /* the running release is revoked: back to the other slot */
};

struct choose_out {
	enum choose_what what;
	const struct rollout_release *rel; /* INSTALL, WAIT, BLOCKED, PENDING: the release */
	int64_t opens_at;                  /* WAIT */
	char why[320];                     /* for the journal and the console */
};

void choose(const struct choose_in *in, struct choose_out *out);
extern const char *const choose_names[];

#endif
