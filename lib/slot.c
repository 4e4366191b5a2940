#include "slot.h"

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <errno.h>
#include <string.h>

#include "hash.h"

#define ALIGN 4096u

struct slot_header_disk {
	uint8_t magic[8];
	uint32_t version;
	uint32_t header_size;
	uint64_t verity_offset, verity_size;
	uint64_t manifest_offset, manifest_size;
	uint64_t signature_offset, signature_size;
	uint8_t reserved[16];
	uint8_t checksum[32]; /* sha256 of the bytes above */
} __attribute__((packed));
_Static_assert(sizeof(struct slot_header_disk) == 112, "slot header layout");

static uint64_t align_up(uint64_t v)
{
	return (v + ALIGN - 1) / ALIGN * ALIGN;
}

int slot_layout(uint64_t verity_size, uint64_t manifest_size, uint64_t signature_size,
		struct slot_header *h, struct err *e)
{
	if (manifest_size == 0 || manifest_size > SLOT_MANIFEST_MAX)
		return err_set(e, EFBIG, "manifest of %llu bytes (at most %u)",
			       (unsigned long long)manifest_size, SLOT_MANIFEST_MAX);
	if (signature_size == 0 || signature_size > SLOT_SIGNATURE_MAX)
		return err_set(e, EFBIG, "signature of %llu bytes (at most %u)",
			       (unsigned long long)signature_size, SLOT_SIGNATURE_MAX);
	if (verity_size == 0 || verity_size > (1ULL << 50))
		return err_set(e, EFBIG, "verity area of %llu bytes",
			       (unsigned long long)verity_size);
	h->verity_offset = SLOT_HEADER_SIZE;
	h->verity_size = verity_size;
	h->manifest_offset = align_up(h->verity_offset + verity_size);
	h->manifest_size = manifest_size;
	h->signature_offset = align_up(h->manifest_offset + manifest_size);
	h->signature_size = signature_size;
	return 0;
}

uint64_t slot_image_size(const struct slot_header *h)
{
	return align_up(h->signature_offset + h->signature_size);
}

static void checksum(const struct slot_header_disk *d, uint8_t out[32])
{
	sha256_buf(d, offsetof(struct slot_header_disk, checksum), out);
}

void slot_header_encode(const struct slot_header *h, uint8_t out[SLOT_HEADER_SIZE])
{
	struct slot_header_disk d;

	memset(&d, 0, sizeof(d));
	memcpy(d.magic, SLOT_MAGIC, 8);
	d.version = htole32(SLOT_VERSION);
	d.header_size = htole32(SLOT_HEADER_SIZE);
	d.verity_offset = htole64(h->verity_offset);
	d.verity_size = htole64(h->verity_size);
	d.manifest_offset = htole64(h->manifest_offset);
	d.manifest_size = htole64(h->manifest_size);
	d.signature_offset = htole64(h->signature_offset);
	d.signature_size = htole64(h->signature_size);
	checksum(&d, d.checksum);
	memset(out, 0, SLOT_HEADER_SIZE);
	memcpy(out, &d, sizeof(d));
}

struct region {
	const char *name;
	uint64_t off, size, max;
};

static int check_region(const struct region *r, uint64_t file_size, struct err *e)
{
	if (r->size == 0 || r->size > r->max)
		return err_set(e, EINVAL, "slot header: %s size %llu out of range (1..%llu)",
			       r->name, (unsigned long long)r->size, (unsigned long long)r->max);
	if (r->off < SLOT_HEADER_SIZE || r->off % ALIGN)
		return err_set(e, EINVAL, "slot header: %s offset %llu is not an aligned offset "
					  "after the header", r->name, (unsigned long long)r->off);
	if (r->off > file_size || r->size > file_size - r->off)
		return err_set(e, EINVAL, "slot header: %s (%llu bytes at %llu) runs past the end "
					  "(%llu bytes)", r->name, (unsigned long long)r->size,
			       (unsigned long long)r->off, (unsigned long long)file_size);
	return 0;
}

/* Reserved bytes are zero, as the builder writes them: a header that differs is not one of
 * ours (the checksum is no proof, anyone can recompute it). */
static int check_zero(const uint8_t *p, size_t len, size_t off, const char *what,
		      struct err *e)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return err_set(e, EINVAL, "slot header: %s: byte 0x%02x at offset %zu, "
						  "expected 0", what, p[i], off + i);
	return 0;
}

static bool overlap(const struct region *a, const struct region *b)
{
	return a->off < b->off + b->size && b->off < a->off + a->size;
}

