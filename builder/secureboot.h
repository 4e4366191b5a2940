/* Secure Boot pieces of a build (docs/boot.md, "Verified boot"): the slot's Unified Kernel
 * Image (systemd's stub with the kernel, initramfs and command line as sections), Authenticode
 * signatures by sbsign, the OpenPGP detached signature GRUB checks before it chainloads
 * (made here from the same db key, so one key signs everything that runs), EFI signature
 * lists and signed updates for enrollment, and an OVMF variable store with the keys in. */
#ifndef STELE_SECUREBOOT_H
#define STELE_SECUREBOOT_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "keys.h"

#define SB_STUB "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"
#define SB_OVMF_VARS_TEMPLATE "/usr/share/OVMF/OVMF_VARS_4M.fd"
#define SB_EPOCH_MAX 2524608000LL /* 2050-01-01: the last UTCTime year is 2049 */

struct sb_keys {
	char key[KEYS_SB_COUNT][4096], cert[KEYS_SB_COUNT][4096];
};

/* The paths of DIR's sb-* keys; fails naming the first missing file. */
int sb_keys_find(const char *dir, struct sb_keys *ret, struct err *e)
	__attribute__((warn_unused_result));

struct sb_uki_in {
	const char *stub, *kernel, *initrd;
	const char *cmdline, *osrel, *uname;
	int64_t epoch; /* the PE header's time stamp */
};
/* Writes the unsigned UKI to out with objcopy, sections placed after the stub's image. */
int sb_uki_make(const struct sb_uki_in *in, const char *out, struct err *e)
	__attribute__((warn_unused_result));

/* sbsign: Authenticode-signs the PE in into out, with epoch as its signing time (sbsign
 * would put the time it runs there). */
int sb_sign_pe(const char *in, const char *out, const char *key, const char *cert,
	       int64_t epoch, struct err *e) __attribute__((warn_unused_result));

/* OpenPGP (RFC 4880) v4 RSA public key packet of key, as grub-mkimage --pubkey reads it. */
int sb_pgp_pubkey(EVP_PKEY *key, int64_t created, uint8_t **ret, size_t *ret_len,
		  struct err *e) __attribute__((warn_unused_result));
/* A binary-document v4 signature (SHA-256) of the file at path, detached. */
int sb_pgp_sign_file(const char *path, EVP_PKEY *key, int64_t created, uint8_t **ret,
		     size_t *ret_len, struct err *e) __attribute__((warn_unused_result));

/* An EFI_SIGNATURE_LIST holding cert (X.509), owned by owner (16 bytes, EFI order). */
int sb_esl(X509 *cert, const uint8_t owner[16], uint8_t **ret, size_t *ret_len,
	   struct err *e) __attribute__((warn_unused_result));

/* Writes out: the OVMF store template with PK, KEK and db set (timestamps from epoch) and
 * Secure Boot enabled, so that the firmware starts in user mode, enforcing. */
int sb_ovmf_vars(const char *template, const uint8_t *esl[KEYS_SB_COUNT],
		 const size_t esl_len[KEYS_SB_COUNT], int64_t epoch, const char *out,
		 struct err *e) __attribute__((warn_unused_result));

#endif
