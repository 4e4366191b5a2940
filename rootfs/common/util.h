/* Small file helpers of stele-init: whole small files out, directories that may already
 * exist. Errors as values (lib/err.h). */
#ifndef STELE_COMMON_UTIL_H
#define STELE_COMMON_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

/* mkdir that accepts an existing directory. */
int util_mkdir(const char *path, mode_t mode, struct err *e);
/* Writes data to path (created with mode, truncated), in full. */
int util_write_file(const char *path, const void *data, size_t len, mode_t mode, struct err *e);
/* 1 if path is a directory (not following a final symlink), 0 if not or missing. */
int util_is_dir(const char *path);

#endif
