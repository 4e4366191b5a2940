/* Reading the GPT of a disk image or device with libfdisk (read-only) and checking its
 * geometry with lib/gpt.h: callers get only byte ranges that lie inside the file and do not
 * overlap. */
#ifndef STELE_OUTPUTS_GPTREAD_H
#define STELE_OUTPUTS_GPTREAD_H

#include "lib/err.h"
#include "lib/gpt.h"

struct gpt_disk {
	struct gpt_table table;
	struct gpt_region part[GPT_PART_COUNT]; /* indexed by enum gpt_part */
};

/* Reads and checks the GPT of path (a regular file or a block device); fails, naming path,
 * when there is none, it is damaged or truncated, or its geometry is unsafe. */
int gpt_read(const char *path, struct gpt_disk *ret, struct err *e)
	__attribute__((warn_unused_result));

#endif
