/* Bundle header: layout, round trip, and hostile headers (every byte of the checksummed
 * header flipped, truncation, sizes out of range, a file shorter than the header says). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "../lib/bundle.h"
#include "../lib/hash.h"
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
	is_int(bundle_header_decode(buf, sizeof(buf), h.total_size, &got, &e), 0, "round trip");
	ok(memcmp(&got, &h, sizeof(h)) == 0, "decoded header equals the encoded one");
	is_int(bundle_header_decode(buf, sizeof(buf), 0, &got, &e), 0,
	       "unknown file size (a pipe) is fine");
	for (size_t i = 0; i < 112; i++) {
		memcpy(bad, buf, sizeof(bad));
		bad[i] ^= 0x01;
		rejected += bundle_header_decode(bad, sizeof(bad), h.total_size, &got, &e) < 0;
	}
	is_int(rejected, 112, "every single-bit change in the header is rejected");
	memcpy(bad, buf, sizeof(bad));
	bad[0] = 'X';
	ok(bundle_header_decode(bad, sizeof(bad), 0, &got, &e) < 0, "bad magic rejected");
	has_str(e.msg, "bad magic", "bad magic: says so");
	memcpy(bad, buf, sizeof(bad));
	bad[8] = 2;
	reseal(bad);
	ok(bundle_header_decode(bad, sizeof(bad), 0, &got, &e) < 0, "version 2 rejected");
	has_str(e.msg, "version 2", "version: named");
	ok(bundle_header_decode(buf, 100, 0, &got, &e) < 0, "truncated header rejected");
	has_str(e.msg, "truncated header", "truncated header: says so");
	ok(bundle_header_decode(buf, sizeof(buf), h.total_size - 1, &got, &e) < 0,
	   "a file one byte short rejected");
	has_str(e.msg, "truncated", "short file: says so");
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
		ok(bundle_header_decode(bad, sizeof(bad), 0, &got, &e) < 0, "%s rejected",
		   cases[i].what);
		has_str(e.msg, cases[i].msg, "%s: named", cases[i].what);
	}
	memcpy(bad, buf, sizeof(bad));
	bad[13] = 0; /* header_size 4096 -> 0 */
	reseal(bad);
	ok(bundle_header_decode(bad, sizeof(bad), 0, &got, &e) < 0, "header size 0 rejected");
	return tap_done();
}
