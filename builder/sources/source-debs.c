/* "base": {"debs": ["busybox-static", "pkg=version"]}: Debian packages fetched with
 * `apt-get download` into a cache (checked against the archive's SHA256), unpacked with
 * libarchive (the .deb's ar container, then its data.tar), without maintainer scripts.
 * A listed package that ships nothing but documentation (and bug-report templates) is a metapackage: its first
 * dependency is fetched in its place (so "linux-image-cloud-amd64" yields the kernel).
 * "local_debs": [".deb files"] are the product's own packages, unpacked after the archive's
 * (their control file names them in the manifest's inputs). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/archive.h"
#include "builder/fileutil.h"
#include "source.h"

#define DEBS_MAX 512
#define META_DEPTH 4

struct debs_cfg {
	char **pkgs;
	size_t n;
	char **local; /* "local_debs": .deb files of the product's own, absolute paths */
	size_t nlocal;
};

struct deb_info {
	char name[128], version[128], arch[32], sha256[SHA256_HEX_LEN], filename[512];
	char depends[1024];
};

static bool pkg_spec_ok(const char *s)
{
	static const char name_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789+.-";
	static const char ver_chars[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+~:-";
	size_t n = strcspn(s, "=");

	if (n < 2 || n > 100 || s[0] == '-' || s[0] == '.' || s[0] == '+')
		return false;
	if (strspn(s, name_chars) < n)
		return false;
	if (s[n] == '=')
		return s[n + 1] && strlen(s + n + 1) < 100 && strspn(s + n + 1, ver_chars) ==
							     strlen(s + n + 1);
	return true;
}

static int debs_parse(const cJSON *base, const char *file, void **ret_cfg, struct err *e)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(base, "debs"), *v, *local;
	struct debs_cfg *c;
	int i = 0;

	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
		return err_set(e, EINVAL, "%s: base.debs: expected a non-empty array of package "
					  "names", file);
	if (cJSON_GetArraySize(arr) > DEBS_MAX)
		return err_set(e, E2BIG, "%s: base.debs: more than %d packages", file, DEBS_MAX);
	cJSON_ArrayForEach(v, arr)
	{
		if (!cJSON_IsString(v) || !pkg_spec_ok(v->valuestring))
			return err_set(e, EINVAL, "%s: base.debs[%d]: expected a package name such "
						  "as \"busybox-static\" or \"name=version\"", file, i);
		i++;
	}
	local = cJSON_GetObjectItemCaseSensitive(base, "local_debs");
	if (local && !cJSON_IsArray(local))
		return err_set(e, EINVAL, "%s: base.local_debs: expected an array of .deb files",
			       file);
	if (cJSON_GetArraySize(local) > DEBS_MAX)
		return err_set(e, E2BIG, "%s: base.local_debs: more than %d packages", file,
			       DEBS_MAX);
	i = 0;
	cJSON_ArrayForEach(v, local)
	{
		size_t l = cJSON_IsString(v) ? strlen(v->valuestring) : 0;

		if (l < 5 || strcmp(v->valuestring + l - 4, ".deb") != 0)
			return err_set(e, EINVAL, "%s: base.local_debs[%d]: expected the path of a "
						  ".deb file (\"pkg/app_1.0_amd64.deb\")", file, i);
		i++;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->pkgs = calloc((size_t)cJSON_GetArraySize(arr), sizeof(char *))) ||
	    !(c->local = calloc((size_t)i + 1, sizeof(char *)))) {
		if (c)
			free(c->pkgs);
		free(c);
		return err_set(e, ENOMEM, "out of memory");
	}
	*ret_cfg = c;
	cJSON_ArrayForEach(v, arr)
	{
		c->pkgs[c->n] = strdup(v->valuestring);
		if (!c->pkgs[c->n++])
			return err_set(e, ENOMEM, "out of memory");
	}
	cJSON_ArrayForEach(v, local)
	{
		c->local[c->nlocal] = strdup(v->valuestring);
		if (!c->local[c->nlocal++])
			return err_set(e, ENOMEM, "out of memory");
	}
	return 0;
}

