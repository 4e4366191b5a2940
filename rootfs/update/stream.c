#include "stream.h"
#include "lib/io.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"
#include "rootfs/common/util.h"

#define CHUNK_SIZE (1u << 20) /* a multiple of every data block size (at most 1 MiB) */
#define MAX_BLOCKS (CHUNK_SIZE / 512)
/* Chunks in memory: the one being read and checked, and the ones being written and read
 * back (several at once: the device queues them). */
#define RING 8
#define IO_WORKERS 2 /* threads beyond one per core, for jobs that wait on the device */
#define MAX_WORKERS 16
#define ZERO_MIN (64u << 10) /* shorter runs of zeros are written like data */
#define PAGE 4096u

struct chunk {
	uint64_t off; /* in the rootfs */
	size_t len;
	uint8_t *buf;             /* CHUNK_SIZE bytes, page aligned (O_DIRECT) */
	uint8_t *back;            /* what the device returns */
	bool hole;                /* never read: all zeros */
	uint8_t zero[MAX_BLOCKS]; /* per block: all zero */
	/* under pool.mu */
	unsigned checks_left; /* parts of the check still running */
	bool storing;
	int rc;
	uint64_t bad; /* the first block that did not match */
	int store_rc;
	struct err store_err;
};

enum job_kind { JOB_CHECK, JOB_STORE };

struct job {
	enum job_kind kind;
	struct chunk *c;
	uint32_t first, count; /* JOB_CHECK: blocks of the chunk */
};

struct stream;

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t more, done;
	struct job q[RING * (MAX_WORKERS + IO_WORKERS)];
	unsigned head, queued;
	bool stop;
	pthread_t th[MAX_WORKERS + IO_WORKERS];
	unsigned threads;
};

struct stream {
	struct update_input *in;
	const struct update_bundle *b;
	const struct stream_target *t;
	/* what the target takes, probed before the first chunk */
	int direct_rfd; /* O_DIRECT reads of the target; -1: buffered, after dropping pages */
	int direct_wfd; /* O_DIRECT writes (no copy into the page cache); -1: buffered */
	bool zeroout;   /* BLKZEROOUT or fallocate; false: zeros are written */
	uint8_t *zeros; /* CHUNK_SIZE zero bytes */
	struct chunk ring[RING];
	struct pool pool;
	uint64_t total, done;
	stream_progress_fn progress;
	void *userdata;
};

static bool unsupported(int err)
{
	return err == EOPNOTSUPP || err == ENOTTY || err == EINVAL || err == ENOSYS;
}

/* ---- checking a part of a chunk ---- */

static void check_part(struct stream *s, const struct job *j)
{
	const struct update_bundle *b = s->b;
	const uint32_t bs = b->vp.data_block_size;
	struct chunk *c = j->c;
	uint64_t bad = 0;
	int rc;

	rc =
	    verity_check_run(&b->vp, &b->vl, update_bundle_tree(b), b->root, c->off / bs + j->first,
	                     j->count, c->buf + (size_t)j->first * bs, c->zero + j->first, &bad);
	pthread_mutex_lock(&s->pool.mu);
	if (rc < 0 && (c->rc == 0 || bad < c->bad)) {
		c->rc = rc;
		c->bad = bad;
	}
	c->checks_left--;
	pthread_mutex_unlock(&s->pool.mu);
}

/* ---- storing a chunk: written, then read back from the device and compared ---- */

/* 1: the target cannot zero out (write the zeros instead). */
static int zero_out(struct stream *s, uint64_t off, uint64_t len, struct err *e)
{
	const struct stream_target *t = s->t;
	int fd = t->fd;

	if (t->is_blk) {
		uint64_t range[2] = {off, len};

		if (ioctl(fd, BLKZEROOUT, range) == 0)
			return 0;
	} else {
		/* zeroed and still allocated, like BLKZEROOUT; tmpfs can only punch holes */
		if (fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		              (off_t)len) == 0)
			return 0;
		if (unsupported(errno) && fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		                                    (off_t)off, (off_t)len) == 0)
			return 0;
	}
	if (unsupported(errno))
		return 1;
	return err_sys(e, errno, "zeroing %s from byte %llu (%llu bytes)", t->node,
	               (unsigned long long)off, (unsigned long long)len);
}

