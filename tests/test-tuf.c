/* lib/tuf, lib/tufclient and builder/repo: canonical JSON known answers and hostile values;
 * signatures and thresholds; then the client workflow over repositories made by repo_init,
 * repo_refresh and repo_rotate, and every attack the TUF specification lists, staged by
 * rewriting the repository's files: arbitrary software, rollback, indefinite freeze,
 * fast-forward and mix-and-match, endless data, a wrong key, a threshold not met, and root
 * rotations with and without the old keys' signatures. Each refusal names the file, and
 * what the client trusts afterwards is what it trusted before. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/repo/repo.h"
#include "lib/hash.h"
#include "lib/io.h"
#include "lib/rollout.h"
#include "lib/tuf.h"
#include "lib/tufclient.h"
#include "tap.h"

#define T0 1800000000LL /* 2027-01-15 */

static char top[256];

/* The error of the next call only (a passing check prints it: it must be that call's). */
#define E0 (e.msg[0] = '\0', &e)

/* A setup step of a scenario (the checks come after it). */
static void must(int r)
{
	if (r < 0)
		printf("# a setup step failed: %d\n", r);
}

/* --- canonical JSON ------------------------------------------------------------------ */

static void canon_is(const char *json, const char *want, const char *what)
{
	cJSON *v = cJSON_Parse(json);
	char *s = NULL;
	struct err e = {{0}};
	int r = v ? tuf_canonical(v, &s, NULL, &e) : -1;

	if (want)
		is_str(r == 0 ? s : e.msg, want, "canonical: %s", what);
	else
		ok(r < 0, "canonical: %s is refused (%s)", what, e.msg);
	free(s);
	cJSON_Delete(v);
}

static void test_canonical(void)
{
	char deep[200] = "";

	canon_is("{ \"b\": 1, \"a\": [true, null, false, \"x\\\"\\\\y\"], \"c\": {} }",
		 "{\"a\":[true,null,false,\"x\\\"\\\\y\"],\"b\":1,\"c\":{}}", "sorted, no space");
	canon_is("{\"B\":1,\"a\":2,\"_\":3,\"aa\":4}", "{\"B\":1,\"_\":3,\"a\":2,\"aa\":4}",
		 "keys in byte order");
	canon_is("[-5, 0, 9007199254740992, 1.0]", "[-5,0,9007199254740992,1]", "integers");
	canon_is("{\"u\":\"\\u00e9\"}", "{\"u\":\"\xc3\xa9\"}", "UTF-8 passes as bytes");
	canon_is("[1.5]", NULL, "a fraction");
	canon_is("[1e300]", NULL, "a huge number");
	canon_is("[18014398509481984]", NULL, "an integer beyond 2^53");
	canon_is("[\"a\\nb\"]", NULL, "a newline in a string");
	canon_is("{\"a\":1,\"a\":2}", NULL, "a duplicate key");
	for (int i = 0; i < 40; i++)
		strcat(deep, "[");
	for (int i = 0; i < 40; i++)
		strcat(deep, "]");
	canon_is(deep, NULL, "40 levels of nesting");
}

/* --- keys and signatures ------------------------------------------------------------- */

static EVP_PKEY *gen(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
}

/* A root document with the given keys: root role of n keys with threshold th; every other
 * role the single key other. */
