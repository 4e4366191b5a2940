/* "base": {"mmdebstrap": {"suite": "bookworm", "variant": "minbase", "include": [...],
 * "components": ["main"], "mirror": "http://deb.debian.org/debian"}}: a Debian tree made by
 * mmdebstrap (which runs maintainer scripts, unlike the debs base), its tar streamed from
 * mmdebstrap's stdout straight into the tree. Mode "auto": as root it runs in root mode, else
 * in a user namespace where the host allows one.
 *
 * The tar is cached by its inputs: every field above, the architecture and the sha256 of the
 * suite's InRelease on the mirror (the archive's state). The copy for the cache is written
 * while the tree is read, never read back in the same build. A package list (name, version,
 * architecture, sha256 of the .deb as the archive lists it) is written by a customize hook
 * while the chroot still has its package lists; every package becomes a manifest input. */
#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/archive.h"
#include "builder/fileutil.h"
#include "source.h"

#define MMD_LIST_MAX 2048  /* packages in one tree */
#define MMD_INCLUDE_MAX 512
#define MMD_COMPONENTS_MAX 8
#define MMD_FIELD_MAX 200

struct mmd_cfg {
	char suite[64], variant[32], mirror[MMD_FIELD_MAX + 1];
	char **include;
	size_t ninclude;
	char components[MMD_COMPONENTS_MAX][32];
	size_t ncomponents;
};

static const char *const mmd_variants[] = {"extract",   "custom",    "essential", "apt",
					   "required",  "minbase",   "buildd",    "important",
					   "debootstrap", "standard", NULL};

static bool chars_ok(const char *s, const char *allowed, size_t min, size_t max)
{
	size_t n = strlen(s);

	return n >= min && n <= max && strspn(s, allowed) == n;
}

/* A package as apt takes it: name, optionally =version or /suite. */
static bool include_ok(const char *s)
{
	static const char name[] = "abcdefghijklmnopqrstuvwxyz0123456789+.-";
	static const char rest[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+~:-";
	size_t n = strcspn(s, "=/");

	if (n < 2 || n > 100 || !strchr("abcdefghijklmnopqrstuvwxyz0123456789", s[0]) ||
	    strspn(s, name) < n)
		return false;
	return !s[n] || chars_ok(s + n + 1, rest, 1, 100);
}

static bool mirror_ok(const char *s)
{
	static const char url[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
				  ":/.-_~%+@[]";

	return (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) &&
	       chars_ok(s, url, 10, MMD_FIELD_MAX);
}

static int str_field(const cJSON *o, const char *key, const char *file, const char *def,
		     char *out, size_t outlen, bool (*valid)(const char *), const char *expect,
		     struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	const char *s = def;

	if (v) {
		if (!cJSON_IsString(v))
			return err_set(e, EINVAL, "%s: base.mmdebstrap.%s: expected %s", file, key,
				       expect);
		s = v->valuestring;
	}
	if (!s)
		return err_set(e, EINVAL, "%s: base.mmdebstrap.%s: missing (expected %s)", file, key,
			       expect);
	if (strlen(s) >= outlen || !valid(s))
		return err_set(e, EINVAL, "%s: base.mmdebstrap.%s: \"%.100s\" is not %s", file, key,
			       s, expect);
	strcpy(out, s);
	return 0;
}

static bool suite_ok(const char *s)
{
	return chars_ok(s, "abcdefghijklmnopqrstuvwxyz0123456789-", 2, 63);
}

static bool variant_ok(const char *s)
{
	for (const char *const *v = mmd_variants; *v; v++)
		if (strcmp(s, *v) == 0)
			return true;
	return false;
}

static bool component_ok(const char *s)
{
	return chars_ok(s, "abcdefghijklmnopqrstuvwxyz0123456789-", 2, 31);
}

static void mmd_free(void *cfg)
{
	struct mmd_cfg *c = cfg;

	if (!c)
		return;
	for (size_t i = 0; i < c->ninclude; i++)
		free(c->include[i]);
	free(c->include);
	free(c);
}

static int parse_include(const cJSON *o, const char *file, struct mmd_cfg *c, struct err *e)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "include"), *v;
	int i = 0;

	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr))
		return err_set(e, EINVAL, "%s: base.mmdebstrap.include: expected an array of package "
					  "names", file);
	if (cJSON_GetArraySize(arr) > MMD_INCLUDE_MAX)
		return err_set(e, E2BIG, "%s: base.mmdebstrap.include: more than %d packages", file,
			       MMD_INCLUDE_MAX);
	c->include = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(char *));
	if (!c->include)
		return err_set(e, ENOMEM, "out of memory");
	cJSON_ArrayForEach(v, arr)
	{
		if (!cJSON_IsString(v) || !include_ok(v->valuestring))
			return err_set(e, EINVAL, "%s: base.mmdebstrap.include[%d]: expected a package "
						  "such as \"systemd-sysv\", \"name=version\" or "
						  "\"name/suite\"", file, i);
		if (!(c->include[c->ninclude++] = strdup(v->valuestring)))
			return err_set(e, ENOMEM, "out of memory");
		i++;
	}
	return 0;
}

