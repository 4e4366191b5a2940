/* Writes the update bundle of a build (lib/bundle.h): header, manifest, signature, the
 * slot's verity partition image, its kernel image and signature (Secure Boot) and the rootfs,
 * in the order an installer reads them. */
#ifndef STELE_OUTPUTS_BUNDLEWRITE_H
#define STELE_OUTPUTS_BUNDLEWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

/* The parts of a bundle: the manifest and its signature as the build made them (in memory),
 * the slot's verity partition image and the rootfs as files, copied once. */
struct bundle_in {
	const char *manifest;
	size_t manifest_len;
	const uint8_t *signature;
	size_t signature_len;
	const char *verity, *rootfs;
	const char *uki, *uki_sig; /* a Secure Boot slot's kernel image and its signature (format
				    * 2); NULL: none (format 1) */
};

int bundle_write(const char *out, const struct bundle_in *in, struct err *e);

/* The same in two steps, so that the rootfs can be copied in while it is hashed: bundle_create
 * makes the file with room for the rootfs where the other parts, at the sizes guessed (of
 * the verity image and the kernel image; the manifest and the signature one page each),
 * leave it: at
 * rootfs_offset. bundle_finish writes the header and the other parts; when their real sizes
 * move the rootfs, it empties the file and copies the rootfs in from its file instead. It
 * closes the file; bundle_file_close closes it on failure (fd -1: nothing). */
struct bundle_file {
	int fd;
	uint64_t rootfs_offset;
};
struct bundle_guess {
	uint64_t rootfs, verity, uki, uki_sig; /* uki 0: none */
};
int bundle_create(const char *out, const struct bundle_guess *g, struct bundle_file *ret,
		  struct err *e) __attribute__((warn_unused_result));
int bundle_finish(struct bundle_file *b, const struct bundle_in *in, struct err *e)
	__attribute__((warn_unused_result));
void bundle_file_close(struct bundle_file *b);

#endif