static char *root_doc(EVP_PKEY **root, int n, int th, EVP_PKEY *other, uint64_t version,
		      EVP_PKEY **signers, int nsigners)
{
	cJSON *b = cJSON_CreateObject(), *keys = cJSON_AddObjectToObject(b, "keys");
	cJSON *roles = cJSON_AddObjectToObject(b, "roles");
	struct tuf_key k;
	char t[32], *out = NULL;
	size_t len;

	cJSON_AddStringToObject(b, "_type", "root");
	cJSON_AddStringToObject(b, "spec_version", "1.0.31");
	cJSON_AddNumberToObject(b, "version", (double)version);
	tuf_time_format(T0 + 365 * 86400, t);
	cJSON_AddStringToObject(b, "expires", t);
	cJSON_AddTrueToObject(b, "consistent_snapshot");
	for (int role = 0; role < TUF_ROLES; role++) {
		cJSON *o = cJSON_AddObjectToObject(roles, tuf_role_names[role]);
		cJSON *ids = cJSON_AddArrayToObject(o, "keyids");
		int m = role == TUF_ROOT ? n : 1;

		for (int i = 0; i < m; i++) {
			EVP_PKEY *key = role == TUF_ROOT ? root[i] : other;

			(void)tuf_key_public(key, &k, NULL);
			cJSON_AddItemToArray(ids, cJSON_CreateString(k.keyid));
			if (!cJSON_GetObjectItemCaseSensitive(keys, k.keyid))
				cJSON_AddItemToObject(keys, k.keyid, tuf_key_json(k.pub));
		}
		cJSON_AddNumberToObject(o, "threshold", role == TUF_ROOT ? th : 1);
	}
	if (tuf_doc_sign(b, signers, (size_t)nsigners, &out, &len, NULL) < 0)
		out = NULL;
	cJSON_Delete(b);
	return out;
}

static int verify_root_text(const char *text, struct err *e)
{
	struct tuf_doc d;
	struct tuf_root *rt = malloc(sizeof(*rt));
	int r = tuf_doc_parse("root.json", text, strlen(text), TUF_ROOT, &d, e);

	if (r == 0) {
		r = tuf_root_parse(&d, rt, e);
		if (r == 0)
			r = tuf_verify(rt, TUF_ROOT, &d, "root.json", e);
		tuf_doc_free(&d);
	}
	free(rt);
	return r;
}

static void test_signatures(void)
{
	EVP_PKEY *k[3] = {gen(), gen(), gen()}, *other = gen(), *dup[2];
	struct err e = {{0}};
	char *s, *p;

	s = root_doc(k, 3, 2, other, 1, k, 2);
	is_int(verify_root_text(s, &e), 0, "a root signed by 2 of its 3 root keys (threshold 2)");
	p = strstr(s, "\"sig\":\"") + 7;
	*p = *p == '0' ? '1' : '0';
	is_int(verify_root_text(s, &e), -EPERM, "one flipped signature digit: 1 of 3, refused");
	has_str(e.msg, "signed by 1 of the root keys", "the message counts the signatures");
	free(s);
	s = root_doc(k, 3, 2, other, 1, k, 1);
	is_int(verify_root_text(s, &e), -EPERM, "1 signature where 2 are needed: refused");
	free(s);
	dup[0] = dup[1] = k[0];
	s = root_doc(k, 3, 2, other, 1, dup, 2);
	is_int(verify_root_text(s, &e), -EPERM, "the same key twice counts once: refused");
	free(s);
	s = root_doc(k, 3, 2, other, 1, &other, 1);
	is_int(verify_root_text(s, &e), -EPERM, "signed by a key that is not a root key: refused");
	free(s);
	s = root_doc(k, 3, 2, other, 1, k, 3);
	p = strstr(s, "\"version\":1");
	p[10] = '7';
	is_int(verify_root_text(s, &e), -EPERM, "the signed body changed after signing: refused");
	free(s);
	s = root_doc(k, 3, 4, other, 1, k, 3);
	ok(verify_root_text(s, &e) == -EINVAL && strstr(e.msg, "threshold 4 but 3 keys"),
	   "a threshold above the key count is malformed: %s", e.msg);
	free(s);
	for (int i = 0; i < 3; i++)
		EVP_PKEY_free(k[i]);
	EVP_PKEY_free(other);
}

static void parse_is(const char *text, enum tuf_role role, const char *frag, const char *what)
{
	struct tuf_doc d;
	struct err e = {{0}};
	int r = tuf_doc_parse("x.json", text, strlen(text), role, &d, &e);

	if (r == 0)
		tuf_doc_free(&d);
	ok(r < 0 && strstr(e.msg, frag), "hostile document: %s (%s)", what, e.msg);
}

