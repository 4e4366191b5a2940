#include "disk.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <libfdisk/libfdisk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pass.h"

#define SECTOR 512

void disk_uuid(const uint8_t seed[SHA256_LEN], const char *purpose, char out[37])
{
	struct sha256_ctx *c = sha256_new();
	uint8_t d[SHA256_LEN];
	char hex[33];

	sha256_update(c, seed, SHA256_LEN);
	sha256_update(c, "gpt-", 4);
	sha256_update(c, purpose, strlen(purpose) + 1);
	sha256_final(c, d);
	d[6] = (uint8_t)((d[6] & 0x0f) | 0x40);
	d[8] = (uint8_t)((d[8] & 0x3f) | 0x80);
	hex_encode(d, 16, hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static int add_partition(struct fdisk_context *cxt, int i, const struct disk_part *p,
			 uint64_t start, const uint8_t seed[SHA256_LEN], struct err *e)
{
	struct fdisk_label *lb = fdisk_get_label(cxt, "gpt");
	struct fdisk_partition *pa = fdisk_new_partition();
	struct fdisk_parttype *type = fdisk_label_get_parttype_from_string(lb, p->type_guid);
	char uuid[37];
	int r;

	disk_uuid(seed, p->label, uuid);
	r = pa && type ? 0 : -ENOMEM;
	if (r == 0)
		r = fdisk_partition_set_partno(pa, (size_t)i);
	if (r == 0)
		r = fdisk_partition_set_start(pa, start / SECTOR);
	if (r == 0)
		r = fdisk_partition_set_size(pa, p->size / SECTOR);
	if (r == 0)
		r = fdisk_partition_set_type(pa, type);
	if (r == 0)
		r = fdisk_partition_set_name(pa, p->label);
	if (r == 0)
		r = fdisk_partition_set_uuid(pa, uuid);
	if (r == 0)
		r = fdisk_add_partition(cxt, pa, NULL);
	fdisk_unref_partition(pa);
	fdisk_unref_parttype(type);
	return r < 0 ? err_sys(e, r, "GPT: adding partition %s", p->label) : 0;
}

static int write_gpt(const char *path, const struct disk_part *parts, int nparts,
		     const uint64_t *start, const uint8_t seed[SHA256_LEN], struct err *e)
{
	struct fdisk_context *cxt = fdisk_new_context();
	char uuid[37];
	int r;

	if (!cxt)
		return err_set(e, ENOMEM, "out of memory");
	fdisk_disable_dialogs(cxt, 1);
	r = fdisk_assign_device(cxt, path, 0);
	if (r == 0)
		r = fdisk_create_disklabel(cxt, "gpt");
	if (r < 0) {
		r = err_sys(e, r, "GPT: creating the label on %s", path);
		goto out;
	}
	disk_uuid(seed, "disk", uuid);
	r = fdisk_set_disklabel_id_from_string(cxt, uuid);
	if (r < 0) {
		r = err_sys(e, r, "GPT: setting the disk GUID");
		goto out;
	}
	for (int i = 0; i < nparts && r == 0; i++)
		r = add_partition(cxt, i, &parts[i], start[i], seed, e);
	if (r == 0 && (r = fdisk_write_disklabel(cxt)) < 0)
		r = err_sys(e, r, "GPT: writing %s", path);
out:
	/* no sync() of every filesystem: the build makes its outputs durable when it commits */
	fdisk_deassign_device(cxt, 1);
	fdisk_unref_context(cxt);
	return r;
}

/* Copies src to offset, leaving its holes and zero blocks unwritten (the target is fresh). */
static int copy_in(int fd, uint64_t offset, uint64_t max, const char *src, struct err *e)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), r;
	struct stat st;

	if (in < 0 || fstat(in, &st) < 0) {
		r = err_sys(e, errno, "%s", src);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		r = err_set(e, ENOSPC, "%s (%llu MiB) does not fit its partition (%llu MiB)", src,
			    (unsigned long long)((uint64_t)st.st_size >> 20),
			    (unsigned long long)(max >> 20));
		goto out;
	}
	r = pass_copy(in, (uint64_t)st.st_size, fd, offset, e);
	if (r < 0)
		err_prefix(e, r, "%s into the disk image", src);
out:
	if (in >= 0)
		close(in);
	return r;
}

int disk_create(const char *path, const struct disk_part *parts, int nparts,
		const uint8_t seed[SHA256_LEN], struct disk_layout_out *out, int *ret_fd,
		struct err *e)
{
	uint64_t pos = DISK_ALIGN;
	int fd, r = 0;

	if (nparts > DISK_MAX_PARTS)
		return err_set(e, E2BIG, "too many partitions");
	for (int i = 0; i < nparts; i++) {
		if (parts[i].size == 0 || parts[i].size % DISK_ALIGN)
			return err_set(e, EINVAL, "partition %s: size must be a positive multiple "
						  "of 1 MiB", parts[i].label);
		out->start[i] = pos;
		pos += parts[i].size;
	}
	out->size = pos + DISK_ALIGN; /* room for the backup GPT */
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_sys(e, errno, "creating %s", path);
	if (ftruncate(fd, (off_t)out->size) < 0)
		r = err_sys(e, errno, "sizing %s", path);
	/* first, while the file is empty: libfdisk syncs the file after each write */
	if (r == 0)
		r = write_gpt(path, parts, nparts, out->start, seed, e);
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int disk_fill(int fd, const struct disk_part *parts, int nparts,
	      const struct disk_layout_out *layout, struct err *e)
{
	int r = 0;

	for (int i = 0; r == 0 && i < nparts; i++)
		if (parts[i].src)
			r = copy_in(fd, layout->start[i], parts[i].size, parts[i].src, e);
	return r;
}