static void field_copy(char *dst, size_t n, const char *line, const char *key)
{
	size_t k = strlen(key);

	if (strncmp(line, key, k) == 0 && line[k] == ':' && !*dst) {
		const char *v = line + k + 1;
		while (*v == ' ')
			v++;
		snprintf(dst, n, "%.*s", (int)strcspn(v, "\n"), v);
	}
}

static void spec_name(const char *spec, char *out, size_t n)
{
	snprintf(out, n, "%.*s", (int)strcspn(spec, "="), spec);
}

static void take_stanza(const struct deb_info *cur, char *const *specs, size_t n,
			struct deb_info *out)
{
	char name[128];

	for (size_t i = 0; i < n; i++) {
		spec_name(specs[i], name, sizeof(name));
		if (!out[i].name[0] && strcmp(name, cur->name) == 0)
			out[i] = *cur;
	}
}

/* apt-cache with our binary caches: Debian disables apt's, so every run would parse all
 * package lists again (0.6 s); keep one in our cache (apt revalidates it itself). argv[0..6]
 * are filled ("env LC_ALL=C apt-cache -o ... -o ...": policy's words are translated). */
#define APT_ARGS 7
static int apt_argv(const char *cache, char *argv[APT_ARGS], char *pkgcache, char *srccache,
		    size_t size, struct err *e)
{
	int r = mkdir_p(cache, e);

	if (r < 0)
		return r;
	snprintf(pkgcache, size, "Dir::Cache::pkgcache=%s/apt-pkgcache.bin", cache);
	snprintf(srccache, size, "Dir::Cache::srcpkgcache=%s/apt-srcpkgcache.bin", cache);
	argv[0] = "env", argv[1] = "LC_ALL=C", argv[2] = "apt-cache", argv[3] = "-o";
	argv[4] = pkgcache, argv[5] = "-o", argv[6] = srccache;
	return 0;
}

/* The candidate version of every spec without one, from one `apt-cache policy`: what
 * `apt-cache show --no-all-versions` would pick, without the dependency cache it builds
 * for that (0.25 s a run; policy and show NAME=VERSION take 0.02 s). ret[i] gets
 * "name=version" (or a copy of a spec that has its version). */
static int apt_candidates(char *const *specs, size_t n, char *const *argv0, char **ret,
			  struct err *e)
{
	char **argv = calloc(n + APT_ARGS + 2, sizeof(char *)), *text = NULL, *line, *save;
	char cur[128] = "";
	size_t k = APT_ARGS + 1;
	int r = 0;

	if (!argv)
		return err_set(e, ENOMEM, "out of memory");
	memcpy(argv, argv0, APT_ARGS * sizeof(char *));
	argv[APT_ARGS] = "policy";
	for (size_t i = 0; i < n; i++) {
		ret[i] = NULL;
		if (!strchr(specs[i], '='))
			argv[k++] = specs[i];
		else if (!(ret[i] = strdup(specs[i])))
			r = err_set(e, ENOMEM, "out of memory");
	}
	if (r == 0 && k > APT_ARGS + 1)
		r = run_capture(argv, NULL, 1 << 20, &text, e);
	free(argv);
	for (line = text; r == 0 && line; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		/* "NAME:" starts a package; "  Candidate: VERSION" (or "(none)") follows */
		if (*line && *line != ' ') {
			snprintf(cur, sizeof(cur), "%.*s", (int)strcspn(line, ":"), line);
			continue;
		}
		line += strspn(line, " ");
		if (strncmp(line, "Candidate: ", 11) != 0 || strcmp(line + 11, "(none)") == 0)
			continue;
		for (size_t i = 0; i < n && r == 0; i++)
			if (!ret[i] && strcmp(specs[i], cur) == 0 &&
			    asprintf(&ret[i], "%s=%s", cur, line + 11) < 0) {
				ret[i] = NULL;
				r = err_set(e, ENOMEM, "out of memory");
			}
	}
	free(text);
	for (size_t i = 0; i < n && r == 0; i++)
		if (!ret[i])
			r = err_set(e, ENOENT, "package %s: no candidate version", specs[i]);
	return r;
}

