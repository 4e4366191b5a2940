#include "bundle.h"
#include "rootfs/common/slotcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/hash.h"
#include "lib/input.h"
#include "lib/sign.h"
#include "rootfs/common/partitions.h"
#include "slot.h"

#define BUNDLE_WHAT "a bundle file or block device (give - to read a pipe on stdin)"

int update_input_open(const char *path, struct update_input *ret, struct err *e)
{
	struct update_input in = {.fd = -1, .kind = BUNDLE_INPUT_STREAM};
	bool is_stdin = strcmp(path, "-") == 0;
	mode_t mode = 0;
	struct stat st;
	int rc = 0;

	snprintf(in.name, sizeof(in.name), "%s", is_stdin ? "stdin" : path);
	if (is_stdin) {
		in.fd = dup(STDIN_FILENO);
		if (in.fd < 0)
			return err_sys(e, errno, "%s", in.name);
		rc = fstat(in.fd, &st) < 0 ? err_sys(e, errno, "%s", in.name) : 0;
		mode = st.st_mode & S_IFMT;
	} else {
		/* a named FIFO, a directory, /dev/zero: refused, not waited on or read forever */
		rc = input_open(path, O_RDONLY, INPUT_REG | INPUT_BLK, BUNDLE_WHAT, &in.fd, &mode, e);
		if (rc < 0)
			return rc;
	}
	/* stdin may be a file opened elsewhere: its size and holes only count when in.pos is
	 * the file offset; otherwise it is read like a pipe */
	if (rc == 0 && (S_ISREG(mode) || S_ISBLK(mode)) && lseek(in.fd, 0, SEEK_CUR) == 0) {
		rc = blockdev_size(in.fd, in.name, &in.size, e);
		in.kind = S_ISREG(mode) ? BUNDLE_INPUT_FILE : BUNDLE_INPUT_DEVICE;
		in.holes = S_ISREG(mode);
		if (rc == 0 && in.size == 0)
			rc = err_set(e, EINVAL, "%s: empty", in.name);
	}
	if (rc < 0) {
		close(in.fd);
		return rc;
	}
	*ret = in;
	return 0;
}

int update_input_from_fd(int fd, const char *name, struct update_input *ret, struct err *e)
{
	struct update_input in = {.fd = fd, .kind = BUNDLE_INPUT_STREAM};

	(void)e;
	snprintf(in.name, sizeof(in.name), "%s", name);
	*ret = in;
	return 0;
}

int update_input_end(struct update_input *in, struct err *e)
{
	uint8_t byte;
	ssize_t n;

	if (in->kind != BUNDLE_INPUT_STREAM)
		return 0; /* a file's size was checked against the header; a device goes on */
	do
		n = read(in->fd, &byte, 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_sys(e, errno, "%s: reading past the end of the bundle (byte %llu)",
			       in->name, (unsigned long long)in->pos);
	if (n > 0)
		return err_set(e, EINVAL,
			       "%s: bytes after the end of the bundle (at byte %llu, where the "
			       "header says it ends)",
			       in->name, (unsigned long long)in->pos);
	return 0;
}

void update_input_close(struct update_input *in)
{
	if (in->fd >= 0)
		close(in->fd);
	in->fd = -1;
}

int update_input_read(struct update_input *in, void *buf, size_t len, const char *what,
		      struct err *e)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = read(in->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, errno, "%s: reading the %s at byte %llu", in->name, what,
				       (unsigned long long)in->pos);
		if (n == 0)
			return err_set(e, EIO,
				       "%s: truncated: the input ends at byte %llu, in the %s",
				       in->name, (unsigned long long)in->pos, what);
		p += n;
		len -= (size_t)n;
		in->pos += (uint64_t)n;
	}
	return 0;
}

int update_input_skip_hole(struct update_input *in, uint64_t len, struct err *e)
{
	off_t data;

	if (!in->holes || len == 0 || in->size < in->pos || in->size - in->pos < len)
		return 0;
	data = lseek(in->fd, (off_t)in->pos, SEEK_DATA);
	if (data < 0 && errno != ENXIO) {
		in->holes = false; /* a file system that cannot say */
		data = (off_t)in->pos;
	} else if (data < 0) {
		data = (off_t)in->size; /* nothing but a hole up to the end */
	}
	if ((uint64_t)data < in->pos + len) {
		if (lseek(in->fd, (off_t)in->pos, SEEK_SET) < 0)
			return err_sys(e, errno, "%s: seeking to byte %llu", in->name,
				       (unsigned long long)in->pos);
		return 0;
	}
	if (lseek(in->fd, (off_t)(in->pos + len), SEEK_SET) < 0)
		return err_sys(e, errno, "%s: seeking to byte %llu", in->name,
			       (unsigned long long)(in->pos + len));
	in->pos += len;
	return 1;
}

