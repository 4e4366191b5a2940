/* lib/credential.c (SMBIOS type 11 credentials, base64) and rootfs/init/credentials.c (into
 * /run): names, base64 both ways and its refusals, structures with every kind of string and
 * every way to be malformed, and the import into a directory tree standing in for /run. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/credential.h"
#include "rootfs/init/credentials.h"
#include "tap.h"

struct seen {
	char names[8][64];
	size_t lens[8];
	uint8_t first[8];
	int n;
};

static int collect(const char *name, const uint8_t *value, size_t len, void *userdata)
{
	struct seen *s = userdata;

	if (s->n < 8) {
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
		s->lens[s->n] = len;
		s->first[s->n] = len ? value[0] : 0;
	}
	s->n++;
	return 0;
}

/* A type 11 structure: header (type, length 5, handle), count, then the strings. */
static size_t structure(uint8_t *out, const char *const *strs, int n)
{
	size_t at = 5;

	out[0] = 11, out[1] = 5, out[2] = 0x34, out[3] = 0x12, out[4] = (uint8_t)n;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(strs[i]) + 1;

		memcpy(out + at, strs[i], l);
		at += l;
	}
	out[at++] = 0;
	if (n == 0)
		out[at++] = 0;
	return at;
}

static void names(void)
{
	ok(credential_name_ok("app-token", 9) && credential_name_ok("a.b_c-1", 7) &&
	   credential_name_ok("..x", 3), "names: letters, digits, _ . -");
	ok(!credential_name_ok("", 0) && !credential_name_ok(".", 1) && !credential_name_ok("..", 2) &&
	   !credential_name_ok("a/b", 3) && !credential_name_ok("a b", 3) &&
	   !credential_name_ok("a\nb", 3), "names: empty, . and .., a slash, a space, a newline refused");
	char longname[300];
	memset(longname, 'a', sizeof(longname));
	ok(credential_name_ok(longname, 255) && !credential_name_ok(longname, 256),
	   "names: 255 bytes at most");
}

static void base64(void)
{
	uint8_t in[100], out[100];
	char text[200];
	bool good = true;
	long n;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 11);
	for (size_t len = 0; len <= sizeof(in); len++) {
		credential_base64_encode(in, len, text);
		n = credential_base64_decode(text, strlen(text), out, sizeof(out));
		good = good && strlen(text) == 4 * ((len + 2) / 3) && n == (long)len &&
		       memcmp(in, out, len) == 0;
	}
	ok(good, "base64: every length from 0 to 100 bytes round-trips");
	credential_base64_encode((const uint8_t *)"foobar", 6, text);
	is_str(text, "Zm9vYmFy", "base64: RFC 4648's foobar");
	credential_base64_encode((const uint8_t *)"fo", 2, text);
	is_str(text, "Zm8=", "base64: padding");
	ok(credential_base64_decode("Zm9", 3, out, 10) < 0 &&
	   credential_base64_decode("Zm9v!mFy", 8, out, 10) < 0 &&
	   credential_base64_decode("Zm=v", 4, out, 10) < 0 &&
	   credential_base64_decode("Zg==Zg==", 8, out, 10) < 0 &&
	   credential_base64_decode("Z===", 4, out, 10) < 0 &&
	   credential_base64_decode("Zh==", 4, out, 10) < 0 && /* "Zg==" with a stray bit */
	   credential_base64_decode("Zm9vYmFy", 8, out, 5) < 0,
	   "base64: a bad length, a foreign byte, '=' inside, padding before the end, too much "
	   "padding, more than fits: refused");
}

