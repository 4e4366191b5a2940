/* `stele-update status [--json]`: the running slot, STELE_ORDER, each slot's state and
 * tries and what it holds (from its verity partition, signature verified), and what is
 * pending: a trial slot that boots next, or the running slot still on trial. */
#ifndef STELE_UPDATE_STATUS_H
#define STELE_UPDATE_STATUS_H

#include <stdbool.h>

#include "lib/err.h"
#include "ctx.h"

int update_status(struct update_ctx *c, bool json, struct err *e);

#endif
