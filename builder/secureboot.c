#include "secureboot.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileutil.h"
#include "lib/authenticode.h"
#include "lib/le.h"

#define PE_MAX (256u << 20) /* a UKI: kernel and initramfs */
#define STUB_MAX (4u << 20)

int sb_keys_find(const char *dir, struct sb_keys *k, struct err *e)
{
	for (int i = 0; i < KEYS_SB_COUNT; i++) {
		if ((size_t)snprintf(k->key[i], sizeof(k->key[i]), "%s/%s.key", dir,
				     keys_sb_names[i]) >= sizeof(k->key[i]) ||
		    (size_t)snprintf(k->cert[i], sizeof(k->cert[i]), "%s/%s.crt", dir,
				     keys_sb_names[i]) >= sizeof(k->cert[i]))
			return err_set(e, ENAMETOOLONG, "%s: path too long", dir);
		if (access(k->key[i], R_OK) != 0 || access(k->cert[i], R_OK) != 0)
			return err_set(e, ENOENT, "%s: no Secure Boot key %s (.key and .crt): "
						  "`stele keygen --secure-boot %s` makes them",
				       dir, keys_sb_names[i], dir);
	}
	return 0;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)le_get(p, 4);
}

/* The end of the stub's image in memory (SizeOfImage), read from its PE headers. */
static int stub_image_end(const char *stub, uint64_t *ret, struct err *e)
{
	char *buf;
	size_t len;
	uint32_t pe;
	int r = file_read_all(stub, STUB_MAX, &buf, &len, e);

	if (r < 0)
		return r;
	const uint8_t *b = (const uint8_t *)buf;
	pe = len >= 0x40 ? le32(b + 0x3c) : 0;
	/* PE signature, COFF header (20), then the PE32+ optional header: SizeOfImage at 56 */
	if (len < 0x40 || b[0] != 'M' || b[1] != 'Z' || pe > len || len - pe < 24 + 60 ||
	    memcmp(b + pe, "PE\0\0", 4) != 0 || b[pe + 24] != 0x0b || b[pe + 25] != 0x02)
		r = err_set(e, EINVAL, "%s: not a PE32+ image", stub);
	else
		*ret = le32(b + pe + 24 + 56);
	free(buf);
	return r;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static int file_size(const char *path, uint64_t *ret, struct err *e)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return err_sys(e, errno, "%s", path);
	*ret = (uint64_t)st.st_size;
	return 0;
}

/* objcopy stamps the PE header with the time it runs (TimeDateStamp, and CheckSum after it):
 * both set from epoch and zero, so that two builds sign the same bytes. */
static int pe_set_time(const char *path, int64_t epoch, struct err *e)
{
	uint8_t h[0x200], t[4] = {(uint8_t)epoch, (uint8_t)(epoch >> 8), (uint8_t)(epoch >> 16),
				  (uint8_t)(epoch >> 24)}, zero[4] = {0};
	int fd = open(path, O_RDWR | O_CLOEXEC), r = 0;
	uint32_t pe;

	if (fd < 0)
		return err_sys(e, errno, "%s", path);
	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		r = err_set(e, EINVAL, "%s: too short for a PE image", path);
	pe = r == 0 ? le32(h + 0x3c) : 0;
	if (r == 0 && (pe > sizeof(h) - 24 - 68 || memcmp(h + pe, "PE\0\0", 4) != 0))
		r = err_set(e, EINVAL, "%s: no PE header", path);
	if (r == 0 && (pwrite(fd, t, 4, pe + 8) != 4 || pwrite(fd, zero, 4, pe + 24 + 64) != 4))
		r = err_sys(e, errno, "writing %s", path);
	close(fd);
	return r;
}

/* Sections in the order of the UAPI UKI specification's table; each starts on a page after
 * the previous one, so none overlaps whatever its size. */
