/* Finding the slot's partitions by GPT partition name (PARTLABEL) with libblkid, waiting for
 * them: disks appear asynchronously (a virtio or NVMe disk after its module loads). */
#ifndef STELE_COMMON_PARTITIONS_H
#define STELE_COMMON_PARTITIONS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"
#include "lib/gpt.h"

struct partition {
	char label[72];
	char node[64]; /* /dev/vda3 */
	dev_t dev;
	dev_t disk; /* the whole disk it is on */
};

/* Waits up to timeout_ms until every label is found, polling every 100 ms. labels[0] may be
 * on any disk (the first one in /proc/partitions order wins); the others must be on the same
 * disk, so a second stele disk (an installer stick) cannot mix in its partitions. Then the
 * partition table of that disk is checked (partitions_check_table) and each partition found
 * must be where the table puts its label: a disk with overlapping or out-of-range
 * partitions is refused, however long it waited. ret gets n entries, in the order of labels. */
int partitions_find(const char *const *labels, size_t n, unsigned timeout_ms,
		    struct partition *ret, struct err *e);

/* Reads the GPT of a whole disk or a disk image with libblkid (entries in its logical
 * sectors), and checks its geometry with gpt_check; ret may be NULL. */
int partitions_check_table(const char *path, struct gpt_region ret[GPT_PART_COUNT],
			   struct err *e) __attribute__((warn_unused_result));

/* The size of an open block device (BLKGETSIZE64), or of a regular file. */
int blockdev_size(int fd, const char *name, uint64_t *ret, struct err *e);

#endif
