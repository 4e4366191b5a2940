/* Unit tests for lib/gptgrow.c on image files: a disk made by sfdisk (the independent oracle,
 * which also checks the result) grows its last partition into space added at the end; a
 * second run does nothing; tables that do not hold, or whose labelled partition is not the
 * last, are refused with the file unchanged; a power cut after the new backup is written
 * leaves a table sfdisk accepts. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/gptgrow.h"
#include "tap.h"

static char dir[] = "/tmp/stele-test-gptgrow.XXXXXX";

static int sh(const char *fmt, const char *a)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), fmt, a, a, a);
	return system(cmd);
}

/* esp, root_a, data (1 MiB each apart): data last unless data_first */
static void make_disk(const char *path, bool data_first)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
		 "rm -f %s && truncate -s 64M %s && printf 'label: gpt\\n"
		 "start=2048, size=8192, name=%s\\nstart=10240, size=16384, name=root_a\\n"
		 "start=26624, size=16384, name=%s\\n' | sfdisk -q %s >/dev/null 2>&1",
		 path, path, data_first ? "data" : "esp", data_first ? "esp" : "data", path);
	if (system(cmd) != 0)
		abort();
}

/* one byte inverted, so it differs from whatever the random GUIDs put there */
static int flip_byte(const char *path, off_t at)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	unsigned char b;
	int r = -1;

	if (fd < 0)
		return -1;
	if (pread(fd, &b, 1, at) == 1) {
		b ^= 0xff;
		if (pwrite(fd, &b, 1, at) == 1)
			r = 0;
	}
	close(fd);
	return r;
}

static int grow(const char *path, uint64_t size, struct gpt_grow *g, struct err *e)
{
	int fd = open(path, O_RDWR | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = gpt_grow_last(fd, size, 512, "data", g, e);
	close(fd);
	return r;
}

static long long data_sectors(const char *path)
{
	char cmd[512];
	long long v = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "sfdisk -d %s 2>/dev/null | sed -n 's/.*size= *\\([0-9]*\\).*name=\"data\".*/\\1/p'", path);
	f = popen(cmd, "r");
	if (f && fscanf(f, "%lld", &v) != 1)
		v = -1;
	if (f)
		pclose(f);
	return v;
}

static bool verify_ok(const char *path)
{
	return sh("sfdisk --verify %s 2>&1 | grep -q 'No errors detected'", path) == 0;
}

int main(void)
{
	char img[256], copy[256], cmd[600];
	struct err e = {{0}};
	struct gpt_grow g;
	int r;

	if (system("sfdisk --version >/dev/null 2>&1") != 0) {
		printf("1..0 # SKIP sfdisk missing\n");
		return 77;
	}
	if (!mkdtemp(dir))
		return 1;
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	snprintf(copy, sizeof(copy), "%s/copy.img", dir);

	make_disk(img, false);
	r = grow(img, 64 << 20, &g, &e);
	ok(r == 0 && !g.grown, "a disk whose GPT ends at its end: nothing to do");
	is_int(sh("truncate -s 256M %s", img), 0, "the disk grows to 256 MiB");
	r = grow(img, 256 << 20, &g, &e);
	if (!ok(r == 0 && g.grown, "the data partition grows"))
		printf("#   %s\n", e.msg);
	is_int(g.partno, 3, "it is partition 3");
	is_int(g.old_sectors, 16384, "from 8 MiB");
	/* the end aligned down to 1 MiB below the backup entries: 256 MiB - 1 MiB - 13 MiB */
	is_int(g.new_sectors, (256 - 1) * 2048 - 26624, "to the last whole MiB before the backup");
	is_int(data_sectors(img), (long long)g.new_sectors, "sfdisk sees the new size");
	ok(verify_ok(img), "sfdisk --verify: no errors (backup at the end, CRCs right)");
	r = grow(img, 256 << 20, &g, &e);
	ok(r == 0 && !g.grown, "a second run does nothing");

	/* a power cut after the new backup and before the primary header: sfdisk (and the
	 * kernel) find the new backup at the disk's end */
	make_disk(img, false);
	snprintf(cmd, sizeof(cmd), "truncate -s 256M %s && cp %s %s", img, img, copy);
	is_int(system(cmd), 0, "a fresh disk and a copy");
	r = grow(img, 256 << 20, &g, &e);
	snprintf(cmd, sizeof(cmd), "dd if=%s of=%s bs=512 skip=1 seek=1 count=1 conv=notrunc "
				   "status=none", copy, img);
	is_int(r == 0 ? system(cmd) : -1, 0, "cut: the old primary header put back");
	is_int(flip_byte(img, 512 + 16), 0, "cut: its CRC broken, as a torn write would leave it");
	ok(data_sectors(img) == (long long)g.new_sectors || data_sectors(img) == 16384,
	   "after the cut sfdisk reads a whole table (old or new: %lld sectors)", data_sectors(img));

	/* refused, file unchanged */
	make_disk(img, false);
	snprintf(cmd, sizeof(cmd), "truncate -s 256M %s", img);
	if (system(cmd) != 0 || flip_byte(img, 512 + 60) != 0)
		abort();
	snprintf(cmd, sizeof(cmd), "cp %s %s", img, copy);
	is_int(system(cmd), 0, "a disk whose primary header has a byte changed");
	r = grow(img, 256 << 20, &g, &e);
	snprintf(cmd, sizeof(cmd), "cmp -s %s %s", img, copy);
	ok(r < 0 && system(cmd) == 0, "a header with a bad CRC is refused, nothing written");

	make_disk(img, true);
	snprintf(cmd, sizeof(cmd), "truncate -s 256M %s && cp %s %s", img, img, copy);
	is_int(system(cmd), 0, "a disk where data is not the last partition");
	r = grow(img, 256 << 20, &g, &e);
	ok(r < 0, "refused");
	has_str(e.msg, "not the last on the disk", "  it says why");
	snprintf(cmd, sizeof(cmd), "cmp -s %s %s", img, copy);
	ok(system(cmd) == 0, "  and wrote nothing");

	make_disk(img, false);
	r = grow(img, 32 << 20, &g, &e);
	ok(r < 0, "a disk smaller than its GPT says (the backup past the end) is refused");

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
