#include "sign.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "input.h"

struct sign_key {
	EVP_PKEY *pkey;
	X509 *cert;
};

struct sign_trust {
	X509_STORE *store;
	size_t count;
};

/* The last OpenSSL error as text, for messages. */
static const char *ossl_reason(void)
{
	static __thread char buf[256];
	unsigned long code = ERR_peek_last_error();

	if (!code)
		return "unknown error";
	ERR_error_string_n(code, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

/* A FIFO or a directory given as a key, certificate or trust store is refused, not waited on. */
static int open_pem(const char *path, const char *what, BIO **ret, struct err *e)
{
	BIO *b;
	int fd, r = input_open(path, O_RDONLY, INPUT_REG, what, &fd, NULL, e);

	if (r < 0)
		return r;
	b = BIO_new_fd(fd, BIO_CLOSE);
	if (!b) {
		close(fd);
		return err_set(e, ENOMEM, "%s: out of memory", path);
	}
	*ret = b;
	return 0;
}

int sign_key_load(const char *key_path, const char *cert_path, struct sign_key **ret,
		  struct err *e)
{
	struct sign_key *k = calloc(1, sizeof(*k));
	BIO *b = NULL;
	int r = 0;

	if (!k)
		return err_set(e, ENOMEM, "out of memory");
	r = open_pem(key_path, "a PEM private key file", &b, e);
	if (r < 0)
		goto out;
	if (!(k->pkey = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL))) {
		r = err_set(e, EINVAL, "%s: cannot read a private key (%s)", key_path, ossl_reason());
		goto out;
	}
	BIO_free(b);
	b = NULL;
	r = open_pem(cert_path, "a PEM certificate file", &b, e);
	if (r < 0)
		goto out;
	if (!(k->cert = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		r = err_set(e, EINVAL, "%s: cannot read a certificate (%s)", cert_path,
			    ossl_reason());
		goto out;
	}
	if (X509_check_private_key(k->cert, k->pkey) != 1) {
		r = err_set(e, EINVAL, "%s does not belong to the key %s", cert_path, key_path);
		goto out;
	}
out:
	BIO_free(b);
	if (r < 0) {
		sign_key_free(k);
		return r;
	}
	*ret = k;
	return 0;
}

void sign_key_free(struct sign_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	X509_free(k->cert);
	free(k);
}

static int add_signing_time(CMS_SignerInfo *si, int64_t t)
{
	ASN1_TIME *tm = ASN1_TIME_set(NULL, (time_t)t);
	int ok;

	if (!tm)
		return 0;
	ok = CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, tm->type, tm, -1);
	ASN1_TIME_free(tm);
	return ok;
}

int sign_detached(const struct sign_key *k, const void *data, size_t len, int64_t signing_time,
		  uint8_t **ret_der, size_t *ret_len, struct err *e)
{
	const int flags = CMS_DETACHED | CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP;
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	BIO *in = NULL;
	unsigned char *der = NULL;
	int n, r = 0;

	if (len > INT32_MAX)
		return err_set(e, EFBIG, "data too large to sign");
	in = BIO_new_mem_buf(data, (int)len);
	cms = in ? CMS_sign(NULL, NULL, NULL, NULL, flags) : NULL;
	si = cms ? CMS_add1_signer(cms, k->cert, k->pkey, EVP_sha256(), flags) : NULL;
	if (!si || !add_signing_time(si, signing_time) ||
	    CMS_final(cms, in, NULL, CMS_DETACHED | CMS_BINARY) != 1) {
		r = err_set(e, EIO, "signing: %s", ossl_reason());
		goto out;
	}
	n = i2d_CMS_ContentInfo(cms, &der);
	if (n <= 0) {
		r = err_set(e, EIO, "encoding the signature: %s", ossl_reason());
		goto out;
	}
	*ret_der = malloc((size_t)n);
	if (!*ret_der) {
		r = err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	memcpy(*ret_der, der, (size_t)n);
	*ret_len = (size_t)n;
out:
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return r;
}

int sign_trust_load(const char *const *paths, size_t n, struct sign_trust **ret, struct err *e)
{
	struct sign_trust *t = calloc(1, sizeof(*t));
	int r = 0;

	if (!t || !(t->store = X509_STORE_new())) {
		free(t);
		return err_set(e, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		BIO *b = NULL;
		X509 *x;
		size_t before = t->count;

		r = open_pem(paths[i], "a PEM certificate file", &b, e);
		if (r < 0) {
			err_prefix(e, r, "trust store");
			break;
		}
		while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
			X509_STORE_add_cert(t->store, x);
			X509_free(x);
			t->count++;
		}
		ERR_clear_error();
		BIO_free(b);
		if (t->count == before)
			r = err_set(e, EINVAL, "trust store %s: no PEM certificate in it", paths[i]);
	}
	if (r == 0 && t->count == 0)
		r = err_set(e, EINVAL, "empty trust store");
	if (r < 0) {
		sign_trust_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

void sign_trust_free(struct sign_trust *t)
{
	if (!t)
		return;
	X509_STORE_free(t->store);
	free(t);
}

/* An X.509 v3 certificate that says what its key is for: a key usage extension that allows
 * digitalSignature (a v1 certificate, or one without key usage, allows anything and is refused),
 * not a CA, and if it lists extended key usages, one that allows signing code or data
 * (codeSigning; emailProtection and anyExtendedKeyUsage too, for S/MIME certificates and
 * `openssl cms -verify`). The EKU stays optional: every signing certificate stele keygen issued
 * so far has none. */
static int check_purpose(X509 *signer, struct err *e)
{
	uint32_t flags = X509_get_extension_flags(signer);

	if (X509_get_version(signer) != X509_VERSION_3)
		return err_set(e, EPERM,
			       "signature: the signer's certificate is X.509 v%ld, not v3 (a signer "
			       "needs a key usage extension with digitalSignature)",
			       X509_get_version(signer) + 1);
	if (X509_check_ca(signer))
		return err_set(e, EPERM, "signature: the signer is a CA certificate");
	if (!(flags & EXFLAG_KUSAGE))
		return err_set(e, EPERM,
			       "signature: the signer's certificate has no key usage extension "
			       "(digitalSignature required)");
	if (!(X509_get_key_usage(signer) & KU_DIGITAL_SIGNATURE))
		return err_set(e, EPERM, "signature: the signer's key usage does not allow "
					 "digitalSignature");
	if ((flags & EXFLAG_XKUSAGE) &&
	    !(X509_get_extended_key_usage(signer) & (XKU_CODE_SIGN | XKU_SMIME | XKU_ANYEKU)))
		return err_set(e, EPERM, "signature: the signer's extended key usage allows "
					 "neither codeSigning nor emailProtection");
	return 0;
}

static int verify_chain(const struct sign_trust *t, X509 *signer, STACK_OF(X509) *untrusted,
			const struct sign_verify_opts *o, struct err *e)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int r = 0;

	if (!ctx || !X509_STORE_CTX_init(ctx, t->store, signer, untrusted)) {
		X509_STORE_CTX_free(ctx);
		return err_set(e, ENOMEM, "out of memory");
	}
	if (o && o->no_time_check)
		X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
	else if (o && o->at_time)
		X509_STORE_CTX_set_time(ctx, 0, (time_t)o->at_time);
	if (X509_verify_cert(ctx) != 1)
		r = err_set(e, EPERM, "signature: certificate chain: %s",
			    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

/* One DER TLV with a definite length, bounds-checked; returns the header length. */
static int der_next(const uint8_t *p, const uint8_t *end, uint8_t *tag, const uint8_t **val,
		    size_t *len)
{
	size_t n, hdr = 2;

	if (end - p < 2)
		return -1;
	*tag = p[0];
	n = p[1];
	if (n & 0x80) {
		size_t k = n & 0x7f;
		if (k == 0 || k > 4 || (size_t)(end - p) < 2 + k)
			return -1;
		n = 0;
		for (size_t i = 0; i < k; i++)
			n = n << 8 | p[2 + i];
		hdr += k;
	}
	if (n > (size_t)(end - p) - hdr)
		return -1;
	*val = p + hdr;
	*len = n;
	return (int)hdr;
}

/* SignedData and its SignerInfo must both be version 1 (issuerAndSerialNumber): the version
 * fields are outside what the signature covers, so they are checked by hand. */
static bool versions_ok(const uint8_t *der, size_t der_len)
{
	static const uint8_t v1[] = {0x02, 0x01, 0x01};
	const uint8_t *end = der + der_len, *v, *sd, *sd_end, *last_set = NULL;
	size_t l, last_len = 0;
	uint8_t tag;

	if (der_next(der, end, &tag, &v, &l) < 0 || tag != 0x30) /* ContentInfo */
		return false;
	end = v + l;
	if (der_next(v, end, &tag, &v, &l) < 0 || tag != 0x06) /* contentType */
		return false;
	if (der_next(v + l, end, &tag, &v, &l) < 0 || tag != 0xa0) /* [0] */
		return false;
	if (der_next(v, v + l, &tag, &sd, &l) < 0 || tag != 0x30) /* SignedData */
		return false;
	sd_end = sd + l;
	if (sd_end - sd < 3 || memcmp(sd, v1, 3) != 0)
		return false;
	for (const uint8_t *p = sd; p < sd_end; p = v + l) {
		if (der_next(p, sd_end, &tag, &v, &l) < 0)
			return false;
		if (tag == 0x31)
			last_set = v, last_len = l; /* signerInfos is the last SET */
	}
	if (!last_set || der_next(last_set, last_set + last_len, &tag, &v, &l) < 0 || tag != 0x30)
		return false;
	return l >= 3 && memcmp(v, v1, 3) == 0;
}

/* Algorithm parameters must be absent or NULL. */
static bool params_ok(const X509_ALGOR *a)
{
	int ptype;

	X509_ALGOR_get0(NULL, &ptype, NULL, a);
	return ptype == V_ASN1_UNDEF || ptype == V_ASN1_NULL;
}

static bool nid_in(int nid, const int *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == nid)
			return true;
	return false;
}

/* What the signature covers is the manifest digest and the signed attributes; the framing
 * around them must be exactly what stele writes: signed id-data content, known algorithms,
 * canonical DER. */
static int check_structure(CMS_ContentInfo *cms, const uint8_t *der, size_t der_len,
			   struct err *e)
{
	/* per digest: the signature algorithms that go with it */
	static const int pairs[][4] = {
		{NID_sha256, NID_rsaEncryption, NID_sha256WithRSAEncryption, NID_ecdsa_with_SHA256},
		{NID_sha384, NID_rsaEncryption, NID_sha384WithRSAEncryption, NID_ecdsa_with_SHA384},
		{NID_sha512, NID_rsaEncryption, NID_sha512WithRSAEncryption, NID_ecdsa_with_SHA512},
	};
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	unsigned char *again = NULL;
	int n;

	if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data)
		return err_set(e, EINVAL, "signature: signed content is not id-data");
	if (sk_CMS_SignerInfo_num(sis) != 1)
		return err_set(e, EINVAL, "signature: expected exactly one signer");
	for (int i = 0; i < sk_CMS_SignerInfo_num(sis); i++) {
		X509_ALGOR *dig = NULL, *sig = NULL;

		bool known = false;

		CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(sis, i), NULL, NULL, &dig, &sig);
		for (size_t k = 0; dig && sig && k < 3; k++)
			known |= OBJ_obj2nid(dig->algorithm) == pairs[k][0] &&
				 nid_in(OBJ_obj2nid(sig->algorithm), pairs[k] + 1, 3);
		if (!known || !params_ok(dig) || !params_ok(sig))
			return err_set(e, EINVAL, "signature: unexpected digest or signature "
						  "algorithm");
	}
	if (!versions_ok(der, der_len))
		return err_set(e, EINVAL, "signature: unexpected CMS version");
	n = i2d_CMS_ContentInfo(cms, &again);
	if (n != (int)der_len || memcmp(again, der, der_len) != 0) {
		OPENSSL_free(again);
		return err_set(e, EINVAL, "signature: not canonical DER");
	}
	OPENSSL_free(again);
	return 0;
}

int sign_verify(const struct sign_trust *t, const void *data, size_t len, const uint8_t *der,
		size_t der_len, const struct sign_verify_opts *o, char *ret_signer,
		size_t signer_len, struct err *e)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = NULL;
	STACK_OF(X509) *signers = NULL, *certs = NULL;
	BIO *in = NULL;
	int r = 0;

	if (der_len == 0 || der_len > INT32_MAX || len > INT32_MAX)
		return err_set(e, EINVAL, "signature: empty or too large");
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)der_len);
	if (!cms || p != der + der_len) {
		r = err_set(e, EINVAL, "signature: not a DER CMS structure");
		goto out;
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		r = err_set(e, EINVAL, "signature: not CMS SignedData");
		goto out;
	}
	r = check_structure(cms, der, der_len, e);
	if (r < 0)
		goto out;
	/* a buffering BIO in front of the memory BIO: OpenSSL 3.0 copies memory BIOs in
	 * CMS_verify and leaks the copy on some malformed inputs */
	in = BIO_push(BIO_new(BIO_f_buffer()), BIO_new_mem_buf(data, (int)len));
	if (!in || CMS_verify(cms, NULL, NULL, in, NULL,
			      CMS_BINARY | CMS_DETACHED | CMS_NO_SIGNER_CERT_VERIFY) != 1) {
		r = err_set(e, EBADMSG, "signature: does not match the manifest (%s)", ossl_reason());
		goto out;
	}
	signers = CMS_get0_signers(cms);
	if (!signers || sk_X509_num(signers) != 1) {
		r = err_set(e, EINVAL, "signature: expected exactly one signer");
		goto out;
	}
	certs = CMS_get1_certs(cms);
	r = verify_chain(t, sk_X509_value(signers, 0), certs, o, e);
	if (r == 0)
		r = check_purpose(sk_X509_value(signers, 0), e);
	if (r == 0 && ret_signer)
		X509_NAME_oneline(X509_get_subject_name(sk_X509_value(signers, 0)), ret_signer,
				  (int)signer_len);
out:
	sk_X509_free(signers);
	sk_X509_pop_free(certs, X509_free);
	BIO_free_all(in);
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return r;
}
