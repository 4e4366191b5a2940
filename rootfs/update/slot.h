/* What a slot holds, read from its verity partition: nothing ("empty": no slot header), or a
 * header, manifest and signature verified against the trust store (no certificate time
 * check: devices may have no clock), or something that does not verify. */
#ifndef STELE_UPDATE_SLOT_H
#define STELE_UPDATE_SLOT_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/manifest.h"
#include "lib/verity.h"
#include "rootfs/common/slotcheck.h"
#include "ctx.h"

enum update_slot_kind {
	UPDATE_SLOT_EMPTY,
	UPDATE_SLOT_VALID,
	UPDATE_SLOT_INVALID, /* error says why */
};

struct update_slot {
	enum update_slot_kind kind;
	char node[PATH_MAX];
	char error[512];
	struct slot_info info; /* when valid */
};

/* Fills ret for slot; fails only when the partition cannot be found. */
int update_slot_read(struct update_ctx *c, char slot, struct update_slot *ret, struct err *e);

/* The manifest's verity parameters (hash_offset as the manifest says, data_offset 0) and its
 * root hash (ret_root_len bytes, which must be the algorithm's digest size). */
int update_manifest_params(const struct manifest *m, struct verity_params *ret,
			   struct verity_layout *ret_layout, uint8_t ret_root[VERITY_MAX_DIGEST],
			   struct err *e);

#endif
