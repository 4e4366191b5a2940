/* `stele provision IMG --secret NAME=FILE`: writes secrets into one disk's data partition
 * (CONTRACT_DATA_CREDENTIALS: directory 0700, files 0600, owned by root), never into a slot,
 * so the image and its bundles stay free of them. stele-init copies them to tmpfs at every
 * boot. The data filesystem is written with libext2fs, in place, and only when it is clean
 * (not mounted, nothing in its journal to replay); every secret is read and checked before
 * the first write. A secret of the same name is replaced. */
#ifndef STELE_PROVISION_H
#define STELE_PROVISION_H

#include <stddef.h>

#include "lib/err.h"

struct provision_secret {
	const char *name; /* a credential name (lib/credential.h) */
	const char *file; /* on the host */
};

int provision_secrets(const char *image, const struct provision_secret *s, size_t n,
		      struct err *e) __attribute__((warn_unused_result));

#endif
