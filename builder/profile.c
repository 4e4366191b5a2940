#include "profile.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/contract.h"
#include "lib/input.h"
#include "lib/policy.h"
#include "lib/rollout.h"
#include "lib/updatecfg.h"
#include "fileutil.h"
#include "json.h"
#include "size.h"
#include "tree.h"

static const char *const arches[] = {CONTRACT_ARCH_X86_64, CONTRACT_ARCH_ARM64, NULL};
static const char *const hashes[] = {"sha256", "sha512", "sha1", NULL};
static const char *const outputs[] = {"raw", "qcow2", "vmdk", "vhdx", "bundle", NULL};

static bool all_in(const char *s, const char *set)
{
	return strspn(s, set) == strlen(s);
}

static int check_fail(struct err *e, const char *file, const char *path, const char *what)
{
	return err_set(e, EINVAL, "%s: %s: %s", file, path, what);
}

#define PRINTABLE " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`" \
		  "abcdefghijklmnopqrstuvwxyz{|}~"
#define LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"
#define ALNUM LOWER_DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

/* The boot manager passes the command line to the kernel from a GRUB environment block:
 * one line of printable ASCII without backslashes (GRUB's escape), quotes balanced (the
 * kernel's quoting), and no stele.slot, stele.trial or stele.roothash, which the boot manager
 * and the build set themselves. */
static int check_cmdline(const cJSON *v, const char *file, const char *path, struct err *e)
{
	const char *s = v->valuestring;
	char msg[128];
	size_t quotes = 0;

	if (strlen(s) > PROFILE_CMDLINE_MAX) {
		snprintf(msg, sizeof(msg), "%zu bytes, at most %d fit the boot environment",
			 strlen(s), PROFILE_CMDLINE_MAX);
		return check_fail(e, file, path, msg);
	}
	for (const char *c = s; *c; c++) {
		if (!strchr(PRINTABLE, *c)) {
			snprintf(msg, sizeof(msg), "character 0x%02x at offset %td: only printable "
						   "ASCII on one line", (unsigned char)*c, c - s);
			return check_fail(e, file, path, msg);
		}
		quotes += *c == '"';
	}
	if (quotes % 2)
		return check_fail(e, file, path, "unbalanced double quote");
	for (const char *w = s; *w; w += strcspn(w, " ")) {
		w += strspn(w, " ");
		if (strncmp(w, CONTRACT_CMDLINE_SLOT, strlen(CONTRACT_CMDLINE_SLOT)) == 0 ||
		    strncmp(w, CONTRACT_CMDLINE_TRIAL, strlen(CONTRACT_CMDLINE_TRIAL)) == 0 ||
		    strncmp(w, CONTRACT_CMDLINE_ROOTHASH, strlen(CONTRACT_CMDLINE_ROOTHASH)) == 0)
			return check_fail(e, file, path, "stele.slot, stele.trial and stele.roothash "
							 "are set by the build and the boot manager");
	}
	return 0;
}

static int check_module(const cJSON *v, const char *file, const char *path, struct err *e)
{
	const char *s = v->valuestring;

	if (!*s || strlen(s) > PROFILE_MODULE_NAME_MAX || !all_in(s, ALNUM "_-"))
		return check_fail(e, file, path, "expected a module name (letters, digits, '_' "
						 "or '-', at most 55)");
	return 0;
}

static int check_name(const cJSON *v, const char *file, const char *path, struct err *e)
{
	const char *s = v->valuestring;
	char msg[128];

	snprintf(msg, sizeof(msg), "expected letters, digits, '.', '_' or '-' (at most %zu)",
		 sizeof(((struct policy_check *)0)->name) - 1);
	if (!*s || strlen(s) >= sizeof(((struct policy_check *)0)->name) ||
	    !all_in(s, ALNUM "._-"))
		return check_fail(e, file, path, msg);
	return 0;
}

static int check_exec(const cJSON *v, const char *file, const char *path, struct err *e)
{
	const char *s = v->valuestring;
	char msg[128];

	snprintf(msg, sizeof(msg), "expected an absolute path of printable characters (at most "
				   "%zu)", sizeof(((struct policy_check *)0)->exec) - 1);
	if (s[0] != '/' || strlen(s) >= sizeof(((struct policy_check *)0)->exec) ||
	    !all_in(s, PRINTABLE))
		return check_fail(e, file, path, msg);
	return 0;
}

