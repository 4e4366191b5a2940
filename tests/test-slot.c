/* Unit tests of the slot image header (lib/slot.c) and of the dm-verity superblock codec
 * (verity_sb_encode/verity_sb_decode in lib/verity.c), with hostile inputs. */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/slot.h"
#include "lib/verity.h"
#include "tap.h"

#define KiB 1024ULL
#define MiB (1024ULL * 1024)

static struct err e;

/* Byte offsets of the fields of the 112-byte packed on-disk header. */
enum {
	OFF_MAGIC = 0,
	OFF_VERSION = 8,
	OFF_HEADER_SIZE = 12,
	OFF_VERITY_OFFSET = 16,
	OFF_VERITY_SIZE = 24,
	OFF_MANIFEST_OFFSET = 32,
	OFF_MANIFEST_SIZE = 40,
	OFF_SIGNATURE_OFFSET = 48,
	OFF_SIGNATURE_SIZE = 56,
	OFF_CHECKSUM = 80,
	DISK_SIZE = 112,
};

static void put32(uint8_t *b, size_t off, uint32_t v)
{
	v = htole32(v);
	memcpy(b + off, &v, 4);
}

static void put64(uint8_t *b, size_t off, uint64_t v)
{
	v = htole64(v);
	memcpy(b + off, &v, 8);
}

static uint64_t get64(const uint8_t *b, size_t off)
{
	uint64_t v;

	memcpy(&v, b + off, 8);
	return le64toh(v);
}

static void reseal(uint8_t *b)
{
	sha256_buf(b, OFF_CHECKSUM, b + OFF_CHECKSUM);
}

/* A valid header: verity 4096+8192, manifest 12288+4096, signature 16384+4096; file 20480. */
static const struct slot_header base = {
	.verity_offset = 4096, .verity_size = 8192,
	.manifest_offset = 12288, .manifest_size = 4096,
	.signature_offset = 16384, .signature_size = 4096,
};
#define BASE_FILE 20480ULL

static int decode_with(const struct slot_header *h, uint64_t file_size)
{
	uint8_t buf[SLOT_HEADER_SIZE];
	struct slot_header out;

	slot_header_encode(h, buf);
	memset(&e, 0, sizeof(e));
	return slot_header_decode(buf, sizeof(buf), file_size, &out, &e);
}

/* Encodes h, rejected with a message naming frag1 (and frag2 if not NULL). */
static void rejects(const struct slot_header *h, uint64_t file_size, const char *what,
		    const char *frag1, const char *frag2)
{
	int r = decode_with(h, file_size);

	ok(r == -EINVAL, "%s: rejected (%d)", what, r);
	has_str(e.msg, frag1, "%s: message", what);
	if (frag2)
		has_str(e.msg, frag2, "%s: message names the cause", what);
}

