/* SHA-256 helpers on top of OpenSSL's EVP interface: one-shot digests of buffers and files,
 * and hex encoding. */
#ifndef STELE_LIB_HASH_H
#define STELE_LIB_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define SHA256_LEN 32
#define SHA256_HEX_LEN 65

struct sha256_ctx;

struct sha256_ctx *sha256_new(void);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
/* Writes the digest and frees the context. */
void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_LEN]);
void sha256_free(struct sha256_ctx *c);

void sha256_buf(const void *data, size_t len, uint8_t out[SHA256_LEN]);
int sha256_file(const char *path, uint8_t out[SHA256_LEN], struct err *e);
void hex_encode(const uint8_t *in, size_t len, char *out);

#endif
