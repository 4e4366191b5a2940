/* The signed half of a build: hashes the rootfs into a dm-verity tree and its sha256 in one
 * read (slot_pass, which also writes the copies asked for), writes the manifest, signs it,
 * and lays out the slot's verity partition image (lib/slot.h), plus the manifest and
 * signature as separate files. */
#ifndef STELE_OUTPUTS_SLOTIMG_H
#define STELE_OUTPUTS_SLOTIMG_H

#include <stdint.h>

#include "lib/err.h"
#include "lib/hash.h"
#include "lib/manifest.h"
#include "lib/sign.h"
#include "lib/verity.h"
#include "builder/profile.h"
#include "builder/sources/source.h"
#include "pass.h"

struct slotimg_in {
	const struct profile *p;
	const struct inputs *inputs;
	int64_t epoch;
	const char *rootfs;   /* the finished ext4 image */
	const char *verity;   /* output paths (temporaries) */
	const char *manifest;
	const char *signature;
	const struct sign_key *key;
	const struct sign_trust *trust; /* the signature is checked against it once made */
	const struct secret_scan *secrets; /* its allowed hits go into the provenance */
	uint8_t seed[SHA256_LEN];
	/* with Secure Boot: makes the kernel image that carries the root hash (hex), after
	 * hashing and before signing, and says what the manifest records of it */
	int (*boot)(void *userdata, const char *root_hash, struct manifest_uki *ret,
		    struct err *e);
	void *boot_userdata;
	/* copies of the rootfs written while it is read for hashing (slot A, the bundle) */
	struct pass_sink sinks[PASS_MAX_SINKS];
	size_t nsinks;
};

struct slotimg_out {
	char root_hash[2 * VERITY_MAX_DIGEST + 1];
	char rootfs_sha256[SHA256_HEX_LEN];
	uint64_t rootfs_size;
	uint64_t verity_image_size;
	char *manifest;     /* the bytes written to in->manifest; the caller frees them */
	size_t manifest_len;
	uint8_t *signature; /* the bytes written to in->signature; the caller frees them */
	size_t signature_len;
};

/* Fills out only on success. */
int slotimg_write(const struct slotimg_in *in, struct slotimg_out *out, struct err *e);

/* The size the verity partition image of a rootfs of rootfs_size bytes will have when the
 * manifest and the signature take a page each (what they take unless they are unusually
 * large); some size when the profile's verity settings are invalid (slotimg_write will say
 * why). */
uint64_t slotimg_verity_guess(const struct slotimg_in *in, uint64_t rootfs_size);

/* The verity salt of a product: the same for every version, so equal blocks hash equally
 * across versions (what makes block-level deltas possible). */
void slotimg_salt(const char *product, uint8_t salt[SHA256_LEN]);

#endif
