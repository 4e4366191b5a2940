/* A static update repository in TUF 1.0's format (docs/fleet.md): root, targets, snapshot and
 * timestamp, consistent snapshots (every file but timestamp.json is written once under a name
 * with its version or hash in it, so caches may keep it forever), bundles stored by hash under
 * targets/. Channels and rollouts live in the targets' custom fields (lib/rollout.h).
 *
 * Keys live outside the served directory (REPO.keys/ unless told): Ed25519, one file per key,
 * 0600, named ROLE-<key id prefix>.key. A role is signed by every key file whose key root names
 * for it, so root's keys may be taken offline after `repo init` and brought back for a
 * rotation; publishing needs only the targets key and the online key (snapshot, timestamp). */
#ifndef STELE_REPO_H
#define STELE_REPO_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/tuf.h"

struct repo_opts {
	const char *dir;   /* the repository, as served */
	const char *keys;  /* its keys; NULL: DIR.keys */
	int64_t now;       /* seconds since 1970: metadata times and wave offsets */
};

/* Default lifetimes: root a year, targets 90 days, snapshot 7 days, timestamp 1 day. */
extern const int64_t repo_default_lifetime[TUF_ROLES];

struct repo_init_opts {
	int root_keys, root_threshold;     /* how many root keys, how many must sign */
	int64_t lifetime[TUF_ROLES];       /* seconds each role's metadata stays valid */
};
int repo_init(const struct repo_opts *o, const struct repo_init_opts *io, struct err *e)
	__attribute__((warn_unused_result));

struct repo_publish_opts {
	const char *channel;
	const char *waves;     /* "PERCENT@OFFSET,...": "10@0,50@6h,100@1d"; NULL: all at once */
	const char *min_from;  /* oldest version that may update to it; NULL: any */
};
int repo_publish(const struct repo_opts *o, const struct repo_publish_opts *p,
		 const char *const *bundles, int n, struct err *e)
	__attribute__((warn_unused_result));

enum repo_channel_op { REPO_PAUSE, REPO_RESUME, REPO_REVOKE };
/* Pauses or resumes every release of channel, or revokes its release of version. */
int repo_channel_set(const struct repo_opts *o, const char *channel, enum repo_channel_op op,
		     const char *version, struct err *e) __attribute__((warn_unused_result));

/* Re-signs snapshot and timestamp (new versions, new expiry) when either expires within half
 * its lifetime, or always when force. ret_done: whether it signed. */
int repo_refresh(const struct repo_opts *o, bool force, bool *ret_done, struct err *e)
	__attribute__((warn_unused_result));

/* Replaces the keys of role (TUF_ROOT: every root key; TUF_SNAPSHOT or TUF_TIMESTAMP: the
 * online key of both) with new ones and writes the next root, signed by the old root keys and
 * the new; the old key files move to KEYS/retired/. Metadata the role signs is re-signed. */
int repo_rotate(const struct repo_opts *o, enum tuf_role role, struct err *e)
	__attribute__((warn_unused_result));

/* The repository's state: each role's version and expiry, each channel's releases with their
 * rollout at o->now. */
int repo_status(const struct repo_opts *o, cJSON **ret, struct err *e)
	__attribute__((warn_unused_result));

#endif
