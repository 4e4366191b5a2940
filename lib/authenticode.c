#include "authenticode.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "le.h"

#define PE_SECTION_SIZE 40
#define PE_MAX_SECTIONS 96 /* the PE format's own limit */
#define PE_DIR_SECURITY 4
#define WIN_CERT_PKCS_SIGNED_DATA 0x0002
#define WIN_CERT_REVISION_2 0x0200
#define SPC_INDIRECT_DATA_OID "1.3.6.1.4.1.311.2.1.4"

/* DER of the SHA-256 OID, 2.16.840.1.101.3.4.2.1 */
static const uint8_t sha256_oid[] = {0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
				     0x03, 0x04, 0x02, 0x01};

static bool within(size_t off, size_t size, size_t len)
{
	return off <= len && size <= len - off;
}

int pe_layout(const uint8_t *b, size_t len, struct pe_layout *ret, struct err *e)
{
	struct pe_layout l = {0};
	size_t pe, opt, dirs, nsec, optsize;
	uint32_t ndirs;
	unsigned magic;

	if (len < 0x40 || b[0] != 'M' || b[1] != 'Z')
		return err_set(e, EINVAL, "not a PE image (no MZ header)");
	pe = le_get(b + 0x3c, 4);
	if (!within(pe, 24, len) || memcmp(b + pe, "PE\0\0", 4) != 0)
		return err_set(e, EINVAL, "not a PE image (no PE signature at 0x%zx)", pe);
	nsec = le_get(b + pe + 6, 2);
	optsize = le_get(b + pe + 20, 2);
	opt = pe + 24;
	if (!within(opt, optsize, len) || optsize < 2)
		return err_set(e, EINVAL, "PE optional header (%zu bytes) outside the file", optsize);
	magic = (unsigned)le_get(b + opt, 2);
	if (magic != 0x20b && magic != 0x10b)
		return err_set(e, EINVAL, "PE optional header magic 0x%x", magic);
	dirs = opt + (magic == 0x20b ? 112 : 96);
	if (optsize < dirs - opt)
		return err_set(e, EINVAL, "PE optional header too short (%zu bytes)", optsize);
	ndirs = (uint32_t)le_get(b + dirs - 4, 4);
	if (ndirs <= PE_DIR_SECURITY || optsize < dirs - opt + (PE_DIR_SECURITY + 1) * 8)
		return err_set(e, EINVAL, "PE image without a security directory");
	l.checksum = opt + 64;
	l.cert_dir = dirs + PE_DIR_SECURITY * 8;
	l.headers = le_get(b + opt + 60, 4);
	if (l.headers < l.cert_dir + 8 || l.headers > len)
		return err_set(e, EINVAL, "PE SizeOfHeaders %zu out of range", l.headers);
	if (nsec > PE_MAX_SECTIONS || !within(opt + optsize, nsec * PE_SECTION_SIZE, l.headers))
		return err_set(e, EINVAL, "PE section table (%zu sections) outside the headers",
			       nsec);
	l.cert_off = le_get(b + l.cert_dir, 4);
	l.cert_size = le_get(b + l.cert_dir + 4, 4);
	if (l.cert_size == 0)
		l.cert_off = 0;
	else if (l.cert_off < l.headers || !within(l.cert_off, l.cert_size, len) ||
		 l.cert_off + l.cert_size != len)
		return err_set(e, EINVAL, "PE certificate table %zu+%zu is not at the file's end",
			       l.cert_off, l.cert_size);
	*ret = l;
	return 0;
}

struct section {
	size_t off, size;
};