static int check_unit(const cJSON *v, const char *file, const char *path, struct err *e)
{
	if (!policy_unit_ok(v->valuestring))
		return check_fail(e, file, path, "expected a systemd unit name such as "
						 "\"nginx.service\"");
	return 0;
}

static int check_symlink(const cJSON *v, const char *file, const char *path, struct err *e)
{
	size_t n = strlen(v->valuestring);

	if (n == 0 || n > TREE_SYMLINK_MAX)
		return check_fail(e, file, path, "expected a target of 1 to 4095 bytes");
	return 0;
}

static int check_nonempty(const cJSON *v, const char *file, const char *path, struct err *e)
{
	return *v->valuestring ? 0 : check_fail(e, file, path, "expected a non-empty string");
}

static const struct jfield file_fields[] = {
	{.key = "dst", .kind = J_STRING, .required = true},
	{.key = "src", .kind = J_STRING, .check = check_nonempty},
	{.key = "content", .kind = J_STRING},
	{.key = "symlink", .kind = J_STRING, .check = check_symlink},
	{.key = "dir", .kind = J_BOOL},
	{.key = "mode", .kind = J_MODE},
	{.key = "owner", .kind = J_OWNER},
	{0},
};
static const struct jfield kernel_fields[] = {
	{.key = "modules", .kind = J_ARRAY, .elem = J_STRING, .check = check_module},
	{.key = "cmdline", .kind = J_STRING, .check = check_cmdline},
	{0},
};
static const struct jfield check_fields[] = {
	{.key = "name", .kind = J_STRING, .required = true, .check = check_name},
	{.key = "exec", .kind = J_STRING, .check = check_exec},
	{.key = "unit", .kind = J_STRING, .check = check_unit},
	{.key = "timeout", .kind = J_INT, .min = POLICY_MIN_TIMEOUT, .max = POLICY_MAX_TIMEOUT},
	{0},
};
static const struct jfield health_fields[] = {
	{.key = "checks", .kind = J_ARRAY, .elem = J_OBJECT, .fields = check_fields},
	{.key = "window", .kind = J_INT, .min = POLICY_MIN_WINDOW, .max = POLICY_MAX_WINDOW},
	{.key = "tries", .kind = J_INT, .min = POLICY_MIN_TRIES, .max = POLICY_MAX_TRIES},
	{0},
};
static const struct jfield layout_fields[] = {
	{.key = "esp_size", .kind = J_SIZE, .min = PROFILE_ESP_MIN, .max = PROFILE_ESP_MAX,
	 .align = PROFILE_MIB},
	{.key = "slot_size", .kind = J_SIZE, .min = PROFILE_SLOT_MIN, .max = PROFILE_SLOT_MAX,
	 .align = PROFILE_MIB},
	{.key = "data_size", .kind = J_SIZE, .min = PROFILE_DATA_MIN, .max = PROFILE_DATA_MAX,
	 .align = PROFILE_MIB},
	{.key = "verity_size", .kind = J_SIZE, .min = PROFILE_VERITY_MIN,
	 .max = PROFILE_VERITY_MAX, .align = PROFILE_MIB},
	{0},
};
static const struct jfield verity_fields[] = {
	{.key = "hash", .kind = J_STRING, .choices = hashes},
	{0},
};
static const struct jfield sign_fields[] = {
	{.key = "key", .kind = J_STRING, .check = check_nonempty},
	{.key = "cert", .kind = J_STRING, .check = check_nonempty},
	{.key = "trust", .kind = J_ARRAY, .elem = J_STRING, .check = check_nonempty},
	{0},
};
static int check_allow_path(const cJSON *v, const char *file, const char *path, struct err *e)
{
	size_t n = strlen(v->valuestring);

	if (v->valuestring[0] != '/' || n > TREE_PATH_MAX)
		return check_fail(e, file, path,
				  "expected an absolute path in the image (a pattern such as "
				  "\"/etc/ssl/private/*.key\")");
	return 0;
}
static const struct jfield allow_fields[] = {
	{.key = "path", .kind = J_STRING, .required = true, .check = check_allow_path},
	{.key = "rule", .kind = J_STRING, .required = true, .choices = secret_rule_names},
	{.key = "reason", .kind = J_STRING, .required = true, .check = check_nonempty},
	{0},
};
static const struct jfield secrets_fields[] = {
	{.key = "allow", .kind = J_ARRAY, .elem = J_OBJECT, .fields = allow_fields},
	{0},
};
static const struct jfield rootfs_fields[] = {
	{.key = "size", .kind = J_SIZE, .min = PROFILE_ROOTFS_MIN, .max = PROFILE_ROOTFS_MAX,
	 .align = PROFILE_ROOTFS_ALIGN},
	{.key = "headroom", .kind = J_PERCENT_OR_SIZE, .max = PROFILE_ROOTFS_MAX},
	{0},
};
static int check_url(const cJSON *v, const char *file, const char *path, struct err *e)
{
	const char *s = v->valuestring;

	if ((strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) || strlen(s) >= 512 ||
	    strspn(s, PRINTABLE) != strlen(s) || strchr(s, ' '))
		return check_fail(e, file, path, "expected an http:// or https:// URL");
	return 0;
}
static int check_channel(const cJSON *v, const char *file, const char *path, struct err *e)
{
	return rollout_channel_name_ok(v->valuestring)
		       ? 0
		       : check_fail(e, file, path, "expected a channel name: a-z, 0-9 and -");
}
static int check_duration(const cJSON *v, const char *file, const char *path, struct err *e)
{
	int64_t d;

	if ((cJSON_IsNumber(v) && v->valuedouble >= 10 && v->valuedouble <= 366.0 * 86400 &&
	     v->valuedouble == (double)(int64_t)v->valuedouble) ||
	    (cJSON_IsString(v) && rollout_duration_parse(v->valuestring, &d) == 0 && d >= 10))
		return 0;
	return check_fail(e, file, path, "expected a duration: seconds, or \"90s\", \"10m\", "
					 "\"6h\", \"7d\" (at least 10 s)");
}
static int check_window(const cJSON *v, const char *file, const char *path, struct err *e)
{
	int32_t a, b;

	return updatecfg_parse_window(v->valuestring, &a, &b) == 0
		       ? 0
		       : check_fail(e, file, path, "expected a window such as \"02:00-04:00\" (UTC)");
}
static int check_image_path(const cJSON *v, const char *file, const char *path, struct err *e)
{
	size_t n = strlen(v->valuestring);

	if (v->valuestring[0] != '/' || n >= 256 || strspn(v->valuestring, PRINTABLE) != n)
		return check_fail(e, file, path, "expected an absolute path on the device");
	return 0;
}
static const char *const reboots[] = {"now", "window", "never", NULL};
static const struct jfield update_fields[] = {
	{.key = "url", .kind = J_STRING, .required = true, .check = check_url},
	{.key = "channel", .kind = J_STRING, .required = true, .check = check_channel},
	{.key = "root", .kind = J_STRING, .required = true, .check = check_nonempty},
	{.key = "interval", .kind = J_ANY, .check = check_duration},
	{.key = "window", .kind = J_STRING, .check = check_window},
	{.key = "reboot", .kind = J_STRING, .choices = reboots},
	{.key = "inhibit", .kind = J_STRING, .check = check_image_path},
	{.key = "max_size", .kind = J_SIZE},
	{.key = "max_rate", .kind = J_SIZE},
	{.key = "retries", .kind = J_INT, .min = 0, .max = 100},
	{.key = "timeout", .kind = J_INT, .min = 1, .max = 3600},
	{.key = "ca", .kind = J_STRING, .check = check_image_path},
	{0},
};
static const struct jfield top_fields[] = {
	{.key = "extends", .kind = J_STRING, .check = check_nonempty},
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
	{.key = "secrets", .kind = J_OBJECT, .fields = secrets_fields},
	{.key = "outputs", .kind = J_ARRAY, .elem = J_STRING, .choices = outputs},
	{.key = "rollback_index", .kind = J_INT, .min = 0, .max = 1L << 40},
	{.key = "console_shell", .kind = J_BOOL},
	{.key = "secure_boot", .kind = J_BOOL},
	{.key = "update", .kind = J_OBJECT, .fields = update_fields},
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

	if (!cJSON_IsString(v) || !v->valuestring[0]) /* "" is refused by the schema */
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
		cJSON *v = cJSON_GetObjectItemCaseSensitive(b, *k);

		if (cJSON_IsArray(v))
			cJSON_ArrayForEach(c, v)
			{
				if (r == 0)
					r = resolve_string(c, dir, e);
			}
		else
			r = resolve_string(v, dir, e);
		if (r < 0)
			return r;
	}
	r = resolve_string(cJSON_GetObjectItemCaseSensitive(
				   cJSON_GetObjectItemCaseSensitive(doc, "update"), "root"), dir, e);
	if (r == 0 && sign) {
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
	/* the root is a directory: only a directory (or "dir") may be put there */
	if (norm[0] == '\0' && (src ? !S_ISDIR(st.st_mode)
					   : !cJSON_GetObjectItemCaseSensitive(f, "dir")))
		return err_set(e, EINVAL, "%s: files[%d].dst: \"/\" is the root directory; only a "
					  "directory (src or dir) can go there", file, i);
	return 0;
}

