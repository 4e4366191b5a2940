#include "repo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/keys.h"
#include "lib/bundle.h"
#include "lib/hash.h"
#include "lib/input.h"
#include "lib/io.h"
#include "lib/manifest.h"
#include "lib/rollout.h"

const int64_t repo_default_lifetime[TUF_ROLES] = {365 * 86400, 90 * 86400, 7 * 86400, 86400};

#define REPO_MAX_KEYFILES 64
#define CONFIG_NAME "repo.json"

struct key_file {
	EVP_PKEY *key;
	struct tuf_key pub;
	char path[PATH_MAX];
};

struct repo {
	char dir[PATH_MAX], keys[PATH_MAX];
	int64_t now;
	int64_t lifetime[TUF_ROLES];
	struct key_file kf[REPO_MAX_KEYFILES];
	int nkf;
	struct tuf_root root;
	cJSON *body[TUF_ROLES];  /* the current signed bodies */
	char *text[TUF_ROLES];   /* and their files' text */
	size_t len[TUF_ROLES];
};

/* File names for a role's key: snapshot and timestamp share the online key. */
static const char *key_role_name(enum tuf_role r)
{
	return r == TUF_ROOT ? "root" : r == TUF_TARGETS ? "targets" : "online";
}

static void repo_free(struct repo *r)
{
	for (int i = 0; i < r->nkf; i++)
		EVP_PKEY_free(r->kf[i].key);
	for (int i = 0; i < TUF_ROLES; i++) {
		cJSON_Delete(r->body[i]);
		free(r->text[i]);
	}
	free(r);
}

static int path_join(char *out, size_t n, const char *a, const char *b, struct err *e)
{
	if ((size_t)snprintf(out, n, "%s/%s", a, b) >= n)
		return err_set(e, ENAMETOOLONG, "%s/%s: path too long", a, b);
	return 0;
}

static int repo_new(const struct repo_opts *o, struct repo **ret, struct err *e)
{
	struct repo *r = calloc(1, sizeof(*r));
	int k;

	if (!r)
		return err_set(e, ENOMEM, "out of memory");
	r->now = o->now;
	memcpy(r->lifetime, repo_default_lifetime, sizeof(r->lifetime));
	k = snprintf(r->dir, sizeof(r->dir), "%s", o->dir);
	if (k > 0 && (size_t)k < sizeof(r->dir)) {
		while (k > 1 && r->dir[k - 1] == '/')
			r->dir[--k] = '\0';
		k = o->keys ? snprintf(r->keys, sizeof(r->keys), "%s", o->keys)
			    : snprintf(r->keys, sizeof(r->keys), "%s.keys", r->dir);
	}
	if (k <= 0 || (size_t)k >= sizeof(r->keys)) {
		free(r);
		return err_set(e, ENAMETOOLONG, "%s: path too long", o->dir);
	}
	*ret = r;
	return 0;
}

/* --- keys ---------------------------------------------------------------------------- */

static int add_key(struct repo *r, EVP_PKEY *k, const char *path, struct err *e)
{
	struct key_file *f;
	int rc;

	if (r->nkf == REPO_MAX_KEYFILES)
		return err_set(e, EINVAL, "%s: more than %d keys", r->keys, REPO_MAX_KEYFILES);
	f = &r->kf[r->nkf];
	rc = tuf_key_public(k, &f->pub, e);
	if (rc < 0)
		return err_prefix(e, rc, "%s", path);
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->key = k;
	r->nkf++;
	return 0;
}

static int load_keys(struct repo *r, struct err *e)
{
	DIR *d = opendir(r->keys);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return err_sys(e, errno, "opening the keys %s", r->keys);
	while (rc == 0 && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char path[PATH_MAX];
		EVP_PKEY *k;
		FILE *f;

		if (n < 5 || strcmp(de->d_name + n - 4, ".key") != 0)
			continue;
		rc = path_join(path, sizeof(path), r->keys, de->d_name, e);
		if (rc < 0)
			break;
		f = fopen(path, "re");
		if (!f) {
			rc = err_sys(e, errno, "opening %s", path);
			break;
		}
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		if (!k)
			rc = err_set(e, EINVAL, "%s: not a PEM private key", path);
		else if ((rc = add_key(r, k, path, e)) < 0)
			EVP_PKEY_free(k);
	}
	closedir(d);
	return rc;
}

static struct key_file *key_by_id(struct repo *r, const char *keyid)
{
	for (int i = 0; i < r->nkf; i++)
		if (strcmp(r->kf[i].pub.keyid, keyid) == 0)
			return &r->kf[i];
	return NULL;
}

/* The key files of a role as root names it; fewer than the threshold is an error. */
static int role_signers(struct repo *r, const struct tuf_root *root, enum tuf_role role,
			EVP_PKEY **out, size_t *n, struct err *e)
{
	const struct tuf_role_keys *rk = &root->roles[role];
	int have = 0;

	for (int i = 0; i < rk->n; i++) {
		struct key_file *f = key_by_id(r, rk->keyids[i]);

		if (f) {
			bool dup = false;

			for (size_t j = 0; j < *n; j++)
				dup = dup || out[j] == f->key;
			if (!dup)
				out[(*n)++] = f->key;
			have++;
		}
	}
	if (have < rk->threshold)
		return err_set(e, EPERM, "%s: %d of the %d %s keys root needs are here (%s keys "
					 "kept offline must be brought back)", r->keys, have,
			       rk->threshold, tuf_role_names[role], key_role_name(role));
	return 0;
}

