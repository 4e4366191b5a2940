#include "io.h"

#include <errno.h>
#include <fcntl.h>
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
