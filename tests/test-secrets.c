/* builder/secrets.c: every rule finds its secret (keys made by OpenSSL here, tokens of the
 * documented shapes), at the right offset, whatever the pieces the bytes arrive in; the
 * look-alikes a Debian tree is full of (armour headers alone, public keys, certificates,
 * documentation examples, unsigned tokens, words such as password=) are no hit; the allow
 * list, the package keys everyone has and the verdict. */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include "builder/secrets.h"
#include "tap.h"

struct sample {
	const char *what;
	uint8_t *buf;
	size_t len;
	int rule; /* -1: must not be found */
	size_t offset;
};

static struct sample samples[80];
static size_t nsamples;

static void add(const char *what, const void *buf, size_t len, int rule, size_t offset)
{
	struct sample *s = &samples[nsamples++];

	s->what = what;
	s->buf = malloc(len ? len : 1);
	memcpy(s->buf, buf, len);
	s->len = len;
	s->rule = rule;
	s->offset = offset;
}

static void add_str(const char *what, const char *text, int rule, size_t offset)
{
	add(what, text, strlen(text), rule, offset);
}

/* text with the secret after a prefix, so that the offset is not 0 */
static void add_in(const char *what, const char *prefix, const char *secret, const char *suffix,
		   int rule)
{
	char *t;

	if (asprintf(&t, "%s%s%s", prefix, secret, suffix) < 0)
		abort();
	add_str(what, t, rule, strlen(prefix));
	free(t);
}

static char *bio_text(BIO *b, size_t *len)
{
	char *data, *out;
	long n = BIO_get_mem_data(b, &data);

	out = malloc((size_t)n + 1);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	*len = (size_t)n;
	BIO_free(b);
	return out;
}

static void key_samples(void)
{
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	BIO *b;
	char *t;
	size_t n;
	uint8_t *der = NULL;
	int dn;

	/* PEM: PKCS#8, traditional RSA and EC, encrypted PKCS#8, after other text */
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(b, ed, NULL, NULL, 0, NULL, NULL);
	t = bio_text(b, &n);
	add("PEM PKCS#8 Ed25519 key", t, n, SECRET_PEM_KEY, 0);
	add_in("PEM key after config text", "[tls]\ncert = /etc/x.crt\n", t, "", SECRET_PEM_KEY);
	free(t);
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey_traditional(b, rsa, NULL, NULL, 0, NULL, NULL);
	t = bio_text(b, &n);
	add("PEM RSA key, traditional", t, n, SECRET_PEM_KEY, 0);
	free(t);
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey_traditional(b, ec, NULL, NULL, 0, NULL, NULL);
	t = bio_text(b, &n);
	add("PEM EC key, traditional", t, n, SECRET_PEM_KEY, 0);
	free(t);
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PKCS8PrivateKey(b, rsa, EVP_aes_256_cbc(), NULL, 0, NULL, (void *)"pw");
	t = bio_text(b, &n);
	add("PEM encrypted PKCS#8 key", t, n, SECRET_PEM_KEY, 0);
	free(t);
	/* a public key and a certificate request: the same armour, not secret */
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(b, rsa);
	t = bio_text(b, &n);
	add("PEM PUBLIC KEY", t, n, -1, 0);
	free(t);

	/* DER: PKCS#8, PKCS#1, SEC1, encrypted PKCS#8, PKCS#12; each only as a whole file */
	dn = i2d_PrivateKey(ed, &der); /* PKCS#8 for Ed25519 */
	add("DER PKCS#8 Ed25519", der, (size_t)dn, SECRET_DER_KEY, 0);
	add("DER key with bytes after it (not a key file)", der, (size_t)dn - 1, -1, 0);
	OPENSSL_free(der), der = NULL;
	dn = i2d_PrivateKey(rsa, &der); /* PKCS#1 RSAPrivateKey */
	add("DER PKCS#1 RSA", der, (size_t)dn, SECRET_DER_KEY, 0);
	OPENSSL_free(der), der = NULL;
	dn = i2d_PrivateKey(ec, &der); /* SEC1 ECPrivateKey */
	add("DER SEC1 EC", der, (size_t)dn, SECRET_DER_KEY, 0);
	OPENSSL_free(der), der = NULL;
	{
		PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(rsa);

		dn = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
		add("DER PKCS#8 RSA", der, (size_t)dn, SECRET_DER_KEY, 0);
		OPENSSL_free(der), der = NULL;
		PKCS8_PRIV_KEY_INFO_free(p8);
	}
	b = BIO_new(BIO_s_mem());
	i2d_PKCS8PrivateKey_bio(b, ec, EVP_aes_128_cbc(), NULL, 0, NULL, (void *)"pw");
	t = bio_text(b, &n);
	add("DER encrypted PKCS#8 (PBES2)", t, n, SECRET_DER_KEY, 0);
	free(t);
	dn = i2d_PUBKEY(rsa, &der);
	add("DER public key", der, (size_t)dn, -1, 0);
	OPENSSL_free(der), der = NULL;
	{
		X509 *x = X509_new();
		X509_NAME *name = X509_NAME_new();
		PKCS12 *p12;

		ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
		X509_gmtime_adj(X509_getm_notBefore(x), 0);
		X509_gmtime_adj(X509_getm_notAfter(x), 3600);
		X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"t", -1,
					   -1, 0);
		X509_set_subject_name(x, name);
		X509_set_issuer_name(x, name);
		X509_set_pubkey(x, ec);
		X509_sign(x, ec, EVP_sha256());
		dn = i2d_X509(x, &der);
		add("DER certificate", der, (size_t)dn, -1, 0);
		OPENSSL_free(der), der = NULL;
		b = BIO_new(BIO_s_mem());
		PEM_write_bio_X509(b, x);
		t = bio_text(b, &n);
		add("PEM certificate", t, n, -1, 0);
		free(t);
		p12 = PKCS12_create("pw", "t", ec, x, NULL, 0, 0, 0, 0, 0);
		dn = i2d_PKCS12(p12, &der);
		add("PKCS#12", der, (size_t)dn, SECRET_PKCS12, 0);
		OPENSSL_free(der), der = NULL;
		PKCS12_free(p12);
		X509_NAME_free(name);
		X509_free(x);
	}
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ed);
}

