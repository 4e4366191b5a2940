#include "profile.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileutil.h"
#include "json.h"
#include "size.h"
#include "tree.h"

static const char *const arches[] = {"x86_64", "aarch64", NULL};
static const char *const hashes[] = {"sha256", "sha512", "sha1", NULL};
static const char *const outputs[] = {"raw", "qcow2", "bundle", NULL};

static const struct jfield file_fields[] = {
	{.key = "dst", .kind = J_STRING, .required = true},
	{.key = "src", .kind = J_STRING},
	{.key = "content", .kind = J_STRING},
	{.key = "symlink", .kind = J_STRING},
	{.key = "dir", .kind = J_BOOL},
	{.key = "mode", .kind = J_MODE},
	{.key = "owner", .kind = J_OWNER},
	{0},
};
static const struct jfield kernel_fields[] = {
	{.key = "modules", .kind = J_ARRAY, .elem = J_STRING},
	{.key = "cmdline", .kind = J_STRING},
	{0},
};
static const struct jfield check_fields[] = {
	{.key = "name", .kind = J_STRING, .required = true},
	{.key = "exec", .kind = J_STRING, .required = true},
	{.key = "timeout", .kind = J_INT, .min = 1, .max = 3600},
	{0},
};
static const struct jfield health_fields[] = {
	{.key = "checks", .kind = J_ARRAY, .elem = J_OBJECT, .fields = check_fields},
	{.key = "window", .kind = J_INT, .min = 1, .max = 86400},
	{.key = "tries", .kind = J_INT, .min = 1, .max = 15},
	{0},
};
static const struct jfield layout_fields[] = {
	{.key = "esp_size", .kind = J_SIZE},
	{.key = "slot_size", .kind = J_SIZE},
	{.key = "data_size", .kind = J_SIZE},
	{.key = "verity_size", .kind = J_SIZE},
	{0},
};
static const struct jfield verity_fields[] = {
	{.key = "hash", .kind = J_STRING, .choices = hashes},
	{0},
};
static const struct jfield sign_fields[] = {
	{.key = "key", .kind = J_STRING},
	{.key = "cert", .kind = J_STRING},
	{.key = "trust", .kind = J_ARRAY, .elem = J_STRING},
	{0},
};
static const struct jfield rootfs_fields[] = {
	{.key = "size", .kind = J_SIZE},
	{.key = "headroom", .kind = J_PERCENT_OR_SIZE},
	{0},
};
static const struct jfield top_fields[] = {
	{.key = "extends", .kind = J_STRING},
	{.key = "product", .kind = J_STRING},
	{.key = "version", .kind = J_STRING},
	{.key = "arch", .kind = J_STRING, .choices = arches},
	{.key = "base", .kind = J_ANY},
	{.key = "kernel", .kind = J_OBJECT, .fields = kernel_fields},
	{.key = "files", .kind = J_ARRAY, .elem = J_OBJECT, .fields = file_fields},
	{.key = "rootfs", .kind = J_OBJECT, .fields = rootfs_fields},
	{.key = "health", .kind = J_OBJECT, .fields = health_fields},
	{.key = "layout", .kind = J_OBJECT, .fields = layout_fields},
	{.key = "verity", .kind = J_OBJECT, .fields = verity_fields},
	{.key = "sign", .kind = J_OBJECT, .fields = sign_fields},
	{.key = "outputs", .kind = J_ARRAY, .elem = J_STRING, .choices = outputs},
	{.key = "rollback_index", .kind = J_INT, .min = 0, .max = 1L << 40},
	{.key = "console_shell", .kind = J_BOOL},
	{0},
};

static char *path_join(const char *dir, const char *rel)
{
	char *out;

	if (rel[0] == '/')
		return strdup(rel);
	if (asprintf(&out, "%s/%s", dir, rel) < 0)
		return NULL;
	return out;
}

