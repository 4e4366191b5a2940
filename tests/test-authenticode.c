/* Unit tests of lib/authenticode.c with sbsign and sbverify (sbsigntool) as the independent
 * oracles: systemd's EFI stub signed by a fresh key verifies against its certificate and
 * against the CA that issued it, not against another; the digest it signs is the one computed
 * here; a byte changed in a section, in the headers or in the signature is refused (and
 * sbverify agrees), a change to the checksum field is not (Authenticode leaves it out);
 * hostile headers (offsets past the end, too many sections, a certificate table that is not
 * at the end, a WIN_CERTIFICATE longer than its table) give errors, never a crash. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/fileutil.h"
#include "lib/authenticode.h"
#include "lib/le.h"
#include "tap.h"

#define STUB "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"

static char dir[] = "/tmp/stele-test-authenticode-XXXXXX";

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static X509 *load_cert(const char *name)
{
	char p[4096];
	FILE *f;
	X509 *c;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "re");
	c = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	return c;
}

static uint8_t *load(const char *name, size_t *len)
{
	char p[4096], *b = NULL;
	struct err e = {{0}};

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (file_read_all(p, 64 << 20, &b, len, &e) < 0)
		return NULL;
	return (uint8_t *)b;
}

static void save(const char *name, const uint8_t *b, size_t len)
{
	char p[4096];
	struct err e = {{0}};

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (file_write(p, b, len, &e) < 0)
		abort();
}

static int verify(const uint8_t *b, size_t len, X509 *c, struct err *e)
{
	X509 *t[1] = {c};

	return authenticode_verify(b, len, t, 1, NULL, 0, e);
}

static bool sbverify(const char *name, const char *cert)
{
	return sh("sbverify --cert %s/%s %s/%s >/dev/null 2>&1", dir, cert, dir, name) == 0;
}

/* a copy of the image with byte at flipped */
static uint8_t *flipped(const uint8_t *b, size_t len, size_t at)
{
	uint8_t *c = malloc(len);

	memcpy(c, b, len);
	c[at] ^= 0xff;
	return c;
}

static void test_tamper(const uint8_t *img, size_t len, X509 *db)
{
	struct pe_layout l;
	struct err e = {{0}};
	uint8_t *c;
	size_t pe = le_get(img + 0x3c, 4), sec = pe + 24 + le_get(img + pe + 20, 2);
	size_t text = le_get(img + sec + 20, 4) + 100;

	ok(pe_layout(img, len, &l, &e) == 0, "the signed stub's layout");
	c = flipped(img, len, text);
	save("t.efi", c, len);
	ok(verify(c, len, db, &e) == -EBADMSG && strstr(e.msg, "digest differs"),
	   "a byte changed in the first section: %s", e.msg);
	ok(!sbverify("t.efi", "db.crt"), "  sbverify refuses it too");
	free(c);
	c = flipped(img, len, pe + 8); /* TimeDateStamp */
	save("t.efi", c, len);
	ok(verify(c, len, db, &e) == -EBADMSG, "a byte changed in the COFF header: %s", e.msg);
	ok(!sbverify("t.efi", "db.crt"), "  sbverify refuses it too");
	free(c);
	c = flipped(img, len, l.checksum);
	save("t.efi", c, len);
	ok(verify(c, len, db, &e) == 0, "the checksum field changed: still valid%s", e.msg);
	ok(sbverify("t.efi", "db.crt"), "  sbverify agrees");
	free(c);
	c = flipped(img, len, len - 40); /* inside the signer's signature value */
	save("t.efi", c, len);
	ok(verify(c, len, db, &e) < 0, "a byte changed in the signature: %s", e.msg);
	ok(!sbverify("t.efi", "db.crt"), "  sbverify refuses it too");
	free(c);
}

static void test_hostile(const uint8_t *img, size_t len, X509 *db)
{
	struct pe_layout l;
	struct err e = {{0}};
	uint8_t *c;
	size_t pe = le_get(img + 0x3c, 4);

	if (pe_layout(img, len, &l, &e) < 0)
		return;
	for (size_t cut = 0; cut < len; cut += cut < 4096 ? 61 : len / 7) {
		int r = verify(img, cut, db, &e);
		if (r == 0 || r != -EINVAL) {
			ok(false, "the first %zu bytes: %d %s", cut, r, e.msg);
			return;
		}
	}
	ok(true, "every truncation is refused as malformed");
	c = malloc(len);
	memcpy(c, img, len);
	le_put(c + 0x3c, len, 4);
	ok(verify(c, len, db, &e) == -EINVAL && strstr(e.msg, "no PE signature"),
	   "e_lfanew past the end: %s", e.msg);
	memcpy(c, img, len);
	le_put(c + pe + 6, 0xffff, 2);
	ok(verify(c, len, db, &e) == -EINVAL && strstr(e.msg, "section table"),
	   "65535 sections: %s", e.msg);
	memcpy(c, img, len);
	le_put(c + pe + 20, 0xfff0, 2);
	ok(verify(c, len, db, &e) == -EINVAL, "an optional header past the end: %s", e.msg);
	memcpy(c, img, len);
	le_put(c + l.cert_dir, l.cert_off - 8, 4);
	ok(verify(c, len, db, &e) == -EINVAL && strstr(e.msg, "not at the file's end"),
	   "a certificate table before the file's end: %s", e.msg);
	memcpy(c, img, len);
	le_put(c + l.cert_dir + 4, 0xfffffff0, 4);
	ok(verify(c, len, db, &e) == -EINVAL, "a certificate table larger than the file: %s",
	   e.msg);
	memcpy(c, img, len);
	le_put(c + l.cert_off, (uint32_t)l.cert_size + 8, 4);
	ok(verify(c, len, db, &e) == -EINVAL && strstr(e.msg, "WIN_CERTIFICATE"),
	   "a WIN_CERTIFICATE longer than its table: %s", e.msg);
	memcpy(c, img, len);
	c[l.cert_off + 6] = 0x01; /* X.509 type, not PKCS#7 */
	ok(verify(c, len, db, &e) == -EPERM && strstr(e.msg, "no PKCS#7"),
	   "a certificate of another type: %s", e.msg);
	memcpy(c, img, len);
	memset(c + l.cert_off + 8, 0x30, l.cert_size - 8);
	ok(verify(c, len, db, &e) < 0 && strstr(e.msg, "not PKCS#7"),
	   "garbage in place of the signature: %s", e.msg);
	memcpy(c, img, len);
	le_put(c + l.cert_dir, 0, 4);
	le_put(c + l.cert_dir + 4, 0, 4);
	ok(verify(c, l.cert_off, db, &e) == -EPERM && strstr(e.msg, "not signed"),
	   "the signature removed: %s", e.msg);
	free(c);
}

