#include "dm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define DM_BUF_SIZE 16384

union dm_buf {
	struct dm_ioctl io;
	uint8_t bytes[DM_BUF_SIZE];
};

static bool is_hex(const char *s)
{
	return strspn(s, "0123456789abcdefABCDEF") == strlen(s);
}

static const char *mode_flag(enum dm_verity_mode m)
{
	switch (m) {
	case DM_VERITY_PANIC:
		return " 1 panic_on_corruption";
	case DM_VERITY_EIO:
		return "";
	case DM_VERITY_RESTART:
	default:
		return " 1 restart_on_corruption";
	}
}

int dm_verity_target(const struct dm_verity_args *a, struct dm_target *ret, struct err *e)
{
	struct dm_target t = {.type = "verity"};
	int n;

	if (!a->algorithm[0] || strspn(a->algorithm, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
					strlen(a->algorithm))
		return err_set(e, EINVAL, "verity algorithm \"%s\"", a->algorithm);
	if (!a->root_hash[0] || !is_hex(a->root_hash) || !is_hex(a->salt))
		return err_set(e, EINVAL, "verity root hash or salt is not hex");
	if (a->data_block_size < 512 || a->data_block_size % 512 || a->data_blocks == 0 ||
	    a->data_blocks > UINT64_MAX / a->data_block_size)
		return err_set(e, EINVAL, "verity data area of %llu blocks of %u bytes",
			       (unsigned long long)a->data_blocks, a->data_block_size);
	t.sectors = a->data_blocks * (a->data_block_size / 512);
	n = snprintf(t.params, sizeof(t.params), "1 %u:%u %u:%u %u %u %llu %llu %s %s %s%s",
		     major(a->data_dev), minor(a->data_dev), major(a->hash_dev),
		     minor(a->hash_dev), a->data_block_size, a->hash_block_size,
		     (unsigned long long)a->data_blocks, (unsigned long long)a->hash_start_block,
		     a->algorithm, a->root_hash, a->salt[0] ? a->salt : "-", mode_flag(a->mode));
	if (n < 0 || (size_t)n >= sizeof(t.params))
		return err_set(e, ENAMETOOLONG, "verity table longer than %zu bytes",
			       sizeof(t.params) - 1);
	*ret = t;
	return 0;
}

static int io_init(union dm_buf *b, size_t size, const char *name, uint32_t flags,
		   struct err *e)
{
	struct dm_ioctl *io = &b->io;

	if (strlen(name) >= sizeof(io->name))
		return err_set(e, ENAMETOOLONG, "device-mapper name \"%s\" too long", name);
	memset(b, 0, sizeof(*b));
	io->version[0] = DM_VERSION_MAJOR;
	io->version[1] = 0;
	io->version[2] = 0;
	io->data_size = (uint32_t)size;
	io->data_start = sizeof(struct dm_ioctl);
	io->flags = flags;
	strcpy(io->name, name);
	return 0;
}

static int io_run(int fd, unsigned long req, union dm_buf *b, const char *what, struct err *e)
{
	int rc;

	do
		rc = ioctl(fd, req, &b->io);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return err_sys(e, errno, "device-mapper %s", what);
	return 0;
}

static int control_open(int *ret_fd, struct err *e)
{
	union dm_buf b;
	int fd, rc;

	fd = open(DM_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "opening %s%s", DM_CONTROL_PATH,
			       errno == ENOENT ? " (is dm-mod loaded?)" : "");
	rc = io_init(&b, sizeof(b), "", 0, e);
	if (rc == 0)
		rc = io_run(fd, DM_VERSION, &b, "version", e);
	if (rc == 0 && b.io.version[0] != DM_VERSION_MAJOR)
		rc = err_set(e, EPROTO, "device-mapper interface %u.%u, expected %d.x",
			     b.io.version[0], b.io.version[1], DM_VERSION_MAJOR);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	*ret_fd = fd;
	return 0;
}

/* The table after the header: one dm_target_spec, its parameters NUL-terminated and padded
 * so the (absent) next spec would be 8-byte aligned. */
static int table_load(int fd, const char *name, const struct dm_target *t, struct err *e)
{
	union dm_buf b;
	struct dm_target_spec spec;
	size_t plen = strlen(t->params) + 1, padded = (plen + 7) & ~(size_t)7;
	size_t size = sizeof(struct dm_ioctl) + sizeof(spec) + padded;
	int rc;

	if (size > sizeof(b) || strlen(t->type) >= sizeof(spec.target_type))
		return err_set(e, E2BIG, "device-mapper table too large");
	rc = io_init(&b, size, name, DM_READONLY_FLAG, e);
	if (rc < 0)
		return rc;
	b.io.target_count = 1;
	memset(&spec, 0, sizeof(spec));
	spec.sector_start = 0;
	spec.length = t->sectors;
	spec.next = (uint32_t)(sizeof(spec) + padded);
	strcpy(spec.target_type, t->type);
	memcpy(b.bytes + sizeof(struct dm_ioctl), &spec, sizeof(spec));
	memcpy(b.bytes + sizeof(struct dm_ioctl) + sizeof(spec), t->params, plen);
	return io_run(fd, DM_TABLE_LOAD, &b, "table load (the kernel log says why)", e);
}

static int dev_create(int fd, const char *name, const char *uuid, dev_t *ret_dev,
		      struct err *e)
{
	union dm_buf b;
	int rc;

	rc = io_init(&b, sizeof(b), name, 0, e);
	if (rc < 0)
		return rc;
	if (uuid && strlen(uuid) >= sizeof(b.io.uuid))
		return err_set(e, ENAMETOOLONG, "device-mapper uuid too long");
	if (uuid)
		strcpy(b.io.uuid, uuid);
	rc = io_run(fd, DM_DEV_CREATE, &b, "create", e);
	if (rc < 0)
		return rc;
	*ret_dev = (dev_t)b.io.dev;
	return 0;
}

static int dev_resume(int fd, const char *name, struct err *e)
{
	union dm_buf b;
	int rc;

	rc = io_init(&b, sizeof(b), name, 0, e);
	return rc < 0 ? rc : io_run(fd, DM_DEV_SUSPEND, &b, "resume", e);
}

static int dev_remove(int fd, const char *name, struct err *e)
{
	union dm_buf b;
	int rc;

	rc = io_init(&b, sizeof(b), name, 0, e);
	return rc < 0 ? rc : io_run(fd, DM_DEV_REMOVE, &b, "remove", e);
}

int dm_create(const char *name, const char *uuid, const struct dm_target *t, dev_t *ret_dev,
	      struct err *e)
{
	dev_t dev = 0;
	int fd, rc;

	rc = control_open(&fd, e);
	if (rc < 0)
		return rc;
	rc = dev_create(fd, name, uuid, &dev, e);
	if (rc < 0)
		goto out;
	rc = table_load(fd, name, t, e);
	if (rc == 0)
		rc = dev_resume(fd, name, e);
	if (rc < 0) {
		dev_remove(fd, name, NULL);
		goto out;
	}
	*ret_dev = dev;
out:
	close(fd);
	return rc < 0 ? err_prefix(e, rc, "%s", name) : 0;
}

int dm_remove(const char *name, struct err *e)
{
	int fd, rc;

	rc = control_open(&fd, e);
	if (rc < 0)
		return rc;
	rc = dev_remove(fd, name, e);
	close(fd);
	return rc;
}

int dm_node(dev_t dev, const char *fallback, char *ret_path, size_t size, struct err *e)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/dm-%u", minor(dev));
	if (stat(path, &st) < 0 || !S_ISBLK(st.st_mode) || st.st_rdev != dev) {
		if (strlen(fallback) >= sizeof(path))
			return err_set(e, ENAMETOOLONG, "%s: name too long", fallback);
		unlink(fallback);
		if (mknod(fallback, S_IFBLK | 0600, dev) < 0)
			return err_sys(e, errno, "creating %s", fallback);
		strcpy(path, fallback);
	}
	if (strlen(path) >= size)
		return err_set(e, ENAMETOOLONG, "%s: name too long", path);
	strcpy(ret_path, path);
	return 0;
}
