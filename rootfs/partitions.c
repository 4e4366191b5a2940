#include "partitions.h"

#include <blkid.h>
#include <errno.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdio.h>
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
	memcpy(ret, found, n * sizeof(*found));
	return 0;
}
