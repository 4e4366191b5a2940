#include "bundlewrite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/bundle.h"
#include "builder/fileutil.h"

static int file_size(const char *path, uint64_t *ret, struct err *e)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return err_sys(e, errno, "%s", path);
	*ret = (uint64_t)st.st_size;
	return 0;
}

/* Copies src to offset off of fd, leaving zero blocks unwritten (the bundle stays sparse). */
static int copy_at(int fd, uint64_t off, const char *src, struct err *e)
{
	char *buf = malloc(1 << 20);
	int in = open(src, O_RDONLY | O_CLOEXEC), r = 0;
	ssize_t n;

	if (!buf || in < 0) {
		r = err_sys(e, in < 0 ? errno : ENOMEM, "%s", src);
		goto out;
	}
	while ((n = read(in, buf, 1 << 20)) > 0) {
		for (ssize_t o = 0; o < n && r == 0; o += 4096) {
			size_t len = n - o < 4096 ? (size_t)(n - o) : 4096;
			bool zero = true;
			for (size_t i = 0; i < len && zero; i++)
				zero = buf[o + (ssize_t)i] == 0;
			if (!zero && pwrite(fd, buf + o, len, (off_t)(off + (uint64_t)o)) != (ssize_t)len)
				r = err_sys(e, errno ? errno : EIO, "writing the bundle");
		}
		off += (uint64_t)n;
		if (r < 0)
			break;
	}
	if (n < 0 && r == 0)
		r = err_sys(e, errno, "reading %s", src);
out:
	if (in >= 0)
		close(in);
	free(buf);
	return r;
}

static int write_at(int fd, uint64_t off, const void *buf, size_t len, const char *out,
		    struct err *e)
{
	int r = pwrite_all(fd, buf, len, off);

	return r < 0 ? err_sys(e, -r, "writing %s", out) : 0;
}

int bundle_write(const char *out, const struct bundle_in *in, struct err *e)
{
	struct bundle_header h = {.manifest_size = in->manifest_len,
				  .signature_size = in->signature_len};
	uint8_t hdr[BUNDLE_HEADER_SIZE];
	int fd, r;

	r = file_size(in->verity, &h.verity_size, e);
	if (r == 0)
		r = file_size(in->rootfs, &h.rootfs_size, e);
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
		r = write_at(fd, h.manifest_offset, in->manifest, in->manifest_len, out, e);
	if (r == 0)
		r = write_at(fd, h.signature_offset, in->signature, in->signature_len, out, e);
	if (r == 0)
		r = copy_at(fd, h.verity_offset, in->verity, e);
	if (r == 0)
		r = copy_at(fd, h.rootfs_offset, in->rootfs, e);
	close(fd);
	return r;
}
