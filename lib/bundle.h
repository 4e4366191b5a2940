/* Update bundles: one file carrying a slot, laid out for streaming installs (from a file, a
 * block device or stdin, read front to back):
 *
 *   0      header (4096 bytes): magic "STELBNDL", version, sizes of the parts, sha256 of
 *          the header fields
 *   4096   manifest (JSON), padded to 4096
 *   ...    its detached CMS signature (DER), padded to 4096
 *   ...    the slot's verity partition image (lib/slot.h), padded to 4096
 *   ...    the rootfs image, manifest.rootfs.size bytes
 *
 * An installer checks the signature and compatibility from the first few KiB, then the whole
 * hash tree against the signed root hash, then every rootfs block against the tree as it
 * streams, before writing it. Every offset follows from the sizes, so nothing points
 * backwards. */
#ifndef STELE_BUNDLE_H
#define STELE_BUNDLE_H

#include <stdint.h>

#include "err.h"

#define BUNDLE_HEADER_SIZE 4096
#define BUNDLE_MAGIC "STELBNDL"
#define BUNDLE_VERSION 1
#define BUNDLE_MANIFEST_MAX (1u << 20)
#define BUNDLE_SIGNATURE_MAX (64u << 10)
#define BUNDLE_VERITY_MAX (1ULL << 32)
#define BUNDLE_ROOTFS_MAX (1ULL << 42)

struct bundle_header {
	uint64_t manifest_size, signature_size, verity_size, rootfs_size;
	/* derived by bundle_header_decode/bundle_layout: */
	uint64_t manifest_offset, signature_offset, verity_offset, rootfs_offset, total_size;
};

/* Fills the offsets from the sizes; fails when a size is zero or over its limit. */
int bundle_layout(struct bundle_header *h, struct err *e);
void bundle_header_encode(const struct bundle_header *h, uint8_t out[BUNDLE_HEADER_SIZE]);
/* Checks magic, version, checksum and limits; file_size (0 when unknown, as for stdin) must
 * then hold the whole bundle. */
int bundle_header_decode(const uint8_t *buf, size_t len, uint64_t file_size,
			 struct bundle_header *ret, struct err *e);

#endif
