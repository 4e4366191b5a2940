#include "tuf.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "input.h"

const char *const tuf_role_names[TUF_ROLES] = {"root", "targets", "snapshot", "timestamp"};

#define TUF_NESTING 32
#define MAX_SAFE_INT 9007199254740992.0 /* 2^53: every integer up to it is exact in a double */

/* --- canonical JSON ------------------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static int put_string(struct sbuf *b, const char *s, struct err *e)
{
	sb_put(b, "\"", 1);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c < 0x20 || *c == 0x7f)
			return err_set(e, EINVAL, "a string holds the control byte 0x%02x", *c);
		if (*c == '"' || *c == '\\')
			sb_put(b, "\\", 1);
		sb_put(b, (const char *)c, 1);
	}
	sb_put(b, "\"", 1);
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

static int put_value(struct sbuf *b, const cJSON *v, int depth, struct err *e);

static int put_object(struct sbuf *b, const cJSON *v, int depth, struct err *e)
{
	const cJSON **items;
	size_t n = 0, i = 0;
	int r = 0;

	for (const cJSON *c = v->child; c; c = c->next)
		n++;
	items = calloc(n ? n : 1, sizeof(*items));
	if (!items)
		return err_set(e, ENOMEM, "out of memory");
	for (const cJSON *c = v->child; c; c = c->next)
		items[i++] = c;
	qsort(items, n, sizeof(*items), key_cmp);
	sb_put(b, "{", 1);
	for (i = 0; i < n && r == 0; i++) {
		if (i > 0 && strcmp(items[i - 1]->string, items[i]->string) == 0) {
			r = err_set(e, EINVAL, "the key \"%.64s\" appears twice in one object",
				    items[i]->string);
			break;
		}
		if (i > 0)
			sb_put(b, ",", 1);
		r = put_string(b, items[i]->string, e);
		sb_put(b, ":", 1);
		if (r == 0)
			r = put_value(b, items[i], depth + 1, e);
	}
	sb_put(b, "}", 1);
	free(items);
	return r;
}

static int put_value(struct sbuf *b, const cJSON *v, int depth, struct err *e)
{
	char num[32];
	int r = 0;

	if (depth > TUF_NESTING)
		return err_set(e, EINVAL, "nested deeper than %d", TUF_NESTING);
	if (cJSON_IsObject(v))
		return put_object(b, v, depth, e);
	if (cJSON_IsArray(v)) {
		sb_put(b, "[", 1);
		for (const cJSON *c = v->child; c && r == 0; c = c->next) {
			if (c != v->child)
				sb_put(b, ",", 1);
			r = put_value(b, c, depth + 1, e);
		}
		sb_put(b, "]", 1);
		return r;
	}
	if (cJSON_IsString(v))
		return put_string(b, v->valuestring, e);
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (d != d || d > MAX_SAFE_INT || d < -MAX_SAFE_INT || d != (double)(int64_t)d)
			return err_set(e, EINVAL, "the number %g is not an integer within 2^53", d);
		snprintf(num, sizeof(num), "%lld", (long long)(int64_t)d);
		sb_str(b, num);
		return 0;
	}
	if (cJSON_IsTrue(v))
		sb_str(b, "true");
	else if (cJSON_IsFalse(v))
		sb_str(b, "false");
	else if (cJSON_IsNull(v))
		sb_str(b, "null");
	else
		return err_set(e, EINVAL, "a value of unknown type");
	return 0;
}

int tuf_canonical(const cJSON *v, char **ret, size_t *ret_len, struct err *e)
{
	struct sbuf b = {0};
	int r = put_value(&b, v, 0, e);

	if (r == 0 && b.failed)
		r = err_set(e, ENOMEM, "out of memory");
	if (r < 0) {
		free(b.p);
		return r;
	}
	*ret = b.p;
	if (ret_len)
		*ret_len = b.len;
	return 0;
}

/* --- keys ---------------------------------------------------------------------------- */

cJSON *tuf_key_json(const uint8_t pub[TUF_ED25519_LEN])
{
	char hex[2 * TUF_ED25519_LEN + 1];
	cJSON *k = cJSON_CreateObject(), *val = cJSON_CreateObject();

	hex_encode(pub, TUF_ED25519_LEN, hex);
	if (!k || !val || !cJSON_AddStringToObject(k, "keytype", "ed25519") ||
	    !cJSON_AddStringToObject(k, "scheme", "ed25519") ||
	    !cJSON_AddStringToObject(val, "public", hex)) {
		cJSON_Delete(k);
		cJSON_Delete(val);
		return NULL;
	}
	cJSON_AddItemToObject(k, "keyval", val);
	return k;
}

