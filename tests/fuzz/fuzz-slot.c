/* libFuzzer target: the parsers a device runs on bytes from a slot before anything is
 * trusted: the slot header, the manifest and the dm-verity superblock. Each input is tried
 * as-is and, since a random header almost never passes its checksum, once more with the
 * checksum fixed up, so the region checks behind it get explored too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/manifest.h"
#include "lib/slot.h"
#include "lib/verity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_slot(const uint8_t *data, size_t size)
{
	struct slot_header h;
	struct manifest m;
	struct verity_params vp;
	struct err e;

	if (slot_header_decode(data, size, size, &h, &e) < 0)
		return;
	manifest_parse((const char *)data + h.manifest_offset, (size_t)h.manifest_size, &m, &e);
	if (h.verity_size >= VERITY_SB_SIZE)
		verity_sb_decode(data + h.verity_offset, &vp, &e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m;
	struct verity_params vp;
	struct err e;
	uint8_t *copy;

	parse_slot(data, size);
	manifest_parse((const char *)data, size, &m, &e);
	if (size >= VERITY_SB_SIZE)
		verity_sb_decode(data, &vp, &e);
	if (size >= 112) {
		copy = malloc(size);
		memcpy(copy, data, size);
		sha256_buf(copy, 80, copy + 80); /* the header checksum covers bytes 0..79 */
		parse_slot(copy, size);
		free(copy);
	}
	return 0;
}