static void test_hostile_docs(void)
{
	const char *sig = "{\"signatures\":[],\"signed\":";

	parse_is("", TUF_TIMESTAMP, "empty", "empty");
	parse_is("[1]", TUF_TIMESTAMP, "not a JSON object", "an array");
	parse_is("{\"signed\":{}}", TUF_TIMESTAMP, "signatures", "no signatures");
	parse_is("{\"signatures\":[{\"keyid\":1}],\"signed\":{}}", TUF_TIMESTAMP, "signatures[0]",
		 "a malformed signature");
	parse_is("{\"signatures\":[],\"signed\":{\"_type\":\"root\"}}", TUF_TIMESTAMP, "_type",
		 "a root offered as timestamp");
	{
		char buf[512];

		snprintf(buf, sizeof(buf), "%s{\"_type\":\"timestamp\",\"spec_version\":\"2.0\","
					   "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\"}}", sig);
		parse_is(buf, TUF_TIMESTAMP, "spec_version", "spec version 2");
		snprintf(buf, sizeof(buf), "%s{\"_type\":\"timestamp\",\"spec_version\":\"1.0\","
					   "\"version\":0,\"expires\":\"2030-01-01T00:00:00Z\"}}", sig);
		parse_is(buf, TUF_TIMESTAMP, "version", "version 0");
		snprintf(buf, sizeof(buf), "%s{\"_type\":\"timestamp\",\"spec_version\":\"1.0\","
					   "\"version\":1,\"expires\":\"2030-01-01 00:00\"}}", sig);
		parse_is(buf, TUF_TIMESTAMP, "expires", "a malformed expiry");
		snprintf(buf, sizeof(buf), "%s{\"_type\":\"timestamp\",\"spec_version\":\"1.0\","
					   "\"version\":1,\"version\":2,\"expires\":\"2030-01-01T00:00:00Z\"}}",
			 sig);
		parse_is(buf, TUF_TIMESTAMP, "appears twice", "a duplicate key (two readings)");
		snprintf(buf, sizeof(buf), "%s{\"_type\":\"timestamp\",\"spec_version\":\"1.0\","
					   "\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\"}} trailing",
			 sig);
		parse_is(buf, TUF_TIMESTAMP, "not a JSON object", "bytes after the document");
		/* cJSON would end the string at the NUL: two readings of one document */
		snprintf(buf, sizeof(buf), "%s{\"_type\":\"timestamp\",\"spec_version\":\"1.0\","
					   "\"x\":\"a\\u0000b\"}}", sig);
		parse_is(buf, TUF_TIMESTAMP, "NUL", "a \\u0000 escape in a string");
	}
}

/* --- the client workflow over a repository ------------------------------------------- */

struct dirfetch {
	const char *dir;
};

static int dir_fetch(void *ctx, const char *path, size_t max, bool exact, char **ret,
		     size_t *ret_len, struct err *e)
{
	struct dirfetch *f = ctx;
	char full[1024];
	int r;

	snprintf(full, sizeof(full), "%s/%s", f->dir, path);
	r = io_read_alloc(full, max, ret, ret_len, e);
	if (r == 0 && exact && *ret_len != max) {
		free(*ret);
		return err_set(e, EINVAL, "%s: %zu bytes, %zu expected", path, *ret_len, max);
	}
	return r;
}

static char repo_dir[512], keys_dir[600];

static void sh(const char *fmt, const char *a, const char *b)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	if (system(cmd) != 0)
		printf("# command failed: %s\n", cmd);
}

static struct repo_opts ropts(int64_t now)
{
	struct repo_opts o = {.dir = repo_dir, .keys = NULL, .now = now};

	return o;
}

/* A client with its own store, trusting the repository's first root. */
static int client(struct tuf_client *c, const char *store, struct err *e)
{
	char root[700], path[700];

	snprintf(root, sizeof(root), "%s/1.root.json", repo_dir);
	snprintf(path, sizeof(path), "%s/%s", top, store);
	mkdir(path, 0755);
	return tuf_client_open(c, path, root, e);
}

