/* Unit tests of builder/secureboot.c's in-process formats: the OpenPGP key and signature GRUB
 * checks (the packet layout RFC 4880 gives, and the RSA signature verified over the data and
 * the hashed trailer recomputed here), the EFI signature list, and the OVMF variable store
 * against hostile templates (not a firmware volume, another store, a size out of bounds, a
 * store already holding variables, keys that do not fit). */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/fileutil.h"
#include "builder/keys.h"
#include "builder/secureboot.h"
#include "tap.h"

static char dir[] = "/tmp/stele-test-sb-XXXXXX";

static void path(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_pgp(EVP_PKEY *key)
{
	struct err e = {{0}};
	uint8_t *pub = NULL, *sig = NULL, dg[32], fpr[20];
	size_t plen = 0, slen = 0;
	char data[4096];
	static const char text[] = "a kernel image, or any file";

	path(data, sizeof(data), "data");
	file_write(data, text, sizeof(text) - 1, &e);
	ok(sb_pgp_pubkey(key, 1704067200, &pub, &plen, &e) == 0, "a public key packet%s", e.msg);
	ok(plen > 3 && pub[0] == 0x99 && (size_t)(pub[1] << 8 | pub[2]) == plen - 3,
	   "an old-format tag 6 packet with a two-byte length");
	ok(plen > 9 && pub[3] == 4 && be32(pub + 4) == 1704067200 && pub[8] == 1,
	   "v4, the creation time, RSA");
	ok(plen > 11 && (pub[9] << 8 | pub[10]) == 2048, "n is a 2048-bit MPI");
	SHA1(pub, plen, fpr);

	ok(sb_pgp_sign_file(data, key, 1704067200, &sig, &slen, &e) == 0, "a signature%s", e.msg);
	ok(slen > 3 && sig[0] == 0x89 && (size_t)(sig[1] << 8 | sig[2]) == slen - 3,
	   "an old-format tag 2 packet with a two-byte length");
	const uint8_t *b = sig + 3;
	ok(slen > 30 && b[0] == 4 && b[1] == 0 && b[2] == 1 && b[3] == 8,
	   "v4, binary document, RSA, SHA-256");
	size_t hl = slen > 30 ? (size_t)(b[4] << 8 | b[5]) : 0;
	ok(hl == 6 && b[6] == 5 && b[7] == 2 && be32(b + 8) == 1704067200,
	   "hashed: the creation time only");
	const uint8_t *u = b + 6 + hl;
	ok((u[0] << 8 | u[1]) == 10 && u[2] == 9 && u[3] == 16 && memcmp(u + 4, fpr + 12, 8) == 0,
	   "unhashed: the issuer, the key packet's v4 key id");

	/* the digest: data, then version..hashed subpackets, then 0x04 0xff and their length */
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t trailer[6] = {4, 0xff, 0, 0, 0, (uint8_t)(6 + hl)};
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestUpdate(md, text, sizeof(text) - 1);
	EVP_DigestUpdate(md, b, 6 + hl);
	EVP_DigestUpdate(md, trailer, sizeof(trailer));
	EVP_DigestFinal_ex(md, dg, NULL);
	EVP_MD_CTX_free(md);
	const uint8_t *left = u + 2 + 10, *mpi = left + 2;
	ok(memcmp(left, dg, 2) == 0, "the left 16 bits are the digest's");
	size_t bits = (size_t)(mpi[0] << 8 | mpi[1]), n = (bits + 7) / 8;
	ok(mpi + 2 + n == sig + slen, "the signature MPI ends the packet (%zu bits)", bits);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key, NULL);
	uint8_t full[256] = {0};
	memcpy(full + sizeof(full) - n, mpi + 2, n);
	ok(c && EVP_PKEY_verify_init(c) > 0 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) > 0 &&
		   EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) > 0 &&
		   EVP_PKEY_verify(c, full, sizeof(full), dg, 32) == 1,
	   "the RSA PKCS#1 signature verifies over that digest");
	EVP_PKEY_CTX_free(c);

	free(sig);
	sig = NULL;
	file_write(data, "A kernel image, or any file", sizeof(text) - 1, &e);
	ok(sb_pgp_sign_file(data, key, 1704067200, &sig, &slen, &e) == 0 &&
		   memcmp(sig + 3 + 6 + hl + 12, dg, 2) != 0,
	   "one changed byte: another digest");
	free(sig);
	free(pub);
	ok(sb_pgp_sign_file("/nonexistent/x", key, 0, &sig, &slen, &e) == -ENOENT &&
		   strstr(e.msg, "/nonexistent/x"),
	   "a missing file is named: %s", e.msg);
	unlink(data);
}

/* A template like OVMF_VARS_4M.fd: FV header (72 bytes, "_FVH" at 0x28, header length at
 * 0x30), then the authenticated variable store header (GUID, size, format, state), erased. */
static uint8_t *fake_template(size_t len, uint32_t store_size)
{
	static const uint8_t auth_guid[16] = {0x78, 0x2c, 0xf3, 0xaa, 0x7b, 0x94, 0x9a, 0x43,
					      0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92};
	uint8_t *t = malloc(len);

	memset(t, 0xff, len);
	memset(t, 0, 72);
	memcpy(t + 0x28, "_FVH", 4);
	t[0x30] = 72;
	memcpy(t + 72, auth_guid, 16);
	t[88] = (uint8_t)store_size, t[89] = (uint8_t)(store_size >> 8);
	t[90] = (uint8_t)(store_size >> 16), t[91] = (uint8_t)(store_size >> 24);
	t[92] = 0x5a, t[93] = 0xfe, t[94] = t[95] = t[96] = t[97] = t[98] = t[99] = 0;
	return t;
}

