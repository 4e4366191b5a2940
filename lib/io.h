/* Reading and writing a file in full at an offset: pread/pwrite until every byte is moved,
 * EINTR retried, errors naming the file and the byte; and reading a small text file whole. */
#ifndef STELE_LIB_IO_H
#define STELE_LIB_IO_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Exactly len bytes at off; errors: "reading NAME at byte N: ...", an early end "...:
 * unexpected end" (-EIO). */
int io_pread_full(int fd, void *buf, size_t len, uint64_t off, const char *name, struct err *e)
	__attribute__((warn_unused_result));
/* Exactly len bytes at off; errors: "writing NAME at byte N: ..." (-EIO if nothing was
 * written). */
int io_pwrite_full(int fd, const void *buf, size_t len, uint64_t off, const char *name,
		   struct err *e) __attribute__((warn_unused_result));
/* Reads all of path into buf (NUL-terminated); a file of size or more bytes is -EFBIG.
 * ret_len (may be NULL) gets the length. */
int io_read_text(const char *path, char *buf, size_t size, size_t *ret_len, struct err *e);
/* Reads all of path (a regular file of at most max bytes) into a malloc'd, NUL-terminated
 * buffer; a larger file is -EFBIG. A missing file is -ENOENT. */
int io_read_alloc(const char *path, size_t max, char **ret, size_t *ret_len, struct err *e)
	__attribute__((warn_unused_result));
/* Replaces path with len bytes atomically and durably: PATH.tmp written, fsync'd, renamed
 * over path, the directory fsync'd. A cut at any moment leaves the old file or the new. */
int io_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
		    struct err *e) __attribute__((warn_unused_result));
/* fsync of the directory that holds path (after a rename or a new file in it). */
int io_sync_dir_of(const char *path, struct err *e) __attribute__((warn_unused_result));
/* Drops trailing whitespace (a newline at the end of a one-value file). */
void io_chomp(char *s);

#endif
