#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileutil.h"

#define YEAR (365LL * 24 * 3600)

int keys_parse_type(const char *s, enum key_type *ret)
{
	if (strcmp(s, "rsa-3072") == 0)
		*ret = KEY_RSA3072;
	else if (strcmp(s, "rsa-4096") == 0)
		*ret = KEY_RSA4096;
	else if (strcmp(s, "ecdsa-p256") == 0)
		*ret = KEY_ECDSA_P256;
	else
		return -EINVAL;
	return 0;
}

int keys_new_key(enum key_type type, EVP_PKEY **ret, struct err *e)
{
	EVP_PKEY *k = NULL;

	switch (type) {
	case KEY_RSA2048:
		k = EVP_RSA_gen(2048);
		break;
	case KEY_RSA3072:
		k = EVP_RSA_gen(3072);
		break;
	case KEY_RSA4096:
		k = EVP_RSA_gen(4096);
		break;
	case KEY_ECDSA_P256:
		k = EVP_EC_gen("P-256");
		break;
	}
	if (!k)
		return err_set(e, EIO, "generating a key failed");
	*ret = k;
	return 0;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return 0;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

static int set_serial(X509 *cert)
{
	unsigned char buf[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(buf, sizeof(buf)) != 1)
		return 0;
	buf[0] &= 0x7f; /* positive */
	bn = BN_bin2bn(buf, sizeof(buf), NULL);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
	BN_free(bn);
	return ok;
}

static int fill_cert(X509 *c, EVP_PKEY *key, const struct cert_spec *s, X509 *issuer)
{
	X509_NAME *name = X509_get_subject_name(c);

	return X509_set_version(c, 2) && set_serial(c) &&
	       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)s->cn,
					  -1, -1, 0) &&
	       X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name) &&
	       ASN1_TIME_set(X509_getm_notBefore(c), (time_t)s->not_before) &&
	       ASN1_TIME_set(X509_getm_notAfter(c), (time_t)s->not_after) &&
	       X509_set_pubkey(c, key) &&
	       add_ext(c, issuer, NID_basic_constraints, s->ca ? "critical,CA:TRUE" : "CA:FALSE") &&
	       add_ext(c, issuer, NID_key_usage, s->key_usage) &&
	       add_ext(c, issuer, NID_subject_key_identifier, "hash") &&
	       (!issuer || add_ext(c, issuer, NID_authority_key_identifier, "keyid:always")) &&
	       (!s->ext_key_usage || add_ext(c, issuer, NID_ext_key_usage, s->ext_key_usage));
}

int keys_make_cert(EVP_PKEY *key, const struct cert_spec *s, X509 *issuer, EVP_PKEY *issuer_key,
		   X509 **ret, struct err *e)
{
	X509 *c = X509_new();

	if (!c || !fill_cert(c, key, s, issuer) ||
	    !X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256())) {
		X509_free(c);
		ERR_clear_error();
		return err_set(e, EIO, "making the certificate \"%s\" failed", s->cn);
	}
	*ret = c;
	return 0;
}

/* Writes the contents of a memory BIO to a new file, then wipes the BIO's buffer. */
static int write_bio(const char *path, BIO *b, mode_t mode, struct err *e)
{
	BUF_MEM *mem = NULL;
	int fd, r = 0;

	BIO_get_mem_ptr(b, &mem);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		r = err_sys(e, errno, "%s", path);
	else if (fchmod(fd, mode) < 0 || write_all(fd, mem->data, mem->length) < 0 ||
		 fsync(fd) < 0)
		r = err_sys(e, errno, "writing %s", path);
	if (fd >= 0)
		close(fd);
	if (mem && mem->data)
		explicit_bzero(mem->data, mem->length);
	return r;
}

int keys_write_key(const char *path, EVP_PKEY *key, struct err *e)
{
	BIO *b = BIO_new(BIO_s_mem());
	int r;

	if (!b || !PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(b);
		return err_set(e, EIO, "encoding the private key");
	}
	r = write_bio(path, b, 0600, e);
	BIO_free(b);
	return r;
}

int keys_write_cert(const char *path, X509 *cert, struct err *e)
{
	BIO *b = BIO_new(BIO_s_mem());
	int r;

	if (!b || !PEM_write_bio_X509(b, cert)) {
		BIO_free(b);
		return err_set(e, EIO, "encoding the certificate");
	}
	r = write_bio(path, b, 0644, e);
	BIO_free(b);
	return r;
}

static const char *const key_files[] = {"ca.key", "ca.crt", "signing.key", "signing.crt"};

static int refuse_existing(const char *dir, struct err *e)
{
	char path[4096];
	struct stat st;

	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, key_files[i]);
		if (lstat(path, &st) == 0)
			return err_set(e, EEXIST, "%s exists; stele never overwrites keys", path);
	}
	return 0;
}

