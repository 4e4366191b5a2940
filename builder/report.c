#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void reportf(const struct reporter *r, enum build_event kind, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int n;

	if (!r || !r->report)
		return;
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return; /* out of memory: the message is lost, the build goes on */
	r->report(r->opaque, kind, msg);
	free(msg);
}
