#include "update-install.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "update-bundle.h"
#include "update-commit.h"
#include "slotcheck.h"
#include "update-journal.h"
#include "update-state.h"

#define CHUNK_SIZE (1u << 20) /* a multiple of every data block size (at most 1 MiB) */

struct target {
	char slot;
	const char *node[2]; /* root, verity */
	int fd[2];
	uint64_t size[2];
};

struct install {
	const struct install_opts *o;
	const struct update_boot *boot;
	struct update_input in;
	struct update_bundle b;
	struct target t;
	time_t last_progress;
};

static int open_part(const char *node, int *ret_fd, uint64_t *ret_size, struct err *e)
{
	struct stat st;
	int fd, rc, flags = O_RDWR | O_CLOEXEC;

	if (stat(node, &st) < 0)
		return err_sys(e, errno, "%s", node);
	if (S_ISBLK(st.st_mode))
		flags |= O_EXCL; /* refuse a partition that is mounted or mapped */
	else if (!S_ISREG(st.st_mode))
		return err_set(e, EINVAL, "%s: not a block device", node);
	fd = open(node, flags);
	if (fd < 0)
		return err_sys(e, errno, "%s", node);
	rc = blockdev_size(fd, node, ret_size, e);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	*ret_fd = fd;
	return 0;
}

