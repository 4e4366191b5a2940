#include "fileutil.h"

#include "lib/input.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int file_read_all(const char *path, size_t max, char **ret, size_t *ret_len, struct err *e)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, r = 0;

	/* a FIFO is refused without waiting for a writer */
	r = input_open(path, O_RDONLY, INPUT_REG, "a regular file", &fd, NULL, e);
	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0) {
		r = err_sys(e, errno, "%s", path);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		r = err_set(e, EFBIG, "%s: larger than %zu bytes", path, max);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = err_set(e, ENOMEM, "%s: out of memory", path);
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? err_sys(e, errno, "reading %s", path)
				  : err_set(e, EIO, "%s: file shrank while reading", path);
			goto out;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*ret = buf;
	*ret_len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return r;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int file_write(const char *path, const void *buf, size_t len, struct err *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), r = 0;

	if (fd < 0)
		return err_sys(e, errno, "creating %s", path);
	if (write_all(fd, buf, len) < 0)
		r = err_sys(e, errno, "writing %s", path);
	close(fd);
	return r;
}

int mkdir_p(const char *path, struct err *e)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return err_set(e, ENAMETOOLONG, "bad directory name \"%s\"", path);
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return err_sys(e, errno, "creating %s", buf);
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return err_sys(e, errno, "creating %s", buf);
	return 0;
}

/* Creates path and its missing parents, recording each in s as soon as it exists (a signal
 * may come at any time), shallowest first. */
static int mkdir_recorded(struct stage *s, const char *path, struct err *e)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return err_set(e, ENAMETOOLONG, "bad directory name \"%s\"", path);
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1;; p++) {
		if (*p && *p != '/')
			continue;
		char c = *p;
		*p = '\0';
		if (s->ncreated < STAGE_MAX_DEPTH && !(s->created[s->ncreated] = strdup(buf)))
			return err_set(e, ENOMEM, "out of memory");
		if (mkdir(buf, 0755) == 0) {
			if (s->ncreated < STAGE_MAX_DEPTH)
				s->ncreated++;
		} else {
			int err = errno;
			if (s->ncreated < STAGE_MAX_DEPTH) {
				free(s->created[s->ncreated]);
				s->created[s->ncreated] = NULL;
			}
			if (err != EEXIST)
				return err_sys(e, err, "creating %s", buf);
		}
		*p = c;
		if (!c)
			break;
	}
	return 0;
}

int stage_init(struct stage *s, const char *dir, struct err *e)
{
	const char *t = getenv("TMPDIR");
	struct stat st;
	int r;

	memset(s, 0, sizeof(*s));
	s->dir = strdup(dir);
	if (!s->dir)
		return err_set(e, ENOMEM, "out of memory");
	if (t) {
		s->has_old_tmpdir = 1;
		s->old_tmpdir = strdup(t);
		if (!s->old_tmpdir)
			return err_set(e, ENOMEM, "out of memory");
	}
	if (asprintf(&s->scratch, "%s/stele-build-XXXXXX", t && *t ? t : "/tmp") < 0) {
		s->scratch = NULL;
		return err_set(e, ENOMEM, "out of memory");
	}
	if (!mkdtemp(s->scratch)) {
		r = err_sys(e, errno, "creating a scratch directory %s", s->scratch);
		free(s->scratch);
		s->scratch = NULL;
		return r;
	}
	r = mkdir_recorded(s, dir, e);
	if (r == 0 && (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)))
		r = err_set(e, ENOTDIR, "%s: not a directory", dir);
	if (r == 0 && setenv("TMPDIR", s->scratch, 1) < 0)
		r = err_sys(e, errno, "setting TMPDIR");
	return r;
}

int stage_add(struct stage *s, const char *name, const char **ret_tmp, struct err *e)
{
	if (s->n == STAGE_MAX)
		return err_set(e, E2BIG, "too many outputs");
	if (asprintf(&s->final[s->n], "%s/%s", s->dir, name) < 0) {
		s->final[s->n] = NULL;
		return err_set(e, ENOMEM, "out of memory");
	}
	if (asprintf(&s->tmp[s->n], "%s/.%s.stele-tmp-%d", s->dir, name, (int)getpid()) < 0) {
		free(s->final[s->n]);
		s->final[s->n] = s->tmp[s->n] = NULL;
		return err_set(e, ENOMEM, "out of memory");
	}
	*ret_tmp = s->tmp[s->n];
	return s->n++;
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

int stage_commit(struct stage *s, struct err *e)
{
	int r;

	for (int i = 0; i < s->n; i++) {
		r = fsync_path(s->tmp[i], O_RDONLY);
		if (r < 0)
			return err_sys(e, r, "syncing %s", s->tmp[i]);
	}
	for (int i = 0; i < s->n; i++) {
		if (rename(s->tmp[i], s->final[i]) < 0)
			return err_sys(e, errno, "renaming %s to %s", s->tmp[i], s->final[i]);
		free(s->tmp[i]);
		s->tmp[i] = NULL;
	}
	r = fsync_path(s->dir, O_RDONLY | O_DIRECTORY);
	if (r < 0)
		return err_sys(e, r, "syncing %s", s->dir);
	return 0;
}

static void remove_below(int dfd)
{
	char buf[4096];
	long n;

	/* getdents64 rather than readdir: no allocation, so a signal handler may call it */
	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct linux_dirent64 {
				uint64_t d_ino;
				int64_t d_off;
				unsigned short d_reclen;
				unsigned char d_type;
				char d_name[];
			} *d = (void *)(buf + off);
			off += d->d_reclen;
			if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
				continue;
			if (unlinkat(dfd, d->d_name, 0) == 0 || errno != EISDIR)
				continue;
			int sub = openat(dfd, d->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				remove_below(sub);
				close(sub);
			}
			unlinkat(dfd, d->d_name, AT_REMOVEDIR);
		}
	}
}

