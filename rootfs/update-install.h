/* `stele-update install`: a bundle into the slot that is not running. Everything that can be
 * checked before writing is (signature, product, arch, rollback index, sizes, the whole
 * verity image and hash tree); only then is the target marked bad and written: the verity
 * image, then the rootfs, each block checked against the signed tree before it is written;
 * then fsync, a read-back check of every block, and only then the target becomes `trial`,
 * first in STELE_ORDER. Any failure after the target was marked bad leaves it bad. */
#ifndef STELE_UPDATE_INSTALL_H
#define STELE_UPDATE_INSTALL_H

#include <stdbool.h>

#include "../lib/err.h"
#include "update-ctx.h"

struct install_opts {
	const char *path; /* a file, a block device, or "-" for stdin */
	bool allow_downgrade;
	bool reboot;
};

int update_install(struct update_ctx *c, const struct install_opts *o, struct err *e);

#endif
