/* The bootable disk image of a build: GPT with esp, root_a, verity_a, root_b, verity_b and
 * data (see DESIGN.md "Disk layout"); slot A holds this build, slot B is empty and marked bad
 * in the boot state; data is an empty ext4 with a journal. Optionally converted to qcow2. */
#ifndef STELE_OUTPUTS_IMAGE_H
#define STELE_OUTPUTS_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/hash.h"
#include "builder/profile.h"

struct image_in {
	const struct profile *p;
	const char *rootfs, *verity;  /* this build's slot */
	const char *img;              /* output (a temporary) */
	const char *bootx64;          /* GRUB */
	int64_t epoch;
	uint8_t seed[SHA256_LEN];
};

struct image_layout {
	uint64_t esp, slot, verity, data; /* partition sizes in bytes */
};

/* Partition sizes from the profile's "layout", checked against what must fit. */
int image_layout(const struct profile *p, uint64_t rootfs_size, uint64_t verity_size,
		 struct image_layout *ret, struct err *e);
int image_write(const struct image_in *in, struct err *e);
/* Converts the raw image to format ("qcow2") with qemu-img, at out. */
int image_convert(const char *raw, const char *format, const char *out, struct err *e);

#endif
