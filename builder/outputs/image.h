/* The bootable disk image of a build: GPT with esp, root_a, verity_a, root_b, verity_b and
 * data (see DESIGN.md "Disk layout"); slot A holds this build, slot B is empty and marked bad
 * in the boot state; data is an empty ext4 with a journal. Converted to other formats by
 * vdisk.h. */
#ifndef STELE_OUTPUTS_IMAGE_H
#define STELE_OUTPUTS_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/hash.h"
#include "builder/profile.h"
#include "disk.h"
#include "esp.h"

struct image_in {
	const struct profile *p;
	const char *rootfs, *verity;  /* this build's slot (the rootfs is copied in by the caller) */
	const char *img;              /* output (a temporary) */
	struct esp_files esp;         /* GRUB, and slot a's kernel image with Secure Boot */
	int64_t epoch;
	uint8_t seed[SHA256_LEN];
};

struct image_layout {
	uint64_t esp, slot, verity, data; /* partition sizes in bytes */
};

/* Partition sizes from the profile's "layout", checked against what must fit. */
int image_layout(const struct profile *p, uint64_t rootfs_size, uint64_t verity_size,
		 struct image_layout *ret, struct err *e);
/* A disk image being written: image_create makes it with its GPT and every partition empty
 * (so that the rootfs can be copied into slot A, at image_slot_offset, while it is hashed);
 * image_finish writes the ESP, verity_a and data and closes it. image_disk_close closes it on
 * failure (NULL-safe: fd -1). */
struct image_disk {
	int fd;
	struct image_layout l;
	struct disk_layout_out d;
};
int image_create(const struct image_in *in, struct image_disk *ret, struct err *e)
	__attribute__((warn_unused_result));
uint64_t image_slot_offset(const struct image_disk *d);
int image_finish(const struct image_in *in, struct image_disk *d, struct err *e)
	__attribute__((warn_unused_result));
void image_disk_close(struct image_disk *d);

#endif