static int parse_components(const cJSON *o, const char *file, struct mmd_cfg *c, struct err *e)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "components"), *v;
	int i = 0;

	if (!arr) {
		strcpy(c->components[c->ncomponents++], "main");
		return 0;
	}
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0 ||
	    cJSON_GetArraySize(arr) > MMD_COMPONENTS_MAX)
		return err_set(e, EINVAL, "%s: base.mmdebstrap.components: expected 1 to %d "
					  "components such as [\"main\", \"contrib\"]", file,
			       MMD_COMPONENTS_MAX);
	cJSON_ArrayForEach(v, arr)
	{
		if (!cJSON_IsString(v) || !component_ok(v->valuestring))
			return err_set(e, EINVAL, "%s: base.mmdebstrap.components[%d]: expected a "
						  "component such as \"main\"", file, i);
		strcpy(c->components[c->ncomponents++], v->valuestring);
		i++;
	}
	return 0;
}

static const char *const mmd_keys[] = {"suite",   "variant",    "include",
				       "components", "mirror", NULL};

static int mmd_parse(const cJSON *base, const char *file, void **ret_cfg, struct err *e)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(base, "mmdebstrap"), *k;
	struct mmd_cfg *c;
	int r;

	if (!cJSON_IsObject(o))
		return err_set(e, EINVAL, "%s: base.mmdebstrap: expected an object such as "
					  "{\"suite\": \"bookworm\", \"variant\": \"minbase\"}", file);
	cJSON_ArrayForEach(k, o)
	{
		bool known = false;

		for (const char *const *m = mmd_keys; *m; m++)
			known |= strcmp(k->string, *m) == 0;
		if (!known)
			return err_set(e, EINVAL, "%s: base.mmdebstrap.%.100s: unknown key (known: "
						  "suite, variant, include, components, mirror)",
				       file, k->string);
		for (const cJSON *d = o->child; d != k; d = d->next)
			if (strcmp(d->string, k->string) == 0)
				return err_set(e, EINVAL, "%s: base.mmdebstrap.%s: duplicate key",
					       file, k->string);
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(e, ENOMEM, "out of memory");
	r = str_field(o, "suite", file, NULL, c->suite, sizeof(c->suite), suite_ok,
		      "a suite such as \"bookworm\"", e);
	if (r == 0)
		r = str_field(o, "variant", file, "minbase", c->variant, sizeof(c->variant),
			      variant_ok, "one of mmdebstrap's variants (minbase, apt, required, "
					  "important, standard, ...)", e);
	if (r == 0)
		r = str_field(o, "mirror", file, "http://deb.debian.org/debian", c->mirror,
			      sizeof(c->mirror), mirror_ok, "an http:// or https:// URL", e);
	if (r == 0)
		r = parse_include(o, file, c, e);
	if (r == 0)
		r = parse_components(o, file, c, e);
	if (r < 0) {
		mmd_free(c);
		return r;
	}
	*ret_cfg = c;
	return 0;
}