/* One `apt-cache show NAME=VERSION...` for all specs (starting apt-cache costs tens of
 * milliseconds); stanzas are matched to specs by package name. */
static int apt_show(char *const *specs, size_t n, const char *cache, struct deb_info *out,
		    struct err *e)
{
	char **argv = calloc(n + APT_ARGS + 2, sizeof(char *)), **versioned = calloc(n, sizeof(char *));
	char *text = NULL, *line, *save, pkgcache[4200], srccache[4200];
	struct deb_info cur;
	int r;

	r = argv && versioned ? apt_argv(cache, argv, pkgcache, srccache, sizeof(pkgcache), e)
			      : err_set(e, ENOMEM, "out of memory");
	if (r == 0)
		r = apt_candidates(specs, n, argv, versioned, e);
	if (r == 0) {
		argv[APT_ARGS] = "show";
		memcpy(argv + APT_ARGS + 1, versioned, n * sizeof(char *));
		r = run_capture(argv, NULL, 16 << 20, &text, e);
	}
	for (size_t i = 0; versioned && i < n; i++)
		free(versioned[i]);
	free(versioned);
	free(argv);
	if (r < 0)
		return err_prefix(e, r, "looking up packages (are they in the apt sources? try "
					"apt-get update)");
	memset(out, 0, n * sizeof(*out));
	memset(&cur, 0, sizeof(cur));
	for (line = text; line; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		/* a stanza ends at a blank line or the end of the output */
		if (*line && strncmp(line, "Package:", 8) != 0) {
			field_copy(cur.version, sizeof(cur.version), line, "Version");
			field_copy(cur.arch, sizeof(cur.arch), line, "Architecture");
			field_copy(cur.sha256, sizeof(cur.sha256), line, "SHA256");
			field_copy(cur.filename, sizeof(cur.filename), line, "Filename");
			field_copy(cur.depends, sizeof(cur.depends), line, "Depends");
			if (save)
				continue;
		}
		if (cur.name[0])
			take_stanza(&cur, specs, n, out);
		memset(&cur, 0, sizeof(cur));
		if (*line)
			field_copy(cur.name, sizeof(cur.name), line, "Package");
	}
	free(text);
	for (size_t i = 0; i < n; i++)
		if (!out[i].name[0] || !out[i].version[0] || strlen(out[i].sha256) != 64 ||
		    !out[i].filename[0])
			return err_set(e, EINVAL, "package %s: apt-cache show gave no Package, "
						  "Version, SHA256 or Filename", specs[i]);
	return 0;
}

static int find_deb(const char *dir, char *out, size_t n, struct err *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int found = 0;

	if (!d)
		return err_sys(e, errno, "%s", dir);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l > 4 && strcmp(de->d_name + l - 4, ".deb") == 0 && found++ == 0 &&
		    (size_t)snprintf(out, n, "%s/%s", dir, de->d_name) >= n)
			found = -1000; /* name too long: reported below */
	}
	closedir(d);
	if (found != 1)
		return err_set(e, EIO, "apt-get download left %d .deb files in %s", found, dir);
	return 0;
}

static int check_sha(const char *path, const struct deb_info *d, uint8_t digest[SHA256_LEN],
		     struct err *e)
{
	char hex[SHA256_HEX_LEN];
	int r = sha256_file(path, digest, e);

	if (r < 0)
		return r;
	hex_encode(digest, SHA256_LEN, hex);
	if (strcmp(hex, d->sha256) != 0)
		return err_set(e, EBADMSG, "%s: sha256 %s does not match the archive's %s", path,
			       hex, d->sha256);
	return 0;
}

