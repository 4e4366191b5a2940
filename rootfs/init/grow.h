/* The data partition fills the disk: on a boot where the disk is larger than the image's GPT
 * says (an image written to a larger disk, a resized VM disk), stele-init moves the backup GPT
 * to the end and grows the data partition (lib/gptgrow.h), before mounting it; once it is
 * mounted, its ext4 is grown online to the partition's size. Both steps are safe across a
 * power cut and are retried on the next boot until they are done. */
#ifndef STELE_INIT_GROW_H
#define STELE_INIT_GROW_H

#include "lib/err.h"
#include "rootfs/common/partitions.h"

/* Grows the partition table; a disk that needs nothing is left alone. */
int grow_data_partition(const struct partition *data, struct err *e);
/* Grows the ext4 mounted at mnt (from the partition node) to the partition's size. */
int grow_data_fs(const struct partition *data, const char *mnt, struct err *e);

#endif
