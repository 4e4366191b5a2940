/* What stele puts into, and takes out of, an appliance tree before the profile's overlay:
 * per-machine identity left by package scripts is removed from every tree (SSH host keys, a
 * machine id), and a tree that runs systemd gets stele's units: the boot assessment
 * (stele-health.service), SSH host keys made on first boot into data, a persistent journal
 * on data, the tester's console shell when the profile asks for one, and for an image that
 * updates itself, stele-update-poll.service with a timer of the profile's interval. The files
 * themselves live in rootfs/systemd/. */
#ifndef STELE_SYSTEMD_H
#define STELE_SYSTEMD_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "report.h"
#include "tree.h"

struct appliance_opts {
	bool console_shell;
	int64_t poll_interval;         /* "update": stele-update-poll.timer's interval (0: none) */
	const struct reporter *report; /* progress messages */
};

/* True when the tree's init is systemd. */
bool systemd_in_tree(const struct tree *t);

int appliance_prepare(struct tree *t, const struct appliance_opts *o, struct err *e)
	__attribute__((warn_unused_result));

#endif