static int write_data(struct stream *s, const uint8_t *buf, size_t len, uint64_t off, struct err *e)
{
	return io_pwrite_full(s->direct_wfd >= 0 ? s->direct_wfd : s->t->fd, buf, len, off, s->t->node,
	                   e);
}

static int write_zeros(struct stream *s, uint64_t off, uint64_t len, struct err *e)
{
	uint64_t a = (off + PAGE - 1) / PAGE * PAGE, z = (off + len) / PAGE * PAGE;
	int rc = 0;

	if (s->zeroout && z > a) {
		rc = zero_out(s, a, z - a, e);
		/* the unaligned edges (data blocks under 4 KiB) are written */
		if (rc == 0)
			rc = io_pwrite_full(s->t->fd, s->zeros, a - off, off, s->t->node, e);
		if (rc == 0)
			rc = io_pwrite_full(s->t->fd, s->zeros, off + len - z, z, s->t->node, e);
		if (rc <= 0)
			return rc;
		rc = 0; /* it said yes on the first block, no now: the zeros are written */
	}
	while (rc == 0 && len > 0) {
		size_t n = len < CHUNK_SIZE ? (size_t)len : CHUNK_SIZE;

		rc = write_data(s, s->zeros, n, off, e);
		off += n;
		len -= n;
	}
	return rc;
}

/* The number of zero blocks from block i on. */
static uint32_t zero_run(const struct chunk *c, uint32_t i, uint32_t blocks)
{
	uint32_t j = i;

	while (j < blocks && c->zero[j])
		j++;
	return j - i;
}

/* Data in as few writes as possible: only runs of zeros long enough to be worth a zero-out
 * split it; shorter ones are written with the data around them. */
static int write_runs(struct stream *s, const struct chunk *c, struct err *e)
{
	const uint32_t bs = s->b->vp.data_block_size;
	const uint32_t blocks = (uint32_t)(c->len / bs);
	uint32_t start = 0; /* the first block not written yet */
	int rc = 0;

	for (uint32_t i = 0, z; rc == 0 && i < blocks; i += z ? z : 1) {
		z = zero_run(c, i, blocks);
		if ((uint64_t)z * bs < ZERO_MIN)
			continue;
		if (i > start)
			rc = write_data(s, c->buf + (size_t)start * bs, (size_t)(i - start) * bs,
					c->off + (uint64_t)start * bs, e);
		if (rc == 0)
			rc = write_zeros(s, c->off + (uint64_t)i * bs, (uint64_t)z * bs, e);
		start = i + z;
	}
	if (rc == 0 && blocks > start)
		rc = write_data(s, c->buf + (size_t)start * bs, (size_t)(blocks - start) * bs,
				c->off + (uint64_t)start * bs, e);
	return rc;
}

static bool is_middle(const struct stream *s, const struct chunk *c)
{
	return c->off <= s->total / 2 && s->total / 2 < c->off + c->len;
}

/* What a failing disk does: the byte it stores is not the byte it was given. */
static int corrupt_written(struct stream *s, const struct chunk *c, struct err *e)
{
	const uint64_t at = c->off + c->len / 2;
	uint8_t byte;
	int rc;

	rc = io_pread_full(s->t->fd, &byte, 1, at, s->t->node, e);
	if (rc < 0)
		return rc;
	byte ^= 0xff;
	return io_pwrite_full(s->t->fd, &byte, 1, at, s->t->node, e);
}

static int write_chunk(struct stream *s, const struct chunk *c, struct err *e)
{
	int rc;

	rc = c->hole ? write_zeros(s, c->off, c->len, e) : write_runs(s, c, e);
	if (rc < 0)
		return rc;
	/* what went through the page cache starts its writeback now */
	if (sync_file_range(s->t->fd, (off_t)c->off, (off_t)c->len, SYNC_FILE_RANGE_WRITE) < 0 &&
	    !unsupported(errno))
		return err_sys(e, errno, "writing %s back from byte %llu", s->t->node,
		               (unsigned long long)c->off);
	if (is_middle(s, c) && update_fault_corrupt("rootfs"))
		return corrupt_written(s, c, e);
	return 0;
}

