#include "grow.h"
#include "lib/io.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/blkpg.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/gptgrow.h"
#include "console.h"
#include "rootfs/common/util.h"

#ifndef EXT4_IOC_RESIZE_FS
#define EXT4_IOC_RESIZE_FS _IOW('f', 16, uint64_t)
#endif

#define MIB (1ULL << 20)

static int sysfs_read(dev_t dev, const char *file, char *buf, size_t n, struct err *e)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%s", major(dev), minor(dev), file);
	return io_read_text(path, buf, n, NULL, e);
}

/* /dev/NAME of a block device, from its uevent (DEVNAME=vda). */
static int dev_node(dev_t dev, char *out, size_t n, struct err *e)
{
	char buf[1024], *p;
	int rc = sysfs_read(dev, "uevent", buf, sizeof(buf), e);

	if (rc < 0)
		return rc;
	p = strstr(buf, "DEVNAME=");
	if (!p)
		return err_set(e, ENOENT, "block device %u:%u has no name", major(dev), minor(dev));
	p += 8;
	p[strcspn(p, "\n")] = '\0';
	if (!*p || strchr(p, '/') || strstr(p, ".."))
		return err_set(e, EINVAL, "block device %u:%u: odd name", major(dev), minor(dev));
	if ((size_t)snprintf(out, n, "/dev/%s", p) >= n)
		return err_set(e, ENAMETOOLONG, "/dev/%s: too long", p);
	return 0;
}

static int read_u64(dev_t dev, const char *file, uint64_t *ret, struct err *e)
{
	char buf[32], *end;
	int rc = sysfs_read(dev, file, buf, sizeof(buf), e);

	if (rc < 0)
		return rc;
	errno = 0;
	*ret = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return err_set(e, EINVAL, "sysfs %s of %u:%u: not a number", file, major(dev),
			       minor(dev));
	return 0;
}

/* Tells the kernel the partition's new length (the table on disk is already rewritten). */
static int kernel_resize(int disk_fd, const struct partition *data, unsigned partno,
			 uint64_t bytes, struct err *e)
{
	uint64_t start;
	struct blkpg_partition p = {0};
	struct blkpg_ioctl_arg a = {.op = BLKPG_RESIZE_PARTITION, .datalen = sizeof(p), .data = &p};
	int rc = read_u64(data->dev, "start", &start, e);

	if (rc < 0)
		return rc;
	p.start = (long long)(start * 512);
	p.length = (long long)bytes;
	p.pno = (int)partno;
	if (ioctl(disk_fd, BLKPG, &a) < 0)
		return err_sys(e, errno, "telling the kernel the data partition's new size");
	return 0;
}

int grow_data_partition(const struct partition *data, struct err *e)
{
	char node[96];
	struct gpt_grow g;
	uint64_t size;
	int ss, fd, rc;

	rc = dev_node(data->disk, node, sizeof(node), e);
	if (rc < 0)
		return rc;
	fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "%s", node);
	if (ioctl(fd, BLKGETSIZE64, &size) < 0 || ioctl(fd, BLKSSZGET, &ss) < 0) {
		rc = err_sys(e, errno, "%s: size", node);
		goto out;
	}
	rc = gpt_grow_last(fd, size, (uint32_t)ss, "data", &g, e);
	if (rc == 0 && g.grown) {
		console_log("data: the disk is larger than the image: partition %u grown from %llu "
			    "to %llu MiB", g.partno,
			    (unsigned long long)(g.old_sectors * (uint64_t)ss / MIB),
			    (unsigned long long)(g.new_sectors * (uint64_t)ss / MIB));
		rc = kernel_resize(fd, data, g.partno, g.new_sectors * (uint64_t)ss, e);
	}
out:
	close(fd);
	return rc < 0 ? err_prefix(e, rc, "growing the data partition on %s", node) : 0;
}

/* The block count in the ext4 superblock (1024 bytes into the partition). */
static int ext4_blocks(const char *node, uint64_t *ret_blocks, uint64_t *ret_bsize, struct err *e)
{
	uint8_t sb[1024];
	int fd = open(node, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return err_sys(e, errno, "%s", node);
	rc = io_pread_full(fd, sb, sizeof(sb), 1024, node, e);
	close(fd);
	if (rc < 0)
		return rc;
	if (sb[0x38] != 0x53 || sb[0x39] != 0xef || sb[24] > 6)
		return err_set(e, EINVAL, "%s: not an ext4 superblock", node);
	*ret_bsize = 1024ULL << sb[24];
	*ret_blocks = (uint64_t)sb[4] | (uint64_t)sb[5] << 8 | (uint64_t)sb[6] << 16 |
		      (uint64_t)sb[7] << 24;
	if (sb[0x60] & 0x80) /* 64bit: s_blocks_count_hi */
		*ret_blocks |= ((uint64_t)sb[0x150] | (uint64_t)sb[0x151] << 8 |
				(uint64_t)sb[0x152] << 16 | (uint64_t)sb[0x153] << 24) << 32;
	return 0;
}

int grow_data_fs(const struct partition *data, const char *mnt, struct err *e)
{
	uint64_t part, blocks, bsize, want;
	int fd, rc;

	fd = open(data->node, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "%s", data->node);
	rc = ioctl(fd, BLKGETSIZE64, &part) < 0 ? err_sys(e, errno, "%s: size", data->node) : 0;
	close(fd);
	if (rc == 0)
		rc = ext4_blocks(data->node, &blocks, &bsize, e);
	if (rc < 0)
		return rc;
	want = part / bsize;
	if (want <= blocks + MIB / bsize) /* within 1 MiB (a short last group): done */
		return 0;
	fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "%s", mnt);
	console_log("data: growing its ext4 from %llu to %llu MiB",
		    (unsigned long long)(blocks * bsize / MIB), (unsigned long long)(part / MIB));
	if (ioctl(fd, EXT4_IOC_RESIZE_FS, &want) < 0)
		rc = err_sys(e, errno, "growing the data filesystem");
	close(fd);
	return rc;
}
