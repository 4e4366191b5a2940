/* Running health checks: each one a program (the profile's "exec", or an executable in
 * /etc/stele/health.d) in its own process group, stdin from /dev/null, its output collected
 * (the last line explains a failure), killed when its timeout or the whole window runs out.
 * A tick callback runs at least once a second meanwhile (the watchdog keepalive). */
#ifndef STELE_UPDATE_CHECKS_H
#define STELE_UPDATE_CHECKS_H

#include <stdbool.h>
#include <stdio.h>

#include "lib/err.h"
#include "lib/policy.h"

struct check_failure {
	char name[64];
	char why[320];
};

struct checks_run {
	const struct policy *policy;
	const char *dir; /* health.d; NULL or missing: none */
	void (*tick)(void *userdata);
	void *userdata;
	FILE *out; /* one line per check */
};

/* 0 when every check passed, 1 when one failed (ret_first gets the first), or -errno when
 * the checks could not be run at all. */
int checks_run(const struct checks_run *r, struct check_failure *ret_first, struct err *e);

#endif
