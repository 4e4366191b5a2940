#include "modules.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool compressed(const char *path)
{
	return ends_with(path, ".ko.xz") || ends_with(path, ".ko.gz") ||
	       ends_with(path, ".ko.zst");
}

int modules_load(const char *path, struct err *e)
{
	int fd, rc = 0;

	if (path[0] != '/')
		return err_set(e, EINVAL, "%s: not an absolute path", path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "%s", path);
	if (syscall(SYS_finit_module, fd, "", compressed(path) ? MODULE_INIT_COMPRESSED_FILE : 0) <
		    0 &&
	    errno != EEXIST)
		rc = err_sys(e, errno, "loading %s", path);
	close(fd);
	return rc;
}

static char *trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && strchr(" \t\r\n", s[n - 1]))
		s[--n] = '\0';
	return s;
}

int modules_load_list(const char *list_path, unsigned *ret_count, struct err *e)
{
	FILE *f = fopen(list_path, "re");
	char *line = NULL, *path;
	size_t cap = 0;
	unsigned count = 0;
	int rc = 0;

	if (!f && errno == ENOENT)
		goto done;
	if (!f)
		return err_sys(e, errno, "%s", list_path);
	while (rc == 0 && getline(&line, &cap, f) >= 0) {
		path = trim(line);
		if (!*path || *path == '#')
			continue;
		rc = modules_load(path, e);
		count++;
	}
	if (rc == 0 && ferror(f))
		rc = err_sys(e, EIO, "reading %s", list_path);
	free(line);
	fclose(f);
	if (rc < 0)
		return rc;
done:
	if (ret_count)
		*ret_count = count;
	return 0;
}
