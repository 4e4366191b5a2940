#include "bundlewrite.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/bundle.h"
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

int bundle_write(const char *out, const char *manifest, const char *signature,
		 const char *verity, const char *rootfs, struct err *e)
{
	struct bundle_header h = {0};
	uint8_t hdr[BUNDLE_HEADER_SIZE];
	int fd, r;

	r = file_size(manifest, &h.manifest_size, e);
	if (r == 0)
		r = file_size(signature, &h.signature_size, e);
	if (r == 0)
		r = file_size(verity, &h.verity_size, e);
	if (r == 0)
		r = file_size(rootfs, &h.rootfs_size, e);
	if (r == 0)
		r = bundle_layout(&h, e);
	if (r < 0)
		return r;
	fd = open(out, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_sys(e, errno, "creating %s", out);
	bundle_header_encode(&h, hdr);
	r = ftruncate(fd, (off_t)h.total_size) < 0 ? err_sys(e, errno, "sizing %s", out) : 0;
	if (r == 0 && pwrite(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr))
		r = err_sys(e, errno ? errno : EIO, "writing %s", out);
	if (r == 0)
		r = copy_at(fd, h.manifest_offset, manifest, e);
	if (r == 0)
		r = copy_at(fd, h.signature_offset, signature, e);
	if (r == 0)
		r = copy_at(fd, h.verity_offset, verity, e);
	if (r == 0)
		r = copy_at(fd, h.rootfs_offset, rootfs, e);
	close(fd);
	return r;
}