int sb_uki_make(const struct sb_uki_in *in, const char *out, struct err *e)
{
	const char *tmpdir = getenv("TMPDIR");
	struct {
		const char *name, *flags, *file;
		const char *text;
	} sec[] = {
		{".osrel", "data,readonly", NULL, in->osrel},
		{".cmdline", "data,readonly", NULL, in->cmdline},
		{".uname", "data,readonly", NULL, in->uname},
		{".initrd", "data,readonly", in->initrd, NULL},
		{".linux", "code,readonly", in->kernel, NULL},
	};
	enum { NSEC = sizeof(sec) / sizeof(sec[0]) };
	char dir[4096], path[NSEC][4200], arg[NSEC][3][4400];
	char *argv[2 + NSEC * 6 + 3];
	uint64_t vma = 0, size = 0;
	size_t n = 0;
	int r;

	snprintf(dir, sizeof(dir), "%s/stele-uki-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(dir))
		return err_sys(e, errno, "creating a temporary directory");
	r = stub_image_end(in->stub, &vma, e);
	argv[n++] = "objcopy";
	for (size_t i = 0; r == 0 && i < NSEC; i++) {
		const char *file = sec[i].file;

		if (!file) {
			snprintf(path[i], sizeof(path[i]), "%s/%s", dir, sec[i].name + 1);
			r = file_write(path[i], sec[i].text, strlen(sec[i].text), e);
			file = path[i];
		}
		if (r == 0)
			r = file_size(file, &size, e);
		if (r < 0)
			break;
		vma = align_up(vma, 4096);
		snprintf(arg[i][0], sizeof(arg[i][0]), "%s=%s", sec[i].name, file);
		snprintf(arg[i][1], sizeof(arg[i][1]), "%s=0x%llx", sec[i].name,
			 (unsigned long long)vma);
		snprintf(arg[i][2], sizeof(arg[i][2]), "%s=%s", sec[i].name, sec[i].flags);
		argv[n++] = "--add-section";
		argv[n++] = arg[i][0];
		argv[n++] = "--change-section-vma";
		argv[n++] = arg[i][1];
		argv[n++] = "--set-section-flags";
		argv[n++] = arg[i][2];
		vma += size;
	}
	argv[n++] = (char *)in->stub;
	argv[n++] = (char *)out;
	argv[n] = NULL;
	if (r == 0)
		r = run_capture(argv, NULL, 1 << 16, NULL, e);
	if (r == 0)
		r = pe_set_time(out, in->epoch, e);
	for (size_t i = 0; i < NSEC; i++)
		if (!sec[i].file) {
			snprintf(path[i], sizeof(path[i]), "%s/%s", dir, sec[i].name + 1);
			unlink(path[i]);
		}
	rmdir(dir);
	return r < 0 ? err_prefix(e, r, "making the kernel image (objcopy)") : 0;
}

/* The PE checksum (the optional header's CheckSum): 16-bit one's-complement-style sum of the
 * file with the field itself taken as zero, plus the file's length. */
static uint32_t pe_checksum(const uint8_t *b, size_t len, size_t field)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < len; i += 2) {
		if (i == field || i == field + 2)
			continue;
		sum += (uint32_t)b[i] | (i + 1 < len ? (uint32_t)b[i + 1] << 8 : 0);
		sum = (sum & 0xffff) + (sum >> 16);
	}
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint32_t)(sum + len);
}

/* The Authenticode signature's PKCS#7 DER inside the PE image b (the first WIN_CERTIFICATE
 * of its certificate table, of type PKCS_SIGNED_DATA), every offset checked. */
