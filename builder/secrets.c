#include "secrets.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "builder/tree.h"

const char *const secret_rule_names[] = {
	"private-key-pem", "private-key-der", "pkcs12", "aws-access-key-id",
	"aws-secret-access-key", "github-token", "gitlab-token", "slack-token",
	"gcp-service-account", "jwt", "shell-history", "git-directory", NULL,
};
_Static_assert(sizeof(secret_rule_names) / sizeof(secret_rule_names[0]) == SECRET_NRULES + 1,
	       "a name per rule");

static const char *const whats[SECRET_NRULES] = {
	[SECRET_PEM_KEY] = "a PEM or OpenSSH private key",
	[SECRET_DER_KEY] = "a DER private key (PKCS#8, PKCS#1 or SEC1)",
	[SECRET_PKCS12] = "a PKCS#12 key store",
	[SECRET_AWS_KEY_ID] = "an AWS access key id",
	[SECRET_AWS_SECRET] = "an AWS secret access key",
	[SECRET_GITHUB] = "a GitHub token",
	[SECRET_GITLAB] = "a GitLab personal access token",
	[SECRET_SLACK] = "a Slack token or webhook",
	[SECRET_GCP_ACCOUNT] = "a GCP service account key",
	[SECRET_JWT] = "a signed JSON Web Token",
	[SECRET_HISTORY] = "a shell or REPL history",
	[SECRET_GIT_DIR] = "a .git directory",
};

const char *secret_rule_name(enum secret_rule r)
{
	return (unsigned)r < SECRET_NRULES ? secret_rule_names[r] : NULL;
}

const char *secret_rule_what(enum secret_rule r)
{
	return (unsigned)r < SECRET_NRULES ? whats[r] : NULL;
}

int secret_rule_find(const char *name)
{
	for (int i = 0; i < SECRET_NRULES; i++)
		if (strcmp(secret_rule_names[i], name) == 0)
			return i;
	return -1;
}

/* ---- character classes ---- */

