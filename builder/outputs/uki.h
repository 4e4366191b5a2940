/* The Secure Boot output of a bootable build with "secure_boot": the slot's signed kernel
 * image (<product>-<version>.efi) and GRUB's signature of it (.efi.sig), the signed GRUB the
 * disk image's ESP gets, and what an operator enrolls: PK, KEK and db as EFI signature lists
 * (.esl) and signed updates (.auth), and an OVMF variable store with them (.ovmf-vars.fd). */
#ifndef STELE_OUTPUTS_UKI_H
#define STELE_OUTPUTS_UKI_H

#include "lib/err.h"
#include "builder/build.h"

int uki_stage(struct build_ctx *b, struct err *e);
int uki_write(struct build_ctx *b, struct err *e);

#endif
