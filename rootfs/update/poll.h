/* `stele-update poll [--once]`: a device updates itself from a static TUF repository
 * (docs/fleet.md). Each check: the TUF client workflow (lib/tufclient.h) over HTTP
 * (fetch.h), from the root built into the image; the channel's releases read from the
 * verified targets; the decision (choose.h) from the device's share of the fleet, the time,
 * the maintenance window and the inhibit file; then an install streamed from the repository
 * into the other slot (install.h reads the download's pipe), or a pull-back to the other
 * slot. Every decision is journalled and printed, kept for `status --json` in
 * data/stele/poll.json, and written as node_exporter metrics. Without --once it checks
 * forever, every interval (plus up to a tenth of jitter), sooner after a failure (from 60 s,
 * doubling up to the interval). */
#ifndef STELE_UPDATE_POLL_H
#define STELE_UPDATE_POLL_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "ctx.h"

struct poll_opts {
	bool once;
	const char *config;      /* NULL: CONTRACT_SLOT_UPDATE_JSON */
	const char *root;        /* NULL: CONTRACT_SLOT_TUF_ROOT */
	const char *machine_id;  /* NULL: /etc/machine-id, else the data partition's */
	const char *metrics;     /* NULL: CONTRACT_RUN_METRICS (none in test mode) */
	int64_t now;             /* 0: the clock (tests fix it) */
};

/* 0 when the last check did what it decided (including "nothing to do"); an error when the
 * check failed (the repository unreachable or refused, the install failed). */
int update_poll(struct update_ctx *c, const struct poll_opts *o, struct err *e);

/* For `status --json`: the last check as data/stele/poll.json holds it (NULL: none yet). */
struct cJSON;
struct cJSON *update_poll_last(const struct update_ctx *c);

#endif
