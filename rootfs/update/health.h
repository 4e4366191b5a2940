/* `stele-update health [--commit]`: after a boot, run the image's health checks within the
 * window. On a trial boot the watchdog (armed by stele-init) is kept alive meanwhile; with
 * --commit, all passing commits the slot (good, tries reset, minimum rollback index raised,
 * watchdog stopped) and any failing marks it bad and reboots into the other slot. On a normal
 * boot, passing resets the slot's tries. Every run also notices when the other slot used up
 * its tries (a failed update, or a good slot that stopped booting) and journals it. */
#ifndef STELE_UPDATE_HEALTH_H
#define STELE_UPDATE_HEALTH_H

#include <stdbool.h>

#include "lib/err.h"
#include "ctx.h"

struct health_opts {
	bool commit;
};

/* 0 healthy, 1 a check failed (reported on stdout), -errno. */
int update_health(struct update_ctx *c, const struct health_opts *o, struct err *e);

#endif
