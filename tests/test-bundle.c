/* Bundle header: layout, round trip, and hostile headers (every byte of the checksummed
 * header flipped, truncation, sizes out of range, a file shorter than the header says). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "lib/bundle.h"
#include "lib/hash.h"
#include "tap.h"

static struct bundle_header sample(void)
{
	struct bundle_header h = {.manifest_size = 1000, .signature_size = 1700,
				  .verity_size = 1077248, .rootfs_size = 134217728};
	return h;
}

/* Re-seals a header edited by a test, so the checks behind the checksum are reached. */
static void reseal(uint8_t *buf)
{
	sha256_buf(buf, 80, buf + 80);
}

static void put64(uint8_t *buf, size_t off, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		buf[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

/* The format defines the whole file: a byte after the rootfs is an error in a file, and the
 * rest of a block device is not the bundle's. */
static void trailing(const uint8_t *buf, const struct bundle_header *h)
{
	struct bundle_header got;
	struct err e = {{0}};

	ok(bundle_header_decode(buf, BUNDLE_HEADER_SIZE, BUNDLE_INPUT_FILE, h->total_size + 1,
				&got, &e) < 0,
	   "a file with one byte after the rootfs rejected");
	has_str(e.msg, "1 bytes after the end of the rootfs", "trailing byte: says so");
	ok(bundle_header_decode(buf, BUNDLE_HEADER_SIZE, BUNDLE_INPUT_FILE, h->total_size + 4096,
				&got, &e) < 0,
	   "a file with a 4 KiB tail rejected");
	is_int(bundle_header_decode(buf, BUNDLE_HEADER_SIZE, BUNDLE_INPUT_DEVICE,
				    h->total_size + (1u << 20), &got, &e),
	       0, "a block device larger than the bundle is fine");
	ok(bundle_header_decode(buf, BUNDLE_HEADER_SIZE, (enum bundle_input)7, h->total_size, &got,
				&e) < 0,
	   "an unknown kind of input rejected");
	ok(bundle_header_decode(buf, BUNDLE_HEADER_SIZE - 1, BUNDLE_INPUT_STREAM, 0, &got, &e) < 0,
	   "a header block of 4095 bytes rejected");
}

/* Format 2: the kernel image and its signature between the verity image and the rootfs; a
 * version that does not match the parts, one part without the other, or a size over its limit
 * is refused. */
static void format2(void)
{
	struct bundle_header h = sample(), got;
	uint8_t buf[BUNDLE_HEADER_SIZE], bad[BUNDLE_HEADER_SIZE];
	struct err e = {{0}};

	h.uki_size = 19 << 20 | 5;
	h.uki_sig_size = 287;
	is_int(bundle_layout(&h, &e), 0, "format 2: a layout%s", e.msg);
	ok(h.uki_offset == h.verity_offset + ((h.verity_size + 4095) & ~4095ULL) &&
		   h.uki_sig_offset == h.uki_offset + ((h.uki_size + 4095) & ~4095ULL) &&
		   h.rootfs_offset == h.uki_sig_offset + 4096,
	   "  the kernel image and its signature after the verity image, before the rootfs");
	bundle_header_encode(&h, buf);
	is_int(buf[8], 2, "  written as version 2");
	ok(bundle_header_decode(buf, sizeof(buf), BUNDLE_INPUT_FILE, h.total_size, &got, &e) == 0 &&
		   memcmp(&got, &h, sizeof(h)) == 0,
	   "  read back the same%s", e.msg);
	memcpy(bad, buf, sizeof(bad));
	bad[8] = 1;
	reseal(bad);
	ok(bundle_header_decode(bad, sizeof(bad), BUNDLE_INPUT_STREAM, 0, &got, &e) < 0 &&
		   strstr(e.msg, "version 1 with a kernel image"),
	   "  version 1 with a kernel image rejected: %s", e.msg);
	memcpy(bad, buf, sizeof(bad));
	put64(bad, 56, 0);
	reseal(bad);
	ok(bundle_header_decode(bad, sizeof(bad), BUNDLE_INPUT_STREAM, 0, &got, &e) < 0 &&
		   strstr(e.msg, "out of range"),
	   "  a kernel image without its signature rejected: %s", e.msg);
	memcpy(bad, buf, sizeof(bad));
	put64(bad, 48, BUNDLE_UKI_MAX + 1ULL);
	reseal(bad);
	ok(bundle_header_decode(bad, sizeof(bad), BUNDLE_INPUT_STREAM, 0, &got, &e) < 0,
	   "  a kernel image over 256 MiB rejected: %s", e.msg);
	memcpy(bad, buf, sizeof(bad));
	put64(bad, 56, BUNDLE_UKI_SIG_MAX + 1ULL);
	reseal(bad);
	ok(bundle_header_decode(bad, sizeof(bad), BUNDLE_INPUT_STREAM, 0, &got, &e) < 0,
	   "  a signature over 64 KiB rejected: %s", e.msg);
	memcpy(bad, buf, sizeof(bad));
	put64(bad, 48, UINT64_MAX);
	reseal(bad);
	ok(bundle_header_decode(bad, sizeof(bad), BUNDLE_INPUT_STREAM, 0, &got, &e) < 0,
	   "  a kernel image of 2^64-1 bytes rejected: %s", e.msg);
}

/* Nonzero reserved bytes, and bytes after the checksum in the 4 KiB header block. */
static void reserved(const uint8_t *buf)
{
	uint8_t bad[BUNDLE_HEADER_SIZE];
	struct bundle_header got;
	struct err e = {{0}};
	const size_t offs[] = {64, 71, 79};
	int rejected = 0;

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		memcpy(bad, buf, sizeof(bad));
		bad[offs[i]] = 0x5a;
		reseal(bad);
		ok(bundle_header_decode(bad, sizeof(bad), BUNDLE_INPUT_STREAM, 0, &got, &e) < 0,
		   "reserved byte %zu set (checksum resealed) rejected", offs[i]);
		has_str(e.msg, "reserved header field", "reserved byte %zu: named", offs[i]);
	}
	for (size_t off = 112; off < BUNDLE_HEADER_SIZE; off++) {
		memcpy(bad, buf, sizeof(bad));
		bad[off] = 1;
		rejected += bundle_header_decode(bad, sizeof(bad), BUNDLE_INPUT_STREAM, 0, &got, &e) < 0;
	}
	is_int(rejected, BUNDLE_HEADER_SIZE - 112,
	       "every nonzero byte after the checksum (112..4095) rejected");
	has_str(e.msg, "offset 4095", "the last one: its offset named");
}

/* The header holds sizes only; the offsets it implies are in order, 4 KiB aligned, do not
 * overlap and add up to the file, for sizes at and around every limit. */
static void layouts(void)
{
	const uint64_t ms[] = {1, 4095, 4096, 4097, BUNDLE_MANIFEST_MAX};
	const uint64_t ss[] = {1, 4096, BUNDLE_SIGNATURE_MAX};
	const uint64_t vs[] = {1, 8191, BUNDLE_VERITY_MAX};
	const uint64_t rs[] = {4096, BUNDLE_ROOTFS_MAX};
	int bad = 0, n = 0;
	struct err e = {{0}};

	for (size_t a = 0; a < 5; a++)
		for (size_t b = 0; b < 3; b++)
			for (size_t c = 0; c < 3; c++)
				for (size_t d = 0; d < 2; d++) {
					struct bundle_header h = {.manifest_size = ms[a],
								  .signature_size = ss[b],
								  .verity_size = vs[c],
								  .rootfs_size = rs[d]};
					n++;
					if (bundle_layout(&h, &e) < 0) {
						bad++;
						continue;
					}
					bad += h.manifest_offset != BUNDLE_HEADER_SIZE ||
					       h.signature_offset < h.manifest_offset + h.manifest_size ||
					       h.verity_offset < h.signature_offset + h.signature_size ||
					       h.rootfs_offset < h.verity_offset + h.verity_size ||
					       h.signature_offset - (h.manifest_offset + h.manifest_size) >= 4096 ||
					       h.verity_offset - (h.signature_offset + h.signature_size) >= 4096 ||
					       h.rootfs_offset - (h.verity_offset + h.verity_size) >= 4096 ||
					       h.signature_offset % 4096 || h.verity_offset % 4096 ||
					       h.rootfs_offset % 4096 ||
					       h.total_size != h.rootfs_offset + h.rootfs_size;
				}
	is_int(bad, 0, "%d layouts at the limits: ordered, aligned, contiguous, no overlap", n);
}

static void padding(void)
{
	uint8_t pad[100] = {0};
	struct err e = {{0}};

	is_int(bundle_check_padding(pad, sizeof(pad), 5000, "manifest padding", &e), 0,
	       "zero padding accepted");
	pad[99] = 0x41;
	ok(bundle_check_padding(pad, sizeof(pad), 5000, "manifest padding", &e) < 0,
	   "a nonzero padding byte rejected");
	has_str(e.msg, "manifest padding: byte 0x41 at offset 5099", "padding: part and offset named");
}

int main(void)
{
	struct bundle_header h = sample(), got;
	uint8_t buf[BUNDLE_HEADER_SIZE], bad[BUNDLE_HEADER_SIZE];
	struct err e;
	int rejected = 0;

	is_int(bundle_layout(&h, &e), 0, "layout of a sample bundle");
	is_int(h.manifest_offset, 4096, "manifest right after the header");
	is_int(h.signature_offset, 8192, "signature on the next 4 KiB boundary");
	is_int(h.verity_offset, 12288, "verity image after the signature");
	is_int(h.rootfs_offset % 4096, 0, "rootfs 4 KiB aligned");
	is_int(h.total_size, h.rootfs_offset + h.rootfs_size, "total size");
	bundle_header_encode(&h, buf);
	is_int(bundle_header_decode(buf, sizeof(buf), BUNDLE_INPUT_FILE, h.total_size, &got, &e), 0,
	       "round trip");
	ok(memcmp(&got, &h, sizeof(h)) == 0, "decoded header equals the encoded one");
	is_int(bundle_header_decode(buf, sizeof(buf), BUNDLE_INPUT_STREAM, 0, &got, &e), 0,
	       "unknown file size (a pipe) is fine");
	for (size_t i = 0; i < 112; i++) {
		memcpy(bad, buf, sizeof(bad));
		bad[i] ^= 0x01;
		rejected += bundle_header_decode(bad, sizeof(bad), BUNDLE_INPUT_FILE, h.total_size, &got,
						 &e) < 0;
	}
	is_int(rejected, 112, "every single-bit change in the header is rejected");
	memcpy(bad, buf, sizeof(bad));
	bad[0] = 'X';
	ok(bundle_header_decode(bad, sizeof(bad), BUNDLE_INPUT_STREAM, 0, &got, &e) < 0, "bad magic rejected");
	has_str(e.msg, "bad magic", "bad magic: says so");
	memcpy(bad, buf, sizeof(bad));
	bad[8] = 3;
	reseal(bad);
	ok(bundle_header_decode(bad, sizeof(bad), BUNDLE_INPUT_STREAM, 0, &got, &e) < 0, "version 3 rejected");
	has_str(e.msg, "version 3", "version: named");
	bad[8] = 2;
	reseal(bad);
	ok(bundle_header_decode(bad, sizeof(bad), BUNDLE_INPUT_STREAM, 0, &got, &e) < 0 &&
		   strstr(e.msg, "version 2 without a kernel image"),
	   "version 2 without a kernel image rejected: %s", e.msg);
	ok(bundle_header_decode(buf, 100, BUNDLE_INPUT_STREAM, 0, &got, &e) < 0, "truncated header rejected");
	has_str(e.msg, "truncated header", "truncated header: says so");
	ok(bundle_header_decode(buf, sizeof(buf), BUNDLE_INPUT_FILE, h.total_size - 1, &got, &e) <
	       0,
	   "a file one byte short rejected");
	has_str(e.msg, "truncated", "short file: says so");
	ok(bundle_header_decode(buf, sizeof(buf), BUNDLE_INPUT_DEVICE, h.total_size - 1, &got,
				&e) < 0,
	   "a block device one byte short rejected");
	trailing(buf, &h);
	reserved(buf);
	layouts();
	struct {
		size_t off;
		uint64_t v;
		const char *what, *msg;
	} cases[] = {
		{16, 0, "manifest size 0", "manifest size"},
		{16, (1u << 20) + 1, "manifest over 1 MiB", "manifest size"},
		{24, 0, "signature size 0", "signature size"},
		{24, 70000, "signature over 64 KiB", "signature size"},
		{32, 0, "verity size 0", "verity image size"},
		{32, UINT64_MAX, "verity size 2^64-1", "verity image size"},
		{40, 0, "rootfs size 0", "rootfs size"},
		{40, 4097, "rootfs size not 4 KiB-aligned", "rootfs size"},
		{40, UINT64_MAX - 4095, "rootfs size near 2^64", "rootfs size"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		memcpy(bad, buf, sizeof(bad));
		put64(bad, cases[i].off, cases[i].v);
		reseal(bad);
		ok(bundle_header_decode(bad, sizeof(bad), BUNDLE_INPUT_STREAM, 0, &got, &e) < 0, "%s rejected",
		   cases[i].what);
		has_str(e.msg, cases[i].msg, "%s: named", cases[i].what);
	}
	memcpy(bad, buf, sizeof(bad));
	bad[13] = 0; /* header_size 4096 -> 0 */
	reseal(bad);
	ok(bundle_header_decode(bad, sizeof(bad), BUNDLE_INPUT_STREAM, 0, &got, &e) < 0, "header size 0 rejected");
	padding();
	format2();
	return tap_done();
}
