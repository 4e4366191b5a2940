/* Manual boot-state changes: mark-good (commit the running slot without running the checks),
 * mark-bad [SLOT], rollback (the other slot, when good, boots next). Each refuses a change
 * that would leave no slot to boot, and each is journalled. */
#ifndef STELE_UPDATE_MARK_H
#define STELE_UPDATE_MARK_H

#include "lib/err.h"
#include "ctx.h"

int update_mark_good(struct update_ctx *c, struct err *e);
/* slot 0: the running one. */
int update_mark_bad(struct update_ctx *c, char slot, struct err *e);
int update_rollback(struct update_ctx *c, bool reboot, struct err *e);

#endif