/* The absolute directory holding file, without chdir or symlink resolution. */
static char *file_dir(const char *file)
{
	char cwd[PATH_MAX], *copy, *slash, *out = NULL;

	copy = strdup(file);
	if (!copy)
		return NULL;
	slash = strrchr(copy, '/');
	if (slash == copy)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(copy, ".");
	if (copy[0] == '/')
		return copy;
	if (getcwd(cwd, sizeof(cwd)))
		out = strcmp(copy, ".") == 0 ? strdup(cwd) : path_join(cwd, copy);
	free(copy);
	return out;
}

static int resolve_string(cJSON *v, const char *dir, struct err *e)
{
	char *abs;

	if (!cJSON_IsString(v))
		return 0;
	abs = path_join(dir, v->valuestring);
	if (!abs || !cJSON_SetValuestring(v, abs)) {
		free(abs);
		return err_set(e, ENOMEM, "out of memory");
	}
	free(abs);
	return 0;
}

/* Rewrites every relative host path of one file's document to an absolute one, so that a
 * parent's paths keep meaning what they meant after merging. */
static int resolve_paths(cJSON *doc, const char *dir, const struct source_handler *base,
			 struct err *e)
{
	cJSON *c, *sign = cJSON_GetObjectItemCaseSensitive(doc, "sign");
	int r = 0;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "files"))
	{
		r = resolve_string(cJSON_GetObjectItemCaseSensitive(c, "src"), dir, e);
		if (r < 0)
			return r;
	}
	for (const char *const *k = base ? base->path_keys : NULL; k && *k; k++) {
		cJSON *b = cJSON_GetObjectItemCaseSensitive(doc, "base");
		r = resolve_string(cJSON_GetObjectItemCaseSensitive(b, *k), dir, e);
		if (r < 0)
			return r;
	}
	if (sign) {
		r = resolve_string(cJSON_GetObjectItemCaseSensitive(sign, "key"), dir, e);
		if (r == 0)
			r = resolve_string(cJSON_GetObjectItemCaseSensitive(sign, "cert"), dir, e);
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(sign, "trust"))
		{
			if (r == 0)
				r = resolve_string(c, dir, e);
		}
	}
	return r;
}

static int check_file_entry(const cJSON *f, const char *file, int i, struct err *e)
{
	static const char *const kinds[] = {"src", "content", "symlink", "dir"};
	char norm[TREE_PATH_MAX + 1];
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(f, "src");
	const cJSON *dst = cJSON_GetObjectItemCaseSensitive(f, "dst");
	const cJSON *link = cJSON_GetObjectItemCaseSensitive(f, "symlink");
	struct err sub;
	struct stat st;
	int n = 0;

	for (size_t k = 0; k < sizeof(kinds) / sizeof(*kinds); k++)
		n += cJSON_GetObjectItemCaseSensitive(f, kinds[k]) != NULL;
	if (n != 1)
		return err_set(e, EINVAL, "%s: files[%d]: expected exactly one of src, content, "
					  "symlink, dir", file, i);
	if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(f, "dir")))
		return err_set(e, EINVAL, "%s: files[%d].dir: must be true when given", file, i);
	if (cJSON_GetObjectItemCaseSensitive(f, "symlink") &&
	    cJSON_GetObjectItemCaseSensitive(f, "mode"))
		return err_set(e, EINVAL, "%s: files[%d].mode: symlinks have no mode", file, i);
	if (tree_path_normalize(dst->valuestring, norm, sizeof(norm), &sub) < 0)
		return err_set(e, EINVAL, "%s: files[%d].dst: %s", file, i, sub.msg);
	if (cJSON_IsString(link) && tree_symlink_check(norm, link->valuestring, &sub) < 0)
		return err_set(e, EINVAL, "%s: files[%d].symlink: %s", file, i, sub.msg);
	if (src && lstat(src->valuestring, &st) < 0)
		return err_sys(e, errno, "%s: files[%d].src: %s", file, i, src->valuestring);
	return 0;
}

static bool name_ok(const char *s, const char *first, const char *rest, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || !strchr(first, s[0]))
		return false;
	return strspn(s, rest) == n;
}

#define LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"
#define ALNUM LOWER_DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