static int open_target(struct update_ctx *c, struct target *t, struct err *e)
{
	int rc;

	for (int i = 0; i < 2; i++) {
		rc = update_part_path(c, update_slot_part(t->slot, i == 1), &t->node[i], e);
		if (rc == 0)
			rc = open_part(t->node[i], &t->fd[i], &t->size[i], e);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int check_compat(struct update_ctx *c, struct install *in, struct err *e)
{
	const struct manifest *m = &in->b.m;
	struct utsname u;
	uint64_t min;
	int rc;

	if (uname(&u) < 0)
		return err_sys(e, errno, "uname");
	rc = slotcheck_compat(m, in->boot->product, u.machine, e);
	if (rc < 0)
		return rc;
	if (m->rollback_index < in->boot->rollback_index && !in->o->allow_downgrade)
		return err_set(e, EPERM,
			       "version %s has rollback index %" PRIu64 ", lower than "
			       "the running version %s's %" PRIu64 " (a downgrade; "
			       "--allow-downgrade installs it anyway)",
			       m->version, m->rollback_index, in->boot->version,
			       in->boot->rollback_index);
	rc = update_min_rollback(c->data_dir, &min, e);
	if (rc == 0 && m->rollback_index < min)
		rc = err_set(e, EPERM,
			     "version %s has rollback index %" PRIu64 ", below this "
			     "device's minimum %" PRIu64 ": it would not boot",
			     m->version, m->rollback_index, min);
	return rc;
}

static int check_state(struct update_ctx *c, struct install *in, struct err *e)
{
	struct bootstate s;
	int rc = update_state_load(c, &s, e);

	if (rc == 0 && update_state_slot(&s, in->boot->slot)->state == BOOTSTATE_TRIAL)
		rc = err_set(e, EBUSY,
			     "the running slot %c is on trial: commit it first "
			     "(stele-update health --commit, or mark-good)",
			     in->boot->slot);
	return rc;
}

/* Everything before the first write. */
static int prepare(struct update_ctx *c, struct install *in, struct err *e)
{
	int rc;

	rc = update_booted(c, &in->boot, e);
	if (rc < 0)
		return rc;
	in->t.slot = update_other_slot(in->boot->slot);
	rc = update_input_open(in->o->path, &in->in, e);
	if (rc == 0)
		rc = update_bundle_read_head(&in->in, c->trust_path, &in->b, e);
	if (rc == 0)
		rc = check_compat(c, in, e);
	if (rc == 0)
		rc = check_state(c, in, e);
	if (rc == 0)
		rc = open_target(c, &in->t, e);
	if (rc == 0 && in->b.m.rootfs_size > in->t.size[0])
		rc = err_set(e, EFBIG,
			     "the rootfs (%" PRIu64 " bytes) is larger than %s (%" PRIu64 " bytes)",
			     in->b.m.rootfs_size, in->t.node[0], in->t.size[0]);
	if (rc == 0)
		rc = update_bundle_read_verity(&in->in, c->trust_path, in->t.size[1], &in->b, e);
	return rc;
}

static int pwrite_full(int fd, const void *buf, size_t len, uint64_t off, const char *node,
		       struct err *e)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_sys(e, n < 0 ? errno : EIO, "writing %s at byte %" PRIu64, node,
				       off);
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off, const char *node, struct err *e)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_sys(e, n < 0 ? errno : EIO, "reading %s at byte %" PRIu64, node,
				       off);
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static void progress(struct update_ctx *c, struct install *in, const char *what, uint64_t done,
		     uint64_t total, bool last)
{
	time_t now = time(NULL);

	if (!c->progress || (!last && now == in->last_progress))
		return;
	in->last_progress = now;
	fprintf(stderr, "\rstele-update: %s slot %c: %" PRIu64 "/%" PRIu64 " MiB (%d%%)%s", what,
		in->t.slot, done >> 20, total >> 20, total ? (int)(done * 100 / total) : 100,
		last ? "\n" : "");
}

struct block_check {
	const struct update_bundle *b;
	uint8_t *zeros;
	uint8_t zero_digest[VERITY_MAX_DIGEST];
};

static int check_block(const struct block_check *k, const uint8_t *data, uint64_t block,
		       struct err *e)
{
	const struct update_bundle *b = k->b;
	const uint8_t *want =
	    b->vl.levels ? verity_leaf(&b->vp, &b->vl, update_bundle_tree(b), block) : b->root;
	uint8_t got[VERITY_MAX_DIGEST];
	const uint8_t *d = got;

	if (!want)
		return err_set(e, EINVAL, "rootfs block %" PRIu64 ": outside the hash tree", block);
	/* an all-zero block needs no hashing: its digest depends only on the salt */
	if (memcmp(data, k->zeros, b->vp.data_block_size) == 0)
		d = k->zero_digest;
	else if (verity_digest_block(&b->vp, data, got) < 0)
		return err_set(e, EIO, "rootfs block %" PRIu64 ": hashing failed", block);
	if (memcmp(d, want, b->vl.digest_size) != 0)
		return err_set(e, EBADMSG,
			       "rootfs block %" PRIu64 " (byte %" PRIu64 " of the "
			       "bundle's rootfs) does not match the signed hash tree",
			       block, block * b->vp.data_block_size);
	return 0;
}

static int stream_rootfs(struct update_ctx *c, struct install *in, struct err *e)
{
	const struct update_bundle *b = &in->b;
	const uint32_t bs = b->vp.data_block_size;
	struct block_check k = {.b = b};
	uint8_t *buf = malloc(CHUNK_SIZE);
	uint64_t off, total = b->m.rootfs_size;
	size_t n;
	int rc = 0;

	k.zeros = calloc(1, bs);
	if (!buf || !k.zeros || verity_digest_block(&b->vp, k.zeros, k.zero_digest) < 0)
		rc = err_set(e, ENOMEM, "out of memory");
	for (off = 0; rc == 0 && off < total; off += n) {
		n = total - off < CHUNK_SIZE ? (size_t)(total - off) : CHUNK_SIZE;
		rc = update_input_read(&in->in, buf, n, "rootfs", e);
		for (size_t i = 0; rc == 0 && i < n; i += bs)
			rc = check_block(&k, buf + i, (off + i) / bs, e);
		if (rc == 0)
			rc = pwrite_full(in->t.fd[0], buf, n, off, in->t.node[0], e);
		if (rc == 0)
			progress(c, in, "writing", off + n, total, off + n == total);
	}
	if (rc < 0 && c->progress)
		fputc('\n', stderr);
	free(k.zeros);
	free(buf);
	return rc;
}

static int sync_part(struct target *t, int i, struct err *e)
{
	if (fsync(t->fd[i]) < 0)
		return err_sys(e, errno, "fsync %s", t->node[i]);
	/* clean pages dropped: the read-back comes from the disk */
	(void)posix_fadvise(t->fd[i], 0, 0, POSIX_FADV_DONTNEED);
	return 0;
}

struct readback_fail {
	char msg[160];
};

static void note_failure(const char *what, uint64_t block, const char *detail, void *userdata)
{
	struct readback_fail *f = userdata;

	if (!f->msg[0])
		snprintf(f->msg, sizeof(f->msg), "%s block %" PRIu64 ": %s", what, block, detail);
}

static int read_back(struct install *in, struct err *e)
{
	const struct update_bundle *b = &in->b;
	struct readback_fail f = {{0}};
	uint8_t *img = malloc(b->h.verity_size);
	long bad;
	int rc;

	rc = img ? 0 : err_set(e, ENOMEM, "out of memory");
	if (rc == 0)
		rc = pread_full(in->t.fd[1], img, b->h.verity_size, 0, in->t.node[1], e);
	if (rc == 0 && memcmp(img, b->verity, b->h.verity_size) != 0)
		rc = err_set(e, EIO, "%s: the verity image read back differs from what was written",
			     in->t.node[1]);
	free(img);
	if (rc < 0)
		return rc;
	bad = verity_check(in->t.fd[0], in->t.fd[1], &b->vp, b->root, 0, 1, note_failure, &f, e);
	if (bad < 0)
		return (int)bad;
	if (bad > 0)
		return err_set(e, EIO, "read back: %s", f.msg);
	return 0;
}

static void journal_install(struct update_ctx *c, struct install *in, const char *event,
			    const char *reason)
{
	const struct journal_event ev = {
	    .event = event,
	    .slot = in->t.slot,
	    .from = {in->boot->version, in->boot->root_hash},
	    .to = {in->b.m.version, in->b.m.verity.root_hash},
	    .reason = reason,
	};

	update_journal(c, &ev);
}

static int set_state(struct update_ctx *c, struct install *in, enum bootstate_state state,
		     unsigned tries, struct err *e)
{
	struct bootstate s;
	struct bootstate_slot *t;
	int rc = update_state_load(c, &s, e);

	if (rc < 0)
		return rc;
	t = update_state_slot(&s, in->t.slot);
	if (state == BOOTSTATE_BAD && t->state == BOOTSTATE_BAD && t->tries == 0)
		return 0;
	t->state = state;
	t->tries = tries;
	if (state == BOOTSTATE_TRIAL)
		update_state_first(&s, in->t.slot);
	return update_state_save(c, &s, e);
}

static int write_slot(struct update_ctx *c, struct install *in, struct err *e)
{
	const struct update_bundle *b = &in->b;
	int rc;

	rc = pwrite_full(in->t.fd[1], b->verity, b->h.verity_size, 0, in->t.node[1], e);
	if (rc == 0)
		rc = stream_rootfs(c, in, e);
	if (rc == 0)
		rc = sync_part(&in->t, 1, e);
	if (rc == 0)
		rc = sync_part(&in->t, 0, e);
	if (rc == 0 && c->progress)
		fprintf(stderr, "stele-update: reading slot %c back\n", in->t.slot);
	if (rc == 0)
		rc = read_back(in, e);
	return rc;
}

static int install(struct update_ctx *c, struct install *in, struct err *e)
{
	int rc;

	rc = prepare(c, in, e);
	if (rc < 0)
		return err_prefix(e, rc, "refusing %s", in->in.name[0] ? in->in.name : in->o->path);
	rc = set_state(c, in, BOOTSTATE_BAD, 0, e);
	if (rc < 0)
		return err_prefix(e, rc, "marking slot %c bad before writing it", in->t.slot);
	journal_install(c, in, "install", NULL);
	rc = write_slot(c, in, e);
	if (rc == 0)
		rc = set_state(c, in, BOOTSTATE_TRIAL, in->b.policy.tries, e);
	if (rc < 0) {
		journal_install(c, in, "mark-bad", e->msg);
		return err_prefix(e, rc, "installing version %s into slot %c (it stays bad)",
				  in->b.m.version, in->t.slot);
	}
	journal_install(c, in, "trial", NULL);
	printf("stele-update: installed %s %s into slot %c (signed by %s); it boots next, on "
	       "trial with %u tries\n",
	       in->b.m.product, in->b.m.version, in->t.slot, in->b.signer, in->b.policy.tries);
	return 0;
}

int update_install(struct update_ctx *c, const struct install_opts *o, struct err *e)
{
	struct install in = {.o = o, .in = {.fd = -1}, .t = {.fd = {-1, -1}}};
	int rc;

	rc = install(c, &in, e);
	for (int i = 0; i < 2; i++)
		if (in.t.fd[i] >= 0)
			close(in.t.fd[i]);
	update_input_close(&in.in);
	update_bundle_free(&in.b);
	if (rc == 0 && o->reboot) {
		fflush(stdout);
		rc = update_reboot(c, e);
	}
	return rc;
}
