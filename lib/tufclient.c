#include "tufclient.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "io.h"

static const size_t role_max[TUF_ROLES] = {TUF_ROOT_MAX, TUF_TARGETS_MAX, TUF_SNAPSHOT_MAX,
					   TUF_TIMESTAMP_MAX};

static int store_path(const struct tuf_client *c, enum tuf_role role, char *out, size_t n)
{
	return (size_t)snprintf(out, n, "%s/%s.json", c->dir, tuf_role_names[role]) < n
		       ? 0
		       : -ENAMETOOLONG;
}

static int store_put(const struct tuf_client *c, enum tuf_role role, const char *buf,
		     size_t len, struct err *e)
{
	char path[PATH_MAX + 32];

	if (!c->dir[0])
		return 0;
	if (store_path(c, role, path, sizeof(path)) < 0)
		return err_set(e, ENAMETOOLONG, "%s: path too long", c->dir);
	return io_write_atomic(path, buf, len, 0644, e);
}

/* Forgets a trusted document, in memory and in the store. */
static void store_drop(struct tuf_client *c, enum tuf_role role)
{
	char path[PATH_MAX + 32];

	tuf_doc_free(&c->trusted[role]);
	if (c->dir[0] && store_path(c, role, path, sizeof(path)) == 0)
		unlink(path);
}

static int load_file(const char *path, enum tuf_role role, struct tuf_doc *ret,
		     struct err *e)
{
	char *buf;
	size_t len;
	int r = io_read_alloc(path, role_max[role], &buf, &len, e);

	if (r < 0)
		return r;
	r = tuf_doc_parse(path, buf, len, role, ret, e);
	free(buf);
	return r;
}

static void trust(struct tuf_client *c, enum tuf_role role, struct tuf_doc *d)
{
	tuf_doc_free(&c->trusted[role]);
	c->trusted[role] = *d;
	memset(d, 0, sizeof(*d));
}

int tuf_client_open(struct tuf_client *c, const char *dir, const char *initial_root,
		    struct err *e)
{
	char path[PATH_MAX + 32];
	struct tuf_doc d;
	int r;

	memset(c, 0, sizeof(*c));
	if (dir && strlen(dir) >= sizeof(c->dir))
		return err_set(e, ENAMETOOLONG, "%s: path too long", dir);
	if (dir)
		strcpy(c->dir, dir);
	r = -ENOENT;
	if (c->dir[0]) {
		store_path(c, TUF_ROOT, path, sizeof(path));
		r = load_file(path, TUF_ROOT, &d, e);
	}
	if (r == -ENOENT)
		r = load_file(initial_root, TUF_ROOT, &d, e);
	if (r == 0)
		r = tuf_root_parse(&d, &c->root, e);
	if (r == 0)
		r = tuf_verify(&c->root, TUF_ROOT, &d, "trusted root.json", e);
	if (r < 0) {
		tuf_doc_free(&d);
		return r;
	}
	trust(c, TUF_ROOT, &d);
	if (e)
		e->msg[0] = '\0';
	/* The others are only a floor against rollback: one that does not load, or that the
	 * trusted root's keys for it did not sign (they were rotated), is dropped. */
	for (int role = TUF_TARGETS; role < TUF_ROLES && c->dir[0]; role++) {
		struct err ignored;

		store_path(c, (enum tuf_role)role, path, sizeof(path));
		if (load_file(path, (enum tuf_role)role, &d, &ignored) < 0)
			continue;
		if (tuf_verify(&c->root, (enum tuf_role)role, &d, path, &ignored) == 0)
			trust(c, (enum tuf_role)role, &d);
		else
			tuf_doc_free(&d);
	}
	return 0;
}

void tuf_client_close(struct tuf_client *c)
{
	for (int i = 0; i < TUF_ROLES; i++)
		tuf_doc_free(&c->trusted[i]);
}

static int fetch(struct tuf_client *c, const struct tuf_fetcher *f, const char *path,
		 size_t max, bool exact, char **ret, size_t *ret_len, struct err *e)
{
	int r;

	c->requests++;
	r = f->fetch(f->ctx, path, max, exact, ret, ret_len, e);
	if (r == 0)
		c->bytes += *ret_len;
	return r;
}

static bool same_keys(const struct tuf_role_keys *a, const struct tuf_role_keys *b)
{
	if (a->n != b->n || a->threshold != b->threshold)
		return false;
	for (int i = 0; i < a->n; i++) {
		int j = 0;

		while (j < b->n && strcmp(a->keyids[i], b->keyids[j]) != 0)
			j++;
		if (j == b->n)
			return false;
	}
	return true;
}