static int check_names(const cJSON *doc, const char *file, struct err *e)
{
	const cJSON *product = cJSON_GetObjectItemCaseSensitive(doc, "product");
	const cJSON *version = cJSON_GetObjectItemCaseSensitive(doc, "version");

	if (product && !name_ok(product->valuestring, LOWER_DIGITS, LOWER_DIGITS "._-", 64))
		return err_set(e, EINVAL, "%s: product: expected lower-case letters, digits, "
					  "'.', '_' or '-' (at most 64, starting with a letter or "
					  "digit)", file);
	if (version && !name_ok(version->valuestring, ALNUM, ALNUM "._+~-", 64))
		return err_set(e, EINVAL, "%s: version: expected letters, digits, '.', '_', '+', "
					  "'~' or '-' (at most 64, starting with a letter or digit)",
			       file);
	return 0;
}

/* Schema and semantic checks that can be done on one file alone, so errors name it. */
static int check_doc(const cJSON *doc, const char *file, const struct source_handler **ret_base,
		     struct err *e)
{
	const cJSON *base = cJSON_GetObjectItemCaseSensitive(doc, "base"), *f;
	void *cfg = NULL;
	int i = 0, r;

	*ret_base = NULL;
	r = json_check_object(doc, top_fields, file, "", e);
	if (r < 0)
		return r;
	r = check_names(doc, file, e);
	if (r < 0)
		return r;
	if (base) {
		r = source_select(base, file, ret_base, e);
		if (r < 0)
			return r;
	}
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(doc, "files"))
	{
		r = check_file_entry(f, file, i++, e);
		if (r < 0)
			return r;
	}
	if (base) {
		r = (*ret_base)->parse(base, file, &cfg, e);
		if (r == 0)
			(*ret_base)->free(cfg);
	}
	return r;
}

static int merge_into(cJSON *dst, const cJSON *src, struct err *e);

static int merge_value(cJSON *dst, const cJSON *c, struct err *e)
{
	cJSON *old = cJSON_GetObjectItemCaseSensitive(dst, c->string), *copy, *item;

	if (old && strcmp(c->string, "files") == 0 && cJSON_IsArray(old)) {
		cJSON_ArrayForEach(item, c)
		{
			copy = cJSON_Duplicate(item, true);
			if (!copy || !cJSON_AddItemToArray(old, copy))
				return err_set(e, ENOMEM, "out of memory");
		}
		return 0;
	}
	if (old && cJSON_IsObject(old) && cJSON_IsObject(c) && strcmp(c->string, "base") != 0)
		return merge_into(old, c, e);
	copy = cJSON_Duplicate(c, true);
	if (!copy)
		return err_set(e, ENOMEM, "out of memory");
	if (old)
		return cJSON_ReplaceItemInObjectCaseSensitive(dst, c->string, copy)
			       ? 0
			       : err_set(e, ENOMEM, "out of memory");
	return cJSON_AddItemToObject(dst, c->string, copy) ? 0 : err_set(e, ENOMEM, "out of memory");
}

static int merge_into(cJSON *dst, const cJSON *src, struct err *e)
{
	const cJSON *c;
	int r;

	cJSON_ArrayForEach(c, src)
	{
		if (strcmp(c->string, "extends") == 0)
			continue;
		r = merge_value(dst, c, e);
		if (r < 0)
			return r;
	}
	return 0;
}

static int load_doc(const char *file, const char *buf, size_t len, const char *dir, int depth,
		    cJSON **ret, uint8_t *ret_sha, struct err *e);

static int load_parent(cJSON *doc, const char *file, const char *dir, int depth, cJSON **ret,
		       struct err *e)
{
	const cJSON *ext = cJSON_GetObjectItemCaseSensitive(doc, "extends");
	char *path, *pdir = NULL, *bytes = NULL;
	cJSON *parent = NULL;
	size_t len;
	int r;