static int refresh(struct tuf_client *c, int64_t now, struct err *e)
{
	struct dirfetch df = {repo_dir};
	struct tuf_fetcher f = {dir_fetch, &df};

	return tuf_client_refresh(c, &f, now, e);
}

static EVP_PKEY *load_key(const char *prefix)
{
	DIR *d = opendir(keys_dir);
	struct dirent *de;
	EVP_PKEY *k = NULL;

	while (d && !k && (de = readdir(d))) {
		char path[1024];
		FILE *f;

		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", keys_dir, de->d_name);
		f = fopen(path, "r");
		if (f) {
			k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
			fclose(f);
		}
	}
	if (d)
		closedir(d);
	return k;
}

static cJSON *body_of(const char *file)
{
	char path[1024], *buf = NULL;
	cJSON *doc, *b;

	snprintf(path, sizeof(path), "%s/%s", repo_dir, file);
	if (io_read_alloc(path, 16 << 20, &buf, NULL, NULL) < 0)
		return NULL;
	doc = cJSON_Parse(buf);
	free(buf);
	b = cJSON_DetachItemFromObjectCaseSensitive(doc, "signed");
	cJSON_Delete(doc);
	return b;
}

/* Signs body with key into the repository's file; returns its text's length and sha256. */
static size_t put_signed(const char *file, cJSON *body, EVP_PKEY *key, char hex[65])
{
	char path[1024], *text = NULL;
	uint8_t d[SHA256_LEN];
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/%s", repo_dir, file);
	if (tuf_doc_sign(body, &key, 1, &text, &len, NULL) == 0 &&
	    io_write_atomic(path, text, len, 0644, NULL) == 0 && hex) {
		sha256_buf(text, len, d);
		hex_encode(d, sizeof(d), hex);
	}
	free(text);
	return len;
}

static void set_meta(cJSON *body, const char *file, uint64_t version, size_t len,
		     const char *hex)
{
	cJSON *meta = cJSON_CreateObject(), *m = cJSON_AddObjectToObject(meta, file);

	cJSON_AddNumberToObject(m, "version", (double)version);
	cJSON_AddNumberToObject(m, "length", (double)len);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(m, "hashes"), "sha256", hex);
	cJSON_ReplaceItemInObjectCaseSensitive(body, "meta", meta);
}

static void set_version(cJSON *b, uint64_t v)
{
	cJSON_ReplaceItemInObjectCaseSensitive(b, "version", cJSON_CreateNumber((double)v));
}

/* Publishes a new targets version holding one target named name (as the publisher would),
 * then snapshot and timestamp over it. */
static void publish_target(const char *name, uint64_t tv, uint64_t sv, uint64_t tsv)
{
	EVP_PKEY *tk = load_key("targets-"), *ok_ = load_key("online-");
	cJSON *t = body_of("1.targets.json"), *s = body_of("1.snapshot.json");
	cJSON *ts = body_of("timestamp.json"), *x = cJSON_CreateObject(), *custom;
	char file[64], hex[65];
	size_t len;

	cJSON_AddNumberToObject(x, "length", 4);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(x, "hashes"), "sha256",
				"88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589");
	custom = cJSON_AddObjectToObject(cJSON_AddObjectToObject(x, "custom"), "stele");
	cJSON_AddStringToObject(custom, "version", name);
	cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(t, "targets"), name, x);
	set_version(t, tv);
	snprintf(file, sizeof(file), "%llu.targets.json", (unsigned long long)tv);
	len = put_signed(file, t, tk, hex);
	set_version(s, sv);
	set_meta(s, "targets.json", tv, len, hex);
	snprintf(file, sizeof(file), "%llu.snapshot.json", (unsigned long long)sv);
	len = put_signed(file, s, ok_, hex);
	set_version(ts, tsv);
	set_meta(ts, "snapshot.json", sv, len, hex);
	put_signed("timestamp.json", ts, ok_, NULL);
	cJSON_Delete(t);
	cJSON_Delete(s);
	cJSON_Delete(ts);
	EVP_PKEY_free(tk);
	EVP_PKEY_free(ok_);
}

