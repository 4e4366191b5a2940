#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PREFIX "stele-init: "

/* Program state of PID 1, not library code: one console per process. */
static int console_fd = -1;
static bool debug_on;

void console_open(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);

	if (fd < 0)
		return;
	for (int i = 0; i <= 2; i++)
		if (fcntl(i, F_GETFD) < 0 && i != fd)
			dup2(fd, i);
	if (fd > 2)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	console_fd = fd;
}

void console_stdio(void)
{
	if (console_fd < 0)
		return;
	for (int i = 0; i <= 2; i++)
		if (i != console_fd)
			dup2(console_fd, i);
}

void console_set_debug(bool on)
{
	debug_on = on;
}

bool console_debug(void)
{
	return debug_on;
}

static void vlog(const char *fmt, va_list ap)
{
	char line[1536];
	size_t n = sizeof(PREFIX) - 1;
	int r, saved = errno;

	memcpy(line, PREFIX, n);
	r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (r < 0)
		r = 0;
	n += (size_t)r < sizeof(line) - n - 1 ? (size_t)r : sizeof(line) - n - 2;
	line[n++] = '\n';
	if (write(console_fd >= 0 ? console_fd : STDERR_FILENO, line, n) < 0) {
		/* nowhere else to say it */
	}
	errno = saved;
}

void console_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void console_dbg(const char *fmt, ...)
{
	va_list ap;

	if (!debug_on)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}