static int vars_from(const uint8_t *tmpl, size_t len, const uint8_t *esl[3], const size_t el[3],
		     char *out, struct err *e)
{
	char tp[4096];

	path(tp, sizeof(tp), "template.fd");
	path(out, 4096, "vars.fd");
	file_write(tp, tmpl, len, e);
	return sb_ovmf_vars(tp, esl, el, 1704067200, out, e);
}

static void test_vars(X509 *cert)
{
	struct err e = {{0}};
	uint8_t owner[16] = {1, 2, 3}, *l = NULL, *t;
	size_t ll = 0, len = 64 * 1024;
	char out[4096];
	char *got = NULL;
	size_t glen = 0;

	ok(sb_esl(cert, owner, &l, &ll, &e) == 0, "a signature list%s", e.msg);
	ok(ll > 44 && l[0] == 0xa1 && l[1] == 0x59 && l[2] == 0xc0 && l[3] == 0xa5,
	   "of type EFI_CERT_X509_GUID");
	ok(ll > 44 && (size_t)(l[16] | l[17] << 8 | l[18] << 16) == ll && l[20] == 0 &&
		   (size_t)(l[24] | l[25] << 8 | l[26] << 16) == ll - 28,
	   "its sizes: the list, no header, one entry");
	ok(ll > 44 && memcmp(l + 28, owner, 16) == 0 && l[44] == 0x30, "owner, then the DER");

	const uint8_t *esl[3] = {l, l, l};
	const size_t el[3] = {ll, ll, ll};
	t = fake_template(len, 0x8000);
	ok(vars_from(t, len, esl, el, out, &e) == 0, "a good template%s", e.msg);
	file_read_all(out, 1 << 20, &got, &glen, &e);
	ok(got && glen == len && memcmp(got, t, 100) == 0, "the headers are kept, the size too");
	ok(got && (uint8_t)got[100] == 0xaa && (uint8_t)got[101] == 0x55 &&
		   (uint8_t)got[102] == 0x3f && (uint8_t)got[104] == 0x27,
	   "the first variable: StartId, VAR_ADDED, NV|BS|RT|TIME_AUTH");
	ok(got && got[100 + 16] == (char)0xe8 && got[100 + 17] == 0x07,
	   "its timestamp's year is 2024 (SOURCE_DATE_EPOCH)");
	ok(got && got[160] == 'P' && got[161] == 0 && got[162] == 'K' && got[164] == 0,
	   "its name: \"PK\" in UCS-2");
	ok(got && memmem(got, glen, "S\0e\0c\0u\0r\0e\0B\0o\0o\0t\0E\0n\0a\0b\0l\0e\0", 32),
	   "SecureBootEnable is set");
	ok(got && (uint8_t)got[0x7ff0] == 0xff, "the rest of the store stays erased");
	free(got);

	memcpy(t + 0x28, "_FVX", 4);
	ok(vars_from(t, len, esl, el, out, &e) == -EINVAL && strstr(e.msg, "not a firmware volume"),
	   "not a firmware volume: %s", e.msg);
	memcpy(t + 0x28, "_FVH", 4);
	t[72] ^= 1;
	ok(vars_from(t, len, esl, el, out, &e) == -EINVAL &&
		   strstr(e.msg, "no authenticated variable store"),
	   "another store: %s", e.msg);
	t[72] ^= 1;
	t[0x30] = 0xf0, t[0x31] = 0xff;
	ok(vars_from(t, len, esl, el, out, &e) == -EINVAL, "a header length beyond the file: %s",
	   e.msg);
	t[0x30] = 72, t[0x31] = 0;
	free(t);
	t = fake_template(len, 0xfffffff0);
	ok(vars_from(t, len, esl, el, out, &e) == -EINVAL && strstr(e.msg, "out of bounds"),
	   "a store size beyond the file: %s", e.msg);
	free(t);
	t = fake_template(len, 0x8000);
	t[200] = 0;
	ok(vars_from(t, len, esl, el, out, &e) == -EINVAL && strstr(e.msg, "not empty"),
	   "a store already holding variables: %s", e.msg);
	free(t);
	t = fake_template(len, 1024);
	ok(vars_from(t, len, esl, el, out, &e) == -ENOSPC && strstr(e.msg, "do not fit"),
	   "keys that do not fit the store: %s", e.msg);
	free(t);
	t = fake_template(len, 0x8000);
	ok(vars_from(t, 60, esl, el, out, &e) == -EINVAL, "the first 60 bytes of one: %s", e.msg);
	free(t);
	free(l);
	unlink(out);
	path(out, sizeof(out), "template.fd");
	unlink(out);
}

int main(void)
{
	struct err e = {{0}};
	struct cert_spec spec = {.cn = "test db", .ca = true, .not_before = 0,
				 .not_after = 2000000000, .key_usage = "digitalSignature"};
	EVP_PKEY *k = NULL;
	X509 *c = NULL;

	if (!mkdtemp(dir) || keys_new_key(KEY_RSA2048, &k, &e) < 0 ||
	    keys_make_cert(k, &spec, NULL, NULL, &c, &e) < 0) {
		printf("Bail out! %s\n", e.msg);
		return 1;
	}
	test_pgp(k);
	test_vars(c);
	EVP_PKEY_free(k);
	X509_free(c);
	rmdir(dir);
	return tap_done();
}
