/* Fault injection for the power-cut and bad-disk scenarios (qemu-tests, tests/cli), so a
 * cut lands at an exact point of an install instead of after a guessed delay. Set by the
 * environment; unset, nothing here does anything.
 *   STELE_UPDATE_FAULT=pause:POINT    at POINT, say "stele-update: fault: paused at POINT"
 *                                     on stderr and stop there until killed (the power cut)
 *   STELE_UPDATE_FAULT=corrupt:rootfs after the middle of the rootfs is written, flip one
 *                                     byte of it on the target, as a failing disk would
 * POINTs, in the order an install passes them:
 *   verity   half of the verity image written, nothing synced
 *   rootfs   half of the rootfs written (the verity image is synced)
 *   synced   everything written, synced and read back; the target still bad
 *   uki      Secure Boot: the kernel image written under its temporary name, not renamed
 *   state    the boot state that makes the target a trial written, not yet synced */
#ifndef STELE_UPDATE_FAULT_H
#define STELE_UPDATE_FAULT_H

#include <stdbool.h>

/* Stops for good if STELE_UPDATE_FAULT is pause:point. */
void update_fault_pause(const char *point);
/* Whether it is (so a caller can get to the exact point first). */
bool update_fault_pausing(const char *point);
/* Whether STELE_UPDATE_FAULT is corrupt:point. */
bool update_fault_corrupt(const char *point);

#endif