static bool is_alnum(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_upper_digit(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
}

static bool is_b64(int c)
{
	return is_alnum(c) || c == '+' || c == '/';
}

static bool is_url64(int c) /* base64url, as tokens and JWTs use it */
{
	return is_alnum(c) || c == '_' || c == '-';
}

static bool is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* The length of the run of class bytes at p (at most max). */
static size_t run(const uint8_t *p, size_t avail, size_t max, bool (*cls)(int))
{
	size_t n = 0;

	while (n < avail && n < max && cls(p[n]))
		n++;
	return n;
}

static bool starts(const uint8_t *p, size_t avail, const char *lit)
{
	size_t n = strlen(lit);

	return avail >= n && memcmp(p, lit, n) == 0;
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* A token of exactly n class bytes at p, not followed by another: the byte after it must be
 * known (inside avail) or the data's end. */
static bool token(const uint8_t *p, size_t avail, size_t n, bool (*cls)(int))
{
	return run(p, avail, n + 1, cls) == n;
}

/* ---- the rules on bytes (p: a candidate's first byte; avail: bytes known from p on, at
 * least SECRET_SPAN unless the file ends sooner; prev: the byte before p, -1 at the start) ---- */

/* -----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?----- then key material on the next line: 40
 * base64 bytes, or an armour header ("Proc-Type: 4,ENCRYPTED", "Version: ..."). The header
 * alone is in libcrypto, ssh-keygen and documentation; the material is not. */
static bool pem_key(const uint8_t *p, size_t avail)
{
	size_t i = 11, j;

	if (!starts(p, avail, "-----BEGIN "))
		return false;
	while (i < avail && i < 11 + 40 && (is_upper_digit(p[i]) || p[i] == ' ') &&
	       !starts(p + i, avail - i, "PRIVATE KEY"))
		i++;
	if (!starts(p + i, avail - i, "PRIVATE KEY"))
		return false;
	i += 11;
	if (starts(p + i, avail - i, " BLOCK"))
		i += 6;
	if (!starts(p + i, avail - i, "-----"))
		return false;
	i += 5;
	if (i < avail && p[i] == '\r')
		i++;
	if (i >= avail || p[i] != '\n')
		return false;
	i++;
	if (run(p + i, avail - i, 40, is_b64) == 40)
		return true;
	/* an armour header: a name, ": " */
	j = run(p + i, avail - i, 32, is_url64);
	return j > 0 && i + j + 1 < avail && p[i + j] == ':' && p[i + j + 1] == ' ';
}

/* AKIA/ASIA and 16 more of [A-Z0-9], alone; AWS's documentation example ends in EXAMPLE. */
static bool aws_key_id(const uint8_t *p, size_t avail, int prev)
{
	if (prev >= 0 && is_alnum(prev))
		return false;
	if (!starts(p, avail, "AKIA") && !starts(p, avail, "ASIA"))
		return false;
	if (!token(p, avail, 20, is_upper_digit))
		return false;
	return memcmp(p + 13, "EXAMPLE", 7) != 0;
}

/* Matches the words of name ("aws_secret_access_key") case-blind, each '_' standing for '_',
 * '-' or nothing; the length matched, or 0. */
static size_t key_name(const uint8_t *p, size_t avail, const char *name)
{
	size_t i = 0;

	for (; *name; name++) {
		if (*name == '_') {
			if (i < avail && (p[i] == '_' || p[i] == '-'))
				i++;
			continue;
		}
		if (i >= avail || lower(p[i]) != *name)
			return 0;
		i++;
	}
	return i;
}

/* aws_secret_access_key (or SecretAccessKey) = 40 bytes of base64, alone, as the credentials
 * file, the environment and STS's JSON write it. */
static bool aws_secret(const uint8_t *p, size_t avail, int prev)
{
	size_t i, n;

	if (prev >= 0 && is_alnum(prev))
		return false;
	i = key_name(p, avail, "aws_secret_access_key");
	if (!i)
		i = key_name(p, avail, "secret_access_key");
	if (!i)
		return false;
	if (i < avail && (p[i] == '"' || p[i] == '\''))
		i++;
	for (n = 0; i < avail && n < 8 && (p[i] == ' ' || p[i] == '\t'); n++)
		i++;
	if (i >= avail || (p[i] != '=' && p[i] != ':'))
		return false;
	i++;
	for (n = 0; i < avail && n < 8 && (p[i] == ' ' || p[i] == '\t'); n++)
		i++;
	if (i < avail && (p[i] == '"' || p[i] == '\''))
		i++;
	if (i >= avail || run(p + i, avail - i, 41, is_b64) != 40)
		return false;
	if (i + 40 < avail && p[i + 40] == '=')
		return false;
	return memcmp(p + i + 30, "EXAMPLEKEY", 10) != 0;
}

/* ghp_/gho_/ghu_/ghs_/ghr_ and 36 alphanumerics; github_pat_ and 82 of [A-Za-z0-9_]. */
static bool github(const uint8_t *p, size_t avail, int prev)
{
	static const char kinds[] = "pousr";

	if (prev >= 0 && is_url64(prev))
		return false;
	if (avail >= 4 && p[0] == 'g' && p[1] == 'h' && p[2] && strchr(kinds, p[2]) &&
	    p[3] == '_')
		return token(p + 4, avail - 4, 36, is_alnum) &&
		       !(avail > 40 && (p[40] == '_' || p[40] == '-'));
	if (starts(p, avail, "github_pat_")) {
		size_t n = 0;

		while (11 + n < avail && n < 83 && (is_alnum(p[11 + n]) || p[11 + n] == '_'))
			n++;
		return n == 82;
	}
	return false;
}

/* glpat- and 20 of [A-Za-z0-9_-]. */
static bool gitlab(const uint8_t *p, size_t avail, int prev)
{
	if (prev >= 0 && is_url64(prev))
		return false;
	return starts(p, avail, "glpat-") && run(p + 6, avail - 6, 64, is_url64) >= 20;
}

/* xoxb-/xoxp-/xoxa-/xoxo-/xoxs-/xoxr- then digits and a dash (the workspace); a webhook URL
 * hooks.slack.com/services/T.../B.../secret. */
static bool slack(const uint8_t *p, size_t avail, int prev)
{
	static const char kinds[] = "abposr";
	size_t n;

	if (avail > 5 && p[0] == 'x' && p[1] == 'o' && p[2] == 'x' && p[3] && strchr(kinds, p[3]) &&
	    p[4] == '-') {
		if (prev >= 0 && is_url64(prev))
			return false;
		for (n = 0; 5 + n < avail && n < 16 && p[5 + n] >= '0' && p[5 + n] <= '9'; n++)
			;
		return n >= 8 && 5 + n < avail && p[5 + n] == '-' &&
		       run(p + 6 + n, avail - 6 - n, 64, is_url64) >= 10;
	}
	if (starts(p, avail, "hooks.slack.com/services/T")) {
		size_t i = 26;

		n = run(p + i, avail - i, 16, is_upper_digit);
		if (n < 8 || i + n + 2 >= avail || p[i + n] != '/' || p[i + n + 1] != 'B')
			return false;
		i += n + 2;
		n = run(p + i, avail - i, 16, is_upper_digit);
		if (n < 8 || i + n >= avail || p[i + n] != '/')
			return false;
		i += n + 1;
		return run(p + i, avail - i, 64, is_alnum) >= 24;
	}
	return false;
}

/* "private_key_id": "<40 hex>": the field a service account key file has and nothing else. */
static bool gcp_account(const uint8_t *p, size_t avail)
{
	size_t i = 16, n;

	if (!starts(p, avail, "\"private_key_id\""))
		return false;
	for (n = 0; i < avail && n < 8 && (p[i] == ' ' || p[i] == '\t'); n++)
		i++;
	if (i >= avail || p[i] != ':')
		return false;
	i++;
	for (n = 0; i < avail && n < 8 && (p[i] == ' ' || p[i] == '\t'); n++)
		i++;
	if (i >= avail || p[i] != '"')
		return false;
	i++;
	return run(p + i, avail - i, 41, is_hex) == 40 && i + 40 < avail && p[i + 40] == '"';
}

/* eyJ....eyJ....sig: a header and a payload that are base64url JSON objects and a signature
 * of at least 16 bytes (an unsigned token, alg none, has none). */
static bool jwt(const uint8_t *p, size_t avail, int prev)
{
	size_t i = 0, n;

	if (prev >= 0 && (is_url64(prev) || prev == '.'))
		return false;
	/* the header at most 512 bytes, the payload the rest of SECRET_SPAN but the signature's
	 * 32 looked at: the match never reaches past what the scan guarantees */
	static const size_t most[2] = {512, SECRET_SPAN - 512 - 2 - 32};

	for (int part = 0; part < 2; part++) {
		if (!starts(p + i, avail - i, "eyJ"))
			return false;
		n = run(p + i, avail - i, most[part], is_url64);
		if (n < 12 || i + n >= avail || p[i + n] != '.')
			return false;
		i += n + 1;
	}
	return run(p + i, avail - i, 32, is_url64) >= 16;
}

/* Which rule matches at p, or -1. */
static int match_at(const uint8_t *p, size_t avail, int prev)
{
	switch (p[0]) {
	case '-':
		return pem_key(p, avail) ? SECRET_PEM_KEY : -1;
	case 'A':
		if (aws_key_id(p, avail, prev))
			return SECRET_AWS_KEY_ID;
		return aws_secret(p, avail, prev) ? SECRET_AWS_SECRET : -1;
	case 'a':
	case 'S':
	case 's':
		return aws_secret(p, avail, prev) ? SECRET_AWS_SECRET : -1;
	case 'g':
		if (github(p, avail, prev))
			return SECRET_GITHUB;
		return gitlab(p, avail, prev) ? SECRET_GITLAB : -1;
	case 'x':
	case 'h':
		return slack(p, avail, prev) ? SECRET_SLACK : -1;
	case '"':
		return gcp_account(p, avail) ? SECRET_GCP_ACCOUNT : -1;
	case 'e':
		return jwt(p, avail, prev) ? SECRET_JWT : -1;
	}
	return -1;
}

/* The first two bytes of every rule's match: one bit per pair, so that the scan looks at
 * most bytes once. */
static uint8_t pairs[65536 / 8];
static bool pairs_ready;

static void pair_add(int a, int b)
{
	unsigned v = (unsigned)a | (unsigned)b << 8;

	pairs[v >> 3] |= (uint8_t)(1u << (v & 7));
}

static void pairs_init(void)
{
	static const char *const fixed[] = {"--", "AK", "AS", "gh", "gi", "gl", "xo", "ho",
					    "\"p", "ey"};

	if (pairs_ready)
		return;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		pair_add(fixed[i][0], fixed[i][1]);
	for (int c = 0; c < 4; c++) { /* aws_, secret_: any case */
		pair_add(c & 1 ? 'A' : 'a', c & 2 ? 'W' : 'w');
		pair_add(c & 1 ? 'S' : 's', c & 2 ? 'E' : 'e');
	}
	pairs_ready = true;
}

/* ---- hits ---- */

const struct secret_allow secret_known[] = {
	{"/usr/lib/*/libgnutls.so.30*", SECRET_PEM_KEY,
	 "libgnutls30: the keys of GnuTLS's FIPS 140 self-tests, the same in every copy"},
	/* the host's copy, where libcurl's dependencies put it in an image that updates itself */
	{"/lib/*/libgnutls.so.30*", SECRET_PEM_KEY,
	 "libgnutls30: the keys of GnuTLS's FIPS 140 self-tests, the same in every copy"},
};
const size_t secret_nknown = sizeof(secret_known) / sizeof(secret_known[0]);

static int allow_find(const struct secret_allow *a, size_t n, const char *path,
		      enum secret_rule rule)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].rule == rule && fnmatch(a[i].path, path, FNM_PATHNAME) == 0)
			return (int)i;
	return -1;
}

