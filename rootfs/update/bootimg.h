/* A Secure Boot slot's kernel image on the ESP (docs/boot.md, "Verified boot"): GRUB
 * chainloads EFI/stele/<slot>.efi after checking EFI/stele/<slot>.efi.sig, and the firmware
 * checks its Authenticode signature. A device boots under Secure Boot when its running image
 * holds the db certificate (CONTRACT_SLOT_SB_DB); there a bundle must carry a kernel image
 * that certificate signed, checked before anything is written. The files are written while
 * the target slot is marked bad, so a power cut at any point leaves the old slot booting and
 * the new one unbootable until the state write that makes it a trial. */
#ifndef STELE_UPDATE_BOOTIMG_H
#define STELE_UPDATE_BOOTIMG_H

#include <stdbool.h>

#include "lib/err.h"
#include "bundle.h"
#include "ctx.h"

/* Before the first write: on a Secure Boot device, the bundle's kernel image must be there
 * and signed by the db certificate (*ret_write true: it goes to the ESP); elsewhere it is
 * not used (*ret_write false). */
int update_bootimg_check(struct update_ctx *c, const struct update_bundle *b, bool *ret_write,
			 struct err *e) __attribute__((warn_unused_result));

/* The old image of slot (its name and the signature) removed, the new one written under a
 * temporary name, fsync'd, renamed, the directory fsync'd. */
int update_bootimg_write(struct update_ctx *c, char slot, const struct update_bundle *b,
			 struct err *e) __attribute__((warn_unused_result));

#endif
