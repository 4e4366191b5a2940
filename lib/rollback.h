/* The device's rollback floor: the lowest rollback index it still boots, a decimal number in
 * a file on the data partition (CONTRACT_DATA_ROLLBACK), raised by stele-update when it
 * commits a slot. stele-init refuses a slot below it, stele-update refuses to install or roll
 * back to one. */
#ifndef STELE_LIB_ROLLBACK_H
#define STELE_LIB_ROLLBACK_H

#include <stdint.h>

#include "err.h"
#include "manifest.h"

/* Reads the floor from path: digits only, trailing whitespace allowed, at most UINT64_MAX; a
 * missing file is a floor of 0 (nothing committed yet). */
int rollback_read(const char *path, uint64_t *ret, struct err *e)
	__attribute__((warn_unused_result));
/* The manifest's rollback index is not below floor. */
int rollback_check(const struct manifest *m, uint64_t floor, struct err *e)
	__attribute__((warn_unused_result));

#endif
