/* dm-verity hash trees in the format of `veritysetup format` (superblock version 1, hash
 * type 1: digest = H(salt || block)), byte for byte: superblock at hash_offset, tree levels
 * from the top down starting at the next hash block after it, digests padded to a power of
 * two, blocks zero-padded. Leaves are hashed on every core; an all-zero data block is hashed
 * once (its digest only depends on the salt). */
#ifndef STELE_LIB_VERITY_H
#define STELE_LIB_VERITY_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define VERITY_SB_SIZE 512
#define VERITY_MAX_DIGEST 64
#define VERITY_MAX_SALT 256
#define VERITY_MAX_LEVELS 63
/* verity_create streams the tree through the hash file (memory does not grow with it);
 * verity_check holds the stored tree in memory and refuses a larger one. 4 GiB is the tree
 * of a 256 GiB rootfs with sha512 and 4 KiB blocks. */
#define VERITY_TREE_MEM_MAX (4ULL << 30)

struct verity_params {
	char hash_name[32];        /* "sha256", "sha512" or "sha1" */
	uint32_t data_block_size;  /* 512..1 MiB, a power of two */
	uint32_t hash_block_size;
	uint64_t data_blocks;
	uint8_t salt[VERITY_MAX_SALT];
	uint16_t salt_size;
	uint8_t uuid[16];
	uint64_t hash_offset;      /* byte offset of the superblock in the hash file */
	uint64_t data_offset;      /* byte offset of data block 0 in the data file (a partition
				    * inside a disk image); not stored in the superblock */
};

/* Where the tree lives, as veritysetup lays it out. Offsets in bytes from the start of the
 * hash file. */
struct verity_layout {
	int levels;
	uint32_t digest_size, digest_size_full, hashes_per_block;
	uint64_t level_offset[VERITY_MAX_LEVELS]; /* level 0 hashes data blocks */
	uint64_t level_blocks[VERITY_MAX_LEVELS];
	uint64_t tree_offset, tree_end; /* first and past-last byte of the tree */
};

/* Fills defaults: sha256, 4096-byte blocks, no salt, zero UUID, hash_offset 0. */
void verity_params_init(struct verity_params *p);
int verity_layout(const struct verity_params *p, struct verity_layout *ret, struct err *e);

/* Hashes data_fd and writes superblock + tree into hash_fd. threads 0 = every core.
 * root gets the root digest (layout.digest_size bytes). */
int verity_create(int data_fd, int hash_fd, const struct verity_params *p, unsigned threads,
		  uint8_t root[VERITY_MAX_DIGEST], struct err *e);

/* The same tree, built from data the caller reads (for a caller that reads it once for
 * several purposes): verity_stream_add takes the next count data blocks (count *
 * data_block_size bytes at data; data NULL stands for count all-zero blocks, a hole), and
 * once all p->data_blocks have been added, verity_stream_finish writes the upper levels and
 * the superblock into hash_fd and the root digest into root. One thread; memory does not
 * grow with the tree. */
struct verity_stream;
int verity_stream_new(const struct verity_params *p, int hash_fd, struct verity_stream **ret,
		      struct err *e) __attribute__((warn_unused_result));
int verity_stream_add(struct verity_stream *s, const uint8_t *data, uint64_t count,
		      struct err *e) __attribute__((warn_unused_result));
int verity_stream_finish(struct verity_stream *s, uint8_t root[VERITY_MAX_DIGEST],
			 struct err *e) __attribute__((warn_unused_result));
void verity_stream_free(struct verity_stream *s);

void verity_sb_encode(const struct verity_params *p, uint8_t out[VERITY_SB_SIZE]);
/* Bounds-checks every field: magic, version, hash type, algorithm, block sizes, salt size. */
int verity_sb_decode(const uint8_t in[VERITY_SB_SIZE], struct verity_params *ret,
		     struct err *e);

/* One failed check: what ("superblock", "root hash", "tree", "data") and which block. */
typedef void (*verity_report_fn)(const char *what, uint64_t block, const char *detail,
				 void *userdata);

/* Checks the tree in hash_fd against root (top down: every tree block against its parent's
 * digest) and every data block of data_fd against the tree. Calls report for each failure
 * (at most max_reports) and returns the number of failures, or a negative errno. */
long verity_check(int data_fd, int hash_fd, const struct verity_params *p,
		  const uint8_t *root, unsigned threads, unsigned max_reports,
		  verity_report_fn report, void *userdata, struct err *e);

/* For streaming installs. tree is the hash file's bytes from layout.tree_offset to
 * layout.tree_end, held in memory. verity_tree_verify checks every tree block against its
 * parent's digest and the top block against root; afterwards data blocks can be checked with
 * verity_check_run. With a single data block there is no tree: its digest is the root hash
 * itself. */
int verity_tree_verify(const struct verity_params *p, const uint8_t *tree, size_t len,
		       const uint8_t *root, struct err *e);
const uint8_t *verity_leaf(const struct verity_params *p, const struct verity_layout *l,
			   const uint8_t *tree, uint64_t block);
/* Checks count data blocks from block first (count * data_block_size bytes at data) against
 * the tree (as for verity_leaf; root when there is no tree). All-zero blocks are recognised
 * and not hashed; zero_map (may be NULL) gets 1 for each of them, 0 for the others; data
 * NULL stands for count zero blocks (a hole that was never read). 0 when
 * every block matched; -EBADMSG with *ret_bad the first that did not; -EINVAL for a block
 * outside the tree. Safe to call from several threads at once. */
int verity_check_run(const struct verity_params *p, const struct verity_layout *l,
		     const uint8_t *tree, const uint8_t *root, uint64_t first, uint64_t count,
		     const uint8_t *data, uint8_t *zero_map, uint64_t *ret_bad);

int verity_hex_decode(const char *hex, uint8_t *out, size_t max, size_t *ret_len);

#endif