static void add_hit(struct secret_scan *s, const char *path, const char *origin,
		    uint64_t offset, enum secret_rule rule)
{
	struct secret_hit *h;
	int allowed = allow_find(s->allow, s->nallow, path, rule), known = -1;

	if (allowed >= 0)
		s->allow_hits[allowed]++;
	else
		known = allow_find(secret_known, secret_nknown, path, rule);
	if (s->nhits >= SECRET_MAX_HITS) {
		s->dropped += allowed < 0 && known < 0;
		return;
	}
	if (s->nhits == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct secret_hit *grown = realloc(s->hits, cap * sizeof(*grown));

		if (!grown) {
			s->error = -ENOMEM;
			return;
		}
		s->hits = grown;
		s->cap = cap;
	}
	h = &s->hits[s->nhits];
	h->path = strdup(path);
	h->origin = strdup(origin ? origin : "stele");
	if (!h->path || !h->origin) {
		free(h->path);
		free(h->origin);
		s->error = -ENOMEM;
		return;
	}
	h->offset = offset;
	h->rule = rule;
	h->allowed_by = allowed;
	h->known = known;
	s->nhits++;
}

static void file_hit(struct secret_scan *s, uint64_t offset, enum secret_rule rule)
{
	/* one hit per file and rule: a bundle of keys is one finding */
	if (s->found[rule])
		return;
	s->found[rule] = true;
	add_hit(s, s->path, s->origin, offset, rule);
}