/* 5.3: each next root, signed by the trusted root's keys and by its own. */
static int update_root(struct tuf_client *c, const struct tuf_fetcher *f, struct err *e)
{
	for (int i = 0; i < TUF_MAX_ROOT_ROTATIONS; i++) {
		uint64_t v = c->root.version + 1;
		struct tuf_root *next = calloc(1, sizeof(*next));
		char name[64], *buf = NULL;
		struct tuf_doc d = {0};
		size_t len;
		int r;

		if (!next)
			return err_set(e, ENOMEM, "out of memory");
		snprintf(name, sizeof(name), "%llu.root.json", (unsigned long long)v);
		r = fetch(c, f, name, TUF_ROOT_MAX, false, &buf, &len, e);
		if (r == -ENOENT) {
			free(next);
			return 0;
		}
		if (r == 0)
			r = tuf_doc_parse(name, buf, len, TUF_ROOT, &d, e);
		if (r == 0)
			r = tuf_verify(&c->root, TUF_ROOT, &d, name, e);
		if (r == 0 && (r = tuf_root_parse(&d, next, e)) < 0)
			r = err_prefix(e, r, "%s", name);
		if (r == 0)
			r = tuf_verify(next, TUF_ROOT, &d, name, e);
		if (r == 0 && d.version != v)
			r = err_set(e, EINVAL, "%s: holds version %llu", name,
				    (unsigned long long)d.version);
		if (r == 0)
			r = store_put(c, TUF_ROOT, buf, len, e);
		if (r == 0) {
			/* 5.3.11: new timestamp or snapshot keys void what they signed before */
			if (!same_keys(&c->root.roles[TUF_TIMESTAMP], &next->roles[TUF_TIMESTAMP]) ||
			    !same_keys(&c->root.roles[TUF_SNAPSHOT], &next->roles[TUF_SNAPSHOT])) {
				store_drop(c, TUF_TIMESTAMP);
				store_drop(c, TUF_SNAPSHOT);
			}
			c->root = *next;
			trust(c, TUF_ROOT, &d);
		}
		free(next);
		free(buf);
		tuf_doc_free(&d);
		if (r < 0)
			return r;
	}
	return 0;
}

static int not_expired(const struct tuf_doc *d, const char *name, int64_t now, struct err *e)
{
	char t[32];

	if (d->expires > now)
		return 0;
	tuf_time_format(d->expires, t);
	return err_set(e, ETIMEDOUT, "%s: expired at %s (freeze attack, or a repository not "
				     "refreshed)", name, t);
}

static int check_hash(const char *name, const char *buf, size_t len, const struct tuf_meta *m,
		      struct err *e)
{
	uint8_t d[SHA256_LEN];

	if (m->length && len != m->length)
		return err_set(e, EINVAL, "%s: %zu bytes, %llu expected", name, len,
			       (unsigned long long)m->length);
	if (!m->has_sha256)
		return 0;
	sha256_buf(buf, len, d);
	return memcmp(d, m->sha256, SHA256_LEN) == 0
		       ? 0
		       : err_set(e, EINVAL, "%s: its sha256 is not the one listed for it", name);
}

/* 5.4: timestamp. ret_new: a newer timestamp was taken. */
static int update_timestamp(struct tuf_client *c, const struct tuf_fetcher *f, int64_t now,
			    bool *ret_new, struct err *e)
{
	const char *name = "timestamp.json";
	struct tuf_doc d = {0};
	struct tuf_doc *old = &c->trusted[TUF_TIMESTAMP];
	struct tuf_meta m, oldm;
	char *buf = NULL;
	size_t len;
	int r;

	*ret_new = false;
	r = fetch(c, f, name, TUF_TIMESTAMP_MAX, false, &buf, &len, e);
	if (r == 0)
		r = tuf_doc_parse(name, buf, len, TUF_TIMESTAMP, &d, e);
	if (r == 0)
		r = tuf_verify(&c->root, TUF_TIMESTAMP, &d, name, e);
	if (r == 0)
		r = tuf_meta_get(&d, "snapshot.json", &m, e);
	if (r == 0 && old->json && d.version < old->version)
		r = err_set(e, EINVAL, "%s: version %llu is older than the trusted version %llu "
				       "(rollback)", name, (unsigned long long)d.version,
			    (unsigned long long)old->version);
	if (r == 0 && old->json && d.version > old->version &&
	    tuf_meta_get(old, "snapshot.json", &oldm, NULL) == 0 && m.version < oldm.version)
		r = err_set(e, EINVAL, "%s: names snapshot version %llu, older than the trusted "
				       "%llu (rollback)", name, (unsigned long long)m.version,
			    (unsigned long long)oldm.version);
	if (r == 0 && !(old->json && d.version == old->version)) {
		r = not_expired(&d, name, now, e);
		if (r == 0)
			r = store_put(c, TUF_TIMESTAMP, buf, len, e);
		if (r == 0) {
			trust(c, TUF_TIMESTAMP, &d);
			*ret_new = true;
		}
	}
	if (r == 0)
		r = not_expired(&c->trusted[TUF_TIMESTAMP], name, now, e);
	free(buf);
	tuf_doc_free(&d);
	return r;
}

