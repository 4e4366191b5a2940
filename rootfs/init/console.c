#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PREFIX "stele-init: "
#define ACTIVE_CONSOLES "/sys/class/tty/console/active"
#define MAX_CONSOLES 8

/* Program state of PID 1, not library code: one set of consoles per process. */
static int console_fd = -1;
static int tty_fds[MAX_CONSOLES];
static int ntty;
static bool debug_on;

/* /dev/console is only the last console= of the command line ("console=ttyS0 console=tty0"
 * makes it tty0); lines go to every active console so a serial log sees them too. */
static void open_active(void)
{
	char list[256], path[64], *save = NULL;
	ssize_t n;
	int fd = open(ACTIVE_CONSOLES, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	n = read(fd, list, sizeof(list) - 1);
	close(fd);
	list[n > 0 ? n : 0] = '\0';
	for (char *t = strtok_r(list, " \n", &save); t && ntty < MAX_CONSOLES;
	     t = strtok_r(NULL, " \n", &save)) {
		if (strchr(t, '/') || (size_t)snprintf(path, sizeof(path), "/dev/%s", t) >=
					      sizeof(path))
			continue;
		fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		if (fd >= 0)
			tty_fds[ntty++] = fd;
	}
}

void console_open(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);

	if (fd >= 0) {
		for (int i = 0; i <= 2; i++)
			if (fcntl(i, F_GETFD) < 0 && i != fd)
				dup2(fd, i);
		if (fd > 2)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
		console_fd = fd;
	}
	open_active();
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

static void put(int fd, const char *line, size_t n)
{
	if (write(fd, line, n) < 0) {
		/* nowhere else to say it */
	}
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
	for (int i = 0; i < ntty; i++)
		put(tty_fds[i], line, n);
	if (ntty == 0)
		put(console_fd >= 0 ? console_fd : STDERR_FILENO, line, n);
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