static void test_layout(void)
{
	struct slot_header h;
	int r;

	memset(&h, 0xaa, sizeof(h));
	r = slot_layout(5000, 100, 1500, &h, &e);
	is_int(r, 0, "layout: ok");
	is_int(h.verity_offset, 4096, "layout: verity at 4096");
	is_int(h.verity_size, 5000, "layout: verity size kept");
	is_int(h.manifest_offset, 12288, "layout: manifest after verity, aligned up");
	is_int(h.manifest_size, 100, "layout: manifest size kept");
	is_int(h.signature_offset, 16384, "layout: signature after manifest, aligned up");
	is_int(h.signature_size, 1500, "layout: signature size kept");
	is_int(slot_image_size(&h), 20480, "image size: end of signature padded to 4096");

	/* sizes that are already aligned do not get an extra block */
	r = slot_layout(8192, 4096, 4096, &h, &e);
	is_int(r, 0, "layout aligned: ok");
	is_int(h.manifest_offset, 12288, "layout aligned: manifest right after verity");
	is_int(h.signature_offset, 16384, "layout aligned: signature right after manifest");
	is_int(slot_image_size(&h), 20480, "layout aligned: image size");

	/* every region aligned for many sizes, and the layout decodes */
	{
		static const uint64_t vs[] = {1, 511, 4095, 4096, 4097, 12345, 1 * MiB + 1};
		static const uint64_t ms[] = {1, 4095, 4096, 4097, SLOT_MANIFEST_MAX};
		static const uint64_t ss[] = {1, 4096, 4097, SLOT_SIGNATURE_MAX};
		int bad = 0, bad_decode = 0, bad_order = 0;

		for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++)
			for (size_t j = 0; j < sizeof(ms) / sizeof(ms[0]); j++)
				for (size_t k = 0; k < sizeof(ss) / sizeof(ss[0]); k++) {
					uint64_t size;

					if (slot_layout(vs[i], ms[j], ss[k], &h, &e) < 0) {
						bad++;
						continue;
					}
					size = slot_image_size(&h);
					if (h.verity_offset != 4096 || h.manifest_offset % 4096 ||
					    h.signature_offset % 4096 || size % 4096)
						bad++;
					if (h.manifest_offset < h.verity_offset + h.verity_size ||
					    h.signature_offset < h.manifest_offset + h.manifest_size ||
					    size < h.signature_offset + h.signature_size ||
					    h.manifest_offset - (h.verity_offset + h.verity_size) >= 4096 ||
					    h.signature_offset - (h.manifest_offset + h.manifest_size) >= 4096 ||
					    size - (h.signature_offset + h.signature_size) >= 4096)
						bad_order++;
					if (decode_with(&h, size) < 0) {
						printf("# %s\n", e.msg);
						bad_decode++;
					}
				}
		is_int(bad, 0, "layout: every region aligned to 4096, verity at 4096");
		is_int(bad_order, 0, "layout: regions in order, each padded by less than a block");
		is_int(bad_decode, 0, "layout: every layout decodes with file_size = image size");
	}

	/* limits */
	r = slot_layout(4096, 0, 100, &h, &e);
	ok(r < 0, "layout: manifest of 0 bytes rejected");
	has_str(e.msg, "manifest", "layout: manifest of 0 bytes: message");
	r = slot_layout(4096, SLOT_MANIFEST_MAX + 1ULL, 100, &h, &e);
	ok(r < 0, "layout: manifest of 1 MiB + 1 rejected");
	has_str(e.msg, "manifest", "layout: manifest of 1 MiB + 1: message");
	r = slot_layout(4096, UINT64_MAX, 100, &h, &e);
	ok(r < 0, "layout: manifest of 2^64-1 bytes rejected");
	is_int(slot_layout(4096, SLOT_MANIFEST_MAX, 100, &h, &e), 0, "layout: manifest of 1 MiB ok");
	r = slot_layout(4096, 100, 0, &h, &e);
	ok(r < 0, "layout: signature of 0 bytes rejected");
	has_str(e.msg, "signature", "layout: signature of 0 bytes: message");
	r = slot_layout(4096, 100, SLOT_SIGNATURE_MAX + 1ULL, &h, &e);
	ok(r < 0, "layout: signature of 64 KiB + 1 rejected");
	has_str(e.msg, "signature", "layout: signature of 64 KiB + 1: message");
	is_int(slot_layout(4096, 100, SLOT_SIGNATURE_MAX, &h, &e), 0,
	       "layout: signature of 64 KiB ok");
	r = slot_layout(0, 100, 100, &h, &e);
	ok(r < 0, "layout: empty verity area rejected");
	has_str(e.msg, "verity", "layout: empty verity area: message");
	r = slot_layout(UINT64_MAX - 100, 100, 100, &h, &e);
	ok(r < 0, "layout: verity area of 2^64-101 bytes rejected (no wrap-around)");
}

