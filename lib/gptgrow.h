/* Growing a disk's last partition into space added at the end of the disk (an image written
 * to a larger disk, a resized VM disk): the backup GPT moves to the new end, the usable range
 * and the partition grow. Works on a file descriptor of the whole disk (a block device on the
 * device, an image file in tests); prints nothing. */
#ifndef STELE_LIB_GPTGROW_H
#define STELE_LIB_GPTGROW_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct gpt_grow {
	unsigned partno;     /* 1-based number of the grown entry */
	uint64_t old_sectors, new_sectors;
	bool grown;	     /* false: nothing to do (the GPT already ends at the disk's end) */
};

/* When the disk (disk_size bytes, sectors of sector_size) is larger than its GPT says and the
 * entry labelled label is the last partition on it, rewrites the GPT so that it ends at the
 * disk's end and the entry fills the space up to the last usable LBA (its end aligned down to
 * 1 MiB). Order, for power cuts: the new backup (entries, header) at the new end, sync; the
 * protective MBR; the primary entries and header, sync. A cut before the primary header is
 * written leaves the old table, whose backup still stands at the old place, or (the header's
 * CRC no longer holding) the new backup at the disk's end: either is whole. Both headers are
 * checked first (signature, CRCs, bounds); a table that does not hold is refused, not
 * rewritten. */
int gpt_grow_last(int fd, uint64_t disk_size, uint32_t sector_size, const char *label,
		  struct gpt_grow *ret, struct err *e) __attribute__((warn_unused_result));

uint32_t gpt_crc32(const void *buf, size_t len);

#endif
