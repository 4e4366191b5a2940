/* "base": {"image": "disk.qcow2"}: an existing disk image of any format QEMU reads (a cloud
 * image, a VM export), opened read-only with libguestfs: no root, no loop devices, the host's
 * kernel never sees its filesystems. One appliance launch per build. The operating system is
 * found by libguestfs's inspection, its filesystems mounted read-only as its fstab says
 * (several partitions, LVM, ext4, XFS: whatever the appliance reads), and the whole tree
 * streamed out as a tar (numeric owners, xattrs) through a pipe straight into stele's tree.
 *
 * The image's /etc/fstab names its own partitions, which a stele disk does not have; it is
 * replaced by one that mounts nothing (stele-init mounts root, data and /var). libguestfs
 * runs its appliance under TCG unless STELE_ACCEL=kvm (or LIBGUESTFS_BACKEND_SETTINGS) says
 * otherwise: on some hosts /dev/kvm exists and guests hang. */
#include <errno.h>
#include <fcntl.h>
#include <guestfs.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/archive.h"
#include "builder/fileutil.h"
#include "source.h"

struct image_cfg {
	char *path;
};

static const char *const image_paths[] = {"image", NULL};

static int image_parse(const cJSON *base, const char *file, void **ret_cfg, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(base, "image");
	struct image_cfg *c;
	struct stat st;

	if (!cJSON_IsString(v) || !v->valuestring[0])
		return err_set(e, EINVAL, "%s: base.image: expected the path of a disk image", file);
	if (stat(v->valuestring, &st) < 0)
		return err_sys(e, errno, "%s: base.image: %.200s", file, v->valuestring);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return err_set(e, EINVAL, "%s: base.image: %.200s is not a file or block device",
			       file, v->valuestring);
	c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(v->valuestring))) {
		free(c);
		return err_set(e, ENOMEM, "out of memory");
	}
	*ret_cfg = c;
	return 0;
}

static void image_free(void *cfg)
{
	struct image_cfg *c = cfg;

	if (c)
		free(c->path);
	free(c);
}

static int gerr(guestfs_h *g, struct err *e, const char *what)
{
	const char *m = guestfs_last_error(g);

	return err_set(e, EIO, "%s: %.500s", what, m ? m : "failed");
}

static void free_strings(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* The image's filesystems, mounted read-only as its fstab says, shortest mount point first
 * (so / comes before /boot). */
static int mount_all(guestfs_h *g, const char *root, struct err *e)
{
	char **mps = guestfs_inspect_get_mountpoints(g, root);
	size_t n = 0;
	int r = 0;

	if (!mps)
		return gerr(g, e, "reading the image's mount points");
	while (mps[n])
		n++;
	for (size_t len = 1; r == 0 && len < 4096; len++) {
		bool more = false;
		for (size_t i = 0; r == 0 && i + 1 < n; i += 2) {
			size_t l = strlen(mps[i]);
			if (l > len)
				more = true;
			if (l == len && guestfs_mount_ro(g, mps[i + 1], mps[i]) < 0)
				r = gerr(g, e, mps[i]);
		}
		if (!more)
			break;
	}
	free_strings(mps);
	return r;
}

struct tar_job {
	guestfs_h *g;
	char fifo[64];
	int wfd; /* the pipe's write end: closed when libguestfs is done, so the reader sees EOF */
	int rc;
};

/* libguestfs writes the tar to a local path: a pipe's /dev/fd/N, read as it comes. */
static void *tar_thread(void *arg)
{
	struct tar_job *j = arg;

	j->rc = guestfs_tar_out_opts(j->g, "/", j->fifo, GUESTFS_TAR_OUT_OPTS_NUMERICOWNER, 1,
				     GUESTFS_TAR_OUT_OPTS_XATTRS, 1, -1);
	close(j->wfd);
	return NULL;
}

struct pipe_reader {
	int fd;
	uint64_t bytes;
	char buf[1 << 16];
};

static la_ssize_t pipe_read(struct archive *a, void *userdata, const void **buf)
{
	struct pipe_reader *p = userdata;
	ssize_t n;

	do
		n = read(p->fd, p->buf, sizeof(p->buf));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "read failed");
		return -1;
	}
	p->bytes += (uint64_t)n;
	*buf = p->buf;
	return n;
}

static int stream_tree(guestfs_h *g, struct tree *t, uint64_t limit,
		       struct archive_import_stats *st, struct err *e)
{
	struct tar_job j = {.g = g};
	struct pipe_reader *p = calloc(1, sizeof(*p));
	pthread_t th;
	int fds[2], r;