static int pe_signature(const uint8_t *b, size_t len, size_t *ret_off, size_t *ret_len,
			size_t *ret_csum, struct err *e)
{
	struct pe_layout l;
	size_t wlen;
	int r = pe_layout(b, len, &l, e);

	if (r < 0)
		return r;
	wlen = l.cert_size >= 8 ? le_get(b + l.cert_off, 4) : 0;
	if (wlen < 8 || wlen > l.cert_size || b[l.cert_off + 6] != 0x02 || b[l.cert_off + 7] != 0)
		return err_set(e, EINVAL, "no PKCS#7 WIN_CERTIFICATE at %zu", l.cert_off);
	*ret_off = l.cert_off + 8;
	*ret_len = wlen - 8;
	*ret_csum = l.checksum;
	return 0;
}

/* sbsign puts the time it runs in the signature (signingTime): replaced by epoch and the
 * signer's signature over the attributes made again, so two builds give the same bytes. */
static int resign_time(PKCS7 *p7, EVP_PKEY *key, int64_t epoch, struct err *e)
{
	STACK_OF(PKCS7_SIGNER_INFO) *sis = PKCS7_get_signer_info(p7);
	PKCS7_SIGNER_INFO *si = sis && sk_PKCS7_SIGNER_INFO_num(sis) == 1
					? sk_PKCS7_SIGNER_INFO_value(sis, 0) : NULL;
	ASN1_TIME *t = NULL;
	int idx, ok;

	if (!si)
		return err_set(e, EINVAL, "the signature has not exactly one signer");
	while ((idx = X509at_get_attr_by_NID(si->auth_attr, NID_pkcs9_signingTime, -1)) >= 0)
		X509_ATTRIBUTE_free(X509at_delete_attr(si->auth_attr, idx));
	t = ASN1_TIME_set(NULL, (time_t)epoch);
	ok = t && PKCS7_add0_attrib_signing_time(si, t);
	if (!ok)
		ASN1_TIME_free(t);
	EVP_PKEY_up_ref(key);
	EVP_PKEY_free(si->pkey);
	si->pkey = key;
	ok = ok && PKCS7_SIGNER_INFO_sign(si) == 1;
	if (!ok) {
		ERR_clear_error();
		return err_set(e, EIO, "re-signing the signature's attributes failed");
	}
	return 0;
}

static int pe_fix_signing_time(const char *path, const char *key_path, int64_t epoch,
			       struct err *e)
{
	char *f = NULL;
	size_t len, off = 0, dlen = 0, csum = 0;
	unsigned char *der = NULL;
	PKCS7 *p7 = NULL;
	EVP_PKEY *key = NULL;
	FILE *kf;
	int r = file_read_all(path, PE_MAX, &f, &len, e), n = 0;

	if (r == 0)
		r = pe_signature((uint8_t *)f, len, &off, &dlen, &csum, e);
	if (r == 0) {
		const unsigned char *p = (const unsigned char *)f + off;

		p7 = d2i_PKCS7(NULL, &p, (long)dlen);
		if (!p7)
			r = err_set(e, EINVAL, "the signature is not PKCS#7");
	}
	if (r == 0 && !(kf = fopen(key_path, "re")))
		r = err_sys(e, errno, "%s", key_path);
	else if (r == 0) {
		key = PEM_read_PrivateKey(kf, NULL, NULL, NULL);
		fclose(kf);
		if (!key)
			r = err_set(e, EINVAL, "%s: not a PEM private key", key_path);
	}
	if (r == 0)
		r = resign_time(p7, key, epoch, e);
	if (r == 0 && ((n = i2d_PKCS7(p7, &der)) <= 0 || (size_t)n > dlen))
		r = err_set(e, EINVAL, "the re-signed signature (%d bytes) does not fit %zu", n,
			    dlen);
	if (r == 0) {
		memcpy(f + off, der, (size_t)n);
		memset(f + off + n, 0, dlen - (size_t)n);
		le_put((uint8_t *)f + csum, pe_checksum((uint8_t *)f, len, csum), 4);
		r = file_write(path, f, len, e);
	}
	OPENSSL_free(der);
	PKCS7_free(p7);
	EVP_PKEY_free(key);
	ERR_clear_error();
	free(f);
	return r < 0 ? err_prefix(e, r, "%s", path) : 0;
}