static bool name_ok(const char *s, const char *first, const char *rest, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || !strchr(first, s[0]))
		return false;
	return strspn(s, rest) == n;
}

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

/* An array of strings (or of objects with a string "key") without repeats. */
static int check_unique(const cJSON *arr, const char *key, const char *file, const char *path,
			struct err *e)
{
	const cJSON *a, *b;
	int i = 0;

	cJSON_ArrayForEach(a, arr)
	{
		const cJSON *va = key ? cJSON_GetObjectItemCaseSensitive(a, key) : a;

		for (b = arr->child; b != a; b = b->next) {
			const cJSON *vb = key ? cJSON_GetObjectItemCaseSensitive(b, key) : b;

			if (cJSON_IsString(va) && cJSON_IsString(vb) &&
			    strcmp(va->valuestring, vb->valuestring) == 0)
				return err_set(e, EINVAL, "%s: %s[%d]%s%s: \"%.100s\" given twice",
					       file, path, i, key ? "." : "", key ? key : "",
					       va->valuestring);
		}
		i++;
	}
	return 0;
}

static int check_lists(const cJSON *doc, const char *file, struct err *e)
{
	const cJSON *kernel = cJSON_GetObjectItemCaseSensitive(doc, "kernel");
	const cJSON *health = cJSON_GetObjectItemCaseSensitive(doc, "health");
	const cJSON *checks = cJSON_GetObjectItemCaseSensitive(health, "checks");
	int r;

	if (cJSON_GetArraySize(checks) > POLICY_MAX_CHECKS)
		return err_set(e, EINVAL, "%s: health.checks: more than %d checks", file,
			       POLICY_MAX_CHECKS);
	r = check_unique(checks, "name", file, "health.checks", e);
	for (int i = 0; r == 0 && i < cJSON_GetArraySize(checks); i++) {
		const cJSON *c = cJSON_GetArrayItem(checks, i);
		if (!cJSON_GetObjectItemCaseSensitive(c, "exec") ==
		    !cJSON_GetObjectItemCaseSensitive(c, "unit"))
			r = err_set(e, EINVAL, "%s: health.checks[%d]: expected exactly one of "
					       "\"exec\" (a program) and \"unit\" (a systemd unit "
					       "that must be active)", file, i);
	}
	/* what the device will read of it (lib/policy.h), so both accept the same policies */
	if (r == 0 && health && (r = policy_from_json(health, &(struct policy){0}, e)) < 0)
		err_prefix(e, r, "%s", file);
	if (r == 0)
		r = check_unique(cJSON_GetObjectItemCaseSensitive(kernel, "modules"), NULL, file,
				 "kernel.modules", e);
	if (r == 0)
		r = check_unique(cJSON_GetObjectItemCaseSensitive(doc, "outputs"), NULL, file,
				 "outputs", e);
	return r;
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
	if (r == 0)
		r = check_lists(doc, file, e);
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

static int dup_list(const cJSON *arr, const char *const *def, char ***ret, size_t *ret_n,
		    struct err *e)
{
	size_t n = 0, i = 0;
	const cJSON *c;

	if (arr)
		n = (size_t)cJSON_GetArraySize(arr);
	else
		while (def && def[n])
			n++;
	*ret = calloc(n + 1, sizeof(char *));
	if (!*ret)
		return err_set(e, ENOMEM, "out of memory");
	*ret_n = n;
	if (!arr) {
		for (i = 0; i < n; i++)
			if (!((*ret)[i] = strdup(def[i])))
				return err_set(e, ENOMEM, "out of memory");
		return 0;
	}
	cJSON_ArrayForEach(c, arr)
	{
		if (!((*ret)[i++] = strdup(c->valuestring)))
			return err_set(e, ENOMEM, "out of memory");
	}
	return 0;
}

static unsigned uint_value(const cJSON *obj, const char *key, unsigned def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(v) ? (unsigned)v->valuedouble : def;
}

/* "health", with its defaults: a window of 120 s, 3 tries, no checks. */
static int extract_health(struct profile *p, struct err *e)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(p->doc, "health");
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(h, "checks"), *c;
	struct profile_health *ph = &p->health;
	int r = 0;

	ph->window_s = uint_value(h, "window", 120);
	ph->tries = uint_value(h, "tries", 3);
	ph->checks = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*ph->checks));
	if (!ph->checks)
		return err_set(e, ENOMEM, "out of memory");
	cJSON_ArrayForEach(c, arr)
	{
		struct profile_check *pc = &ph->checks[ph->nchecks++];

		pc->timeout_s = uint_value(c, "timeout", 0);
		if (r == 0)
			r = dup_str(c, "name", NULL, &pc->name, e);
		if (r == 0)
			r = dup_str(c, "exec", NULL, &pc->exec, e);
		if (r == 0)
			r = dup_str(c, "unit", NULL, &pc->unit, e);
	}
	return r;
}