/* Key material for the armour samples, made at run time: no key-like text is committed. */
static char material[80];

/* An armour line (five dashes, BEGIN or END, the kind, the two words of a private key, five
 * dashes), joined at run time from its words (kind "" for PKCS#8's, suffix " BLOCK" for
 * PGP's), so that the source holds no line that looks like a key file's. */
static const char *armour(char buf[80], const char *edge, const char *kind, const char *suffix)
{
	snprintf(buf, 80, "-----%s %s%s%s %s%s-----", edge, kind, *kind ? " " : "", "PRIVATE",
		 "KEY", suffix);
	return buf;
}

static void make_material(void)
{
	unsigned char raw[51];

	RAND_bytes(raw, sizeof(raw));
	EVP_EncodeBlock((unsigned char *)material, raw, sizeof(raw)); /* 68 base64 bytes */
}

static void text_samples(void)
{
	char t[1024], h[80], h2[80];
	size_t n;

	snprintf(t, sizeof(t), "%s\n%s\n%s\n%s\n", armour(h, "BEGIN", "OPENSSH", ""), material,
		 material, armour(h2, "END", "OPENSSH", ""));
	add_str("OpenSSH private key", t, SECRET_PEM_KEY, 0);
	snprintf(t, sizeof(t), "%s\r\n%s\r\n", armour(h, "BEGIN", "OPENSSH", ""), material);
	add_str("OpenSSH key with CRLF", t, SECRET_PEM_KEY, 0);
	snprintf(t, sizeof(t), "%s\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0011\n\nabc\n",
		 armour(h, "BEGIN", "RSA", ""));
	add_str("legacy encrypted PEM", t, SECRET_PEM_KEY, 0);
	snprintf(t, sizeof(t), "%s\nComment: x\n\nlQOYBF...\n", armour(h, "BEGIN", "PGP", " BLOCK"));
	add_str("PGP private key block", t, SECRET_PEM_KEY, 0);
	/* what libcrypto, ssh-keygen and man pages hold: the header alone */
	armour(h, "BEGIN", "OPENSSH", "");
	n = strlen(h);
	t[0] = '\0';
	memcpy(t + 1, h, n);
	memcpy(t + 1 + n, "\n\0-----END", 10);
	add("armour header in a binary", t, n + 11, -1, 0);
	snprintf(t, sizeof(t), "a key file starts with %s and ends ...\n",
		 armour(h, "BEGIN", "RSA", ""));
	add_str("armour header in documentation", t, -1, 0);
	snprintf(t, sizeof(t), "%s\n...\n", armour(h, "BEGIN", "", ""));
	add_str("armour header, then a short line", t, -1, 0);
	snprintf(t, sizeof(t), "%s\n%s\n", armour(h, "BEGIN", "my", ""), material);
	add_str("a private key header of a made-up kind, lower case", t, -1, 0);

	add_in("AWS access key id", "export AWS_ACCESS_KEY_ID=", "AKIAZ3MSJV7VN2QJ4WXY", "\n",
	       SECRET_AWS_KEY_ID);
	add_in("AWS STS key id", "{\"AccessKeyId\": \"", "ASIAQ4ZT7UV2ABCDEFGH", "\"}",
	       SECRET_AWS_KEY_ID);
	add_str("AWS documentation's example key id", "AKIAIOSFODNN7EXAMPLE\n", -1, 0);
	add_str("AWS key id inside a longer word", "XAKIAZ3MSJV7VN2QJ4WXY\n", -1, 0);
	add_str("AWS key id one short", "AKIAZ3MSJV7VN2QJ4WX\n", -1, 0);
	add_str("AWS key id one long", "AKIAZ3MSJV7VN2QJ4WXYZ\n", -1, 0);
	add_in("AWS secret, credentials file", "[default]\n",
	       "aws_secret_access_key = Zx9Tq2Lm8Rv4Wn6Yp1Ks3Hd5Fg7Jc0Bv/Nm+Qw8E", "\n",
	       SECRET_AWS_SECRET);
	add_in("AWS secret, environment", "", "AWS_SECRET_ACCESS_KEY=\"Zx9Tq2Lm8Rv4Wn6Yp1Ks3Hd5Fg7Jc0Bv/Nm+Qw8E\"",
	       "\n", SECRET_AWS_SECRET);
	add_in("AWS secret, STS JSON", "{\"Credentials\": {\"",
	       "SecretAccessKey\": \"Zx9Tq2Lm8Rv4Wn6Yp1Ks3Hd5Fg7Jc0Bv/Nm+Qw8E\"", "}}",
	       SECRET_AWS_SECRET);
	add_str("AWS documentation's example secret",
		"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", -1, 0);
	add_str("AWS secret variable, no value", "aws_secret_access_key = ${SECRET}\n", -1, 0);
	add_str("AWS secret, 39 bytes", "aws_secret_access_key=Zx9Tq2Lm8Rv4Wn6Yp1Ks3Hd5Fg7Jc0Bv/Nm+Qw8\n",
		-1, 0);

	add_in("GitHub classic token", "token: ", "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8", "\n",
	       SECRET_GITHUB);
	add_in("GitHub app token", "", "ghs_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8", "",
	       SECRET_GITHUB);
	add_str("GitHub token, 35 bytes", "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r\n", -1, 0);
	add_str("GitHub token, 37 bytes", "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8s\n", -1, 0);
	add_in("GitHub fine-grained token", "GH=",
	       "github_pat_11ABCDEFG0123456789abc_defghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
	       "\n", SECRET_GITHUB);
	add_in("GitLab token", "PRIVATE-TOKEN: ", "glpat-Ab3De6Gh9Jk2Mn5Pq8St", "\n", SECRET_GITLAB);
	add_str("GitLab prefix alone", "tokens look like glpat-xxxx\n", -1, 0);
	add_in("Slack bot token", "SLACK=", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
	       "\n", SECRET_SLACK);
	add_in("Slack webhook", "url: https://",
	       "hooks.slack.com/services/T01ABCDEF/B02GHIJKL/AbCdEfGhIjKlMnOpQrStUvWx", "\n",
	       SECRET_SLACK);
	add_str("Slack token placeholder", "SLACK=xoxb-your-token-here\n", -1, 0);
	snprintf(t, sizeof(t), ",\n  \"private_key\": \"%s\\nMIIE...\"\n}\n",
		 armour(h, "BEGIN", "", ""));
	add_in("GCP service account key", "{\n  \"type\": \"service_account\",\n  ",
	       "\"private_key_id\": \"0123456789abcdef0123456789abcdef01234567\"", t,
	       SECRET_GCP_ACCOUNT);
	add_str("GCP key id placeholder", "\"private_key_id\": \"KEY_ID\"\n", -1, 0);
	add_in("signed JWT", "Authorization: Bearer ",
	       "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
	       "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
	       "\n", SECRET_JWT);
	{
		/* an OIDC token of 2 KB: its payload runs far past 1 KiB */
		static char big[2300];
		size_t o = (size_t)snprintf(big, sizeof(big), "eyJhbGciOiJSUzI1NiJ9.eyJ");

		for (; o < 2100; o++)
			big[o] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"[o % 64];
		snprintf(big + o, sizeof(big) - o, ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c");
		add_in("a 2 KB JWT", "id_token=", big, "\n", SECRET_JWT);
	}
	add_str("unsigned JWT (alg none)",
		"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxMjM0NTY3ODkwIn0.\n", -1, 0);
	add_str("generic password line", "password=hunter2\ndb_password: s3cr3t\n", -1, 0);
	add_str("dashes", "------------------------------------------------------------\n", -1, 0);
}

static size_t hits_of(struct secret_scan *s, const struct sample *x, size_t piece, int *rule,
		      uint64_t *offset)
{
	secret_file_begin(s, "/etc/x", "test", x->len);
	for (size_t o = 0; o < x->len; o += piece)
		secret_file_data(s, x->buf + o, x->len - o < piece ? x->len - o : piece);
	secret_file_end(s);
	*rule = s->nhits ? (int)s->hits[0].rule : -1;
	*offset = s->nhits ? s->hits[0].offset : 0;
	return s->nhits;
}

static void each_sample(void)
{
	struct err e;

	for (size_t i = 0; i < nsamples; i++) {
		const struct sample *x = &samples[i];
		struct secret_scan s;
		int rule;
		uint64_t off;
		size_t n;

		secret_scan_init(&s, NULL, 0, &e);
		n = hits_of(&s, x, x->len ? x->len : 1, &rule, &off);
		if (x->rule < 0) {
			if (!ok(n == 0, "no hit: %s", x->what))
				printf("#   found %s at %llu\n", secret_rule_name(rule),
				       (unsigned long long)off);
		} else {
			ok(n == 1 && rule == x->rule && off == x->offset, "%s: %s at byte %zu",
			   x->what, secret_rule_name(x->rule), x->offset);
			if (n != 1 || rule != x->rule || off != x->offset)
				printf("#   %zu hits, first %s at %llu\n", n,
				       rule >= 0 ? secret_rule_name(rule) : "-",
				       (unsigned long long)off);
		}
		secret_scan_free(&s);
	}
}

/* Every sample, placed at offsets around 16-byte and piece boundaries inside filler, fed in
 * pieces of many sizes: the same rule at the same offset. (Pieces that are not the first hold
 * no DER: those rules look at a file's start only, which is where the samples are.) */
static void pieces(void)
{
	static const size_t sizes[] = {1, 2, 7, 16, 17, 1000, 1023, 1024, 1025, 4096, 1 << 20};
	static const size_t shifts[] = {0, 1, 15, 16, 17, 1000, 1023, 1024, 1025, 2047, 3000};
	unsigned bad = 0, runs = 0;
	struct err e;

	for (size_t i = 0; i < nsamples; i++) {
		const struct sample *x = &samples[i];

		if (x->rule < 0 || x->rule == SECRET_DER_KEY || x->rule == SECRET_PKCS12)
			continue;
		for (size_t sh = 0; sh < sizeof(shifts) / sizeof(shifts[0]); sh++) {
			size_t len = shifts[sh] + x->len + 777;
			uint8_t *buf = malloc(len);
			struct sample y = {.buf = buf, .len = len};

			memset(buf, '\n', len); /* a separator: every rule wants a word boundary */
			for (size_t k = 0; k + 1 < shifts[sh]; k++)
				buf[k] = (uint8_t)(k % 2 ? 'z' : ' ');
			memcpy(buf + shifts[sh], x->buf, x->len);
			for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
				struct secret_scan s;
				int rule;
				uint64_t off;
				size_t n;

				secret_scan_init(&s, NULL, 0, &e);
				n = hits_of(&s, &y, sizes[z], &rule, &off);
				runs++;
				if (n != 1 || rule != x->rule || off != x->offset + shifts[sh]) {
					if (bad++ < 5)
						printf("#   %s at %zu in pieces of %zu: %zu hits, "
						       "offset %llu\n",
						       x->what, shifts[sh], sizes[z], n,
						       (unsigned long long)off);
				}
				secret_scan_free(&s);
			}
			free(buf);
		}
	}
	ok(bad == 0 && runs > 1000, "%u placements and piece sizes find the same rule at the same "
	   "offset (%u differ)", runs, bad);
}