int sb_sign_pe(const char *in, const char *out, const char *key, const char *cert,
	       int64_t epoch, struct err *e)
{
	char *argv[] = {"sbsign", "--key", (char *)key, "--cert", (char *)cert, "--output",
			(char *)out, (char *)in, NULL};
	int r = run_capture(argv, NULL, 1 << 16, NULL, e);

	if (r < 0)
		return err_prefix(e, r, "signing %s (sbsign)", in);
	return pe_fix_signing_time(out, key, epoch, e);
}

/* ---- OpenPGP ---- */

struct buf {
	uint8_t *p;
	size_t len, cap;
	int err;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->err)
		return;
	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2;
		uint8_t *q = realloc(b->p, cap);

		if (!q) {
			b->err = -ENOMEM;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void put8(struct buf *b, unsigned v)
{
	uint8_t c = (uint8_t)v;

	put(b, &c, 1);
}

static void put16(struct buf *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v);
}

static void put32(struct buf *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b, v & 0xffff);
}

/* An MPI: its length in bits, then its bytes without leading zeros. */
static void put_mpi(struct buf *b, const uint8_t *p, size_t n)
{
	while (n && !*p)
		p++, n--;
	put16(b, n ? (unsigned)((n - 1) * 8 + (8 - __builtin_clz(p[0]) + 24)) : 0);
	put(b, p, n);
}

static void put_bn_mpi(struct buf *b, const BIGNUM *bn)
{
	uint8_t tmp[1024];
	int n = BN_num_bytes(bn);

	if (n <= 0 || n > (int)sizeof(tmp)) {
		b->err = -EINVAL;
		return;
	}
	BN_bn2bin(bn, tmp);
	put_mpi(b, tmp, (size_t)n);
}

/* An old-format packet header with a two-byte length (what GRUB's reader takes). */
static void put_packet(struct buf *out, unsigned tag, const struct buf *body)
{
	if (body->err || body->len > 0xffff) {
		out->err = body->err ? body->err : -E2BIG;
		return;
	}
	put8(out, 0x80 | tag << 2 | 1);
	put16(out, (unsigned)body->len);
	put(out, body->p, body->len);
}

static int rsa_parts(EVP_PKEY *key, BIGNUM **n, BIGNUM **ex, struct err *e)
{
	*n = *ex = NULL;
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA ||
	    !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, ex)) {
		BN_free(*n);
		BN_free(*ex);
		ERR_clear_error();
		return err_set(e, EINVAL, "the Secure Boot key is not RSA");
	}
	return 0;
}

static void pubkey_body(struct buf *b, const BIGNUM *n, const BIGNUM *ex, int64_t created)
{
	put8(b, 4);
	put32(b, (uint32_t)created);
	put8(b, 1); /* RSA */
	put_bn_mpi(b, n);
	put_bn_mpi(b, ex);
}

/* The key id: the low 64 bits of the v4 fingerprint, SHA-1 over 0x99, length, body. */
static int pgp_keyid(EVP_PKEY *key, int64_t created, uint8_t id[8], struct err *e)
{
	struct buf body = {0}, pkt = {0};
	BIGNUM *n, *ex;
	uint8_t fpr[SHA_DIGEST_LENGTH];
	int r = rsa_parts(key, &n, &ex, e);

	if (r < 0)
		return r;
	pubkey_body(&body, n, ex, created);
	put_packet(&pkt, 6, &body);
	r = pkt.err ? err_set(e, -pkt.err, "encoding the OpenPGP key") : 0;
	if (r == 0) {
		SHA1(pkt.p, pkt.len, fpr);
		memcpy(id, fpr + SHA_DIGEST_LENGTH - 8, 8);
	}
	free(body.p);
	free(pkt.p);
	BN_free(n);
	BN_free(ex);
	return r;
}