void tuf_key_id(const uint8_t pub[TUF_ED25519_LEN], char ret[TUF_KEYID_LEN + 1])
{
	cJSON *k = tuf_key_json(pub);
	uint8_t d[SHA256_LEN];
	char *s = NULL;
	size_t n = 0;

	ret[0] = '\0';
	if (k && tuf_canonical(k, &s, &n, NULL) == 0) {
		sha256_buf(s, n, d);
		hex_encode(d, sizeof(d), ret);
	}
	free(s);
	cJSON_Delete(k);
}

int tuf_key_public(EVP_PKEY *key, struct tuf_key *ret, struct err *e)
{
	size_t n = TUF_ED25519_LEN;

	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(key, ret->pub, &n) != 1 || n != TUF_ED25519_LEN)
		return err_set(e, EINVAL, "not an Ed25519 key");
	tuf_key_id(ret->pub, ret->keyid);
	return ret->keyid[0] ? 0 : err_set(e, ENOMEM, "out of memory");
}

/* --- parsing ------------------------------------------------------------------------- */

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static int get_uint(const cJSON *o, const char *k, uint64_t min, uint64_t *ret)
{
	const cJSON *v = get(o, k);

	if (!cJSON_IsNumber(v) || v->valuedouble < (double)min || v->valuedouble > MAX_SAFE_INT ||
	    v->valuedouble != (double)(uint64_t)v->valuedouble)
		return -EINVAL;
	*ret = (uint64_t)v->valuedouble;
	return 0;
}

static bool is_hex(const char *s, size_t len)
{
	return s && strlen(s) == len && strspn(s, "0123456789abcdef") == len;
}

static int hex_decode(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	return 0;
}

int tuf_time_parse(const char *s, int64_t *ret)
{
	struct tm tm = {0};
	char *end;

	if (!s || strlen(s) != 20)
		return -EINVAL;
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end || tm.tm_year < 70 || tm.tm_year > 1100)
		return -EINVAL;
	*ret = (int64_t)timegm(&tm);
	return 0;
}

void tuf_time_format(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		strcpy(out, "1970-01-01T00:00:00Z");
}

void tuf_doc_free(struct tuf_doc *d)
{
	if (!d)
		return;
	cJSON_Delete(d->json);
	free(d->canonical);
	memset(d, 0, sizeof(*d));
}

static int parse_signatures(const char *name, const cJSON *sigs, struct err *e)
{
	int n = 0;

	if (!cJSON_IsArray(sigs))
		return err_set(e, EINVAL, "%s: signatures: expected an array", name);
	for (const cJSON *s = sigs->child; s; s = s->next) {
		const cJSON *id = get(s, "keyid"), *sig = get(s, "sig");

		if (++n > TUF_MAX_SIGS)
			return err_set(e, EINVAL, "%s: signatures: more than %d", name, TUF_MAX_SIGS);
		if (!cJSON_IsObject(s) || !cJSON_IsString(id) || !cJSON_IsString(sig))
			return err_set(e, EINVAL, "%s: signatures[%d]: expected {\"keyid\", \"sig\"}",
				       name, n - 1);
	}
	return 0;
}

int tuf_doc_parse(const char *name, const char *buf, size_t len, enum tuf_role role,
		  struct tuf_doc *ret, struct err *e)
{
	struct tuf_doc d = {.role = role};
	const cJSON *type, *spec;
	int r;

	if (len == 0 || memchr(buf, '\0', len))
		return err_set(e, EINVAL, "%s: empty or not text", name);
	if (memmem(buf, len, "\\u0000", 6))
		return err_set(e, EINVAL, "%s: a string holds an escaped NUL", name);
	d.json = input_json(buf, len);
	if (!d.json || !cJSON_IsObject(d.json))
		r = err_set(e, EINVAL, "%s: not a JSON object", name);
	else if ((r = parse_signatures(name, get(d.json, "signatures"), e)) < 0)
		;
	else if (!cJSON_IsObject(d.body = get(d.json, "signed")))
		r = err_set(e, EINVAL, "%s: signed: expected an object", name);
	else if ((r = tuf_canonical(d.body, &d.canonical, &d.canonical_len, e)) < 0)
		r = err_prefix(e, r, "%s: signed", name);
	else if (!cJSON_IsString(type = get(d.body, "_type")) ||
		 strcmp(type->valuestring, tuf_role_names[role]) != 0)
		r = err_set(e, EINVAL, "%s: signed._type: expected \"%s\"", name,
			    tuf_role_names[role]);
	else if (!cJSON_IsString(spec = get(d.body, "spec_version")) ||
		 strncmp(spec->valuestring, "1.", 2) != 0)
		r = err_set(e, EINVAL, "%s: signed.spec_version: expected 1.x", name);
	else if (get_uint(d.body, "version", 1, &d.version) < 0)
		r = err_set(e, EINVAL, "%s: signed.version: expected an integer >= 1", name);
	else if (!cJSON_IsString(get(d.body, "expires")) ||
		 tuf_time_parse(get(d.body, "expires")->valuestring, &d.expires) < 0)
		r = err_set(e, EINVAL, "%s: signed.expires: expected a time such as "
				       "\"2027-01-01T00:00:00Z\"", name);
	if (r < 0) {
		tuf_doc_free(&d);
		return r;
	}
	*ret = d;
	return 0;
}

