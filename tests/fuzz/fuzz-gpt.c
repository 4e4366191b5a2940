/* libFuzzer target: a disk image's partition table, read the way `stele verify`/`stele
 * state` read it (libfdisk, builder/gptread.c) and the way the device does (libblkid,
 * rootfs/partitions.c), each followed by the geometry check of lib/gpt.c. The input is the
 * start of a 1 MiB disk (in a memfd); a primary GPT header in it gets its entry array and
 * header CRCs fixed up, since random bytes almost never pass them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/gptgrow.h"
#include "builder/outputs/gptread.h"
#include "rootfs/common/partitions.h"

#define DISK (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static void fix_crcs(uint8_t *disk)
{
	uint8_t *h = disk + 512;
	uint64_t elba = le(h + 72, 8), len = le(h + 80, 4) * le(h + 84, 4);
	uint32_t hsz = (uint32_t)le(h + 12, 4);

	if (memcmp(h, "EFI PART", 8) != 0 || hsz < 92 || hsz > 512)
		return;
	if (elba < DISK / 512 && len <= DISK - elba * 512)
		put32(h + 88, gpt_crc32(disk + elba * 512, len));
	put32(h + 16, 0);
	put32(h + 16, gpt_crc32(h, hsz));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *disk;
	struct gpt_disk *d = malloc(sizeof(*d));
	char path[64];
	struct err e;
	int fd;

	if (!disk)
		disk = malloc(DISK);
	if (!d || !disk || size > DISK) {
		free(d);
		return 0;
	}
	memset(disk, 0, DISK);
	memcpy(disk, data, size);
	fix_crcs(disk);
	fd = memfd_create("fuzz-gpt", MFD_CLOEXEC);
	if (fd >= 0 && write(fd, disk, DISK) == (ssize_t)DISK) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		(void)!gpt_read(path, d, &e);
		(void)!partitions_check_table(path, NULL, &e);
	}
	if (fd >= 0)
		close(fd);
	free(d);
	return 0;
}