int sb_pgp_pubkey(EVP_PKEY *key, int64_t created, uint8_t **ret, size_t *ret_len,
		  struct err *e)
{
	struct buf body = {0}, pkt = {0};
	BIGNUM *n, *ex;
	int r = rsa_parts(key, &n, &ex, e);

	if (r < 0)
		return r;
	pubkey_body(&body, n, ex, created);
	put_packet(&pkt, 6, &body);
	free(body.p);
	BN_free(n);
	BN_free(ex);
	if (pkt.err) {
		free(pkt.p);
		return err_set(e, -pkt.err, "encoding the OpenPGP key");
	}
	*ret = pkt.p;
	*ret_len = pkt.len;
	return 0;
}

static int hash_file(const char *path, EVP_MD_CTX *md, struct err *e)
{
	static uint8_t chunk[1 << 16];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return err_sys(e, errno, "%s", path);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		EVP_DigestUpdate(md, chunk, (size_t)n);
	close(fd);
	return n < 0 ? err_sys(e, errno, "reading %s", path) : 0;
}

static int rsa_sign_digest(EVP_PKEY *key, const uint8_t dg[32], uint8_t *sig, size_t *sig_len,
			   struct err *e)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key, NULL);
	int ok = c && EVP_PKEY_sign_init(c) > 0 &&
		 EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) > 0 &&
		 EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) > 0 &&
		 EVP_PKEY_sign(c, sig, sig_len, dg, 32) > 0;

	EVP_PKEY_CTX_free(c);
	if (!ok) {
		ERR_clear_error();
		return err_set(e, EIO, "RSA signing failed");
	}
	return 0;
}

int sb_pgp_sign_file(const char *path, EVP_PKEY *key, int64_t created, uint8_t **ret,
		     size_t *ret_len, struct err *e)
{
	struct buf hashed = {0}, body = {0}, pkt = {0};
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t keyid[8], dg[32], sig[1024];
	size_t sig_len = sizeof(sig);
	int r = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) ? 0
		: err_set(e, ENOMEM, "SHA-256");

	if (r == 0)
		r = pgp_keyid(key, created, keyid, e);
	if (r == 0)
		r = hash_file(path, md, e);
	/* the part of the signature packet the hash covers: version to hashed subpackets */
	put8(&hashed, 4);
	put8(&hashed, 0x00); /* a binary document */
	put8(&hashed, 1);    /* RSA */
	put8(&hashed, 8);    /* SHA-256 */
	put16(&hashed, 6);
	put8(&hashed, 5);
	put8(&hashed, 2); /* signature creation time */
	put32(&hashed, (uint32_t)created);
	if (r == 0 && hashed.err)
		r = err_set(e, -hashed.err, "out of memory");
	if (r == 0) {
		uint8_t trailer[6] = {4, 0xff, 0, 0, 0, (uint8_t)hashed.len};

		EVP_DigestUpdate(md, hashed.p, hashed.len);
		EVP_DigestUpdate(md, trailer, sizeof(trailer));
		EVP_DigestFinal_ex(md, dg, NULL);
		r = rsa_sign_digest(key, dg, sig, &sig_len, e);
	}
	if (r == 0) {
		put(&body, hashed.p, hashed.len);
		put16(&body, 10);
		put8(&body, 9);
		put8(&body, 16); /* issuer: the key id GRUB looks the key up by */
		put(&body, keyid, 8);
		put(&body, dg, 2);
		put_mpi(&body, sig, sig_len);
		put_packet(&pkt, 2, &body);
		if (pkt.err)
			r = err_set(e, -pkt.err, "encoding the OpenPGP signature");
	}
	EVP_MD_CTX_free(md);
	free(hashed.p);
	free(body.p);
	if (r < 0) {
		free(pkt.p);
		return r;
	}
	*ret = pkt.p;
	*ret_len = pkt.len;
	return 0;
}

/* ---- EFI variables ---- */

