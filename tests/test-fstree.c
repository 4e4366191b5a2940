/* Unit tests for rootfs/fstree.c's merge, the rule by which a later image's /var reaches a
 * device's data partition: what only the image has is added (whole, under its own name),
 * what the device has is never replaced or removed, directories on both sides are merged. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootfs/init/fstree.h"
#include "tap.h"

static char top[] = "/tmp/stele-test-fstree.XXXXXX";

static void put(const char *rel, const char *content)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	f = fopen(path, "w");
	if (!f || fputs(content, f) < 0 || fclose(f) != 0)
		abort();
}

static void dir(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		abort();
}

static const char *get(const char *rel)
{
	static char buf[256];
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	f = fopen(path, "r");
	if (!f)
		return "(missing)";
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int open_dir(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int main(void)
{
	struct err e = {{0}};
	char path[512], target[64];
	struct stat st;
	ssize_t n;
	int src, dst;

	if (!mkdtemp(top))
		return 1;
	/* the new image's /var */
	dir("img");
	dir("img/lib");
	dir("img/lib/newpkg");
	put("img/lib/newpkg/state", "new package\n");
	put("img/lib/shared", "image v2\n");
	dir("img/lib/dpkg");
	put("img/lib/dpkg/status", "image status\n");
	put("img/top", "image top\n");
	dir("img/cache");
	dir("img/cache/app");
	put("img/cache/app/x", "x\n");
	snprintf(path, sizeof(path), "%s/img/run", top);
	if (symlink("/run", path) < 0)
		abort();
	/* what the device has */
	dir("data");
	dir("data/lib");
	put("data/lib/shared", "device's\n");
	dir("data/lib/dpkg");
	put("data/lib/dpkg/status", "device status\n");
	put("data/lib/dpkg/extra", "device extra\n");
	put("data/cache", "a file where the image has a directory\n");
	dir("data/top.stele-new"); /* a power cut mid-copy left this */
	put("data/top.stele-new/junk", "half\n");
	put("data/mine", "written by the device\n");

	src = open_dir("img");
	dst = open_dir("data");
	ok(src >= 0 && dst >= 0, "test directories open");
	is_int(fstree_merge(src, dst, &e), 0, "fstree_merge succeeds");
	if (e.msg[0])
		printf("#   %s\n", e.msg);
	is_str(get("data/lib/newpkg/state"), "new package\n", "a new package's directory is added");
	is_str(get("data/lib/shared"), "device's\n", "a file the device has is not replaced");
	is_str(get("data/lib/dpkg/status"), "device status\n", "inside a merged directory too");
	is_str(get("data/lib/dpkg/extra"), "device extra\n", "the device's own files stay");
	is_str(get("data/mine"), "written by the device\n", "nothing is removed");
	is_str(get("data/top"), "image top\n", "a new top-level file is added");
	is_str(get("data/cache"), "a file where the image has a directory\n",
	       "a different type on the device is kept as it is");
	snprintf(path, sizeof(path), "%s/data/top.stele-new", top);
	ok(lstat(path, &st) < 0 && errno == ENOENT, "the power cut's leftover is gone");
	snprintf(path, sizeof(path), "%s/data/run", top);
	n = readlink(path, target, sizeof(target) - 1);
	ok(n == 4 && memcmp(target, "/run", 4) == 0, "a new symlink is added as a symlink");
	snprintf(path, sizeof(path), "%s/data/lib/newpkg", top);
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0755, "a new directory keeps its mode");
	/* again: nothing changes the second time */
	put("data/lib/newpkg/state", "device changed it\n");
	is_int(fstree_merge(src, dst, &e), 0, "a second merge succeeds");
	is_str(get("data/lib/newpkg/state"), "device changed it\n",
	       "a second merge leaves what the first added and the device changed");
	close(src);
	close(dst);
	snprintf(path, sizeof(path), "rm -rf '%s'", top);
	if (system(path) != 0)
		printf("# could not remove %s\n", top);
	return tap_done();
}
