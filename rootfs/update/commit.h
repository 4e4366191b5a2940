/* Committing the running slot: `good` with its tries reset, first in STELE_ORDER (one boot
 * state write), then its rollback index recorded as the device's minimum
 * (CONTRACT_DATA_ROLLBACK on the data partition, which stele-init enforces), so older versions can no longer
 * be booted. Used by `health --commit` and `mark-good`. */
#ifndef STELE_UPDATE_COMMIT_H
#define STELE_UPDATE_COMMIT_H

#include <stdint.h>

#include "bootloader/bootstate.h"
#include "lib/err.h"
#include "ctx.h"

/* s is the current state, changed and written in place. */
int update_commit(struct update_ctx *c, struct bootstate *s, unsigned tries, struct err *e);
/* Raises data/stele/min_rollback_index to index (never lowers it): temp file, fsync, rename,
 * fsync of the directory. A NULL data_dir does nothing. */
int update_raise_min_rollback(const char *data_dir, uint64_t index, struct err *e);
/* The device's minimum (0 without the file). */
int update_min_rollback(const char *data_dir, uint64_t *ret, struct err *e);

/* The lowest rollback index among the good slots (the booted one included). */
uint64_t update_rollback_floor(struct update_ctx *c, const struct bootstate *s, char booted,
			       uint64_t booted_index);

#endif
