/* Unit tests of the slot manifest parser (lib/manifest.c): a valid manifest, and every field
 * the device relies on, broken one at a time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/manifest.h"
#include "tap.h"

static struct err e;

#define SHA "5bc15cf645c6b3f2922f685acdee7c3879246a0bbddda412bf4a6c84aa1d7f04"
#define SALT "92dfd1c11566e0f07988fbf936a8c1584fd67a0c8e785f65e2ffce8ae700e711"
#define ROOT "82931b505ab321af4684785d2ef89066f1c8d8ca6af8a8d1ab16f2f42864636c"

static const char valid[] =
	"{\"format_version\":1,\"product\":\"fixture\",\"version\":\"1\",\"arch\":\"x86_64\","
	"\"rollback_index\":0,"
	"\"rootfs\":{\"size\":15728640,\"sha256\":\"" SHA "\"},"
	"\"verity\":{\"algorithm\":\"sha256\",\"data_block_size\":4096,\"hash_block_size\":4096,"
	"\"data_blocks\":3840,\"salt\":\"" SALT "\",\"root_hash\":\"" ROOT "\","
	"\"hash_offset\":4096},"
	"\"kernel\":{\"cmdline\":\"\"},"
	"\"health\":{\"checks\":[],\"window\":120,\"tries\":3},\"provenance\":{}}";

static void bail(const char *what)
{
	printf("Bail out! %s\n", what);
	exit(1);
}

/* valid with the first occurrence of from replaced by to (malloc'd). */
static char *mutate(const char *from, const char *to)
{
	const char *at = strstr(valid, from);
	size_t n = strlen(valid) - strlen(from) + strlen(to);
	char *s = malloc(n + 1);

	if (!at || !s)
		bail(from);
	memcpy(s, valid, (size_t)(at - valid));
	strcpy(s + (at - valid), to);
	strcat(s, at + strlen(from));
	return s;
}

static int parse(const char *s, struct manifest *m)
{
	memset(&e, 0, sizeof(e));
	return manifest_parse(s, strlen(s), m, &e);
}

/* The manifest with from replaced by to is rejected with a message containing frag. */
static void rejects(const char *what, const char *from, const char *to, const char *frag)
{
	char *s = mutate(from, to);
	struct manifest m;
	int r = parse(s, &m);

	ok(r == -EINVAL, "%s: rejected (%d)", what, r);
	has_str(e.msg, frag, "%s: message names it", what);
	free(s);
}

static void accepts(const char *what, const char *from, const char *to, struct manifest *m)
{
	char *s = mutate(from, to);
	int r = parse(s, m);

	ok(r == 0, "%s: accepted", what);
	if (r < 0)
		printf("#   %s\n", e.msg);
	free(s);
}

static void test_valid(void)
{
	struct manifest m;
	int r;

	memset(&m, 0x5a, sizeof(m));
	r = parse(valid, &m);
	is_int(r, 0, "valid manifest parses");
	if (r < 0)
		printf("#   %s\n", e.msg);
	is_int(m.format_version, 1, "format_version");
	is_str(m.product, "fixture", "product");
	is_str(m.version, "1", "version");
	is_str(m.arch, "x86_64", "arch");
	is_int(m.rollback_index, 0, "rollback_index");
	is_int(m.rootfs_size, 15728640, "rootfs.size");
	is_str(m.rootfs_sha256, SHA, "rootfs.sha256");
	is_str(m.verity.algorithm, "sha256", "verity.algorithm");
	is_int(m.verity.data_block_size, 4096, "verity.data_block_size");
	is_int(m.verity.hash_block_size, 4096, "verity.hash_block_size");
	is_int(m.verity.data_blocks, 3840, "verity.data_blocks");
	is_int(m.verity.hash_offset, 4096, "verity.hash_offset");
	is_str(m.verity.salt, SALT, "verity.salt");
	is_str(m.verity.root_hash, ROOT, "verity.root_hash");
	is_str(m.cmdline, "", "kernel.cmdline");

	/* the parse is not fooled by the length: the same bytes without the NUL terminator */
	{
		size_t n = strlen(valid);
		char *copy = malloc(n);

		if (!copy)
			abort();
		memcpy(copy, valid, n);
		r = manifest_parse(copy, n, &m, &e);
		is_int(r, 0, "valid manifest in a buffer without a terminating NUL");
		free(copy);
	}

	/* other valid values */
	accepts("rollback_index 2^40", "\"rollback_index\":0", "\"rollback_index\":1099511627776",
		&m);
	is_int(m.rollback_index, 1ULL << 40, "rollback_index 2^40 read back");
	accepts("product of 64 bytes", "\"product\":\"fixture\"",
		"\"product\":\"" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		"\"",
		&m);
	is_int(strlen(m.product), 64, "product of 64 bytes read back");
	accepts("kernel.cmdline with text", "\"cmdline\":\"\"",
		"\"cmdline\":\"console=ttyS0 quiet\"", &m);
	is_str(m.cmdline, "console=ttyS0 quiet", "kernel.cmdline read back");
	accepts("empty salt", "\"salt\":\"" SALT "\"", "\"salt\":\"\"", &m);
	is_str(m.verity.salt, "", "empty salt read back");
	accepts("rollback_index 7.0 (an integral number)", "\"rollback_index\":0",
		"\"rollback_index\":7.0", &m);
	is_int(m.rollback_index, 7, "rollback_index 7.0 read back as 7");
}