/* ---- DER keys: the whole file is one SEQUENCE ---- */

/* The length of a DER header (tag 0x30 and its length) at p, and the content length; 0 when
 * it is not a definite-length SEQUENCE. */
static size_t der_seq(const uint8_t *p, size_t avail, uint64_t *ret_len)
{
	size_t n;
	uint64_t len = 0;

	if (avail < 2 || p[0] != 0x30)
		return 0;
	if (p[1] < 0x80) {
		*ret_len = p[1];
		return 2;
	}
	n = p[1] & 0x7f;
	if (n == 0 || n > 4 || avail < 2 + n)
		return 0;
	for (size_t i = 0; i < n; i++)
		len = len << 8 | p[2 + i];
	*ret_len = len;
	return 2 + n;
}

static const uint8_t oid_pbes2[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d};
static const uint8_t oid_pkcs12_pbe[] = {0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01};
static const uint8_t oid_data[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01};

static int der_file(const uint8_t *p, size_t avail, uint64_t size)
{
	uint64_t len, inner;
	size_t h = der_seq(p, avail, &len), h2;
	const uint8_t *q = p + h;
	size_t left;

	if (!h || h + len != size || avail < h + 16)
		return -1;
	left = avail - h;
	/* PKCS#8 (version 0 or 1, then the algorithm), PKCS#1 RSA (0, then the modulus), SEC1
	 * EC (1, then the key as an OCTET STRING) */
	if (q[0] == 0x02 && q[1] == 0x01 && (q[2] == 0 || q[2] == 1) &&
	    (q[3] == 0x30 || (q[2] == 0 && q[3] == 0x02) || (q[2] == 1 && q[3] == 0x04)))
		return SECRET_DER_KEY;
	/* PKCS#12: version 3, then ContentInfo of type data */
	if (q[0] == 0x02 && q[1] == 0x01 && q[2] == 3) {
		h2 = der_seq(q + 3, left - 3, &inner);
		if (h2 && left >= 3 + h2 + sizeof(oid_data) &&
		    memcmp(q + 3 + h2, oid_data, sizeof(oid_data)) == 0)
			return SECRET_PKCS12;
		return -1;
	}
	/* EncryptedPrivateKeyInfo: the AlgorithmIdentifier's OID (PBES2 or a PKCS#12 PBE: its
	 * last byte, the cipher, varies), then the data */
	h2 = der_seq(q, left, &inner);
	if (h2 && left >= h2 + sizeof(oid_pkcs12_pbe) &&
	    (memcmp(q + h2, oid_pbes2, sizeof(oid_pbes2)) == 0 ||
	     memcmp(q + h2, oid_pkcs12_pbe, sizeof(oid_pkcs12_pbe)) == 0))
		return SECRET_DER_KEY;
	return -1;
}

