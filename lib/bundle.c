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
	uint64_t uki_size, uki_sig_size; /* format 2; zero, as reserved, in format 1 */
	uint8_t reserved[16];
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
	if ((h->uki_size == 0) != (h->uki_sig_size == 0) || h->uki_size > BUNDLE_UKI_MAX ||
	    h->uki_sig_size > BUNDLE_UKI_SIG_MAX)
		return err_set(e, EINVAL, "bundle: kernel image size %llu, its signature's %llu: "
			       "out of range", (unsigned long long)h->uki_size,
			       (unsigned long long)h->uki_sig_size);
	h->manifest_offset = BUNDLE_HEADER_SIZE;
	h->signature_offset = h->manifest_offset + pad(h->manifest_size);
	h->verity_offset = h->signature_offset + pad(h->signature_size);
	h->uki_offset = h->verity_offset + pad(h->verity_size);
	h->uki_sig_offset = h->uki_offset + pad(h->uki_size);
	h->rootfs_offset = h->uki_sig_offset + pad(h->uki_sig_size);
	h->total_size = h->rootfs_offset + h->rootfs_size;
	/* the limits keep every sum far below 2^64; the parts follow each other in order */
	_Static_assert(BUNDLE_HEADER_SIZE + BUNDLE_MANIFEST_MAX + BUNDLE_SIGNATURE_MAX +
			       BUNDLE_VERITY_MAX + BUNDLE_ROOTFS_MAX + BUNDLE_UKI_MAX +
			       BUNDLE_UKI_SIG_MAX + 5 * 4096 <
			   (1ULL << 63),
		       "bundle sizes cannot overflow");
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
	d.version = htole32(h->uki_size ? BUNDLE_VERSION_UKI : BUNDLE_VERSION);
	d.header_size = htole32(BUNDLE_HEADER_SIZE);
	d.manifest_size = htole64(h->manifest_size);
	d.signature_size = htole64(h->signature_size);
	d.verity_size = htole64(h->verity_size);
	d.rootfs_size = htole64(h->rootfs_size);
	d.uki_size = htole64(h->uki_size);
	d.uki_sig_size = htole64(h->uki_sig_size);
	checksum(&d, d.checksum);
	memset(out, 0, BUNDLE_HEADER_SIZE);
	memcpy(out, &d, sizeof(d));
}

static int check_zero(const uint8_t *buf, size_t len, uint64_t off, const char *what,
		      struct err *e)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i])
			return err_set(e, EINVAL,
				       "bundle: %s: byte 0x%02x at offset %llu, expected 0", what,
				       buf[i], (unsigned long long)(off + i));
	return 0;
}

int bundle_check_padding(const uint8_t *buf, size_t len, uint64_t off, const char *what,
			 struct err *e)
{
	return check_zero(buf, len, off, what, e);
}

static int check_size(const struct bundle_header *h, enum bundle_input kind, uint64_t size,
		      struct err *e)
{
	switch (kind) {
	case BUNDLE_INPUT_STREAM:
		return 0;
	case BUNDLE_INPUT_FILE:
		if (size > h->total_size)
			return err_set(e, EINVAL,
				       "bundle: %llu bytes after the end of the rootfs (the file "
				       "is %llu bytes, the header says %llu)",
				       (unsigned long long)(size - h->total_size),
				       (unsigned long long)size, (unsigned long long)h->total_size);
		break;
	case BUNDLE_INPUT_DEVICE:
		break;
	default:
		return err_set(e, EINVAL, "bundle: unknown kind of input %d", (int)kind);
	}
	if (size < h->total_size)
		return err_set(e, EINVAL, "bundle: truncated (%llu bytes, the header says %llu)",
			       (unsigned long long)size, (unsigned long long)h->total_size);
	return 0;
}

int bundle_header_decode(const uint8_t *buf, size_t len, enum bundle_input kind, uint64_t size,
			 struct bundle_header *ret, struct err *e)
{
	struct bundle_header_disk d;
	struct bundle_header h;
	uint8_t sum[32];
	uint32_t version;
	int r;

	if (len < sizeof(d))
		return err_set(e, EINVAL, "bundle: truncated header (%zu bytes)", len);
	memcpy(&d, buf, sizeof(d));
	if (memcmp(d.magic, BUNDLE_MAGIC, 8) != 0)
		return err_set(e, EINVAL, "bundle: bad magic (not a stele bundle)");
	version = le32toh(d.version);
	if (version != BUNDLE_VERSION && version != BUNDLE_VERSION_UKI)
		return err_set(e, EINVAL, "bundle: version %u (this stele reads %u and %u)",
			       version, BUNDLE_VERSION, BUNDLE_VERSION_UKI);
	if (len != BUNDLE_HEADER_SIZE)
		return err_set(e, EINVAL, "bundle: truncated header (%zu bytes, expected %d)", len,
			       BUNDLE_HEADER_SIZE);
	checksum(&d, sum);
	if (memcmp(sum, d.checksum, sizeof(sum)) != 0)
		return err_set(e, EINVAL, "bundle: header checksum mismatch (header corrupted)");
	if (le32toh(d.header_size) != BUNDLE_HEADER_SIZE)
		return err_set(e, EINVAL, "bundle: header size %u", le32toh(d.header_size));
	r = check_zero(d.reserved, sizeof(d.reserved), offsetof(struct bundle_header_disk, reserved),
		       "reserved header field", e);
	if (r == 0)
		r = check_zero(buf + sizeof(d), BUNDLE_HEADER_SIZE - sizeof(d), sizeof(d),
			       "header block after the checksum", e);
	if (r < 0)
		return r;
	memset(&h, 0, sizeof(h));
	h.manifest_size = le64toh(d.manifest_size);
	h.signature_size = le64toh(d.signature_size);
	h.verity_size = le64toh(d.verity_size);
	h.rootfs_size = le64toh(d.rootfs_size);
	h.uki_size = le64toh(d.uki_size);
	h.uki_sig_size = le64toh(d.uki_sig_size);
	if ((version == BUNDLE_VERSION_UKI) != (h.uki_size != 0))
		return err_set(e, EINVAL, "bundle: version %u %s a kernel image", version,
			       h.uki_size ? "with" : "without");
	r = bundle_layout(&h, e);
	if (r == 0)
		r = check_size(&h, kind, size, e);
	if (r < 0)
		return r;
	*ret = h;
	return 0;
}
