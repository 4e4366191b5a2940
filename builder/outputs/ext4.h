/* Writes the tree as a read-only ext4 filesystem with libext2fs: 4096-byte blocks (dm-verity
 * needs them), no journal, sorted directories, every timestamp SOURCE_DATE_EPOCH, UUID and
 * directory hash seed from a seed, all-zero blocks left as holes, hard links, fast and slow
 * symlinks, device nodes and xattrs. */
#ifndef STELE_OUTPUTS_EXT4_H
#define STELE_OUTPUTS_EXT4_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/hash.h"
#include "builder/secrets.h"
#include "builder/tree.h"

#define EXT4_BLOCK_SIZE 4096

struct ext4_opts {
	uint64_t size;           /* fixed size in bytes; 0: content + headroom */
	uint32_t headroom_pct;   /* used when headroom_bytes is 0 */
	uint64_t headroom_bytes;
	int64_t epoch;
	uint8_t seed[SHA256_LEN];
	const char *label;       /* volume label, at most 16 bytes used */
	bool journal;            /* for read-write filesystems (the data partition) */
	bool writable;           /* inodes for use, as mke2fs gives them, not only for the tree */
	struct secret_scan *scan; /* every file's bytes and names go through it; NULL: none */
};

struct ext4_result {
	uint64_t size;        /* bytes of the image */
	uint64_t blocks_used; /* allocated blocks */
	uint64_t inodes_used;
	uint8_t uuid[16];
};

/* Writes the filesystem to path, which must not exist yet. The tree's root gets a
 * lost+found directory when it has none (e2fsck wants one). */
int ext4_write(struct tree *t, const char *path, const struct ext4_opts *o,
	       struct ext4_result *res, struct err *e);

/* Writes the empty read-write data partition: `bytes` (a multiple of 4096) with a journal and
 * inodes for use, labelled "data". */
int ext4_write_data(const char *path, uint64_t bytes, const uint8_t seed[SHA256_LEN],
		    int64_t epoch, struct err *e);

/* Checks the structure of the ext4 at byte offset `offset` of path, as far as it is cheap:
 * superblock, every group descriptor and its checksum, every bitmap and its checksum. Not a
 * full fsck: it catches a writer that left metadata inconsistent. */
int ext4_check(const char *path, uint64_t offset, struct err *e);

/* Checks, without writing anything, that the tree fits the size o asks for, and that its
 * files' full sizes (holes included) add up to no more than the filesystem: the check
 * ext4_write makes first, for callers that want it before other work on the tree. */
int ext4_check_fit(struct tree *t, const struct ext4_opts *o, struct err *e)
	__attribute__((warn_unused_result));

/* Blocks (of 4096 bytes) needed for the tree's content, metadata excluded; exposed for tests. */
uint64_t ext4_content_blocks(struct tree *t);

#endif