int main(void)
{
	struct err e = {{0}};
	uint8_t *img, dg[32];
	size_t len = 0;
	struct pe_layout l;
	X509 *db, *other, *ca;
	char signer[256] = "";

	if (access(STUB, R_OK) != 0 || system("command -v sbsign sbverify >/dev/null") != 0) {
		printf("1..0 # SKIP no %s or sbsigntool\n", STUB);
		return 0;
	}
	if (!mkdtemp(dir))
		abort();
	/* db and another key, self-signed; a leaf issued by a CA (the CA in db) */
	if (sh("cd %s && for k in db other ca; do openssl req -new -x509 -newkey rsa:2048 -nodes "
	       "-subj /CN=test-$k -days 30 -keyout $k.key -out $k.crt 2>/dev/null || exit 1; done "
	       "&& openssl req -new -newkey rsa:2048 -nodes -subj /CN=test-leaf -keyout leaf.key "
	       "-out leaf.csr 2>/dev/null && openssl x509 -req -in leaf.csr -CA ca.crt -CAkey "
	       "ca.key -set_serial 7 -days 30 -out leaf.crt 2>/dev/null && "
	       "sbsign --key db.key --cert db.crt --output s.efi %s 2>/dev/null && "
	       "sbsign --key leaf.key --cert leaf.crt --output leaf.efi %s 2>/dev/null",
	       dir, STUB, STUB) != 0) {
		printf("Bail out! cannot make keys or sign the stub\n");
		return 1;
	}
	db = load_cert("db.crt");
	other = load_cert("other.crt");
	ca = load_cert("ca.crt");
	img = load("s.efi", &len);
	ok(img && db && other && ca, "the stub, signed by sbsign, and three certificates");
	if (!img)
		return 1;

	ok(pe_layout(img, len, &l, &e) == 0 && l.cert_size > 0 && l.cert_off + l.cert_size == len,
	   "its certificate table ends the file%s", e.msg);
	ok(authenticode_digest(img, len, &l, dg, &e) == 0 && memmem(img + l.cert_off, l.cert_size,
								    dg, 32),
	   "the digest computed here is the one sbsign signed");
	ok(authenticode_verify(img, len, &db, 1, signer, sizeof(signer), &e) == 0 &&
		   strstr(signer, "CN=test-db"),
	   "verifies against its certificate (signer %s)%s", signer, e.msg);
	ok(sbverify("s.efi", "db.crt"), "  sbverify agrees");
	ok(verify(img, len, other, &e) == -EPERM && strstr(e.msg, "CN=test-db"),
	   "not against another: %s", e.msg);
	ok(!sbverify("s.efi", "other.crt"), "  sbverify agrees");
	X509 *both[2] = {other, db};
	ok(authenticode_verify(img, len, both, 2, NULL, 0, &e) == 0,
	   "a db of two certificates, the second the signer's");

	size_t llen = 0;
	uint8_t *leaf = load("leaf.efi", &llen);
	ok(leaf && verify(leaf, llen, ca, &e) == 0, "signed by a leaf the CA in db issued%s",
	   e.msg);
	ok(leaf && verify(leaf, llen, other, &e) == -EPERM, "  not by another CA: %s", e.msg);
	free(leaf);

	size_t ulen = 0;
	char *unsigned_stub = NULL;
	ok(file_read_all(STUB, 64 << 20, &unsigned_stub, &ulen, &e) == 0 &&
		   verify((uint8_t *)unsigned_stub, ulen, db, &e) == -EPERM &&
		   strstr(e.msg, "not signed"),
	   "the unsigned stub: %s", e.msg);
	free(unsigned_stub);

	test_tamper(img, len, db);
	test_hostile(img, len, db);

	free(img);
	X509_free(db);
	X509_free(other);
	X509_free(ca);
	sh("rm -rf %s", dir);
	return tap_done();
}