/* "8be4df61-93ca-11d2-aa0d-00e098032b8c" in EFI_GUID order (the first three fields
 * little-endian). */
static void guid_parse(const char *s, uint8_t g[16])
{
	static const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
	uint8_t raw[16];
	size_t n = 0;

	for (const char *p = s; *p && n < 16; p++) {
		if (*p == '-')
			continue;
		unsigned v;
		sscanf(p, "%2x", &v);
		raw[n++] = (uint8_t)v;
		p++;
	}
	for (int i = 0; i < 16; i++)
		g[i] = raw[order[i]];
}

#define GUID_CERT_X509 "a5c059a1-94e4-4aa7-87b5-ab155c2bf072"
#define GUID_GLOBAL "8be4df61-93ca-11d2-aa0d-00e098032b8c"
#define GUID_IMAGE_SECURITY "d719b2cb-3d3a-4596-a3bc-dad00e67656f"
#define GUID_SECURE_BOOT_ENABLE "f0a30bc7-af08-4556-99c4-001009c93a44"
#define GUID_CUSTOM_MODE "c076ec0c-7028-4399-a072-71ee5c448b9f"
#define GUID_AUTH_VARIABLE "aaf32c78-947b-439a-a180-2e144ec37792"

static void put_le32(struct buf *b, uint32_t v)
{
	uint8_t c[4];

	le_put(c, v, 4);
	put(b, c, 4);
}

int sb_esl(X509 *cert, const uint8_t owner[16], uint8_t **ret, size_t *ret_len, struct err *e)
{
	unsigned char *der = NULL;
	int n = i2d_X509(cert, &der);
	uint8_t type[16];
	struct buf b = {0};

	if (n <= 0) {
		ERR_clear_error();
		return err_set(e, EINVAL, "encoding a certificate");
	}
	guid_parse(GUID_CERT_X509, type);
	put(&b, type, 16);
	put_le32(&b, (uint32_t)(28 + 16 + n)); /* SignatureListSize */
	put_le32(&b, 0);                        /* SignatureHeaderSize */
	put_le32(&b, (uint32_t)(16 + n));      /* SignatureSize */
	put(&b, owner, 16);
	put(&b, der, (size_t)n);
	OPENSSL_free(der);
	if (b.err) {
		free(b.p);
		return err_set(e, -b.err, "out of memory");
	}
	*ret = b.p;
	*ret_len = b.len;
	return 0;
}

#define VAR_ADDED 0x3f
#define ATTR_NV_BS 0x03
#define ATTR_NV_BS_RT_TIMEAUTH 0x27

/* One AUTHENTICATED_VARIABLE_HEADER, its UCS-2 name and data, padded to 4 bytes. */
static void put_var(struct buf *b, const char *name, const char *guid, uint32_t attrs,
		    const uint8_t *time16, const uint8_t *data, size_t len)
{
	uint8_t g[16], zero[16] = {0};
	size_t nlen = (strlen(name) + 1) * 2;

	put8(b, 0xaa); /* StartId 0x55aa, little-endian */
	put8(b, 0x55);
	put8(b, VAR_ADDED);
	put8(b, 0);
	put_le32(b, attrs);
	put(b, zero, 8); /* MonotonicCount */
	put(b, attrs & 0x20 ? time16 : zero, 16);
	put_le32(b, 0); /* PubKeyIndex */
	put_le32(b, (uint32_t)nlen);
	put_le32(b, (uint32_t)len);
	guid_parse(guid, g);
	put(b, g, 16);
	for (const char *c = name;; c++) {
		put8(b, (uint8_t)*c);
		put8(b, 0);
		if (!*c)
			break;
	}
	put(b, data, len);
	while (b->len % 4)
		put8(b, 0xff);
}

