/* The TUF client workflow (TUF 1.0 specification, section 5, "Detailed client workflow"), in
 * the order the specification gives: the root chain from the root the device trusts, one
 * version at a time, each new root signed by a threshold of the old root's keys and of its own;
 * then timestamp, snapshot and targets, each signed by its role's threshold, not expired, not
 * older than what is trusted, and matching the version, length and hash the document above it
 * names. Files come through a fetcher (HTTP on the device, a directory in tests), each with a
 * size limit, and what is trusted is kept in a directory (written whole, fsync'd, renamed). */
#ifndef STELE_LIB_TUFCLIENT_H
#define STELE_LIB_TUFCLIENT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "tuf.h"

#define TUF_MAX_ROOT_ROTATIONS 32  /* root versions taken in one refresh */

struct tuf_fetcher {
	/* Fetches path (relative to the repository: "3.root.json", "timestamp.json") whole into
	 * a malloc'd buffer; a file of more than max bytes is an error (-EFBIG), and so is a
	 * shorter one when exact. -ENOENT when the repository has no such file. */
	int (*fetch)(void *ctx, const char *path, size_t max, bool exact, char **ret,
		     size_t *ret_len, struct err *e);
	void *ctx;
};

struct tuf_client {
	char dir[PATH_MAX];          /* trusted metadata; "" keeps it in memory only */
	struct tuf_root root;
	struct tuf_doc trusted[TUF_ROLES];  /* json NULL: none trusted yet */
	unsigned requests;           /* fetches made by the last refresh */
	uint64_t bytes;              /* bytes they returned */
	bool updated;                /* the last refresh took a new timestamp */
};

/* Loads the trusted metadata from dir; the root from dir/root.json, or when there is none,
 * from initial_root (the root built into the image), which must be signed by itself. */
int tuf_client_open(struct tuf_client *c, const char *dir, const char *initial_root,
		    struct err *e) __attribute__((warn_unused_result));
void tuf_client_close(struct tuf_client *c);

/* Runs the workflow at time now. On success c->trusted[TUF_TARGETS] holds the newest
 * targets the repository proved. Errors name the file and the check: "timestamp.json:
 * version 3 is older than the trusted version 4 (rollback)". */
int tuf_client_refresh(struct tuf_client *c, const struct tuf_fetcher *f, int64_t now,
		       struct err *e) __attribute__((warn_unused_result));

/* Where a target is stored under consistent snapshots: "targets/<sha256>.<name>". */
int tuf_target_path(const struct tuf_client *c, const struct tuf_target *t, char *out,
		    size_t n);

#endif
