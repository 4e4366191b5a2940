/* Unit tests of the rollback floor (lib/rollback.c), by table: the file stele-update writes
 * on the data partition and stele-init and stele-update read, from what it writes to hostile
 * contents (signs, hex, overflow, garbage, a directory, a FIFO-free missing file). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/rollback.h"
#include "tap.h"

static const struct row {
	const char *text;
	int rc;
	uint64_t floor;
	const char *err;
} rows[] = {
	{"0", 0, 0, NULL},
	{"7\n", 0, 7, NULL},
	{"42", 0, 42, NULL},
	{"18446744073709551615", 0, UINT64_MAX, NULL},
	{"18446744073709551615\n", 0, UINT64_MAX, NULL},
	{"3 \t\n\n", 0, 3, NULL},
	{"007", 0, 7, NULL},
	{"18446744073709551616", -ERANGE, 0, "number too large"},
	{"99999999999999999999999", -ERANGE, 0, "number too large"},
	{"", -EINVAL, 0, "expected a decimal number"},
	{"\n", -EINVAL, 0, "expected a decimal number"},
	{" 7", -EINVAL, 0, "expected a decimal number"},
	{"+7", -EINVAL, 0, "expected a decimal number"},
	{"-1", -EINVAL, 0, "expected a decimal number"},
	{"0x10", -EINVAL, 0, "expected a decimal number"},
	{"7 8", -EINVAL, 0, "expected a decimal number"},
	{"7a", -EINVAL, 0, "expected a decimal number"},
	{"1.5", -EINVAL, 0, "expected a decimal number"},
	{"seven", -EINVAL, 0, "expected a decimal number"},
	{"7\0" "8", -EINVAL, 0, NULL}, /* a NUL inside: written with its length below */
};

static void put(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fwrite(text, 1, len, f);
		fclose(f);
	}
}

int main(void)
{
	const char *t = getenv("TMPDIR");
	char dir[4096], path[4200];
	struct manifest m = {.version = "2.0"};
	struct err e = {0};
	uint64_t v;

	snprintf(dir, sizeof(dir), "%s/test-rollback-XXXXXX", t && *t ? t : "/tmp");
	if (!ok(mkdtemp(dir) != NULL, "temporary directory"))
		return tap_done();
	snprintf(path, sizeof(path), "%s/min_rollback_index", dir);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		size_t len = i == sizeof(rows) / sizeof(rows[0]) - 1 ? 3 : strlen(r->text);

		put(path, r->text, len);
		v = 12345;
		e.msg[0] = '\0';
		int rc = rollback_read(path, &v, &e);
		is_int(rc, r->rc, "row %zu: %zu bytes", i, len);
		if (r->rc == 0 && rc == 0)
			ok(v == r->floor, "row %zu: floor %llu", i, (unsigned long long)r->floor);
		if (r->rc < 0) {
			ok(v == 12345, "row %zu: nothing returned", i);
			has_str(e.msg, path, "row %zu: the message names the file", i);
			if (r->err)
				has_str(e.msg, r->err, "row %zu: and says why", i);
		}
	}
	/* longer than any number: refused, not cut to its first bytes */
	char big[200];
	memset(big, '1', sizeof(big));
	put(path, big, sizeof(big));
	ok(rollback_read(path, &v, &e) < 0, "a 200-byte file is refused");
	unlink(path);

	v = 12345;
	is_int(rollback_read(path, &v, NULL), 0, "a missing file");
	is_int(v, 0, "...is a floor of 0 (nothing committed yet)");
	mkdir(path, 0755);
	ok(rollback_read(path, &v, &e) < 0, "a directory is refused");
	rmdir(path);
	rmdir(dir);

	m.rollback_index = 5;
	is_int(rollback_check(&m, 4, NULL), 0, "index above the floor");
	is_int(rollback_check(&m, 5, NULL), 0, "index at the floor");
	is_int(rollback_check(&m, 6, &e), -EPERM, "index below the floor");
	has_str(e.msg, "below this device's minimum 6", "...says the floor");
	has_str(e.msg, "2.0", "...and the version");
	m.rollback_index = 0;
	is_int(rollback_check(&m, 0, NULL), 0, "0 at a floor of 0");
	m.rollback_index = UINT64_MAX;
	is_int(rollback_check(&m, UINT64_MAX, NULL), 0, "the largest index at the largest floor");
	return tap_done();
}
