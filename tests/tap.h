/* A tiny TAP producer for the C unit tests: ok()/is_int()/is_str() print one TAP line each and
 * tap_done() prints the plan and returns the exit status. */
#ifndef STELE_TAP_H
#define STELE_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3))) static int ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

#define is_int(got, want, ...)                                                                      \
	do {                                                                                        \
		long long g_ = (long long)(got), w_ = (long long)(want);                            \
		if (!ok(g_ == w_, __VA_ARGS__))                                                     \
			printf("#   got %lld, want %lld\n", g_, w_);                                    \
	} while (0)

#define is_str(got, want, ...)                                                                      \
	do {                                                                                        \
		const char *g_ = (got), *w_ = (want);                                               \
		if (!ok(g_ && w_ && strcmp(g_, w_) == 0, __VA_ARGS__))                              \
			printf("#   got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
	} while (0)

/* Checks that an error message mentions a fragment (the file, the JSON path, the cause). */
#define has_str(msg, frag, ...)                                                                     \
	do {                                                                                        \
		const char *m_ = (msg), *f_ = (frag);                                               \
		if (!ok(m_ && strstr(m_, f_) != NULL, __VA_ARGS__))                                 \
			printf("#   \"%s\" does not contain \"%s\"\n", m_ ? m_ : "(null)", f_);         \
	} while (0)

static int tap_done(void)
{
	printf("1..%d\n", tap_n);
	fflush(stdout); /* LeakSanitizer exits with _exit */
	return tap_failed ? 1 : 0;
}

#endif