static void test_unknown_keys(void)
{
	struct manifest m;

	accepts("unknown top-level key", "\"provenance\":{}",
		"\"provenance\":{},\"future\":{\"a\":[1,2,{\"b\":null}]},\"zz\":true", &m);
	accepts("unknown key in rootfs", "\"rootfs\":{", "\"rootfs\":{\"compression\":\"none\",", &m);
	accepts("unknown key in verity", "\"verity\":{", "\"verity\":{\"fec\":{\"roots\":2},", &m);
	accepts("unknown key in kernel", "\"kernel\":{", "\"kernel\":{\"initrd\":null,", &m);
	accepts("health and provenance missing", ",\"health\":{\"checks\":[],\"window\":120,"
						 "\"tries\":3},\"provenance\":{}",
		"", &m);
	is_str(m.product, "fixture", "unknown keys: fields still read");
}

static void test_document(void)
{
	struct manifest m;
	int r;

	r = parse("{\"format_version\":1,", &m);
	ok(r < 0, "truncated JSON rejected");
	has_str(e.msg, "invalid JSON", "truncated JSON: message");
	r = parse("{format_version:1}", &m);
	ok(r < 0, "unquoted keys rejected");
	has_str(e.msg, "invalid JSON", "unquoted keys: message");
	r = parse("not json at all", &m);
	ok(r < 0, "text rejected");
	has_str(e.msg, "invalid JSON", "text: message");

	static const char *const not_obj[] = {"[]", "[1,2]", "\"str\"", "42", "null", "true"};
	for (size_t i = 0; i < sizeof(not_obj) / sizeof(not_obj[0]); i++) {
		r = parse(not_obj[i], &m);
		ok(r < 0, "%s (not an object) rejected", not_obj[i]);
		has_str(e.msg, "expected an object", "%s: message", not_obj[i]);
	}

	r = manifest_parse("", 0, &m, &e);
	ok(r < 0, "empty manifest rejected");
	has_str(e.msg, "empty", "empty manifest: message");
	r = parse("{}", &m);
	ok(r < 0, "empty object rejected");
	has_str(e.msg, "format_version", "empty object: names format_version");
	r = parse("   ", &m);
	ok(r < 0, "whitespace only rejected");

	/* > 1 MiB: the valid manifest padded with spaces to 1 MiB + 1 */
	{
		size_t n = (1u << 20) + 1, vl = strlen(valid);
		char *big = malloc(n);

		if (!big)
			abort();
		memcpy(big, valid, vl);
		memset(big + vl, ' ', n - vl);
		r = manifest_parse(big, n, &m, &e);
		ok(r < 0, "manifest of 1 MiB + 1 rejected");
		has_str(e.msg, "too large", "1 MiB + 1: message");
		r = manifest_parse(big, n - 1, &m, &e);
		is_int(r, 0, "the same padded to exactly 1 MiB is accepted");
		free(big);
	}

	/* a NUL byte inside, in a string and after the document */
	{
		size_t n = strlen(valid);
		char *s = malloc(n + 2);
		const char *at = strstr(valid, "fixture");

		if (!s || !at)
			abort();
		memcpy(s, valid, n + 1);
		s[at - valid + 3] = '\0'; /* "fix\0ure" */
		r = manifest_parse(s, n, &m, &e);
		ok(r < 0, "NUL byte inside a string rejected");
		has_str(e.msg, "not text", "NUL inside: message");
		memcpy(s, valid, n + 1);
		s[n] = '\0';
		s[n + 1] = '\0';
		r = manifest_parse(s, n + 1, &m, &e);
		ok(r < 0, "NUL byte after the document (counted in len) rejected");
		has_str(e.msg, "not text", "NUL after: message");
		free(s);
	}
}

