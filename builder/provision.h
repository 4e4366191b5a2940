/* `stele provision IMG --secret NAME=FILE [--machine-id ID]`: writes secrets into one disk's data partition
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
/* The same, and when machine_id is set (32 lowercase hex digits), the disk's machine id
 * (CONTRACT_DATA_MACHINE_ID, 0444), which stele-init keeps and stele-update poll takes its
 * share of the fleet from: disks shipped with known ids. */
int provision_disk(const char *image, const struct provision_secret *s, size_t n,
		   const char *machine_id, struct err *e) __attribute__((warn_unused_result));

#endif