static void test_roundtrip(void)
{
	uint8_t buf[SLOT_HEADER_SIZE], again[SLOT_HEADER_SIZE];
	struct slot_header h, out;
	int r, nonzero = 0;

	is_int(slot_layout(3 * MiB + 512, 2345, 1777, &h, &e), 0, "roundtrip: layout");
	slot_header_encode(&h, buf);
	ok(memcmp(buf, SLOT_MAGIC, 8) == 0, "encode: magic first");
	for (size_t i = DISK_SIZE; i < sizeof(buf); i++)
		nonzero += buf[i] != 0;
	is_int(nonzero, 0, "encode: the rest of the 4096-byte header is zero");
	memset(&out, 0x55, sizeof(out));
	r = slot_header_decode(buf, sizeof(buf), slot_image_size(&h), &out, &e);
	is_int(r, 0, "roundtrip: decodes");
	if (r < 0)
		printf("# %s\n", e.msg);
	ok(memcmp(&h, &out, sizeof(h)) == 0, "roundtrip: every field equal");
	slot_header_encode(&out, again);
	ok(memcmp(buf, again, sizeof(buf)) == 0, "roundtrip: re-encoding is byte-identical");

	/* only the 112 bytes of the header proper are needed */
	r = slot_header_decode(buf, DISK_SIZE, slot_image_size(&h), &out, &e);
	is_int(r, 0, "decode: 112 bytes are enough");
	/* a larger file is fine */
	r = slot_header_decode(buf, sizeof(buf), slot_image_size(&h) + 1 * MiB, &out, &e);
	is_int(r, 0, "decode: file larger than the image");
	/* one byte short: the signature runs past the end */
	r = slot_header_decode(buf, sizeof(buf), h.signature_offset + h.signature_size - 1, &out,
			       &e);
	ok(r < 0, "decode: file one byte shorter than the signature's end rejected");
	has_str(e.msg, "signature", "decode: file one byte short: names the signature");
	/* exactly the end of the signature (no padding) is enough */
	r = slot_header_decode(buf, sizeof(buf), h.signature_offset + h.signature_size, &out, &e);
	is_int(r, 0, "decode: file ending at the signature's last byte");
}