static void test_fields(void)
{
	/* format_version */
	rejects("format_version missing", "\"format_version\":1,", "", "format_version");
	rejects("format_version 2", "\"format_version\":1", "\"format_version\":2",
		"format_version 2");
	rejects("format_version 0", "\"format_version\":1", "\"format_version\":0",
		"format_version");
	rejects("format_version \"1\"", "\"format_version\":1", "\"format_version\":\"1\"",
		"format_version");
	rejects("format_version 1.5", "\"format_version\":1", "\"format_version\":1.5",
		"format_version");

	/* product */
	rejects("product a number", "\"product\":\"fixture\"", "\"product\":5", "product");
	rejects("product null", "\"product\":\"fixture\"", "\"product\":null", "product");
	rejects("product an array", "\"product\":\"fixture\"", "\"product\":[\"fixture\"]",
		"product");
	rejects("product missing", "\"product\":\"fixture\",", "", "product");
	rejects("product of 65 bytes", "\"product\":\"fixture\"",
		"\"product\":\"" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		"x\"",
		"product");
	rejects("product of 65 bytes: says how long", "\"product\":\"fixture\"",
		"\"product\":\"" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		"x\"",
		"longer than 64");
	rejects("version a number", "\"version\":\"1\"", "\"version\":1", "version");
	rejects("arch of 17 bytes", "\"arch\":\"x86_64\"", "\"arch\":\"x86_64x86_64x86_64\"",
		"arch");

	/* rollback_index */
	rejects("rollback_index -1", "\"rollback_index\":0", "\"rollback_index\":-1",
		"rollback_index");
	rejects("rollback_index 1.5", "\"rollback_index\":0", "\"rollback_index\":1.5",
		"rollback_index");
	rejects("rollback_index 1e300", "\"rollback_index\":0", "\"rollback_index\":1e300",
		"rollback_index");
	rejects("rollback_index 2^64", "\"rollback_index\":0",
		"\"rollback_index\":18446744073709551616", "rollback_index");
	rejects("rollback_index 2^40 + 1", "\"rollback_index\":0",
		"\"rollback_index\":1099511627777", "rollback_index");
	rejects("rollback_index a string", "\"rollback_index\":0", "\"rollback_index\":\"0\"",
		"rollback_index");
	rejects("rollback_index true", "\"rollback_index\":0", "\"rollback_index\":true",
		"rollback_index");
	rejects("rollback_index -1e300", "\"rollback_index\":0", "\"rollback_index\":-1e300",
		"rollback_index");

	/* rootfs */
	rejects("rootfs missing", "\"rootfs\":{\"size\":15728640,\"sha256\":\"" SHA "\"},", "",
		"rootfs");
	rejects("rootfs a string", "\"rootfs\":{\"size\":15728640,\"sha256\":\"" SHA "\"}",
		"\"rootfs\":\"x\"", "rootfs");
	rejects("rootfs.size a string", "\"size\":15728640", "\"size\":\"15728640\"",
		"rootfs.size");
	rejects("rootfs.size missing", "\"size\":15728640,", "", "rootfs.size");
	rejects("rootfs.size negative", "\"size\":15728640", "\"size\":-15728640", "rootfs.size");
	rejects("rootfs.sha256 of 63 hex", "\"sha256\":\"" SHA "\"",
		"\"sha256\":\"5bc15cf645c6b3f2922f685acdee7c3879246a0bbddda412bf4a6c84aa1d7f0\"",
		"rootfs.sha256");
	rejects("rootfs.sha256 of 65 hex", "\"sha256\":\"" SHA "\"", "\"sha256\":\"" SHA "0\"",
		"rootfs.sha256");
	rejects("rootfs.sha256 of 66 hex", "\"sha256\":\"" SHA "\"", "\"sha256\":\"" SHA "00\"",
		"rootfs.sha256");
	rejects("rootfs.sha256 uppercase hex", "\"sha256\":\"" SHA "\"",
		"\"sha256\":\"5BC15CF645C6B3F2922F685ACDEE7C3879246A0BBDDDA412BF4A6C84AA1D7F04\"",
		"rootfs.sha256");
	rejects("rootfs.sha256 one uppercase digit", "\"sha256\":\"" SHA "\"",
		"\"sha256\":\"5bc15cf645c6b3f2922f685acdee7c3879246a0bbddda412bf4a6c84aa1d7f0A\"",
		"rootfs.sha256");
	rejects("rootfs.sha256 with a g", "\"sha256\":\"" SHA "\"",
		"\"sha256\":\"gbc15cf645c6b3f2922f685acdee7c3879246a0bbddda412bf4a6c84aa1d7f04\"",
		"rootfs.sha256");
	rejects("rootfs.sha256 a number", "\"sha256\":\"" SHA "\"", "\"sha256\":5", "rootfs.sha256");

	/* verity */
	rejects("verity missing",
		"\"verity\":{\"algorithm\":\"sha256\",\"data_block_size\":4096,"
		"\"hash_block_size\":4096,\"data_blocks\":3840,\"salt\":\"" SALT "\","
		"\"root_hash\":\"" ROOT "\",\"hash_offset\":4096},",
		"", "verity");
	rejects("verity an array", "\"verity\":{", "\"verity\":[],\"x\":{", "verity");
	rejects("verity.data_blocks 0", "\"data_blocks\":3840", "\"data_blocks\":0", "verity");
	rejects("verity.data_blocks 0: says it", "\"data_blocks\":3840", "\"data_blocks\":0",
		"data blocks");
	rejects("verity.data_blocks missing", "\"data_blocks\":3840,", "", "verity.data_blocks");
	rejects("verity.data_blocks 1e300", "\"data_blocks\":3840", "\"data_blocks\":1e300",
		"verity.data_blocks");
	rejects("verity.data_block_size 0", "\"data_block_size\":4096", "\"data_block_size\":0",
		"verity");
	rejects("verity.salt of odd length", "\"salt\":\"" SALT "\"", "\"salt\":\"abc\"",
		"verity.salt");
	rejects("verity.salt non-hex", "\"salt\":\"" SALT "\"", "\"salt\":\"zz\"", "verity.salt");
	rejects("verity.salt uppercase", "\"salt\":\"" SALT "\"", "\"salt\":\"AB\"", "verity.salt");
	rejects("verity.salt of 514 hex digits", "\"salt\":\"" SALT "\"",
		"\"salt\":\"" SALT SALT SALT SALT SALT SALT SALT SALT "00\"", "verity.salt");
	rejects("verity.salt a number", "\"salt\":\"" SALT "\"", "\"salt\":12", "verity.salt");
	rejects("verity.root_hash too short (38 hex)", "\"root_hash\":\"" ROOT "\"",
		"\"root_hash\":\"82931b505ab321af4684785d2ef89066f1c8d8\"", "verity.root_hash");
	rejects("verity.root_hash empty", "\"root_hash\":\"" ROOT "\"", "\"root_hash\":\"\"",
		"verity.root_hash");
	rejects("verity.root_hash non-hex", "\"root_hash\":\"" ROOT "\"",
		"\"root_hash\":\"x2931b505ab321af4684785d2ef89066f1c8d8ca6af8a8d1ab16f2f42864636c\"",
		"verity.root_hash");
	rejects("verity.root_hash missing", ",\"root_hash\":\"" ROOT "\"", "", "verity.root_hash");
	rejects("verity.algorithm missing", "\"algorithm\":\"sha256\",", "", "verity.algorithm");
	rejects("verity.algorithm of 16 bytes", "\"algorithm\":\"sha256\"",
		"\"algorithm\":\"sha256sha256sha2\"", "verity.algorithm");
	rejects("verity.hash_offset -4096", "\"hash_offset\":4096", "\"hash_offset\":-4096",
		"verity.hash_offset");

	/* kernel */
	rejects("kernel.cmdline missing", "\"kernel\":{\"cmdline\":\"\"}", "\"kernel\":{}",
		"kernel.cmdline");
	rejects("kernel.cmdline null", "\"cmdline\":\"\"", "\"cmdline\":null", "kernel.cmdline");
	rejects("kernel missing", "\"kernel\":{\"cmdline\":\"\"},", "", "kernel");

	/* sizes must agree */
	rejects("rootfs.size one more than data_blocks x data_block_size", "\"size\":15728640",
		"\"size\":15728641", "rootfs.size");
	rejects("rootfs.size one block less", "\"size\":15728640", "\"size\":15724544",
		"rootfs.size");
	rejects("data_blocks one more than rootfs.size / block size", "\"data_blocks\":3840",
		"\"data_blocks\":3841", "rootfs.size");
}

