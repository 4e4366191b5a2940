/* Unit tests for builder/profile.c: profile_load and profile_load_buf. Every error class is
 * checked for a negative return, a message naming the file and the JSON path, and the cause;
 * valid profiles are checked field by field, including "extends" merging and the resolution of
 * relative paths against the file that wrote them. Profiles are written into a fresh temporary
 * directory, removed at the end. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/profile.h"
#include "lib/hash.h"
#include "tap.h"

static char tmp[PATH_MAX];  /* the temporary directory, symlinks resolved */
static char start_cwd[PATH_MAX];

/* A valid header: the three required keys. */
#define HDR "'product': 'demo', 'version': '1.0', 'base': {'debs': ['busybox-static']}"

static void die(const char *what)
{
	perror(what);
	exit(99);
}

static char *tpath(const char *name)
{
	static char buf[4][PATH_MAX];
	static int slot;
	char *o = buf[slot++ % 4];

	snprintf(o, PATH_MAX, "%s/%s", tmp, name);
	return o;
}

static void write_bytes(const char *name, const char *buf, size_t len)
{
	FILE *f = fopen(tpath(name), "wb");

	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		die(name);
}

/* Writes a profile; single quotes become double quotes so that tests stay readable. */
static void write_profile(const char *name, const char *text)
{
	char *s = strdup(text);

	if (!s)
		die("strdup");
	for (char *c = s; *c; c++)
		if (*c == '\'')
			*c = '"';
	write_bytes(name, s, strlen(s));
	free(s);
}

/* text on one line, shortened, for TAP descriptions */
static const char *oneline(const char *text)
{
	static char buf[4][160];
	static int slot;
	char *o = buf[slot++ % 4];
	size_t i = 0;

	for (; *text && i < sizeof(buf[0]) - 4; text++) {
		if (*text == '\n')
			continue;
		o[i++] = *text == '\'' ? '"' : *text;
	}
	strcpy(o + i, *text ? "..." : "");
	return o;
}