	if (depth >= PROFILE_MAX_DEPTH)
		return err_set(e, ELOOP, "%s: extends: more than %d levels (a cycle?)", file,
			       PROFILE_MAX_DEPTH);
	path = path_join(dir, ext->valuestring);
	pdir = path ? file_dir(path) : NULL;
	if (!pdir) {
		r = err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	r = file_read_all(path, PROFILE_MAX_BYTES, &bytes, &len, e);
	if (r < 0) {
		err_prefix(e, r, "%s: extends", file);
		goto out;
	}
	r = load_doc(path, bytes, len, pdir, depth + 1, &parent, NULL, e);
	if (r < 0)
		goto out;
	r = merge_into(parent, doc, e);
	if (r < 0)
		goto out;
	*ret = parent;
	parent = NULL;
out:
	cJSON_Delete(parent);
	free(bytes);
	free(pdir);
	free(path);
	return r;
}

static int load_doc(const char *file, const char *buf, size_t len, const char *dir, int depth,
		    cJSON **ret, uint8_t *ret_sha, struct err *e)
{
	const struct source_handler *base;
	cJSON *doc = NULL, *merged = NULL;
	int r;

	r = json_parse_buf(file, buf, len, &doc, e);
	if (r < 0)
		return r;
	if (ret_sha)
		sha256_buf(buf, len, ret_sha);
	r = resolve_paths(doc, dir, NULL, e);
	if (r == 0 && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(doc, "base"))) {
		struct err ignore;
		if (source_select(cJSON_GetObjectItemCaseSensitive(doc, "base"), file, &base,
				  &ignore) == 0)
			r = resolve_paths(doc, dir, base, e);
	}
	if (r == 0)
		r = check_doc(doc, file, &base, e);
	if (r < 0)
		goto out;
	if (cJSON_GetObjectItemCaseSensitive(doc, "extends")) {
		r = load_parent(doc, file, dir, depth, &merged, e);
		if (r < 0)
			goto out;
		cJSON_Delete(doc);
		doc = merged;
	}
	*ret = doc;
	doc = NULL;
out:
	cJSON_Delete(doc);
	return r;
}

static int dup_str(const cJSON *doc, const char *key, const char *def, char **ret, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);
	const char *s = cJSON_IsString(v) ? v->valuestring : def;

	*ret = s ? strdup(s) : NULL;
	if (s && !*ret)
		return err_set(e, ENOMEM, "out of memory");
	return 0;
}

static uint64_t size_value(const cJSON *v)
{
	uint64_t s = 0;

	if (cJSON_IsNumber(v))
		return (uint64_t)v->valuedouble;
	if (cJSON_IsString(v))
		size_parse(v->valuestring, &s);
	return s;
}

static int extract_files(struct profile *p, struct err *e)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(p->doc, "files"), *f;
	int n = cJSON_GetArraySize(arr);

	p->files = calloc(n ? (size_t)n : 1, sizeof(*p->files));
	if (!p->files)
		return err_set(e, ENOMEM, "out of memory");
	cJSON_ArrayForEach(f, arr)
	{
		struct profile_file *pf = &p->files[p->nfiles++];
		const cJSON *v;

		pf->dst = strdup(cJSON_GetObjectItemCaseSensitive(f, "dst")->valuestring);
		if ((v = cJSON_GetObjectItemCaseSensitive(f, "src"))) {
			pf->kind = PF_SRC;
			pf->src = strdup(v->valuestring);
		} else if ((v = cJSON_GetObjectItemCaseSensitive(f, "content"))) {
			pf->kind = PF_CONTENT;
			pf->content = strdup(v->valuestring);
			pf->content_len = strlen(v->valuestring);
		} else if ((v = cJSON_GetObjectItemCaseSensitive(f, "symlink"))) {
			pf->kind = PF_SYMLINK;
			pf->target = strdup(v->valuestring);
		} else {
			pf->kind = PF_DIR;
		}
		if ((v = cJSON_GetObjectItemCaseSensitive(f, "mode"))) {
			pf->has_mode = true;
			mode_parse(v->valuestring, &pf->mode);
		}
		if ((v = cJSON_GetObjectItemCaseSensitive(f, "owner")))
			owner_parse(v->valuestring, &pf->uid, &pf->gid);
		if (!pf->dst || (!pf->src && !pf->content && !pf->target && pf->kind != PF_DIR))
			return err_set(e, ENOMEM, "out of memory");
	}
	return 0;
}

