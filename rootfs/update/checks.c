#include "checks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OUTPUT_KEEP 256

struct output {
	char last[OUTPUT_KEEP]; /* the last complete non-empty line */
	char cur[OUTPUT_KEEP];
	size_t n;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void output_add(struct output *o, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n') {
			if (o->n) {
				memcpy(o->last, o->cur, o->n);
				o->last[o->n] = '\0';
			}
			o->n = 0;
		} else if (o->n < OUTPUT_KEEP - 1 && (unsigned char)buf[i] >= ' ') {
			o->cur[o->n++] = buf[i];
		}
	}
}

static const char *output_last(struct output *o)
{
	if (o->n) { /* an unterminated last line */
		output_add(o, "\n", 1);
	}
	return o->last;
}

static void __attribute__((noreturn)) child(const char *path, const char *unit, int out_fd)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	setpgid(0, 0);
	if (null >= 0)
		dup2(null, STDIN_FILENO);
	dup2(out_fd, STDOUT_FILENO);
	dup2(out_fd, STDERR_FILENO);
	signal(SIGPIPE, SIG_DFL);
	if (unit)
		execl(path, "systemctl", "is-active", unit, (char *)NULL);
	else
		execl(path, path, (char *)NULL);
	dprintf(STDERR_FILENO, "cannot execute %s: %s\n", path, strerror(errno));
	_exit(127);
}

static void describe(int status, bool timed_out, bool window, unsigned timeout, unsigned window_s,
		     struct output *o, char *why, size_t size)
{
	const char *last = output_last(o);
	char what[96];

	if (timed_out && window)
		snprintf(what, sizeof(what), "the health window of %u s ran out", window_s);
	else if (timed_out)
		snprintf(what, sizeof(what), "timed out after %u s", timeout);
	else if (WIFSIGNALED(status))
		snprintf(what, sizeof(what), "killed by signal %d", WTERMSIG(status));
	else
		snprintf(what, sizeof(what), "exit status %d", WEXITSTATUS(status));
	snprintf(why, size, "%s%s%s", what, last[0] ? ": " : "", last);
}

/* systemd's own path on Debian (merged /usr or not, /bin/systemctl is there) */
#define SYSTEMCTL "/bin/systemctl"

struct one {
	const char *name, *path;
	const char *unit; /* set: path is systemctl, asked whether the unit is active */
	unsigned timeout;
};