static int by_offset(const void *a, const void *b)
{
	const struct section *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

int authenticode_digest(const uint8_t *b, size_t len, const struct pe_layout *l,
			uint8_t ret[32], struct err *e)
{
	size_t pe = le_get(b + 0x3c, 4), nsec = le_get(b + pe + 6, 2), n = 0, hashed, tail;
	size_t table = pe + 24 + le_get(b + pe + 20, 2);
	struct section sec[PE_MAX_SECTIONS];
	struct sha256_ctx *c;

	for (size_t i = 0; i < nsec; i++) {
		const uint8_t *s = b + table + i * PE_SECTION_SIZE;
		struct section x = {le_get(s + 20, 4), le_get(s + 16, 4)};

		if (x.size == 0)
			continue;
		if (!within(x.off, x.size, len))
			return err_set(e, EINVAL, "PE section %zu (%zu+%zu) outside the file", i,
				       x.off, x.size);
		sec[n++] = x;
	}
	qsort(sec, n, sizeof(sec[0]), by_offset);
	c = sha256_new();
	sha256_update(c, b, l->checksum);
	sha256_update(c, b + l->checksum + 4, l->cert_dir - l->checksum - 4);
	sha256_update(c, b + l->cert_dir + 8, l->headers - l->cert_dir - 8);
	hashed = l->headers;
	for (size_t i = 0; i < n; i++) {
		sha256_update(c, b + sec[i].off, sec[i].size);
		hashed += sec[i].size;
	}
	/* what follows the sections, up to the certificate table, as EDK2 counts it */
	if (len > hashed) {
		if (len < hashed + l->cert_size) {
			sha256_final(c, ret);
			return err_set(e, EINVAL, "PE sections overlap the certificate table");
		}
		tail = len - l->cert_size - hashed;
		sha256_update(c, b + hashed, tail);
	}
	sha256_final(c, ret);
	return 0;
}

/* One DER element at *p (below end): its tag, and its contents in [*ret, *ret + *ret_len). */
static int der_next(const uint8_t **p, const uint8_t *end, unsigned tag, const uint8_t **ret,
		    size_t *ret_len)
{
	const uint8_t *q = *p;
	size_t n, len;

	if (end - q < 2 || q[0] != tag)
		return -1;
	len = q[1];
	q += 2;
	if (len & 0x80) {
		n = len & 0x7f;
		if (n == 0 || n > 4 || (size_t)(end - q) < n)
			return -1;
		len = 0;
		for (size_t i = 0; i < n; i++)
			len = len << 8 | *q++;
	}
	if ((size_t)(end - q) < len)
		return -1;
	*ret = q;
	*ret_len = len;
	*p = q + len;
	return 0;
}

/* SpcIndirectDataContent ::= SEQUENCE { data SEQUENCE, messageDigest DigestInfo }, DigestInfo
 * ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING }: its contents (what the signature covers,
 * without the outer tag and length) and the SHA-256 digest in it. */
static int indirect_data(const uint8_t *der, size_t len, const uint8_t **ret_body,
			 size_t *ret_body_len, const uint8_t **ret_digest)
{
	const uint8_t *p = der, *end = der + len, *body, *di, *alg, *dg, *skip;
	size_t body_len, di_len, alg_len, dg_len, skip_len;

	if (der_next(&p, end, 0x30, &body, &body_len) < 0)
		return -1;
	p = body;
	end = body + body_len;
	if (der_next(&p, end, 0x30, &skip, &skip_len) < 0 ||
	    der_next(&p, end, 0x30, &di, &di_len) < 0)
		return -1;
	p = di;
	end = di + di_len;
	if (der_next(&p, end, 0x30, &alg, &alg_len) < 0 || alg_len < sizeof(sha256_oid) ||
	    memcmp(alg, sha256_oid, sizeof(sha256_oid)) != 0 ||
	    der_next(&p, end, 0x04, &dg, &dg_len) < 0 || dg_len != 32)
		return -1;
	*ret_body = body;
	*ret_body_len = body_len;
	*ret_digest = dg;
	return 0;
}

static bool trusted_signer(X509 *signer, X509 *const *trusted, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		EVP_PKEY *k;

		if (X509_cmp(signer, trusted[i]) == 0)
			return true;
		k = X509_get0_pubkey(trusted[i]);
		if (k && X509_check_issued(trusted[i], signer) == X509_V_OK &&
		    X509_verify(signer, k) == 1)
			return true;
	}
	return false;
}