static void test_hostile_fields(void)
{
	uint8_t good[SLOT_HEADER_SIZE], buf[SLOT_HEADER_SIZE];
	struct slot_header h, out;
	int r, flip_ok = 0, flip_msg = 0;

	slot_header_encode(&base, good);
	is_int(decode_with(&base, BASE_FILE), 0, "hostile: the base header is valid");

	/* bad magic, even with a valid checksum */
	memcpy(buf, good, sizeof(buf));
	memcpy(buf, "STELSLOX", 8);
	reseal(buf);
	r = slot_header_decode(buf, sizeof(buf), BASE_FILE, &out, &e);
	ok(r < 0, "bad magic rejected");
	has_str(e.msg, "magic", "bad magic: message");

	/* wrong version */
	static const uint32_t versions[] = {0, 2, 0x01000000, UINT32_MAX};
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		memcpy(buf, good, sizeof(buf));
		put32(buf, OFF_VERSION, versions[i]);
		reseal(buf);
		r = slot_header_decode(buf, sizeof(buf), BASE_FILE, &out, &e);
		ok(r < 0, "version %u rejected", versions[i]);
		has_str(e.msg, "version", "version %u: message", versions[i]);
	}

	/* header_size field wrong */
	static const uint32_t hsizes[] = {0, 112, 4095, 4097, 8192, UINT32_MAX};
	for (size_t i = 0; i < sizeof(hsizes) / sizeof(hsizes[0]); i++) {
		memcpy(buf, good, sizeof(buf));
		put32(buf, OFF_HEADER_SIZE, hsizes[i]);
		reseal(buf);
		r = slot_header_decode(buf, sizeof(buf), BASE_FILE, &out, &e);
		ok(r < 0, "header_size %u rejected", hsizes[i]);
		has_str(e.msg, "header size", "header_size %u: message", hsizes[i]);
	}

	/* any single flipped byte among the 112 */
	for (size_t i = 0; i < DISK_SIZE; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			memcpy(buf, good, sizeof(buf));
			buf[i] ^= (uint8_t)(1u << bit);
			memset(&e, 0, sizeof(e));
			r = slot_header_decode(buf, sizeof(buf), BASE_FILE, &out, &e);
			if (r < 0)
				flip_ok++;
			else
				printf("# flipping bit %d of byte %zu is accepted\n", bit, i);
			if (strstr(e.msg, "slot header: ") &&
			    (i < OFF_VERSION ? strstr(e.msg, "magic") != NULL
			     : i < OFF_HEADER_SIZE ? strstr(e.msg, "version") != NULL
						   : strstr(e.msg, "checksum mismatch") != NULL))
				flip_msg++;
			else
				printf("# flipping bit %d of byte %zu: \"%s\"\n", bit, i, e.msg);
		}
	}
	is_int(flip_ok, 2 * DISK_SIZE, "every single flipped byte among the first 112 is rejected");
	is_int(flip_msg, 2 * DISK_SIZE, "... as bad magic, version or checksum mismatch");
	/* a checksum of all zeros, all ones */
	memcpy(buf, good, sizeof(buf));
	memset(buf + OFF_CHECKSUM, 0, 32);
	ok(slot_header_decode(buf, sizeof(buf), BASE_FILE, &out, &e) < 0,
	   "zeroed checksum rejected");
	has_str(e.msg, "checksum", "zeroed checksum: message");
	/* the reserved field and the rest of the header block must be zero, checksum or not */
	memcpy(buf, good, sizeof(buf));
	buf[DISK_SIZE] ^= 1;
	ok(slot_header_decode(buf, sizeof(buf), BASE_FILE, &out, &e) < 0,
	   "a nonzero byte right after the 112-byte header proper is rejected");
	has_str(e.msg, "header block after the checksum: byte 0x01 at offset 112",
		"... naming the byte and its offset");
	memcpy(buf, good, sizeof(buf));
	buf[SLOT_HEADER_SIZE - 1] = 0xff;
	ok(slot_header_decode(buf, sizeof(buf), BASE_FILE, &out, &e) < 0,
	   "a nonzero last byte of the header block is rejected");
	has_str(e.msg, "offset 4095", "... naming its offset");
	for (size_t i = 64; i < 80; i++) {
		uint8_t sum[32];

		memcpy(buf, good, sizeof(buf));
		buf[i] = 0x41;
		sha256_buf(buf, OFF_CHECKSUM, sum);
		memcpy(buf + OFF_CHECKSUM, sum, 32);
		if (slot_header_decode(buf, sizeof(buf), BASE_FILE, &out, &e) >= 0 ||
		    !strstr(e.msg, "reserved field")) {
			ok(0, "reserved byte %zu with a recomputed checksum rejected (\"%s\")", i,
			   e.msg);
			break;
		}
		if (i == 79)
			ok(1, "each reserved byte (64..79) nonzero with a recomputed checksum is "
			      "rejected as the reserved field");
	}

	/* truncated buffer, tiny files; run on heap copies so ASan sees any over-read */
	for (size_t len = 0; len < DISK_SIZE; len++) {
		uint8_t *p = malloc(len ? len : 1);

		if (!p)
			abort();
		memcpy(p, good, len);
		memset(&e, 0, sizeof(e));
		r = slot_header_decode(p, len, BASE_FILE, &out, &e);
		free(p);
		if (r >= 0 || !strstr(e.msg, "truncated")) {
			ok(0, "buffer of %zu bytes rejected as truncated (%d, \"%s\")", len, r,
			   e.msg);
			break;
		}
		if (len == DISK_SIZE - 1)
			ok(1, "buffers of 0..111 bytes rejected as truncated");
	}
	static const uint64_t small[] = {0, 1, 112, 4095};
	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		r = slot_header_decode(good, sizeof(good), small[i], &out, &e);
		ok(r < 0, "file of %llu bytes rejected", (unsigned long long)small[i]);
		has_str(e.msg, "truncated", "file of %llu bytes: message",
			(unsigned long long)small[i]);
	}
	/* file exactly one header: everything runs past the end */
	r = slot_header_decode(good, sizeof(good), 4096, &out, &e);
	ok(r < 0, "file of 4096 bytes (header only) rejected");
	has_str(e.msg, "past the end", "file of 4096 bytes: message");

	/* each region past the end of the file */
	h = base;
	h.verity_offset = BASE_FILE;
	rejects(&h, BASE_FILE, "verity area starting at the end", "verity area", "past the end");
	h = base;
	h.verity_offset = 1ULL << 40;
	rejects(&h, BASE_FILE, "verity area far past the end", "verity area", "past the end");
	h = base;
	h.manifest_offset = BASE_FILE + 4096;
	rejects(&h, BASE_FILE, "manifest past the end", "manifest", "past the end");
	h = base;
	h.manifest_size = 8193; /* 12288 + 8193 > 20480 */
	rejects(&h, BASE_FILE, "manifest running past the end", "manifest", "past the end");
	h = base;
	h.signature_size = 4097;
	rejects(&h, BASE_FILE, "signature one byte past the end", "signature", "past the end");
	h = base;
	h.signature_offset = BASE_FILE;
	rejects(&h, BASE_FILE, "signature starting at the end", "signature", "past the end");

	/* offset + size overflowing uint64 */
	h = base;
	h.signature_offset = UINT64_MAX - 4095; /* aligned */
	h.signature_size = 8192;
	rejects(&h, BASE_FILE, "signature offset + size wraps", "signature", "past the end");
	rejects(&h, UINT64_MAX, "signature offset + size wraps, file of 2^64-1",
		"signature", "past the end");
	h = base;
	h.manifest_offset = UINT64_MAX - 4095;
	h.manifest_size = SLOT_MANIFEST_MAX;
	rejects(&h, UINT64_MAX, "manifest offset + size wraps, file of 2^64-1", "manifest",
		"past the end");
	h = base;
	h.verity_offset = UINT64_MAX - 4095;
	h.verity_size = 1ULL << 50;
	rejects(&h, UINT64_MAX, "verity offset + size wraps, file of 2^64-1", "verity area",
		"past the end");
	/* a region ending exactly at 2^64 is past any file */
	h = base;
	h.signature_offset = UINT64_MAX - 4095;
	h.signature_size = 4096;
	rejects(&h, UINT64_MAX, "signature ending at 2^64", "signature", "past the end");

	/* offsets inside the header */
	static const uint64_t inside[] = {0, 512, 4095};
	for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
		char what[64];

		h = base;
		h.verity_offset = inside[i];
		snprintf(what, sizeof(what), "verity offset %llu", (unsigned long long)inside[i]);
		rejects(&h, BASE_FILE, what, "verity area", "after the header");
		h = base;
		h.manifest_offset = inside[i];
		snprintf(what, sizeof(what), "manifest offset %llu", (unsigned long long)inside[i]);
		rejects(&h, BASE_FILE, what, "manifest", "after the header");
		h = base;
		h.signature_offset = inside[i];
		snprintf(what, sizeof(what), "signature offset %llu", (unsigned long long)inside[i]);
		rejects(&h, BASE_FILE, what, "signature", "after the header");
	}

	/* unaligned offsets */
	h = base;
	h.verity_offset = 4097;
	rejects(&h, BASE_FILE, "verity offset 4097", "verity area", "aligned");
	h = base;
	h.manifest_offset = 12288 + 512;
	h.manifest_size = 100;
	rejects(&h, BASE_FILE, "manifest offset 12800", "manifest", "aligned");
	h = base;
	h.signature_offset = 16384 + 1;
	h.signature_size = 100;
	rejects(&h, BASE_FILE, "signature offset 16385", "signature", "aligned");

	/* zero sizes */
	h = base;
	h.verity_size = 0;
	rejects(&h, BASE_FILE, "verity size 0", "verity area", "size 0");
	h = base;
	h.manifest_size = 0;
	rejects(&h, BASE_FILE, "manifest size 0", "manifest", "size 0");
	h = base;
	h.signature_size = 0;
	rejects(&h, BASE_FILE, "signature size 0", "signature", "size 0");

	/* oversized regions, in a file large enough to hold them */
	h = base;
	h.signature_offset = 4 * MiB;
	h.manifest_size = SLOT_MANIFEST_MAX + 1ULL;
	rejects(&h, 8 * MiB, "manifest of 1 MiB + 1", "manifest", "out of range");
	h.manifest_size = SLOT_MANIFEST_MAX;
	is_int(decode_with(&h, 8 * MiB), 0, "manifest of exactly 1 MiB accepted");
	h = base;
	h.signature_size = SLOT_SIGNATURE_MAX + 1ULL;
	rejects(&h, 8 * MiB, "signature of 64 KiB + 1", "signature", "out of range");
	h.signature_size = SLOT_SIGNATURE_MAX;
	is_int(decode_with(&h, 8 * MiB), 0, "signature of exactly 64 KiB accepted");
	h = base;
	h.manifest_size = UINT64_MAX;
	rejects(&h, UINT64_MAX, "manifest of 2^64-1 bytes", "manifest", "out of range");
	h = base;
	h.signature_size = UINT64_MAX;
	rejects(&h, UINT64_MAX, "signature of 2^64-1 bytes", "signature", "out of range");
	h = base;
	h.verity_size = (1ULL << 50) + 1;
	h.manifest_offset = 1ULL << 52;
	h.signature_offset = (1ULL << 52) + 4096;
	rejects(&h, UINT64_MAX, "verity area of 2^50 + 1 bytes", "verity area", "out of range");

	/* overlapping regions */
	h = base;
	h.verity_size = 8193; /* reaches into the manifest's first byte */
	rejects(&h, BASE_FILE, "manifest overlapping verity (one byte)", "overlap", "manifest");
	h = base;
	h.manifest_offset = 8192; /* inside the verity area */
	rejects(&h, BASE_FILE, "manifest starting inside verity", "overlap", "verity area");
	h = base;
	h.manifest_offset = 4096;
	h.manifest_size = 100;
	rejects(&h, BASE_FILE, "manifest at the verity offset", "overlap", "manifest");
	h = base;
	h.signature_offset = 12288;
	h.signature_size = 100;
	rejects(&h, BASE_FILE, "signature at the manifest offset", "overlap", "signature");
	h = base;
	h.manifest_size = 4097;
	rejects(&h, BASE_FILE, "manifest running into the signature", "overlap", "signature");
	h = base;
	h.signature_offset = 4096;
	h.signature_size = 4096;
	rejects(&h, BASE_FILE, "signature at the verity offset", "overlap", "verity area");
	/* regions containing another */
	h = base;
	h.verity_size = BASE_FILE - 4096;
	rejects(&h, BASE_FILE, "verity area containing the others", "overlap", "verity area");
	/* regions in another order are fine when they do not overlap */
	h = base;
	h.verity_offset = 16384;
	h.verity_size = 4096;
	h.signature_offset = 4096;
	h.signature_size = 4096;
	h.manifest_offset = 8192;
	h.manifest_size = 8192;
	is_int(decode_with(&h, BASE_FILE), 0, "regions in another order, adjacent, accepted");
	if (decode_with(&h, BASE_FILE) < 0)
		printf("# %s\n", e.msg);

	/* get64 sanity: the fields are little-endian where the test thinks they are */
	is_int(get64(good, OFF_MANIFEST_OFFSET), 12288, "header layout: manifest_offset at 32");
	is_int(get64(good, OFF_SIGNATURE_SIZE), 4096, "header layout: signature_size at 56");
	memcpy(buf, good, sizeof(buf));
	put64(buf, OFF_SIGNATURE_SIZE, 100);
	reseal(buf);
	r = slot_header_decode(buf, sizeof(buf), BASE_FILE, &out, &e);
	is_int(r, 0, "resealed header with an edited field decodes");
	is_int(out.signature_size, 100, "... and the edited field is read back");
}