/* ---- the cache key ---- */

static int fetch_inrelease(const struct mmd_cfg *c, const char *dir, uint8_t out[SHA256_LEN],
			   struct err *e)
{
	char url[512], dest[4200];
	char *argv[] = {"/usr/lib/apt/apt-helper", "download-file", url, dest, NULL};
	char *buf = NULL;
	size_t len;
	int r;

	snprintf(url, sizeof(url), "%s/dists/%s/InRelease", c->mirror, c->suite);
	if (snprintf(dest, sizeof(dest), "%s/InRelease.%d", dir, (int)getpid()) >= (int)sizeof(dest))
		return err_set(e, ENAMETOOLONG, "cache directory %s: path too long", dir);
	r = run_capture(argv, NULL, 4096, NULL, e);
	if (r < 0) {
		unlink(dest);
		return err_prefix(e, r, "fetching %s (the archive's state, part of the cache key)",
				  url);
	}
	r = file_read_all(dest, 16 << 20, &buf, &len, e);
	unlink(dest);
	if (r < 0)
		return r;
	sha256_buf(buf, len, out);
	free(buf);
	return 0;
}

static void key_add(struct sha256_ctx *h, const char *s)
{
	sha256_update(h, s, strlen(s) + 1);
}

static int cache_key(const struct mmd_cfg *c, const char *dir, char hex[SHA256_HEX_LEN],
		     struct err *e)
{
	uint8_t release[SHA256_LEN], digest[SHA256_LEN];
	struct sha256_ctx *h;
	int r = fetch_inrelease(c, dir, release, e);

	if (r < 0)
		return r;
	h = sha256_new();
	if (!h)
		return err_set(e, ENOMEM, "out of memory");
	key_add(h, "stele-mmdebstrap-v2"); /* bumped whenever the hook changes */
	key_add(h, c->suite);
	key_add(h, c->variant);
	key_add(h, c->mirror);
	key_add(h, "amd64");
	for (size_t i = 0; i < c->ncomponents; i++)
		key_add(h, c->components[i]);
	key_add(h, "--include");
	for (size_t i = 0; i < c->ninclude; i++)
		key_add(h, c->include[i]);
	sha256_update(h, release, sizeof(release));
	sha256_final(h, digest);
	hex_encode(digest, SHA256_LEN, hex);
	return 0;
}

/* ---- the package list ---- */

/* One line of the customize hook's list: "NAME VERSION ARCH SHA256" (or "-"). */
static int list_line(char *line, struct inputs *in, const char *path, int lineno, struct err *e)
{
	char *f[4], *save = NULL;
	int n = 0;

	for (char *t = strtok_r(line, " ", &save); t && n < 5; t = strtok_r(NULL, " ", &save))
		if (n < 4)
			f[n++] = t;
		else
			n++;
	if (n != 4 || strlen(f[0]) > 100 || strlen(f[1]) > 100 || strlen(f[2]) > 31 ||
	    (strcmp(f[3], "-") != 0 && (strlen(f[3]) != SHA256_HEX_LEN - 1 ||
					strspn(f[3], "0123456789abcdef") != SHA256_HEX_LEN - 1)))
		return err_set(e, EINVAL, "%s:%d: expected \"NAME VERSION ARCH SHA256\"", path,
			       lineno);
	/* "-": installed, but the archive no longer lists that version (no digest to record) */
	return inputs_add_package(in, "deb", f[0], f[1], f[2], strcmp(f[3], "-") ? f[3] : "", e);
}

