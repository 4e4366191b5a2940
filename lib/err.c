#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Messages carry names and values from outside input (archive entries, profile keys, disk
 * bytes): a control byte there would reach the user's terminal (an escape sequence that
 * rewrites the screen, a carriage return that hides the text before it). Newlines and tabs stay:
 * tools' output quoted in messages is made of lines. */
static void defang(char *msg)
{
	for (unsigned char *p = (unsigned char *)msg; *p; p++)
		if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
			*p = '?';
}

static int neg(int code)
{
	if (code == 0)
		return -EINVAL;
	return code < 0 ? code : -code;
}

int err_set(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
		defang(e->msg);
	}
	return neg(code);
}

int err_sys(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (e) {
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
		n = strlen(e->msg);
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(-neg(code)));
		defang(e->msg);
	}
	return neg(code);
}

int err_prefix(struct err *e, int code, const char *fmt, ...)
{
	char ctx[512], old[sizeof(e->msg)];
	va_list ap;

	if (!e)
		return neg(code);
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	snprintf(e->msg, sizeof(e->msg), "%s: %s", ctx, old);
	defang(e->msg);
	return neg(code);
}
