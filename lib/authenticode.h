/* Authenticode, as UEFI firmware checks a PE image under Secure Boot (EDK2's
 * DxeImageVerificationLib): the image's SHA-256 digest over its headers and sections, minus the
 * checksum, the security directory entry and the certificate table; and the PKCS#7
 * signatures in that table, one of which must be made by a trusted certificate (db) or one
 * it issued. stele-update and `stele verify` call it on a bundle's kernel image, so that an
 * image the firmware would refuse is refused before anything is written. */
#ifndef STELE_LIB_AUTHENTICODE_H
#define STELE_LIB_AUTHENTICODE_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define AUTHENTICODE_MAX_SIGNATURES 8

/* Where a PE image (PE32 or PE32+) keeps what Authenticode leaves out of its digest. */
struct pe_layout {
	size_t checksum;  /* offset of the optional header's CheckSum */
	size_t cert_dir;  /* offset of the security data directory entry */
	size_t headers;   /* SizeOfHeaders */
	size_t cert_off, cert_size; /* the certificate table (0, 0: unsigned) */
};

/* Parses the headers of the image b (len bytes), every offset checked. */
int pe_layout(const uint8_t *b, size_t len, struct pe_layout *ret, struct err *e)
	__attribute__((warn_unused_result));

/* The Authenticode SHA-256 digest of the image. */
int authenticode_digest(const uint8_t *b, size_t len, const struct pe_layout *l,
			uint8_t ret[32], struct err *e) __attribute__((warn_unused_result));

/* 0 when one of the image's signatures (of type PKCS_SIGNED_DATA) is valid, covers its
 * digest and was made by one of the ntrusted certificates or by a certificate one of them
 * issued; its signer's subject goes into signer (may be NULL). Else an error that says why:
 * unsigned, digest mismatch, signed by an untrusted "CN=...". */
int authenticode_verify(const uint8_t *b, size_t len, X509 *const *trusted, size_t ntrusted,
			char *signer, size_t signer_size, struct err *e)
	__attribute__((warn_unused_result));

#endif