static int read_device(struct stream *s, struct chunk *c, struct err *e)
{
	const struct stream_target *t = s->t;

	/* waits for a buffered write's writeback, and says so if the device failed it */
	if (sync_file_range(t->fd, (off_t)c->off, (off_t)c->len,
	                    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
	                        SYNC_FILE_RANGE_WAIT_AFTER) < 0 &&
	    !unsupported(errno))
		return err_sys(e, errno, "writing %s from byte %llu", t->node,
		               (unsigned long long)c->off);
	if (s->direct_rfd >= 0)
		return io_pread_full(s->direct_rfd, c->back, c->len, c->off, t->node, e);
	/* the pages are clean now: dropped, the read comes from the device */
	(void)posix_fadvise(t->fd, (off_t)c->off, (off_t)c->len, POSIX_FADV_DONTNEED);
	return io_pread_full(t->fd, c->back, c->len, c->off, t->node, e);
}

static int compare_back(struct stream *s, const struct chunk *c, struct err *e)
{
	const uint32_t bs = s->b->vp.data_block_size;
	const uint8_t *want = c->hole ? s->zeros : c->buf;

	if (memcmp(c->back, want, c->len) == 0)
		return 0;
	for (size_t i = 0; i + bs <= c->len; i += bs)
		if (memcmp(c->back + i, want + i, bs) != 0)
			return err_set(e, EIO,
			               "read back: rootfs block %llu on %s is not what was written "
			               "(the device returned other bytes)",
			               (unsigned long long)((c->off + i) / bs), s->t->node);
	return err_set(e, EIO, "read back: %s differs from what was written", s->t->node);
}

static void store(struct stream *s, struct chunk *c)
{
	struct err e = {{0}};
	int rc = write_chunk(s, c, &e);

	if (rc == 0)
		rc = read_device(s, c, &e);
	if (rc == 0)
		rc = compare_back(s, c, &e);
	pthread_mutex_lock(&s->pool.mu);
	c->store_rc = rc;
	c->store_err = e;
	c->storing = false;
	pthread_mutex_unlock(&s->pool.mu);
}

/* ---- the pool: a thread per core for checking, more for jobs waiting on the device ---- */

static void run_job(struct stream *s, const struct job *j)
{
	if (j->kind == JOB_CHECK)
		check_part(s, j);
	else
		store(s, j->c);
}

static void *worker(void *arg)
{
	struct stream *s = arg;
	struct pool *p = &s->pool;
	struct job j;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->queued && !p->stop)
			pthread_cond_wait(&p->more, &p->mu);
		if (!p->queued)
			break;
		j = p->q[p->head];
		p->head = (p->head + 1) % (sizeof(p->q) / sizeof(p->q[0]));
		p->queued--;
		pthread_mutex_unlock(&p->mu);
		run_job(s, &j);
		pthread_mutex_lock(&p->mu);
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static unsigned cores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (unsigned)n;
}

static void pool_start(struct stream *s)
{
	struct pool *p = &s->pool;
	unsigned n = cores() + IO_WORKERS;

	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->more, NULL);
	pthread_cond_init(&p->done, NULL);
	/* with no thread at all the jobs run in the calling thread */
	for (p->threads = 0; p->threads < n; p->threads++)
		if (pthread_create(&p->th[p->threads], NULL, worker, s) != 0)
			break;
}

/* Runs the job on the pool (or here, if the pool has no thread). Under pool.mu. */
static void pool_queue(struct stream *s, const struct job *j)
{
	struct pool *p = &s->pool;
	const size_t cap = sizeof(p->q) / sizeof(p->q[0]);

	if (!p->threads) {
		pthread_mutex_unlock(&p->mu);
		run_job(s, j);
		pthread_mutex_lock(&p->mu);
		return;
	}
	p->q[(p->head + p->queued) % cap] = *j;
	p->queued++;
	pthread_cond_broadcast(&p->more);
}

static void submit_check(struct stream *s, struct chunk *c, uint32_t blocks)
{
	uint32_t parts =
	    s->pool.threads < cores() ? (s->pool.threads ? s->pool.threads : 1) : cores();
	uint32_t per = (blocks + parts - 1) / parts;
	struct job j = {.kind = JOB_CHECK, .c = c};

	pthread_mutex_lock(&s->pool.mu);
	c->rc = 0;
	c->checks_left = (blocks + per - 1) / per;
	for (uint32_t first = 0; first < blocks; first += per) {
		j.first = first;
		j.count = blocks - first < per ? blocks - first : per;
		pool_queue(s, &j);
	}
	pthread_mutex_unlock(&s->pool.mu);
}