static int new_key(struct repo *r, enum tuf_role role, struct key_file **ret, struct err *e)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	struct tuf_key pub;
	char name[64], path[PATH_MAX];
	int rc;

	if (!k)
		return err_set(e, EIO, "making an Ed25519 key");
	rc = tuf_key_public(k, &pub, e);
	if (rc == 0) {
		snprintf(name, sizeof(name), "%s-%.16s.key", key_role_name(role), pub.keyid);
		rc = path_join(path, sizeof(path), r->keys, name, e);
	}
	if (rc == 0)
		rc = keys_write_key(path, k, e);
	if (rc == 0)
		rc = add_key(r, k, path, e);
	if (rc < 0) {
		EVP_PKEY_free(k);
		return rc;
	}
	*ret = &r->kf[r->nkf - 1];
	return 0;
}

/* --- metadata ------------------------------------------------------------------------ */

/* o[k] = v, replacing what was there; v NULL (out of memory) is -ENOMEM. */
static int set_item(cJSON *o, const char *k, cJSON *v)
{
	if (!v)
		return -ENOMEM;
	if (cJSON_GetObjectItemCaseSensitive(o, k))
		cJSON_ReplaceItemInObjectCaseSensitive(o, k, v);
	else
		cJSON_AddItemToObject(o, k, v);
	return 0;
}

static int set_num(cJSON *o, const char *k, double v)
{
	return set_item(o, k, cJSON_CreateNumber(v));
}

static int set_str(cJSON *o, const char *k, const char *v)
{
	return set_item(o, k, cJSON_CreateString(v));
}

static cJSON *new_body(enum tuf_role role)
{
	cJSON *b = cJSON_CreateObject();

	if (b && (set_str(b, "_type", tuf_role_names[role]) < 0 ||
		  set_str(b, "spec_version", TUF_SPEC_VERSION) < 0 || set_num(b, "version", 0) < 0)) {
		cJSON_Delete(b);
		return NULL;
	}
	return b;
}

static uint64_t body_version(const cJSON *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, "version");

	return cJSON_IsNumber(v) ? (uint64_t)v->valuedouble : 0;
}

static int64_t body_expires(const cJSON *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, "expires");
	int64_t t = 0;

	if (cJSON_IsString(v))
		(void)tuf_time_parse(v->valuestring, &t);
	return t;
}

static int file_name(enum tuf_role role, uint64_t version, char *out, size_t n)
{
	if (role == TUF_TIMESTAMP)
		return snprintf(out, n, "timestamp.json");
	return snprintf(out, n, "%llu.%s.json", (unsigned long long)version, tuf_role_names[role]);
}

/* Signs the role's body as its next version with the given keys and writes its file. */
static int write_signed(struct repo *r, enum tuf_role role, EVP_PKEY **keys, size_t nkeys,
			struct err *e)
{
	cJSON *b = r->body[role];
	uint64_t v = body_version(b) + 1;
	char t[32], name[64], path[PATH_MAX], *text = NULL;
	size_t len;
	int rc;

	tuf_time_format(r->now + r->lifetime[role], t);
	if (set_num(b, "version", (double)v) < 0 || set_str(b, "expires", t) < 0)
		return err_set(e, ENOMEM, "out of memory");
	rc = tuf_doc_sign(b, keys, nkeys, &text, &len, e);
	if (rc < 0)
		return err_prefix(e, rc, "signing %s", tuf_role_names[role]);
	file_name(role, v, name, sizeof(name));
	rc = path_join(path, sizeof(path), r->dir, name, e);
	if (rc == 0)
		rc = io_write_atomic(path, text, len, 0644, e);
	if (rc == 0 && role == TUF_ROOT && (rc = path_join(path, sizeof(path), r->dir,
							   "root.json", e)) == 0)
		rc = io_write_atomic(path, text, len, 0644, e);
	if (rc < 0) {
		free(text);
		return rc;
	}
	free(r->text[role]);
	r->text[role] = text;
	r->len[role] = len;
	return 0;
}

static int write_role(struct repo *r, enum tuf_role role, struct err *e)
{
	EVP_PKEY *keys[TUF_MAX_ROLE_KEYS];
	size_t n = 0;
	int rc = role_signers(r, &r->root, role, keys, &n, e);

	return rc < 0 ? rc : write_signed(r, role, keys, n, e);
}

/* {"version": V, "length": L, "hashes": {"sha256": H}} of a role's current file. */
static cJSON *meta_of(const struct repo *r, enum tuf_role role)
{
	char hex[SHA256_HEX_LEN];
	uint8_t d[SHA256_LEN];
	cJSON *m = cJSON_CreateObject(), *h = cJSON_CreateObject();

	sha256_buf(r->text[role], r->len[role], d);
	hex_encode(d, sizeof(d), hex);
	if (!m || !h || set_num(m, "version", (double)body_version(r->body[role])) < 0 ||
	    set_num(m, "length", (double)r->len[role]) < 0 || set_str(h, "sha256", hex) < 0) {
		cJSON_Delete(m);
		cJSON_Delete(h);
		return NULL;
	}
	cJSON_AddItemToObject(m, "hashes", h);
	return m;
}

