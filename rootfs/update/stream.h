/* The rootfs part of an install, pipelined so that reading, checking, writing and reading
 * back overlap. The rootfs comes from the bundle in 1 MiB chunks (holes of a bundle file are
 * not even read); every block of a chunk is checked against the signed hash tree on every
 * core; only then is the chunk stored, by a worker thread: written (O_DIRECT where the
 * target takes it, runs of zero blocks as one zero-out: BLKZEROOUT on a block device,
 * FALLOC_FL_ZERO_RANGE on a file), then, once the device has acknowledged the write, read
 * back from the device with O_DIRECT and compared with the checked bytes still in memory,
 * so the read-back needs no second hashing pass. Several chunks are stored at once (the
 * device queues them). At the end, fsync: the device's write cache flushed. */
#ifndef STELE_UPDATE_STREAM_H
#define STELE_UPDATE_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "bundle.h"

struct stream_target {
	int fd;           /* the root partition, read-write */
	const char *node; /* its name, for messages */
	bool is_blk;      /* a block device (else a regular file standing in for one) */
};

/* Called after each chunk is written and once more (last) when all are. */
typedef void (*stream_progress_fn)(void *userdata, uint64_t done, uint64_t total, bool last);

/* Streams b's rootfs from in (positioned at its first byte) into t. Returns 0 only when
 * every block matched the tree, was written, synced, read back and found identical. */
int update_stream_rootfs(struct update_input *in, const struct update_bundle *b,
                         const struct stream_target *t, stream_progress_fn progress, void *userdata,
                         struct err *e);

#endif
