/* The one read of a finished rootfs image: its data extents (SEEK_DATA/SEEK_HOLE) are read
 * once, in large pieces, and feed the rootfs sha256, the dm-verity tree and the copies (the
 * disk image's slot A, the bundle's rootfs); holes are neither read nor written. A second
 * thread builds the tree and writes the first copy while the first thread hashes and writes
 * the others. Also the sparse copy the output writers use to place a finished part into a
 * fresh file. */
#ifndef STELE_OUTPUTS_PASS_H
#define STELE_OUTPUTS_PASS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/hash.h"
#include "lib/verity.h"

#define PASS_MAX_SINKS 4

/* A copy of the rootfs: byte 0 goes to offset of fd, a fresh (all-zero, sparse) region. */
struct pass_sink {
	int fd;
	uint64_t offset;
};

struct pass_in {
	int fd;        /* the rootfs image */
	uint64_t size; /* its bytes; the verity tree covers vp->data_blocks of them */
	const struct verity_params *vp;
	int hash_fd; /* the tree is written here as verity_create writes it */
	struct pass_sink sinks[PASS_MAX_SINKS];
	size_t nsinks;
};

struct pass_out {
	uint8_t sha256[SHA256_LEN];
	uint8_t root[VERITY_MAX_DIGEST];
};

int slot_pass(const struct pass_in *in, struct pass_out *ret, struct err *e)
	__attribute__((warn_unused_result));

/* Copies the first len bytes of in_fd to out_fd at offset off, reading only in_fd's data
 * extents and writing only their non-zero blocks, in large pieces: the target region must
 * be fresh, so that what is not written reads as zero. */
int pass_copy(int in_fd, uint64_t len, int out_fd, uint64_t off, struct err *e)
	__attribute__((warn_unused_result));

#endif