/* snapshot over the current targets, then timestamp over that snapshot. */
static int write_snapshot_timestamp(struct repo *r, struct err *e)
{
	cJSON *meta = cJSON_CreateObject();
	int rc;

	if (!meta || set_item(meta, "targets.json", meta_of(r, TUF_TARGETS)) < 0 ||
	    set_item(r->body[TUF_SNAPSHOT], "meta", meta) < 0)
		return err_set(e, ENOMEM, "out of memory");
	rc = write_role(r, TUF_SNAPSHOT, e);
	if (rc < 0)
		return rc;
	meta = cJSON_CreateObject();
	if (!meta || set_item(meta, "snapshot.json", meta_of(r, TUF_SNAPSHOT)) < 0 ||
	    set_item(r->body[TUF_TIMESTAMP], "meta", meta) < 0)
		return err_set(e, ENOMEM, "out of memory");
	return write_role(r, TUF_TIMESTAMP, e);
}

static int publish_targets(struct repo *r, struct err *e)
{
	int rc = write_role(r, TUF_TARGETS, e);

	return rc < 0 ? rc : write_snapshot_timestamp(r, e);
}

/* --- loading ------------------------------------------------------------------------- */

static int load_config(struct repo *r, struct err *e)
{
	char path[PATH_MAX], *buf;
	const cJSON *l;
	cJSON *doc;
	int rc = path_join(path, sizeof(path), r->keys, CONFIG_NAME, e);

	if (rc == 0)
		rc = io_read_alloc(path, 64 << 10, &buf, NULL, e);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	doc = input_json(buf, strlen(buf));
	free(buf);
	l = cJSON_GetObjectItemCaseSensitive(doc, "lifetimes");
	for (int i = 0; i < TUF_ROLES && doc; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(l, tuf_role_names[i]);

		if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble < 1e10)
			r->lifetime[i] = (int64_t)v->valuedouble;
	}
	cJSON_Delete(doc);
	return doc ? 0 : err_set(e, EINVAL, "%s: not JSON", path);
}

static int load_role(struct repo *r, enum tuf_role role, uint64_t version, struct err *e)
{
	char name[64], path[PATH_MAX], *buf;
	struct tuf_doc d;
	size_t len;
	int rc;

	if (role == TUF_ROOT)
		snprintf(name, sizeof(name), "root.json");
	else
		file_name(role, version, name, sizeof(name));
	rc = path_join(path, sizeof(path), r->dir, name, e);
	if (rc == 0)
		rc = io_read_alloc(path, TUF_TARGETS_MAX, &buf, &len, e);
	if (rc == -ENOENT)
		return err_set(e, ENOENT, "%s: missing (is %s a repository? `stele repo init` makes "
					  "one)", path, r->dir);
	if (rc < 0)
		return rc;
	rc = tuf_doc_parse(path, buf, len, role, &d, e);
	if (rc == 0 && role == TUF_ROOT)
		rc = tuf_root_parse(&d, &r->root, e);
	if (rc == 0)
		rc = tuf_verify(&r->root, role, &d, path, e);
	if (rc == 0 && version && d.version != version)
		rc = err_set(e, EINVAL, "%s: holds version %llu", path,
			     (unsigned long long)d.version);
	if (rc == 0 && !(r->body[role] = cJSON_Duplicate(d.body, 1)))
		rc = err_set(e, ENOMEM, "out of memory");
	if (rc == 0) {
		r->text[role] = buf;
		r->len[role] = len;
	} else
		free(buf);
	tuf_doc_free(&d);
	return rc;
}

static uint64_t meta_version(const cJSON *body, const char *file)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(body, "meta"), file);

	return body_version(m);
}

static int repo_load(const struct repo_opts *o, bool need_keys, struct repo **ret,
		     struct err *e)
{
	struct repo *r;
	int rc = repo_new(o, &r, e);

	if (rc < 0)
		return rc;
	rc = load_config(r, e);
	if (rc == 0)
		rc = load_role(r, TUF_ROOT, 0, e);
	if (rc == 0)
		rc = load_role(r, TUF_TIMESTAMP, 0, e);
	if (rc == 0)
		rc = load_role(r, TUF_SNAPSHOT, meta_version(r->body[TUF_TIMESTAMP], "snapshot.json"),
			       e);
	if (rc == 0)
		rc = load_role(r, TUF_TARGETS, meta_version(r->body[TUF_SNAPSHOT], "targets.json"), e);
	if (rc == 0 && need_keys)
		rc = load_keys(r, e);
	if (rc < 0) {
		repo_free(r);
		return rc;
	}
	*ret = r;
	return 0;
}

/* --- init ---------------------------------------------------------------------------- */

static int write_config(struct repo *r, struct err *e)
{
	cJSON *doc = cJSON_CreateObject(), *l = cJSON_CreateObject();
	char path[PATH_MAX], *s = NULL;
	int rc = 0;

	for (int i = 0; i < TUF_ROLES && l; i++)
		if (set_num(l, tuf_role_names[i], (double)r->lifetime[i]) < 0)
			rc = -ENOMEM;
	if (!doc || !l || rc < 0) {
		cJSON_Delete(doc);
		cJSON_Delete(l);
		return err_set(e, ENOMEM, "out of memory");
	}
	cJSON_AddItemToObject(doc, "lifetimes", l);
	s = cJSON_Print(doc);
	cJSON_Delete(doc);
	rc = s ? path_join(path, sizeof(path), r->keys, CONFIG_NAME, e)
	       : err_set(e, ENOMEM, "out of memory");
	if (rc == 0)
		rc = io_write_atomic(path, s, strlen(s), 0644, e);
	free(s);
	return rc;
}