static int read_list(const char *path, struct inputs *in, size_t *ret_n, struct err *e)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len, n = 0;
	int r, lineno = 0;

	r = file_read_all(path, MMD_LIST_MAX * 400, &buf, &len, e);
	if (r < 0)
		return r;
	for (line = strtok_r(buf, "\n", &save); line && r == 0; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (++n > MMD_LIST_MAX)
			r = err_set(e, E2BIG, "%s: more than %d packages", path, MMD_LIST_MAX);
		else
			r = list_line(line, in, path, lineno, e);
	}
	free(buf);
	if (r == 0 && n == 0)
		r = err_set(e, EINVAL, "%s: no packages (the customize hook saw no .deb)", path);
	*ret_n = n;
	return r;
}

/* ---- running mmdebstrap ---- */

struct tee {
	int in, out;  /* mmdebstrap's stdout; the cache copy (-1 when reading the cache) */
	struct sha256_ctx *sha;
	uint64_t bytes;
	int write_errno;
	char buf[1 << 16];
};

static la_ssize_t tee_read(struct archive *a, void *userdata, const void **buf)
{
	struct tee *t = userdata;
	ssize_t n;

	do
		n = read(t->in, t->buf, sizeof(t->buf));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "read failed");
		return -1;
	}
	if (n > 0 && t->out >= 0 && !t->write_errno && write_all(t->out, t->buf, (size_t)n) < 0)
		t->write_errno = errno ? errno : EIO;
	sha256_update(t->sha, t->buf, (size_t)n);
	t->bytes += (uint64_t)n;
	*buf = t->buf;
	return n;
}

static int drain(struct tee *t)
{
	ssize_t n;

	while ((n = read(t->in, t->buf, sizeof(t->buf))) > 0 || (n < 0 && errno == EINTR)) {
		if (n <= 0)
			continue;
		if (t->out >= 0 && !t->write_errno && write_all(t->out, t->buf, (size_t)n) < 0)
			t->write_errno = errno ? errno : EIO;
		sha256_update(t->sha, t->buf, (size_t)n);
		t->bytes += (uint64_t)n;
	}
	return n < 0 ? -errno : 0;
}

/* Builds mmdebstrap's argument vector; every string is ours or validated in parse. */
static char **mmd_argv(const struct mmd_cfg *c, const char *hook)
{
	size_t n = 0, cap = 16 + c->ninclude;
	char **argv = calloc(cap, sizeof(char *));
	char *comps, *incl;
	size_t clen = 0, ilen = 0;

	if (!argv)
		return NULL;
	for (size_t i = 0; i < c->ncomponents; i++)
		clen += strlen(c->components[i]) + 1;
	for (size_t i = 0; i < c->ninclude; i++)
		ilen += strlen(c->include[i]) + 1;
	comps = calloc(1, clen + 16);
	incl = calloc(1, ilen + 16);
	if (!comps || !incl) {
		free(comps), free(incl), free(argv);
		return NULL;
	}
	strcpy(comps, "--components=");
	for (size_t i = 0; i < c->ncomponents; i++)
		strcat(strcat(comps, i ? "," : ""), c->components[i]);
	strcpy(incl, "--include=");
	for (size_t i = 0; i < c->ninclude; i++)
		strcat(strcat(incl, i ? "," : ""), c->include[i]);
	argv[n++] = strdup("mmdebstrap");
	argv[n++] = strdup("--quiet");
	argv[n++] = strdup("--mode=auto");
	argv[n++] = strdup("--format=tar");
	argv[n++] = strdup("--architectures=amd64");
	argv[n++] = strdup("--variant");
	argv[n++] = strdup(c->variant);
	argv[n++] = comps;
	if (c->ninclude)
		argv[n++] = incl;
	else
		free(incl);
	argv[n++] = strdup("--customize-hook");
	argv[n++] = strdup(hook);
	argv[n++] = strdup(c->suite);
	argv[n++] = strdup("-");
	argv[n++] = strdup(c->mirror);
	for (size_t i = 0; i < n; i++)
		if (!argv[i]) {
			for (size_t j = 0; j < n; j++)
				free(argv[j]);
			free(argv);
			return NULL;
		}
	return argv;
}

static void argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