/* Runs one check until it exits or its deadline passes; 0 passed, 1 failed. */
static int run_one(const struct checks_run *r, const struct one *c, uint64_t window_end, char *why,
		   size_t why_size, struct err *e)
{
	uint64_t start = now_ms(), own_end = start + (uint64_t)c->timeout * 1000;
	uint64_t end = own_end < window_end ? own_end : window_end, last_tick = 0;
	struct output o;
	int pipefd[2], status = 0;
	bool open_pipe = true, timed_out = false;
	char buf[4096];
	pid_t pid;

	memset(&o, 0, sizeof(o));
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return err_sys(e, errno, "pipe");
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return err_sys(e, errno, "fork");
	}
	if (pid == 0)
		child(c->path, c->unit, pipefd[1]);
	setpgid(pid, pid); /* as the child does: no window where kill(-pid) misses it */
	close(pipefd[1]);
	for (;;) {
		struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
		uint64_t now = now_ms();
		pid_t w;

		if (now - last_tick >= 1000 && r->tick) {
			r->tick(r->userdata);
			last_tick = now;
		}
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (now >= end) {
			timed_out = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		if (open_pipe && poll(&p, 1, 100) > 0) {
			ssize_t n = read(pipefd[0], buf, sizeof(buf));
			if (n > 0)
				output_add(&o, buf, (size_t)n);
			else if (n == 0)
				open_pipe = false;
		} else if (!open_pipe) {
			nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
		}
	}
	/* what it wrote just before exiting (its own children may keep the pipe open) */
	while (open_pipe && poll(&(struct pollfd){.fd = pipefd[0], .events = POLLIN}, 1, 0) > 0) {
		ssize_t n = read(pipefd[0], buf, sizeof(buf));
		if (n <= 0)
			break;
		output_add(&o, buf, (size_t)n);
	}
	close(pipefd[0]);
	if (!timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	describe(status, timed_out, end == window_end && end < own_end, c->timeout,
		 r->policy->window, &o, why, why_size);
	return 1;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The executables of dir, sorted by name (hidden files and backups~ skipped). */
static int list_dir(const char *dir, char ***ret, size_t *ret_n, struct err *e)
{
	char **names = NULL, path[PATH_MAX];
	size_t n = 0;
	struct dirent *d;
	struct stat st;
	DIR *dp;

	*ret = NULL;
	*ret_n = 0;
	if (!dir || !(dp = opendir(dir)))
		return !dir || errno == ENOENT ? 0 : err_sys(e, errno, "%s", dir);
	while ((d = readdir(dp))) {
		size_t len = strlen(d->d_name);
		char **grown;

		if (d->d_name[0] == '.' || d->d_name[len - 1] == '~')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, d->d_name) >= sizeof(path) ||
		    stat(path, &st) < 0 || !S_ISREG(st.st_mode) || access(path, X_OK) < 0)
			continue;
		grown = realloc(names, (n + 1) * sizeof(*names));
		if (!grown || !(grown[n] = strdup(d->d_name))) {
			free(grown ? grown : names);
			closedir(dp);
			return err_set(e, ENOMEM, "out of memory");
		}
		names = grown;
		n++;
	}
	closedir(dp);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	*ret = names;
	*ret_n = n;
	return 0;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

struct tally {
	int failed;
	struct check_failure *first;
};

static int run_check(const struct checks_run *r, const struct one *c, uint64_t window_end,
		     struct tally *t, struct err *e)
{
	uint64_t start = now_ms();
	char why[320];
	int rc;

	if (start >= window_end) {
		snprintf(why, sizeof(why), "the health window of %u s ran out before it started",
			 r->policy->window);
		rc = 1;
	} else {
		rc = run_one(r, c, window_end, why, sizeof(why), e);
		if (rc < 0)
			return err_prefix(e, rc, "health check %s", c->name);
	}
	if (rc == 0) {
		fprintf(r->out, "ok   %s (%.1f s)\n", c->name, (double)(now_ms() - start) / 1000);
	} else {
		fprintf(r->out, "FAIL %s: %s\n", c->name, why);
		if (!t->failed++) {
			snprintf(t->first->name, sizeof(t->first->name), "%s", c->name);
			snprintf(t->first->why, sizeof(t->first->why), "%s", why);
		}
	}
	fflush(r->out);
	return 0;
}

int checks_run(const struct checks_run *r, struct check_failure *ret_first, struct err *e)
{
	const struct policy *p = r->policy;
	uint64_t window_end = now_ms() + (uint64_t)p->window * 1000;
	struct check_failure first;
	struct tally t = {.first = &first};
	char **names, path[PATH_MAX];
	size_t n;
	int rc;

	memset(&first, 0, sizeof(first));
	rc = list_dir(r->dir, &names, &n, e);
	if (rc < 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < p->n_checks; i++) {
		const struct policy_check *pc = &p->checks[i];
		const struct one c = {pc->name, pc->unit[0] ? SYSTEMCTL : pc->exec,
				      pc->unit[0] ? pc->unit : NULL, pc->timeout};
		rc = run_check(r, &c, window_end, &t, e);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct one c = {names[i], path, NULL, POLICY_DEFAULT_TIMEOUT};
		snprintf(path, sizeof(path), "%s/%s", r->dir, names[i]);
		rc = run_check(r, &c, window_end, &t, e);
	}
	free_names(names, n);
	if (rc < 0)
		return rc;
	if (t.failed)
		*ret_first = first;
	return t.failed ? 1 : 0;
}