/* "secrets": the allow list (none by default). */
static int extract_secrets(struct profile *p, struct err *e)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(p->doc, "secrets");
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(s, "allow"), *c;
	int r = 0;

	p->secrets_allow = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*p->secrets_allow));
	if (!p->secrets_allow)
		return err_set(e, ENOMEM, "out of memory");
	cJSON_ArrayForEach(c, arr)
	{
		struct secret_allow *a = &p->secrets_allow[p->nsecrets_allow++];
		char *path = NULL, *reason = NULL;

		if (r == 0)
			r = dup_str(c, "path", NULL, &path, e);
		if (r == 0)
			r = dup_str(c, "reason", NULL, &reason, e);
		a->path = path;
		a->reason = reason;
		a->rule = (enum secret_rule)secret_rule_find(
		    cJSON_GetObjectItemCaseSensitive(c, "rule")->valuestring);
	}
	return r;
}

/* "layout": the ESP 64M and data 128M unless given; slot and verity sized from the rootfs
 * when the image is written. */
static void extract_layout(struct profile *p)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(p->doc, "layout");
	struct profile_layout *pl = &p->layout;

	pl->esp_size = cJSON_GetObjectItemCaseSensitive(l, "esp_size")
			       ? size_value(cJSON_GetObjectItemCaseSensitive(l, "esp_size"))
			       : 64 * PROFILE_MIB;
	pl->data_size = cJSON_GetObjectItemCaseSensitive(l, "data_size")
				? size_value(cJSON_GetObjectItemCaseSensitive(l, "data_size"))
				: 128 * PROFILE_MIB;
	pl->slot_size = size_value(cJSON_GetObjectItemCaseSensitive(l, "slot_size"));
	pl->verity_size = size_value(cJSON_GetObjectItemCaseSensitive(l, "verity_size"));
}

