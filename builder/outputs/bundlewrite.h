/* Writes the update bundle of a build (lib/bundle.h): header, manifest, signature, the
 * slot's verity partition image and the rootfs, in the order an installer reads them. */
#ifndef STELE_OUTPUTS_BUNDLEWRITE_H
#define STELE_OUTPUTS_BUNDLEWRITE_H

#include "lib/err.h"

int bundle_write(const char *out, const char *manifest, const char *signature,
		 const char *verity, const char *rootfs, struct err *e);

#endif