static int find_key(const struct tuf_root *root, const char *keyid)
{
	for (int i = 0; i < root->nkeys; i++)
		if (strcmp(root->keys[i].keyid, keyid) == 0)
			return i;
	return -1;
}

static int parse_keys(const cJSON *keys, struct tuf_root *rt, struct err *e)
{
	if (!cJSON_IsObject(keys))
		return err_set(e, EINVAL, "signed.keys: expected an object");
	for (const cJSON *k = keys->child; k; k = k->next) {
		const cJSON *type = get(k, "keytype"), *scheme = get(k, "scheme");
		const cJSON *pub = get(get(k, "keyval"), "public");
		struct tuf_key key;

		if (rt->nkeys == TUF_MAX_KEYS)
			return err_set(e, EINVAL, "signed.keys: more than %d", TUF_MAX_KEYS);
		if (!cJSON_IsString(type) || strcmp(type->valuestring, "ed25519") != 0 ||
		    !cJSON_IsString(scheme) || strcmp(scheme->valuestring, "ed25519") != 0)
			return err_set(e, EINVAL, "signed.keys.%.64s: only ed25519 keys are accepted",
				       k->string);
		if (!cJSON_IsString(pub) || !is_hex(pub->valuestring, 2 * TUF_ED25519_LEN) ||
		    hex_decode(pub->valuestring, key.pub, TUF_ED25519_LEN) < 0)
			return err_set(e, EINVAL, "signed.keys.%.64s.keyval.public: expected 64 hex "
						  "digits", k->string);
		tuf_key_id(key.pub, key.keyid);
		if (strcmp(key.keyid, k->string) != 0)
			return err_set(e, EINVAL, "signed.keys.%.64s: the key id is not the key's "
						  "hash (%s)", k->string, key.keyid);
		if (find_key(rt, key.keyid) >= 0)
			return err_set(e, EINVAL, "signed.keys.%.64s: listed twice", k->string);
		rt->keys[rt->nkeys++] = key;
	}
	return 0;
}

static int parse_role(const cJSON *roles, enum tuf_role role, struct tuf_root *rt,
		      struct err *e)
{
	const char *rn = tuf_role_names[role];
	const cJSON *o = get(roles, rn), *ids = get(o, "keyids");
	struct tuf_role_keys *rk = &rt->roles[role];
	uint64_t th;

	if (!cJSON_IsObject(o) || !cJSON_IsArray(ids))
		return err_set(e, EINVAL, "signed.roles.%s: expected {\"keyids\", \"threshold\"}",
			       rn);
	if (get_uint(o, "threshold", 1, &th) < 0 || th > TUF_MAX_ROLE_KEYS)
		return err_set(e, EINVAL, "signed.roles.%s.threshold: expected 1..%d", rn,
			       TUF_MAX_ROLE_KEYS);
	for (const cJSON *id = ids->child; id; id = id->next) {
		if (rk->n == TUF_MAX_ROLE_KEYS)
			return err_set(e, EINVAL, "signed.roles.%s.keyids: more than %d", rn,
				       TUF_MAX_ROLE_KEYS);
		if (!cJSON_IsString(id) || find_key(rt, id->valuestring) < 0)
			return err_set(e, EINVAL, "signed.roles.%s.keyids[%d]: not a key of "
						  "signed.keys", rn, rk->n);
		for (int i = 0; i < rk->n; i++)
			if (strcmp(rk->keyids[i], id->valuestring) == 0)
				return err_set(e, EINVAL, "signed.roles.%s.keyids: %.16s... named "
							  "twice", rn, id->valuestring);
		strcpy(rk->keyids[rk->n++], id->valuestring);
	}
	if ((uint64_t)rk->n < th)
		return err_set(e, EINVAL, "signed.roles.%s: threshold %llu but %d keys", rn,
			       (unsigned long long)th, rk->n);
	rk->threshold = (int)th;
	return 0;
}