/* "sign", "verity", "outputs" (default: raw and bundle), "kernel", "console_shell". */
static int extract_misc(struct profile *p, struct err *e)
{
	static const char *const default_outputs[] = {"raw", "bundle", NULL};
	const cJSON *sign = cJSON_GetObjectItemCaseSensitive(p->doc, "sign");
	const cJSON *verity = cJSON_GetObjectItemCaseSensitive(p->doc, "verity");
	int r;

	p->has_kernel = cJSON_GetObjectItemCaseSensitive(p->doc, "kernel") != NULL;
	p->console_shell = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p->doc, "console_shell"));
	/* on by default for a bootable image (one with a kernel), off only when asked */
	p->secure_boot = cJSON_GetObjectItemCaseSensitive(p->doc, "secure_boot")
				 ? cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p->doc, "secure_boot"))
				 : p->has_kernel;
	r = dup_str(verity, "hash", "sha256", &p->verity_hash, e);
	if (r == 0)
		r = dup_str(sign, "key", NULL, &p->sign.key, e);
	if (r == 0)
		r = dup_str(sign, "cert", NULL, &p->sign.cert, e);
	if (r == 0)
		r = dup_list(cJSON_GetObjectItemCaseSensitive(sign, "trust"), NULL, &p->sign.trust,
			     &p->sign.ntrust, e);
	if (r == 0)
		r = dup_list(cJSON_GetObjectItemCaseSensitive(p->doc, "outputs"), default_outputs,
			     &p->outputs, &p->noutputs, e);
	return r;
}

