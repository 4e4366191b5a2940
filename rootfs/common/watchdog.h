/* The hardware watchdog (/dev/watchdog, e.g. softdog or i6300esb) during a trial boot:
 * stele-init arms it before switch_root and closes it without the magic 'V', so it keeps
 * running; `stele-update health` keeps it alive while the checks run and stops it (the magic
 * close) once the slot is committed. A trial that hangs is reset by it, and GRUB's try
 * counting then falls back. */
#ifndef STELE_COMMON_WATCHDOG_H
#define STELE_COMMON_WATCHDOG_H

#include "lib/err.h"

#define WATCHDOG_PATH "/dev/watchdog"

struct watchdog {
	int fd; /* -1: none */
};

/* Opens (and so starts) the watchdog at path; -ENOENT when there is none, fd stays -1. */
int watchdog_open(const char *path, struct watchdog *w, struct err *e);
int watchdog_set_timeout(struct watchdog *w, unsigned seconds, struct err *e);
/* A keepalive; a no-op without a watchdog. */
int watchdog_keepalive(struct watchdog *w, struct err *e);
/* Closes without the magic 'V': the watchdog stays armed for the next opener. */
void watchdog_leave_armed(struct watchdog *w);
/* Writes the magic 'V' and closes: the watchdog stops. */
int watchdog_disarm(struct watchdog *w, struct err *e);
/* stele-init: open, set the timeout, one keepalive, close armed. -ENOENT without a watchdog. */
int watchdog_arm(const char *path, unsigned seconds, struct err *e);

#endif