/* ---- verity superblock ---- */

enum {
	SB_VERSION = 8,
	SB_HASH_TYPE = 12,
	SB_UUID = 16,
	SB_ALGORITHM = 32,
	SB_DATA_BLOCK_SIZE = 64,
	SB_HASH_BLOCK_SIZE = 68,
	SB_DATA_BLOCKS = 72,
	SB_SALT_SIZE = 80,
	SB_SALT = 88,
};

static struct verity_params sb_params(void)
{
	struct verity_params p;

	verity_params_init(&p);
	p.data_blocks = 3840;
	p.salt_size = 32;
	for (int i = 0; i < 32; i++)
		p.salt[i] = (uint8_t)(0x92 + 7 * i);
	for (int i = 0; i < 16; i++)
		p.uuid[i] = (uint8_t)(0x10 + i);
	return p;
}

static void sb_rejects(const uint8_t *sb, const char *what, const char *frag)
{
	uint8_t *copy = malloc(VERITY_SB_SIZE);
	struct verity_params out;
	int r;

	if (!copy)
		abort();
	memcpy(copy, sb, VERITY_SB_SIZE);
	memset(&e, 0, sizeof(e));
	r = verity_sb_decode(copy, &out, &e);
	free(copy);
	ok(r < 0, "superblock %s rejected (%d)", what, r);
	has_str(e.msg, frag, "superblock %s: message", what);
	has_str(e.msg, "verity superblock", "superblock %s: message says where", what);
}

