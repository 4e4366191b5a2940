/* The boot state (bootloader/bootstate.h) as stele-update changes it: the ESP is mounted at
 * /run/stele/esp when it is not already, and every change goes through bootstate_write
 * (in place, fsync'd, read back). */
#ifndef STELE_UPDATE_STATE_H
#define STELE_UPDATE_STATE_H

#include <stdbool.h>

#include "bootloader/bootstate.h"
#include "lib/err.h"
#include "ctx.h"
#include "transitions.h" /* the changes themselves */

/* Reads the boot state (mounting the ESP read-only when it is not mounted). */
int update_state_load(struct update_ctx *c, struct bootstate *ret, struct err *e);
/* Writes it (remounting the ESP read-write if this process mounted it). */
int update_state_save(struct update_ctx *c, const struct bootstate *s, struct err *e);
/* The same, with the fault point "state" (update-fault.h) between the write and the fsync. */
int update_state_save_faulty(struct update_ctx *c, const struct bootstate *s, struct err *e);

/* The ESP's directory, read-write (mounted or remounted when this process mounts it; in test
 * mode --esp DIR), for the kernel image of a Secure Boot slot (bootimg.h). */
int update_esp_open(struct update_ctx *c, const char **ret, struct err *e)
	__attribute__((warn_unused_result));
/* Back to read-only. */
void update_esp_close(struct update_ctx *c);

#endif
