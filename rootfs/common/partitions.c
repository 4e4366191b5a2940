#include "partitions.h"

#include <blkid.h>
#include <errno.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define MAX_SEEN 256
#define POLL_MS 100

struct seen {
	struct partition p[MAX_SEEN];
	size_t n;
};

int blockdev_size(int fd, const char *name, uint64_t *ret, struct err *e)
{
	struct stat st;
	uint64_t size;

	if (fstat(fd, &st) < 0)
		return err_sys(e, errno, "%s", name);
	if (S_ISREG(st.st_mode)) {
		*ret = (uint64_t)st.st_size;
		return 0;
	}
	if (!S_ISBLK(st.st_mode))
		return err_set(e, ENOTBLK, "%s: not a block device", name);
	if (ioctl(fd, BLKGETSIZE64, &size) < 0)
		return err_sys(e, errno, "%s: BLKGETSIZE64", name);
	*ret = size;
	return 0;
}

static bool is_partition(unsigned maj, unsigned min)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/partition", maj, min);
	return access(path, F_OK) == 0;
}

/* The GPT name of a partition device, from its parent's partition table. */
static bool probe_label(const char *node, char *out, size_t size)
{
	blkid_probe pr = blkid_new_probe_from_filename(node);
	const char *v = NULL;
	bool found = false;

	if (!pr)
		return false;
	blkid_probe_enable_superblocks(pr, 0);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
	if (blkid_do_safeprobe(pr) >= 0 &&
	    blkid_probe_lookup_value(pr, "PART_ENTRY_NAME", &v, NULL) == 0 && v &&
	    strlen(v) < size) {
		strcpy(out, v);
		found = true;
	}
	blkid_free_probe(pr);
	return found;
}

/* /proc/partitions names a device as /dev names it, with '/' written as '!'. */
static bool node_of(const char *name, char *out, size_t size)
{
	if ((size_t)snprintf(out, size, "/dev/%s", name) >= size)
		return false;
	for (char *p = out; *p; p++)
		if (*p == '!')
			*p = '/';
	return true;
}

static int check_disk(const struct partition *found, size_t n, struct err *e);

static void scan_one(unsigned maj, unsigned min, const char *name, struct seen *s)
{
	struct partition *p = &s->p[s->n];
	dev_t disk = 0;

	if (s->n >= MAX_SEEN || !is_partition(maj, min) || !node_of(name, p->node, sizeof(p->node)))
		return;
	if (!probe_label(p->node, p->label, sizeof(p->label)))
		return;
	p->dev = makedev(maj, min);
	if (blkid_devno_to_wholedisk(p->dev, NULL, 0, &disk) < 0)
		disk = p->dev;
	p->disk = disk;
	s->n++;
}

static void scan(struct seen *s)
{
	char line[256], name[128];
	unsigned maj, min;
	unsigned long long blocks;
	FILE *f = fopen("/proc/partitions", "re");

	s->n = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " %u %u %llu %127s", &maj, &min, &blocks, name) == 4)
			scan_one(maj, min, name, s);
	fclose(f);
}

static const struct partition *lookup(const struct seen *s, const char *label,
				      const struct partition *same_disk)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->p[i].label, label) == 0 &&
		    (!same_disk || s->p[i].disk == same_disk->disk))
			return &s->p[i];
	return NULL;
}

/* Index of the first label not found, or n when all are. */
static size_t resolve(const struct seen *s, const char *const *labels, size_t n,
		      struct partition *out)
{
	const struct partition *first = NULL, *p;

	for (size_t i = 0; i < n; i++) {
		p = lookup(s, labels[i], first);
		if (!p)
			return i;
		if (i == 0)
			first = p;
		out[i] = *p;
	}
	return n;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int missing(const struct seen *s, const char *const *labels, size_t idx,
		   const struct partition *found, unsigned timeout_ms, struct err *e)
{
	if (idx > 0 && lookup(s, labels[idx], NULL))
		return err_set(e, ENODEV, "the partition labelled %s is not on the disk of %s (%s)",
			       labels[idx], labels[0], found[0].node);
	return err_set(e, ENODEV, "no partition labelled %s (waited %u s)", labels[idx],
		       timeout_ms / 1000);
}

int partitions_find(const char *const *labels, size_t n, unsigned timeout_ms,
		    struct partition *ret, struct err *e)
{
	struct seen s;
	struct partition found[8];
	const struct timespec poll = {0, POLL_MS * 1000000L};
	uint64_t deadline = now_ms() + timeout_ms;
	size_t idx;
	int rc;

