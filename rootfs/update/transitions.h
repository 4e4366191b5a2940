/* The boot-state changes stele-update makes, as pure functions of the state (no I/O): the
 * commands read the state, call one of these and write the result (state.h). Kept apart so
 * that every transition is tested by table (tests/test-transitions.c), like GRUB's side of
 * it (bootstate_choose() in bootloader/bootstate.h). */
#ifndef STELE_UPDATE_TRANSITIONS_H
#define STELE_UPDATE_TRANSITIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "bootloader/bootstate.h"

struct bootstate_slot *update_state_slot(struct bootstate *s, char slot);
/* Puts slot first in STELE_ORDER, the other slot after it. */
void update_state_first(struct bootstate *s, char slot);
/* STELE_ORDER as text: "a b". */
const char *update_state_order(const struct bootstate *s, char buf[8]);

/* install, before the first write: the target bad with no tries. false when it already was
 * (nothing to write). */
bool update_state_install_begin(struct bootstate *s, char target);
/* install, once written and synced: the target on trial with tries, first in the order. */
void update_state_install_done(struct bootstate *s, char target, unsigned tries);
/* health --commit, mark-good: the booted slot good with tries, first in the order. */
void update_state_commit(struct bootstate *s, char booted, unsigned tries);
/* health on a normal boot: the booted slot's tries reset; false when they already were. */
bool update_state_reset_tries(struct bootstate *s, char booted, unsigned tries);
/* health --commit with a failed check: the booted slot bad and the other first, when the
 * other is good; false (nothing changed) otherwise. */
bool update_state_revert(struct bootstate *s, char booted);

enum update_exhausted {
	UPDATE_EXHAUSTED_NONE,   /* the other slot has tries left, or is bad */
	UPDATE_EXHAUSTED_GOOD,   /* a good slot stopped booting: journalled, kept good */
	UPDATE_EXHAUSTED_MARKED, /* a trial that never came up: marked bad, booted slot first */
};
/* health, at every run: what became of the slot that is not booted. */
enum update_exhausted update_state_exhausted(struct bootstate *s, char booted);

/* mark-bad SLOT: refused (false, nothing changed) when GRUB could not boot the other slot
 * either (bad, or a trial with no tries left); else the slot bad (its tries kept) and, when
 * it was first, the other first. */
bool update_state_mark_bad(struct bootstate *s, char slot);
/* rollback: the other slot, which the caller checked is good, first; refill is the tries it
 * gets when it has none left (GRUB would skip it). */
void update_state_rollback(struct bootstate *s, char to, unsigned refill);

/* The rollback floor after a commit of the booted slot: the lowest rollback index among the
 * good slots, so the older good slot stays bootable as the fallback. other_index is NULL
 * when the other slot holds no valid image. */
uint64_t update_floor(const struct bootstate *s, char booted, uint64_t booted_index,
		      const uint64_t *other_index);

enum update_health_action {
	UPDATE_HEALTH_COMMIT,       /* trial, --commit, all passed */
	UPDATE_HEALTH_REVERT,       /* trial, --commit, a check failed */
	UPDATE_HEALTH_FAILED,       /* a check failed, nothing changed */
	UPDATE_HEALTH_TRIAL_OK,     /* trial without --commit: healthy, nothing changed */
	UPDATE_HEALTH_HEALTHY,      /* a normal boot: healthy (with --commit, tries reset) */
};
/* What `health` does after its checks ran. */
enum update_health_action update_health_action(bool trial, bool commit, bool failed);

#endif
