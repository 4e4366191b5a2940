/* Finds secrets in an image's files while the ext4 writer reads their bytes: private keys
 * (PEM and OpenSSH armour; PKCS#8, PKCS#1 and SEC1 DER; PKCS#12), AWS access key ids and
 * secret keys, GitHub, GitLab and Slack tokens, GCP service account keys, signed JWTs, shell
 * histories and .git directories. Each rule wants the whole shape of the secret (a PEM header
 * followed by key material, a DER key that is the whole file, a token of its exact alphabet
 * and length between word boundaries), so that a Debian tree gives no hit at all: a word such
 * as "password=" is not a rule. A hit is refused unless an entry of the profile's
 * secrets.allow (a path pattern, the rule, a reason) names it. */
#ifndef STELE_SECRETS_H
#define STELE_SECRETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

enum secret_rule {
	SECRET_PEM_KEY,
	SECRET_DER_KEY,
	SECRET_PKCS12,
	SECRET_AWS_KEY_ID,
	SECRET_AWS_SECRET,
	SECRET_GITHUB,
	SECRET_GITLAB,
	SECRET_SLACK,
	SECRET_GCP_ACCOUNT,
	SECRET_JWT,
	SECRET_HISTORY,
	SECRET_GIT_DIR,
	SECRET_NRULES
};

/* Every rule's name, in enum order, NULL-terminated. */
extern const char *const secret_rule_names[];

/* "private-key-pem", ...; NULL for a value out of range. */
const char *secret_rule_name(enum secret_rule r);
/* What the rule finds, for messages and docs. */
const char *secret_rule_what(enum secret_rule r);
/* The rule of that name, or -1. */
int secret_rule_find(const char *name);

/* One entry of secrets.allow: path is an fnmatch(3) pattern (FNM_PATHNAME) on the path in the
 * image ("/etc/ssl/private/demo.key"). */
struct secret_allow {
	const char *path;
	enum secret_rule rule;
	const char *reason;
};

struct secret_hit {
	char *path;   /* in the image */
	char *origin; /* the package, archive, host file or profile entry it came from */
	uint64_t offset;
	enum secret_rule rule;
	int allowed_by; /* index into the allow list, or -1 */
	int known;      /* index into secret_known (a key every copy of a package has), or -1 */
};

/* Keys that Debian packages ship to everyone, so they are no product's secret: matched like
 * secrets.allow entries, reported, recorded in the manifest, never refused. */
extern const struct secret_allow secret_known[];
extern const size_t secret_nknown;

#define SECRET_SPAN 4096u /* bytes from a match's first byte that any rule looks at, at most */
#define SECRET_MAX_HITS 1000

struct secret_scan {
	const struct secret_allow *allow;
	size_t nallow;
	unsigned *allow_hits; /* per allow entry: the hits it let through */
	struct secret_hit *hits;
	size_t nhits, cap;
	size_t dropped; /* refused hits past SECRET_MAX_HITS, not kept */
	int error;      /* -ENOMEM once an allocation failed */
	uint64_t bytes;    /* scanned, for the build's report */
	double seconds;    /* spent scanning them (CLOCK_MONOTONIC) */
	/* the file being read */
	const char *path, *origin;
	uint64_t size, off; /* off: bytes fed so far */
	bool found[SECRET_NRULES];
	uint8_t pend[SECRET_SPAN]; /* the last bytes, whose matches may need the next ones */
	size_t npend;
	int before; /* the byte before pend[0] (or the chunk), -1 at the file's start */
};

int secret_scan_init(struct secret_scan *s, const struct secret_allow *allow, size_t nallow,
		     struct err *e);
void secret_scan_free(struct secret_scan *s);

/* The rules on names: a directory called .git, a shell history that is not empty. */
void secret_scan_name(struct secret_scan *s, const char *path, bool dir, uint64_t size,
		      const char *origin);

/* A regular file's bytes, in order, in pieces of any size (the first one holding 64 bytes or
 * the whole file, for the DER rules). path and origin must stay valid until
 * secret_file_end. */
void secret_file_begin(struct secret_scan *s, const char *path, const char *origin,
		       uint64_t size);
void secret_file_data(struct secret_scan *s, const uint8_t *buf, size_t len);
void secret_file_end(struct secret_scan *s);

/* The same for a whole buffer (tests, fuzzing). */
void secret_scan_buffer(struct secret_scan *s, const char *path, const uint8_t *buf,
			size_t len);

/* 0 when every hit is allowed; else -EPERM and a message naming the first refused hit and
 * how many there are. */
int secret_scan_verdict(const struct secret_scan *s, struct err *e);

/* One line about a hit: "PATH: RULE (WHAT) at byte N, from ORIGIN". */
void secret_hit_format(const struct secret_hit *h, char *out, size_t n);

#endif
