#include "input.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

const char *input_kind_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "a regular file";
	case S_IFBLK: return "a block device";
	case S_IFDIR: return "a directory";
	case S_IFCHR: return "a character device";
	case S_IFIFO: return "a FIFO";
	case S_IFSOCK: return "a socket";
	case S_IFLNK: return "a symbolic link";
	default: return "a file of unknown type";
	}
}

static bool is_allowed(mode_t mode, unsigned allowed)
{
	return (S_ISREG(mode) && (allowed & INPUT_REG)) || (S_ISBLK(mode) && (allowed & INPUT_BLK)) ||
	       (S_ISDIR(mode) && (allowed & INPUT_DIR));
}

int input_check_fd(int fd, const char *name, unsigned allowed, const char *what,
		   mode_t *ret_mode, struct err *e)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return err_sys(e, errno, "%s", name);
	if (!is_allowed(st.st_mode, allowed))
		return err_set(e, EINVAL, "%s: is %s, not %s", name, input_kind_name(st.st_mode),
			       what);
	if (ret_mode)
		*ret_mode = st.st_mode & S_IFMT;
	return 0;
}

int input_open(const char *path, int flags, unsigned allowed, const char *what, int *ret_fd,
	       mode_t *ret_mode, struct err *e)
{
	int fd, fl, r;

	/* O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting */
	fd = open(path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		struct stat st;
		int saved = errno;

		/* a socket (ENXIO), a directory opened for writing (EISDIR): say what it is */
		if (stat(path, &st) == 0 && !is_allowed(st.st_mode, allowed))
			return err_set(e, saved, "%s: is %s, not %s", path,
				       input_kind_name(st.st_mode), what);
		return err_sys(e, saved, "%s", path);
	}
	r = input_check_fd(fd, path, allowed, what, ret_mode, e);
	if (r == 0 && (fl = fcntl(fd, F_GETFL)) >= 0 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		r = err_sys(e, errno, "%s: clearing O_NONBLOCK", path);
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

struct cJSON *input_json(const char *buf, size_t len)
{
	const char *end = NULL;
	cJSON *doc = cJSON_ParseWithLengthOpts(buf, len, &end, 0);

	if (!doc)
		return NULL;
	for (; end && end < buf + len; end++)
		if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') {
			cJSON_Delete(doc);
			return NULL;
		}
	return doc;
}
