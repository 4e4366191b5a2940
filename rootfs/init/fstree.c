#include "fstree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct copy {
	char path[PATH_MAX]; /* of the entry being copied, relative, for messages */
	int depth;
	bool merge; /* entries that exist in the destination are kept as they are */
	struct err *e;
};

static int copy_dir_contents(int src, int dst, struct copy *c);

static int copy_data(int in, int out, struct copy *c)
{
	char buf[65536];
	ssize_t n, w;

	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(c->e, errno, "reading %s", c->path);
		for (ssize_t off = 0; off < n; off += w) {
			w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				w = 0;
			else if (w < 0)
				return err_sys(c->e, errno, "writing %s", c->path);
		}
	}
	return 0;
}

static int copy_file(int src, int dst, const char *name, const char *dname, struct copy *c)
{
	int in, out, rc;

	in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return err_sys(c->e, errno, "opening %s", c->path);
	out = openat(dst, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = err_sys(c->e, errno, "creating %s", c->path);
		close(in);
		return rc;
	}
	rc = copy_data(in, out, c);
	close(in);
	if (close(out) < 0 && rc == 0)
		rc = err_sys(c->e, errno, "writing %s", c->path);
	return rc;
}

static int copy_symlink(int src, int dst, const char *name, const char *dname, struct copy *c)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);

	if (n < 0)
		return err_sys(c->e, errno, "reading the link %s", c->path);
	target[n] = '\0';
	if (symlinkat(target, dst, dname) < 0)
		return err_sys(c->e, errno, "creating the link %s", c->path);
	return 0;
}

static int copy_subdir(int src, int dst, const char *name, const char *dname, struct copy *c)
{
	int s = -1, d = -1, rc;

	if (c->depth >= FSTREE_MAX_DEPTH)
		return err_set(c->e, ELOOP, "%s: nested too deeply", c->path);
	if (mkdirat(dst, dname, 0700) < 0 && !(c->merge && errno == EEXIST && dname == name))
		return err_sys(c->e, errno, "creating %s", c->path);
	s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	d = openat(dst, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s < 0 || d < 0) {
		rc = err_sys(c->e, errno, "opening %s", c->path);
	} else {
		c->depth++;
		rc = copy_dir_contents(s, d, c);
		c->depth--;
	}
	if (s >= 0)
		close(s);
	if (d >= 0)
		close(d);
	return rc;
}

static int copy_node(int dst, const char *name, const struct stat *st, struct copy *c)
{
	if (mknodat(dst, name, st->st_mode & (S_IFMT | 0777), st->st_rdev) < 0)
		return err_sys(c->e, errno, "creating %s", c->path);
	return 0;
}

/* Owner first: chown clears set-id bits, so the mode comes after it. */
static int copy_attrs(int dst, const char *name, const struct stat *st, struct copy *c)
{
	if (fchownat(dst, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(c->e, errno, "setting the owner of %s", c->path);
	if (!S_ISLNK(st->st_mode) && fchmodat(dst, name, st->st_mode & 07777, 0) < 0)
		return err_sys(c->e, errno, "setting the mode of %s", c->path);
	return 0;
}

static int copy_entry_as(int src, int dst, const char *name, const char *dname, struct copy *c)
{
	struct stat st;
	bool merge = c->merge;
	int rc;

	if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(c->e, errno, "%s", c->path);
	c->merge = false; /* below a new entry, everything is new */
	if (S_ISDIR(st.st_mode))
		rc = copy_subdir(src, dst, name, dname, c);
	else if (S_ISREG(st.st_mode))
		rc = copy_file(src, dst, name, dname, c);
	else if (S_ISLNK(st.st_mode))
		rc = copy_symlink(src, dst, name, dname, c);
	else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode))
		rc = copy_node(dst, dname, &st, c);
	else
		rc = 1; /* sockets belong to a running program, not to an image */
	c->merge = merge;
	if (rc == 1)
		return 0;
	return rc < 0 ? rc : copy_attrs(dst, dname, &st, c);
}

/* Merging: a directory on both sides is merged into; an entry only the image has is copied
 * under a temporary name and renamed into place (a power cut leaves it whole or absent);
 * anything the device has is left alone. */
static int merge_entry(int src, int dst, const char *name, struct copy *c)
{
	char tmp[NAME_MAX + 1];
	struct stat ss, ds;
	int rc;

	if (fstatat(src, name, &ss, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(c->e, errno, "%s", c->path);
	if (fstatat(dst, name, &ds, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISDIR(ss.st_mode) || !S_ISDIR(ds.st_mode))
			return 0;
		return copy_subdir(src, dst, name, name, c);
	}
	if (errno != ENOENT)
		return err_sys(c->e, errno, "%s", c->path);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.stele-new", name) >= sizeof(tmp))
		return 0; /* a name this long cannot get a temporary name; the image keeps it */
	if (fstatat(dst, tmp, &ds, AT_SYMLINK_NOFOLLOW) == 0) { /* left by a power cut */
		int fd = S_ISDIR(ds.st_mode) ? openat(dst, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
					     : -1;
		if (fd >= 0) {
			fstree_clear(fd, ds.st_dev);
			close(fd);
		}
		unlinkat(dst, tmp, S_ISDIR(ds.st_mode) ? AT_REMOVEDIR : 0);
	}
	rc = copy_entry_as(src, dst, name, tmp, c);
	if (rc == 0 && renameat(dst, tmp, dst, name) < 0)
		rc = err_sys(c->e, errno, "renaming %s into place", c->path);
	return rc;
}

static int copy_entry(int src, int dst, const char *name, struct copy *c)
{
	return c->merge ? merge_entry(src, dst, name, c) : copy_entry_as(src, dst, name, name, c);
}

static int copy_dir_contents(int src, int dst, struct copy *c)
{
	size_t len = strlen(c->path);
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	fd = dup(src);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return err_sys(c->e, errno, "reading the directory %s", len ? c->path : ".");
	}
	rewinddir(d); /* the dup shares the caller's offset */
	while (rc == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(c->path + len, sizeof(c->path) - len, "%s%s", len ? "/" : "",
				     de->d_name) >= sizeof(c->path) - len)
			rc = err_set(c->e, ENAMETOOLONG, "%s/%s: path too long", c->path,
				     de->d_name);
		else
			rc = copy_entry(src, dst, de->d_name, c);
		c->path[len] = '\0';
	}
	closedir(d);
	return rc;
}

int fstree_copy(int src_dir, int dst_dir, struct err *e)
{
	struct copy c = {.path = "", .depth = 0, .e = e};

	return copy_dir_contents(src_dir, dst_dir, &c);
}

int fstree_merge(int src_dir, int dst_dir, struct err *e)
{
	struct copy c = {.path = "", .depth = 0, .merge = true, .e = e};

	return copy_dir_contents(src_dir, dst_dir, &c);
}

static void clear_at(int dir, dev_t dev, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd = dup(dir), sub;

	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dir, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
			continue;
		if (!S_ISDIR(st.st_mode)) {
			unlinkat(dir, de->d_name, 0);
			continue;
		}
		sub = depth < FSTREE_MAX_DEPTH
			      ? openat(dir, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
			      : -1;
		if (sub >= 0) {
			clear_at(sub, dev, depth + 1);
			close(sub);
		}
		unlinkat(dir, de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

void fstree_clear(int dir, dev_t dev)
{
	clear_at(dir, dev, 0);
}