/* 5.5 and 5.6: snapshot (named by timestamp) or targets (named by snapshot). */
static int update_next(struct tuf_client *c, const struct tuf_fetcher *f, enum tuf_role role,
		       int64_t now, struct err *e)
{
	enum tuf_role above = role == TUF_SNAPSHOT ? TUF_TIMESTAMP : TUF_SNAPSHOT;
	const char *file = role == TUF_SNAPSHOT ? "snapshot.json" : "targets.json";
	struct tuf_doc *old = &c->trusted[role];
	struct tuf_doc d = {0};
	struct tuf_meta m, om, nm;
	char name[64], *buf = NULL;
	size_t len;
	int r;

	r = tuf_meta_get(&c->trusted[above], file, &m, e);
	if (r < 0)
		return r;
	if (old->json && old->version == m.version)
		return not_expired(old, file, now, e);
	if (c->root.consistent_snapshot)
		snprintf(name, sizeof(name), "%llu.%s", (unsigned long long)m.version, file);
	else
		snprintf(name, sizeof(name), "%s", file);
	r = fetch(c, f, name, m.length ? m.length : role_max[role], m.length != 0, &buf, &len, e);
	if (r == 0)
		r = check_hash(name, buf, len, &m, e);
	if (r == 0)
		r = tuf_doc_parse(name, buf, len, role, &d, e);
	if (r == 0)
		r = tuf_verify(&c->root, role, &d, name, e);
	if (r == 0 && d.version != m.version)
		r = err_set(e, EINVAL, "%s: version %llu, but %s names version %llu", name,
			    (unsigned long long)d.version, tuf_role_names[above],
			    (unsigned long long)m.version);
	/* 5.5.5: no targets file older than the trusted snapshot's (mix-and-match, rollback) */
	if (r == 0 && role == TUF_SNAPSHOT && old->json &&
	    tuf_meta_get(old, "targets.json", &om, NULL) == 0) {
		if (tuf_meta_get(&d, "targets.json", &nm, e) < 0)
			r = -EINVAL;
		else if (nm.version < om.version)
			r = err_set(e, EINVAL, "%s: names targets version %llu, older than the "
					       "trusted %llu (rollback)", name,
				    (unsigned long long)nm.version, (unsigned long long)om.version);
	}
	if (r == 0)
		r = not_expired(&d, name, now, e);
	if (r == 0)
		r = store_put(c, role, buf, len, e);
	if (r == 0)
		trust(c, role, &d);
	free(buf);
	tuf_doc_free(&d);
	return r;
}

int tuf_client_refresh(struct tuf_client *c, const struct tuf_fetcher *f, int64_t now,
		       struct err *e)
{
	int r;

	c->requests = 0;
	c->bytes = 0;
	c->updated = false;
	r = update_root(c, f, e);
	if (r == 0)
		r = not_expired(&c->trusted[TUF_ROOT], "root.json", now, e);
	if (r == 0)
		r = update_timestamp(c, f, now, &c->updated, e);
	if (r == 0)
		r = update_next(c, f, TUF_SNAPSHOT, now, e);
	if (r == 0)
		r = update_next(c, f, TUF_TARGETS, now, e);
	if (r == 0 && e)
		e->msg[0] = '\0'; /* the end of the root chain (ENOENT) is no error */
	return r;
}

int tuf_target_path(const struct tuf_client *c, const struct tuf_target *t, char *out, size_t n)
{
	char hex[SHA256_HEX_LEN];
	int k;

	hex_encode(t->sha256, SHA256_LEN, hex);
	if (c->root.consistent_snapshot)
		k = snprintf(out, n, "targets/%s.%s", hex, t->name);
	else
		k = snprintf(out, n, "targets/%s", t->name);
	return k >= 0 && (size_t)k < n ? 0 : -ENAMETOOLONG;
}
