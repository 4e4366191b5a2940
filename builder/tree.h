/* The in-memory root filesystem: every rootfs source adds entries here, the files overlay
 * edits it, and the ext4 writer serialises it. Ownership, modes and timestamps live only in
 * this model, never on the host, so building needs no root. Hard links are nodes sharing one
 * tree_inode. Children are kept sorted bytewise, so every walk is deterministic. */
#ifndef STELE_TREE_H
#define STELE_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "lib/err.h"
#include "lib/hash.h"

#define TREE_PATH_MAX 4096
#define TREE_NAME_MAX 255
#define TREE_SYMLINK_MAX 4095

/* Names from outside input (archives, profiles, host trees) are cut in messages to their first
 * TREE_MSG_NAME bytes and "...": err_set(e, EINVAL, "\"" MSG_NAME_FMT "\"", MSG_NAME(p)). */
#define TREE_MSG_NAME 200
#define MSG_NAME_FMT "%.*s%s"
#define MSG_NAME(s) TREE_MSG_NAME, (s), (strlen(s) > TREE_MSG_NAME ? "..." : "")
/* The same for the first n bytes of s. */
#define MSG_NAME_N(s, n)                                                                           \
	(int)((size_t)(n) < TREE_MSG_NAME ? (size_t)(n) : TREE_MSG_NAME), (s),                     \
		((size_t)(n) > TREE_MSG_NAME ? "..." : "")

#define TREE_SYMLOOP_MAX 40 /* symlinks followed in one lookup, as Linux does */

enum tree_type { TREE_REG, TREE_DIR, TREE_SYMLINK, TREE_CHR, TREE_BLK, TREE_FIFO, TREE_SOCK };

/* Where a regular file's bytes come from. */
enum tree_src { TREE_SRC_NONE, TREE_SRC_HOST, TREE_SRC_SPOOL, TREE_SRC_MEM };

struct tree_xattr {
	char *name; /* full name with namespace prefix: "user.x", "security.capability" */
	void *value;
	size_t len;
};

struct tree_inode {
	enum tree_type type;
	uint32_t mode; /* permission bits including setuid/setgid/sticky (07777) */
	uint32_t uid, gid;
	int64_t mtime;
	uint64_t size;
	uint64_t alloc; /* upper bound of bytes holding data (less than size when sparse; every
			 * setter of content sets it, 0 for a file that is all holes) */
	uint32_t rdev_major, rdev_minor;
	char *target; /* symlink target */
	enum tree_src src;
	char *host_path;    /* TREE_SRC_HOST */
	uint64_t spool_off; /* TREE_SRC_SPOOL */
	void *mem;          /* TREE_SRC_MEM, owned */
	struct tree_xattr *xattrs;
	size_t nxattrs;
	bool has_sha256; /* content digest known already (computed while spooling) */
	uint8_t sha256[SHA256_LEN];
	uint32_t nlink; /* directory entries naming this inode, kept by the tree */
	uint32_t refs;
	uint32_t ino; /* scratch for writers */
	const char *origin; /* where it came from ("package busybox-static 1:1.35.0-4+b3"),
			     * owned by the tree; NULL: stele made it */
};

struct tree_node {
	char *name;
	struct tree_node *parent;
	struct tree_inode *inode;
	struct tree_node **children; /* sorted by strcmp(name) */
	size_t nchildren, cap;
};

struct tree_origin;

struct tree {
	struct tree_node *root;
	int spool_fd; /* unlinked temp file holding archive contents; -1 until used */
	uint64_t spool_size;
	struct tree_origin *origins; /* every origin named so far; origins->name is current */
};

int tree_new(struct tree **ret, struct err *e);

/* Names where the inodes put from now on come from (a package, an archive, a profile entry),
 * for messages about a file in the image; NULL: stele itself. tree_put stamps the current
 * origin on an inode that has none. */
int tree_set_origin(struct tree *t, const char *name, struct err *e);
/* What a message names as the inode's origin: its own, else host_path, else "stele". */
const char *tree_inode_origin(const struct tree_inode *in);
void tree_free(struct tree *t);

