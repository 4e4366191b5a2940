/* What changed between two releases: `stele diff OLD NEW`. Each side is a disk image (its
 * slot A, or the only slot that holds one), a bundle, or a slot's .verity image with its
 * .rootfs.ext4 beside it. From each: the manifest (its fields, and the packages its inputs
 * name) and every entry of its ext4 (path, type, mode, owner, size, content sha256, symlink
 * target), read with libext2fs. Outside bytes: every header is checked as `stele verify`
 * checks it, the ext4 must lie inside its region, directories are walked with a depth limit
 * and each once (a hard-linked directory in a hostile image is a loop), and entries, names
 * and bytes read are bounded. Signatures are not checked here: that is `stele verify`. */
#ifndef STELE_DIFF_H
#define STELE_DIFF_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/hash.h"
#include "builder/tree.h"

#define DIFF_MAX_ENTRIES 4000000u
#define DIFF_MAX_DEPTH 128

struct diff_entry {
	char *path; /* "/etc/motd" */
	enum tree_type type;
	uint32_t mode, uid, gid;
	uint64_t size;
	uint8_t sha256[SHA256_LEN]; /* regular files */
	char *target;               /* symlinks */
	uint32_t rdev;              /* device nodes: major << 20 | minor */
};

struct diff_side {
	const char *name;
	char *manifest; /* the manifest's text */
	cJSON *doc;     /* ... parsed */
	struct diff_entry *entries; /* sorted by path */
	size_t nentries;
	uint64_t rootfs_offset, rootfs_size;
};

/* Reads one side; s must be zeroed. */
int diff_open(const char *path, struct diff_side *s, struct err *e)
	__attribute__((warn_unused_result));
void diff_side_free(struct diff_side *s);

/* The differences as JSON: {"manifest": [{"field", "old", "new"}...], "packages":
 * {"added", "removed", "changed"}, "files": {"added", "removed", "changed"}, "identical":
 * bool}; NULL when out of memory. */
cJSON *diff_compare(const struct diff_side *old, const struct diff_side *new);

#endif