int keys_generate(const char *dir, enum key_type type, struct err *e)
{
	int64_t now = (int64_t)time(NULL);
	struct cert_spec ca = {.cn = "stele CA", .ca = true, .not_before = now - 3600,
			       .not_after = now + 20 * YEAR,
			       .key_usage = "critical,keyCertSign,cRLSign"};
	struct cert_spec sg = {.cn = "stele signing", .not_before = now - 3600,
			       .not_after = now + 10 * YEAR,
			       .key_usage = "critical,digitalSignature"};
	EVP_PKEY *cak = NULL, *sk = NULL;
	X509 *cac = NULL, *sc = NULL;
	char path[4][4096] = {{0}};
	int r;

	r = mkdir_p(dir, e);
	if (r == 0)
		r = refuse_existing(dir, e);
	for (size_t i = 0; r == 0 && i < 4; i++)
		snprintf(path[i], sizeof(path[i]), "%s/%s", dir, key_files[i]);
	if (r == 0)
		r = keys_new_key(type, &cak, e);
	if (r == 0)
		r = keys_make_cert(cak, &ca, NULL, NULL, &cac, e);
	if (r == 0)
		r = keys_new_key(type, &sk, e);
	if (r == 0)
		r = keys_make_cert(sk, &sg, cac, cak, &sc, e);
	if (r == 0)
		r = keys_write_key(path[0], cak, e);
	if (r == 0)
		r = keys_write_cert(path[1], cac, e);
	if (r == 0)
		r = keys_write_key(path[2], sk, e);
	if (r == 0)
		r = keys_write_cert(path[3], sc, e);
	if (r < 0 && r != -EEXIST) /* no half-written key set */
		for (size_t i = 0; i < 4; i++)
			unlink(path[i]);
	EVP_PKEY_free(cak);
	EVP_PKEY_free(sk);
	X509_free(cac);
	X509_free(sc);
	return r;
}

/* Each key self-signed: UEFI matches db entries against the signer itself, it walks no
 * chain, so nothing is gained by issuing one from another. */
static int make_sb_key(const char *dir, const char *name, const char *cn, int64_t now,
		       struct err *e)
{
	struct cert_spec spec = {.cn = cn, .ca = true, .not_before = now - 3600,
				 .not_after = now + 20 * YEAR,
				 .key_usage = "critical,digitalSignature,keyCertSign"};
	char kpath[4096], cpath[4096];
	EVP_PKEY *k = NULL;
	X509 *c = NULL;
	int r;

	snprintf(kpath, sizeof(kpath), "%s/%s.key", dir, name);
	snprintf(cpath, sizeof(cpath), "%s/%s.crt", dir, name);
	r = keys_new_key(KEY_RSA2048, &k, e);
	if (r == 0)
		r = keys_make_cert(k, &spec, NULL, NULL, &c, e);
	if (r == 0)
		r = keys_write_key(kpath, k, e);
	if (r == 0)
		r = keys_write_cert(cpath, c, e);
	EVP_PKEY_free(k);
	X509_free(c);
	return r;
}

int keys_secure_boot_absent(const char *dir, struct err *e)
{
	char path[4096];
	struct stat st;

	for (int i = 0; i < KEYS_SB_COUNT; i++)
		for (int c = 0; c < 2; c++) {
			snprintf(path, sizeof(path), "%s/%s.%s", dir, keys_sb_names[i],
				 c ? "crt" : "key");
			if (lstat(path, &st) == 0)
				return err_set(e, EEXIST, "%s exists; stele never overwrites keys",
					       path);
		}
	return 0;
}

int keys_generate_secure_boot(const char *dir, struct err *e)
{
	static const char *const cns[KEYS_SB_COUNT] = {"stele Secure Boot PK",
						       "stele Secure Boot KEK",
						       "stele Secure Boot db"};
	int64_t now = (int64_t)time(NULL);
	char path[4096];
	int r = mkdir_p(dir, e);

	if (r == 0)
		r = keys_secure_boot_absent(dir, e);
	for (int i = 0; r == 0 && i < KEYS_SB_COUNT; i++)
		r = make_sb_key(dir, keys_sb_names[i], cns[i], now, e);
	if (r < 0 && r != -EEXIST) /* no half-written key set */
		for (int i = 0; i < KEYS_SB_COUNT; i++)
			for (int c = 0; c < 2; c++) {
				snprintf(path, sizeof(path), "%s/%s.%s", dir, keys_sb_names[i],
					 c ? "crt" : "key");
				unlink(path);
			}
	return r;
}

const char *const keys_sb_names[KEYS_SB_COUNT] = {"sb-pk", "sb-kek", "sb-db"};
