#include "watchdog.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/watchdog.h>
#include <sys/ioctl.h>
#include <unistd.h>

int watchdog_open(const char *path, struct watchdog *w, struct err *e)
{
	w->fd = open(path, O_WRONLY | O_CLOEXEC);
	if (w->fd < 0)
		return err_sys(e, errno, "%s", path);
	return 0;
}

int watchdog_set_timeout(struct watchdog *w, unsigned seconds, struct err *e)
{
	int t = (int)seconds;

	if (ioctl(w->fd, WDIOC_SETTIMEOUT, &t) < 0)
		return err_sys(e, errno, "setting the watchdog timeout to %u s", seconds);
	return 0;
}

int watchdog_keepalive(struct watchdog *w, struct err *e)
{
	int dummy = 0;

	if (w->fd < 0)
		return 0;
	if (ioctl(w->fd, WDIOC_KEEPALIVE, &dummy) == 0)
		return 0;
	/* any write is a keepalive too (and a plain file stands in for the device in tests) */
	if (errno == ENOTTY && write(w->fd, "k", 1) == 1)
		return 0;
	return err_sys(e, errno, "watchdog keepalive");
}

void watchdog_leave_armed(struct watchdog *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

int watchdog_disarm(struct watchdog *w, struct err *e)
{
	int rc = 0;

	if (w->fd < 0)
		return 0;
	if (write(w->fd, "V", 1) != 1)
		rc = err_sys(e, errno, "stopping the watchdog (magic close)");
	if (close(w->fd) < 0 && rc == 0)
		rc = err_sys(e, errno, "closing the watchdog");
	w->fd = -1;
	return rc;
}

int watchdog_arm(const char *path, unsigned seconds, struct err *e)
{
	struct watchdog w = {-1};
	int rc;

	if (access(path, F_OK) < 0)
		return -ENOENT;
	rc = watchdog_open(path, &w, e);
	if (rc == 0)
		rc = watchdog_set_timeout(&w, seconds, e);
	if (rc == 0)
		rc = watchdog_keepalive(&w, e);
	watchdog_leave_armed(&w);
	return rc;
}
