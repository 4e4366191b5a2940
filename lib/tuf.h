/* The Update Framework (TUF 1.0) metadata as stele writes and reads it: canonical JSON,
 * Ed25519 keys and signatures, and the parse and checks of each role's document. The
 * repository side (`stele repo`, `stele publish`) signs with it; the client workflow
 * (lib/tufclient.h, run by stele-update and the host tests) verifies with it. Every document
 * is bounded (sizes, key and target counts, string lengths) and refused with the file and the
 * field named. Strings must be printable: a control byte is refused, because the canonical
 * JSON dialects in use (OLPC's, RFC 8785) disagree on how to escape it, and a signature over
 * bytes two verifiers read differently is no signature. */
#ifndef STELE_LIB_TUF_H
#define STELE_LIB_TUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "hash.h"

struct cJSON;
typedef struct evp_pkey_st EVP_PKEY;

#define TUF_SPEC_VERSION "1.0.31"
#define TUF_MAX_KEYS 32       /* keys one root document may list */
#define TUF_MAX_ROLE_KEYS 16  /* keys one role may name */
#define TUF_MAX_SIGS 32       /* signatures one document may carry */
#define TUF_KEYID_LEN 64      /* hex digits of a key id (sha256) */
#define TUF_ED25519_LEN 32
#define TUF_NAME_MAX 200      /* a target's name */
#define TUF_MAX_TARGETS 10000

/* Largest file the client accepts for each role when the referring document gives no length. */
#define TUF_ROOT_MAX (512u << 10)
#define TUF_TIMESTAMP_MAX (16u << 10)
#define TUF_SNAPSHOT_MAX (1u << 20)
#define TUF_TARGETS_MAX (16u << 20)

enum tuf_role { TUF_ROOT, TUF_TARGETS, TUF_SNAPSHOT, TUF_TIMESTAMP, TUF_ROLES };
extern const char *const tuf_role_names[TUF_ROLES];

/* Canonical JSON (sorted keys, no whitespace, integers only) of v, NUL-terminated, malloc'd.
 * Refuses a non-integer or out-of-range number (beyond +-2^53), a string with a control byte,
 * an object with a duplicate key and nesting deeper than 32. */
int tuf_canonical(const struct cJSON *v, char **ret, size_t *ret_len, struct err *e)
	__attribute__((warn_unused_result));

struct tuf_key {
	char keyid[TUF_KEYID_LEN + 1];
	uint8_t pub[TUF_ED25519_LEN];
};

/* The key object {"keytype":"ed25519","keyval":{"public":HEX},"scheme":"ed25519"} of pub,
 * and its key id: sha256 of that object's canonical JSON. */
struct cJSON *tuf_key_json(const uint8_t pub[TUF_ED25519_LEN]);
void tuf_key_id(const uint8_t pub[TUF_ED25519_LEN], char ret[TUF_KEYID_LEN + 1]);
/* The public half of an Ed25519 private key; -EINVAL when it is not Ed25519. */
int tuf_key_public(EVP_PKEY *key, struct tuf_key *ret, struct err *e);

/* A role's keys and threshold, as root names them. */
struct tuf_role_keys {
	char keyids[TUF_MAX_ROLE_KEYS][TUF_KEYID_LEN + 1];
	int n;
	int threshold;
};

/* A metadata file parsed but not yet trusted: the envelope checked ({"signatures": [...],
 * "signed": {...}}), _type, spec_version 1.x, version >= 1 and expires read. */
struct tuf_doc {
	enum tuf_role role;
	struct cJSON *json;         /* the whole document */
	const struct cJSON *body;   /* its "signed" */
	char *canonical;            /* canonical JSON of "signed": what the signatures sign */
	size_t canonical_len;
	uint64_t version;
	int64_t expires;            /* seconds since 1970 */
};

/* name is the file's name for messages ("2.root.json"). */
int tuf_doc_parse(const char *name, const char *buf, size_t len, enum tuf_role role,
		  struct tuf_doc *ret, struct err *e) __attribute__((warn_unused_result));
void tuf_doc_free(struct tuf_doc *d);

struct tuf_root {
	uint64_t version;
	int64_t expires;
	bool consistent_snapshot;
	struct tuf_key keys[TUF_MAX_KEYS];
	int nkeys;
	struct tuf_role_keys roles[TUF_ROLES];
};

/* Root's keys (each key id must be the hash of its key) and its four roles (threshold >= 1,
 * at most as many keys as named, each named key listed). */
int tuf_root_parse(const struct tuf_doc *d, struct tuf_root *ret, struct err *e)
	__attribute__((warn_unused_result));

/* 0 when at least the role's threshold of distinct keys that root gives the role signed d;
 * otherwise -EPERM, saying how many of how many. */
int tuf_verify(const struct tuf_root *root, enum tuf_role role, const struct tuf_doc *d,
	       const char *name, struct err *e) __attribute__((warn_unused_result));

/* What timestamp says of snapshot.json, or snapshot of targets.json. */
struct tuf_meta {
	uint64_t version;
	uint64_t length;            /* 0: not given */
	bool has_sha256;
	uint8_t sha256[SHA256_LEN];
};
int tuf_meta_get(const struct tuf_doc *d, const char *file, struct tuf_meta *ret,
		 struct err *e) __attribute__((warn_unused_result));

struct tuf_target {
	char name[TUF_NAME_MAX + 1];
	uint64_t length;
	uint8_t sha256[SHA256_LEN];
	const struct cJSON *custom;  /* inside the targets document; NULL when absent */
};
/* Every target of a targets document (names: [A-Za-z0-9._+~-], no leading dot, no slash), in
 * the document's order. *ret is malloc'd. */
int tuf_targets_list(const struct tuf_doc *d, struct tuf_target **ret, size_t *ret_n,
		     struct err *e) __attribute__((warn_unused_result));

/* "2026-12-04T18:00:00Z" <-> seconds since 1970 (UTC, no fraction, no offset). */
int tuf_time_parse(const char *s, int64_t *ret);
void tuf_time_format(int64_t t, char out[32]);

/* The signed document {"signatures": [...], "signed": body} with a signature by each key,
 * as canonical JSON (malloc'd). */
int tuf_doc_sign(const struct cJSON *body, EVP_PKEY *const *keys, size_t nkeys, char **ret,
		 size_t *ret_len, struct err *e) __attribute__((warn_unused_result));

#endif
