#include "install.h"
#include "lib/io.h"

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

#include "bootimg.h"
#include "bundle.h"
#include "commit.h"
#include "fault.h"
#include "stream.h"
#include "rootfs/common/slotcheck.h"
#include "journal.h"
#include "state.h"
#include "rootfs/common/util.h"

struct target {
	char slot;
	const char *node[2]; /* root, verity */
	int fd[2];
	uint64_t size[2];
	bool is_blk[2];
};

struct install {
	struct update_ctx *c;
	const struct install_opts *o;
	const struct update_boot *boot;
	struct update_input in;
	struct update_bundle b;
	struct target t;
	bool write_uki; /* a Secure Boot device: the kernel image goes to the ESP */
	time_t last_progress;
};

static int open_part(const char *node, int *ret_fd, uint64_t *ret_size, bool *ret_blk,
		     struct err *e)
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
	*ret_blk = S_ISBLK(st.st_mode);
	return 0;
}

static int open_target(struct update_ctx *c, struct target *t, struct err *e)
{
	int rc;

	for (int i = 0; i < 2; i++) {
		rc = update_part_path(c, update_slot_part(t->slot, i == 1), &t->node[i], e);
		if (rc == 0)
			rc = open_part(t->node[i], &t->fd[i], &t->size[i], &t->is_blk[i], e);
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
	rc = in->o->fd > 0 ? update_input_from_fd(in->o->fd, in->o->path, &in->in, e)
			   : update_input_open(in->o->path, &in->in, e);
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
	if (rc == 0)
		rc = update_bundle_read_uki(&in->in, &in->b, e);
	if (rc == 0)
		rc = update_bootimg_check(c, &in->b, &in->write_uki, e);
	return rc;
}

static void progress(void *userdata, uint64_t done, uint64_t total, bool last)
{
	struct install *in = userdata;
	time_t now = time(NULL);

	if (!in->c->progress || (!last && now == in->last_progress))
		return;
	in->last_progress = now;
	fprintf(stderr, "\rstele-update: writing slot %c: %" PRIu64 "/%" PRIu64 " MiB (%d%%)%s",
		in->t.slot, done >> 20, total >> 20, total ? (int)(done * 100 / total) : 100,
		last ? "\n" : "");
}

/* The verity image: written (the fault point "verity" halfway), synced, read back from the
 * disk and compared. */
static int write_verity(struct install *in, struct err *e)
{
	const struct update_bundle *b = &in->b;
	const size_t half = b->h.verity_size / 2;
	uint8_t *back;
	int rc, fd = in->t.fd[1];

	rc = io_pwrite_full(fd, b->verity, half, 0, in->t.node[1], e);
	if (rc == 0)
		update_fault_pause("verity");
	if (rc == 0)
		rc = io_pwrite_full(fd, b->verity + half, b->h.verity_size - half, half, in->t.node[1],
				 e);
	if (rc == 0 && fsync(fd) < 0)
		rc = err_sys(e, errno, "fsync %s", in->t.node[1]);
	if (rc < 0)
		return rc;
	/* clean pages dropped: the read-back comes from the disk */
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	back = malloc(b->h.verity_size);
	rc = back ? 0 : err_set(e, ENOMEM, "out of memory");
	if (rc == 0)
		rc = io_pread_full(fd, back, b->h.verity_size, 0, in->t.node[1], e);
	if (rc == 0 && memcmp(back, b->verity, b->h.verity_size) != 0)
		rc = err_set(e, EIO, "%s: the verity image read back differs from what was written",
			     in->t.node[1]);
	free(back);
	return rc;
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
	int rc = update_state_load(c, &s, e);

	if (rc < 0)
		return rc;
	if (state != BOOTSTATE_TRIAL)
		return update_state_install_begin(&s, in->t.slot) ? update_state_save(c, &s, e) : 0;
	update_state_install_done(&s, in->t.slot, tries);
	return update_state_save_faulty(c, &s, e);
}

static int write_slot(struct update_ctx *c, struct install *in, struct err *e)
{
	const struct stream_target root = {.fd = in->t.fd[0], .node = in->t.node[0],
					   .is_blk = in->t.is_blk[0]};
	int rc;

	rc = write_verity(in, e);
	if (rc == 0)
		rc = update_stream_rootfs(&in->in, &in->b, &root, c->progress ? progress : NULL, in,
					  e);
	/* a pipe carrying more than the bundle: refused before the slot becomes a trial */
	if (rc == 0)
		rc = update_input_end(&in->in, e);
	if (rc < 0 && c->progress)
		fputc('\n', stderr);
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
		update_fault_pause("synced");
	if (rc == 0 && in->write_uki)
		rc = update_bootimg_write(c, in->t.slot, &in->b, e);
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
	struct install in = {.c = c, .o = o, .in = {.fd = -1}, .t = {.fd = {-1, -1}}};
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
