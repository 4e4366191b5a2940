/* Small file helpers of stele-init: whole small files in and out, directories that may already
 * exist. Errors as values (lib/err.h). */
#ifndef STELE_COMMON_UTIL_H
#define STELE_COMMON_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

/* Reads all of path into buf (NUL-terminated); a file of size or more bytes is -EFBIG.
 * ret_len (may be NULL) gets the length. */
int util_read_text(const char *path, char *buf, size_t size, size_t *ret_len, struct err *e);
/* Drops trailing whitespace (a newline at the end of a one-value file). */
void util_chomp(char *s);
/* Exactly len bytes at off (EINTR retried); errors name the file and the byte: "reading
 * NAME at byte N: ...", an early end "...: unexpected end". */
int util_pread_full(int fd, void *buf, size_t len, uint64_t off, const char *name,
		    struct err *e);
int util_pwrite_full(int fd, const void *buf, size_t len, uint64_t off, const char *name,
		     struct err *e);
/* mkdir that accepts an existing directory. */
int util_mkdir(const char *path, mode_t mode, struct err *e);
/* Writes data to path (created with mode, truncated), in full. */
int util_write_file(const char *path, const void *data, size_t len, mode_t mode, struct err *e);
/* 1 if path is a directory (not following a final symlink), 0 if not or missing. */
int util_is_dir(const char *path);

#endif