/* Makes sure cache/<file> holds the package, downloading it when missing or stale. */
/* Into the cache; the download directory is registered with cleanup while it exists. */
static int fetch(const struct deb_info *d, const char *cache, struct cleanup *cleanup,
		 char *path, size_t n, uint8_t digest[SHA256_LEN], struct err *e)
{
	char tmp[4096], spec[300], got[4096];
	const char *base = strrchr(d->filename, '/');
	char *argv[] = {"apt-get", "download", "-q", spec, NULL};
	int r;

	snprintf(path, n, "%s/%s", cache, base ? base + 1 : d->filename);
	if (access(path, R_OK) == 0 && check_sha(path, d, digest, NULL) == 0)
		return 0;
	r = mkdir_p(cache, e);
	if (r < 0)
		return r;
	snprintf(tmp, sizeof(tmp), "%s/.download-XXXXXX", cache);
	if (!mkdtemp(tmp))
		return err_sys(e, errno, "creating a directory in %s", cache);
	cleanup_register(cleanup, tmp); /* best effort: without a slot it is removed on failure only */
	snprintf(spec, sizeof(spec), "%s=%s", d->name, d->version);
	r = run_capture(argv, tmp, 1 << 16, NULL, e);
	if (r == 0)
		r = find_deb(tmp, got, sizeof(got), e);
	if (r == 0)
		r = check_sha(got, d, digest, e);
	if (r == 0 && rename(got, path) < 0)
		r = err_sys(e, errno, "moving %s to %s", got, path);
	remove_tree(tmp); /* empty after the rename; a failed download's partial files too */
	cleanup_unregister(cleanup, tmp);
	return r < 0 ? err_prefix(e, r, "downloading %s", spec) : 0;
}

struct nested {
	struct archive *outer;
	char buf[1 << 16];
};

static la_ssize_t nested_read(struct archive *a, void *userdata, const void **buf)
{
	struct nested *n = userdata;
	la_ssize_t r = archive_read_data(n->outer, n->buf, sizeof(n->buf));

	if (r < 0)
		archive_set_error(a, EIO, "%s", archive_error_string(n->outer));
	*buf = n->buf;
	return r;
}

static int import_data_tar(struct tree *t, struct archive *outer, const char *what,
			   uint64_t limit, struct archive_import_stats *st, struct err *e)
{
	struct nested *n = calloc(1, sizeof(*n));
	int r;

	if (!n)
		return err_set(e, ENOMEM, "out of memory");
	n->outer = outer;
	r = archive_import_stream(t, nested_read, n, what, limit, st, e);
	free(n);
	return r;
}

static int import_deb(struct tree *t, const char *path, uint64_t limit,
		      struct archive_import_stats *st,
		      struct err *e)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	int r, found = 0;

	if (!a)
		return err_set(e, ENOMEM, "out of memory");
	archive_read_support_format_ar(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		r = err_set(e, EINVAL, "%s: %s", path, archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
		if (strncmp(archive_entry_pathname(ent), "data.tar", 8) != 0)
			continue;
		found++;
		r = import_data_tar(t, a, path, limit, st, e);
		goto out;
	}
	r = r == ARCHIVE_EOF ? 0 : err_set(e, EINVAL, "%s: %s", path, archive_error_string(a));
out:
	archive_read_free(a);
	if (r == 0 && !found)
		r = err_set(e, EINVAL, "%s: not a Debian package (no data.tar member)", path);
	return r;
}

#define CONTROL_MAX (64u << 10)