int update_input_skip_to(struct update_input *in, uint64_t off, const char *what, struct err *e)
{
	uint8_t buf[4096];
	int rc = 0;

	if (off < in->pos)
		return err_set(e, EINVAL, "%s: the %s would start before byte %llu", in->name, what,
			       (unsigned long long)in->pos);
	while (rc == 0 && in->pos < off) {
		uint64_t at = in->pos;
		size_t n = off - in->pos < sizeof(buf) ? (size_t)(off - in->pos) : sizeof(buf);

		rc = update_input_read(in, buf, n, what, e);
		if (rc == 0)
			rc = bundle_check_padding(buf, n, at, what, e);
	}
	return rc;
}

int update_bundle_read_head(struct update_input *in, const char *trust_path,
			    struct update_bundle *b, struct err *e)
{
	uint8_t hdr[BUNDLE_HEADER_SIZE];
	int rc;

	memset(b, 0, sizeof(*b));
	rc = update_input_read(in, hdr, sizeof(hdr), "bundle header", e);
	if (rc == 0)
		rc = bundle_header_decode(hdr, sizeof(hdr), in->kind, in->size, &b->h, e);
	if (rc < 0)
		return rc;
	/* the sizes are bounded by bundle_header_decode (1 MiB, 64 KiB) */
	b->manifest_text = malloc(b->h.manifest_size + 1);
	b->signature = malloc(b->h.signature_size);
	if (!b->manifest_text || !b->signature)
		return err_set(e, ENOMEM, "out of memory");
	rc = update_input_read(in, b->manifest_text, b->h.manifest_size, "manifest", e);
	if (rc == 0)
		rc = update_input_skip_to(in, b->h.signature_offset, "manifest padding", e);
	if (rc == 0)
		rc = update_input_read(in, b->signature, b->h.signature_size, "signature", e);
	if (rc < 0)
		return rc;
	b->manifest_text[b->h.manifest_size] = '\0';
	rc = slotcheck_verify_signature(trust_path, b->manifest_text, b->h.manifest_size, b->signature,
			      b->h.signature_size, b->signer, sizeof(b->signer), e);
	if (rc < 0)
		return rc; /* sign_verify says "signature: ..." */
	rc = manifest_parse(b->manifest_text, b->h.manifest_size, &b->m, e);
	if (rc == 0)
		rc = policy_parse(b->manifest_text, b->h.manifest_size, true, &b->policy, e);
	if (rc < 0)
		return err_prefix(e, rc, "manifest");
	if (b->h.rootfs_size != b->m.rootfs_size)
		return err_set(e, EINVAL,
			       "the bundle carries %llu rootfs bytes, the manifest says "
			       "%llu",
			       (unsigned long long)b->h.rootfs_size,
			       (unsigned long long)b->m.rootfs_size);
	return 0;
}

/* The image's own manifest and signature: stele-init trusts the partition, not the bundle. */
static int check_image_signed(const struct update_bundle *b, const char *trust_path, struct err *e)
{
	const struct slot_header *s = &b->slot;
	char signer[256];
	int rc;

	if (s->manifest_size != b->h.manifest_size ||
	    memcmp(b->verity + s->manifest_offset, b->manifest_text, s->manifest_size) != 0)
		return err_set(e, EINVAL, "its manifest differs from the bundle's");
	rc = slotcheck_verify_signature(trust_path, b->verity + s->manifest_offset, s->manifest_size,
			      b->verity + s->signature_offset, s->signature_size, signer,
			      sizeof(signer), e);
	return rc < 0 ? err_prefix(e, rc, "its signature") : 0;
}

static int check_verity_image(struct update_bundle *b, const char *trust_path, struct err *e)
{
	int rc;

	rc = slot_header_decode(b->verity, SLOT_HEADER_SIZE, b->h.verity_size, &b->slot, e);
	if (rc == 0)
		rc = check_image_signed(b, trust_path, e);
	if (rc == 0)
		rc = update_manifest_params(&b->m, &b->vp, &b->vl, b->root, e);
	/* the superblock is read only once the geometry placed it inside the image */
	if (rc == 0)
		rc = slot_check_geometry(&b->slot, &b->vp, &b->vl, b->m.rootfs_size, UINT64_MAX, e);
	if (rc == 0)
		rc = slot_check_superblock(b->verity + b->vp.hash_offset, &b->vp, NULL, e);
	if (rc == 0)
		rc = verity_tree_verify(&b->vp, update_bundle_tree(b),
					b->vl.tree_end - b->vl.tree_offset, b->root, e);
	return rc;
}

