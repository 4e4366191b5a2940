/* `stele-update install`: a bundle into the slot that is not running. Everything that can be
 * checked before writing is (signature, product, arch, rollback index, sizes, the whole
 * verity image and hash tree); only then is the target marked bad and written: the verity
 * image (synced, read back), then the rootfs (update-stream.h: each block checked against the
 * signed tree before it is written, read back from the device and compared, fsync), and only
 * then the target becomes `trial`, first in STELE_ORDER. Any failure after the target was
 * marked bad leaves it bad. update-fault.h can stop an install at each of these steps. */
#ifndef STELE_UPDATE_INSTALL_H
#define STELE_UPDATE_INSTALL_H

#include <stdbool.h>

#include "lib/err.h"
#include "ctx.h"

struct install_opts {
	const char *path; /* a file, a block device, or "-" for stdin */
	int fd;           /* > 0: read the bundle from this pipe instead (a download), named path */
	bool allow_downgrade;
	bool reboot;
};

int update_install(struct update_ctx *c, const struct install_opts *o, struct err *e);

#endif
