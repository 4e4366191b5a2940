/* libFuzzer target: the bundle header, the first bytes stele-update reads from a file, a
 * block device or a pipe before anything is trusted. Each input is tried as-is and, since a
 * random header almost never passes its checksum, once more with the checksum fixed up, as
 * a file, a device and a stream of the input's size. A header that decodes must describe a
 * file laid out as the format says (parts in order, aligned, not overlapping, ending with the
 * rootfs) and must encode back to the very same 4096 bytes: nothing in it goes unchecked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bundle.h"
#include "lib/hash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_layout(const struct bundle_header *h)
{
	if (h->manifest_offset != BUNDLE_HEADER_SIZE ||
	    h->signature_offset < h->manifest_offset + h->manifest_size ||
	    h->verity_offset < h->signature_offset + h->signature_size ||
	    h->rootfs_offset < h->verity_offset + h->verity_size ||
	    h->signature_offset % 4096 || h->verity_offset % 4096 || h->rootfs_offset % 4096 ||
	    h->total_size != h->rootfs_offset + h->rootfs_size || h->rootfs_size % 4096)
		abort();
}

static void decode(const uint8_t *buf, size_t len, uint64_t size)
{
	static const enum bundle_input kinds[] = {BUNDLE_INPUT_STREAM, BUNDLE_INPUT_FILE,
						  BUNDLE_INPUT_DEVICE};
	uint8_t again[BUNDLE_HEADER_SIZE];
	struct bundle_header h;
	struct err e;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (bundle_header_decode(buf, len, kinds[i], size, &h, &e) < 0)
			continue;
		check_layout(&h);
		if (kinds[i] == BUNDLE_INPUT_FILE && size != h.total_size)
			abort();
		if (kinds[i] == BUNDLE_INPUT_DEVICE && size < h.total_size)
			abort();
		bundle_header_encode(&h, again);
		if (len != BUNDLE_HEADER_SIZE || memcmp(again, buf, BUNDLE_HEADER_SIZE) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t block[BUNDLE_HEADER_SIZE];
	uint64_t claimed = 0;
	struct err e;

	decode(data, size, size);
	/* the input as a header block: the first 4096 bytes (zero-filled), the checksum sealed,
	 * and a file size from the bytes after it (so sizes around total_size are reached) */
	memset(block, 0, sizeof(block));
	memcpy(block, data, size < sizeof(block) ? size : sizeof(block));
	if (size >= sizeof(block) + 8)
		memcpy(&claimed, data + sizeof(block), 8);
	sha256_buf(block, 80, block + 80); /* the header checksum covers bytes 0..79 */
	decode(block, sizeof(block), claimed);
	decode(block, sizeof(block), size);
	if (size > 0)
		(void)bundle_check_padding(data, size, 0, "padding", &e);
	return 0;
}
