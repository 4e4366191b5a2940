#include "hash.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

struct sha256_ctx {
	EVP_MD_CTX *md;
};

struct sha256_ctx *sha256_new(void)
{
	struct sha256_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->md = EVP_MD_CTX_new();
	if (!c->md || !EVP_DigestInit_ex(c->md, EVP_sha256(), NULL)) {
		sha256_free(c);
		return NULL;
	}
	return c;
}

void sha256_update(struct sha256_ctx *c, const void *data, size_t len)
{
	EVP_DigestUpdate(c->md, data, len);
}

void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_LEN])
{
	unsigned int n = SHA256_LEN;

	EVP_DigestFinal_ex(c->md, out, &n);
	sha256_free(c);
}

void sha256_free(struct sha256_ctx *c)
{
	if (!c)
		return;
	EVP_MD_CTX_free(c->md);
	free(c);
}

void sha256_buf(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
	unsigned int n = SHA256_LEN;

	EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

int sha256_file(const char *path, uint8_t out[SHA256_LEN], struct err *e)
{
	static const size_t bufsz = 1 << 20;
	struct sha256_ctx *c = NULL;
	char *buf = NULL;
	int fd, r = 0;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "%s", path);
	buf = malloc(bufsz);
	c = sha256_new();
	if (!buf || !c) {
		r = err_set(e, ENOMEM, "%s: out of memory", path);
		goto out;
	}
	while ((n = read(fd, buf, bufsz)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = err_sys(e, errno, "reading %s", path);
			goto out;
		}
		sha256_update(c, buf, (size_t)n);
	}
	sha256_final(c, out);
	c = NULL;
out:
	sha256_free(c);
	free(buf);
	close(fd);
	return r;
}

void hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}