/* root's "keys" and "roles" from the key files assigned to each role. */
static int root_roles(struct repo *r, struct key_file *const *byrole[TUF_ROLES],
		      const int n[TUF_ROLES], const int threshold[TUF_ROLES], struct err *e)
{
	cJSON *keys = cJSON_CreateObject(), *roles = cJSON_CreateObject();

	for (int role = 0; role < TUF_ROLES && keys && roles; role++) {
		cJSON *o = cJSON_CreateObject(), *ids = cJSON_CreateArray();

		if (!o || !ids) {
			cJSON_Delete(o);
			cJSON_Delete(ids);
			break;
		}
		for (int i = 0; i < n[role]; i++) {
			const struct key_file *f = byrole[role][i];

			cJSON_AddItemToArray(ids, cJSON_CreateString(f->pub.keyid));
			if (!cJSON_GetObjectItemCaseSensitive(keys, f->pub.keyid))
				cJSON_AddItemToObject(keys, f->pub.keyid, tuf_key_json(f->pub.pub));
		}
		cJSON_AddItemToObject(o, "keyids", ids);
		set_num(o, "threshold", threshold[role]);
		cJSON_AddItemToObject(roles, tuf_role_names[role], o);
	}
	if (!keys || !roles || set_item(r->body[TUF_ROOT], "keys", keys) < 0 ||
	    set_item(r->body[TUF_ROOT], "roles", roles) < 0) {
		cJSON_Delete(roles);
		return err_set(e, ENOMEM, "out of memory");
	}
	return 0;
}

/* Parses r->body[TUF_ROOT] into r->root (as a client would, without signatures). */
static int reparse_root(struct repo *r, struct err *e)
{
	struct tuf_doc d = {.role = TUF_ROOT, .body = r->body[TUF_ROOT]};

	d.version = body_version(d.body);
	d.expires = body_expires(d.body);
	return tuf_root_parse(&d, &r->root, e);
}

static int check_absent(const char *path, struct err *e)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return err_set(e, EEXIST, "%s: already exists (a repository is made once)", path);
	return 0;
}

int repo_init(const struct repo_opts *o, const struct repo_init_opts *io, struct err *e)
{
	struct key_file *root[TUF_MAX_ROLE_KEYS], *tk = NULL, *ok = NULL;
	struct key_file *const *byrole[TUF_ROLES] = {root, &tk, &ok, &ok};
	int n[TUF_ROLES] = {io->root_keys, 1, 1, 1};
	int th[TUF_ROLES] = {io->root_threshold, 1, 1, 1};
	char path[PATH_MAX];
	struct repo *r;
	int rc;

	if (io->root_keys < 1 || io->root_keys > TUF_MAX_ROLE_KEYS || io->root_threshold < 1 ||
	    io->root_threshold > io->root_keys)
		return err_set(e, EINVAL, "root keys: %d with a threshold of %d (1..%d keys, "
					  "threshold 1..keys)", io->root_keys, io->root_threshold,
			       TUF_MAX_ROLE_KEYS);
	rc = repo_new(o, &r, e);
	if (rc < 0)
		return rc;
	memcpy(r->lifetime, io->lifetime, sizeof(r->lifetime));
	rc = path_join(path, sizeof(path), r->dir, "root.json", e);
	if (rc == 0)
		rc = check_absent(path, e);
	if (rc == 0)
		rc = check_absent(r->keys, e);
	if (rc == 0 && mkdir(r->dir, 0755) < 0 && errno != EEXIST)
		rc = err_sys(e, errno, "making %s", r->dir);
	if (rc == 0 && (rc = path_join(path, sizeof(path), r->dir, "targets", e)) == 0 &&
	    mkdir(path, 0755) < 0 && errno != EEXIST)
		rc = err_sys(e, errno, "making %s", path);
	if (rc == 0 && mkdir(r->keys, 0700) < 0)
		rc = err_sys(e, errno, "making %s", r->keys);
	for (int i = 0; i < io->root_keys && rc == 0; i++)
		rc = new_key(r, TUF_ROOT, &root[i], e);
	if (rc == 0)
		rc = new_key(r, TUF_TARGETS, &tk, e);
	if (rc == 0)
		rc = new_key(r, TUF_SNAPSHOT, &ok, e);
	if (rc == 0)
		rc = write_config(r, e);
	for (int i = 0; i < TUF_ROLES && rc == 0; i++)
		if (!(r->body[i] = new_body((enum tuf_role)i)))
			rc = err_set(e, ENOMEM, "out of memory");
	if (rc == 0 && (!cJSON_AddTrueToObject(r->body[TUF_ROOT], "consistent_snapshot") ||
			!cJSON_AddObjectToObject(r->body[TUF_TARGETS], "targets")))
		rc = err_set(e, ENOMEM, "out of memory");
	if (rc == 0)
		rc = root_roles(r, byrole, n, th, e);
	if (rc == 0)
		rc = set_num(r->body[TUF_ROOT], "version", 1) < 0 ? -ENOMEM : 0;
	if (rc == 0)
		rc = reparse_root(r, e);
	if (rc == 0)
		rc = set_num(r->body[TUF_ROOT], "version", 0) < 0 ? -ENOMEM : 0;
	if (rc == 0)
		rc = write_role(r, TUF_ROOT, e);
	if (rc == 0)
		rc = publish_targets(r, e);
	repo_free(r);
	return rc;
}

/* --- publish ------------------------------------------------------------------------- */

