/* Signing keys: `stele keygen` writes a CA and a signing key and certificate issued by it.
 * Private keys are created with O_EXCL|O_NOFOLLOW and mode 0600, never overwritten, and their
 * PEM text is wiped from memory once written. The lower-level pieces are exposed so tests
 * can make expired, foreign and wrong-purpose certificates. */
#ifndef STELE_KEYS_H
#define STELE_KEYS_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"

enum key_type { KEY_RSA2048, KEY_RSA3072, KEY_RSA4096, KEY_ECDSA_P256 };

struct cert_spec {
	const char *cn;
	bool ca;
	int64_t not_before, not_after;  /* seconds since 1970 */
	const char *key_usage;          /* OpenSSL extension syntax, e.g. "critical,digitalSignature" */
	const char *ext_key_usage;      /* NULL for none */
};

int keys_parse_type(const char *s, enum key_type *ret);
int keys_new_key(enum key_type type, EVP_PKEY **ret, struct err *e);
/* Issues a certificate for key; a NULL issuer makes it self-signed. */
int keys_make_cert(EVP_PKEY *key, const struct cert_spec *s, X509 *issuer, EVP_PKEY *issuer_key,
		   X509 **ret, struct err *e);
int keys_write_key(const char *path, EVP_PKEY *key, struct err *e);
int keys_write_cert(const char *path, X509 *cert, struct err *e);

/* Writes DIR/ca.key, ca.crt, signing.key, signing.crt; refuses if any exists. */
int keys_generate(const char *dir, enum key_type type, struct err *e);

/* Secure Boot: DIR/sb-pk, sb-kek and sb-db (.key and .crt), RSA-2048 (what every UEFI
 * firmware verifies), each self-signed; refuses if any exists. */
enum { KEYS_SB_PK, KEYS_SB_KEK, KEYS_SB_DB, KEYS_SB_COUNT };
extern const char *const keys_sb_names[KEYS_SB_COUNT];
int keys_generate_secure_boot(const char *dir, struct err *e);
/* 0 when none of DIR's sb-* files exists, else -EEXIST naming it. */
int keys_secure_boot_absent(const char *dir, struct err *e);

#endif
