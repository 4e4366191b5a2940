/* Trusting a slot on the device: read its verity partition (lib/slot.h: header, manifest,
 * signature), verify the signature against the initramfs trust store before looking at the
 * manifest, then decide whether this device may run it (product, architecture, rollback
 * index) and whether its verity geometry fits the partitions it will be mapped onto. */
#ifndef STELE_COMMON_SLOTCHECK_H
#define STELE_COMMON_SLOTCHECK_H

#include <stdint.h>

#include "lib/err.h"
#include "lib/manifest.h"
#include "lib/slot.h"
#include "lib/verity.h"

struct slot_info {
	struct slot_header header;
	struct manifest m;
	char signer[256];
	/* the first bytes of the verity area, where the dm-verity superblock is (zeros when
	 * the area is smaller: slotcheck_geometry then refuses it) */
	uint8_t superblock[VERITY_SB_SIZE];
};

/* Reads verity_node (a block device, or a file for tests) and verifies its manifest against
 * every certificate in trust_path. */
int slotcheck_read(const char *verity_node, const char *trust_path, struct slot_info *ret,
		   struct err *e);
/* Verifies a detached signature of manifest against the CA certificates in trust_path, with
 * no certificate time check (devices may have no clock). */
int slotcheck_verify_signature(const char *trust_path, const void *manifest, size_t mlen,
			       const uint8_t *sig, size_t slen, char *signer, size_t signer_len,
			       struct err *e);
/* The manifest is for this product and this machine (uname's machine, e.g. "x86_64"). */
int slotcheck_compat(const struct manifest *m, const char *product, const char *machine,
		     struct err *e);
/* min_path holds the lowest rollback index the device accepts (a decimal number); a missing
 * file accepts any. */
int slotcheck_rollback(const struct manifest *m, const char *min_path, struct err *e);
/* Checks that the tree lies inside the slot's verity area, the data inside root_size bytes
 * and the superblock says what the manifest says (lib/slot.h); ret_hash_start gets the tree's first block in the verity partition, in hash blocks
 * (the hash_start_block of the dm-verity table). */
int slotcheck_geometry(const struct slot_info *s, uint64_t root_size, uint64_t *ret_hash_start,
		       struct err *e);

#endif