static void noise(void)
{
	size_t len = 32u << 20;
	uint8_t *buf = malloc(len);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	struct secret_scan s;
	struct err e;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	secret_scan_init(&s, NULL, 0, &e);
	secret_file_begin(&s, "/usr/lib/random.bin", "test", len);
	for (size_t o = 0; o < len; o += 1 << 20)
		secret_file_data(&s, buf + o, 1 << 20);
	secret_file_end(&s);
	is_int(s.nhits, 0, "32 MiB of random bytes: no hit");
	is_int(s.bytes, len, "every byte was scanned");
	secret_scan_free(&s);
	/* text: a sample secret once in 4 MiB of English-like words */
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)("the user sees a short answer here; ghost eyes -- ok\n"[i % 52]);
	memcpy(buf + len / 2 + 3, "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8\n", 41);
	buf[len / 2 + 2] = ' ';
	secret_scan_init(&s, NULL, 0, &e);
	secret_scan_buffer(&s, "/usr/share/doc/x.txt", buf, len);
	ok(s.nhits == 1 && s.hits[0].offset == len / 2 + 3,
	   "one token in 32 MiB of text full of candidate pairs: found at its offset");
	secret_scan_free(&s);
	free(buf);
}

static void names(void)
{
	struct secret_scan s;
	struct err e;

	secret_scan_init(&s, NULL, 0, &e);
	secret_scan_name(&s, "/root/.bash_history", false, 10, "files[0]");
	secret_scan_name(&s, "/home/u/.python_history", false, 3, "files[0]");
	secret_scan_name(&s, "/root/.zsh_history", false, 0, "files[0]"); /* empty: nothing in it */
	secret_scan_name(&s, "/srv/app/.git", true, 0, "base tar");
	secret_scan_name(&s, "/srv/other/.git", false, 40, "base tar"); /* a worktree's pointer */
	secret_scan_name(&s, "/usr/share/doc/git/.gitignore", false, 40, "base tar");
	secret_scan_name(&s, "/etc/bash_history", false, 10, "x");
	is_int(s.nhits, 3, "names: two histories with content and one .git directory");
	ok(s.nhits == 3 && s.hits[0].rule == SECRET_HISTORY && s.hits[1].rule == SECRET_HISTORY &&
	   s.hits[2].rule == SECRET_GIT_DIR && strcmp(s.hits[2].path, "/srv/app/.git") == 0 &&
	   strcmp(s.hits[2].origin, "base tar") == 0,
	   "names: the rules, path and origin of each");
	secret_scan_free(&s);
}