void remove_tree(const char *path)
{
	int fd;

	if (unlink(path) == 0 || errno != EISDIR)
		return;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		remove_below(fd);
		close(fd);
	}
	rmdir(path);
}

/* Only system calls: also run from the signal handler. */
static void stage_remove(struct stage *s)
{
	for (int i = 0; i < s->n; i++)
		if (s->tmp[i])
			unlink(s->tmp[i]);
	for (int i = s->ncreated - 1; i >= 0; i--)
		rmdir(s->created[i]); /* fails, as it should, when something else is in it */
	if (s->scratch)
		remove_tree(s->scratch);
}

void stage_abort(struct stage *s)
{
	stage_remove(s);
}

void stage_free(struct stage *s)
{
	if (s->scratch)
		remove_tree(s->scratch);
	if (s->dir) { /* stage_init ran: put $TMPDIR back */
		if (s->old_tmpdir)
			setenv("TMPDIR", s->old_tmpdir, 1);
		else if (!s->has_old_tmpdir)
			unsetenv("TMPDIR");
	}
	for (int i = 0; i < s->n; i++) {
		free(s->tmp[i]);
		free(s->final[i]);
	}
	for (int i = 0; i < s->ncreated; i++)
		free(s->created[i]);
	free(s->scratch);
	free(s->old_tmpdir);
	free(s->dir);
	memset(s, 0, sizeof(*s));
}

void cleanup_watch(struct cleanup *c, struct stage *s)
{
	if (c)
		c->stage = s;
}

int cleanup_register(struct cleanup *c, const char *path)
{
	if (!c)
		return 0;
	if (strlen(path) >= sizeof(c->paths[0]))
		return -ENAMETOOLONG;
	for (int i = 0; i < CLEANUP_MAX; i++) {
		if (c->used[i])
			continue;
		strcpy(c->paths[i], path);
		c->used[i] = 1;
		return 0;
	}
	return -ENOSPC;
}

void cleanup_unregister(struct cleanup *c, const char *path)
{
	for (int i = 0; c && i < CLEANUP_MAX; i++)
		if (c->used[i] && strcmp(c->paths[i], path) == 0)
			c->used[i] = 0;
}

void cleanup_run(struct cleanup *c)
{
	struct stage *s = c ? c->stage : NULL;

	if (s)
		stage_remove(s);
	for (int i = 0; c && i < CLEANUP_MAX; i++)
		if (c->used[i])
			remove_tree(c->paths[i]);
}

static int read_pipe(int fd, size_t max, char **ret, size_t *ret_len)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap), *grown;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len + 1 >= cap) {
			cap *= 2;
			grown = realloc(buf, cap);
			if (!grown) {
				free(buf);
				return -ENOMEM;
			}
			buf = grown;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len + (size_t)n <= max)
			len += (size_t)n;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

int run_capture(char *const argv[], const char *cwd, size_t max, char **ret_out, struct err *e)
{
	return run_capture_len(argv, cwd, max, ret_out, NULL, e);
}

int run_capture_len(char *const argv[], const char *cwd, size_t max, char **ret_out,
		    size_t *ret_len, struct err *e)
{
	int out[2], errp[2], status;
	char *o = NULL, *ebuf = NULL;
	size_t olen, elen;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) < 0)
		return err_sys(e, errno, "pipe");
	if (pipe2(errp, O_CLOEXEC) < 0) {
		close(out[0]);
		close(out[1]);
		return err_sys(e, errno, "pipe");
	}
	pid = fork();
	if (pid < 0) {
		close(out[0]), close(out[1]), close(errp[0]), close(errp[1]);
		return err_sys(e, errno, "fork");
	}
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(errp[1], 2);
		if (cwd && chdir(cwd) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	close(errp[1]);
	/* stderr is small (error messages); read stdout first, then stderr. */
	read_pipe(out[0], max, &o, &olen);
	read_pipe(errp[0], 4096, &ebuf, &elen);
	close(out[0]);
	close(errp[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		while (ebuf && elen && (ebuf[elen - 1] == '\n'))
			ebuf[--elen] = '\0';
		err_set(e, EIO, "%s exited with status %d%s%.600s", argv[0], code,
			ebuf && *ebuf ? ": " : "", ebuf ? ebuf : "");
		free(o);
		free(ebuf);
		return -EIO;
	}
	free(ebuf);
	if (ret_len)
		*ret_len = o ? olen : 0;
	if (ret_out)
		*ret_out = o;
	else
		free(o);
	return 0;
}