static void parse(void)
{
	uint8_t raw[70000];
	struct seen s = {0};
	unsigned skipped = 0;
	struct err e = {{0}};
	char big[CREDENTIAL_SIZE_MAX + 64];
	size_t len;
	int r;

	memset(big, 'x', sizeof(big));
	memcpy(big, "io.systemd.credential:big=", 26); /* then 32 KiB + 37 bytes of x */
	big[sizeof(big) - 1] = '\0';
	const char *strs[] = {
		"some OEM string",
		"io.systemd.credential:greeting=hello world",
		"io.systemd.credential.binary:blob=AAECAw==",
		"io.systemd.credential:../passwd=x",
		"io.systemd.credential.binary:bad=not base64!",
		"io.systemd.credential:noequals",
		big,
		"io.systemd.credential:empty=",
	};
	len = structure(raw, strs, 8);
	r = credential_smbios_parse(raw, len, collect, &s, &skipped, &e);
	ok(r == 0 && s.n == 3 && strcmp(s.names[0], "greeting") == 0 && s.lens[0] == 11 &&
	   s.first[0] == 'h' && strcmp(s.names[1], "blob") == 0 && s.lens[1] == 4 &&
	   s.first[1] == 0 && strcmp(s.names[2], "empty") == 0 && s.lens[2] == 0,
	   "parse: a text, a binary and an empty credential; the OEM string ignored");
	is_int(skipped, 4, "parse: a name with a slash, bad base64, no '=', a value over 32 KiB: "
	       "left out and counted");

	len = structure(raw, NULL, 0);
	s.n = 0;
	ok(credential_smbios_parse(raw, len, collect, &s, &skipped, &e) == 0 && s.n == 0,
	   "parse: a structure without strings");
	len = structure(raw, strs + 1, 1);
	ok(credential_smbios_parse(raw, len - 2, collect, &s, NULL, &e) == -EINVAL &&
	   strstr(e.msg, "runs past the end"), "parse: a string without its NUL: refused (%s)", e.msg);
	raw[0] = 1;
	ok(credential_smbios_parse(raw, len, collect, &s, NULL, &e) == -EINVAL,
	   "parse: another SMBIOS type: refused");
	raw[0] = 11, raw[1] = 200;
	ok(credential_smbios_parse(raw, len, collect, &s, NULL, &e) == -EINVAL,
	   "parse: a formatted length past the data: refused");
	raw[1] = 4;
	ok(credential_smbios_parse(raw, len, collect, &s, NULL, &e) == -EINVAL,
	   "parse: a formatted length under 5: refused");
	ok(credential_smbios_parse(raw, 3, collect, &s, NULL, &e) == -EINVAL,
	   "parse: 3 bytes: refused");
}

static char tmp[256];