static void allow_and_verdict(void)
{
	char key[200];
	const struct secret_allow allow[] = {
		{"/etc/demo/*.key", SECRET_PEM_KEY, "the demo's published key"},
		{"/etc/other.key", SECRET_DER_KEY, "wrong rule"},
		{"/nothing/here", SECRET_JWT, "unused"},
	};
	struct secret_scan s;
	struct err e;
	int r;

	char h[80];

	snprintf(key, sizeof(key), "%s\n%s\n", armour(h, "BEGIN", "OPENSSH", ""), material);
	secret_scan_init(&s, allow, 3, &e);
	secret_scan_buffer(&s, "/etc/demo/a.key", (const uint8_t *)key, strlen(key));
	secret_scan_buffer(&s, "/etc/demo/sub/b.key", (const uint8_t *)key, strlen(key));
	r = secret_scan_verdict(&s, &e);
	ok(s.nhits == 2 && s.hits[0].allowed_by == 0 && s.hits[1].allowed_by == -1,
	   "allow: a pattern lets /etc/demo/a.key through, not a file below (FNM_PATHNAME)");
	ok(r == -EPERM && strstr(e.msg, "/etc/demo/sub/b.key: private-key-pem") &&
	   strstr(e.msg, "at byte 0") && strstr(e.msg, "from a buffer") &&
	   strstr(e.msg, "secrets.allow") && strstr(e.msg, "1 in all"),
	   "verdict: refused, naming the path, rule, offset, origin and the way out");
	printf("#   %s\n", e.msg);
	secret_scan_free(&s);

	secret_scan_init(&s, allow, 3, &e);
	secret_scan_buffer(&s, "/etc/other.key", (const uint8_t *)key, strlen(key));
	ok(secret_scan_verdict(&s, &e) == -EPERM && s.hits[0].allowed_by == -1,
	   "allow: an entry of another rule does not let the file through");
	secret_scan_free(&s);

	secret_scan_init(&s, allow, 3, &e);
	secret_scan_buffer(&s, "/etc/demo/a.key", (const uint8_t *)key, strlen(key));
	r = secret_scan_verdict(&s, &e);
	ok(r == 0 && s.allow_hits[0] == 1 && s.allow_hits[1] == 0 && s.allow_hits[2] == 0,
	   "verdict: everything allowed passes; each entry counts what it let through");
	secret_scan_free(&s);

	secret_scan_init(&s, NULL, 0, &e);
	secret_scan_buffer(&s, "/usr/lib/x86_64-linux-gnu/libgnutls.so.30.34.3",
			   (const uint8_t *)key, strlen(key));
	secret_scan_buffer(&s, "/usr/lib/x86_64-linux-gnu/libother.so", (const uint8_t *)key,
			   strlen(key));
	ok(s.nhits == 2 && s.hits[0].known == 0 && s.hits[1].known == -1 &&
	   secret_scan_verdict(&s, &e) == -EPERM && strstr(e.msg, "libother.so"),
	   "known package keys: GnuTLS's self-test keys pass, the same bytes elsewhere do not");
	secret_scan_free(&s);

	/* one hit per file and rule; more than SECRET_MAX_HITS files are counted, not kept */
	secret_scan_init(&s, NULL, 0, &e);
	{
		size_t n = 3 * strlen(key);
		char *three = malloc(n + 1);

		snprintf(three, n + 1, "%s%s%s", key, key, key);
		secret_scan_buffer(&s, "/etc/bundle.pem", (const uint8_t *)three, n);
		free(three);
	}
	is_int(s.nhits, 1, "three keys in one file: one hit");
	for (int i = 0; i < SECRET_MAX_HITS + 5; i++)
		secret_scan_buffer(&s, "/etc/k", (const uint8_t *)key, strlen(key));
	ok(s.nhits == SECRET_MAX_HITS && s.dropped == 6 && secret_scan_verdict(&s, &e) == -EPERM &&
	   strstr(e.msg, "1006 in all"),
	   "past SECRET_MAX_HITS hits are counted and refused (%zu kept, %zu more)", s.nhits,
	   s.dropped);
	secret_scan_free(&s);
}

static void rule_names(void)
{
	bool good = true;

	for (int i = 0; i < SECRET_NRULES; i++)
		good = good && secret_rule_find(secret_rule_name((enum secret_rule)i)) == i &&
		       secret_rule_what((enum secret_rule)i);
	ok(good && secret_rule_find("password") == -1 && !secret_rule_name(SECRET_NRULES),
	   "every rule has a name and a description; unknown names are -1");
}

int main(void)
{
	make_material();
	key_samples();
	text_samples();
	each_sample();
	pieces();
	noise();
	names();
	allow_and_verdict();
	rule_names();
	for (size_t i = 0; i < nsamples; i++)
		free(samples[i].buf);
	return tap_done();
}
