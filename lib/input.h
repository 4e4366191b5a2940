/* Opening a path the user gave as an input, and refusing what it must not be before reading a
 * byte: a FIFO (reading it blocks, or waits forever for a writer), a directory, a character
 * device (/dev/zero never ends), a socket. Shared by the host tool and stele-update. */
#ifndef STELE_LIB_INPUT_H
#define STELE_LIB_INPUT_H

#include <sys/types.h>

#include "err.h"

/* The kinds of file an input may be (a mask). */
#define INPUT_REG (1u << 0) /* a regular file */
#define INPUT_BLK (1u << 1) /* a block device */
#define INPUT_DIR (1u << 2) /* a directory */

/* "a FIFO", "a directory", "a character device", ... for st_mode. */
const char *input_kind_name(mode_t mode);

/* Opens path read-only (flags: extra open flags, such as O_RDWR instead of O_RDONLY, or
 * O_DIRECT), without blocking in open() (O_NONBLOCK, cleared again after the check), and
 * checks that it is one of `allowed`; otherwise fails with "PATH: is a FIFO, not WHAT"
 * (what, e.g. "a disk image or bundle"). Fills *ret_fd (O_CLOEXEC) and, when ret_mode is set,
 * the file's type. 0 or -errno. */
int input_open(const char *path, int flags, unsigned allowed, const char *what, int *ret_fd,
	       mode_t *ret_mode, struct err *e) __attribute__((warn_unused_result));

/* The same check for an open descriptor (stdin): fails with "NAME: is ..., not WHAT". */
int input_check_fd(int fd, const char *name, unsigned allowed, const char *what,
		   mode_t *ret_mode, struct err *e) __attribute__((warn_unused_result));

/* The JSON value that is the whole of buf's len bytes (whitespace around it allowed): NULL
 * when it is not JSON, or when anything else follows it (a second value, a NUL, garbage),
 * which cJSON alone would ignore. Free with cJSON_Delete. */
struct cJSON;
struct cJSON *input_json(const char *buf, size_t len);

#endif