	if (!p)
		return err_set(e, ENOMEM, "out of memory");
	if (pipe2(fds, O_CLOEXEC) < 0) {
		free(p);
		return err_sys(e, errno, "pipe");
	}
	snprintf(j.fifo, sizeof(j.fifo), "/dev/fd/%d", fds[1]);
	j.wfd = fds[1];
	if (pthread_create(&th, NULL, tar_thread, &j) != 0) {
		close(fds[0]), close(fds[1]), free(p);
		return err_set(e, EAGAIN, "starting a thread");
	}
	p->fd = fds[0];
	r = archive_import_stream(t, pipe_read, p, "the image's tree", limit, st, e);
	if (r < 0)
		close(fds[0]), fds[0] = -1; /* the writer gets EPIPE and stops */
	else
		while (read(fds[0], p->buf, sizeof(p->buf)) > 0)
			;
	pthread_join(th, NULL);
	if (fds[0] >= 0)
		close(fds[0]);
	free(p);
	if (r == 0 && j.rc < 0)
		r = gerr(g, e, "streaming the image's tree");
	return r;
}

/* The image's fstab names partitions a stele disk does not have. */
static int replace_fstab(struct tree *t, struct err *e)
{
	static const char text[] = "# stele: the root (dm-verity, read-only), data, /var, /tmp and /run\n"
				   "# are mounted by stele-init; the image's own fstab named partitions\n"
				   "# this disk does not have.\n";
	struct tree_inode *in;
	char *buf;
	int r;

	if (!tree_lookup(t, "/etc/fstab"))
		return 0;
	in = tree_inode_new(TREE_REG, 0644);
	buf = strdup(text);
	if (!in || !buf) {
		tree_inode_unref(in);
		free(buf);
		return err_set(e, ENOMEM, "out of memory");
	}
	tree_inode_set_mem(in, buf, strlen(text));
	r = tree_put(t, "/etc/fstab", in, e);
	tree_inode_unref(in);
	return r;
}

static int image_compose(const void *cfg, struct tree *t, struct source_ctx *ctx, struct err *e)
{
	const struct image_cfg *c = cfg;
	struct archive_import_stats st = {0};
	guestfs_h *g;
	char **roots = NULL, *product = NULL;
	const char *slash = strrchr(c->path, '/');
	int r = 0;

	/* KVM hangs on some hosts (where /dev/kvm exists): TCG unless told STELE_ACCEL=kvm */
	if (!getenv("LIBGUESTFS_BACKEND_SETTINGS") &&
	    (!getenv("STELE_ACCEL") || strcmp(getenv("STELE_ACCEL"), "kvm") != 0))
		setenv("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg", 1);
	g = guestfs_create();
	if (!g)
		return err_set(e, ENOMEM, "libguestfs: cannot create a handle");
	guestfs_set_error_handler(g, NULL, NULL); /* errors come back here, not on stderr */
	reportf(ctx->report, BUILD_PROGRESS, "image %s: starting the libguestfs appliance",
		c->path);
	if (guestfs_add_drive_opts(g, c->path, GUESTFS_ADD_DRIVE_OPTS_READONLY, 1, -1) < 0 ||
	    guestfs_launch(g) < 0) {
		r = gerr(g, e, c->path);
		goto out;
	}
	roots = guestfs_inspect_os(g);
	if (!roots || !roots[0] || roots[1]) {
		r = roots ? err_set(e, EINVAL, "%s: %s", c->path,
				    roots[0] ? "more than one operating system"
					     : "no operating system found")
			  : gerr(g, e, c->path);
		goto out;
	}
	product = guestfs_inspect_get_product_name(g, roots[0]);
	r = mount_all(g, roots[0], e);
	if (r == 0)
		r = stream_tree(g, t, ctx->rootfs_size, &st, e);
	if (r == 0)
		r = replace_fstab(t, e);
	if (r == 0)
		r = inputs_add(ctx->inputs, "image", slash ? slash + 1 : c->path,
			       product ? product : "", NULL, e);
	if (r == 0)
		reportf(ctx->report, BUILD_PROGRESS, "image %s: %s, %llu entries, %llu bytes",
			c->path, product ? product : "unknown system",
			(unsigned long long)st.entries, (unsigned long long)st.bytes);
out:
	if (r < 0)
		err_prefix(e, r, "base.image");
	free(product);
	free_strings(roots);
	guestfs_close(g);
	return r;
}

const struct source_handler source_image = {
	.key = "image",
	.path_keys = image_paths,
	.parse = image_parse,
	.compose = image_compose,
	.free = image_free,
};