static void submit_store(struct stream *s, struct chunk *c)
{
	const struct job j = {.kind = JOB_STORE, .c = c};

	pthread_mutex_lock(&s->pool.mu);
	c->storing = true;
	pool_queue(s, &j);
	pthread_mutex_unlock(&s->pool.mu);
}

/* Waits until the chunk is checked (and, with all, stored too). */
static void pool_wait(struct stream *s, struct chunk *c, bool all)
{
	pthread_mutex_lock(&s->pool.mu);
	while (c->checks_left || (all && c->storing))
		pthread_cond_wait(&s->pool.done, &s->pool.mu);
	pthread_mutex_unlock(&s->pool.mu);
}

static void pool_stop(struct pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->more);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->threads; i++)
		pthread_join(p->th[i], NULL);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->more);
	pthread_mutex_destroy(&p->mu);
}

/* ---- reading the bundle ---- */

static int fill(struct stream *s, struct chunk *c, uint64_t index, struct err *e)
{
	const struct update_bundle *b = s->b;
	const uint32_t bs = b->vp.data_block_size;
	uint64_t bad = 0;
	int rc;

	c->off = index * CHUNK_SIZE;
	c->len = s->total - c->off < CHUNK_SIZE ? (size_t)(s->total - c->off) : CHUNK_SIZE;
	rc = update_input_skip_hole(s->in, c->len, e);
	if (rc < 0)
		return rc;
	c->hole = rc == 1;
	if (!c->hole) {
		rc = update_input_read(s->in, c->buf, c->len, "rootfs", e);
		if (rc == 0)
			submit_check(s, c, (uint32_t)(c->len / bs));
		return rc;
	}
	/* a hole: only the tree's leaves to compare with the zero block's digest */
	c->rc = verity_check_run(&b->vp, &b->vl, update_bundle_tree(b), b->root, c->off / bs,
	                         c->len / bs, NULL, NULL, &bad);
	c->bad = bad;
	return 0;
}

static int chunk_checked(struct stream *s, struct chunk *c, struct err *e)
{
	const uint32_t bs = s->b->vp.data_block_size;

	pool_wait(s, c, false);
	if (c->rc == -EBADMSG)
		return err_set(e, EBADMSG,
		               "rootfs block %llu (byte %llu of the bundle's rootfs) does not "
		               "match the signed hash tree",
		               (unsigned long long)c->bad, (unsigned long long)c->bad * bs);
	if (c->rc == -EINVAL)
		return err_set(e, EINVAL, "rootfs blocks of chunk %llu: outside the hash tree",
		               (unsigned long long)(c->off / CHUNK_SIZE));
	if (c->rc < 0)
		return err_set(e, -c->rc, "checking the rootfs from byte %llu",
		               (unsigned long long)c->off);
	return 0;
}

/* Waits until the chunk is written and read back; its result. */
static int chunk_stored(struct stream *s, struct chunk *c, struct err *e)
{
	pool_wait(s, c, true);
	if (c->store_rc < 0) {
		*e = c->store_err;
		return c->store_rc;
	}
	return 0;
}

/* The chunk's buffer back, for the next chunk: it must have been stored. */
static int reclaim(struct stream *s, struct chunk *c, struct err *e)
{
	int rc = chunk_stored(s, c, e);

	if (rc == 0) {
		s->done += c->len;
		if (s->progress)
			s->progress(s->userdata, s->done, s->total, false);
	}
	return rc;
}

/* ---- the pipeline ---- */

/* What the target takes, tried on its first block (about to be written anyway): O_DIRECT
 * reads and writes at this block size, and zero-outs. */
/* The target opened again with O_DIRECT (no O_EXCL: the write descriptor holds the device
 * exclusively already), or -1 if that fails or the name now leads somewhere else. */
static int open_direct(const struct stream_target *t, int flags)
{
	struct stat a, b;
	int fd = open(t->node, flags | O_DIRECT | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &a) == 0 && fstat(t->fd, &b) == 0 &&
	    (S_ISBLK(b.st_mode) ? a.st_rdev == b.st_rdev
				: a.st_dev == b.st_dev && a.st_ino == b.st_ino))
		return fd;
	close(fd);
	return -1;
}