static bool has_target(const struct tuf_client *c, const char *name)
{
	struct tuf_target *list = NULL;
	size_t n = 0;
	bool found = false;

	if (tuf_targets_list(&c->trusted[TUF_TARGETS], &list, &n, NULL) == 0)
		for (size_t i = 0; i < n; i++)
			found = found || strcmp(list[i].name, name) == 0;
	free(list);
	return found;
}

static void save(const char *file, const char *as)
{
	char a[1024], b[1024];

	snprintf(a, sizeof(a), "%s/%s", repo_dir, file);
	snprintf(b, sizeof(b), "%s/%s", top, as);
	sh("cp '%s' '%s'", a, b);
}

static void restore(const char *as, const char *file)
{
	char a[1024], b[1024];

	snprintf(a, sizeof(a), "%s/%s", top, as);
	snprintf(b, sizeof(b), "%s/%s", repo_dir, file);
	sh("cp '%s' '%s'", a, b);
}

static void test_workflow(void)
{
	struct repo_init_opts io = {.root_keys = 3, .root_threshold = 2};
	struct repo_opts o = ropts(T0);
	struct tuf_client c;
	struct err e = {{0}};
	bool done;
	int r;

	memcpy(io.lifetime, repo_default_lifetime, sizeof(io.lifetime));
	snprintf(repo_dir, sizeof(repo_dir), "%s/repo", top);
	snprintf(keys_dir, sizeof(keys_dir), "%s.keys", repo_dir);
	is_int(repo_init(&o, &io, E0), 0, "repo_init: %s", e.msg);
	is_int(repo_init(&o, &io, E0), -EEXIST, "repo_init again is refused: %s", e.msg);

	is_int(client(&c, "s1", E0), 0, "a client opens with the first root: %s", e.msg);
	is_int(refresh(&c, T0 + 60, E0), 0, "and refreshes: %s", e.msg);
	is_int(c.requests, 4, "first refresh: 2.root.json (none), timestamp, snapshot, targets");
	ok(c.updated, "it took a new timestamp");
	is_int(refresh(&c, T0 + 120, E0), 0, "a second refresh with nothing new: %s", e.msg);
	is_int(c.requests, 2, "nothing new: 2.root.json and timestamp.json only");
	ok(!c.updated, "and it says nothing changed");
	tuf_client_close(&c);

	/* the client's store outlives it: a new client starts from it */
	publish_target("app-1.bundle", 2, 2, 2);
	is_int(client(&c, "s1", E0), 0, "the store reopens");
	is_int(c.trusted[TUF_TIMESTAMP].version, 1, "with timestamp version 1 trusted");
	is_int(refresh(&c, T0 + 180, E0), 0, "a new release: %s", e.msg);
	ok(has_target(&c, "app-1.bundle"), "the new target is trusted");
	save("timestamp.json", "ts2.json");
	save("2.snapshot.json", "sn2.json");
	save("2.targets.json", "tg2.json");

	/* arbitrary software: targets changed without the targets key */
	publish_target("app-2.bundle", 3, 3, 3);
	{
		char path[1024], *buf = NULL;
		size_t len;

		snprintf(path, sizeof(path), "%s/3.targets.json", repo_dir);
		if (io_read_alloc(path, 1 << 20, &buf, &len, NULL) == 0) {
			char *p = strstr(buf, "88d4266f");

			if (p)
				p[0] = '9'; /* a different bundle, same length */
			must(io_write_atomic(path, buf, len, 0644, NULL));
		}
		free(buf);
	}
	r = refresh(&c, T0 + 240, E0);
	ok(r < 0 && strstr(e.msg, "3.targets.json"), "arbitrary software: a changed targets file "
	   "is refused: %s", e.msg);
	ok(!has_target(&c, "app-2.bundle"), "and the client still trusts targets version 2");
	publish_target("app-2.bundle", 3, 3, 3);
	is_int(refresh(&c, T0 + 240, E0), 0, "the honest version 3: %s", e.msg);

	/* rollback: yesterday's timestamp replayed */
	save("timestamp.json", "ts3.json");
	restore("ts2.json", "timestamp.json");
	r = refresh(&c, T0 + 300, E0);
	ok(r < 0 && strstr(e.msg, "timestamp.json") && strstr(e.msg, "rollback"),
	   "rollback: an older timestamp is refused: %s", e.msg);
	ok(has_target(&c, "app-2.bundle"), "and the client keeps version 3");

	/* fast-forward / mix-and-match: a new timestamp over an old snapshot */
	{
		EVP_PKEY *ok_ = load_key("online-");
		cJSON *ts = body_of("timestamp.json");
		char hex[65], sn[1024];
		size_t len;

		snprintf(sn, sizeof(sn), "%s/sn2.json", top);
		{
			char *buf = NULL;
			uint8_t d[32];

			must(io_read_alloc(sn, 1 << 20, &buf, &len, NULL));
			sha256_buf(buf, len, d);
			hex_encode(d, 32, hex);
			free(buf);
		}
		set_version(ts, 9);
		set_meta(ts, "snapshot.json", 2, len, hex);
		put_signed("timestamp.json", ts, ok_, NULL);
		r = refresh(&c, T0 + 300, E0);
		ok(r < 0 && strstr(e.msg, "snapshot version 2") && strstr(e.msg, "rollback"),
		   "mix-and-match: a timestamp naming an older snapshot is refused: %s", e.msg);
		/* a snapshot naming older targets */
		cJSON_Delete(ts);
		ts = body_of("timestamp.json");
		{
			cJSON *s = body_of("2.snapshot.json");

			set_version(s, 4);
			len = put_signed("4.snapshot.json", s, ok_, hex);
			cJSON_Delete(s);
		}
		set_version(ts, 10);
		set_meta(ts, "snapshot.json", 4, len, hex);
		put_signed("timestamp.json", ts, ok_, NULL);
		r = refresh(&c, T0 + 300, E0);
		ok(r < 0 && strstr(e.msg, "4.snapshot.json") && strstr(e.msg, "targets version 2"),
		   "mix-and-match: a snapshot naming older targets is refused: %s", e.msg);
		ok(has_target(&c, "app-2.bundle"), "and the client keeps targets version 3");
		cJSON_Delete(ts);
		EVP_PKEY_free(ok_);
	}
	restore("ts3.json", "timestamp.json");
	/* the client took timestamp 10 (its signature was good); a valid newer one: */
	o = ropts(T0 + 400);
	is_int(repo_refresh(&o, true, &done, E0), 0, "repo_refresh --force: %s", e.msg);
	r = refresh(&c, T0 + 400, E0);
	ok(r < 0 && strstr(e.msg, "rollback"), "after a fast-forward to timestamp 10, the "
	   "repository's own next version (%d) is a rollback to the client: %s",
	   (int)c.trusted[TUF_TIMESTAMP].version, e.msg);
	tuf_client_close(&c);

	/* a fresh client sees the repository as published */
	is_int(client(&c, "s2", E0), 0, "a second client");
	is_int(refresh(&c, T0 + 400, E0), 0, "refreshes over the real repository: %s", e.msg);
	ok(has_target(&c, "app-2.bundle"), "and trusts app-2");

	/* indefinite freeze: the same files, long after they expired */
	r = refresh(&c, T0 + 400 + 2 * 86400, E0);
	ok(r == -ETIMEDOUT && strstr(e.msg, "timestamp.json") && strstr(e.msg, "expired"),
	   "freeze: an expired timestamp is refused: %s", e.msg);
	r = refresh(&c, T0 + 400 + 400 * 86400, E0);
	ok(r == -ETIMEDOUT && strstr(e.msg, "root.json"), "freeze: an expired root is refused: %s",
	   e.msg);

	/* endless data: a timestamp.json that never ends (here: 1 MiB) */
	save("timestamp.json", "ts-good.json");
	sh("head -c 1048576 /dev/zero | tr '\\0' ' ' >> '%s/timestamp.json'%s", repo_dir, "");
	r = refresh(&c, T0 + 500, E0);
	ok(r == -EFBIG, "endless data: a 1 MiB timestamp is cut at %u bytes: %s", TUF_TIMESTAMP_MAX,
	   e.msg);
	restore("ts-good.json", "timestamp.json");

	/* wrong key: timestamp signed by the targets key */
	{
		EVP_PKEY *tk = load_key("targets-");
		cJSON *ts = body_of("timestamp.json");

		set_version(ts, 99);
		put_signed("timestamp.json", ts, tk, NULL);
		r = refresh(&c, T0 + 500, E0);
		ok(r == -EPERM && strstr(e.msg, "timestamp.json: signed by 0 of the timestamp keys"),
		   "wrong key: a timestamp signed by the targets key is refused: %s", e.msg);
		cJSON_Delete(ts);
		EVP_PKEY_free(tk);
	}
	restore("ts-good.json", "timestamp.json");
	is_int(refresh(&c, T0 + 500, E0), 0, "the good timestamp again: %s", e.msg);

	/* root rotations */
	o = ropts(T0 + 600);
	is_int(repo_rotate(&o, TUF_TIMESTAMP, E0), 0, "rotate the online key: %s", e.msg);
	is_int(refresh(&c, T0 + 600, E0), 0, "the client follows root 2: %s", e.msg);
	is_int(c.root.version, 2, "it trusts root version 2");
	tuf_client_close(&c);
	is_int(client(&c, "s1", E0), 0, "the client stuck after the fast-forward reopens");
	is_int(refresh(&c, T0 + 600, E0), 0, "and recovers: the new online key voids timestamp "
	       "10: %s", e.msg);
	ok(c.trusted[TUF_TIMESTAMP].version < 10, "it trusts the real timestamp (version %d)",
	   (int)c.trusted[TUF_TIMESTAMP].version);
	is_int(repo_rotate(&o, TUF_ROOT, E0), 0, "rotate every root key: %s", e.msg);
	is_int(repo_rotate(&o, TUF_TARGETS, E0), 0, "rotate the targets key: %s", e.msg);
	is_int(refresh(&c, T0 + 600, E0), 0, "the client follows roots 3 and 4: %s", e.msg);
	is_int(c.root.version, 4, "it trusts root version 4");
	ok(has_target(&c, "app-2.bundle"), "the targets re-signed by the new key are trusted");
	tuf_client_close(&c);
	is_int(client(&c, "s3", E0), 0, "a client with only root 1");
	is_int(refresh(&c, T0 + 600, E0), 0, "walks the chain 1 -> 4: %s", e.msg);
	is_int(c.root.version, 4, "to root version 4");

	/* root 5 signed only by its own new keys, not by root 4's: refused */
	{
		EVP_PKEY *k[3] = {gen(), gen(), gen()}, *other = load_key("online-");
		char *s = root_doc(k, 3, 2, other, 5, k, 3), path[1024];

		snprintf(path, sizeof(path), "%s/5.root.json", repo_dir);
		must(io_write_atomic(path, s, strlen(s), 0644, NULL));
		r = refresh(&c, T0 + 700, E0);
		ok(r == -EPERM && strstr(e.msg, "5.root.json: signed by 0 of the root keys of root "
						"version 4"),
		   "rotation without the old keys' signatures is refused: %s", e.msg);
		is_int(c.root.version, 4, "the client stays on root 4");
		free(s);
		/* signed by one of root 4's keys and its own: threshold 2 of the old not met */
		{
			EVP_PKEY *old = load_key("root-"), *sg[4] = {old, k[0], k[1], k[2]};

			s = root_doc(k, 3, 2, other, 5, sg, 4);
			must(io_write_atomic(path, s, strlen(s), 0644, NULL));
			r = refresh(&c, T0 + 700, E0);
			ok(r == -EPERM && strstr(e.msg, "signed by 1 of the root keys"),
			   "threshold not met: 1 of root 4's keys where 2 are needed: %s", e.msg);
			free(s);
			EVP_PKEY_free(old);
		}
		unlink(path);
		for (int i = 0; i < 3; i++)
			EVP_PKEY_free(k[i]);
		EVP_PKEY_free(other);
	}
	tuf_client_close(&c);
}

