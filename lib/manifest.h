/* The slot manifest: JSON that says exactly what a slot holds (product, version, arch,
 * rollback index, rootfs size and sha256, dm-verity parameters, kernel command line, health
 * policy, provenance). manifest_parse checks every field the device relies on, with bounds;
 * unknown keys are ignored so newer builders stay readable. */
#ifndef STELE_LIB_MANIFEST_H
#define STELE_LIB_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "verity.h"

#define MANIFEST_FORMAT_VERSION 1

/* A Secure Boot slot's signed kernel image (docs/boot.md) and GRUB's OpenPGP signature of it:
 * "kernel": {"uki": {"size", "sha256", "signature_size", "signature_sha256"}}. */
struct manifest_uki {
	uint64_t size, sig_size;
	char sha256[65], sig_sha256[65];
};

struct manifest {
	int format_version;
	char product[65], version[65], arch[17];
	uint64_t rollback_index;
	uint64_t rootfs_size;
	char rootfs_sha256[65];
	struct {
		char algorithm[16];
		uint32_t data_block_size, hash_block_size;
		uint64_t data_blocks, hash_offset;
		char salt[513];
		char root_hash[129];
	} verity;
	char cmdline[4096];
	bool has_uki;
	struct manifest_uki uki;
};

int manifest_parse(const char *buf, size_t len, struct manifest *ret, struct err *e);

/* What the builder knows of a slot, for manifest_write. */
struct cJSON;
struct manifest_in {
	const char *product, *version, *arch, *cmdline;
	uint64_t rollback_index, rootfs_size;
	const char *rootfs_sha256, *root_hash;  /* hex */
	const struct verity_params *verity;      /* salt and sizes; hash_offset as in the slot */
	const struct cJSON *health;              /* the profile's (lib/policy.h policy_complete) */
	const struct manifest_uki *uki;          /* NULL: no kernel image (no Secure Boot) */
	struct cJSON *provenance;                /* taken over by manifest_write, even on failure */
};
/* The manifest text that manifest_parse reads back (JSON of format MANIFEST_FORMAT_VERSION
 * and a newline); *ret is malloc'd. */
int manifest_write(const struct manifest_in *in, char **ret, struct err *e)
	__attribute__((warn_unused_result));
/* The dm-verity parameters a parsed manifest describes (hash_offset as the manifest says,
 * data_offset 0). */
int manifest_verity_params(const struct manifest *m, struct verity_params *ret, struct err *e);

#endif