int update_bundle_read_verity(struct update_input *in, const char *trust_path, uint64_t max_size,
			      struct update_bundle *b, struct err *e)
{
	int rc;

	if (b->h.verity_size > max_size)
		return err_set(e, EFBIG,
			       "the verity image (%llu bytes) is larger than the target "
			       "partition (%llu bytes)",
			       (unsigned long long)b->h.verity_size, (unsigned long long)max_size);
	if (b->h.verity_size < SLOT_HEADER_SIZE)
		return err_set(e, EINVAL,
			       "the verity image (%llu bytes) has no room for a slot "
			       "header",
			       (unsigned long long)b->h.verity_size);
	b->verity = malloc(b->h.verity_size);
	if (!b->verity)
		return err_set(e, ENOMEM, "out of memory for the verity image (%llu bytes)",
			       (unsigned long long)b->h.verity_size);
	rc = update_input_skip_to(in, b->h.verity_offset, "signature padding", e);
	if (rc == 0)
		rc = update_input_read(in, b->verity, b->h.verity_size, "verity image", e);
	if (rc == 0)
		rc = update_input_skip_to(in, b->h.uki_offset, "verity image padding", e);
	if (rc == 0 && (rc = check_verity_image(b, trust_path, e)) < 0)
		err_prefix(e, rc, "verity image");
	return rc;
}

static int read_part(struct update_input *in, uint64_t size, const char *want_sha,
		     const char *what, uint8_t **ret, struct err *e)
{
	uint8_t dg[SHA256_LEN];
	char hex[SHA256_HEX_LEN];
	int rc;

	*ret = malloc(size); /* bounded by bundle_header_decode (256 MiB, 64 KiB) */
	if (!*ret)
		return err_set(e, ENOMEM, "out of memory for the %s (%llu bytes)", what,
			       (unsigned long long)size);
	rc = update_input_read(in, *ret, size, what, e);
	if (rc < 0)
		return rc;
	sha256_buf(*ret, size, dg);
	hex_encode(dg, SHA256_LEN, hex);
	if (strcmp(hex, want_sha) != 0)
		return err_set(e, EBADMSG, "the %s's sha256 is %s, the signed manifest says %s", what,
			       hex, want_sha);
	return 0;
}

int update_bundle_read_uki(struct update_input *in, struct update_bundle *b, struct err *e)
{
	const struct manifest_uki *u = &b->m.uki;
	int rc;

	if (!b->m.has_uki || !b->h.uki_size) {
		if (b->m.has_uki || b->h.uki_size)
			return err_set(e, EINVAL, "the manifest %s a kernel image, the bundle %s",
				       b->m.has_uki ? "names" : "names no", b->h.uki_size ?
				       "carries one" : "none");
		return 0;
	}
	if (u->size != b->h.uki_size || u->sig_size != b->h.uki_sig_size)
		return err_set(e, EINVAL, "the bundle's kernel image is %llu bytes and its signature "
			       "%llu, the manifest says %llu and %llu",
			       (unsigned long long)b->h.uki_size,
			       (unsigned long long)b->h.uki_sig_size, (unsigned long long)u->size,
			       (unsigned long long)u->sig_size);
	rc = read_part(in, u->size, u->sha256, "kernel image", &b->uki, e);
	if (rc == 0)
		rc = update_input_skip_to(in, b->h.uki_sig_offset, "kernel image padding", e);
	if (rc == 0)
		rc = read_part(in, u->sig_size, u->sig_sha256, "kernel image signature", &b->uki_sig,
			       e);
	if (rc == 0)
		rc = update_input_skip_to(in, b->h.rootfs_offset, "kernel image signature padding",
					  e);
	return rc;
}

const uint8_t *update_bundle_tree(const struct update_bundle *b)
{
	return b->verity + b->vl.tree_offset;
}

void update_bundle_free(struct update_bundle *b)
{
	free(b->manifest_text);
	free(b->signature);
	free(b->verity);
	free(b->uki);
	free(b->uki_sig);
	b->uki = b->uki_sig = NULL;
	b->manifest_text = NULL;
	b->signature = NULL;
	b->verity = NULL;
}