static bool fixed_size(const cJSON *obj, const char *key, uint64_t *ret)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	*ret = size_value(v);
	return v != NULL;
}

/* sign.key, sign.cert and sign.trust[] name files that exist and are regular files: checked
 * here so that a wrong path is a bad profile (exit 2, the field named), not a failed build. */
static int check_sign_file(const cJSON *v, const struct profile *p, const char *field,
			   struct err *e)
{
	struct err sub;
	int fd, r;

	if (!cJSON_IsString(v))
		return 0;
	r = input_open(v->valuestring, 0, INPUT_REG, "a regular file", &fd, NULL, &sub);
	if (r < 0)
		return err_set(e, -r, "%s: %s: %s", p->file, field, sub.msg);
	close(fd);
	return 0;
}

static int check_sign_files(const cJSON *sign, const struct profile *p, struct err *e)
{
	const cJSON *c;
	char field[32];
	int i = 0, r;

	r = check_sign_file(cJSON_GetObjectItemCaseSensitive(sign, "key"), p, "sign.key", e);
	if (r == 0)
		r = check_sign_file(cJSON_GetObjectItemCaseSensitive(sign, "cert"), p, "sign.cert",
				    e);
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(sign, "trust"))
	{
		snprintf(field, sizeof(field), "sign.trust[%d]", i++);
		if (r == 0)
			r = check_sign_file(c, p, field, e);
	}
	return r;
}

/* Checks between values, on the merged document (a parent may set one, its child the other). */
static int check_merged(const struct profile *p, struct err *e)
{
	const cJSON *layout = cJSON_GetObjectItemCaseSensitive(p->doc, "layout");
	const cJSON *rootfs = cJSON_GetObjectItemCaseSensitive(p->doc, "rootfs");
	const cJSON *sign = cJSON_GetObjectItemCaseSensitive(p->doc, "sign");
	uint64_t size, slot;
	char a[32], b[32];

	if (fixed_size(rootfs, "size", &size) && fixed_size(layout, "slot_size", &slot) &&
	    size > slot)
		return err_set(e, EINVAL, "%s: layout.slot_size: %s cannot hold rootfs.size (%s)",
			       p->file, size_str(slot, a, sizeof(a)),
			       size_str(size, b, sizeof(b)));
	if (!cJSON_GetObjectItemCaseSensitive(sign, "key") !=
	    !cJSON_GetObjectItemCaseSensitive(sign, "cert"))
		return err_set(e, EINVAL, "%s: sign.%s: missing (sign.key and sign.cert go "
					  "together)", p->file,
			       cJSON_GetObjectItemCaseSensitive(sign, "key") ? "cert" : "key");
	return check_sign_files(sign, p, e);
}