	if (n == 0 || n > sizeof(found) / sizeof(found[0]))
		return err_set(e, EINVAL, "looking for %zu partitions", n);
	for (;;) {
		scan(&s);
		idx = resolve(&s, labels, n, found);
		if (idx == n)
			break;
		if (now_ms() >= deadline)
			return missing(&s, labels, idx, found, timeout_ms, e);
		nanosleep(&poll, NULL);
	}
	rc = check_disk(found, n, e);
	if (rc < 0)
		return rc;
	memcpy(ret, found, n * sizeof(*found));
	return 0;
}

/* libblkid gives starts and sizes in 512-byte units whatever the sector size. */
static int entry_from_blkid(blkid_partition bp, uint32_t ss, struct gpt_entry *p)
{
	const char *name = blkid_partition_get_name(bp);
	blkid_loff_t start = blkid_partition_get_start(bp), size = blkid_partition_get_size(bp);
	uint64_t per = ss / 512;

	snprintf(p->name, sizeof(p->name), "%s", name ? name : "");
	p->partno = (unsigned)blkid_partition_get_partno(bp);
	if (start < 0 || (uint64_t)start % per)
		return -EINVAL;
	p->start = (uint64_t)start / per;
	p->sectors = size > 0 ? (uint64_t)size / per : 0; /* a negative size: it ends first */
	return 0;
}

static int read_table(blkid_probe pr, const char *path, struct gpt_table *t, struct err *e)
{
	blkid_partlist ls;
	blkid_parttable tab;
	const char *type;
	blkid_loff_t size = blkid_probe_get_size(pr);
	int n;

	memset(t, 0, sizeof(*t));
	if (size < (blkid_loff_t)GPT_MIN_DISK_SIZE)
		return err_set(e, EINVAL, "%s: not a disk image: %lld bytes", path, (long long)size);
	t->disk_size = (uint64_t)size;
	t->sector_size = blkid_probe_get_sectorsize(pr);
	blkid_probe_enable_superblocks(pr, 0);
	blkid_probe_enable_partitions(pr, 1);
	ls = blkid_probe_get_partitions(pr);
	tab = ls ? blkid_partlist_get_table(ls) : NULL;
	type = tab ? blkid_parttable_get_type(tab) : NULL;
	if (!type || strcmp(type, "gpt") != 0)
		return err_set(e, EINVAL, "%s: no GPT", path);
	n = blkid_partlist_numof_partitions(ls);
	if (n < 0 || n > GPT_MAX_ENTRIES)
		return err_set(e, EINVAL, "%s: %d partitions (at most %d)", path, n,
			       GPT_MAX_ENTRIES);
	for (int i = 0; i < n; i++) {
		struct gpt_entry *p = &t->entries[t->n++];
		if (entry_from_blkid(blkid_partlist_get_partition(ls, i), t->sector_size, p) < 0)
			return err_set(e, EINVAL, "%s: partition %u: not on a sector boundary", path,
				       p->partno);
	}
	/* libblkid skips entries outside the header's usable range (a missing label then); the
	 * header's range itself is not exposed, so the widest a GPT can have is used */
	return gpt_usable_bounds(t->sector_size, t->disk_size, &t->first_usable, &t->last_usable,
				 e);
}

int partitions_check_table(const char *path, struct gpt_region ret[GPT_PART_COUNT],
			   struct err *e)
{
	struct gpt_region r[GPT_PART_COUNT];
	struct gpt_table *t = malloc(sizeof(*t));
	blkid_probe pr = NULL;
	int rc;

	if (!t)
		return err_set(e, ENOMEM, "out of memory");
	pr = blkid_new_probe_from_filename(path);
	if (!pr)
		rc = err_sys(e, errno ? errno : EINVAL, "%s", path);
	else
		rc = read_table(pr, path, t, e);
	if (rc == 0 && (rc = gpt_check(t, r, e)) < 0)
		err_prefix(e, rc, "the partition table of %s", path);
	if (rc == 0 && ret)
		memcpy(ret, r, sizeof(r));
	blkid_free_probe(pr);
	free(t);
	return rc;
}

static int read_sysfs_u64(unsigned maj, unsigned min, const char *file, uint64_t *ret)
{
	char path[96];
	unsigned long long v;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%s", maj, min, file);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fscanf(f, "%llu", &v);
	fclose(f);
	if (n != 1)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* The kernel's partition (what the device node reads and writes) must be the table's. */
static int same_as_kernel(const struct partition *p, const struct gpt_region *r, struct err *e)
{
	uint64_t start, size; /* 512-byte units, always */

	if (read_sysfs_u64(major(p->dev), minor(p->dev), "start", &start) < 0 ||
	    read_sysfs_u64(major(p->dev), minor(p->dev), "size", &size) < 0)
		return err_set(e, EIO, "%s: no start or size in /sys/dev/block", p->node);
	if (start > UINT64_MAX / 512 || size > UINT64_MAX / 512 || start * 512 != r->offset ||
	    size * 512 != r->size)
		return err_set(e, EINVAL,
			       "%s (%s): the kernel has it at byte %llu, %llu bytes; the partition "
			       "table at byte %llu, %llu bytes",
			       p->node, p->label, (unsigned long long)(start * 512),
			       (unsigned long long)(size * 512), (unsigned long long)r->offset,
			       (unsigned long long)r->size);
	return 0;
}

static int check_disk(const struct partition *found, size_t n, struct err *e)
{
	struct gpt_region r[GPT_PART_COUNT];
	char *disk = blkid_devno_to_devname(found[0].disk);
	int rc;

	if (!disk)
		return err_set(e, ENODEV, "no device node for the disk of %s", found[0].node);
	rc = partitions_check_table(disk, r, e);
	for (size_t i = 0; rc == 0 && i < n; i++)
		for (size_t l = 0; rc == 0 && l < GPT_PART_COUNT; l++)
			if (strcmp(found[i].label, gpt_part_labels[l]) == 0)
				rc = same_as_kernel(&found[i], &r[l], e);
	free(disk);
	return rc;
}
