/* Unit tests of key generation (builder/keys.c) and of detached CMS signatures (lib/sign.c):
 * round trips, reproducibility, and every reason a signature must be refused. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#include "builder/keys.h"
#include "lib/sign.h"
#include "tap.h"

#define YEAR (365LL * 24 * 3600)
#define T0 1700000000LL /* a fixed signing time (SOURCE_DATE_EPOCH) */

static struct err e;
static char tmp[PATH_MAX];
static int64_t now;

static const char data[] =
	"{\"format_version\":1,\"product\":\"fixture\",\"version\":\"1\",\"arch\":\"x86_64\","
	"\"rollback_index\":0,\"rootfs\":{\"size\":15728640,\"sha256\":"
	"\"5bc15cf645c6b3f2922f685acdee7c3879246a0bbddda412bf4a6c84aa1d7f04\"}}";
#define DATA_LEN (sizeof(data) - 1)

/* the trusted ECDSA CA (in memory and in tmp/ec-ca.crt) and an independent one */
static EVP_PKEY *ca_key, *ca2_key, *ca2same_key;
static X509 *ca_cert, *ca2_cert, *ca2same_cert;
static struct sign_trust *trust_ec, *trust_rsa;

static void die(const char *what)
{
	printf("Bail out! %s: %s\n", what, e.msg);
	exit(1);
}

/* tmp/name, in one of a few rotating buffers */
static const char *p(const char *name)
{
	static char buf[8][PATH_MAX];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp, name);
	return buf[i];
}

static struct cert_spec leaf_spec(const char *cn)
{
	return (struct cert_spec){.cn = cn, .not_before = now - 3600, .not_after = now + YEAR,
				  .key_usage = "critical,digitalSignature"};
}

static struct cert_spec ca_spec(const char *cn)
{
	return (struct cert_spec){.cn = cn, .ca = true, .not_before = now - 10 * YEAR,
				  .not_after = now + 10 * YEAR,
				  .key_usage = "critical,keyCertSign,cRLSign"};
}

static void make_ca(const char *cn, EVP_PKEY **key, X509 **cert, const char *file)
{
	struct cert_spec s = ca_spec(cn);

	if (keys_new_key(KEY_ECDSA_P256, key, &e) < 0 ||
	    keys_make_cert(*key, &s, NULL, NULL, cert, &e) < 0 ||
	    keys_write_cert(p(file), *cert, &e) < 0)
		die(cn);
}

/* An ECDSA key with a certificate from spec issued by (issuer, ikey), written to tmp/label.key
 * and tmp/label.crt and loaded. */
static struct sign_key *make_signer(const char *label, const struct cert_spec *s, X509 *issuer,
				    EVP_PKEY *ikey)
{
	char kp[PATH_MAX], cp[PATH_MAX];
	struct sign_key *k = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;

	snprintf(kp, sizeof(kp), "%s/%s.key", tmp, label);
	snprintf(cp, sizeof(cp), "%s/%s.crt", tmp, label);
	if (keys_new_key(KEY_ECDSA_P256, &key, &e) < 0 ||
	    keys_make_cert(key, s, issuer, ikey, &cert, &e) < 0 || keys_write_key(kp, key, &e) < 0 ||
	    keys_write_cert(cp, cert, &e) < 0 || sign_key_load(kp, cp, &k, &e) < 0)
		die(label);
	EVP_PKEY_free(key);
	X509_free(cert);
	return k;
}

static void sign(const struct sign_key *k, const void *d, size_t len, int64_t t, uint8_t **der,
		 size_t *der_len)
{
	if (sign_detached(k, d, len, t, der, der_len, &e) < 0)
		die("sign_detached");
}

static int verify(const struct sign_trust *t, const void *d, size_t len, const uint8_t *der,
		  size_t der_len, const struct sign_verify_opts *o)
{
	memset(&e, 0, sizeof(e));
	return sign_verify(t, d, len, der, der_len, o, NULL, 0, &e);
}

/* A signer from spec under the trusted CA signs data; verification with opts gives want (0 or
 * rejected with a message containing frag). */
