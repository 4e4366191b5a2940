#include "bundlewrite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/bundle.h"
#include "lib/io.h"
#include "builder/fileutil.h"
#include "pass.h"

static int file_size(const char *path, uint64_t *ret, struct err *e)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return err_sys(e, errno, "%s", path);
	*ret = (uint64_t)st.st_size;
	return 0;
}

/* Copies src to offset off of fd, leaving holes and zero blocks unwritten (the bundle stays
 * sparse). */
static int copy_at(int fd, uint64_t off, const char *src, struct err *e)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), r;
	struct stat st;

	if (in < 0 || fstat(in, &st) < 0) {
		r = err_sys(e, errno, "%s", src);
		goto out;
	}
	r = pass_copy(in, (uint64_t)st.st_size, fd, off, e);
	if (r < 0)
		err_prefix(e, r, "%s into the bundle", src);
out:
	if (in >= 0)
		close(in);
	return r;
}

static int bundle_sizes(const struct bundle_in *in, struct bundle_header *h, struct err *e)
{
	int r;

	memset(h, 0, sizeof(*h));
	h->manifest_size = in->manifest_len;
	h->signature_size = in->signature_len;
	r = file_size(in->verity, &h->verity_size, e);
	if (r == 0)
		r = file_size(in->rootfs, &h->rootfs_size, e);
	if (r == 0 && in->uki)
		r = file_size(in->uki, &h->uki_size, e);
	if (r == 0 && in->uki)
		r = file_size(in->uki_sig, &h->uki_sig_size, e);
	return r < 0 ? r : bundle_layout(h, e);
}

static int open_sized(const char *out, uint64_t size, int *ret_fd, struct err *e)
{
	int fd = open(out, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0)
		return err_sys(e, errno, "creating %s", out);
	if (ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		return err_sys(e, errno, "sizing %s", out);
	}
	*ret_fd = fd;
	return 0;
}

static int write_at(int fd, uint64_t off, const void *buf, size_t len, const char *out,
		    struct err *e)
{
	return io_pwrite_full(fd, buf, len, off, out, e);
}

/* The header and every part but the rootfs, into a fresh file of the layout's size. */
static int write_parts(int fd, const struct bundle_header *h, const char *out,
		       const struct bundle_in *in, struct err *e)
{
	uint8_t hdr[BUNDLE_HEADER_SIZE];
	int r;

	bundle_header_encode(h, hdr);
	r = write_at(fd, 0, hdr, sizeof(hdr), out, e);
	if (r == 0)
		r = write_at(fd, h->manifest_offset, in->manifest, in->manifest_len, out, e);
	if (r == 0)
		r = write_at(fd, h->signature_offset, in->signature, in->signature_len, out, e);
	if (r == 0)
		r = copy_at(fd, h->verity_offset, in->verity, e);
	if (r == 0 && in->uki)
		r = copy_at(fd, h->uki_offset, in->uki, e);
	if (r == 0 && in->uki)
		r = copy_at(fd, h->uki_sig_offset, in->uki_sig, e);
	return r;
}

int bundle_write(const char *out, const struct bundle_in *in, struct err *e)
{
	struct bundle_header h;
	int fd, r;

	r = bundle_sizes(in, &h, e);
	if (r == 0)
		r = open_sized(out, h.total_size, &fd, e);
	if (r < 0)
		return r;
	r = write_parts(fd, &h, out, in, e);
	if (r == 0)
		r = copy_at(fd, h.rootfs_offset, in->rootfs, e);
	close(fd);
	return r;
}

int bundle_create(const char *out, const struct bundle_guess *g, struct bundle_file *ret,
		  struct err *e)
{
	struct bundle_header h = {.manifest_size = 1, .signature_size = 1,
				  .verity_size = g->verity, .rootfs_size = g->rootfs,
				  .uki_size = g->uki, .uki_sig_size = g->uki ? g->uki_sig : 0};
	int r;

	ret->fd = -1;
	r = bundle_layout(&h, e);
	if (r == 0)
		r = open_sized(out, h.total_size, &ret->fd, e);
	if (r == 0)
		ret->rootfs_offset = h.rootfs_offset;
	return r;
}

int bundle_finish(struct bundle_file *b, const struct bundle_in *in, struct err *e)
{
	struct bundle_header h;
	bool moved;
	int r;

	r = bundle_sizes(in, &h, e);
	moved = r == 0 && h.rootfs_offset != b->rootfs_offset;
	if (moved && (ftruncate(b->fd, 0) < 0 || ftruncate(b->fd, (off_t)h.total_size) < 0))
		r = err_sys(e, errno, "sizing the bundle");
	if (r == 0)
		r = write_parts(b->fd, &h, "the bundle", in, e);
	if (r == 0 && moved)
		r = copy_at(b->fd, h.rootfs_offset, in->rootfs, e);
	bundle_file_close(b);
	return r;
}

void bundle_file_close(struct bundle_file *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}
