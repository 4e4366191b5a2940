/* The slot's verity partition image: a 4096-byte header, then the dm-verity superblock and
 * hash tree (at verity_offset, which the manifest records as hash_offset), then the manifest
 * (JSON) and its detached CMS signature (DER). The verity area comes first so that its offset
 * is fixed (4096) and the manifest never has to describe its own position.
 *
 *   0      header: magic "STELSLOT", version, offsets and sizes, sha256 of the fields
 *   4096   verity superblock + tree (veritysetup layout, --hash-offset=4096)
 *   ...    manifest, padded to 4096
 *   ...    signature, padded to 4096
 */
#ifndef STELE_LIB_SLOT_H
#define STELE_LIB_SLOT_H

#include <stdint.h>

#include "err.h"
#include "verity.h"

#define SLOT_HEADER_SIZE 4096
#define SLOT_MAGIC "STELSLOT"
#define SLOT_VERSION 1
#define SLOT_MANIFEST_MAX (1u << 20)
#define SLOT_SIGNATURE_MAX (64u << 10)

struct slot_header {
	uint64_t verity_offset, verity_size;
	uint64_t manifest_offset, manifest_size;
	uint64_t signature_offset, signature_size;
};

/* Lays the regions out for a verity area of verity_size bytes (superblock + tree). */
int slot_layout(uint64_t verity_size, uint64_t manifest_size, uint64_t signature_size,
		struct slot_header *ret, struct err *e);
/* Total size of the partition image (the end of the last region, padded to 4096). */
uint64_t slot_image_size(const struct slot_header *h);

void slot_header_encode(const struct slot_header *h, uint8_t out[SLOT_HEADER_SIZE]);
/* Checks magic, version, checksum, and that every region lies inside file_size, after the
 * header, aligned, within its size limit and not overlapping another. */
int slot_header_decode(const uint8_t *buf, size_t len, uint64_t file_size,
		       struct slot_header *ret, struct err *e);

/* The checks of a slot that `stele verify`, stele-init and stele-update all make once its
 * manifest's signature holds: the manifest's verity parameters (p, laid out as l) and rootfs
 * size against the bytes they will be used on. */

/* The tree starts at the header's verity area (p->hash_offset == h->verity_offset) and ends
 * inside it, and the rootfs (rootfs_size bytes) fits root_size (its partition; UINT64_MAX:
 * unbounded). */
int slot_check_geometry(const struct slot_header *h, const struct verity_params *p,
			const struct verity_layout *l, uint64_t rootfs_size, uint64_t root_size,
			struct err *e) __attribute__((warn_unused_result));
/* The dm-verity superblock sb (at the start of the verity area) says what p says: hash,
 * block sizes, data blocks, salt. ret_sb (may be NULL) gets the decoded superblock. */
int slot_check_superblock(const uint8_t sb[VERITY_SB_SIZE], const struct verity_params *p,
			  struct verity_params *ret_sb, struct err *e)
	__attribute__((warn_unused_result));

#endif