struct bundle_info {
	const char *path;
	struct manifest m;
	uint64_t size;
	char name[TUF_NAME_MAX + 1];
	char stored[PATH_MAX]; /* the file this publish created under targets/, or "" */
};

static int read_bundle(const char *path, struct bundle_info *b, struct err *e)
{
	uint8_t hdr[BUNDLE_HEADER_SIZE];
	struct bundle_header h;
	struct stat st;
	char *text = NULL;
	int fd, rc;

	b->path = path;
	rc = input_open(path, O_RDONLY, INPUT_REG, "a bundle file", &fd, NULL, e);
	if (rc < 0)
		return rc;
	if (fstat(fd, &st) < 0)
		rc = err_sys(e, errno, "%s", path);
	if (rc == 0)
		rc = io_pread_full(fd, hdr, sizeof(hdr), 0, path, e);
	if (rc == 0 && (rc = bundle_header_decode(hdr, sizeof(hdr), BUNDLE_INPUT_FILE,
						  (uint64_t)st.st_size, &h, e)) < 0)
		rc = err_prefix(e, rc, "%s", path);
	if (rc == 0 && !(text = calloc(1, h.manifest_size + 1)))
		rc = err_set(e, ENOMEM, "out of memory");
	if (rc == 0)
		rc = io_pread_full(fd, text, h.manifest_size, h.manifest_offset, path, e);
	if (rc == 0 && (rc = manifest_parse(text, h.manifest_size, &b->m, e)) < 0)
		rc = err_prefix(e, rc, "%s", path);
	close(fd);
	free(text);
	if (rc < 0)
		return rc;
	b->size = (uint64_t)st.st_size;
	if ((size_t)snprintf(b->name, sizeof(b->name), "%s-%s.bundle", b->m.product,
			     b->m.version) >= sizeof(b->name) ||
	    b->name[0] == '.' ||
	    strspn(b->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+~-") !=
		    strlen(b->name))
		return err_set(e, EINVAL, "%s: product \"%s\" and version \"%s\" do not make a "
					  "plain file name", path, b->m.product, b->m.version);
	return 0;
}

/* Copies the bundle to targets/<sha256>.<name> (once: the name holds the hash). ret_path
 * gets that path when this call created it ("" when it was there already), so that a
 * publish refused later can take it back. */
static int store_bundle(struct repo *r, const struct bundle_info *b, uint8_t ret[SHA256_LEN],
			char ret_path[PATH_MAX], struct err *e)
{
	char tmp[PATH_MAX], path[PATH_MAX], hex[SHA256_HEX_LEN], *buf = malloc(1 << 20);
	bool created = false;
	struct sha256_ctx *c = sha256_new();
	int in = -1, out = -1, rc = 0;
	uint64_t off = 0;

	if (!buf || !c)
		rc = err_set(e, ENOMEM, "out of memory");
	if (rc == 0 && (size_t)snprintf(tmp, sizeof(tmp), "%s/targets/.%s.tmp", r->dir, b->name) >=
			       sizeof(tmp))
		rc = err_set(e, ENAMETOOLONG, "%s: path too long", r->dir);
	if (rc == 0)
		rc = input_open(b->path, O_RDONLY, INPUT_REG, "a bundle file", &in, NULL, e);
	if (rc == 0) {
		unlink(tmp);
		out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (out < 0)
			rc = err_sys(e, errno, "creating %s", tmp);
	}
	while (rc == 0 && off < b->size) {
		size_t n = b->size - off < (1 << 20) ? (size_t)(b->size - off) : (1 << 20);

		rc = io_pread_full(in, buf, n, off, b->path, e);
		if (rc == 0)
			rc = io_pwrite_full(out, buf, n, off, tmp, e);
		sha256_update(c, buf, n);
		off += n;
	}
	if (rc == 0 && fsync(out) < 0)
		rc = err_sys(e, errno, "syncing %s", tmp);
	if (c) {
		sha256_final(c, ret);
		c = NULL;
	}
	hex_encode(ret, SHA256_LEN, hex);
	if (rc == 0 && (size_t)snprintf(path, sizeof(path), "%s/targets/%s.%s", r->dir, hex,
					b->name) >= sizeof(path))
		rc = err_set(e, ENAMETOOLONG, "%s: path too long", r->dir);
	if (rc == 0)
		created = access(path, F_OK) != 0;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = err_sys(e, errno, "renaming %s", tmp);
	snprintf(ret_path, PATH_MAX, "%s", rc == 0 && created ? path : "");
	if (rc < 0 && out >= 0)
		unlink(tmp);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	sha256_free(c);
	free(buf);
	return rc;
}

static int parse_waves(const char *spec, int64_t now, cJSON **ret, struct err *e)
{
	cJSON *w = cJSON_CreateArray();
	char buf[1024], *save = NULL;
	int64_t last_at = INT64_MIN;
	int last_pct = -1, count = 0;

	if (!w)
		return err_set(e, ENOMEM, "out of memory");
	if ((size_t)snprintf(buf, sizeof(buf), "%s", spec ? spec : "100@0") >= sizeof(buf)) {
		cJSON_Delete(w);
		return err_set(e, EINVAL, "--waves: too long");
	}
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *at = strchr(tok, '@'), *end, t[32];
		long pct = strtol(tok, &end, 10);
		int64_t when = 0;
		cJSON *o;

		if (!at || end != at || pct < 1 || pct > 100 || ++count > ROLLOUT_MAX_WAVES ||
		    (strcmp(at + 1, "0") != 0 && tuf_time_parse(at + 1, &when) < 0 &&
		     rollout_duration_parse(at + 1, &when) < 0)) {
			cJSON_Delete(w);
			return err_set(e, EINVAL, "--waves: \"%s\": expected PERCENT@OFFSET (\"10@0\", "
						  "\"50@6h\") or PERCENT@TIME, at most %d", tok,
				       ROLLOUT_MAX_WAVES);
		}
		if (!strchr(at + 1, 'T'))
			when += now;
		if (when < last_at || pct <= last_pct) {
			cJSON_Delete(w);
			return err_set(e, EINVAL, "--waves: \"%s\": each wave must come later and reach "
						  "further than the one before", tok);
		}
		last_at = when;
		last_pct = (int)pct;
		tuf_time_format(when, t);
		o = cJSON_CreateObject();
		if (!o || set_str(o, "at", t) < 0 || set_num(o, "percent", (double)pct) < 0) {
			cJSON_Delete(o);
			cJSON_Delete(w);
			return err_set(e, ENOMEM, "out of memory");
		}
		cJSON_AddItemToArray(w, o);
	}
	if (count == 0) {
		cJSON_Delete(w);
		return err_set(e, EINVAL, "--waves: empty");
	}
	*ret = w;
	return 0;
}

