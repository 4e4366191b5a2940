/* The partition labels of a stele disk and the one check of a partition table's geometry
 * that `stele verify`, `stele state`, stele-init and stele-update all make before they read
 * or write a partition: whoever read the table (libfdisk from an image, the kernel through
 * sysfs on the device) fills a struct gpt_table, and only the byte ranges this check returns
 * are used. */
#ifndef STELE_LIB_GPT_H
#define STELE_LIB_GPT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum gpt_part {
	GPT_PART_ESP,
	GPT_PART_ROOT_A,
	GPT_PART_VERITY_A,
	GPT_PART_ROOT_B,
	GPT_PART_VERITY_B,
	GPT_PART_DATA,
	GPT_PART_COUNT
};

/* "esp", "root_a", "verity_a", "root_b", "verity_b", "data" (the PARTLABELs). */
extern const char *const gpt_part_labels[GPT_PART_COUNT];

#define GPT_MAX_ENTRIES 128
/* Bytes the smallest valid GPT disk needs: protective MBR, header and 16 KiB of entries at
 * the start, one usable sector, the entries and header again at the end (512-byte sectors). */
#define GPT_MIN_DISK_SIZE (512u * (1 + 1 + 32 + 1 + 32 + 1))

struct gpt_entry {
	char name[72];		      /* PARTLABEL, NUL-terminated */
	uint64_t start, sectors;      /* first LBA and length, from the disk: not trusted */
	unsigned partno;	      /* the reader's number for it, for messages */
};

struct gpt_table {
	uint32_t sector_size;		    /* 512 or 4096 */
	uint64_t first_usable, last_usable; /* LBAs, inclusive */
	uint64_t disk_size;		    /* bytes of the file or device */
	size_t n;
	struct gpt_entry entries[GPT_MAX_ENTRIES];
};

struct gpt_region {
	uint64_t offset, size; /* bytes */
	size_t entry;	       /* index into the table's entries */
};

/* The size of a GPT header's entry array, bounded before any reader allocates it (libfdisk
 * allocates what a header asks for once its CRC holds, and a CRC is no defence): a header
 * found in sector (512 bytes, at LBA lba) must have 128-byte entries, 1..GPT_MAX_ARRAY of
 * them, lying inside the disk. A sector without the "EFI PART" signature passes (it is no
 * header; the reader rejects it). */
#define GPT_MAX_ARRAY 1024
int gpt_header_bounds(const uint8_t sector[512], uint64_t lba, uint64_t disk_size,
		      struct err *e) __attribute__((warn_unused_result));

/* The smallest first and largest last usable LBA any GPT on a disk of disk_size bytes can
 * have (for readers that see the partitions but not the header, such as the kernel's sysfs). */
int gpt_usable_bounds(uint32_t sector_size, uint64_t disk_size, uint64_t *ret_first,
		      uint64_t *ret_last, struct err *e) __attribute__((warn_unused_result));

/* Checks that the usable range lies inside the disk, that every entry has sectors and lies
 * inside the usable range, that no two entries share a sector, and that every stele
 * label is on exactly one entry; then fills ret[GPT_PART_COUNT] with each stele partition's
 * byte range (computed without overflow). The message names the partitions and sectors. */
int gpt_check(const struct gpt_table *t, struct gpt_region ret[GPT_PART_COUNT], struct err *e)
	__attribute__((warn_unused_result));

#endif
