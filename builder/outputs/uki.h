/* The Secure Boot output of a bootable build with "secure_boot": the slot's signed kernel
 * image (<product>-<version>.efi) and GRUB's signature of it (.efi.sig), the signed GRUB the
 * disk image's ESP gets, and what an operator enrolls: PK, KEK and db as EFI signature lists
 * (.esl) and signed updates (.auth), and an OVMF variable store with them (.ovmf-vars.fd). */
#ifndef STELE_OUTPUTS_UKI_H
#define STELE_OUTPUTS_UKI_H

#include "lib/err.h"
#include "builder/build.h"

struct manifest_uki;

int uki_stage(struct build_ctx *b, struct err *e);
/* Before the slot pass, for the bundle's layout: the kernel image's size (b->uki_guess). */
int uki_begin(struct build_ctx *b, struct err *e);
/* Between the slot pass and the manifest's signature (slotimg_in.boot): the kernel image
 * with root_hash in its command line, and what the manifest says of it. */
int uki_slot(struct build_ctx *b, const char *root_hash, struct manifest_uki *ret,
	     struct err *e);
/* GRUB and the enrollment files. */
int uki_write(struct build_ctx *b, struct err *e);

#endif