int tuf_root_parse(const struct tuf_doc *d, struct tuf_root *ret, struct err *e)
{
	struct tuf_root *rt;
	const cJSON *cs = get(d->body, "consistent_snapshot");
	int r = 0;

	if (d->role != TUF_ROOT)
		return err_set(e, EINVAL, "not a root document");
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return err_set(e, ENOMEM, "out of memory");
	rt->version = d->version;
	rt->expires = d->expires;
	rt->consistent_snapshot = cJSON_IsTrue(cs);
	if (cs && !cJSON_IsBool(cs))
		r = err_set(e, EINVAL, "signed.consistent_snapshot: expected true or false");
	if (r == 0)
		r = parse_keys(get(d->body, "keys"), rt, e);
	if (r == 0 && !cJSON_IsObject(get(d->body, "roles")))
		r = err_set(e, EINVAL, "signed.roles: expected an object");
	for (int i = 0; i < TUF_ROLES && r == 0; i++)
		r = parse_role(get(d->body, "roles"), (enum tuf_role)i, rt, e);
	if (r == 0)
		*ret = *rt;
	free(rt);
	return r;
}

static bool sig_ok(const uint8_t pub[TUF_ED25519_LEN], const char *sighex, const char *data,
		   size_t len)
{
	uint8_t sig[64];
	EVP_PKEY *k;
	EVP_MD_CTX *c;
	bool ok = false;

	if (!is_hex(sighex, 128) || hex_decode(sighex, sig, sizeof(sig)) < 0)
		return false;
	k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, TUF_ED25519_LEN);
	c = EVP_MD_CTX_new();
	if (k && c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1)
		ok = EVP_DigestVerify(c, sig, sizeof(sig), (const uint8_t *)data, len) == 1;
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(k);
	return ok;
}

int tuf_verify(const struct tuf_root *root, enum tuf_role role, const struct tuf_doc *d,
	       const char *name, struct err *e)
{
	const struct tuf_role_keys *rk = &root->roles[role];
	bool counted[TUF_MAX_ROLE_KEYS] = {false};
	int good = 0;

	for (const cJSON *s = get(d->json, "signatures")->child; s; s = s->next) {
		const char *id = get(s, "keyid")->valuestring;

		for (int i = 0; i < rk->n; i++) {
			int k = find_key(root, rk->keyids[i]);

			if (counted[i] || strcmp(rk->keyids[i], id) != 0 || k < 0)
				continue;
			if (sig_ok(root->keys[k].pub, get(s, "sig")->valuestring, d->canonical,
				   d->canonical_len)) {
				counted[i] = true;
				good++;
			}
		}
	}
	if (good >= rk->threshold)
		return 0;
	return err_set(e, EPERM, "%s: signed by %d of the %s keys of root version %llu, %d "
				 "needed", name, good, tuf_role_names[role],
		       (unsigned long long)root->version, rk->threshold);
}

static int parse_hashes(const cJSON *o, const char *name, const char *path, bool required,
			bool *ret_has, uint8_t out[SHA256_LEN], struct err *e)
{
	const cJSON *h = get(o, "hashes"), *s = get(h, "sha256");

	*ret_has = false;
	if (!h && !required)
		return 0;
	if (!cJSON_IsObject(h) || !cJSON_IsString(s) || !is_hex(s->valuestring, 2 * SHA256_LEN) ||
	    hex_decode(s->valuestring, out, SHA256_LEN) < 0)
		return err_set(e, EINVAL, "%s: %s.hashes.sha256: expected 64 hex digits", name, path);
	*ret_has = true;
	return 0;
}

int tuf_meta_get(const struct tuf_doc *d, const char *file, struct tuf_meta *ret,
		 struct err *e)
{
	const cJSON *m = get(get(d->body, "meta"), file);
	const char *name = tuf_role_names[d->role];
	struct tuf_meta mt = {0};
	int r;