/* ---- the scan ---- */

int secret_scan_init(struct secret_scan *s, const struct secret_allow *allow, size_t nallow,
		     struct err *e)
{
	memset(s, 0, sizeof(*s));
	pairs_init();
	s->allow = allow;
	s->nallow = nallow;
	s->allow_hits = calloc(nallow ? nallow : 1, sizeof(*s->allow_hits));
	if (!s->allow_hits)
		return err_set(e, ENOMEM, "out of memory");
	s->before = -1;
	return 0;
}

void secret_scan_free(struct secret_scan *s)
{
	for (size_t i = 0; i < s->nhits; i++) {
		free(s->hits[i].path);
		free(s->hits[i].origin);
	}
	free(s->hits);
	free(s->allow_hits);
	memset(s, 0, sizeof(*s));
}

static const char *const histories[] = {
	".bash_history", ".zsh_history", ".sh_history", ".ash_history", ".history",
	".python_history", ".mysql_history", ".psql_history", ".sqlite_history",
	".node_repl_history", ".rediscli_history", ".lesshst", NULL,
};

void secret_scan_name(struct secret_scan *s, const char *path, bool dir, uint64_t size,
		      const char *origin)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (dir) {
		if (strcmp(base, ".git") == 0)
			add_hit(s, path, origin, 0, SECRET_GIT_DIR);
		return;
	}
	if (!size)
		return;
	for (const char *const *h = histories; *h; h++)
		if (strcmp(base, *h) == 0)
			add_hit(s, path, origin, 0, SECRET_HISTORY);
}