/* A fresh inode with one reference, owned by 0:0, or NULL when out of memory. */
struct tree_inode *tree_inode_new(enum tree_type type, uint32_t mode);
void tree_inode_unref(struct tree_inode *in);
int tree_inode_set_xattr(struct tree_inode *in, const char *name, const void *value, size_t len,
			 struct err *e);
int tree_inode_set_target(struct tree_inode *in, const char *target, struct err *e);
/* Takes ownership of buf (malloc'd). */
void tree_inode_set_mem(struct tree_inode *in, void *buf, size_t len);
int tree_inode_set_host(struct tree_inode *in, const char *path, uint64_t size, uint64_t alloc,
			struct err *e);

/* Normalises a path inside the image: leading "/" and "./", repeated and trailing slashes and
 * "." components are dropped; ".." components, empty input and over-long names are errors.
 * The result has no leading slash ("" is the root). */
int tree_path_normalize(const char *path, char *out, size_t outlen, struct err *e);

/* The one rule for symlink targets, whatever made the link (an archive, a host directory, the
 * profile's files): an absolute target is fine (it resolves inside the image, where the
 * image is /), a relative one must not climb above the root when followed from the link's
 * directory (path: the link's normalised path). Real trees have both kinds: /etc/mtab ->
 * /proc/self/mounts, /lib64/ld-linux-x86-64.so.2 -> ../lib/x86_64-linux-gnu/...; a link
 * that climbs out would point into the host wherever the image is mounted for inspection. */
bool tree_symlink_inside(const char *path, const char *target);
/* The same, and the target's length, as an error naming the target. */
int tree_symlink_check(const char *path, const char *target, struct err *e)
	__attribute__((warn_unused_result));

/* Puts inode at path (taking a new reference). Missing parents become directories 0755 0:0.
 * A directory put on a directory keeps its children; anything else replaces the old entry.
 * A parent that exists but is not a directory is an error, and so is a symlink that fails
 * tree_symlink_check. */
int tree_put(struct tree *t, const char *path, struct tree_inode *in, struct err *e);
/* Adds a hard link at path to the existing non-directory at target. */
int tree_link(struct tree *t, const char *path, const char *target, struct err *e);
int tree_remove(struct tree *t, const char *path, struct err *e);

/* Looks a path up without following symlinks; NULL when absent or invalid. */
struct tree_node *tree_lookup(const struct tree *t, const char *path);
/* Looks a path up following symlinks inside the image (at most TREE_SYMLOOP_MAX); NULL when
 * absent or in a loop. */
struct tree_node *tree_resolve(const struct tree *t, const char *path);

/* Pre-order walk in sorted order. path is the node's absolute path ("/" for the root).
 * A non-zero return from fn stops the walk and is returned. */
typedef int (*tree_walk_fn)(struct tree_node *n, const char *path, void *userdata);
int tree_walk(struct tree *t, tree_walk_fn fn, void *userdata);

/* Archive contents go to the spool: reserve room, then write at the returned offset. */
int tree_spool_reserve(struct tree *t, uint64_t size, uint64_t *ret_off, struct err *e);
int tree_spool_pwrite(struct tree *t, const void *buf, size_t len, uint64_t off, struct err *e);

/* Reads a regular file's content, whatever its source. */
struct tree_reader {
	const struct tree *tree;
	const struct tree_inode *in;
	int fd;
	bool own_fd;
};
int tree_reader_open(const struct tree *t, const struct tree_inode *in, struct tree_reader *r,
		     struct err *e);
/* Reads exactly len bytes at off (the caller keeps off + len <= size). */
int tree_reader_pread(struct tree_reader *r, void *buf, size_t len, uint64_t off, struct err *e);
void tree_reader_close(struct tree_reader *r);

struct tree_stats {
	uint64_t nodes, inodes, dirs, data_bytes;
};
void tree_stats(struct tree *t, struct tree_stats *st);

/* A digest of the whole tree: paths, types, modes, owners, link identity, targets, devices,
 * xattrs and file contents. Seeds UUIDs and salts of everything built from it. */
int tree_digest(struct tree *t, uint8_t out[SHA256_LEN], struct err *e);

const char *tree_type_name(enum tree_type type);

#endif