/* The control file of a .deb's control.tar: Package, Version and Architecture into d. */
static int read_control(const char *path, struct deb_info *d, struct err *e)
{
	struct archive *a = archive_read_new(), *in = NULL;
	struct archive_entry *ent;
	struct nested *n = calloc(1, sizeof(*n));
	char *text = calloc(1, CONTROL_MAX + 1);
	la_ssize_t got = -1;
	int r;

	if (!a || !n || !text) {
		r = err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	archive_read_support_format_ar(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		r = err_set(e, EINVAL, "%s: %s", path, archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK &&
	       strncmp(archive_entry_pathname(ent), "control.tar", 11) != 0)
		;
	if (r != ARCHIVE_OK) {
		r = err_set(e, EINVAL, "%s: not a Debian package (no control.tar member)", path);
		goto out;
	}
	n->outer = a;
	in = archive_read_new();
	if (!in) {
		r = err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	archive_read_support_filter_all(in);
	archive_read_support_format_tar(in);
	if (archive_read_open(in, n, NULL, nested_read, NULL) != ARCHIVE_OK) {
		r = err_set(e, EINVAL, "%s: control.tar: %s", path, archive_error_string(in));
		goto out;
	}
	while ((r = archive_read_next_header(in, &ent)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ent);

		if (strcmp(name, "./control") == 0 || strcmp(name, "control") == 0) {
			got = archive_read_data(in, text, CONTROL_MAX);
			break;
		}
	}
	if (got < 0) {
		r = err_set(e, EINVAL, "%s: control.tar has no readable control file", path);
		goto out;
	}
	text[got] = '\0';
	memset(d, 0, sizeof(*d));
	for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		field_copy(d->name, sizeof(d->name), line, "Package");
		field_copy(d->version, sizeof(d->version), line, "Version");
		field_copy(d->arch, sizeof(d->arch), line, "Architecture");
	}
	r = 0;
	if (!pkg_spec_ok(d->name) || !d->version[0])
		r = err_set(e, EINVAL, "%s: control: expected a Package name and a Version", path);
out:
	if (in)
		archive_read_free(in);
	if (a)
		archive_read_free(a);
	free(n);
	free(text);
	return r;
}

/* One of local_debs: its control names it, its data goes into the tree. */
static int add_local(const char *path, struct tree *t, struct source_ctx *ctx, struct err *e)
{
	struct archive_import_stats st = {0};
	struct deb_info d;
	uint8_t digest[SHA256_LEN];
	char origin[700];
	int r = read_control(path, &d, e);

	if (r == 0)
		r = sha256_file(path, digest, e);
	if (r < 0)
		return r;
	snprintf(origin, sizeof(origin), "package %s %s (%.400s)", d.name, d.version, path);
	r = tree_set_origin(t, origin, e);
	if (r == 0)
		r = import_deb(t, path, ctx->rootfs_size, &st, e);
	if (r == 0)
		r = inputs_add(ctx->inputs, "deb", d.name, d.version, digest, e);
	if (r < 0)
		return err_prefix(e, r, "local package %s", path);
	reportf(ctx->report, BUILD_PROGRESS, "deb %s %s (local): %llu entries, %llu bytes",
		d.name, d.version, (unsigned long long)st.entries, (unsigned long long)st.bytes);
	return 0;
}

/* "a (= 1) | b, c" -> "a=1"; "a (>= 1), c" -> "a". */
static void first_dependency(const char *depends, char *out, size_t n)
{
	size_t alt = strcspn(depends, ",|");
	const char *pin = strstr(depends, "(= ");
	size_t l;

	snprintf(out, n, "%.*s", (int)strcspn(depends, ":, |("), depends);
	if (pin && (size_t)(pin - depends) < alt) {
		l = strlen(out);
		snprintf(out + l, n - l, "=%.*s", (int)strcspn(pin + 3, ")"), pin + 3);
	}
}

static int add_package(const struct deb_info *d, struct tree *t, struct source_ctx *ctx,
		       bool *meta, struct err *e)
{
	struct archive_import_stats st = {0};
	uint8_t digest[SHA256_LEN];
	char path[4096];
	int r;

	char origin[512];

	snprintf(origin, sizeof(origin), "package %s %s", d->name, d->version);
	r = fetch(d, ctx->cache_dir, ctx->cleanup, path, sizeof(path), digest, e);
	if (r == 0)
		r = tree_set_origin(t, origin, e);
	if (r == 0)
		r = import_deb(t, path, ctx->rootfs_size, &st, e);
	if (r == 0)
		r = inputs_add(ctx->inputs, "deb", d->name, d->version, digest, e);
	if (r < 0)
		return err_prefix(e, r, "package %s", d->name);
	reportf(ctx->report, BUILD_PROGRESS, "deb %s %s: %llu entries, %llu bytes", d->name,
		d->version, (unsigned long long)st.entries, (unsigned long long)st.bytes);
	*meta = st.payload == 0 && d->depends[0];
	return 0;
}

/* Adds one round of packages; metapackages among them put their first dependency into
 * next for the following round. */
static int add_round(char *const *specs, size_t n, struct tree *t, struct source_ctx *ctx,
		     char **next, size_t *nnext, struct err *e)
{
	struct deb_info *d = calloc(n, sizeof(*d));
	char dep[300];
	bool meta;
	int r;

	*nnext = 0;
	if (!d)
		return err_set(e, ENOMEM, "out of memory");
	r = apt_show(specs, n, ctx->cache_dir, d, e);
	for (size_t i = 0; r == 0 && i < n; i++) {
		r = add_package(&d[i], t, ctx, &meta, e);
		if (r < 0 || !meta)
			continue;
		first_dependency(d[i].depends, dep, sizeof(dep));
		if (!pkg_spec_ok(dep))
			r = err_set(e, EINVAL, "package %s: cannot follow dependency \"%s\"",
				    specs[i], dep);
		else if (!(next[(*nnext)++] = strdup(dep)))
			r = err_set(e, ENOMEM, "out of memory");
		else
			reportf(ctx->report, BUILD_PROGRESS, "deb %s is a metapackage: adding %s",
				d[i].name, dep);
	}
	free(d);
	return r;
}

static int debs_compose(const void *cfg, struct tree *t, struct source_ctx *ctx, struct err *e)
{
	const struct debs_cfg *c = cfg;
	char **cur = calloc(c->n, sizeof(char *)), **next = calloc(c->n, sizeof(char *));
	size_t n = c->n, nnext = 0;
	int r = cur && next ? 0 : err_set(e, ENOMEM, "out of memory");

	for (size_t i = 0; r == 0 && i < n; i++)
		r = (cur[i] = strdup(c->pkgs[i])) ? 0 : err_set(e, ENOMEM, "out of memory");
	for (int depth = 0; r == 0 && n > 0; depth++) {
		if (depth > META_DEPTH) {
			r = err_set(e, ELOOP, "metapackages nested too deep");
			break;
		}
		r = add_round(cur, n, t, ctx, next, &nnext, e);
		for (size_t i = 0; i < n; i++)
			free(cur[i]);
		char **swap = cur;
		cur = next, next = swap, n = nnext;
	}
	/* the product's own packages last: they may replace what the archive's put there */
	for (size_t i = 0; r == 0 && i < c->nlocal; i++)
		r = add_local(c->local[i], t, ctx, e);
	for (size_t i = 0; cur && i < n; i++)
		free(cur[i]);
	free(cur);
	free(next);
	return r < 0 ? err_prefix(e, r, "base debs") : 0;
}

static void debs_free(void *cfg)
{
	struct debs_cfg *c = cfg;

	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->pkgs[i]);
	free(c->pkgs);
	for (size_t i = 0; i < c->nlocal; i++)
		free(c->local[i]);
	free(c->local);
	free(c);
}

static const char *const debs_extra[] = {"local_debs", NULL};

const struct source_handler source_debs = {
	.key = "debs",
	.extra_keys = debs_extra,
	.path_keys = debs_extra,
	.parse = debs_parse,
	.compose = debs_compose,
	.free = debs_free,
};
