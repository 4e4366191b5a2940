/* Finding partitions of a disk image by PARTLABEL (libfdisk, read-only). */
#ifndef STELE_GPTREAD_H
#define STELE_GPTREAD_H

#include <stdint.h>

#include "../lib/err.h"

struct gpt_part {
	char name[72];
	char type[40];
	uint64_t start, size; /* bytes */
};

#define GPT_MAX_PARTS 16

/* Reads the GPT of path; fails when there is none or it is damaged. */
int gpt_read(const char *path, struct gpt_part *parts, int *nparts, struct err *e);
const struct gpt_part *gpt_find(const struct gpt_part *parts, int n, const char *name);

#endif
