/* libFuzzer target for lib/gptgrow.c: bytes as a disk image (a memfd), grown as if the disk
 * were larger; the grower must never crash, read or write out of bounds, or grow a table a
 * second run would grow again. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/gptgrow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e = {{0}};
	struct gpt_grow g;
	uint64_t disk;
	int fd;

	if (size < 2)
		return 0;
	/* the first byte picks how much larger than the bytes the disk is (0..255 MiB) */
	disk = ((uint64_t)(size - 1) + ((uint64_t)data[0] << 20)) & ~(uint64_t)511;
	fd = memfd_create("disk", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data + 1, size - 1) == (ssize_t)(size - 1) && ftruncate(fd, (off_t)disk) == 0 &&
	    gpt_grow_last(fd, disk, 512, "data", &g, &e) == 0 && g.grown) {
		if (gpt_grow_last(fd, disk, 512, "data", &g, &e) != 0 || g.grown)
			abort(); /* what one run wrote must hold, and need nothing more */
	}
	close(fd);
	return 0;
}
