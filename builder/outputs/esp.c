#include "esp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/fileutil.h"
#include "gptread.h"


static int set_times(const char *path, int64_t epoch, struct err *e)
{
	struct timespec ts[2] = {{.tv_sec = (time_t)epoch}, {.tv_sec = (time_t)epoch}};

	if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return err_sys(e, errno, "%s", path);
	return 0;
}

static int copy_in(const char *src, const char *dst, struct err *e)
{
	char *buf = NULL;
	size_t len;
	int r = file_read_all(src, ESP_FILE_MAX, &buf, &len, e);

	if (r == 0)
		r = file_write(dst, buf, len, e);
	free(buf);
	return r;
}

static const char *const stage_dirs[] = {"EFI", "EFI/BOOT", "EFI/stele"};
static const char *const stage_files[] = {CONTRACT_ESP_LOADER, ESP_GRUBENV_PATH,
					  CONTRACT_ESP_UKI_A,
					  CONTRACT_ESP_UKI_A CONTRACT_ESP_UKI_SIG};
#define NDIRS (sizeof(stage_dirs) / sizeof(*stage_dirs))
#define NFILES (sizeof(stage_files) / sizeof(*stage_files))

/* A staging tree of the ESP's files (the kernel image of slot a and its signature only with
 * Secure Boot), every time set to epoch. */
static int stage(const char *dir, const struct esp_files *f, const char grubenv[1024],
		 int64_t epoch, struct err *e)
{
	const char *src[NFILES] = {f->bootx64, NULL, f->uki, f->uki_sig};
	char path[4096];
	int r = 0;

	for (size_t i = 0; r == 0 && i < NDIRS; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, stage_dirs[i]);
		if (mkdir(path, 0755) < 0)
			r = err_sys(e, errno, "%s", path);
	}
	for (size_t i = 0; r == 0 && i < NFILES; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, stage_files[i]);
		if (i == 1)
			r = file_write(path, grubenv, 1024, e);
		else if (src[i])
			r = copy_in(src[i], path, e);
		else
			continue;
		if (r == 0)
			r = set_times(path, epoch, e);
	}
	for (size_t i = NDIRS; r == 0 && i-- > 0;) {
		snprintf(path, sizeof(path), "%s/%s", dir, stage_dirs[i]);
		r = set_times(path, epoch, e);
	}
	return r;
}

static void remove_stage(const char *dir)
{
	char path[4096];

	for (size_t i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, stage_files[i]);
		unlink(path);
	}
	for (size_t i = NDIRS; i-- > 0;) {
		snprintf(path, sizeof(path), "%s/%s", dir, stage_dirs[i]);
		rmdir(path);
	}
	rmdir(dir);
}

int esp_make(const char *path, uint64_t size, const struct esp_files *files,
	     const char grubenv[1024], uint32_t volume_id, int64_t epoch, struct err *e)
{
	char volid[16], tmp[4096], src[4096];
	char *mkfs[] = {"mkfs.vfat", "-F", "32", "-n", "STELE-ESP", "-i", volid, "--invariant",
			(char *)path, NULL};
	char sde[48];
	/* mtools takes the times of the directories it creates from SOURCE_DATE_EPOCH */
	char *mcopy[] = {"env", sde, "mcopy", "-i", (char *)path, "-s", "-m", "-Q", src, "::/",
			 NULL};
	const char *tmpdir = getenv("TMPDIR");
	int fd, r;

	snprintf(volid, sizeof(volid), "%08x", volume_id);
	snprintf(sde, sizeof(sde), "SOURCE_DATE_EPOCH=%lld", (long long)epoch);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_sys(e, errno, "creating %s", path);
	r = ftruncate(fd, (off_t)size) < 0 ? err_sys(e, errno, "sizing %s", path) : 0;
	close(fd);
	if (r < 0)
		return r;
	r = run_capture(mkfs, NULL, 1 << 16, NULL, e);
	if (r < 0)
		return err_prefix(e, r, "making the ESP (FAT32 needs at least 33 MiB)");
	snprintf(tmp, sizeof(tmp), "%s/stele-esp-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(tmp))
		return err_sys(e, errno, "creating a staging directory");
	r = stage(tmp, files, grubenv, epoch, e);
	snprintf(src, sizeof(src), "%s/EFI", tmp);
	if (r == 0) {
		r = run_capture(mcopy, NULL, 1 << 16, NULL, e);
		if (r < 0)
			err_prefix(e, r, "filling the ESP");
	}
	remove_stage(tmp);
	return r;
}

int esp_image_spec(const char *img, char *out, size_t n, struct err *e)
{
	struct gpt_disk *d = malloc(sizeof(*d));
	const char *img_name = img;
	char fdpath[64];
	int r;

	if (!d)
		return err_set(e, ENOMEM, "out of memory");
	r = gpt_read(img, d, e);
	/* mtools splits IMAGE@@OFFSET at the first "@@": a path holding one is named through a
	 * descriptor the mtools child inherits (left open until the program exits) */
	if (r == 0 && strstr(img, "@@")) {
		int fd = open(img, O_PATH);

		if (fd < 0)
			r = err_sys(e, errno, "%s", img);
		else
			snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
		img_name = fdpath;
	}
	if (r == 0 && (size_t)snprintf(out, n, "%s@@%llu", img_name,
				       (unsigned long long)d->part[GPT_PART_ESP].offset) >= n)
		r = err_set(e, ENAMETOOLONG, "%s: path too long", img);
	free(d);
	return r;
}

int esp_read_env(const char *spec, char env[1024], struct err *e)
{
	char *argv[] = {"mcopy", "-n", "-i", (char *)spec, "::/" ESP_GRUBENV_PATH, "-", NULL};
	char *out = NULL;
	size_t len = 0;
	int r = run_capture_len(argv, NULL, 4096, &out, &len, e);

	if (r < 0)
		return err_prefix(e, r, "reading the boot state");
	/* the length mcopy gave, not strlen: a NUL inside is bootstate_parse's to name */
	if (len != 1024) {
		free(out);
		return err_set(e, EINVAL, "the boot state (%s) is %zu bytes, not %d",
			       ESP_GRUBENV_PATH, len, 1024);
	}
	memcpy(env, out, 1024);
	free(out);
	return 0;
}

int esp_write_env(const char *spec, const char env[1024], struct err *e)
{
	char tmp[] = "/tmp/stele-grubenv-XXXXXX";
	char *argv[] = {"mcopy", "-o", "-n", "-i", (char *)spec, tmp, "::/" ESP_GRUBENV_PATH,
			NULL};
	int fd = mkstemp(tmp), r;

	if (fd < 0)
		return err_sys(e, errno, "temporary file");
	r = write_all(fd, env, 1024) < 0 ? err_sys(e, errno, "%s", tmp) : 0;
	close(fd);
	if (r == 0)
		r = run_capture(argv, NULL, 4096, NULL, e);
	unlink(tmp);
	return r;
}

