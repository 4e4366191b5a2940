/* Errors as values: library code never prints or exits. It returns 0 or -errno and fills a
 * caller-owned struct err with a message; each caller adds context as the error travels up
 * ("building rootfs: writing /usr/bin/x: No space left on device"). Every control byte in a
 * message but newline and tab becomes '?' (names from outside input reach a terminal). */
#ifndef STELE_LIB_ERR_H
#define STELE_LIB_ERR_H

#include <stddef.h>

struct err {
	char msg[1024];
};

/* Sets the message and returns -abs(code) (so `return err_set(e, EINVAL, ...)` works);
 * code 0 becomes -EINVAL. e may be NULL. */
int err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Like err_set, and appends ": strerror(code)". */
int err_sys(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prepends "context: " to the current message; returns code unchanged (for `return`). */
int err_prefix(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