static int extract(struct profile *p, struct err *e)
{
	const cJSON *kernel = cJSON_GetObjectItemCaseSensitive(p->doc, "kernel");
	const cJSON *rootfs = cJSON_GetObjectItemCaseSensitive(p->doc, "rootfs");
	const cJSON *base = cJSON_GetObjectItemCaseSensitive(p->doc, "base"), *m, *h;
	int r;

	if (!cJSON_GetObjectItemCaseSensitive(p->doc, "product"))
		return err_set(e, EINVAL, "%s: product: missing (required)", p->file);
	if (!cJSON_GetObjectItemCaseSensitive(p->doc, "version"))
		return err_set(e, EINVAL, "%s: version: missing (required)", p->file);
	if (!base)
		return err_set(e, EINVAL, "%s: base: missing (required; one of %s)", p->file,
			       source_known());
	r = dup_str(p->doc, "product", NULL, &p->product, e);
	if (r == 0)
		r = dup_str(p->doc, "version", NULL, &p->version, e);
	if (r == 0)
		r = dup_str(p->doc, "arch", "x86_64", &p->arch, e);
	if (r == 0)
		r = dup_str(kernel, "cmdline", "", &p->cmdline, e);
	if (r == 0)
		r = source_select(base, p->file, &p->base, e);
	if (r == 0)
		r = p->base->parse(base, p->file, &p->base_cfg, e);
	if (r < 0)
		return r;
	m = cJSON_GetObjectItemCaseSensitive(kernel, "modules");
	p->modules = calloc((size_t)cJSON_GetArraySize(m) + 1, sizeof(char *));
	if (!p->modules)
		return err_set(e, ENOMEM, "out of memory");
	cJSON_ArrayForEach(h, m)
	{
		p->modules[p->nmodules] = strdup(h->valuestring);
		if (!p->modules[p->nmodules++])
			return err_set(e, ENOMEM, "out of memory");
	}
	p->rootfs_size = size_value(cJSON_GetObjectItemCaseSensitive(rootfs, "size"));
	h = cJSON_GetObjectItemCaseSensitive(p->doc, "rollback_index");
	p->rollback_index = cJSON_IsNumber(h) ? (uint64_t)h->valuedouble : 0;
	h = cJSON_GetObjectItemCaseSensitive(rootfs, "headroom");
	p->headroom_pct = 10;
	if (cJSON_IsString(h) && strchr(h->valuestring, '%'))
		percent_parse(h->valuestring, &p->headroom_pct);
	else if (h)
		p->headroom_bytes = size_value(h), p->headroom_pct = 0;
	return extract_files(p, e);
}

int profile_load_buf(const char *name, const char *buf, size_t len, const char *basedir,
		     struct profile **ret, struct err *e)
{
	struct profile *p = calloc(1, sizeof(*p));
	int r;

	if (!p || !(p->file = strdup(name))) {
		free(p);
		return err_set(e, ENOMEM, "out of memory");
	}
	r = load_doc(name, buf, len, basedir, 0, &p->doc, p->sha256, e);
	if (r == 0)
		r = extract(p, e);
	if (r < 0) {
		profile_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

int profile_load(const char *path, struct profile **ret, struct err *e)
{
	char *bytes = NULL, *dir = NULL;
	size_t len;
	int r;

	r = file_read_all(path, PROFILE_MAX_BYTES, &bytes, &len, e);
	if (r < 0)
		return r;
	dir = file_dir(path);
	if (!dir)
		r = err_set(e, ENOMEM, "out of memory");
	else
		r = profile_load_buf(path, bytes, len, dir, ret, e);
	free(dir);
	free(bytes);
	return r;
}

void profile_free(struct profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nfiles; i++) {
		free(p->files[i].dst);
		free(p->files[i].src);
		free(p->files[i].content);
		free(p->files[i].target);
	}
	free(p->files);
	for (size_t i = 0; i < p->nmodules; i++)
		free(p->modules[i]);
	free(p->modules);
	if (p->base && p->base_cfg)
		p->base->free(p->base_cfg);
	cJSON_Delete(p->doc);
	free(p->file);
	free(p->product);
	free(p->version);
	free(p->arch);
	free(p->cmdline);
	free(p);
}