static void make_dir(const char *name)
{
	if (mkdir(tpath(name), 0755) < 0)
		die(name);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Loads name (under tmp) expecting failure; checks the message names the file `named` and
 * contains each non-NULL fragment (the JSON path, the cause). */
static void fails_naming(const char *name, const char *named, const char *what,
			 const char *frag1, const char *frag2, const char *frag3)
{
	struct profile *p = NULL;
	struct err e = {{0}};
	int r = profile_load(tpath(name), &p, &e);

	ok(r < 0, "%s: rejected (r=%d)", what, r);
	ok(p == NULL, "%s: no profile returned", what);
	profile_free(p);
	has_str(e.msg, named, "%s: message names the file %s", what, named);
	if (frag1)
		has_str(e.msg, frag1, "%s: message has \"%s\"", what, frag1);
	if (frag2)
		has_str(e.msg, frag2, "%s: message has \"%s\"", what, frag2);
	if (frag3)
		has_str(e.msg, frag3, "%s: message has \"%s\"", what, frag3);
}

static void fails(const char *name, const char *what, const char *frag1, const char *frag2,
		  const char *frag3)
{
	fails_naming(name, name, what, frag1, frag2, frag3);
}

/* Writes text as name and expects it to be rejected. */
static void bad(const char *name, const char *text, const char *frag1, const char *frag2)
{
	write_profile(name, text);
	fails(name, oneline(text), frag1, frag2, NULL);
}

/* Writes text as name and expects it to load; returns the profile (caller frees). */
static struct profile *good(const char *name, const char *text)
{
	struct profile *p = NULL;
	struct err e = {{0}};
	int r;

	write_profile(name, text);
	r = profile_load(tpath(name), &p, &e);
	if (!ok(r == 0 && p != NULL, "%s accepted: %s", name, oneline(text)))
		printf("#   error: %s\n", e.msg);
	return r == 0 ? p : NULL;
}

/* Loads name as written, expecting success. */
static struct profile *good_bytes(const char *name)
{
	struct profile *p = NULL;
	struct err e = {{0}};
	int r = profile_load(tpath(name), &p, &e);

	if (!ok(r == 0 && p != NULL, "%s accepted", name))
		printf("#   error: %s\n", e.msg);
	return r == 0 ? p : NULL;
}

static void accepted(const char *name, const char *text)
{
	profile_free(good(name, text));
}

static const char *base_str(const struct profile *p, const char *key)
{
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(p->doc, "base");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_syntax(void)
{
	char *big;
	size_t n = PROFILE_MAX_BYTES + 64;
	static const char nul[] = "{\"product\": \"demo\"\0, \"version\": \"1.0\"}";

	write_profile("syntax.json", "{\n  'product': 'demo',\n  'version': ,\n  'x': 1\n}\n");
	fails("syntax.json", "invalid JSON", "syntax.json:3:", "invalid JSON", NULL);
	write_profile("syntax2.json", "{'product': 'demo'");
	fails("syntax2.json", "unterminated object", "syntax2.json:1:", "invalid JSON", NULL);
	write_profile("empty.json", "");
	fails("empty.json", "empty file", "empty.json:1:1", "invalid JSON", NULL);
	write_profile("trailing.json", "{" HDR "}\n  x\n");
	fails("trailing.json", "trailing garbage", "trailing.json:2:3", "trailing data", NULL);
	write_profile("trailing2.json", "{" HDR "} {}");
	fails("trailing2.json", "a second document", "trailing2.json:1:", "trailing data", NULL);
	write_bytes("nul.json", nul, sizeof(nul) - 1);
	fails("nul.json", "NUL byte", "NUL byte", NULL, NULL);

	fails("missing.json", "file missing", "No such file or directory", NULL, NULL);
	make_dir("adir.json");
	fails("adir.json", "a directory as profile", "not a regular file", NULL, NULL);

	big = malloc(n);
	if (!big)
		die("malloc");
	memset(big, ' ', n);
	memcpy(big, "{\"product\": \"demo\"", 18);
	big[n - 1] = '}';
	write_bytes("big.json", big, n);
	fails("big.json", "file over 1 MiB", "larger than", "1048576", NULL);
	free(big);

	/* nesting: said so, with where, not "invalid JSON" (cJSON's own limit is 1000) */
	char deep[2100];
	for (int i = 0; i < 1001; i++)
		deep[i] = '[', deep[1001 + i] = ']';
	deep[2002] = '\0';
	write_bytes("deep.json", deep, strlen(deep));
	fails("deep.json", "nesting too deep", "deep.json:1:33:", "nesting deeper than 32 levels",
	      NULL);
	snprintf(deep, sizeof(deep), "{" HDR ", 'files': [{'dst': '/a', 'content': '%.*s'}]}", 40,
		 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[");
	accepted("deep-in-string.json", deep);
	/* a UTF-8 byte order mark is skipped (documented in docs/profiles.md) */
	snprintf(deep, sizeof(deep), "\xef\xbb\xbf{" HDR "}");
	for (char *c = deep; *c; c++)
		*c = *c == '\'' ? '"' : *c;
	write_bytes("bom.json", deep, strlen(deep));
	profile_free(good_bytes("bom.json"));

	bad("top-array.json", "[1, 2]", "(top level)", "expected an object");
	bad("top-string.json", "'demo'", "(top level)", "expected an object");
	bad("top-null.json", "null", "(top level)", "expected an object");
}

static void test_schema(void)
{
	char text[512];

	/* unknown keys */
	bad("unknown.json", "{" HDR ", 'foo': 1}", "foo", "unknown key");
	bad("unknown2.json", "{" HDR ", 'layout': {'slot_size': '512M', 'foo': 1}}", "layout.foo",
	    "unknown key");
	bad("unknown3.json",
	    "{" HDR ", 'files': [{'dst': '/a', 'content': ''}, {'dst': '/b', 'content': '', "
	    "'bogus': 1}]}",
	    "files[1].bogus", "unknown key");
	bad("unknown4.json",
	    "{" HDR ", 'health': {'checks': [{'name': 'n', 'exec': '/bin/true', 'x': 1}]}}",
	    "health.checks[0].x", "unknown key");
	bad("unknown5.json", "{" HDR ", 'Product': 'demo'}", "Product", "unknown key");

	/* duplicate keys */
	bad("dup.json", "{" HDR ", 'product': 'other'}", "product", "duplicate key");
	bad("dup2.json", "{" HDR ", 'kernel': {'cmdline': 'a', 'cmdline': 'b'}}", "kernel.cmdline",
	    "duplicate key");
	bad("dup3.json", "{" HDR ", 'files': [{'dst': '/a', 'dst': '/b', 'content': ''}]}",
	    "files[0].dst", "duplicate key");
	write_bytes("rootfs.tar", "", 0);
	bad("dup4.json",
	    "{'product': 'demo', 'version': '1.0', 'base': {'tar': 'rootfs.tar', 'tar': "
	    "'rootfs.tar'}}",
	    "base.tar", "duplicate key");

	/* wrong types */
	bad("type1.json", "{'product': 5, 'version': '1.0', 'base': {'debs': ['busybox-static']}}",
	    "product", "expected a string");
	bad("type2.json", "{" HDR ", 'kernel': {'modules': 'ext4'}}", "kernel.modules",
	    "expected an array");
	bad("type3.json", "{" HDR ", 'kernel': {'modules': ['ext4', 5]}}", "kernel.modules[1]",
	    "expected a string");
	bad("type4.json", "{" HDR ", 'files': {'dst': '/a', 'content': ''}}", "files",
	    "expected an array");
	bad("type5.json", "{" HDR ", 'health': {'tries': '3'}}", "health.tries",
	    "expected an integer");
	bad("type6.json", "{" HDR ", 'files': [{'dst': '/a', 'dir': false}]}", "files[0].dir",
	    "must be true");
	bad("type7.json", "{" HDR ", 'kernel': ['ext4']}", "kernel", "expected an object");
	bad("type8.json", "{" HDR ", 'extends': 5}", "extends", "expected a string");
	bad("type9.json", "{" HDR ", 'health': {'tries': 2.5}}", "health.tries",
	    "expected an integer");
	bad("type10.json", "{" HDR ", 'files': [{'dst': '/a', 'dir': 'yes'}]}", "files[0].dir",
	    "expected true or false");
	bad("type11.json", "{" HDR ", 'files': ['/a']}", "files[0]", "expected an object");
	bad("type12.json", "{" HDR ", 'outputs': 'raw'}", "outputs", "expected an array");

	/* required keys inside objects */
	bad("req1.json", "{" HDR ", 'files': [{'content': 'x'}]}", "files[0].dst", "missing");
	bad("req2.json", "{" HDR ", 'health': {'checks': [{'name': 'n'}]}}",
	    "health.checks[0]", "expected exactly one of \"exec\"");
	bad("req3.json", "{" HDR ", 'health': {'checks': [{'name': 'n', 'exec': '/x', 'unit': 'x.service'}]}}",
	    "health.checks[0]", "expected exactly one of \"exec\"");
	bad("unit1.json", "{" HDR ", 'health': {'checks': [{'name': 'n', 'unit': 'nginx'}]}}",
	    "health.checks[0].unit", "expected a systemd unit name");
	bad("unit2.json", "{" HDR ", 'health': {'checks': [{'name': 'n', 'unit': 'a b.service'}]}}",
	    "health.checks[0].unit", "expected a systemd unit name");
	bad("unit3.json", "{" HDR ", 'health': {'checks': [{'name': 'n', 'unit': '-x.service'}]}}",
	    "health.checks[0].unit", "expected a systemd unit name");

	/* integers out of range */
	bad("range1.json", "{" HDR ", 'health': {'tries': 0}}", "health.tries", "out of range");
	bad("range2.json", "{" HDR ", 'health': {'tries': 16}}", "health.tries", "out of range");
	bad("range3.json", "{" HDR ", 'health': {'tries': -1}}", "health.tries", "out of range");
	/* beyond what a long holds: out of range, not "expected an integer" (and no float cast) */
	bad("range4.json", "{" HDR ", 'health': {'window': 1e30}}", "health.window", "out of range");
	bad("range5.json", "{" HDR ", 'health': {'window': -1e300}}", "health.window",
	    "out of range");
	bad("range6.json", "{" HDR ", 'rollback_index': 9.3e18}", "rollback_index", "out of range");
	bad("range4.json",
	    "{" HDR ", 'health': {'checks': [{'name': 'n', 'exec': '/e', 'timeout': 3601}]}}",
	    "health.checks[0].timeout", "out of range");
	accepted("range-ok.json", "{" HDR ", 'health': {'tries': 15, 'window': 86400, "
				  "'checks': [{'name': 'n', 'exec': '/e', 'timeout': 1}]}}");
	accepted("range-ok2.json", "{" HDR ", 'health': {'tries': 1}}");

	/* sizes */
	bad("size1.json", "{" HDR ", 'layout': {'slot_size': '12Q'}}", "layout.slot_size",
	    "expected a size");
	bad("size2.json", "{" HDR ", 'layout': {'slot_size': '-1'}}", "layout.slot_size",
	    "expected a size");
	bad("size3.json", "{" HDR ", 'layout': {'slot_size': ''}}", "layout.slot_size",
	    "expected a size");
	bad("size4.json", "{" HDR ", 'layout': {'slot_size': 1.5}}", "layout.slot_size",
	    "expected a size");
	bad("size5.json", "{" HDR ", 'layout': {'slot_size': -1}}", "layout.slot_size",
	    "expected a size");
	bad("size6.json", "{" HDR ", 'layout': {'slot_size': '10%'}}", "layout.slot_size",
	    "expected a size");
	bad("size7.json", "{" HDR ", 'layout': {'esp_size': '17179869184T'}}", "layout.esp_size",
	    "expected a size");
	bad("size8.json", "{" HDR ", 'layout': {'data_size': true}}", "layout.data_size",
	    "expected a size");
	bad("size9.json", "{" HDR ", 'rootfs': {'headroom': 'abc'}}", "rootfs.headroom",
	    "expected a size");
	bad("size10.json", "{" HDR ", 'rootfs': {'headroom': '1001%'}}", "rootfs.headroom",
	    "percentage");
	bad("size11.json", "{" HDR ", 'rootfs': {'size': '512m'}}", "rootfs.size",
	    "expected a size");
	accepted("size-ok1.json", "{" HDR ", 'layout': {'slot_size': '512M'}}");
	accepted("size-ok2.json", "{" HDR ", 'layout': {'slot_size': '1G'}}");
	accepted("size-ok3.json", "{" HDR ", 'layout': {'slot_size': 268435456}}");
	accepted("size-ok4.json", "{" HDR ", 'rootfs': {'headroom': '10%'}}");
	accepted("size-ok5.json", "{" HDR ", 'layout': {'esp_size': '64MiB', 'data_size': '16M'}}");

	/* modes */
	bad("mode1.json", "{" HDR ", 'files': [{'dst': '/a', 'content': '', 'mode': '0999'}]}",
	    "files[0].mode", "expected an octal mode");
	bad("mode2.json", "{" HDR ", 'files': [{'dst': '/a', 'content': '', 'mode': '12345'}]}",
	    "files[0].mode", "expected an octal mode");
	bad("mode3.json", "{" HDR ", 'files': [{'dst': '/a', 'content': '', 'mode': 'rwx'}]}",
	    "files[0].mode", "expected an octal mode");
	bad("mode4.json", "{" HDR ", 'files': [{'dst': '/a', 'content': '', 'mode': 644}]}",
	    "files[0].mode", "expected an octal mode");

	/* owners */
	bad("owner1.json",
	    "{" HDR ", 'files': [{'dst': '/a', 'content': '', 'owner': 'root:root'}]}",
	    "files[0].owner", "expected a numeric owner");
	bad("owner2.json", "{" HDR ", 'files': [{'dst': '/a', 'content': '', 'owner': '0'}]}",
	    "files[0].owner", "expected a numeric owner");
	bad("owner3.json", "{" HDR ", 'files': [{'dst': '/a', 'content': '', 'owner': '0:0:0'}]}",
	    "files[0].owner", "expected a numeric owner");
	bad("owner4.json", "{" HDR ", 'files': [{'dst': '/a', 'content': '', 'owner': 0}]}",
	    "files[0].owner", "expected a numeric owner");

	/* enumerations */
	bad("enum1.json", "{" HDR ", 'arch': 'arm'}", "arch", "\"arm\" is not one of x86_64");
	bad("enum2.json", "{" HDR ", 'verity': {'hash': 'md5'}}", "verity.hash",
	    "\"md5\" is not one of");
	bad("enum3.json", "{" HDR ", 'outputs': ['raw', 'iso']}", "outputs[1]",
	    "\"iso\" is not one of");
	accepted("enum-ok.json", "{" HDR ", 'arch': 'x86_64', 'verity': {'hash': 'sha512'}, "
				 "'outputs': ['raw', 'qcow2', 'bundle']}");

	/* required top-level keys */
	bad("req-product.json", "{'version': '1.0', 'base': {'debs': ['busybox-static']}}",
	    "product", "missing");
	bad("req-version.json", "{'product': 'demo', 'base': {'debs': ['busybox-static']}}",
	    "version", "missing");
	bad("req-base.json", "{'product': 'demo', 'version': '1.0'}", "base", "missing");

	/* product and version names */
	bad("name1.json", "{'product': 'Upper', 'version': '1.0', 'base': {'debs': ['busybox']}}",
	    "product", "expected lower-case");
	bad("name2.json", "{'product': 'a/b', 'version': '1.0', 'base': {'debs': ['busybox']}}",
	    "product", "expected lower-case");
	bad("name3.json", "{'product': '', 'version': '1.0', 'base': {'debs': ['busybox']}}",
	    "product", "expected lower-case");
	snprintf(text, sizeof(text),
		 "{'product': '%065d', 'version': '1.0', 'base': {'debs': ['busybox']}}", 0);
	bad("name4.json", text, "product", "at most 64");
	snprintf(text, sizeof(text),
		 "{'product': 'a%063d', 'version': '1.0', 'base': {'debs': ['busybox']}}", 0);
	accepted("name-ok.json", text);
	bad("name5.json", "{'product': '-demo', 'version': '1.0', 'base': {'debs': ['busybox']}}",
	    "product", "expected lower-case");
	bad("ver1.json", "{'product': 'demo', 'version': '1 0', 'base': {'debs': ['busybox']}}",
	    "version", "expected letters");
	bad("ver2.json", "{'product': 'demo', 'version': '../x', 'base': {'debs': ['busybox']}}",
	    "version", "expected letters");
	bad("ver3.json", "{'product': 'demo', 'version': '', 'base': {'debs': ['busybox']}}",
	    "version", "expected letters");
	accepted("ver-ok.json",
		 "{'product': 'demo', 'version': '1.0~rc1+b2_X-y', 'base': {'debs': ['busybox']}}");

	/* strings with an escaped NUL would be silently truncated by cJSON: rejected at the
	 * JSON level, so the message gives line and column rather than a JSON path */
	bad("nul-escape.json", "{" HDR ", 'files': [{'dst': '/a', 'content': 'a\\u0000b'}]}",
	    ":1:", "\\u0000 is not allowed");
	accepted("backslash-u.json", "{" HDR ", 'files': [{'dst': '/a', 'content': 'a\\\\u0000b'}]}");
}

/* Every field's semantic range, checked when the profile is loaded (before any build work):
 * each row is a fragment added to a valid header, the JSON path the message must name and
 * a part of the reason. */
static const struct bad_value {
	const char *json, *path, *why;
} bad_values[] = {
	/* kernel */
	{"'kernel': {'cmdline': 'console=ttyS0\\nquiet'}", "kernel.cmdline", "one line"},
	{"'kernel': {'cmdline': 'a\\tb'}", "kernel.cmdline", "character 0x09"},
	{"'kernel': {'cmdline': 'root=a\\\\b'}", "kernel.cmdline", "character 0x5c"},
	{"'kernel': {'cmdline': 'caf\u00e9'}", "kernel.cmdline", "printable ASCII"},
	{"'kernel': {'cmdline': 'x=\\'a b'}", "kernel.cmdline", "unbalanced double quote"},
	{"'kernel': {'cmdline': 'quiet stele.slot=b'}", "kernel.cmdline", "boot manager"},
	{"'kernel': {'cmdline': 'stele.trial=1'}", "kernel.cmdline", "boot manager"},
	{"'kernel': {'cmdline': 'ro stele.roothash=00'}", "kernel.cmdline", "stele.roothash"},
	{"'kernel': {'modules': ['virtio_blk', '../evil']}", "kernel.modules[1]", "module name"},
	{"'kernel': {'modules': ['']}", "kernel.modules[0]", "module name"},
	{"'kernel': {'modules': ['a b']}", "kernel.modules[0]", "module name"},
	{"'kernel': {'modules': ['ext4', 'ext4']}", "kernel.modules[1]", "given twice"},
	/* layout */
	{"'layout': {'esp_size': 1}", "layout.esp_size", "below the minimum of 34 MiB"},
	{"'layout': {'esp_size': '33M'}", "layout.esp_size", "below the minimum"},
	{"'layout': {'esp_size': '8G'}", "layout.esp_size", "above the maximum of 4 GiB"},
	{"'layout': {'esp_size': '65537K'}", "layout.esp_size", "not a multiple of 1 MiB"},
	{"'layout': {'data_size': 0}", "layout.data_size", "below the minimum of 16 MiB"},
	{"'layout': {'data_size': '0'}", "layout.data_size", "0 bytes is below"},
	{"'layout': {'data_size': '15M'}", "layout.data_size", "below the minimum"},
	{"'layout': {'data_size': '2T'}", "layout.data_size", "above the maximum of 1 TiB"},
	{"'layout': {'data_size': 16777217}", "layout.data_size", "not a multiple of 1 MiB"},
	{"'layout': {'slot_size': '4M'}", "layout.slot_size", "below the minimum of 8 MiB"},
	{"'layout': {'slot_size': '8T'}", "layout.slot_size", "above the maximum of 256 GiB"},
	{"'layout': {'slot_size': '100000K'}", "layout.slot_size", "not a multiple of 1 MiB"},
	{"'layout': {'verity_size': 0}", "layout.verity_size", "below the minimum of 1 MiB"},
	{"'layout': {'verity_size': '5G'}", "layout.verity_size", "above the maximum of 4 GiB"},
	{"'layout': {'verity_size': '1536K'}", "layout.verity_size", "1.5 MiB is not a multiple"},
	{"'layout': {'slot_size': '64M'}, 'rootfs': {'size': '65M'}", "layout.slot_size",
	 "cannot hold rootfs.size (65 MiB)"},
	/* rootfs */
	{"'rootfs': {'size': '8T'}", "rootfs.size", "8 TiB is above the maximum of 256 GiB"},
	{"'rootfs': {'size': '4096'}", "rootfs.size", "4 KiB is below the minimum of 1 MiB"},
	{"'rootfs': {'size': 0}", "rootfs.size", "below the minimum"},
	{"'rootfs': {'size': 10485761}", "rootfs.size", "not a multiple of 4 KiB"},
	{"'rootfs': {'headroom': '1T'}", "rootfs.headroom", "above the maximum"},
	/* health */
	{"'health': {'window': 0}", "health.window", "out of range"},
	{"'health': {'window': 86401}", "health.window", "out of range"},
	{"'health': {'tries': 16}", "health.tries", "out of range"},
	{"'health': {'checks': [{'name': '', 'exec': '/x'}]}", "health.checks[0].name",
	 "expected letters"},
	{"'health': {'checks': [{'name': 'a/b', 'exec': '/x'}]}", "health.checks[0].name",
	 "expected letters"},
	{"'health': {'checks': [{'name': 'n', 'exec': 'x'}]}", "health.checks[0].exec",
	 "absolute path"},
	{"'health': {'checks': [{'name': 'n', 'exec': '/x\\n'}]}", "health.checks[0].exec",
	 "absolute path"},
	{"'health': {'checks': [{'name': 'n', 'exec': '/x', 'timeout': 0}]}",
	 "health.checks[0].timeout", "out of range"},
	{"'health': {'checks': [{'name': 'n', 'exec': '/x'}, {'name': 'n', 'exec': '/y'}]}",
	 "health.checks[1].name", "given twice"},
	/* files */
	{"'files': [{'dst': '/a', 'symlink': ''}]", "files[0].symlink", "1 to 4095 bytes"},
	{"'files': [{'dst': '/a', 'src': ''}]", "files[0].src", "non-empty"},
	/* outputs, sign, extends */
	{"'outputs': ['raw', 'raw']", "outputs[1]", "given twice"},
	{"'sign': {'key': 'k.pem'}", "sign.cert", "go together"},
	{"'sign': {'cert': 'c.pem'}", "sign.key", "go together"},
	{"'sign': {'key': 'k', 'cert': 'c', 'trust': ['']}", "sign.trust[0]", "non-empty"},
	/* the root is a directory */
	{"'files': [{'dst': '/', 'content': 'x'}]", "files[0].dst", "root directory"},
	{"'files': [{'dst': '//.', 'symlink': 'etc'}]", "files[0].dst", "root directory"},
	{"'files': [{'dst': '/', 'src': 'k.pem'}]", "files[0].dst", "root directory"},
	/* the files must exist and be regular files: a bad profile (exit 2), the field named */
	{"'sign': {'key': 'nonexistent.pem', 'cert': 'c.pem'}", "sign.key: ",
	 "nonexistent.pem: No such file or directory"},
	{"'sign': {'key': '/dev/zero', 'cert': 'c.pem'}", "sign.key: /dev/zero",
	 "a character device"},
	{"'sign': {'key': 'k.pem', 'cert': '/tmp'}", "sign.cert: /tmp", "a directory"},
	{"'sign': {'key': 'k.pem', 'cert': 'c.pem', 'trust': ['t.pem', '/dev/null']}",
	 "sign.trust[1]: /dev/null", "a character device"},
	{"'extends': ''", "extends", "non-empty"},
	{"'rollback_index': 1099511627777", "rollback_index", "out of range"},
};

static void test_values(void)
{
	char text[1024], name[32];

	write_bytes("k.pem", "k\n", 2); /* sign's files must exist */
	write_bytes("c.pem", "c\n", 2);
	write_bytes("t.pem", "t\n", 2);
	for (size_t i = 0; i < sizeof(bad_values) / sizeof(*bad_values); i++) {
		const struct bad_value *b = &bad_values[i];

		snprintf(name, sizeof(name), "value%zu.json", i);
		snprintf(text, sizeof(text), "{" HDR ", %s}", b->json);
		write_profile(name, text);
		fails(name, oneline(b->json), b->path, b->why, NULL);
	}
	/* a parent sets one, the child the other: checked on the merged profile */
	write_profile("value-parent.json", "{" HDR ", 'rootfs': {'size': '100M'}}");
	bad("value-child.json", "{'extends': 'value-parent.json', 'layout': {'slot_size': '64M'}}",
	    "layout.slot_size", "cannot hold rootfs.size");
	/* the edges are accepted */
	accepted("value-ok.json",
		 "{" HDR ", 'layout': {'esp_size': '34M', 'data_size': '16M', 'slot_size': '8M', "
		 "'verity_size': '1M'}, 'rootfs': {'size': '8M', 'headroom': '256G'}, "
		 "'kernel': {'cmdline': 'a=\\'b c\\' d', 'modules': ['dm-verity', 'sd_mod']}, "
		 "'health': {'checks': [{'name': 'a.b_c-1', 'exec': '/usr/bin/x y'}]}}");
	char big[PROFILE_CMDLINE_MAX + 200];
	memset(big, 'x', sizeof(big));
	snprintf(big, sizeof(big), "{" HDR ", 'kernel': {'cmdline': '%0*d'}}",
		 PROFILE_CMDLINE_MAX, 0);
	accepted("value-cmdline-max.json", big);
	snprintf(big, sizeof(big), "{" HDR ", 'kernel': {'cmdline': '%0*d'}}",
		 PROFILE_CMDLINE_MAX + 1, 0);
	bad("value-cmdline-long.json", big, "kernel.cmdline", "fit the boot environment");
}

static void test_base(void)
{
	write_bytes("rootfs.tar", "", 0);
	write_bytes("afile", "x", 1);
	make_dir("tree");

	bad("base1.json", "{'product': 'demo', 'version': '1.0', 'base': {}}", "base",
	    "expected one of: debs, dir, image, mmdebstrap, tar");
	bad("base2.json", "{'product': 'demo', 'version': '1.0', 'base': {'keep_owner': true}}",
	    "base", "expected one of: debs, dir, image, mmdebstrap, tar");
	bad("base3.json", "{'product': 'demo', 'version': '1.0', 'base': 'rootfs.tar'}", "base",
	    "expected an object");
	bad("base4.json",
	    "{'product': 'demo', 'version': '1.0', 'base': {'debs': ['busybox'], 'tar': "
	    "'rootfs.tar'}}",
	    "base", "both debs and tar");
	bad("base5.json",
	    "{'product': 'demo', 'version': '1.0', 'base': {'tar': 'rootfs.tar', 'foo': 1}}",
	    "base.foo", "unknown key for a tar base");
	bad("base6.json",
	    "{'product': 'demo', 'version': '1.0', 'base': {'debs': ['b'], 'keep_owner': true}}",
	    "base.keep_owner", "unknown key for a debs base");
	bad("base7.json", "{'product': 'demo', 'version': '1.0', 'base': {'debs': []}}",
	    "base.debs", "non-empty array");
	bad("base8.json", "{'product': 'demo', 'version': '1.0', 'base': {'debs': 'busybox'}}",
	    "base.debs", "non-empty array");
	bad("base9.json", "{'product': 'demo', 'version': '1.0', 'base': {'debs': ['-oFoo']}}",
	    "base.debs[0]", "package name");
	bad("base10.json",
	    "{'product': 'demo', 'version': '1.0', 'base': {'debs': ['busybox', 'a b']}}",
	    "base.debs[1]", "package name");
	bad("base11.json", "{'product': 'demo', 'version': '1.0', 'base': {'debs': ['busybox', 5]}}",
	    "base.debs[1]", "package name");
	write_profile("base12.json",
		      "{'product': 'demo', 'version': '1.0', 'base': {'tar': 'nope.tar'}}");
	fails("base12.json", "tar file missing", "base.tar", "nope.tar", "No such file");
	bad("base13.json", "{'product': 'demo', 'version': '1.0', 'base': {'tar': 5}}", "base.tar",
	    "expected the path");
	bad("base14.json", "{'product': 'demo', 'version': '1.0', 'base': {'tar': 'tree'}}",
	    "base.tar", "not a regular file");
	bad("base15.json", "{'product': 'demo', 'version': '1.0', 'base': {'dir': 'afile'}}",
	    "base.dir", "not a directory");
	write_profile("base16.json", "{'product': 'demo', 'version': '1.0', 'base': {'dir': 'nodir'}}");
	fails("base16.json", "dir missing", "base.dir", "nodir", "No such file");
	bad("base17.json",
	    "{'product': 'demo', 'version': '1.0', 'base': {'dir': 'tree', 'keep_owner': 'yes'}}",
	    "base.keep_owner", "expected true or false");
	accepted("base-ok1.json",
		 "{'product': 'demo', 'version': '1.0', 'base': {'dir': 'tree', 'keep_owner': true}}");
	accepted("base-ok2.json",
		 "{'product': 'demo', 'version': '1.0', 'base': {'debs': ['busybox-static', "
		 "'libc6=2.36-9+deb12u4']}}");
}

static void test_files(void)
{
	bad("files1.json", "{" HDR ", 'files': [{'dst': '/a'}]}", "files[0]", "exactly one of");
	bad("files2.json", "{" HDR ", 'files': [{'dst': '/a', 'content': 'x', 'symlink': 'y'}]}",
	    "files[0]", "exactly one of");
	bad("files3.json",
	    "{" HDR ", 'files': [{'dst': '/a', 'dir': true}, {'dst': '/b', 'dir': true, 'src': "
	    "'afile'}]}",
	    "files[1]", "exactly one of");
	write_profile("files4.json", "{" HDR ", 'files': [{'dst': '/a', 'src': 'no-such-src'}]}");
	fails("files4.json", "src missing on the host", "files[0].src", "no-such-src",
	      "No such file");
	bad("files5.json", "{" HDR ", 'files': [{'dst': '/etc/../x', 'content': ''}]}",
	    "files[0].dst", "\"..\" is not allowed");
	bad("files6.json", "{" HDR ", 'files': [{'dst': '..', 'content': ''}]}", "files[0].dst",
	    "\"..\" is not allowed");
	bad("files7.json", "{" HDR ", 'files': [{'dst': '/l', 'symlink': 't', 'mode': '0777'}]}",
	    "files[0].mode", "symlinks have no mode");
	bad("files8.json", "{" HDR ", 'files': [{'dst': '', 'content': ''}]}", "files[0].dst",
	    "empty path");
}

static void test_full(void)
{
	struct profile *p;
	uint8_t sha[SHA256_LEN];
	char *bytes;
	long len;
	FILE *f;

	write_bytes("hello.txt", "hello\n", 6);
	write_bytes("k.pem", "k\n", 2);
	write_bytes("c.pem", "c\n", 2);
	write_bytes("t.pem", "t\n", 2);
	p = good("full.json",
		 "{\n"
		 "  'product': 'demo-app',\n"
		 "  'version': '2.1.0',\n"
		 "  'base': {'debs': ['busybox-static', 'linux-image-cloud-amd64']},\n"
		 "  'kernel': {'modules': ['virtio_blk', 'ext4', 'dm-verity'],\n"
		 "             'cmdline': 'console=ttyS0 quiet'},\n"
		 "  'files': [\n"
		 "    {'dst': '/etc/hello', 'src': 'hello.txt'},\n"
		 "    {'dst': '/etc/motd', 'content': 'hi\\n', 'mode': '0600', 'owner': '1000:100'},\n"
		 "    {'dst': '/bin/sh', 'symlink': 'busybox', 'owner': '0:0'},\n"
		 "    {'dst': '/tmp', 'dir': true, 'mode': '1777'}\n"
		 "  ],\n"
		 "  'rootfs': {'size': '1G', 'headroom': '5%'},\n"
		 "  'health': {'checks': [{'name': 'up', 'exec': '/bin/true', 'timeout': 5}],\n"
		 "             'window': 120, 'tries': 3},\n"
		 "  'layout': {'esp_size': '64M', 'slot_size': '2G', 'data_size': 134217728},\n"
		 "  'verity': {'hash': 'sha256'},\n"
		 "  'sign': {'key': 'k.pem', 'cert': 'c.pem', 'trust': ['t.pem']},\n"
		 "  'outputs': ['raw']\n"
		 "}\n");
	if (!p) {
		ok(0, "full profile loads (remaining checks skipped)");
		return;
	}
	is_str(p->file, tpath("full.json"), "file as named");
	is_str(p->product, "demo-app", "product");
	is_str(p->version, "2.1.0", "version");
	is_str(p->arch, "x86_64", "arch defaults to x86_64");
	is_str(p->cmdline, "console=ttyS0 quiet", "cmdline");
	ok(p->base == &source_debs, "base is the debs source");
	ok(p->base_cfg != NULL, "base config parsed");
	is_int(p->nmodules, 3, "three modules");
	if (p->nmodules == 3) {
		is_str(p->modules[0], "virtio_blk", "modules[0]");
		is_str(p->modules[1], "ext4", "modules[1]");
		is_str(p->modules[2], "dm-verity", "modules[2]");
	}
	is_int(p->rootfs_size, 1ULL << 30, "rootfs.size 1G");
	is_int(p->headroom_pct, 5, "rootfs.headroom 5%%");
	is_int(p->headroom_bytes, 0, "no headroom bytes with a percentage");
	is_int(p->nfiles, 4, "four files");
	if (p->nfiles == 4) {
		is_str(p->files[0].dst, "/etc/hello", "files[0].dst");
		is_int(p->files[0].kind, PF_SRC, "files[0] is src");
		is_str(p->files[0].src, tpath("hello.txt"), "files[0].src absolute, next to the profile");
		ok(!p->files[0].has_mode, "files[0] has no mode");
		is_int(p->files[0].uid, 0, "files[0] uid defaults to 0");
		is_int(p->files[0].gid, 0, "files[0] gid defaults to 0");
		is_int(p->files[1].kind, PF_CONTENT, "files[1] is content");
		is_str(p->files[1].content, "hi\n", "files[1].content");
		is_int(p->files[1].content_len, 3, "files[1].content_len");
		ok(p->files[1].has_mode, "files[1] has a mode");
		is_int(p->files[1].mode, 0600, "files[1].mode 0600");
		is_int(p->files[1].uid, 1000, "files[1] uid");
		is_int(p->files[1].gid, 100, "files[1] gid");
		is_int(p->files[2].kind, PF_SYMLINK, "files[2] is a symlink");
		is_str(p->files[2].target, "busybox", "files[2].target");
		ok(!p->files[2].has_mode, "files[2] has no mode");
		is_int(p->files[3].kind, PF_DIR, "files[3] is a dir");
		is_str(p->files[3].dst, "/tmp", "files[3].dst");
		is_int(p->files[3].mode, 01777, "files[3].mode 1777");
	}
	/* the digest is of the file's bytes */
	f = fopen(tpath("full.json"), "rb");
	if (!f || fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0)
		die("full.json");
	bytes = malloc((size_t)len);
	if (!bytes || fread(bytes, 1, (size_t)len, f) != (size_t)len)
		die("full.json");
	fclose(f);
	sha256_buf(bytes, (size_t)len, sha);
	free(bytes);
	ok(memcmp(sha, p->sha256, SHA256_LEN) == 0, "sha256 is the digest of the file");
	profile_free(p);

	/* defaults and the other headroom forms */
	p = good("defaults.json", "{" HDR "}");
	if (p) {
		is_int(p->rootfs_size, 0, "rootfs.size defaults to 0 (automatic)");
		is_int(p->headroom_pct, 10, "headroom defaults to 10%%");
		is_int(p->headroom_bytes, 0, "headroom_bytes defaults to 0");
		is_str(p->cmdline, "", "cmdline defaults to empty");
		is_int(p->nmodules, 0, "no modules");
		ok(p->modules && p->modules[0] == NULL, "modules is an empty NULL-terminated list");
		is_int(p->nfiles, 0, "no files");
	}
	profile_free(p);
	p = good("unit-ok.json", "{" HDR ", 'health': {'checks': [{'name': 'web', 'unit': "
			       "'nginx.service'}, {'name': 'getty', 'unit': 'serial-getty@ttyS0.service'}]}}");
	profile_free(p);
	p = good("headroom-m.json", "{" HDR ", 'rootfs': {'headroom': '64M'}}");
	if (p) {
		is_int(p->headroom_bytes, 64ULL << 20, "headroom 64M -> 64 MiB");
		is_int(p->headroom_pct, 0, "headroom 64M -> no percentage");
	}
	profile_free(p);
	p = good("headroom-n.json", "{" HDR ", 'rootfs': {'headroom': 4096, 'size': 1048576}}");
	if (p) {
		is_int(p->headroom_bytes, 4096, "headroom 4096 -> 4096 bytes");
		is_int(p->headroom_pct, 0, "headroom 4096 -> no percentage");
		is_int(p->rootfs_size, 1048576, "rootfs.size as a number");
	}
	profile_free(p);
	p = good("headroom-0.json", "{" HDR ", 'rootfs': {'headroom': '0%', 'size': '2GiB'}}");
	if (p) {
		is_int(p->headroom_pct, 0, "headroom 0%% -> 0");
		is_int(p->headroom_bytes, 0, "headroom 0%% -> no bytes");
		is_int(p->rootfs_size, 2ULL << 30, "rootfs.size 2GiB");
	}
	profile_free(p);
}

static void test_relative(void)
{
	char cwd[PATH_MAX], want_src[PATH_MAX + 64], want_tar[PATH_MAX + 64];
	char want_nope[PATH_MAX + 64];
	struct profile *p = NULL;
	struct err e = {{0}};
	int r;

	make_dir("rel");
	make_dir("rel/data");
	make_dir("rel/tree");
	write_bytes("rel/data/hello.txt", "hello\n", 6);
	write_bytes("rel/rootfs.tar", "", 0);
	write_profile("rel/p.json",
		      "{'product': 'demo', 'version': '1.0', 'base': {'tar': 'rootfs.tar'},"
		      " 'files': [{'dst': '/c', 'content': 'x'}, {'dst': '/h', 'src': 'data/hello.txt'},"
		      " {'dst': '/abs', 'src': '/'}]}");

	/* from the parent directory, as "rel/p.json" */
	if (chdir(tmp) < 0 || !getcwd(cwd, sizeof(cwd)))
		die("chdir");
	snprintf(want_src, sizeof(want_src), "%s/rel/data/hello.txt", cwd);
	snprintf(want_tar, sizeof(want_tar), "%s/rel/rootfs.tar", cwd);
	snprintf(want_nope, sizeof(want_nope), "%s/rel/data/nope", cwd);
	r = profile_load("rel/p.json", &p, &e);
	if (!ok(r == 0, "loads as a cwd-relative path"))
		printf("#   error: %s\n", e.msg);
	if (r == 0) {
		is_str(p->file, "rel/p.json", "file kept as named");
		is_int(p->nfiles, 3, "three files");
		if (p->nfiles == 3) {
			is_str(p->files[1].src, want_src, "files[1].src resolved against the profile's directory");
			is_str(p->files[2].src, "/", "an absolute src is kept");
		}
		ok(p->base == &source_tar, "base is tar");
		is_str(base_str(p, "tar"), want_tar, "base.tar resolved against the profile's directory");
		profile_free(p);
		p = NULL;
	}

	/* from its own directory, as a bare name */
	if (chdir("rel") < 0)
		die("chdir");
	r = profile_load("p.json", &p, &e);
	if (!ok(r == 0, "loads as a bare file name"))
		printf("#   error: %s\n", e.msg);
	if (r == 0) {
		if (p->nfiles == 3)
			is_str(p->files[1].src, want_src, "files[1].src resolved from a bare name");
		is_str(base_str(p, "tar"), want_tar, "base.tar resolved from a bare name");
		profile_free(p);
		p = NULL;
	}

	/* an error through a relative path names the file as given */
	write_profile("rel/bad.json", "{" HDR ", 'files': [{'dst': '/h', 'src': 'data/nope'}]}");
	r = profile_load("./bad.json", &p, &e);
	ok(r < 0, "relative src missing: rejected");
	has_str(e.msg, "./bad.json", "relative src missing: message names the file as given");
	has_str(e.msg, "files[0].src", "relative src missing: message has the JSON path");
	has_str(e.msg, want_nope, "relative src missing: message has the resolved path");
	profile_free(p);
	p = NULL;
	if (chdir(start_cwd) < 0)
		die("chdir");

	/* a dir base resolved too */
	p = good("rel/dirbase.json", "{'product': 'demo', 'version': '1.0', 'base': {'dir': 'tree'}}");
	if (p) {
		ok(p->base == &source_dir, "base is dir");
		is_str(base_str(p, "dir"), tpath("rel/tree"), "base.dir resolved against the profile");
	}
	profile_free(p);
}

static void test_buf(void)
{
	static const char text[] =
		"{\"product\": \"demo\", \"version\": \"1.0\", \"base\": {\"tar\": \"rootfs.tar\"},"
		" \"files\": [{\"dst\": \"/h\", \"src\": \"data/hello.txt\"}]}";
	static const char badtext[] = "{\"product\": \"demo\", \"layout\": {\"x\": 1}}";
	static const char nul[] = "{\"product\": \"demo\"}\0";
	static const char ext[] = "{\"extends\": \"p.json\", \"version\": \"9\"}";
	struct profile *p = NULL;
	struct err e = {{0}};
	int r;

	/* test_relative made rel/ */
	r = profile_load_buf("<memory>", text, strlen(text), tpath("rel"), &p, &e);
	if (!ok(r == 0, "profile_load_buf loads"))
		printf("#   error: %s\n", e.msg);
	if (r == 0) {
		is_str(p->file, "<memory>", "profile_load_buf keeps the name");
		if (p->nfiles == 1)
			is_str(p->files[0].src, tpath("rel/data/hello.txt"),
			       "profile_load_buf resolves src against basedir");
		else
			ok(0, "profile_load_buf: one file");
		is_str(base_str(p, "tar"), tpath("rel/rootfs.tar"),
		       "profile_load_buf resolves base.tar against basedir");
		profile_free(p);
		p = NULL;
	}
	/* the same text against tmp, which has no data/hello.txt */
	r = profile_load_buf("mem.json", text, strlen(text), tmp, &p, &e);
	ok(r < 0, "profile_load_buf: paths resolve against basedir");
	has_str(e.msg, "mem.json", "profile_load_buf error names the given name");
	has_str(e.msg, "files[0].src", "profile_load_buf error has the JSON path");
	has_str(e.msg, tpath("data/hello.txt"), "profile_load_buf error has the resolved path");
	if (r == 0)
		profile_free(p);
	p = NULL;

	r = profile_load_buf("mem2.json", badtext, strlen(badtext), tmp, &p, &e);
	ok(r < 0, "profile_load_buf: unknown key rejected");
	has_str(e.msg, "mem2.json", "profile_load_buf: message names the given name");
	has_str(e.msg, "layout.x", "profile_load_buf: message has the JSON path");
	has_str(e.msg, "unknown key", "profile_load_buf: message has the cause");
	if (r == 0)
		profile_free(p);
	p = NULL;

	r = profile_load_buf("mem3.json", nul, sizeof(nul) - 1, tmp, &p, &e);
	ok(r < 0, "profile_load_buf: NUL byte rejected");
	has_str(e.msg, "mem3.json", "profile_load_buf NUL: message names the given name");
	has_str(e.msg, "NUL byte", "profile_load_buf NUL: message has the cause");
	if (r == 0)
		profile_free(p);
	p = NULL;

	/* extends from a buffer resolves against basedir */
	r = profile_load_buf("mem4.json", ext, strlen(ext), tpath("rel"), &p, &e);
	if (!ok(r == 0, "profile_load_buf with extends loads"))
		printf("#   error: %s\n", e.msg);
	if (r == 0) {
		is_str(p->version, "9", "profile_load_buf extends: child version wins");
		is_str(p->product, "demo", "profile_load_buf extends: parent product kept");
		is_int(p->nfiles, 3, "profile_load_buf extends: parent files kept");
		profile_free(p);
	}
}

static void test_extends(void)
{
	struct profile *p;
	const cJSON *base;

	make_dir("ext");
	make_dir("ext/sub");
	make_dir("ext/sub/gp");
	write_bytes("ext/sub/pdata.txt", "p", 1);
	write_bytes("ext/sub/gp/gdata.txt", "g", 1);
	write_bytes("ext/sub/parent.tar", "", 0);
	write_bytes("ext/rootfs.tar", "", 0);
	write_bytes("ext/cdata.txt", "c", 1);

	write_profile("ext/sub/parent.json",
		      "{'product': 'parent', 'version': '1', 'base': {'debs': ['busybox-static']},"
		      " 'kernel': {'modules': ['virtio_blk', 'ext4'], 'cmdline': 'console=ttyS0'},"
		      " 'files': [{'dst': '/etc/p', 'src': 'pdata.txt'}],"
		      " 'rootfs': {'size': '1G', 'headroom': '5%'},"
		      " 'health': {'tries': 3, 'window': 60}}");

	/* nested objects merge, base replaced wholesale, files concatenated parent first */
	p = good("ext/child.json",
		 "{'extends': 'sub/parent.json', 'version': '2', 'base': {'tar': 'rootfs.tar'},"
		 " 'kernel': {'cmdline': 'quiet'},"
		 " 'files': [{'dst': '/etc/c', 'content': 'c'}, {'dst': '/etc/c2', 'src': 'cdata.txt'}],"
		 " 'rootfs': {'headroom': '64M'}, 'health': {'tries': 5}}");
	if (p) {
		is_str(p->product, "parent", "extends: parent's product kept");
		is_str(p->version, "2", "extends: child's version wins");
		is_str(p->cmdline, "quiet", "extends: child's kernel.cmdline wins");
		is_int(p->nmodules, 2, "extends: parent's kernel.modules kept");
		if (p->nmodules == 2) {
			is_str(p->modules[0], "virtio_blk", "extends: modules[0]");
			is_str(p->modules[1], "ext4", "extends: modules[1]");
		}
		ok(p->base == &source_tar, "extends: base is the child's tar");
		base = cJSON_GetObjectItemCaseSensitive(p->doc, "base");
		ok(cJSON_GetObjectItemCaseSensitive(base, "debs") == NULL,
		   "extends: parent's debs gone from base");
		is_int(cJSON_GetArraySize(base), 1, "extends: base has one key");
		is_str(base_str(p, "tar"), tpath("ext/rootfs.tar"),
		       "extends: child's tar resolved against the child");
		is_int(p->nfiles, 3, "extends: files concatenated");
		if (p->nfiles == 3) {
			is_str(p->files[0].dst, "/etc/p", "extends: parent's file first");
			is_str(p->files[0].src, tpath("ext/sub/pdata.txt"),
			       "extends: parent's src resolved against the parent's directory");
			is_str(p->files[1].dst, "/etc/c", "extends: child's files after");
			is_str(p->files[1].content, "c", "extends: child's content");
			is_str(p->files[2].src, tpath("ext/cdata.txt"),
			       "extends: child's src resolved against the child's directory");
		}
		is_int(p->rootfs_size, 1ULL << 30, "extends: parent's rootfs.size kept");
		is_int(p->headroom_bytes, 64ULL << 20, "extends: child's rootfs.headroom wins");
		is_int(p->headroom_pct, 0, "extends: no percentage once headroom is a size");
		ok(cJSON_GetObjectItemCaseSensitive(p->doc, "extends") == NULL,
		   "extends: key not kept in the merged document");
		{
			const cJSON *h = cJSON_GetObjectItemCaseSensitive(p->doc, "health");
			const cJSON *t = cJSON_GetObjectItemCaseSensitive(h, "tries");
			const cJSON *w = cJSON_GetObjectItemCaseSensitive(h, "window");

			is_int(cJSON_IsNumber(t) ? t->valueint : -1, 5, "extends: health.tries from child");
			is_int(cJSON_IsNumber(w) ? w->valueint : -1, 60, "extends: health.window from parent");
		}
	}
	profile_free(p);

	/* arrays other than files are replaced, not concatenated */
	p = good("ext/child-mods.json",
		 "{'extends': 'sub/parent.json', 'kernel': {'modules': ['nvme']}}");
	if (p) {
		is_int(p->nmodules, 1, "extends: child's kernel.modules replace the parent's");
		if (p->nmodules == 1)
			is_str(p->modules[0], "nvme", "extends: modules[0] from the child");
		is_str(p->cmdline, "console=ttyS0", "extends: parent's cmdline kept");
		ok(p->base == &source_debs, "extends: parent's base used when the child has none");
	}
	profile_free(p);

	/* parent's relative base path resolved against the parent's directory */
	write_profile("ext/sub/parent-tar.json",
		      "{'product': 'pt', 'version': '1', 'base': {'tar': 'parent.tar'}}");
	p = good("ext/child-tar.json", "{'extends': 'sub/parent-tar.json'}");
	if (p) {
		ok(p->base == &source_tar, "extends: parent's tar base");
		is_str(base_str(p, "tar"), tpath("ext/sub/parent.tar"),
		       "extends: parent's base.tar resolved against the parent's directory");
	}
	profile_free(p);

	/* three levels: each level's paths resolved against its own directory */
	write_profile("ext/sub/gp/gp.json",
		      "{'product': 'gp', 'version': '0', 'base': {'debs': ['busybox']},"
		      " 'files': [{'dst': '/g', 'src': 'gdata.txt'}]}");
	write_profile("ext/sub/mid.json",
		      "{'extends': 'gp/gp.json', 'files': [{'dst': '/p', 'src': 'pdata.txt'}]}");
	p = good("ext/leaf.json",
		 "{'extends': 'sub/mid.json', 'files': [{'dst': '/c', 'src': 'cdata.txt'}]}");
	if (p) {
		is_str(p->product, "gp", "three levels: grandparent's product");
		is_int(p->nfiles, 3, "three levels: three files");
		if (p->nfiles == 3) {
			is_str(p->files[0].src, tpath("ext/sub/gp/gdata.txt"),
			       "three levels: grandparent's file first, its own directory");
			is_str(p->files[1].src, tpath("ext/sub/pdata.txt"),
			       "three levels: parent's file second, its own directory");
			is_str(p->files[2].src, tpath("ext/cdata.txt"),
			       "three levels: child's file last, its own directory");
		}
	}
	profile_free(p);

	/* parent missing */
	write_profile("ext/orphan.json", "{'extends': 'gone.json', " HDR "}");
	fails("ext/orphan.json", "parent missing", "extends", "gone.json", "No such file");

	/* cycles */
	write_profile("ext/a.json", "{'extends': 'b.json', " HDR "}");
	write_profile("ext/b.json", "{'extends': 'a.json'}");
	fails("ext/a.json", "cycle a -> b -> a", "extends", "levels", NULL);
	write_profile("ext/self.json", "{'extends': 'self.json', " HDR "}");
	fails("ext/self.json", "cycle self -> self", "extends", "levels", NULL);

	/* an error inside the parent names the parent */
	write_profile("ext/sub/parent-bad.json", "{" HDR ", 'kernel': {'foo': 1}}");
	write_profile("ext/child-bad.json", "{'extends': 'sub/parent-bad.json', 'version': '3'}");
	fails_naming("ext/child-bad.json", "ext/sub/parent-bad.json", "error in the parent",
		     "kernel.foo", "unknown key", NULL);
	write_profile("ext/sub/parent-badsrc.json",
		      "{" HDR ", 'files': [{'dst': '/x', 'src': 'cdata.txt'}]}");
	write_profile("ext/child-badsrc.json", "{'extends': 'sub/parent-badsrc.json'}");
	fails_naming("ext/child-badsrc.json", "ext/sub/parent-badsrc.json",
		     "parent's src missing in the parent's directory", "files[0].src",
		     "ext/sub/cdata.txt", "No such file");

	/* an error in the child is still the child's, even with a valid parent */
	write_profile("ext/child-err.json", "{'extends': 'sub/parent.json', 'kernel': {'x': 1}}");
	fails("ext/child-err.json", "error in the child", "kernel.x", "unknown key", NULL);
	/* the child's base is validated alone: two sources in one base is an error */
	write_profile("ext/child-two.json",
		      "{'extends': 'sub/parent.json', 'base': {'debs': ['b'], 'tar': 'rootfs.tar'}}");
	fails("ext/child-two.json", "two sources in the child's base", "base", "both debs and tar",
	      NULL);
}

/* "secrets.allow": path patterns, known rules, a reason each; typed in order */
static void test_secrets(void)
{
	struct profile *p;

	bad("sec1.json", "{" HDR ", 'secrets': {'allow': [{'path': 'etc/x', 'rule': 'jwt', "
			 "'reason': 'r'}]}}",
	    "secrets.allow[0].path", "expected an absolute path");
	bad("sec2.json", "{" HDR ", 'secrets': {'allow': [{'path': '/etc/x', 'rule': 'password', "
			 "'reason': 'r'}]}}",
	    "secrets.allow[0].rule", "private-key-pem");
	bad("sec3.json", "{" HDR ", 'secrets': {'allow': [{'path': '/etc/x', 'rule': 'jwt', "
			 "'reason': ''}]}}",
	    "secrets.allow[0].reason", "non-empty");
	bad("sec4.json", "{" HDR ", 'secrets': {'allow': [{'path': '/etc/x', 'rule': 'jwt'}]}}",
	    "secrets.allow[0].reason", "missing");
	bad("sec5.json", "{" HDR ", 'secrets': {'allow': [{'path': '/etc/x', 'rule': 'jwt', "
			 "'reason': 'r', 'until': '2027'}]}}",
	    "secrets.allow[0].until", "unknown");
	bad("sec6.json", "{" HDR ", 'secrets': {'deny': []}}", "secrets.deny", "unknown");
	bad("sec7.json", "{" HDR ", 'secrets': {'allow': {'path': '/x'}}}", "secrets.allow",
	    "array");
	p = good("sec-ok.json",
		 "{" HDR ", 'secrets': {'allow': [{'path': '/etc/demo/*.key', 'rule': "
		 "'private-key-pem', 'reason': 'the published demo key'}, {'path': '/srv/.git', "
		 "'rule': 'git-directory', 'reason': 'r2'}]}}");
	ok(p && p->nsecrets_allow == 2 && strcmp(p->secrets_allow[0].path, "/etc/demo/*.key") == 0 &&
	   p->secrets_allow[0].rule == SECRET_PEM_KEY &&
	   strcmp(p->secrets_allow[0].reason, "the published demo key") == 0 &&
	   p->secrets_allow[1].rule == SECRET_GIT_DIR,
	   "secrets.allow typed: path, rule and reason of each entry, in order");
	profile_free(p);
	p = good("sec-none.json", "{" HDR "}");
	ok(p && p->nsecrets_allow == 0, "no secrets section: an empty allow list");
	profile_free(p);
}

/* secure_boot: on by default for a bootable image (a "kernel"), off without one, as asked */
static void test_secure_boot(void)
{
	static const struct {
		const char *name, *text;
		bool want;
	} cases[] = {
		{"sb1.json", "{" HDR ", 'kernel': {}}", true},
		{"sb2.json", "{" HDR "}", false},
		{"sb3.json", "{" HDR ", 'kernel': {}, 'secure_boot': false}", false},
		{"sb4.json", "{" HDR ", 'secure_boot': true}", true},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct profile *p = good(cases[i].name, cases[i].text);

		ok(p && p->secure_boot == cases[i].want, "  secure_boot is %s",
		   cases[i].want ? "on" : "off");
		profile_free(p);
	}
	struct profile *p = good("sb5.json", "{'extends': 'sb1.json', 'secure_boot': false}");
	ok(p && !p->secure_boot, "  an extending profile turns it off");
	profile_free(p);
}

int main(void)
{
	const char *t = getenv("TMPDIR");
	char templ[PATH_MAX];

	if (!getcwd(start_cwd, sizeof(start_cwd)))
		die("getcwd");
	snprintf(templ, sizeof(templ), "%s/stele-test-profile.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(templ) || !realpath(templ, tmp))
		die("mkdtemp");

	test_syntax();
	test_secure_boot();
	test_schema();
	test_values();
	test_base();
	test_files();
	test_full();
	test_relative();
	test_buf();
	test_extends();
	test_secrets();

	if (chdir(start_cwd) < 0 || nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		die("cleanup");
	return tap_done();
}
