/* With Secure Boot the kernel image is the same in either slot, so its signed command line
 * names the root hash (stele.roothash=) rather than the slot: the slot is the one whose signed
 * manifest has that root hash, and whether this boot is a trial comes from the boot state on
 * the ESP (the state GRUB booted the slot in). When both slots hold the same image, the first
 * of the boot order that is not bad is taken, as GRUB took it. */
#ifndef STELE_INIT_SLOTFIND_H
#define STELE_INIT_SLOTFIND_H

#include <stdbool.h>

#include "lib/err.h"

#define SLOTFIND_ESP_MNT "/esp"

int slotfind_by_hash(const char *root_hash, const char *trust_path, unsigned timeout_ms,
		     char *ret_slot, bool *ret_trial, struct err *e)
	__attribute__((warn_unused_result));

#endif