static pid_t spawn(char **argv, int out_fd, int err_fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		dup2(out_fd, 1);
		dup2(err_fd, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* The last lines of mmdebstrap's log, for the error message. */
static void log_tail(const char *log, char *out, size_t n)
{
	char *buf = NULL, *p;
	size_t len;
	struct err ignored = {{0}};

	out[0] = '\0';
	if (file_read_all(log, 1 << 22, &buf, &len, &ignored) < 0)
		return;
	while (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	p = buf + len;
	for (int lines = 0; p > buf && lines < 4; p--)
		if (p[-1] == '\n')
			lines++;
	snprintf(out, n, "%s", p);
	free(buf);
}

struct mmd_paths {
	char dir[4096], tar[4200], list[4200], tmp_tar[4200], tmp_list[4200], log[4200];
};

static int mmd_paths_init(struct mmd_paths *p, const char *cache_dir, const char *key,
			  struct err *e)
{
	int pid = (int)getpid();

	if (snprintf(p->dir, sizeof(p->dir), "%s/mmdebstrap", cache_dir) >= (int)sizeof(p->dir) ||
	    strchr(p->dir, '\''))
		return err_set(e, EINVAL, "cache directory %.200s: too long or has a quote",
			       cache_dir);
	snprintf(p->tar, sizeof(p->tar), "%s/%s.tar", p->dir, key);
	snprintf(p->list, sizeof(p->list), "%s/%s.debs", p->dir, key);
	snprintf(p->tmp_tar, sizeof(p->tmp_tar), "%s/.%s.tar.%d", p->dir, key, pid);
	snprintf(p->tmp_list, sizeof(p->tmp_list), "%s/.%s.debs.%d", p->dir, key, pid);
	snprintf(p->log, sizeof(p->log), "%s/%s.log", p->dir, key);
	return mkdir_p(p->dir, e);
}

static int import_stream(struct tree *t, struct tee *tee, const char *name, uint64_t limit,
			 struct archive_import_stats *st, struct err *e)
{
	return archive_import_stream(t, tee_read, tee, name, limit, st, e);
}

static int run_mmdebstrap(const struct mmd_cfg *c, const struct mmd_paths *p, struct tree *t,
			  struct tee *tee, uint64_t limit, struct archive_import_stats *st,
			  struct err *e)
{
	char hook[9000], tail[600];
	char **argv;
	int pipefd[2], log_fd, status, r;
	pid_t pid;

	/* runs on the host with the chroot as $1, before mmdebstrap's cleanup removes the
	 * package lists. The host's hostname and resolv.conf (which mmdebstrap copies in) are
	 * replaced, so the tree does not depend on the build host; then every installed package with the sha256 the archive gives its .deb
	 * (apt checked the file against it when it fetched it) */
	snprintf(hook, sizeof(hook),
		 "echo localhost >\"$1/etc/hostname\"; rm -f \"$1/etc/resolv.conf\"; "
		 ": >\"$1/etc/resolv.conf\"; "
		 "chroot \"$1\" dpkg-query -W -f '${Package} ${Version} ${Architecture}\\n' | "
		 "while read -r p v a; do case $a in all|amd64) q=\"$p=$v\" ;; "
		 "*) q=\"$p:$a=$v\" ;; esac; "
		 "s=$(chroot \"$1\" apt-cache show \"$q\" 2>/dev/null | "
		 "sed -n 's/^SHA256: //p' | head -n 1); echo \"$p $v $a ${s:--}\"; done >'%s'",
		 p->tmp_list);
	argv = mmd_argv(c, hook);
	if (!argv)
		return err_set(e, ENOMEM, "out of memory");
	log_fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (log_fd < 0) {
		argv_free(argv);
		return err_sys(e, errno, "creating %s", p->log);
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		close(log_fd);
		argv_free(argv);
		return err_sys(e, errno, "pipe");
	}
	pid = spawn(argv, pipefd[1], log_fd);
	argv_free(argv);
	close(pipefd[1]);
	close(log_fd);
	if (pid < 0) {
		close(pipefd[0]);
		return err_sys(e, errno, "fork");
	}
	tee->in = pipefd[0];
	r = import_stream(t, tee, "mmdebstrap", limit, st, e);
	if (r < 0)
		kill(pid, SIGTERM); /* a tree we refuse: no need to wait for the rest */
	else
		drain(tee);
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		log_tail(p->log, tail, sizeof(tail));
		r = err_set(e, EIO, "mmdebstrap exited with status %d (log: %s): %s",
			    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), p->log,
			    tail);
	}
	if (r == 0 && tee->write_errno)
		r = err_sys(e, tee->write_errno, "writing the cache copy %s", p->tmp_tar);
	return r;
}

static int from_cache(const struct mmd_paths *p, struct tree *t, struct tee *tee,
		      uint64_t limit, struct archive_import_stats *st, struct err *e)
{
	int r;

	tee->in = open(p->tar, O_RDONLY | O_CLOEXEC);
	if (tee->in < 0)
		return err_sys(e, errno, "%s", p->tar);
	r = import_stream(t, tee, p->tar, limit, st, e);
	if (r == 0)
		drain(tee);
	close(tee->in);
	return r;
}

static int mmd_compose(const void *cfg, struct tree *t, struct source_ctx *ctx, struct err *e)
{
	const struct mmd_cfg *c = cfg;
	struct archive_import_stats st = {0};
	struct mmd_paths *p = calloc(1, sizeof(*p));
	struct tee *tee = calloc(1, sizeof(*tee));
	char key[SHA256_HEX_LEN];
	uint8_t digest[SHA256_LEN];
	bool cached;
	size_t npkgs = 0;
	int r;

	if (!p || !tee || !(tee->sha = sha256_new())) {
		r = err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	tee->out = -1;
	r = mkdir_p(ctx->cache_dir, e);
	if (r == 0)
		r = cache_key(c, ctx->cache_dir, key, e);
	if (r == 0)
		r = mmd_paths_init(p, ctx->cache_dir, key, e);
	if (r < 0)
		goto out;
	cached = access(p->tar, R_OK) == 0 && access(p->list, R_OK) == 0;
	reportf(ctx->report, BUILD_PROGRESS, "mmdebstrap %s %s%s", c->suite, c->variant,
		cached ? " (cached)" : ": running mmdebstrap");
	if (cached) {
		r = from_cache(p, t, tee, ctx->rootfs_size, &st, e);
	} else {
		tee->out = open(p->tmp_tar, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (tee->out < 0) {
			r = err_sys(e, errno, "creating %s", p->tmp_tar);
			goto out;
		}
		r = run_mmdebstrap(c, p, t, tee, ctx->rootfs_size, &st, e);
		if (r == 0 && fsync(tee->out) < 0)
			r = err_sys(e, errno, "writing %s", p->tmp_tar);
	}
	if (r == 0)
		r = read_list(cached ? p->list : p->tmp_list, ctx->inputs, &npkgs, e);
	if (r == 0 && !cached && (rename(p->tmp_list, p->list) < 0 || rename(p->tmp_tar, p->tar) < 0))
		r = err_sys(e, errno, "storing %s in the cache", p->tar);
	if (r < 0)
		goto out;
	sha256_final(tee->sha, digest);
	tee->sha = NULL;
	r = inputs_add(ctx->inputs, "mmdebstrap", c->suite, c->variant, digest, e);
	reportf(ctx->report, BUILD_PROGRESS, "mmdebstrap %s: %llu entries, %llu bytes, %zu packages",
		c->suite, (unsigned long long)st.entries, (unsigned long long)st.bytes, npkgs);
out:
	if (tee && tee->out >= 0)
		close(tee->out);
	if (p && r < 0) {
		unlink(p->tmp_tar);
		unlink(p->tmp_list);
	}
	if (tee)
		sha256_free(tee->sha);
	free(tee);
	free(p);
	return r;
}

const struct source_handler source_mmdebstrap = {
	.key = "mmdebstrap",
	.parse = mmd_parse,
	.compose = mmd_compose,
	.free = mmd_free,
};