static cJSON *targets_map(struct repo *r)
{
	return cJSON_GetObjectItemCaseSensitive(r->body[TUF_TARGETS], "targets");
}

static cJSON *channel_of(cJSON *target, const char *channel)
{
	cJSON *s = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(target, "custom"), "stele");

	return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "channels"),
						channel);
}

static bool channel_paused(struct repo *r, const char *channel)
{
	for (cJSON *t = targets_map(r)->child; t; t = t->next)
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(channel_of(t, channel), "paused")))
			return true;
	return false;
}

static int add_target(struct repo *r, const struct bundle_info *b,
		      const uint8_t sha[SHA256_LEN], const struct repo_publish_opts *p,
		      struct err *e)
{
	cJSON *targets = targets_map(r), *t = cJSON_GetObjectItemCaseSensitive(targets, b->name);
	cJSON *h, *custom, *s, *chs, *ch, *waves = NULL;
	char hex[SHA256_HEX_LEN], now[32];
	int rc;

	hex_encode(sha, SHA256_LEN, hex);
	if (t) {
		const cJSON *old = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(t, "hashes"), "sha256");

		if (!cJSON_IsString(old) || strcmp(old->valuestring, hex) != 0)
			return err_set(e, EEXIST, "%s: %s is already published with other bytes "
						  "(a release is immutable: give it a new version)",
				       b->path, b->name);
		if (channel_of(t, p->channel))
			return err_set(e, EEXIST, "%s: %s is already in channel %s", b->path, b->name,
				       p->channel);
	}
	rc = parse_waves(p->waves, r->now, &waves, e);
	if (rc < 0)
		return rc;
	if (!t) {
		t = cJSON_CreateObject();
		h = cJSON_CreateObject();
		custom = cJSON_CreateObject();
		s = cJSON_CreateObject();
		if (!t || !h || !custom || !s || set_num(t, "length", (double)b->size) < 0 ||
		    set_str(h, "sha256", hex) < 0 || set_str(s, "product", b->m.product) < 0 ||
		    set_str(s, "arch", b->m.arch) < 0 || set_str(s, "version", b->m.version) < 0 ||
		    set_num(s, "rollback_index", (double)b->m.rollback_index) < 0 ||
		    set_str(s, "root_hash", b->m.verity.root_hash) < 0 ||
		    !cJSON_AddObjectToObject(s, "channels")) {
			cJSON_Delete(t);
			cJSON_Delete(h);
			cJSON_Delete(custom);
			cJSON_Delete(s);
			cJSON_Delete(waves);
			return err_set(e, ENOMEM, "out of memory");
		}
		cJSON_AddItemToObject(t, "hashes", h);
		cJSON_AddItemToObject(custom, "stele", s);
		cJSON_AddItemToObject(t, "custom", custom);
		cJSON_AddItemToObject(targets, b->name, t);
	}
	chs = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t, "custom"),
						 "stele"),
		"channels");
	ch = cJSON_CreateObject();
	tuf_time_format(r->now, now);
	if (!ch || set_str(ch, "published", now) < 0 || set_item(ch, "waves", waves) < 0 ||
	    !cJSON_AddBoolToObject(ch, "paused", channel_paused(r, p->channel)) ||
	    !cJSON_AddFalseToObject(ch, "revoked") ||
	    (p->min_from && set_str(ch, "min_from", p->min_from) < 0)) {
		cJSON_Delete(ch);
		return err_set(e, ENOMEM, "out of memory");
	}
	cJSON_AddItemToObject(chs, p->channel, ch);
	return 0;
}