/* kernel.uki: optional; when there, every field checked */
static void test_uki(void)
{
	const char *k = "\"kernel\":{\"cmdline\":\"\"}";
	char good[512];
	struct manifest m;

	snprintf(good, sizeof(good), "\"kernel\":{\"cmdline\":\"\",\"uki\":{\"size\":19923456,"
		 "\"sha256\":\"%s\",\"signature_size\":287,\"signature_sha256\":\"%s\"}}", SHA,
		 ROOT);
	ok(parse(valid, &m) == 0 && !m.has_uki, "no kernel.uki: none");
	accepts("kernel.uki", k, good, &m);
	ok(m.has_uki && m.uki.size == 19923456 && m.uki.sig_size == 287 &&
		   strcmp(m.uki.sha256, SHA) == 0 && strcmp(m.uki.sig_sha256, ROOT) == 0,
	   "  its fields read");
	static const struct {
		const char *what, *from, *to, *frag;
	} bad[] = {
		{"kernel.uki not an object", "{\"size\":19923456", "7,\"x\":{\"size\":19923456",
		 "kernel.uki: expected an object"},
		{"kernel.uki.size 0", "\"size\":19923456", "\"size\":0", "a size of 0"},
		{"kernel.uki.size over 256 MiB", "\"size\":19923456", "\"size\":268435457",
		 "kernel.uki.size"},
		{"kernel.uki.size negative", "\"size\":19923456", "\"size\":-1", "kernel.uki.size"},
		{"kernel.uki.signature_size over 64 KiB", "\"signature_size\":287",
		 "\"signature_size\":65537", "kernel.uki.signature_size"},
		{"kernel.uki.sha256 short", SHA "\",\"sig", "abc\",\"sig", "64 hex"},
		{"kernel.uki.signature_sha256 not hex", ROOT "\"}}",
		 "zz931b505ab321af4684785d2ef89066f1c8d8ca6af8a8d1ab16f2f42864636c\"}}", "64 hex"},
		{"kernel.uki.sha256 missing", "\"sha256\":\"" SHA "\",", "", "kernel.uki.sha256"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char doc[2048], *at, *s;
		struct manifest m2;

		s = mutate(k, good);
		at = strstr(s, "\"uki\"");
		at = at ? strstr(at, bad[i].from) : NULL;
		if (!at)
			bail(bad[i].what);
		snprintf(doc, sizeof(doc), "%.*s%s%s", (int)(at - s), s, bad[i].to,
			 at + strlen(bad[i].from));
		free(s);
		ok(parse(doc, &m2) == -EINVAL && strstr(e.msg, bad[i].frag), "%s: rejected: %s",
		   bad[i].what, e.msg);
	}
}

int main(void)
{
	test_uki();
	test_valid();
	test_unknown_keys();
	test_document();
	test_fields();
	return tap_done();
}