static int probe_target(struct stream *s, struct err *e)
{
	const uint32_t bs = s->b->vp.data_block_size;
	const size_t n = bs < PAGE ? PAGE : bs;
	uint8_t *buf = s->ring[0].back;
	int rc;

	s->direct_rfd = open_direct(s->t, O_RDONLY);
	if (s->direct_rfd >= 0 && pread(s->direct_rfd, buf, bs, 0) != (ssize_t)bs) {
		close(s->direct_rfd);
		s->direct_rfd = -1;
	}
	s->direct_wfd = open_direct(s->t, O_WRONLY);
	memset(buf, 0, bs);
	if (s->direct_wfd >= 0 && pwrite(s->direct_wfd, buf, bs, 0) != (ssize_t)bs) {
		close(s->direct_wfd);
		s->direct_wfd = -1;
	}
	if (s->total < n)
		return 0;
	rc = zero_out(s, 0, n, e);
	s->zeroout = rc == 0;
	return rc < 0 ? rc : 0;
}

static int setup(struct stream *s, struct err *e)
{
	pool_start(s); /* first: teardown stops it whatever fails after */
	s->zeros = aligned_alloc(PAGE, CHUNK_SIZE);
	if (!s->zeros)
		return err_set(e, ENOMEM, "out of memory");
	memset(s->zeros, 0, CHUNK_SIZE);
	for (int i = 0; i < RING; i++) {
		s->ring[i].buf = aligned_alloc(PAGE, CHUNK_SIZE);
		s->ring[i].back = aligned_alloc(PAGE, CHUNK_SIZE);
		if (!s->ring[i].buf || !s->ring[i].back)
			return err_set(e, ENOMEM, "out of memory");
	}
	return probe_target(s, e);
}

static void teardown(struct stream *s)
{
	for (int i = 0; i < RING; i++)
		pool_wait(s, &s->ring[i], true); /* no job still uses a buffer */
	pool_stop(&s->pool);
	if (s->direct_rfd >= 0)
		close(s->direct_rfd);
	if (s->direct_wfd >= 0)
		close(s->direct_wfd);
	for (int i = 0; i < RING; i++) {
		free(s->ring[i].buf);
		free(s->ring[i].back);
	}
	free(s->zeros);
}

static int run(struct stream *s, struct err *e)
{
	const uint64_t chunks = (s->total + CHUNK_SIZE - 1) / CHUNK_SIZE;
	struct chunk *c;
	int rc = 0;

	/* step i: chunk i read (into the buffer of chunk i-RING, stored by now) and checked
	 * on the pool; chunk i-1, checked, stored on the pool */
	for (uint64_t i = 0; rc == 0 && i <= chunks; i++) {
		if (i < chunks && i >= RING)
			rc = reclaim(s, &s->ring[i % RING], e);
		if (rc == 0 && i < chunks)
			rc = fill(s, &s->ring[i % RING], i, e);
		if (rc < 0 || i == 0)
			continue;
		c = &s->ring[(i - 1) % RING];
		rc = chunk_checked(s, c, e);
		if (rc == 0)
			submit_store(s, c);
		if (rc == 0 && is_middle(s, c) && update_fault_pausing("rootfs") &&
		    (rc = chunk_stored(s, c, e)) == 0)
			update_fault_pause("rootfs");
	}
	for (uint64_t i = chunks > RING ? chunks - RING : 0; rc == 0 && i < chunks; i++)
		rc = reclaim(s, &s->ring[i % RING], e);
	if (rc == 0 && fsync(s->t->fd) < 0)
		rc = err_sys(e, errno, "fsync %s", s->t->node);
	if (rc == 0 && s->progress)
		s->progress(s->userdata, s->done, s->total, true);
	return rc;
}

int update_stream_rootfs(struct update_input *in, const struct update_bundle *b,
                         const struct stream_target *t, stream_progress_fn progress, void *userdata,
                         struct err *e)
{
	struct stream s = {.in = in,
	                   .b = b,
	                   .t = t,
	                   .direct_rfd = -1,
	                   .direct_wfd = -1,
	                   .total = b->m.rootfs_size,
	                   .progress = progress,
	                   .userdata = userdata};
	int rc;

	if (b->vp.data_block_size < 512 || CHUNK_SIZE % b->vp.data_block_size ||
	    s.total % b->vp.data_block_size)
		return err_set(e, EINVAL, "rootfs of %llu bytes in blocks of %u: not whole blocks",
		               (unsigned long long)s.total, b->vp.data_block_size);
	rc = setup(&s, e);
	if (rc == 0)
		rc = run(&s, e);
	teardown(&s);
	return rc;
}