int repo_publish(const struct repo_opts *o, const struct repo_publish_opts *p,
		 const char *const *bundles, int n, struct err *e)
{
	struct bundle_info *info = calloc((size_t)(n > 0 ? n : 1), sizeof(*info));
	struct repo *r = NULL;
	int rc = 0;

	if (!info)
		return err_set(e, ENOMEM, "out of memory");
	if (!rollout_channel_name_ok(p->channel))
		rc = err_set(e, EINVAL, "--channel \"%s\": expected [a-z0-9-], 1..%d characters",
			     p->channel, ROLLOUT_CHANNEL_MAX);
	if (rc == 0 && p->min_from && (!p->min_from[0] || strlen(p->min_from) > 64))
		rc = err_set(e, EINVAL, "--min-from: expected a version");
	/* every bundle and the repository checked before a byte is written */
	for (int i = 0; i < n && rc == 0; i++)
		rc = read_bundle(bundles[i], &info[i], e);
	for (int i = 0; i < n && rc == 0; i++)
		for (int j = 0; j < i && rc == 0; j++)
			if (strcmp(info[i].name, info[j].name) == 0)
				rc = err_set(e, EINVAL, "%s and %s are both %s", bundles[j],
					     bundles[i], info[i].name);
	if (rc == 0)
		rc = repo_load(o, true, &r, e);
	if (rc == 0) {
		cJSON *probe = NULL;

		rc = parse_waves(p->waves, r->now, &probe, e);
		cJSON_Delete(probe);
	}
	for (int i = 0; i < n && rc == 0; i++) {
		uint8_t sha[SHA256_LEN];

		rc = store_bundle(r, &info[i], sha, info[i].stored, e);
		if (rc == 0)
			rc = add_target(r, &info[i], sha, p, e);
	}
	if (rc == 0)
		rc = publish_targets(r, e);
	/* refused: the bundle files this publish added go again (no metadata names them) */
	for (int i = 0; i < n && rc < 0; i++)
		if (info[i].stored[0])
			unlink(info[i].stored);
	if (r)
		repo_free(r);
	free(info);
	return rc;
}

int repo_channel_set(const struct repo_opts *o, const char *channel, enum repo_channel_op op,
		     const char *version, struct err *e)
{
	struct repo *r;
	int found = 0, rc;

	if (!rollout_channel_name_ok(channel))
		return err_set(e, EINVAL, "--channel \"%s\": expected [a-z0-9-], 1..%d characters",
			       channel, ROLLOUT_CHANNEL_MAX);
	rc = repo_load(o, true, &r, e);
	if (rc < 0)
		return rc;
	for (cJSON *t = targets_map(r)->child; t; t = t->next) {
		cJSON *ch = channel_of(t, channel);
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t, "custom"),
							 "stele"),
			"version");

		if (!cJSON_IsObject(ch))
			continue;
		if (op == REPO_REVOKE && (!cJSON_IsString(v) || strcmp(v->valuestring, version) != 0))
			continue;
		found++;
		if (set_item(ch, op == REPO_REVOKE ? "revoked" : "paused",
			     cJSON_CreateBool(op != REPO_RESUME)) < 0)
			rc = err_set(e, ENOMEM, "out of memory");
	}
	if (rc == 0 && !found)
		rc = op == REPO_REVOKE
			     ? err_set(e, ENOENT, "channel %s has no release %s", channel, version)
			     : err_set(e, ENOENT, "channel %s has no releases", channel);
	if (rc == 0)
		rc = publish_targets(r, e);
	repo_free(r);
	return rc;
}

static bool due(const struct repo *r, enum tuf_role role)
{
	return body_expires(r->body[role]) - r->now < r->lifetime[role] / 2;
}

int repo_refresh(const struct repo_opts *o, bool force, bool *ret_done, struct err *e)
{
	struct repo *r;
	int rc = repo_load(o, true, &r, e);

	if (rc < 0)
		return rc;
	*ret_done = force || due(r, TUF_SNAPSHOT) || due(r, TUF_TIMESTAMP);
	if (*ret_done)
		rc = write_snapshot_timestamp(r, e);
	repo_free(r);
	return rc;
}

/* --- rotation ------------------------------------------------------------------------ */

static int retire(struct repo *r, const char *keyid, struct err *e)
{
	struct key_file *f = key_by_id(r, keyid);
	char dir[PATH_MAX], to[PATH_MAX];
	const char *base;
	int rc;

	if (!f)
		return 0;
	base = strrchr(f->path, '/') ? strrchr(f->path, '/') + 1 : f->path;
	rc = path_join(dir, sizeof(dir), r->keys, "retired", e);
	if (rc == 0 && mkdir(dir, 0700) < 0 && errno != EEXIST)
		rc = err_sys(e, errno, "making %s", dir);
	if (rc == 0)
		rc = path_join(to, sizeof(to), dir, base, e);
	if (rc == 0 && rename(f->path, to) < 0)
		rc = err_sys(e, errno, "moving %s to %s", f->path, dir);
	return rc;
}