int slot_header_decode(const uint8_t *buf, size_t len, uint64_t file_size,
		       struct slot_header *ret, struct err *e)
{
	struct slot_header_disk d;
	struct region r[3];
	uint8_t sum[32];
	int rc;

	if (len < sizeof(d) || file_size < SLOT_HEADER_SIZE)
		return err_set(e, EINVAL, "slot header: truncated (%llu bytes)",
			       (unsigned long long)(len < file_size ? len : file_size));
	memcpy(&d, buf, sizeof(d));
	if (memcmp(d.magic, SLOT_MAGIC, 8) != 0)
		return err_set(e, EINVAL, "slot header: bad magic (not a stele verity image)");
	if (le32toh(d.version) != SLOT_VERSION)
		return err_set(e, EINVAL, "slot header: version %u (this stele reads %u)",
			       le32toh(d.version), SLOT_VERSION);
	checksum(&d, sum);
	if (memcmp(sum, d.checksum, sizeof(sum)) != 0)
		return err_set(e, EINVAL, "slot header: checksum mismatch (header corrupted)");
	if (le32toh(d.header_size) != SLOT_HEADER_SIZE)
		return err_set(e, EINVAL, "slot header: header size %u", le32toh(d.header_size));
	rc = check_zero(d.reserved, sizeof(d.reserved), offsetof(struct slot_header_disk, reserved),
			"reserved field", e);
	if (rc == 0)
		rc = check_zero(buf + sizeof(d),
				(len < SLOT_HEADER_SIZE ? len : SLOT_HEADER_SIZE) - sizeof(d),
				sizeof(d), "header block after the checksum", e);
	if (rc < 0)
		return rc;
	r[0] = (struct region){"verity area", le64toh(d.verity_offset), le64toh(d.verity_size),
			       1ULL << 50};
	r[1] = (struct region){"manifest", le64toh(d.manifest_offset), le64toh(d.manifest_size),
			       SLOT_MANIFEST_MAX};
	r[2] = (struct region){"signature", le64toh(d.signature_offset),
			       le64toh(d.signature_size), SLOT_SIGNATURE_MAX};
	for (int i = 0; i < 3; i++) {
		rc = check_region(&r[i], file_size, e);
		if (rc < 0)
			return rc;
	}
	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++)
			if (overlap(&r[i], &r[j]))
				return err_set(e, EINVAL, "slot header: %s and %s overlap",
					       r[i].name, r[j].name);
	ret->verity_offset = r[0].off;
	ret->verity_size = r[0].size;
	ret->manifest_offset = r[1].off;
	ret->manifest_size = r[1].size;
	ret->signature_offset = r[2].off;
	ret->signature_size = r[2].size;
	return 0;
}

int slot_check_geometry(const struct slot_header *h, const struct verity_params *p,
			const struct verity_layout *l, uint64_t rootfs_size, uint64_t root_size,
			struct err *e)
{
	if (p->hash_offset != h->verity_offset)
		return err_set(e, EINVAL, "manifest hash_offset %llu is not the slot's verity area "
					  "(%llu)", (unsigned long long)p->hash_offset,
			       (unsigned long long)h->verity_offset);
	/* the tree starts after the superblock, so this also places the superblock inside;
	 * slot_header_decode bounded verity_offset + verity_size */
	if (l->tree_end > h->verity_offset + h->verity_size)
		return err_set(e, EINVAL, "the hash tree (up to byte %llu) runs past the verity "
					  "area (%llu bytes at %llu)",
			       (unsigned long long)l->tree_end, (unsigned long long)h->verity_size,
			       (unsigned long long)h->verity_offset);
	if (rootfs_size > root_size)
		return err_set(e, EINVAL, "the rootfs (%llu bytes) is larger than its partition "
					  "(%llu bytes)", (unsigned long long)rootfs_size,
			       (unsigned long long)root_size);
	return 0;
}

int slot_check_superblock(const uint8_t sb[VERITY_SB_SIZE], const struct verity_params *p,
			  struct verity_params *ret_sb, struct err *e)
{
	struct verity_params d;
	int r;

	r = verity_sb_decode(sb, &d, e);
	if (r < 0)
		return err_prefix(e, r, "verity superblock");
	if (strcmp(d.hash_name, p->hash_name) != 0 || d.data_block_size != p->data_block_size ||
	    d.hash_block_size != p->hash_block_size || d.data_blocks != p->data_blocks ||
	    d.salt_size != p->salt_size || memcmp(d.salt, p->salt, d.salt_size) != 0)
		return err_set(e, EINVAL, "verity superblock: does not match the manifest's verity "
					  "parameters");
	if (ret_sb)
		*ret_sb = d;
	return 0;
}