void secret_file_begin(struct secret_scan *s, const char *path, const char *origin,
		       uint64_t size)
{
	s->path = path;
	s->origin = origin;
	s->size = size;
	s->off = 0;
	s->npend = 0;
	s->before = -1;
	memset(s->found, 0, sizeof(s->found));
}

static bool pair_hit(const uint8_t *p)
{
	unsigned v = (unsigned)p[0] | (unsigned)p[1] << 8;

	return pairs[v >> 3] & (1u << (v & 7));
}

#ifdef __SSE2__
/* The pairs of pairs_init for 16 positions at once: bit k set when buf[k], buf[k + 1] is one
 * (17 bytes readable). */
static unsigned pair_mask16(const uint8_t *buf)
{
	const __m128i v = _mm_loadu_si128((const __m128i *)buf);
	const __m128i n = _mm_loadu_si128((const __m128i *)(buf + 1));
	const __m128i lv = _mm_or_si128(v, _mm_set1_epi8(0x20)); /* letters, case-blind */
	const __m128i ln = _mm_or_si128(n, _mm_set1_epi8(0x20));
#define EQ(x, c) _mm_cmpeq_epi8((x), _mm_set1_epi8((char)(c)))
	__m128i m = _mm_and_si128(EQ(v, '-'), EQ(n, '-'));

	m = _mm_or_si128(m, _mm_and_si128(EQ(v, 'A'), _mm_or_si128(EQ(n, 'K'), EQ(n, 'S'))));
	m = _mm_or_si128(m, _mm_and_si128(EQ(lv, 'a'), EQ(ln, 'w')));
	m = _mm_or_si128(m, _mm_and_si128(EQ(lv, 's'), EQ(ln, 'e')));
	m = _mm_or_si128(m, _mm_and_si128(EQ(v, 'g'), _mm_or_si128(_mm_or_si128(EQ(n, 'h'),
										EQ(n, 'i')),
								   EQ(n, 'l'))));
	m = _mm_or_si128(m, _mm_and_si128(_mm_or_si128(EQ(v, 'x'), EQ(v, 'h')), EQ(n, 'o')));
	m = _mm_or_si128(m, _mm_and_si128(EQ(v, '"'), EQ(n, 'p')));
	m = _mm_or_si128(m, _mm_and_si128(EQ(v, 'e'), EQ(n, 'y')));
#undef EQ
	return (unsigned)_mm_movemask_epi8(m);
}
#endif

static void candidate(struct secret_scan *s, const uint8_t *buf, size_t len, size_t i,
		      uint64_t base, int prev)
{
	int r = match_at(buf + i, len - i, i ? buf[i - 1] : prev);

	if (r >= 0)
		file_hit(s, base + i, (enum secret_rule)r);
}

/* Looks at the candidates starting at buf[from..to): buf holds len bytes from file offset
 * base; prev is the byte before buf[0]. */
