#include "credentials.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/contract.h"
#include "lib/credential.h"

struct import {
	const char *root;
	int dirfd; /* the credential store, opened with the first credential; -1 before */
	unsigned n;
	struct err *e;
};

static int open_store(const char *root, struct err *e);

static int write_one(const char *name, const uint8_t *value, size_t len, void *userdata)
{
	struct import *im = userdata;
	size_t done = 0;
	int fd;

	if (im->dirfd < 0 && (im->dirfd = open_store(im->root, im->e)) < 0) {
		int r = im->dirfd;

		im->dirfd = -1;
		return r;
	}
	fd = openat(im->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno; /* the first of a name wins */
	while (done < len) {
		ssize_t w = write(fd, value + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int err = w < 0 ? errno : EIO;

			close(fd);
			unlinkat(im->dirfd, name, 0);
			return -err;
		}
		done += (size_t)w;
	}
	close(fd);
	im->n++;
	return 0;
}

static int read_file(int dir, const char *path, uint8_t *buf, size_t cap, size_t *ret_len)
{
	size_t len = 0;
	int fd = openat(dir, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (len < cap) {
		ssize_t r = read(fd, buf + len, cap - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = errno;

			close(fd);
			return -err;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (len == cap)
		return -EFBIG; /* more than this reader takes: not silently cut */
	*ret_len = len;
	return 0;
}

/* The store and the symlink to it, made once the first credential is there to keep. */
static int open_store(const char *root, struct err *e)
{
	char store[4200], link[4200];
	int fd;

	snprintf(store, sizeof(store), "%s" CONTRACT_RUN_CREDSTORE, root);
	if (mkdir(store, 0700) < 0 && errno != EEXIST)
		return err_sys(e, errno, "%s", store);
	snprintf(link, sizeof(link), "%s" CONTRACT_RUN_DIR, root);
	if (mkdir(link, 0755) < 0 && errno != EEXIST)
		return err_sys(e, errno, "%s", link);
	snprintf(link, sizeof(link), "%s" CONTRACT_RUN_CREDENTIALS, root);
	if (symlink(CONTRACT_RUN_CREDSTORE, link) < 0 && errno != EEXIST)
		return err_sys(e, errno, "%s", link);
	fd = open(store, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "%s", store);
	return fd;
}

int credentials_import_dir(const char *dir, const char *root, unsigned *ret_n,
			   unsigned *ret_skipped, struct err *e)
{
	struct import im = {.root = root, .dirfd = -1, .e = e};
	uint8_t *buf = NULL;
	struct dirent *de;
	DIR *d = opendir(dir);
	int r = 0;

	*ret_n = *ret_skipped = 0;
	if (!d)
		return errno == ENOENT ? 0 : err_sys(e, errno, "%s", dir);
	while (r == 0 && (de = readdir(d))) {
		struct stat st;
		size_t len = 0;
		int fd;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_size > CREDENTIAL_SIZE_MAX ||
		    !credential_name_ok(de->d_name, strlen(de->d_name))) {
			if (fd >= 0)
				close(fd);
			(*ret_skipped)++;
			continue;
		}
		close(fd);
		if (!buf && !(buf = malloc(CREDENTIAL_SIZE_MAX + 1))) {
			r = err_set(e, ENOMEM, "out of memory");
			break;
		}
		/* one that cannot be read or kept is left out; the others still come */
		if (read_file(dirfd(d), de->d_name, buf, CREDENTIAL_SIZE_MAX + 1, &len) < 0 ||
		    write_one(de->d_name, buf, len, &im) < 0)
			(*ret_skipped)++;
	}
	closedir(d);
	if (buf)
		explicit_bzero(buf, CREDENTIAL_SIZE_MAX + 1);
	free(buf);
	if (im.dirfd >= 0)
		close(im.dirfd);
	*ret_n = im.n;
	return r;
}

int credentials_import(const char *dmi, const char *root, unsigned *ret_n, unsigned *ret_skipped,
		       struct err *e)
{
	struct err cur = {{0}};
	struct import im = {.root = root, .dirfd = -1, .e = &cur};
	uint8_t *buf = NULL;
	struct dirent *de;
	DIR *d = opendir(dmi);
	int first = 0;

	*ret_n = *ret_skipped = 0;
	if (!d)
		return errno == ENOENT ? 0 : err_sys(e, errno, "%s", dmi);
	buf = malloc(CREDENTIAL_SMBIOS_MAX);
	if (!buf) {
		closedir(d);
		return err_set(e, ENOMEM, "out of memory");
	}
	while ((de = readdir(d))) {
		unsigned skipped = 0;
		size_t len = 0;
		char raw[300];
		int r;

		if (strncmp(de->d_name, "11-", 3) != 0)
			continue;
		snprintf(raw, sizeof(raw), "%s/raw", de->d_name);
		r = read_file(dirfd(d), raw, buf, CREDENTIAL_SMBIOS_MAX, &len);
		if (r < 0)
			r = err_sys(&cur, -r, "%s/%s/raw", dmi, de->d_name);
		else if ((r = credential_smbios_parse(buf, len, write_one, &im, &skipped, &cur)) < 0)
			r = err_prefix(&cur, r, "%s/%s", dmi, de->d_name);
		*ret_skipped += skipped;
		if (r < 0 && !first) { /* the first damaged entry is named; the others still come */
			first = r;
			*e = cur;
		}
	}
	closedir(d);
	explicit_bzero(buf, CREDENTIAL_SMBIOS_MAX);
	free(buf);
	if (im.dirfd >= 0)
		close(im.dirfd);
	*ret_n = im.n;
	return first;
}