int repo_rotate(const struct repo_opts *o, enum tuf_role role, struct err *e)
{
	enum tuf_role roles[2] = {role, role};
	struct tuf_root *old = malloc(sizeof(*old));
	EVP_PKEY *signers[2 * TUF_MAX_ROLE_KEYS];
	struct key_file *fresh[TUF_MAX_ROLE_KEYS];
	cJSON *rj, *keys;
	struct repo *r = NULL;
	size_t ns = 0;
	int nnew, rc;

	if (!old)
		return err_set(e, ENOMEM, "out of memory");
	rc = repo_load(o, true, &r, e);
	if (rc < 0) {
		free(old);
		return rc;
	}
	*old = r->root;
	if (role == TUF_SNAPSHOT || role == TUF_TIMESTAMP) {
		roles[0] = TUF_SNAPSHOT;
		roles[1] = TUF_TIMESTAMP;
	}
	nnew = old->roles[role].n;
	/* the old root signs the new one, whatever is rotated */
	rc = role_signers(r, old, TUF_ROOT, signers, &ns, e);
	for (int i = 0; i < nnew && rc == 0; i++)
		rc = new_key(r, role, &fresh[i], e);
	rj = r->body[TUF_ROOT];
	keys = cJSON_GetObjectItemCaseSensitive(rj, "keys");
	for (int k = 0; k < 2 && rc == 0; k++) {
		cJSON *ids = cJSON_CreateArray();

		if (!ids) {
			rc = err_set(e, ENOMEM, "out of memory");
			break;
		}
		for (int i = 0; i < nnew; i++) {
			cJSON_AddItemToArray(ids, cJSON_CreateString(fresh[i]->pub.keyid));
			if (!cJSON_GetObjectItemCaseSensitive(keys, fresh[i]->pub.keyid))
				cJSON_AddItemToObject(keys, fresh[i]->pub.keyid,
						      tuf_key_json(fresh[i]->pub.pub));
		}
		cJSON_ReplaceItemInObjectCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rj, "roles"),
							 tuf_role_names[roles[k]]),
			"keyids", ids);
	}
	/* keys no role names any more leave the root */
	for (int i = 0; i < old->roles[role].n && rc == 0; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(keys, old->roles[role].keyids[i]);
	if (rc == 0)
		rc = reparse_root(r, e);
	/* the new root signs itself too: for root, with the new keys */
	if (rc == 0 && role == TUF_ROOT)
		for (int i = 0; i < nnew; i++)
			signers[ns++] = fresh[i]->key;
	if (rc == 0)
		rc = write_signed(r, TUF_ROOT, signers, ns, e);
	if (rc == 0 && role == TUF_TARGETS)
		rc = publish_targets(r, e);
	else if (rc == 0 && role != TUF_ROOT)
		rc = write_snapshot_timestamp(r, e);
	for (int i = 0; i < old->roles[role].n && rc == 0; i++)
		rc = retire(r, old->roles[role].keyids[i], e);
	repo_free(r);
	free(old);
	return rc;
}

/* --- status -------------------------------------------------------------------------- */

static cJSON *release_status(const struct rollout_release *rel, int64_t now)
{
	cJSON *o = cJSON_CreateObject(), *next = NULL;
	char t[32];

	if (!o)
		return NULL;
	set_str(o, "version", rel->version);
	set_num(o, "rollback_index", (double)rel->rollback_index);
	set_str(o, "target", rel->target->name);
	set_num(o, "length", (double)rel->target->length);
	tuf_time_format(rel->published, t);
	set_str(o, "published", t);
	set_num(o, "percent_now", rollout_percent_at(rel, now));
	for (int i = 0; i < rel->nwaves && !next; i++)
		if (rel->waves[i].at > now) {
			next = cJSON_CreateObject();
			tuf_time_format(rel->waves[i].at, t);
			if (next) {
				set_str(next, "at", t);
				set_num(next, "percent", rel->waves[i].percent);
			}
		}
	cJSON_AddItemToObject(o, "next_wave", next ? next : cJSON_CreateNull());
	cJSON_AddBoolToObject(o, "paused", rel->paused);
	cJSON_AddBoolToObject(o, "revoked", rel->revoked);
	if (rel->min_from[0])
		set_str(o, "min_from", rel->min_from);
	return o;
}

static int add_channels(struct repo *r, const struct tuf_target *list, size_t n, cJSON *out,
			struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		const cJSON *chs = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(list[i].custom, "stele"), "channels");

		for (const cJSON *c = chs ? chs->child : NULL; c; c = c->next) {
			struct rollout_release rel;
			cJSON *arr = cJSON_GetObjectItemCaseSensitive(out, c->string);
			int rc = rollout_release_parse(&list[i], c->string, &rel, e);

			if (rc < 0)
				return rc;
			if (!arr)
				arr = cJSON_AddArrayToObject(out, c->string);
			if (!arr)
				return err_set(e, ENOMEM, "out of memory");
			cJSON_AddItemToArray(arr, release_status(&rel, r->now));
		}
	}
	return 0;
}

int repo_status(const struct repo_opts *o, cJSON **ret, struct err *e)
{
	struct tuf_target *list = NULL;
	struct tuf_doc d = {.role = TUF_TARGETS};
	cJSON *out = cJSON_CreateObject(), *roles, *chs;
	struct repo *r;
	size_t n = 0;
	int rc;

	if (!out)
		return err_set(e, ENOMEM, "out of memory");
	rc = repo_load(o, false, &r, e);
	if (rc < 0) {
		cJSON_Delete(out);
		return rc;
	}
	set_str(out, "repository", r->dir);
	roles = cJSON_AddObjectToObject(out, "roles");
	for (int i = 0; i < TUF_ROLES && roles; i++) {
		cJSON *x = cJSON_AddObjectToObject(roles, tuf_role_names[i]);
		char t[32];

		tuf_time_format(body_expires(r->body[i]), t);
		if (x) {
			set_num(x, "version", (double)body_version(r->body[i]));
			set_str(x, "expires", t);
		}
	}
	chs = cJSON_AddObjectToObject(out, "channels");
	d.body = r->body[TUF_TARGETS];
	rc = tuf_targets_list(&d, &list, &n, e);
	if (rc == 0)
		rc = chs ? add_channels(r, list, n, chs, e) : err_set(e, ENOMEM, "out of memory");
	free(list);
	repo_free(r);
	if (rc < 0) {
		cJSON_Delete(out);
		return rc;
	}
	*ret = out;
	return 0;
}