static void scan_range(struct secret_scan *s, const uint8_t *buf, size_t len, size_t from,
		       size_t to, uint64_t base, int prev)
{
	size_t i = from;

#ifdef __SSE2__
	for (; i + 16 <= to && i + 17 <= len; i += 16)
		for (unsigned m = pair_mask16(buf + i); m; m &= m - 1)
			candidate(s, buf, len, i + (size_t)__builtin_ctz(m), base, prev);
#endif
	for (; i < to; i++)
		if (i + 1 < len && pair_hit(buf + i))
			candidate(s, buf, len, i, base, prev);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void file_data(struct secret_scan *s, const uint8_t *buf, size_t len);

void secret_file_data(struct secret_scan *s, const uint8_t *buf, size_t len)
{
	double t0 = now();

	file_data(s, buf, len);
	s->seconds += now() - t0;
}

static void file_data(struct secret_scan *s, const uint8_t *buf, size_t len)
{
	uint8_t win[2 * SECRET_SPAN];
	uint64_t start = s->off - s->npend; /* the file offset of pend[0] */
	int r;

	if (!len)
		return;
	if (s->off == 0 && (r = der_file(buf, len, s->size)) >= 0)
		file_hit(s, 0, (enum secret_rule)r);
	s->bytes += len;
	s->off += len;
	if (s->npend) {
		/* the pending bytes' candidates, with up to SPAN bytes of this piece after them */
		size_t n = len < SECRET_SPAN ? len : SECRET_SPAN, wlen = s->npend + n;
		size_t upto;

		memcpy(win, s->pend, s->npend);
		memcpy(win + s->npend, buf, n);
		if (n == len) {
			/* all of it fits: scan what has SPAN bytes after it, keep the rest */
			upto = wlen >= SECRET_SPAN ? wlen - SECRET_SPAN + 1 : 0;
			scan_range(s, win, wlen, 0, upto, start, s->before);
			if (upto) {
				s->before = win[upto - 1];
				memmove(s->pend, win + upto, wlen - upto);
			} else {
				memcpy(s->pend, win, wlen);
			}
			s->npend = wlen - upto;
			return;
		}
		scan_range(s, win, wlen, 0, s->npend, start, s->before);
		start += s->npend;
		s->before = s->pend[s->npend - 1];
		s->npend = 0;
	}
	/* here buf starts at file offset start and nothing is pending */
	if (len >= SECRET_SPAN) {
		size_t upto = len - SECRET_SPAN + 1;

		scan_range(s, buf, len, 0, upto, start, s->before);
		s->before = buf[upto - 1];
		memcpy(s->pend, buf + upto, len - upto);
		s->npend = len - upto;
	} else {
		memcpy(s->pend, buf, len);
		s->npend = len;
	}
}

void secret_file_end(struct secret_scan *s)
{
	double t0 = now(); /* a small file is scanned here, from pend, whole */

	scan_range(s, s->pend, s->npend, 0, s->npend, s->off - s->npend, s->before);
	s->seconds += now() - t0;
	s->npend = 0;
	s->path = s->origin = NULL;
}

void secret_scan_buffer(struct secret_scan *s, const char *path, const uint8_t *buf,
			size_t len)
{
	secret_file_begin(s, path, "a buffer", len);
	secret_file_data(s, buf, len);
	secret_file_end(s);
}

void secret_hit_format(const struct secret_hit *h, char *out, size_t n)
{
	snprintf(out, n, MSG_NAME_FMT ": %s (%s) at byte %" PRIu64 ", from " MSG_NAME_FMT,
		 MSG_NAME(h->path), secret_rule_names[h->rule], whats[h->rule], h->offset,
		 MSG_NAME(h->origin));
}

int secret_scan_verdict(const struct secret_scan *s, struct err *e)
{
	const struct secret_hit *first = NULL;
	size_t refused = s->dropped;
	char line[700];

	if (s->error)
		return err_set(e, -s->error, "scanning for secrets: out of memory");
	for (size_t i = 0; i < s->nhits; i++) {
		if (s->hits[i].allowed_by >= 0 || s->hits[i].known >= 0)
			continue;
		if (!first)
			first = &s->hits[i];
		refused++;
	}
	if (!refused)
		return 0;
	if (!first)
		return err_set(e, EPERM, "%zu secrets in the tree", refused);
	secret_hit_format(first, line, sizeof(line));
	return err_set(e, EPERM,
		       "secret in the tree: %s (%zu in all%s). An image must not carry secrets: "
		       "inject them at boot. A file that must stay needs an entry in the "
		       "profile's secrets.allow: {\"path\": ..., \"rule\": \"%s\", "
		       "\"reason\": ...}",
		       line, refused, refused > 1 ? ", each listed above" : "",
		       secret_rule_names[first->rule]);
}