static void test_verity_sb(void)
{
	struct verity_params p = sb_params(), out;
	uint8_t good[VERITY_SB_SIZE], sb[VERITY_SB_SIZE], again[VERITY_SB_SIZE];
	int r;

	verity_sb_encode(&p, good);
	ok(memcmp(good, "verity\0\0", 8) == 0, "superblock: magic");
	memset(&out, 0x77, sizeof(out));
	r = verity_sb_decode(good, &out, &e);
	is_int(r, 0, "superblock: round trip decodes");
	is_str(out.hash_name, "sha256", "superblock: algorithm");
	is_int(out.data_block_size, 4096, "superblock: data block size");
	is_int(out.hash_block_size, 4096, "superblock: hash block size");
	is_int(out.data_blocks, 3840, "superblock: data blocks");
	is_int(out.salt_size, 32, "superblock: salt size");
	ok(memcmp(out.salt, p.salt, 32) == 0, "superblock: salt");
	ok(memcmp(out.uuid, p.uuid, 16) == 0, "superblock: uuid");
	verity_sb_encode(&out, again);
	ok(memcmp(good, again, sizeof(good)) == 0, "superblock: re-encoding is byte-identical");

	/* other valid parameters */
	p = sb_params();
	strcpy(p.hash_name, "sha512");
	p.data_block_size = 512;
	p.hash_block_size = 1 << 20;
	p.data_blocks = 1;
	p.salt_size = VERITY_MAX_SALT;
	memset(p.salt, 0xee, sizeof(p.salt));
	verity_sb_encode(&p, sb);
	r = verity_sb_decode(sb, &out, &e);
	is_int(r, 0, "superblock: sha512, 512/1 MiB blocks, 256-byte salt decodes");
	ok(r == 0 && strcmp(out.hash_name, "sha512") == 0 && out.salt_size == 256 &&
		   out.data_block_size == 512 && out.hash_block_size == (1u << 20) &&
		   memcmp(out.salt, p.salt, 256) == 0,
	   "superblock: ... every field read back");
	p = sb_params();
	p.salt_size = 0;
	verity_sb_encode(&p, sb);
	is_int(verity_sb_decode(sb, &out, &e), 0, "superblock: no salt decodes");
	is_int(out.salt_size, 0, "superblock: no salt: size 0");

	memcpy(sb, good, sizeof(sb));
	sb[0] ^= 0x20;
	sb_rejects(sb, "bad magic", "magic");
	memcpy(sb, good, sizeof(sb));
	sb[7] = 1;
	sb_rejects(sb, "magic with a nonzero pad byte", "magic");

	memcpy(sb, good, sizeof(sb));
	put32(sb, SB_VERSION, 2);
	sb_rejects(sb, "version 2", "version 2");
	memcpy(sb, good, sizeof(sb));
	put32(sb, SB_VERSION, 0);
	sb_rejects(sb, "version 0", "version 0");

	memcpy(sb, good, sizeof(sb));
	put32(sb, SB_HASH_TYPE, 0);
	sb_rejects(sb, "hash type 0", "hash type 0");
	memcpy(sb, good, sizeof(sb));
	put32(sb, SB_HASH_TYPE, 2);
	sb_rejects(sb, "hash type 2", "hash type 2");

	memcpy(sb, good, sizeof(sb));
	memset(sb + SB_ALGORITHM, 'a', 32);
	sb_rejects(sb, "unterminated algorithm", "algorithm");
	memcpy(sb, good, sizeof(sb));
	memcpy(sb + SB_ALGORITHM, "sha256", 6);
	memset(sb + SB_ALGORITHM + 6, 'x', 26);
	sb_rejects(sb, "unterminated algorithm starting with sha256", "algorithm");

	memcpy(sb, good, sizeof(sb));
	memset(sb + SB_ALGORITHM, 0, 32);
	memcpy(sb + SB_ALGORITHM, "md5", 3);
	sb_rejects(sb, "algorithm md5", "md5");
	memcpy(sb, good, sizeof(sb));
	memset(sb + SB_ALGORITHM, 0, 32);
	sb_rejects(sb, "empty algorithm", "unsupported hash");
	memcpy(sb, good, sizeof(sb));
	memset(sb + SB_ALGORITHM, 0, 32);
	memcpy(sb + SB_ALGORITHM, "SHA256", 6);
	sb_rejects(sb, "algorithm SHA256 (uppercase)", "SHA256");

	static const uint16_t salts[] = {257, 512, UINT16_MAX};
	for (size_t i = 0; i < sizeof(salts) / sizeof(salts[0]); i++) {
		char what[64];

		memcpy(sb, good, sizeof(sb));
		put32(sb, SB_SALT_SIZE, 0); /* clear the 16-bit field */
		sb[SB_SALT_SIZE] = (uint8_t)(salts[i] & 0xff);
		sb[SB_SALT_SIZE + 1] = (uint8_t)(salts[i] >> 8);
		snprintf(what, sizeof(what), "salt_size %u", salts[i]);
		sb_rejects(sb, what, "salt size");
	}

	static const uint32_t bs[] = {0, 256, 3000, 4095, 4097, 2u << 20, UINT32_MAX};
	for (size_t i = 0; i < sizeof(bs) / sizeof(bs[0]); i++) {
		char what[64];

		memcpy(sb, good, sizeof(sb));
		put32(sb, SB_DATA_BLOCK_SIZE, bs[i]);
		snprintf(what, sizeof(what), "data block size %u", bs[i]);
		sb_rejects(sb, what, "block size");
		memcpy(sb, good, sizeof(sb));
		put32(sb, SB_HASH_BLOCK_SIZE, bs[i]);
		snprintf(what, sizeof(what), "hash block size %u", bs[i]);
		sb_rejects(sb, what, "block size");
	}

	memcpy(sb, good, sizeof(sb));
	put64(sb, SB_DATA_BLOCKS, 0);
	sb_rejects(sb, "data_blocks 0", "no data blocks");
	/* the largest count must not crash the layout arithmetic */
	memcpy(sb, good, sizeof(sb));
	put64(sb, SB_DATA_BLOCKS, UINT64_MAX);
	r = verity_sb_decode(sb, &out, &e);
	if (r == 0) {
		/* accepted: then the layout must describe a tree for that many blocks (one
		 * digest per data block: ceil(data_blocks / 128) level-0 blocks) */
		struct verity_layout l;
		int rl = verity_layout(&out, &l, &e);

		ok(rl == 0 && l.levels > 0 &&
			   l.level_blocks[0] == (UINT64_MAX - 1) / l.hashes_per_block + 1,
		   "superblock: data_blocks 2^64-1 rejected or laid out consistently "
		   "(accepted with %d levels, %llu level-0 blocks)",
		   l.levels, (unsigned long long)l.level_blocks[0]);
	} else {
		has_str(e.msg, "verity superblock", "superblock: data_blocks 2^64-1 rejected");
	}
	/* just past 2^63 is rejected as too large */
	memcpy(sb, good, sizeof(sb));
	put64(sb, SB_DATA_BLOCKS, (1ULL << 63) + 1);
	sb_rejects(sb, "data_blocks 2^63+1", "too large");

	/* sha1 with 512-byte hash blocks is valid */
	memcpy(sb, good, sizeof(sb));
	memset(sb + SB_ALGORITHM, 0, 32);
	memcpy(sb + SB_ALGORITHM, "sha1", 4);
	put32(sb, SB_HASH_BLOCK_SIZE, 512);
	is_int(verity_sb_decode(sb, &out, &e), 0, "superblock: sha1 with 512-byte hash blocks");
	is_str(out.hash_name, "sha1", "superblock: sha1 read back");
}

int main(void)
{
	test_layout();
	test_roundtrip();
	test_hostile_fields();
	test_verity_sb();
	return tap_done();
}
