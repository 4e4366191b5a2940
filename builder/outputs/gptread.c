#include "gptread.h"

#include <errno.h>
#include <fcntl.h>
#include <libfdisk/libfdisk.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* What to say when libfdisk finds no GPT: a primary header whose backup lies past the end
 * of the file is a truncated image, not a missing table. */
static int explain_no_gpt(const char *path, int fd, uint64_t size, struct err *e)
{
	uint8_t h[40];
	uint64_t alt = 0, want;

	if (pread(fd, h, sizeof(h), 512) != (ssize_t)sizeof(h) || memcmp(h, "EFI PART", 8) != 0)
		return err_set(e, EINVAL, "%s: no GPT (not a disk image)", path);
	for (int i = 7; i >= 0; i--)
		alt = alt << 8 | h[32 + i];
	if (__builtin_add_overflow(alt, 1, &want) || __builtin_mul_overflow(want, 512, &want))
		return err_set(e, EINVAL, "%s: the GPT header's backup LBA %llu is not on any disk",
			       path, (unsigned long long)alt);
	if (want > size)
		return err_set(e, EINVAL,
			       "%s: backup GPT missing: the image is truncated (%llu bytes, the GPT "
			       "expects %llu)",
			       path, (unsigned long long)size, (unsigned long long)want);
	return err_set(e, EINVAL, "%s: the GPT is damaged (a bad header or entry checksum)", path);
}

/* libfdisk is given only regular files and block devices big enough for a GPT: it leaks a
 * blkid probe when probing a zero-sized device (/dev/zero) fails, and says only "Invalid
 * argument" for a tiny file. */
static int disk_size(const char *path, int *ret_fd, uint64_t *ret, struct err *e)
{
	struct stat st;
	uint64_t size = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return err_sys(e, errno, "%s", path);
	if (fstat(fd, &st) < 0) {
		int r = err_sys(e, errno, "%s", path);
		close(fd);
		return r;
	}
	if (S_ISREG(st.st_mode))
		size = (uint64_t)st.st_size;
	else if (!S_ISBLK(st.st_mode) || ioctl(fd, BLKGETSIZE64, &size) < 0) {
		close(fd);
		return err_set(e, EINVAL, "%s: not a disk image (neither a file nor a block device)",
			       path);
	}
	if (size < GPT_MIN_DISK_SIZE) {
		close(fd);
		return err_set(e, EINVAL, "%s: not a disk image: %llu byte%s (a GPT disk has at "
					  "least %u)",
			       path, (unsigned long long)size, size == 1 ? "" : "s",
			       GPT_MIN_DISK_SIZE);
	}
	*ret_fd = fd;
	*ret = size;
	return 0;
}

/* The headers libfdisk reads (LBA 1, the backup where the primary says, the last sector),
 * bounded before it allocates their entry arrays. */
static int check_headers(const char *path, int fd, uint64_t size, struct err *e)
{
	uint64_t lbas[3] = {1, 0, size / 512 - 1};
	uint8_t h[512];
	int r;

	for (size_t i = 0; i < 3; i++) {
		if (i == 1) {
			lbas[1] = 0;
			for (int k = 7; k >= 0; k--)
				lbas[1] = lbas[1] << 8 | h[32 + k];
		}
		if (lbas[i] > size / 512 - 1)
			continue;
		if (pread(fd, h, sizeof(h), (off_t)(lbas[i] * 512)) != (ssize_t)sizeof(h))
			return err_sys(e, errno ? errno : EIO, "%s: reading LBA %llu", path,
				       (unsigned long long)lbas[i]);
		r = gpt_header_bounds(h, lbas[i], size, e);
		if (r < 0)
			return err_prefix(e, r, "%s", path);
	}
	return 0;
}

static int read_entries(struct fdisk_context *cxt, const char *path, struct gpt_table *t,
			struct err *e)
{
	struct fdisk_table *tb = NULL;
	struct fdisk_iter *it = fdisk_new_iter(FDISK_ITER_FORWARD);
	struct fdisk_partition *pa;
	int r = 0;

	if (!it || fdisk_get_partitions(cxt, &tb) < 0) {
		r = err_set(e, EIO, "%s: cannot read the partitions", path);
		goto out;
	}
	t->n = 0;
	while (fdisk_table_next_partition(tb, it, &pa) == 0) {
		struct gpt_entry *p = &t->entries[t->n];
		const char *name = fdisk_partition_get_name(pa);

		if (t->n == GPT_MAX_ENTRIES) {
			r = err_set(e, EINVAL, "%s: more than %d partitions", path, GPT_MAX_ENTRIES);
			goto out;
		}
		snprintf(p->name, sizeof(p->name), "%s", name ? name : "");
		p->start = fdisk_partition_get_start(pa);
		p->sectors = fdisk_partition_get_size(pa);
		p->partno = (unsigned)fdisk_partition_get_partno(pa) + 1;
		t->n++;
	}
out:
	fdisk_free_iter(it);
	fdisk_unref_table(tb);
	return r;
}

int gpt_read(const char *path, struct gpt_disk *ret, struct err *e)
{
	struct fdisk_context *cxt = NULL;
	struct gpt_disk *d = calloc(1, sizeof(*d));
	int fd = -1, r;

	if (!d)
		return err_set(e, ENOMEM, "out of memory");
	r = disk_size(path, &fd, &d->table.disk_size, e);
	if (r < 0)
		goto out;
	r = check_headers(path, fd, d->table.disk_size, e);
	if (r < 0)
		goto out;
	cxt = fdisk_new_context();
	if (!cxt) {
		r = err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	fdisk_disable_dialogs(cxt, 1);
	r = fdisk_assign_device(cxt, path, 1);
	if (r < 0) {
		r = err_sys(e, -r, "%s", path);
		goto out;
	}
	if (!fdisk_is_labeltype(cxt, FDISK_DISKLABEL_GPT)) {
		r = explain_no_gpt(path, fd, d->table.disk_size, e);
		goto out;
	}
	d->table.sector_size = (uint32_t)fdisk_get_sector_size(cxt);
	d->table.first_usable = fdisk_get_first_lba(cxt);
	d->table.last_usable = fdisk_get_last_lba(cxt);
	r = read_entries(cxt, path, &d->table, e);
	if (r == 0 && (r = gpt_check(&d->table, d->part, e)) < 0)
		err_prefix(e, r, "%s: GPT", path);
	if (r == 0)
		*ret = *d;
out:
	fdisk_unref_context(cxt);
	if (fd >= 0)
		close(fd);
	free(d);
	return r < 0 ? r : 0;
}
