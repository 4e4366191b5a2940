#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "input.h"

int io_pread_full(int fd, void *buf, size_t len, uint64_t off, const char *name, struct err *e)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, errno, "reading %s at byte %llu", name,
				       (unsigned long long)off);
		if (n == 0)
			return err_set(e, EIO, "reading %s at byte %llu: unexpected end", name,
				       (unsigned long long)off);
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int io_pwrite_full(int fd, const void *buf, size_t len, uint64_t off, const char *name,
		   struct err *e)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_sys(e, n < 0 ? errno : EIO, "writing %s at byte %llu", name,
				       (unsigned long long)off);
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int io_read_text(const char *path, char *buf, size_t size, size_t *ret_len, struct err *e)
{
	size_t len = 0;
	ssize_t n;
	int fd, rc = 0;

	/* /proc files are regular (of size 0); a FIFO or a directory is refused, not waited on */
	rc = input_open(path, O_RDONLY, INPUT_REG, "a regular file", &fd, NULL, e);
	if (rc < 0)
		return rc;
	while (len < size) {
		n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_sys(e, errno, "reading %s", path);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len >= size) {
		rc = err_set(e, EFBIG, "%s: larger than %zu bytes", path, size - 1);
		goto out;
	}
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
out:
	close(fd);
	return rc;
}

void io_chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && strchr(" \t\r\n", s[n - 1]))
		s[--n] = '\0';
}

int io_read_alloc(const char *path, size_t max, char **ret, size_t *ret_len, struct err *e)
{
	struct stat st;
	char *buf = NULL;
	int fd, r;

	r = input_open(path, O_RDONLY, INPUT_REG, "a regular file", &fd, NULL, e);
	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0)
		r = err_sys(e, errno, "%s", path);
	else if ((uint64_t)st.st_size > max)
		r = err_set(e, EFBIG, "%s: larger than %zu bytes", path, max);
	else if (!(buf = malloc((size_t)st.st_size + 1)))
		r = err_set(e, ENOMEM, "out of memory");
	else
		r = io_pread_full(fd, buf, (size_t)st.st_size, 0, path, e);
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[st.st_size] = '\0';
	*ret = buf;
	if (ret_len)
		*ret_len = (size_t)st.st_size;
	return 0;
}

int io_sync_dir_of(const char *path, struct err *e)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd, r = 0;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if ((size_t)(slash - path) >= sizeof(dir))
		return err_set(e, ENAMETOOLONG, "%s: path too long", path);
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "opening %s", dir);
	if (fsync(fd) < 0)
		r = err_sys(e, errno, "syncing %s", dir);
	close(fd);
	return r;
}

int io_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
		    struct err *e)
{
	char tmp[4096];
	int fd, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return err_set(e, ENAMETOOLONG, "%s: path too long", path);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
	if (fd < 0)
		return err_sys(e, errno, "creating %s", tmp);
	r = io_pwrite_full(fd, data, len, 0, tmp, e);
	if (r == 0 && fsync(fd) < 0)
		r = err_sys(e, errno, "syncing %s", tmp);
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = err_sys(e, errno, "renaming %s to %s", tmp, path);
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	return io_sync_dir_of(path, e);
}
