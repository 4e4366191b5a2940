#include "pass.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/io.h"

#define CHUNK (4u << 20) /* bytes read at a time; a multiple of every verity block size */
#define ZBLOCK 4096u	 /* the unit of zero-skipping when writing copies */

static const uint8_t zeros[ZBLOCK];

static bool is_zero(const uint8_t *b, size_t n)
{
	return memcmp(b, zeros, n) == 0;
}

/* Writes buf (len bytes) at off, leaving its all-zero 4 KiB blocks unwritten, in as few
 * calls as the runs of other blocks allow. */
static int write_nonzero(int fd, const uint8_t *buf, size_t len, uint64_t off,
			 const char *name, struct err *e)
{
	size_t i = 0;

	while (i < len) {
		size_t start;

		while (i < len && is_zero(buf + i, len - i < ZBLOCK ? len - i : ZBLOCK))
			i += ZBLOCK;
		if (i >= len)
			break;
		start = i;
		while (i < len && !is_zero(buf + i, len - i < ZBLOCK ? len - i : ZBLOCK))
			i += ZBLOCK;
		if (i > len)
			i = len;
		int r = io_pwrite_full(fd, buf + start, i - start, off + start, name, e);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The next data extent at or after pos, [*ret_start, *ret_end), both aligned to align and
 * clipped to size; *ret_start == size when only a hole is left. */
static int next_extent(int fd, uint64_t pos, uint64_t size, uint64_t align, uint64_t *ret_start,
		       uint64_t *ret_end)
{
	off_t d = lseek(fd, (off_t)pos, SEEK_DATA), h;

	if (d < 0 && errno == ENXIO) {
		*ret_start = *ret_end = size;
		return 0;
	}
	if (d < 0)
		return -errno;
	h = lseek(fd, d, SEEK_HOLE);
	if (h < 0)
		return -errno;
	*ret_start = (uint64_t)d / align * align;
	if (*ret_start < pos)
		*ret_start = pos;
	*ret_end = ((uint64_t)h + align - 1) / align * align;
	if (*ret_start > size)
		*ret_start = size;
	if (*ret_end > size)
		*ret_end = size;
	return 0;
}

int pass_copy(int in_fd, uint64_t len, int out_fd, uint64_t off, struct err *e)
{
	uint8_t *buf = malloc(CHUNK);
	uint64_t pos = 0, start, end;
	int r = 0;

	if (!buf)
		return err_set(e, ENOMEM, "out of memory");
	while (r == 0 && pos < len) {
		r = next_extent(in_fd, pos, len, ZBLOCK, &start, &end);
		if (r < 0)
			r = err_sys(e, r, "finding the data of the input");
		for (pos = start; r == 0 && pos < end;) {
			size_t n = end - pos < CHUNK ? (size_t)(end - pos) : CHUNK;

			r = io_pread_full(in_fd, buf, n, pos, "the input", e);
			if (r == 0)
				r = write_nonzero(out_fd, buf, n, off + pos, "the output", e);
			pos += n;
		}
	}
	free(buf);
	return r < 0 ? err_prefix(e, r, "copying") : 0;
}

/* ---- the pass ---- */

/* A piece of the rootfs: bytes [off, off + len), held in buf, or a hole when buf is NULL. */
struct piece {
	uint64_t off, len;
	const uint8_t *buf;
};

static int write_copy(const struct pass_sink *s, const struct piece *pc, struct err *e)
{
	return write_nonzero(s->fd, pc->buf, (size_t)pc->len, s->offset + pc->off,
			     "a copy of the rootfs", e);
}

/* The second thread: builds the tree and writes the first copy, one piece behind the reader. */
struct worker {
	const struct pass_in *in;
	struct verity_stream *vs;
	uint64_t blocks_left; /* data blocks the tree still takes */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct piece slot[2];
	uint64_t posted, done; /* pieces handed over, pieces finished */
	bool stop;
	int result; /* the first failure, with its message in err */
	struct err err;
};

static int consume(struct worker *w, const struct piece *pc)
{
	const uint32_t dbs = w->in->vp->data_block_size;
	uint64_t n = pc->len / dbs;
	int r = 0;

	if (n > w->blocks_left)
		n = w->blocks_left;
	if (n) {
		r = verity_stream_add(w->vs, pc->buf, n, &w->err);
		w->blocks_left -= n;
	}
	if (r == 0 && pc->buf && w->in->nsinks)
		r = write_copy(&w->in->sinks[0], pc, &w->err);
	return r;
}

static void *work(void *arg)
{
	struct worker *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->posted == w->done && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->posted == w->done)
			break;
		struct piece pc = w->slot[w->done % 2];
		bool skip = w->result < 0;
		pthread_mutex_unlock(&w->lock);
		int r = skip ? 0 : consume(w, &pc);
		pthread_mutex_lock(&w->lock);
		if (r < 0)
			w->result = r;
		w->done++;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Waits until at most `behind` pieces are still with the worker; false once it failed. */
static bool wait_done(struct worker *w, uint64_t behind)
{
	bool ok;

	pthread_mutex_lock(&w->lock);
	while (w->posted - w->done > behind)
		pthread_cond_wait(&w->cond, &w->lock);
	ok = w->result == 0;
	pthread_mutex_unlock(&w->lock);
	return ok;
}

/* Hands a piece over once a slot is free (the piece two back is finished). */
static bool post(struct worker *w, const struct piece *pc)
{
	if (!wait_done(w, 1))
		return false;
	pthread_mutex_lock(&w->lock);
	w->slot[w->posted % 2] = *pc;
	w->posted++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return true;
}

/* A hole: zeros for the sha256, all-zero blocks for the tree, nothing for the copies. */
static void hash_zeros(struct sha256_ctx *c, uint64_t len)
{
	while (len) {
		size_t n = len < ZBLOCK ? (size_t)len : ZBLOCK;

		sha256_update(c, zeros, n);
		len -= n;
	}
}

/* The reader: the pieces in order, the data ones read into the two buffers in turn (a
 * buffer is reused once the worker has finished the piece two back, which held it); it
 * hashes them and writes the copies after the first while the worker has them. */
static int read_pieces(const struct pass_in *in, struct worker *w, struct sha256_ctx *c,
		       uint8_t *bufs[2], struct err *e)
{
	const uint64_t align = in->vp->data_block_size;
	uint64_t pos = 0, start, end, k = 0;
	int r;

	while (pos < in->size) {
		r = next_extent(in->fd, pos, in->size, align, &start, &end);
		if (r < 0)
			return err_sys(e, r, "reading the rootfs");
		if (start > pos) {
			hash_zeros(c, start - pos);
			if (!post(w, &(struct piece){.off = pos, .len = start - pos}))
				return -EIO;
			k++;
		}
		for (pos = start; pos < end; k++) {
			struct piece pc = {.off = pos, .len = end - pos < CHUNK ? end - pos : CHUNK,
					   .buf = bufs[k % 2]};

			if (!wait_done(w, 1))
				return -EIO;
			r = io_pread_full(in->fd, bufs[k % 2], (size_t)pc.len, pc.off, "the rootfs",
					  e);
			if (r < 0)
				return r;
			if (!post(w, &pc))
				return -EIO;
			sha256_update(c, pc.buf, (size_t)pc.len);
			for (size_t i = 1; i < in->nsinks; i++) /* the first is the worker's */
				if ((r = write_copy(&in->sinks[i], &pc, e)) < 0)
					return r;
			pos += pc.len;
		}
	}
	return 0;
}

int slot_pass(const struct pass_in *in, struct pass_out *ret, struct err *e)
{
	struct worker w = {.in = in, .blocks_left = in->vp->data_blocks,
			   .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	uint8_t *bufs[2] = {aligned_alloc(4096, CHUNK), aligned_alloc(4096, CHUNK)};
	struct sha256_ctx *c = sha256_new();
	pthread_t tid;
	bool started = false;
	int r;

	if (in->size / in->vp->data_block_size < in->vp->data_blocks)
		r = err_set(e, EINVAL, "the rootfs has fewer than %llu blocks",
			    (unsigned long long)in->vp->data_blocks);
	else
		r = bufs[0] && bufs[1] && c ? 0 : err_set(e, ENOMEM, "out of memory");
	if (r == 0)
		r = verity_stream_new(in->vp, in->hash_fd, &w.vs, e);
	if (r == 0) {
		started = pthread_create(&tid, NULL, work, &w) == 0;
		r = started ? 0 : err_set(e, EAGAIN, "starting a thread");
	}
	if (r == 0)
		r = read_pieces(in, &w, c, bufs, e);
	if (started) {
		wait_done(&w, 0);
		pthread_mutex_lock(&w.lock);
		w.stop = true;
		pthread_cond_broadcast(&w.cond);
		pthread_mutex_unlock(&w.lock);
		pthread_join(tid, NULL);
	}
	if (w.result < 0) { /* the worker failed first: the reader only stopped */
		*e = w.err;
		r = w.result;
	}
	if (r == 0)
		r = verity_stream_finish(w.vs, ret->root, e);
	if (r == 0) {
		sha256_final(c, ret->sha256);
		c = NULL;
	}
	sha256_free(c);
	verity_stream_free(w.vs);
	free(bufs[0]);
	free(bufs[1]);
	return r;
}
