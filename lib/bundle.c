#include "bundle.h"

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "hash.h"

struct bundle_header_disk {
	uint8_t magic[8];
	uint32_t version;
	uint32_t header_size;
	uint64_t manifest_size, signature_size, verity_size, rootfs_size;
	uint8_t reserved[32];
	uint8_t checksum[32]; /* sha256 of the bytes above */
} __attribute__((packed));
_Static_assert(sizeof(struct bundle_header_disk) == 112, "bundle header layout");

static uint64_t pad(uint64_t v)
{
	return (v + 4095) / 4096 * 4096;
}

int bundle_layout(struct bundle_header *h, struct err *e)
{
	if (h->manifest_size == 0 || h->manifest_size > BUNDLE_MANIFEST_MAX)
		return err_set(e, EINVAL, "bundle: manifest size %llu out of range",
			       (unsigned long long)h->manifest_size);
	if (h->signature_size == 0 || h->signature_size > BUNDLE_SIGNATURE_MAX)
		return err_set(e, EINVAL, "bundle: signature size %llu out of range",
			       (unsigned long long)h->signature_size);
	if (h->verity_size == 0 || h->verity_size > BUNDLE_VERITY_MAX)
		return err_set(e, EINVAL, "bundle: verity image size %llu out of range",
			       (unsigned long long)h->verity_size);
	if (h->rootfs_size == 0 || h->rootfs_size > BUNDLE_ROOTFS_MAX || h->rootfs_size % 4096)
		return err_set(e, EINVAL, "bundle: rootfs size %llu out of range",
			       (unsigned long long)h->rootfs_size);
	h->manifest_offset = BUNDLE_HEADER_SIZE;
	h->signature_offset = h->manifest_offset + pad(h->manifest_size);
	h->verity_offset = h->signature_offset + pad(h->signature_size);
	h->rootfs_offset = h->verity_offset + pad(h->verity_size);
	h->total_size = h->rootfs_offset + h->rootfs_size;
	return 0;
}

static void checksum(const struct bundle_header_disk *d, uint8_t out[32])
{
	sha256_buf(d, offsetof(struct bundle_header_disk, checksum), out);
}

void bundle_header_encode(const struct bundle_header *h, uint8_t out[BUNDLE_HEADER_SIZE])
{
	struct bundle_header_disk d;

	memset(&d, 0, sizeof(d));
	memcpy(d.magic, BUNDLE_MAGIC, 8);
	d.version = htole32(BUNDLE_VERSION);
	d.header_size = htole32(BUNDLE_HEADER_SIZE);
	d.manifest_size = htole64(h->manifest_size);
	d.signature_size = htole64(h->signature_size);
	d.verity_size = htole64(h->verity_size);
	d.rootfs_size = htole64(h->rootfs_size);
	checksum(&d, d.checksum);
	memset(out, 0, BUNDLE_HEADER_SIZE);
	memcpy(out, &d, sizeof(d));
}

int bundle_header_decode(const uint8_t *buf, size_t len, uint64_t file_size,
			 struct bundle_header *ret, struct err *e)
{
	struct bundle_header_disk d;
	struct bundle_header h;
	uint8_t sum[32];
	int r;

	if (len < sizeof(d))
		return err_set(e, EINVAL, "bundle: truncated header (%zu bytes)", len);
	memcpy(&d, buf, sizeof(d));
	if (memcmp(d.magic, BUNDLE_MAGIC, 8) != 0)
		return err_set(e, EINVAL, "bundle: bad magic (not a stele bundle)");
	if (le32toh(d.version) != BUNDLE_VERSION)
		return err_set(e, EINVAL, "bundle: version %u (this stele reads %u)",
			       le32toh(d.version), BUNDLE_VERSION);
	checksum(&d, sum);
	if (memcmp(sum, d.checksum, sizeof(sum)) != 0)
		return err_set(e, EINVAL, "bundle: header checksum mismatch (header corrupted)");
	if (le32toh(d.header_size) != BUNDLE_HEADER_SIZE)
		return err_set(e, EINVAL, "bundle: header size %u", le32toh(d.header_size));
	memset(&h, 0, sizeof(h));
	h.manifest_size = le64toh(d.manifest_size);
	h.signature_size = le64toh(d.signature_size);
	h.verity_size = le64toh(d.verity_size);
	h.rootfs_size = le64toh(d.rootfs_size);
	r = bundle_layout(&h, e);
	if (r < 0)
		return r;
	if (file_size && file_size < h.total_size)
		return err_set(e, EINVAL, "bundle: truncated (%llu bytes, the header says %llu)",
			       (unsigned long long)file_size, (unsigned long long)h.total_size);
	*ret = h;
	return 0;
}