static void efi_time(int64_t epoch, uint8_t t[16])
{
	time_t s = (time_t)epoch;
	struct tm tm = {0};

	memset(t, 0, 16);
	if (!gmtime_r(&s, &tm))
		return;
	t[0] = (uint8_t)(tm.tm_year + 1900), t[1] = (uint8_t)((tm.tm_year + 1900) >> 8);
	t[2] = (uint8_t)(tm.tm_mon + 1);
	t[3] = (uint8_t)tm.tm_mday;
	t[4] = (uint8_t)tm.tm_hour;
	t[5] = (uint8_t)tm.tm_min;
	t[6] = (uint8_t)tm.tm_sec;
}

/* The template: a firmware volume ("_FVH") whose first content is an authenticated variable
 * store, still empty (erased flash reads 0xff). */
static int store_start(const uint8_t *f, size_t len, size_t *ret_off, size_t *ret_end,
		       struct err *e, const char *path)
{
	uint8_t g[16];
	size_t hlen, size;

	if (len < 0x48 || memcmp(f + 0x28, "_FVH", 4) != 0)
		return err_set(e, EINVAL, "%s: not a firmware volume", path);
	hlen = (size_t)f[0x30] | (size_t)f[0x31] << 8;
	guid_parse(GUID_AUTH_VARIABLE, g);
	if (hlen < 0x48 || hlen > len || len - hlen < 28 || memcmp(f + hlen, g, 16) != 0)
		return err_set(e, EINVAL, "%s: no authenticated variable store", path);
	size = le32(f + hlen + 16);
	if (size < 28 || size > len - hlen)
		return err_set(e, EINVAL, "%s: variable store size %zu out of bounds", path, size);
	for (size_t i = hlen + 28; i < hlen + size; i++)
		if (f[i] != 0xff)
			return err_set(e, EINVAL, "%s: the variable store is not empty", path);
	if ((hlen + 28) % 4) /* variables are 4-byte aligned from the store's start */
		return err_set(e, EINVAL, "%s: variable store at %zu not 4-byte aligned", path, hlen);
	*ret_off = hlen + 28;
	*ret_end = hlen + size;
	return 0;
}

int sb_ovmf_vars(const char *template, const uint8_t *esl[KEYS_SB_COUNT],
		 const size_t esl_len[KEYS_SB_COUNT], int64_t epoch, const char *out,
		 struct err *e)
{
	static const uint8_t one = 1, zero = 0;
	char *f;
	size_t len, off = 0, end = 0;
	uint8_t t[16];
	struct buf v = {0};
	int r = file_read_all(template, 16u << 20, &f, &len, e);

	if (r < 0)
		return r;
	r = store_start((uint8_t *)f, len, &off, &end, e, template);
	efi_time(epoch, t);
	put_var(&v, "PK", GUID_GLOBAL, ATTR_NV_BS_RT_TIMEAUTH, t, esl[KEYS_SB_PK],
		esl_len[KEYS_SB_PK]);
	put_var(&v, "KEK", GUID_GLOBAL, ATTR_NV_BS_RT_TIMEAUTH, t, esl[KEYS_SB_KEK],
		esl_len[KEYS_SB_KEK]);
	put_var(&v, "db", GUID_IMAGE_SECURITY, ATTR_NV_BS_RT_TIMEAUTH, t, esl[KEYS_SB_DB],
		esl_len[KEYS_SB_DB]);
	put_var(&v, "SecureBootEnable", GUID_SECURE_BOOT_ENABLE, ATTR_NV_BS, t, &one, 1);
	put_var(&v, "CustomMode", GUID_CUSTOM_MODE, ATTR_NV_BS, t, &zero, 1);
	if (r == 0 && v.err)
		r = err_set(e, -v.err, "out of memory");
	if (r == 0 && v.len > end - off)
		r = err_set(e, ENOSPC, "%s: the keys (%zu bytes) do not fit its variable store",
			    template, v.len);
	if (r == 0) {
		memcpy(f + off, v.p, v.len);
		r = file_write(out, f, len, e);
	}
	free(v.p);
	free(f);
	return r;
}