/* "update": how the device polls (lib/updatecfg.h), checked here as it will read it. */
static int extract_update(struct profile *p, struct err *e)
{
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(p->doc, "update"), *v;
	struct updatecfg *c;
	int64_t d;

	if (!u)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(e, ENOMEM, "out of memory");
	updatecfg_defaults(c);
	snprintf(c->url, sizeof(c->url), "%s", cJSON_GetObjectItemCaseSensitive(u, "url")->valuestring);
	snprintf(c->channel, sizeof(c->channel), "%s",
		 cJSON_GetObjectItemCaseSensitive(u, "channel")->valuestring);
	if ((v = cJSON_GetObjectItemCaseSensitive(u, "interval")))
		c->interval = cJSON_IsNumber(v) ? (int64_t)v->valuedouble
			      : rollout_duration_parse(v->valuestring, &d) == 0 ? d : c->interval;
	if ((v = cJSON_GetObjectItemCaseSensitive(u, "window")))
		c->has_window = updatecfg_parse_window(v->valuestring, &c->window_start,
						       &c->window_end) == 0;
	if ((v = cJSON_GetObjectItemCaseSensitive(u, "reboot")))
		for (int i = 0; i < 3; i++)
			if (strcmp(v->valuestring, updatecfg_reboot_names[i]) == 0)
				c->reboot = (enum updatecfg_reboot)i;
	if ((v = cJSON_GetObjectItemCaseSensitive(u, "inhibit")))
		snprintf(c->inhibit, sizeof(c->inhibit), "%s", v->valuestring);
	if ((v = cJSON_GetObjectItemCaseSensitive(u, "ca")))
		snprintf(c->ca, sizeof(c->ca), "%s", v->valuestring);
	if ((v = cJSON_GetObjectItemCaseSensitive(u, "max_size")))
		c->max_size = size_value(v);
	if ((v = cJSON_GetObjectItemCaseSensitive(u, "max_rate")))
		c->max_rate = size_value(v);
	if ((v = cJSON_GetObjectItemCaseSensitive(u, "retries")))
		c->retries = v->valueint;
	if ((v = cJSON_GetObjectItemCaseSensitive(u, "timeout")))
		c->timeout = v->valueint;
	p->update_root = strdup(cJSON_GetObjectItemCaseSensitive(u, "root")->valuestring);
	p->update = c;
	return p->update_root ? 0 : err_set(e, ENOMEM, "out of memory");
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
	r = check_merged(p, e);
	if (r == 0)
		r = dup_str(p->doc, "product", NULL, &p->product, e);
	if (r == 0)
		r = dup_str(p->doc, "version", NULL, &p->version, e);
	if (r == 0)
		r = dup_str(p->doc, "arch", CONTRACT_ARCH_DEFAULT, &p->arch, e);
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
	extract_layout(p);
	r = extract_health(p, e);
	if (r == 0)
		r = extract_secrets(p, e);
	if (r == 0)
		r = extract_misc(p, e);
	if (r == 0)
		r = extract_update(p, e);
	return r < 0 ? r : extract_files(p, e);
}

bool profile_wants(const struct profile *p, const char *name)
{
	for (size_t i = 0; i < p->noutputs; i++)
		if (strcmp(p->outputs[i], name) == 0)
			return true;
	return false;
}

cJSON *profile_health_json(const struct profile *p)
{
	const struct profile_health *h = &p->health;
	cJSON *out = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(out, "checks");

	for (size_t i = 0; arr && i < h->nchecks; i++) {
		const struct profile_check *c = &h->checks[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "name", c->name);
		if (c->exec)
			cJSON_AddStringToObject(o, "exec", c->exec);
		if (c->unit)
			cJSON_AddStringToObject(o, "unit", c->unit);
		if (c->timeout_s)
			cJSON_AddNumberToObject(o, "timeout", c->timeout_s);
		if (!cJSON_AddItemToArray(arr, o))
			cJSON_Delete(o);
	}
	cJSON_AddNumberToObject(out, "window", h->window_s);
	cJSON_AddNumberToObject(out, "tries", h->tries);
	return out;
}

char *profile_health_text(const struct profile *p)
{
	cJSON *j = profile_health_json(p);
	char *text = j ? cJSON_Print(j) : NULL;

	cJSON_Delete(j);
	return text;
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
	free(p->update);
	free(p->update_root);
	for (size_t i = 0; i < p->nfiles; i++) {
		free(p->files[i].dst);
		free(p->files[i].src);
		free(p->files[i].content);
		free(p->files[i].target);
	}
	free(p->files);
	for (size_t i = 0; i < p->health.nchecks; i++) {
		free(p->health.checks[i].name);
		free(p->health.checks[i].exec);
		free(p->health.checks[i].unit);
	}
	free(p->health.checks);
	for (size_t i = 0; i < p->nsecrets_allow; i++) {
		free((char *)p->secrets_allow[i].path);
		free((char *)p->secrets_allow[i].reason);
	}
	free(p->secrets_allow);
	for (size_t i = 0; p->outputs && i < p->noutputs; i++)
		free(p->outputs[i]);
	free(p->outputs);
	for (size_t i = 0; p->sign.trust && i < p->sign.ntrust; i++)
		free(p->sign.trust[i]);
	free(p->sign.trust);
	free(p->sign.key);
	free(p->sign.cert);
	free(p->verity_hash);
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
