/* Disk images: a GPT (protective MBR, primary and backup headers) written in-process with
 * libfdisk, 1 MiB-aligned partitions with deterministic GUIDs, and partition contents copied
 * in without writing zero blocks, so the raw image stays sparse. */
#ifndef STELE_OUTPUTS_DISK_H
#define STELE_OUTPUTS_DISK_H

#include <stdint.h>

#include "lib/err.h"
#include "lib/hash.h"

#define DISK_ALIGN (1ULL << 20)
#define DISK_MAX_PARTS 8

struct disk_part {
	const char *label;     /* GPT partition name (PARTLABEL) */
	const char *type_guid; /* UAPI Discoverable Partitions type */
	uint64_t size;         /* bytes, a multiple of 1 MiB */
	const char *src;       /* file copied to the start of the partition, or NULL */
};

struct disk_layout_out {
	uint64_t start[DISK_MAX_PARTS]; /* bytes */
	uint64_t size; /* of the whole disk */
};

/* Creates a new sparse disk image at path (which must not exist): sized, the GPT written,
 * every partition empty. *ret_fd gets the image open for writing (the caller closes it). */
int disk_create(const char *path, const struct disk_part *parts, int nparts,
		const uint8_t seed[SHA256_LEN], struct disk_layout_out *out, int *ret_fd,
		struct err *e);
/* Copies each part's src (when not NULL) to the start of its partition. */
int disk_fill(int fd, const struct disk_part *parts, int nparts,
	      const struct disk_layout_out *layout, struct err *e);

/* A deterministic RFC 4122 version 4 UUID string from seed and a purpose. */
void disk_uuid(const uint8_t seed[SHA256_LEN], const char *purpose, char out[37]);

#endif
