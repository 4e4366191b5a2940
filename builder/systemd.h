/* What stele puts into, and takes out of, an appliance tree before the profile's overlay:
 * per-machine identity left by package scripts is removed from every tree (SSH host keys, a
 * machine id), and a tree that runs systemd gets stele's units: the boot assessment
 * (stele-health.service), SSH host keys made on first boot into data, a persistent journal
 * on data, and the tester's console shell when the profile asks for one. The files
 * themselves live in rootfs/systemd/. */
#ifndef STELE_SYSTEMD_H
#define STELE_SYSTEMD_H

#include <stdbool.h>

#include "lib/err.h"
#include "report.h"
#include "tree.h"

struct appliance_opts {
	bool console_shell;
	const struct reporter *report; /* progress messages */
};

/* True when the tree's init is systemd. */
bool systemd_in_tree(const struct tree *t);

int appliance_prepare(struct tree *t, const struct appliance_opts *o, struct err *e)
	__attribute__((warn_unused_result));

#endif
