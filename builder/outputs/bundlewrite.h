/* Writes the update bundle of a build (lib/bundle.h): header, manifest, signature, the
 * slot's verity partition image and the rootfs, in the order an installer reads them. */
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
};

int bundle_write(const char *out, const struct bundle_in *in, struct err *e);

#endif
