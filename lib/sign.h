/* Detached CMS (PKCS#7) signatures over manifests, with X.509 certificates: sign with a key
 * and its certificate (embedded in the signature), verify against a trust store of CA
 * certificates. The signer must chain to a trusted CA, must not be a CA itself, must allow
 * digitalSignature and, when it lists extended key usages, codeSigning, emailProtection or
 * anyExtendedKeyUsage. Signatures made with RSA keys are deterministic (PKCS#1 v1.5), and
 * the signing-time attribute is taken from the caller (SOURCE_DATE_EPOCH), so they are
 * reproducible; ECDSA signatures are randomized. */
#ifndef STELE_LIB_SIGN_H
#define STELE_LIB_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct sign_key;
struct sign_trust;

int sign_key_load(const char *key_path, const char *cert_path, struct sign_key **ret,
		  struct err *e);
void sign_key_free(struct sign_key *k);
/* The DER signature (malloc'd) of data; signing_time is seconds since 1970. */
int sign_detached(const struct sign_key *k, const void *data, size_t len, int64_t signing_time,
		  uint8_t **ret_der, size_t *ret_len, struct err *e);

/* Loads every certificate of each PEM file as a trust anchor. */
int sign_trust_load(const char *const *paths, size_t n, struct sign_trust **ret, struct err *e);
void sign_trust_free(struct sign_trust *t);

struct sign_verify_opts {
	bool no_time_check; /* devices without a trustworthy clock */
	int64_t at_time;    /* check validity at this time instead of now (0: now) */
};

/* Verifies der as a signature of data by a certificate chaining to t. ret_signer (may be
 * NULL) gets the signer's subject. */
int sign_verify(const struct sign_trust *t, const void *data, size_t len, const uint8_t *der,
		size_t der_len, const struct sign_verify_opts *o, char *ret_signer,
		size_t signer_len, struct err *e);

#endif
