/* Update bundles: one file carrying a slot, laid out for streaming installs (from a file, a
 * block device or stdin, read front to back):
 *
 *   0      header (4096 bytes): magic "STELBNDL", version, sizes of the parts, sha256 of
 *          the header fields
 *   4096   manifest (JSON), padded to 4096
 *   ...    its detached CMS signature (DER), padded to 4096
 *   ...    the slot's verity partition image (lib/slot.h), padded to 4096
 *   ...    format 2 only: the slot's signed kernel image (UKI), padded to 4096
 *   ...    format 2 only: its OpenPGP signature for GRUB, padded to 4096
 *   ...    the rootfs image, manifest.rootfs.size bytes
 *
 * Format 2 is format 1 with the two parts of a Secure Boot slot (docs/boot.md); a build
 * without Secure Boot still writes format 1, which every stele-update reads. The kernel
 * image comes before the rootfs, so that an installer checks its hash (in the signed
 * manifest) and its Authenticode signature before it writes anything.
 *
 * An installer checks the signature and compatibility from the first few KiB, then the whole
 * hash tree against the signed root hash, then every rootfs block against the tree as it
 * streams, before writing it. The header holds sizes only: every offset follows from them,
 * so the parts are in order, 4 KiB aligned and cannot overlap. The format defines every byte
 * of the file: the header's reserved bytes and everything after its checksum up to 4096 are
 * zero, so is every padding byte, and the file ends where the rootfs does. */
#ifndef STELE_LIB_BUNDLE_H
#define STELE_LIB_BUNDLE_H

#include <stdint.h>

#include "err.h"

#define BUNDLE_HEADER_SIZE 4096
#define BUNDLE_MAGIC "STELBNDL"
#define BUNDLE_VERSION 1     /* without a kernel image */
#define BUNDLE_VERSION_UKI 2 /* with one */
#define BUNDLE_MANIFEST_MAX (1u << 20)
#define BUNDLE_SIGNATURE_MAX (64u << 10)
#define BUNDLE_VERITY_MAX (1ULL << 32)
#define BUNDLE_ROOTFS_MAX (1ULL << 42)
#define BUNDLE_UKI_MAX (256u << 20)
#define BUNDLE_UKI_SIG_MAX (64u << 10)

struct bundle_header {
	uint64_t manifest_size, signature_size, verity_size, rootfs_size;
	uint64_t uki_size, uki_sig_size; /* both 0 (format 1) or both set (format 2) */
	/* derived by bundle_header_decode/bundle_layout: */
	uint64_t manifest_offset, signature_offset, verity_offset, uki_offset, uki_sig_offset;
	uint64_t rootfs_offset, total_size;
};

/* What the bundle is read from, for the size check of bundle_header_decode. */
enum bundle_input {
	BUNDLE_INPUT_STREAM, /* a pipe: size unknown; the reader checks the end itself, by
			      * reading past the rootfs (it must find the end of the input) */
	BUNDLE_INPUT_FILE,   /* a regular file: exactly total_size bytes */
	BUNDLE_INPUT_DEVICE, /* a block device: the bundle is its first total_size bytes */
};

/* Fills the offsets from the sizes; fails when a size is zero or over its limit. */
int bundle_layout(struct bundle_header *h, struct err *e) __attribute__((warn_unused_result));
void bundle_header_encode(const struct bundle_header *h, uint8_t out[BUNDLE_HEADER_SIZE]);
/* Checks the whole header block (len must be BUNDLE_HEADER_SIZE): magic, version, checksum,
 * header size, reserved bytes and the rest of the block zero, the sizes within their limits;
 * then the input's size: size bytes, as `kind` says (ignored for a stream). */
int bundle_header_decode(const uint8_t *buf, size_t len, enum bundle_input kind, uint64_t size,
			 struct bundle_header *ret, struct err *e) __attribute__((warn_unused_result));
/* Checks that buf (len bytes, the padding that starts at bundle offset off, after the part
 * named what) is all zero: "bundle: manifest padding: byte 0x41 at offset 5000, expected 0". */
int bundle_check_padding(const uint8_t *buf, size_t len, uint64_t off, const char *what,
			 struct err *e) __attribute__((warn_unused_result));

#endif