/* --- rollout ------------------------------------------------------------------------- */

static void test_rollout(void)
{
	struct tuf_target t = {.name = "app-2.bundle"};
	struct rollout_release rel;
	struct err e = {{0}};
	cJSON *c = cJSON_Parse(
		"{\"stele\":{\"product\":\"app\",\"arch\":\"x86_64\",\"version\":\"2.0\","
		"\"rollback_index\":2,\"root_hash\":\"ab\",\"channels\":{\"stable\":{"
		"\"published\":\"2027-01-15T08:00:00Z\",\"waves\":[{\"at\":\"2027-01-15T08:00:00Z\","
		"\"percent\":10},{\"at\":\"2027-01-16T08:00:00Z\",\"percent\":100}]}}}}");
	int64_t d, at0;
	int below = 0;

	t.custom = c;
	is_int(rollout_release_parse(&t, "stable", &rel, &e), 0, "a release parses: %s", e.msg);
	is_int(rollout_release_parse(&t, "beta", &rel, &e), -ENOENT, "not in channel beta");
	must(rollout_release_parse(&t, "stable", &rel, &e));
	at0 = rel.waves[0].at;
	is_int(rollout_percent_at(&rel, at0 - 1), 0, "closed before the first wave");
	is_int(rollout_percent_at(&rel, at0), 10, "10%% at the first wave");
	is_int(rollout_percent_at(&rel, at0 + 86400), 100, "100%% at the second");
	is_int(rollout_opens_at(&rel, 0.05), at0, "share 0.05 opens at the first wave");
	is_int(rollout_opens_at(&rel, 0.5), at0 + 86400, "share 0.5 at the second");
	for (int i = 0; i < 10000; i++) {
		char id[40];

		snprintf(id, sizeof(id), "%032x", i);
		below += rollout_share("app", id) < 0.1;
	}
	ok(below > 900 && below < 1100, "shares are uniform: %d of 10000 machine ids below 0.1",
	   below);
	ok(rollout_share("app", "m1") == rollout_share("app", "m1") &&
	   rollout_share("app", "m1") != rollout_share("other", "m1"),
	   "a share is stable per machine and differs between products");
	cJSON_ReplaceItemInObjectCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(c, "stele"), "channels"), "stable"),
		"waves", cJSON_Parse("[{\"at\":\"2027-01-16T08:00:00Z\",\"percent\":50},"
				     "{\"at\":\"2027-01-15T08:00:00Z\",\"percent\":100}]"));
	ok(rollout_release_parse(&t, "stable", &rel, &e) == -EINVAL && strstr(e.msg, "waves"),
	   "waves out of time order are malformed: %s", e.msg);
	cJSON_Delete(c);
	ok(rollout_duration_parse("90s", &d) == 0 && d == 90, "90s");
	ok(rollout_duration_parse("10m", &d) == 0 && d == 600, "10m");
	ok(rollout_duration_parse("6h", &d) == 0 && d == 21600, "6h");
	ok(rollout_duration_parse("3600", &d) == 0 && d == 3600, "3600");
	ok(rollout_duration_parse("6x", &d) < 0 && rollout_duration_parse("", &d) < 0 &&
	   rollout_duration_parse("0", &d) < 0 && rollout_duration_parse("-1h", &d) < 0 &&
	   rollout_duration_parse("99999999999d", &d) < 0 && rollout_duration_parse("1hh", &d) < 0,
	   "bad durations are refused");
	ok(rollout_channel_name_ok("stable") && !rollout_channel_name_ok("Stable") &&
	   !rollout_channel_name_ok("") && !rollout_channel_name_ok("a/b"), "channel names");
}

int main(void)
{
	snprintf(top, sizeof(top), "/tmp/test-tuf.XXXXXX");
	if (!mkdtemp(top))
		return 1;
	test_canonical();
	test_signatures();
	test_hostile_docs();
	test_workflow();
	test_rollout();
	sh("rm -rf '%s' '%s.keys'", top, repo_dir);
	return tap_done();
}