	if (!cJSON_IsObject(m))
		return err_set(e, EINVAL, "%s: signed.meta.\"%s\": missing", name, file);
	if (get_uint(m, "version", 1, &mt.version) < 0)
		return err_set(e, EINVAL, "%s: signed.meta.\"%s\".version: expected an integer >= 1",
			       name, file);
	if (get(m, "length") && get_uint(m, "length", 1, &mt.length) < 0)
		return err_set(e, EINVAL, "%s: signed.meta.\"%s\".length: expected an integer >= 1",
			       name, file);
	r = parse_hashes(m, name, file, false, &mt.has_sha256, mt.sha256, e);
	if (r == 0)
		*ret = mt;
	return r;
}

static bool good_name(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= TUF_NAME_MAX && s[0] != '.' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+~-") == n;
}

int tuf_targets_list(const struct tuf_doc *d, struct tuf_target **ret, size_t *ret_n,
		     struct err *e)
{
	const cJSON *t = get(d->body, "targets");
	struct tuf_target *list;
	size_t n = 0;
	int r = 0;
	bool has;

	if (d->role != TUF_TARGETS || !cJSON_IsObject(t))
		return err_set(e, EINVAL, "targets: signed.targets: expected an object");
	for (const cJSON *c = t->child; c; c = c->next)
		if (++n > TUF_MAX_TARGETS)
			return err_set(e, EINVAL, "targets: more than %d targets", TUF_MAX_TARGETS);
	list = calloc(n ? n : 1, sizeof(*list));
	if (!list)
		return err_set(e, ENOMEM, "out of memory");
	n = 0;
	for (const cJSON *c = t->child; c && r == 0; c = c->next) {
		struct tuf_target *x = &list[n++];

		if (!good_name(c->string)) {
			r = err_set(e, EINVAL, "targets: \"%.64s\": not a plain file name", c->string);
			break;
		}
		strcpy(x->name, c->string);
		if (!cJSON_IsObject(c) || get_uint(c, "length", 0, &x->length) < 0)
			r = err_set(e, EINVAL, "targets: %s.length: expected an integer", x->name);
		else
			r = parse_hashes(c, "targets", x->name, true, &has, x->sha256, e);
		x->custom = get(c, "custom");
		if (r == 0 && x->custom && !cJSON_IsObject(x->custom))
			r = err_set(e, EINVAL, "targets: %s.custom: expected an object", x->name);
	}
	if (r < 0) {
		free(list);
		return r;
	}
	*ret = list;
	*ret_n = n;
	return 0;
}

/* --- signing ------------------------------------------------------------------------- */

static int sign_one(EVP_PKEY *key, const char *data, size_t len, cJSON *sigs, struct err *e)
{
	uint8_t sig[64];
	char hex[129];
	size_t n = sizeof(sig);
	struct tuf_key pub;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	cJSON *o;
	int r;

	r = tuf_key_public(key, &pub, e);
	if (r == 0 && (!c || EVP_DigestSignInit(c, NULL, NULL, NULL, key) != 1 ||
		       EVP_DigestSign(c, sig, &n, (const uint8_t *)data, len) != 1 || n != 64))
		r = err_set(e, EIO, "Ed25519 signing failed");
	EVP_MD_CTX_free(c);
	if (r < 0)
		return r;
	hex_encode(sig, sizeof(sig), hex);
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "keyid", pub.keyid) ||
	    !cJSON_AddStringToObject(o, "sig", hex)) {
		cJSON_Delete(o);
		return err_set(e, ENOMEM, "out of memory");
	}
	cJSON_AddItemToArray(sigs, o);
	return 0;
}

int tuf_doc_sign(const cJSON *body, EVP_PKEY *const *keys, size_t nkeys, char **ret,
		 size_t *ret_len, struct err *e)
{
	cJSON *doc = cJSON_CreateObject(), *sigs = cJSON_CreateArray();
	char *canon = NULL;
	size_t len;
	int r;

	if (!doc || !sigs) {
		cJSON_Delete(doc);
		cJSON_Delete(sigs);
		return err_set(e, ENOMEM, "out of memory");
	}
	cJSON_AddItemToObject(doc, "signatures", sigs);
	r = tuf_canonical(body, &canon, &len, e);
	for (size_t i = 0; i < nkeys && r == 0; i++)
		r = sign_one(keys[i], canon, len, sigs, e);
	/* The body is borrowed into the envelope for encoding, then taken back. */
	if (r == 0) {
		cJSON *ref = cJSON_CreateObjectReference(body->child);

		if (!ref)
			r = err_set(e, ENOMEM, "out of memory");
		else {
			cJSON_AddItemToObject(doc, "signed", ref);
			r = tuf_canonical(doc, ret, ret_len, e);
		}
	}
	free(canon);
	cJSON_Delete(doc);
	return r;
}