static void put(const char *rel, const uint8_t *buf, size_t len)
{
	char path[512], dir[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", dir);
	if (system(cmd) != 0)
		abort();
	f = fopen(path, "wb");
	fwrite(buf, 1, len, f);
	fclose(f);
}

/* The first n - 1 bytes of path, NUL-terminated ("" when it cannot be read). */
static void slurp(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t len = f ? fread(buf, 1, n - 1, f) : 0;

	buf[len] = '\0';
	if (f)
		fclose(f);
}

static int rm_one(const char *p, const struct stat *sb, int type, struct FTW *f)
{
	(void)sb, (void)type, (void)f;
	return remove(p);
}

static void import(void)
{
	uint8_t raw[512];
	char path[512], dmi[300], root[300], buf[64];
	const char *a[] = {"io.systemd.credential:token=first", "io.systemd.credential:x=1"};
	const char *b[] = {"io.systemd.credential:token=second", "io.systemd.credential:a/b=2"};
	const char *c[] = {"io.systemd.credential:other=3"};
	unsigned n = 0, skipped = 0;
	struct err e = {{0}};
	struct stat st;
	size_t len;

	snprintf(tmp, sizeof(tmp), "/tmp/stele-test-credential.XXXXXX");
	if (!mkdtemp(tmp))
		abort();
	snprintf(dmi, sizeof(dmi), "%s/dmi", tmp);
	snprintf(root, sizeof(root), "%s/root", tmp);
	ok(credentials_import(dmi, root, &n, &skipped, &e) == 0 && n == 0,
	   "import: no SMBIOS entries directory: nothing, no error");
	len = structure(raw, a, 2);
	put("dmi/11-0/raw", raw, len);
	len = structure(raw, b, 2);
	put("dmi/11-1/raw", raw, len);
	len = structure(raw, c, 1);
	raw[0] = 11;
	put("dmi/1-0/raw", raw, len); /* named as type 1: not read */
	put("root/run/.keep", (const uint8_t *)"", 0);
	ok(credentials_import(dmi, root, &n, &skipped, &e) == 0, "import: two type 11 entries (%s)",
	   e.msg);
	ok(n == 2 && skipped == 1, "import: token and x written, a/b left out (%u, %u)", n, skipped);
	snprintf(path, sizeof(path), "%s/run/credstore/token", root);
	slurp(path, buf, sizeof(buf));
	is_str(buf, "first", "import: of two credentials named token, the first wins");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0400, "import: the file is 0400");
	snprintf(path, sizeof(path), "%s/run/credstore", root);
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0700, "import: the store is 0700");
	snprintf(path, sizeof(path), "%s/run/stele/credentials", root);
	len = (size_t)readlink(path, buf, sizeof(buf) - 1);
	buf[len < sizeof(buf) ? len : 0] = '\0';
	is_str(buf, "/run/credstore", "import: /run/stele/credentials points at the store");
	snprintf(path, sizeof(path), "%s/run/credstore/other", root);
	ok(access(path, F_OK) != 0, "import: an entry not of type 11 is not read");
	len = structure(raw, a, 2);
	put("dmi/11-2/raw", raw, len - 1); /* cut inside its last string's end */
	ok(credentials_import(dmi, root, &n, &skipped, &e) == -EINVAL && strstr(e.msg, "11-2"),
	   "import: a damaged entry: an error naming it (%s)", e.msg);

	/* the disk's own (stele provision), imported first: of one name, the disk's wins */
	char data[300], root2[300], target[400];
	static char big[CREDENTIAL_SIZE_MAX + 1];

	snprintf(data, sizeof(data), "%s/data/stele/credentials", tmp);
	snprintf(root2, sizeof(root2), "%s/root2", tmp);
	ok(credentials_import_dir(data, root2, &n, &skipped, &e) == 0 && n == 0,
	   "dir: no credentials directory on data: nothing, no error");
	put("data/stele/credentials/token", (const uint8_t *)"from-disk", 9);
	put("data/stele/credentials/bad name", (const uint8_t *)"x", 1);
	put("data/stele/credentials/sub/file", (const uint8_t *)"x", 1);
	put("data/stele/credentials/big", (const uint8_t *)big, sizeof(big));
	snprintf(path, sizeof(path), "%s/link", data);
	snprintf(target, sizeof(target), "%s/token", data);
	if (symlink(target, path) < 0)
		abort();
	put("root2/run/.keep", (const uint8_t *)"", 0);
	ok(credentials_import_dir(data, root2, &n, &skipped, &e) == 0 && n == 1 && skipped == 4,
	   "dir: a file taken; a bad name, a directory, a file over 32 KiB and a symlink skipped "
	   "(%u, %u)", n, skipped);
	len = structure(raw, a, 2);
	put("dmi2/11-0/raw", raw, len);
	snprintf(dmi, sizeof(dmi), "%s/dmi2", tmp);
	ok(credentials_import(dmi, root2, &n, &skipped, &e) == 0 && n == 1,
	   "dir then SMBIOS: only x is new");
	snprintf(path, sizeof(path), "%s/run/credstore/token", root2);
	slurp(path, buf, sizeof(buf));
	is_str(buf, "from-disk", "dir then SMBIOS: of one name, the disk's wins");
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	names();
	base64();
	parse();
	import();
	return tap_done();
}