static void check_spec(const char *label, const struct cert_spec *s, X509 *issuer,
		       EVP_PKEY *ikey, const struct sign_verify_opts *o, const char *frag)
{
	struct sign_key *k = make_signer(label, s, issuer, ikey);
	uint8_t *der;
	size_t len;
	int r;

	sign(k, data, DATA_LEN, T0, &der, &len);
	r = verify(trust_ec, data, DATA_LEN, der, len, o);
	if (!frag) {
		ok(r == 0, "%s: accepted", label);
		if (r < 0)
			printf("#   %s\n", e.msg);
	} else {
		ok(r < 0, "%s: rejected (%d)", label, r);
		has_str(e.msg, frag, "%s: message names the reason", label);
	}
	free(der);
	sign_key_free(k);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (!f)
		return NULL;
	do {
		if (n == cap) {
			char *nb = realloc(buf, cap = cap ? 2 * cap : 4096);
			if (!nb)
				abort();
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	fclose(f);
	*len = n;
	return buf;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* ---- keys_generate (RSA-3072, whose keys the RSA tests reuse) ---- */

static const char *const gen_files[] = {"ca.key", "ca.crt", "signing.key", "signing.crt"};
static const unsigned gen_modes[] = {0600, 0644, 0600, 0644};

static void test_keygen(void)
{
	char *before[4], *after;
	size_t blen[4], alen;
	struct stat st;
	int r, same = 0;

	r = keys_generate(p("gen"), KEY_RSA3072, &e);
	is_int(r, 0, "keys_generate rsa-3072");
	if (r < 0)
		die("keys_generate");
	is_int(count_entries(p("gen")), 4, "keys_generate: 4 files");
	for (int i = 0; i < 4; i++) {
		char name[64];

		snprintf(name, sizeof(name), "gen/%s", gen_files[i]);
		r = lstat(p(name), &st);
		ok(r == 0 && S_ISREG(st.st_mode), "keys_generate: %s is a regular file", name);
		is_int(st.st_mode & 07777, gen_modes[i], "keys_generate: %s mode %o", name,
		       gen_modes[i]);
		before[i] = slurp(p(name), &blen[i]);
		if (!before[i])
			die(name);
		ok(blen[i] > 0 && memmem(before[i], blen[i], "-----BEGIN ", 11) != NULL,
		   "keys_generate: %s is PEM", name);
	}

	/* a second run refuses and touches nothing */
	memset(&e, 0, sizeof(e));
	r = keys_generate(p("gen"), KEY_RSA3072, &e);
	is_int(r, -EEXIST, "keys_generate again: EEXIST");
	has_str(e.msg, "exists", "keys_generate again: message");
	is_int(count_entries(p("gen")), 4, "keys_generate again: still 4 files");
	for (int i = 0; i < 4; i++) {
		char name[64];

		snprintf(name, sizeof(name), "gen/%s", gen_files[i]);
		after = slurp(p(name), &alen);
		if (after && alen == blen[i] && memcmp(after, before[i], alen) == 0)
			same++;
		else
			printf("#   %s changed\n", name);
		free(after);
		free(before[i]);
	}
	is_int(same, 4, "keys_generate again: the 4 files are byte-identical");

	/* one existing file is enough to refuse, and nothing else is created */
	{
		int fd;

		if (mkdir(p("gen2"), 0700) < 0)
			die("mkdir gen2");
		fd = open(p("gen2/signing.crt"), O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || write(fd, "mine\n", 5) != 5)
			die("gen2/signing.crt");
		close(fd);
		r = keys_generate(p("gen2"), KEY_ECDSA_P256, &e);
		is_int(r, -EEXIST, "keys_generate with signing.crt present: EEXIST");
		has_str(e.msg, "signing.crt", "keys_generate with signing.crt present: names it");
		is_int(count_entries(p("gen2")), 1, "keys_generate with signing.crt present: nothing "
						    "created");
		after = slurp(p("gen2/signing.crt"), &alen);
		ok(after && alen == 5 && memcmp(after, "mine\n", 5) == 0,
		   "keys_generate with signing.crt present: file untouched");
		free(after);
	}
	/* a dangling symlink counts as existing (never written through) */
	{
		if (mkdir(p("gen3"), 0700) < 0 || symlink(p("gen3-target"), p("gen3/ca.key")) < 0)
			die("gen3");
		r = keys_generate(p("gen3"), KEY_ECDSA_P256, &e);
		is_int(r, -EEXIST, "keys_generate with a dangling symlink ca.key: EEXIST");
		ok(access(p("gen3-target"), F_OK) < 0, "keys_generate: symlink target not created");
	}
	/* keys_write_key never overwrites */
	{
		EVP_PKEY *k = NULL;

		if (keys_new_key(KEY_ECDSA_P256, &k, &e) < 0)
			die("key");
		r = keys_write_key(p("gen/signing.key"), k, &e);
		is_int(r, -EEXIST, "keys_write_key over an existing key: EEXIST");
		r = keys_write_key(p("gen3/ca.key"), k, &e);
		ok(r < 0, "keys_write_key through a symlink refused");
		ok(access(p("gen3-target"), F_OK) < 0, "keys_write_key: symlink target not created");
		EVP_PKEY_free(k);
	}
}

static void test_tamper(const uint8_t *sig, size_t sig_len, const struct sign_trust *t,
			const char *kind);
static void test_cms_fields(const uint8_t *sig, size_t sig_len, const struct sign_trust *t,
			    const char *kind, bool leaks);

/* ---- RSA: round trip, determinism, the CA as a signer ---- */

static void test_rsa(void)
{
	const char *trust_path = p("gen/ca.crt");
	struct sign_key *k = NULL, *cak = NULL;
	uint8_t *a, *b, *c;
	size_t al, bl, cl;
	char signer[256] = "";
	int r;

	if (sign_trust_load(&trust_path, 1, &trust_rsa, &e) < 0)
		die("trust gen/ca.crt");
	r = sign_key_load(p("gen/signing.key"), p("gen/signing.crt"), &k, &e);
	is_int(r, 0, "rsa: sign_key_load");
	if (r < 0)
		die("sign_key_load");
	sign(k, data, DATA_LEN, T0, &a, &al);
	ok(al > 0 && a[0] == 0x30, "rsa: signature is a DER SEQUENCE (%zu bytes)", al);
	r = sign_verify(trust_rsa, data, DATA_LEN, a, al, NULL, signer, sizeof(signer), &e);
	is_int(r, 0, "rsa: round trip verifies");
	if (r < 0)
		printf("#   %s\n", e.msg);
	has_str(signer, "CN=stele signing", "rsa: signer subject returned");
	/* verified against the wrong trust store */
	r = verify(trust_ec, data, DATA_LEN, a, al, NULL);
	ok(r < 0, "rsa: rejected against another CA's trust store");
	has_str(e.msg, "certificate chain", "rsa: other trust store: message");

	sign(k, data, DATA_LEN, T0, &b, &bl);
	ok(al == bl && memcmp(a, b, al) == 0, "rsa: same data and time: byte-identical signatures");
	sign(k, data, DATA_LEN, T0 + 1, &c, &cl);
	ok(al != cl || memcmp(a, c, al) != 0, "rsa: another signing time: different signature");
	is_int(verify(trust_rsa, data, DATA_LEN, c, cl, NULL), 0,
	       "rsa: the other signing time verifies too");
	free(b);
	free(c);
	/* empty data can be signed */
	sign(k, "", 0, T0, &b, &bl);
	is_int(verify(trust_rsa, "", 0, b, bl, NULL), 0, "rsa: empty data round trip");
	ok(verify(trust_rsa, "x", 1, b, bl, NULL) < 0, "rsa: empty data's signature rejects \"x\"");
	free(b);

	/* the CA's own key and certificate as the signer */
	r = sign_key_load(p("gen/ca.key"), p("gen/ca.crt"), &cak, &e);
	is_int(r, 0, "rsa: CA key loads as a signing key");
	if (r == 0) {
		sign(cak, data, DATA_LEN, T0, &b, &bl);
		r = verify(trust_rsa, data, DATA_LEN, b, bl, NULL);
		ok(r < 0, "rsa: CA certificate used directly as the signer rejected");
		has_str(e.msg, "CA", "rsa: CA as signer: message");
		free(b);
		sign_key_free(cak);
	}

	/* the tampering tests use this RSA signature */
	test_cms_fields(a, al, trust_rsa, "rsa", true);
	test_tamper(a, al, trust_rsa, "rsa");
	free(a);
	sign_key_free(k);
}

/* ---- tampering ---- */

static int leak_check(void)
{
#ifdef __SANITIZE_ADDRESS__
	return __lsan_do_recoverable_leak_check();
#else
	return 0;
#endif
}

/* Named fields of the SignedData that are not covered by the signature itself. */
/* leaks: also check that nothing leaks (only meaningful while nothing has leaked yet) */
static void test_cms_fields(const uint8_t *sig, size_t sig_len, const struct sign_trust *t,
			    const char *kind, bool leaks)
{
	static const uint8_t oid_sha256[] = {0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
					     0x03, 0x04, 0x02, 0x01};
	static const uint8_t oid_data[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
					   0xf7, 0x0d, 0x01, 0x07, 0x01};
	uint8_t *s = malloc(sig_len), *at;
	int r, before, after;

	if (!s)
		abort();
	/* the first sha256 OID is SignedData.digestAlgorithms: an unknown digest there must be
	 * rejected, without leaking */
	memcpy(s, sig, sig_len);
	at = memmem(s, sig_len, oid_sha256, sizeof(oid_sha256));
	ok(at != NULL, "%s cms: digestAlgorithms found", kind);
	if (at) {
		at[sizeof(oid_sha256) - 1] = 0x00; /* 2.16.840.1.101.3.4.2.0: no such digest */
		before = leaks ? leak_check() : 0;
		r = verify(t, data, DATA_LEN, s, sig_len, NULL);
		after = leaks ? leak_check() : 0;
		ok(r < 0, "%s cms: unknown digest in digestAlgorithms rejected", kind);
		has_str(e.msg, "signature", "%s cms: unknown digest: message", kind);
		if (leaks)
			ok(!before && !after, "%s cms: rejecting an unknown digest leaks nothing "
					      "(leaks before %d, after %d)", kind, before, after);
	}
	/* the first id-data OID is encapContentInfo.eContentType; the signed contentType
	 * attribute still says id-data, and RFC 5652 11.1 requires them to match */
	memcpy(s, sig, sig_len);
	at = memmem(s, sig_len, oid_data, sizeof(oid_data));
	ok(at != NULL, "%s cms: eContentType found", kind);
	if (at) {
		at[sizeof(oid_data) - 1] = 0x02; /* id-signedData */
		r = verify(t, data, DATA_LEN, s, sig_len, NULL);
		ok(r < 0, "%s cms: eContentType id-signedData (contentType attribute id-data) "
			  "rejected", kind);
	}
	free(s);
}

static void test_tamper(const uint8_t *sig, size_t sig_len, const struct sign_trust *t,
			const char *kind)
{
	uint8_t *buf = malloc(sig_len + 64);
	char *d = malloc(DATA_LEN);
	static const size_t data_pos[] = {0, DATA_LEN / 2, DATA_LEN - 1};
	int r, rejected, accepted_at = -1;

	if (!buf || !d)
		abort();
	is_int(verify(t, data, DATA_LEN, sig, sig_len, NULL), 0, "%s tamper: original verifies",
	       kind);

	/* data changed by one byte */
	for (size_t i = 0; i < 3; i++) {
		memcpy(d, data, DATA_LEN);
		d[data_pos[i]] ^= 0x01;
		r = verify(t, d, DATA_LEN, sig, sig_len, NULL);
		ok(r < 0, "%s tamper: data byte %zu flipped: rejected", kind, data_pos[i]);
		has_str(e.msg, "does not match", "%s tamper: data byte %zu flipped: message", kind,
			data_pos[i]);
	}
	r = verify(t, data, DATA_LEN - 1, sig, sig_len, NULL);
	ok(r < 0, "%s tamper: data one byte shorter: rejected", kind);
	has_str(e.msg, "does not match", "%s tamper: data one byte shorter: message", kind);

	/* the signature changed by one byte, at every position (on a heap copy of the exact
	 * length, so ASan catches any read past it) */
	rejected = 0;
	for (size_t i = 0; i < sig_len; i++) {
		uint8_t *s = malloc(sig_len);

		if (!s)
			abort();
		memcpy(s, sig, sig_len);
		s[i] ^= (uint8_t)(i % 2 ? 0x80 : 0x01);
		r = verify(t, data, DATA_LEN, s, sig_len, NULL);
		if (r < 0 && e.msg[0])
			rejected++;
		else if (accepted_at < 0)
			accepted_at = (int)i;
		if (r == 0)
			printf("#   %s: signature byte %zu (0x%02x -> 0x%02x) changed: accepted\n",
			       kind, i, sig[i], s[i]);
		free(s);
	}
	is_int(rejected, sig_len, "%s tamper: every one of the %zu signature bytes changed: "
				  "rejected (first accepted at %d)",
	       kind, sig_len, accepted_at);
	/* the last bytes are the signature value itself */
	for (size_t i = sig_len - 3; i < sig_len; i++) {
		memcpy(buf, sig, sig_len);
		buf[i] ^= 0xff;
		r = verify(t, data, DATA_LEN, buf, sig_len, NULL);
		ok(r < 0, "%s tamper: signature value byte %zu changed: rejected", kind, i);
		has_str(e.msg, "signature", "%s tamper: signature value byte %zu: message", kind, i);
	}

	/* truncated signatures: every length 0..60, then larger cuts */
	rejected = 0;
	for (size_t n = 0; n <= 60; n++) {
		uint8_t *s = malloc(n ? n : 1);

		if (!s)
			abort();
		memcpy(s, sig, n);
		r = verify(t, data, DATA_LEN, s, n, NULL);
		if (r < 0 && strstr(e.msg, "signature"))
			rejected++;
		else
			printf("#   %s: truncated to %zu: %d \"%s\"\n", kind, n, r, e.msg);
		free(s);
	}
	is_int(rejected, 61, "%s tamper: truncated to every length 0..60: rejected", kind);
	{
		const size_t cuts[] = {sig_len / 4, sig_len / 2, sig_len - 100, sig_len - 10,
				       sig_len - 2, sig_len - 1};

		for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
			uint8_t *s = malloc(cuts[i]);

			if (!s)
				abort();
			memcpy(s, sig, cuts[i]);
			r = verify(t, data, DATA_LEN, s, cuts[i], NULL);
			ok(r < 0, "%s tamper: truncated to %zu of %zu bytes: rejected", kind,
			   cuts[i], sig_len);
			has_str(e.msg, "signature", "%s tamper: truncated to %zu: message", kind,
				cuts[i]);
			free(s);
		}
	}
	/* trailing garbage after the DER */
	memcpy(buf, sig, sig_len);
	buf[sig_len] = 0;
	r = verify(t, data, DATA_LEN, buf, sig_len + 1, NULL);
	ok(r < 0, "%s tamper: a trailing byte after the DER: rejected", kind);
	has_str(e.msg, "DER", "%s tamper: trailing byte: message", kind);
	free(buf);
	free(d);
}

static void test_garbage(void)
{
	static const uint8_t seq_int[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	static const uint8_t huge_len[] = {0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x06, 0x09};
	static const uint8_t indef[] = {0x30, 0x80, 0x00, 0x00};
	/* a CMS ContentInfo of type "data" (1.2.840.113549.1.7.1) */
	static const uint8_t cms_data[] = {0x30, 0x13, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
					   0x0d, 0x01, 0x07, 0x01, 0xa0, 0x06, 0x04, 0x04, 'a',
					   'b',  'c',  'd'};
	uint8_t rnd[512], *certder = NULL;
	int r, n;

	r = verify(trust_ec, data, DATA_LEN, seq_int, sizeof(seq_int), NULL);
	ok(r < 0, "garbage: SEQUENCE { INTEGER 1 } rejected");
	has_str(e.msg, "signature", "garbage: SEQUENCE { INTEGER 1 }: message");
	r = verify(trust_ec, data, DATA_LEN, huge_len, sizeof(huge_len), NULL);
	ok(r < 0, "garbage: SEQUENCE with a 2 GiB length rejected");
	has_str(e.msg, "signature", "garbage: 2 GiB length: message");
	r = verify(trust_ec, data, DATA_LEN, indef, sizeof(indef), NULL);
	ok(r < 0, "garbage: empty indefinite-length SEQUENCE rejected");
	r = verify(trust_ec, data, DATA_LEN, cms_data, sizeof(cms_data), NULL);
	ok(r < 0, "garbage: CMS of type data (not SignedData) rejected");
	has_str(e.msg, "SignedData", "garbage: CMS data: message");
	srand(42);
	for (size_t i = 0; i < sizeof(rnd); i++)
		rnd[i] = (uint8_t)rand();
	r = verify(trust_ec, data, DATA_LEN, rnd, sizeof(rnd), NULL);
	ok(r < 0, "garbage: 512 random bytes rejected");
	has_str(e.msg, "not a DER CMS", "garbage: random bytes: message");
	rnd[0] = 0x30;
	rnd[1] = 0x82;
	rnd[2] = 0x01;
	rnd[3] = 0xfc; /* a SEQUENCE of 508 random bytes */
	r = verify(trust_ec, data, DATA_LEN, rnd, sizeof(rnd), NULL);
	ok(r < 0, "garbage: SEQUENCE of random bytes rejected");
	has_str(e.msg, "signature", "garbage: SEQUENCE of random bytes: message");
	memset(rnd, 0, sizeof(rnd));
	r = verify(trust_ec, data, DATA_LEN, rnd, sizeof(rnd), NULL);
	ok(r < 0, "garbage: zeros rejected");
	/* a certificate is DER but not CMS */
	n = i2d_X509(ca_cert, &certder);
	if (n <= 0)
		die("i2d_X509");
	r = verify(trust_ec, data, DATA_LEN, certder, (size_t)n, NULL);
	ok(r < 0, "garbage: a DER certificate rejected");
	has_str(e.msg, "signature", "garbage: DER certificate: message");
	OPENSSL_free(certder);
}

/* ---- ECDSA ---- */

static void test_ecdsa(void)
{
	struct cert_spec s = leaf_spec("ec signer");
	struct sign_key *k = make_signer("ec-signer", &s, ca_cert, ca_key);
	uint8_t *a, *b;
	size_t al, bl;
	char signer[256] = "";
	int r;

	sign(k, data, DATA_LEN, T0, &a, &al);
	r = sign_verify(trust_ec, data, DATA_LEN, a, al, NULL, signer, sizeof(signer), &e);
	is_int(r, 0, "ecdsa: round trip verifies");
	if (r < 0)
		printf("#   %s\n", e.msg);
	has_str(signer, "CN=ec signer", "ecdsa: signer subject returned");
	sign(k, data, DATA_LEN, T0, &b, &bl);
	is_int(verify(trust_ec, data, DATA_LEN, b, bl, NULL), 0,
	       "ecdsa: a second signature of the same data verifies too");
	r = verify(trust_rsa, data, DATA_LEN, a, al, NULL);
	ok(r < 0, "ecdsa: rejected against the RSA CA's trust store");
	has_str(e.msg, "certificate chain", "ecdsa: other trust store: message");
	test_cms_fields(a, al, trust_ec, "ecdsa", false);
	test_tamper(a, al, trust_ec, "ecdsa");
	free(a);
	free(b);
	sign_key_free(k);
}

/* ---- certificates that must be refused, and those that must not ---- */

static void test_certs(void)
{
	struct sign_verify_opts notime = {.no_time_check = true};
	struct sign_verify_opts in_window = {.at_time = now - YEAR - YEAR / 2};
	struct sign_verify_opts future = {.at_time = now + 2 * YEAR};
	struct cert_spec s;

	/* a CA that is not in the trust store */
	s = leaf_spec("foreign");
	check_spec("signer from an untrusted CA", &s, ca2_cert, ca2_key, NULL, "certificate chain");
	check_spec("signer from an untrusted CA, no time check", &s, ca2_cert, ca2_key, &notime,
		   "certificate chain");
	/* an untrusted CA with the same name as the trusted one */
	s = leaf_spec("impostor");
	check_spec("signer from an untrusted CA named like the trusted one", &s, ca2same_cert,
		   ca2same_key, NULL, "certificate chain");
	/* self-signed leaf */
	s = leaf_spec("self-signed");
	check_spec("self-signed signer", &s, NULL, NULL, NULL, "certificate chain");

	/* validity */
	s = leaf_spec("expired");
	s.not_before = now - 2 * YEAR;
	s.not_after = now - YEAR;
	check_spec("expired", &s, ca_cert, ca_key, NULL, "certificate chain");
	check_spec("expired, message says expired", &s, ca_cert, ca_key, NULL, "expired");
	check_spec("expired, with no_time_check", &s, ca_cert, ca_key, &notime, NULL);
	check_spec("expired, at_time inside its validity", &s, ca_cert, ca_key, &in_window, NULL);
	check_spec("expired, at_time after it", &s, ca_cert, ca_key, &future, "certificate chain");
	s = leaf_spec("not yet valid");
	s.not_before = now + YEAR;
	s.not_after = now + 3 * YEAR;
	check_spec("not yet valid", &s, ca_cert, ca_key, NULL, "certificate chain");
	check_spec("not yet valid, message says so", &s, ca_cert, ca_key, NULL, "not yet valid");
	check_spec("not yet valid, with no_time_check", &s, ca_cert, ca_key, &notime, NULL);
	check_spec("not yet valid, at_time inside its validity", &s, ca_cert, ca_key, &future,
		   NULL);

	/* purpose */
	s = leaf_spec("server");
	s.ext_key_usage = "serverAuth";
	check_spec("EKU serverAuth", &s, ca_cert, ca_key, NULL, "extended key usage");
	s = leaf_spec("server-client");
	s.ext_key_usage = "serverAuth,clientAuth";
	check_spec("EKU serverAuth,clientAuth", &s, ca_cert, ca_key, NULL, "extended key usage");
	s = leaf_spec("certsign");
	s.key_usage = "critical,keyCertSign";
	check_spec("key usage keyCertSign only", &s, ca_cert, ca_key, NULL, "key usage");
	check_spec("key usage keyCertSign only, names digitalSignature", &s, ca_cert, ca_key, NULL,
		   "digitalSignature");
	s = leaf_spec("keyenc");
	s.key_usage = "critical,keyEncipherment";
	check_spec("key usage keyEncipherment only", &s, ca_cert, ca_key, NULL, "key usage");
	/* a CA certificate issued by the trusted CA, used as the signer */
	s = ca_spec("sub CA");
	check_spec("intermediate CA certificate as the signer", &s, ca_cert, ca_key, NULL, "CA");
	s = ca_spec("sub CA with digitalSignature");
	s.key_usage = "critical,keyCertSign,digitalSignature";
	check_spec("CA certificate with digitalSignature as the signer", &s, ca_cert, ca_key, NULL,
		   "CA");

	s = leaf_spec("codesign");
	s.ext_key_usage = "codeSigning";
	check_spec("EKU codeSigning", &s, ca_cert, ca_key, NULL, NULL);
	s = leaf_spec("email");
	s.ext_key_usage = "emailProtection";
	check_spec("EKU emailProtection", &s, ca_cert, ca_key, NULL, NULL);
	s = leaf_spec("no-eku");
	check_spec("no EKU", &s, ca_cert, ca_key, NULL, NULL);
	s = leaf_spec("server-codesign");
	s.ext_key_usage = "serverAuth,codeSigning";
	check_spec("EKU serverAuth,codeSigning", &s, ca_cert, ca_key, NULL, NULL);
	s = leaf_spec("any-eku");
	s.ext_key_usage = "anyExtendedKeyUsage";
	check_spec("EKU anyExtendedKeyUsage", &s, ca_cert, ca_key, NULL, NULL);
	s = leaf_spec("ds-noncritical");
	s.key_usage = "digitalSignature,nonRepudiation";
	check_spec("key usage digitalSignature,nonRepudiation (not critical)", &s, ca_cert, ca_key,
		   NULL, NULL);
}

/* ---- hostile signer certificates made by openssl(1), issued by the trusted CA ---- */

/* label.key and label.crt: a P-256 key, its CSR, and a certificate from the trusted CA with
 * the extensions in ext (NULL: none, which openssl x509 -req makes a v1 certificate). */
static int openssl_signer(const char *label, const char *ext, int serial)
{
	char cmd[4 * PATH_MAX + 512], extp[PATH_MAX];
	FILE *f;

	snprintf(extp, sizeof(extp), "%s/%s.ext", tmp, label);
	if (ext) {
		f = fopen(extp, "w");
		if (!f)
			return -1;
		fprintf(f, "%s\n", ext);
		fclose(f);
	}
	snprintf(cmd, sizeof(cmd),
		 "(cd '%s' && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
		 "-out '%s.key' && openssl req -new -key '%s.key' -subj '/CN=%s' -out '%s.csr' && "
		 "openssl x509 -req -in '%s.csr' -CA ec-ca.crt -CAkey ec-ca.key -set_serial %d "
		 "-days 30 -out '%s.crt' %s%s%s) >/dev/null 2>&1",
		 tmp, label, label, label, label, label, serial, label, ext ? "-extfile '" : "",
		 ext ? extp : "", ext ? "'" : "");
	return system(cmd) == 0 ? 0 : -1;
}

static void check_openssl_signer(const char *label, const char *ext, int serial,
				 const char *frag)
{
	char kp[PATH_MAX], cp[PATH_MAX];
	struct sign_key *k = NULL;
	uint8_t *der;
	size_t len;
	int r;

	snprintf(kp, sizeof(kp), "%s/%s.key", tmp, label);
	snprintf(cp, sizeof(cp), "%s/%s.crt", tmp, label);
	if (openssl_signer(label, ext, serial) < 0 || sign_key_load(kp, cp, &k, &e) < 0) {
		ok(0, "openssl: %s: made and loaded (%s)", label, e.msg);
		return;
	}
	sign(k, data, DATA_LEN, T0, &der, &len);
	r = verify(trust_ec, data, DATA_LEN, der, len, NULL);
	if (!frag) {
		ok(r == 0, "openssl: %s: accepted", label);
		if (r < 0)
			printf("#   %s\n", e.msg);
	} else {
		ok(r < 0, "openssl: %s: rejected (%d)", label, r);
		has_str(e.msg, frag, "openssl: %s: message names the reason", label);
	}
	free(der);
	sign_key_free(k);
}

static void test_openssl_certs(void)
{
	if (system("openssl version >/dev/null 2>&1") != 0) {
		printf("ok %d # SKIP openssl missing\n", ++tap_n);
		return;
	}
	if (keys_write_key(p("ec-ca.key"), ca_key, &e) < 0)
		die("ec-ca.key");
	check_openssl_signer("v1", NULL, 101, "X.509 v1, not v3");
	check_openssl_signer("v3 without key usage", "subjectKeyIdentifier=hash", 102,
			     "no key usage extension");
	check_openssl_signer("v3 basicConstraints only", "basicConstraints=CA:FALSE", 103,
			     "no key usage extension");
	check_openssl_signer("CA:TRUE signer",
			     "basicConstraints=critical,CA:TRUE\nkeyUsage=digitalSignature,keyCertSign",
			     104, "CA certificate");
	check_openssl_signer("CA:TRUE without key usage", "basicConstraints=CA:TRUE", 105,
			     "CA certificate");
	check_openssl_signer("EKU serverAuth",
			     "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth", 106,
			     "extended key usage");
	check_openssl_signer("EKU timeStamping",
			     "keyUsage=critical,digitalSignature\nextendedKeyUsage=timeStamping", 107,
			     "extended key usage");
	check_openssl_signer("key usage keyAgreement only", "keyUsage=critical,keyAgreement", 108,
			     "digitalSignature");
	/* the controls: what stele keygen issues, and the same with the code-signing EKU */
	check_openssl_signer("digitalSignature, no EKU",
			     "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature", 109,
			     NULL);
	check_openssl_signer("digitalSignature, EKU codeSigning",
			     "keyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning", 110,
			     NULL);
}

/* ---- loading keys and trust stores ---- */

static void test_load(void)
{
	struct sign_key *k = NULL;
	struct sign_trust *t = NULL;
	const char *paths[2];
	int r;

	r = sign_key_load(p("nonexistent.key"), p("gen/signing.crt"), &k, &e);
	ok(r < 0 && !k, "sign_key_load: missing key file rejected");
	has_str(e.msg, "nonexistent.key", "sign_key_load: missing key: names the file");
	r = sign_key_load(p("gen/signing.key"), p("nonexistent.crt"), &k, &e);
	ok(r < 0 && !k, "sign_key_load: missing certificate file rejected");
	has_str(e.msg, "nonexistent.crt", "sign_key_load: missing certificate: names the file");
	r = sign_key_load(p("gen/signing.crt"), p("gen/signing.crt"), &k, &e);
	ok(r < 0 && !k, "sign_key_load: a certificate as the key rejected");
	has_str(e.msg, "private key", "sign_key_load: certificate as key: message");
	r = sign_key_load(p("gen/signing.key"), p("gen/signing.key"), &k, &e);
	ok(r < 0 && !k, "sign_key_load: a key as the certificate rejected");
	has_str(e.msg, "certificate", "sign_key_load: key as certificate: message");
	/* key and certificate that do not belong together: RSA/RSA and ECDSA/RSA */
	r = sign_key_load(p("gen/ca.key"), p("gen/signing.crt"), &k, &e);
	ok(r < 0 && !k, "sign_key_load: CA key with the signing certificate rejected");
	has_str(e.msg, "gen/ca.key", "sign_key_load: mismatch: names the key");
	has_str(e.msg, "gen/signing.crt", "sign_key_load: mismatch: names the certificate");
	r = sign_key_load(p("ec-signer.key"), p("gen/signing.crt"), &k, &e);
	ok(r < 0 && !k, "sign_key_load: ECDSA key with an RSA certificate rejected");
	has_str(e.msg, "ec-signer.key", "sign_key_load: ECDSA/RSA mismatch: names the key");
	has_str(e.msg, "gen/signing.crt", "sign_key_load: ECDSA/RSA mismatch: names the cert");
	sign_key_free(k);

	/* trust stores */
	paths[0] = p("nonexistent-ca.crt");
	r = sign_trust_load(paths, 1, &t, &e);
	ok(r < 0 && !t, "sign_trust_load: missing file rejected");
	has_str(e.msg, "nonexistent-ca.crt", "sign_trust_load: missing file: names it");
	paths[0] = p("gen/signing.key");
	r = sign_trust_load(paths, 1, &t, &e);
	ok(r < 0 && !t, "sign_trust_load: a private key file (no certificate) rejected");
	has_str(e.msg, "no PEM certificate", "sign_trust_load: no certificate: message");
	has_str(e.msg, "gen/signing.key", "sign_trust_load: no certificate: names the file");
	{
		FILE *f = fopen(p("text.pem"), "w");

		if (!f)
			die("text.pem");
		fputs("just some text\n-----BEGIN CERTIFICATE-----\nnot base64!\n", f);
		fclose(f);
	}
	paths[0] = p("text.pem");
	r = sign_trust_load(paths, 1, &t, &e);
	ok(r < 0 && !t, "sign_trust_load: a text file rejected");
	has_str(e.msg, "no PEM certificate", "sign_trust_load: text file: message");
	r = sign_trust_load(paths, 0, &t, &e);
	ok(r < 0 && !t, "sign_trust_load: no files rejected");
	has_str(e.msg, "empty", "sign_trust_load: no files: message");
	/* a good file, then a bad one: the whole load fails */
	paths[0] = p("ec-ca.crt");
	paths[1] = p("text.pem");
	r = sign_trust_load(paths, 2, &t, &e);
	ok(r < 0 && !t, "sign_trust_load: one bad file of two rejected");
	has_str(e.msg, "text.pem", "sign_trust_load: one bad file: names it");

	/* a PEM file with two CA certificates: both trusted */
	{
		size_t l1, l2;
		char *c1 = slurp(p("ec-ca.crt"), &l1), *c2 = slurp(p("ca2.crt"), &l2);
		FILE *f = fopen(p("two-cas.pem"), "w");
		struct cert_spec s1 = leaf_spec("under ca1"), s2 = leaf_spec("under ca2");
		struct sign_key *k1 = make_signer("under-ca1", &s1, ca_cert, ca_key);
		struct sign_key *k2 = make_signer("under-ca2", &s2, ca2_cert, ca2_key);
		uint8_t *d1, *d2;
		size_t n1, n2;

		if (!c1 || !c2 || !f || fwrite(c1, 1, l1, f) != l1 || fputs("\n", f) < 0 ||
		    fwrite(c2, 1, l2, f) != l2 || fclose(f) != 0)
			die("two-cas.pem");
		free(c1);
		free(c2);
		sign(k1, data, DATA_LEN, T0, &d1, &n1);
		sign(k2, data, DATA_LEN, T0, &d2, &n2);
		paths[0] = p("two-cas.pem");
		r = sign_trust_load(paths, 1, &t, &e);
		is_int(r, 0, "sign_trust_load: a file with two CA certificates");
		if (r == 0) {
			is_int(verify(t, data, DATA_LEN, d1, n1, NULL), 0,
			       "two CAs: signer under the first accepted");
			is_int(verify(t, data, DATA_LEN, d2, n2, NULL), 0,
			       "two CAs: signer under the second accepted");
			sign_trust_free(t);
			t = NULL;
		}
		/* and the same as two files */
		paths[0] = p("ca2.crt");
		paths[1] = p("ec-ca.crt");
		r = sign_trust_load(paths, 2, &t, &e);
		is_int(r, 0, "sign_trust_load: two files");
		if (r == 0) {
			is_int(verify(t, data, DATA_LEN, d1, n1, NULL), 0,
			       "two files: signer under the second file's CA accepted");
			is_int(verify(t, data, DATA_LEN, d2, n2, NULL), 0,
			       "two files: signer under the first file's CA accepted");
			sign_trust_free(t);
			t = NULL;
		}
		/* ca1 alone does not trust ca2's signer */
		r = verify(trust_ec, data, DATA_LEN, d2, n2, NULL);
		ok(r < 0, "one CA: signer under the other rejected");
		free(d1);
		free(d2);
		sign_key_free(k1);
		sign_key_free(k2);
	}
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(void)
{
	const char *t = getenv("TMPDIR");
	const char *ec_path;
	int r;

	snprintf(tmp, sizeof(tmp), "%s/stele-test-sign.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmp))
		die("mkdtemp");
	now = (int64_t)time(NULL);

	make_ca("test CA", &ca_key, &ca_cert, "ec-ca.crt");
	make_ca("other CA", &ca2_key, &ca2_cert, "ca2.crt");
	make_ca("test CA", &ca2same_key, &ca2same_cert, "ca2-same-name.crt");
	ec_path = p("ec-ca.crt");
	if (sign_trust_load(&ec_path, 1, &trust_ec, &e) < 0)
		die("trust ec-ca.crt");

	test_keygen();
	test_rsa();
	test_ecdsa();
	test_garbage();
	test_certs();
	test_openssl_certs();
	test_load();

	sign_trust_free(trust_ec);
	sign_trust_free(trust_rsa);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(ca2_key);
	EVP_PKEY_free(ca2same_key);
	X509_free(ca_cert);
	X509_free(ca2_cert);
	X509_free(ca2same_cert);
	if (nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		die("cleanup");
	r = tap_done();
	fflush(stdout); /* LeakSanitizer ends the process with _exit: keep the plan line */
	return r;
}