/* One PKCS#7 signature (der, len) over the image whose digest is dg. */
static int verify_one(const uint8_t *der, size_t len, const uint8_t dg[32],
		      X509 *const *trusted, size_t ntrusted, char *signer, size_t signer_size,
		      struct err *e)
{
	const unsigned char *p = der;
	PKCS7 *p7 = len <= LONG_MAX ? d2i_PKCS7(NULL, &p, (long)len) : NULL;
	const uint8_t *body, *idg;
	STACK_OF(X509) *signers = NULL;
	ASN1_STRING *idc;
	size_t body_len;
	BIO *bio = NULL;
	char oid[64], name[256] = "";
	int r;

	if (!p7 || !PKCS7_type_is_signed(p7) || !p7->d.sign->contents) {
		r = err_set(e, EINVAL, "the signature is not PKCS#7 signed data");
		goto out;
	}
	OBJ_obj2txt(oid, sizeof(oid), p7->d.sign->contents->type, 1);
	idc = strcmp(oid, SPC_INDIRECT_DATA_OID) == 0 && p7->d.sign->contents->d.other &&
			      p7->d.sign->contents->d.other->type == V_ASN1_SEQUENCE
		      ? p7->d.sign->contents->d.other->value.sequence
		      : NULL;
	if (!idc || indirect_data(idc->data, (size_t)idc->length, &body, &body_len, &idg) < 0) {
		r = err_set(e, EINVAL, "the signature carries no SHA-256 image digest");
		goto out;
	}
	if (memcmp(idg, dg, 32) != 0) {
		r = err_set(e, EBADMSG, "the image's digest differs from the signed one (the "
			    "image was changed after signing)");
		goto out;
	}
	bio = BIO_new_mem_buf(body, (int)body_len);
	if (!bio || PKCS7_verify(p7, NULL, NULL, bio, NULL, PKCS7_BINARY | PKCS7_NOVERIFY) != 1) {
		r = err_set(e, EBADMSG, "the PKCS#7 signature does not verify");
		goto out;
	}
	signers = PKCS7_get0_signers(p7, NULL, 0);
	if (!signers || sk_X509_num(signers) != 1) {
		r = err_set(e, EINVAL, "the signature has not exactly one signer");
		goto out;
	}
	X509_NAME_oneline(X509_get_subject_name(sk_X509_value(signers, 0)), name, sizeof(name));
	if (!trusted_signer(sk_X509_value(signers, 0), trusted, ntrusted)) {
		r = err_set(e, EPERM, "signed by %s, not by a certificate of the Secure Boot db", name);
		goto out;
	}
	if (signer)
		snprintf(signer, signer_size, "%s", name);
	r = 0;
out:
	sk_X509_free(signers);
	BIO_free(bio);
	PKCS7_free(p7);
	ERR_clear_error();
	return r;
}

int authenticode_verify(const uint8_t *b, size_t len, X509 *const *trusted, size_t ntrusted,
			char *signer, size_t signer_size, struct err *e)
{
	struct pe_layout l;
	uint8_t dg[32];
	size_t off, n = 0;
	int r = pe_layout(b, len, &l, e);

	if (r == 0)
		r = authenticode_digest(b, len, &l, dg, e);
	if (r < 0)
		return r;
	if (l.cert_size == 0)
		return err_set(e, EPERM, "the image is not signed");
	r = 1;
	/* WIN_CERTIFICATE entries, each 8-byte aligned; any one trusted signature is enough */
	for (off = l.cert_off; off + 8 <= len && n < AUTHENTICODE_MAX_SIGNATURES; n++) {
		size_t wlen = le_get(b + off, 4);
		unsigned rev = (unsigned)le_get(b + off + 4, 2), type = (unsigned)le_get(b + off + 6, 2);

		if (wlen < 8 || !within(off, wlen, len))
			return err_set(e, EINVAL, "WIN_CERTIFICATE at %zu: length %zu outside the "
				       "table", off, wlen);
		if (rev == WIN_CERT_REVISION_2 && type == WIN_CERT_PKCS_SIGNED_DATA) {
			r = verify_one(b + off + 8, wlen - 8, dg, trusted, ntrusted, signer,
				       signer_size, e);
			if (r == 0)
				return 0;
		}
		off += (wlen + 7) & ~(size_t)7;
	}
	if (r > 0)
		return err_set(e, EPERM, "the certificate table holds no PKCS#7 signature");
	return r;
}
