#include "fileutil.h"

#include "../lib/input.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdint.h>
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

int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n, off += (uint64_t)n, len -= (size_t)n;
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

int stage_init(struct stage *s, const char *dir, struct err *e)
{
	memset(s, 0, sizeof(*s));
	s->dir = strdup(dir);
	if (!s->dir)
		return err_set(e, ENOMEM, "out of memory");
	return 0;
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

void stage_abort(struct stage *s)
{
	for (int i = 0; i < s->n; i++)
		if (s->tmp[i])
			unlink(s->tmp[i]);
}

void stage_free(struct stage *s)
{
	for (int i = 0; i < s->n; i++) {
		free(s->tmp[i]);
		free(s->final[i]);
	}
	free(s->dir);
	memset(s, 0, sizeof(*s));
}

/* The one process-wide pointer: a signal handler has no other way to find the outputs. */
static struct stage *volatile signal_stage;

static void on_signal(int sig)
{
	struct stage *s = signal_stage;

	if (s)
		for (int i = 0; i < s->n; i++)
			if (s->tmp[i])
				unlink(s->tmp[i]);
	signal(sig, SIG_DFL);
	raise(sig);
}

void stage_cleanup_on_signal(struct stage *s)
{
	signal_stage = s;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
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
