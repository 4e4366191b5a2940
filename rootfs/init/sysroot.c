#include "sysroot.h"
#include "lib/io.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "fstree.h"
#include "rootfs/common/util.h"

#define MAX_INIT_ARGS 64

static int join(char *out, const char *a, const char *b, struct err *e)
{
	if ((size_t)snprintf(out, PATH_MAX, "%s%s", a, b) >= PATH_MAX)
		return err_set(e, ENAMETOOLONG, "%s%s: path too long", a, b);
	return 0;
}

static int mount_at(const char *src, const char *dir, const char *type, unsigned long flags,
		    const char *opts, struct err *e)
{
	if (mount(src, dir, type, flags, opts) < 0)
		return err_sys(e, errno, "mounting %s on %s", src, dir);
	return 0;
}

int sysroot_mount_data(const char *node, const char *dir, struct err *e)
{
	int rc = util_mkdir(dir, 0755, e);

	return rc < 0 ? rc : mount_at(node, dir, "ext4", MS_NOSUID | MS_NODEV, NULL, e);
}

int sysroot_mount_root(const char *node, const char *dir, struct err *e)
{
	int rc = util_mkdir(dir, 0755, e);

	return rc < 0 ? rc : mount_at(node, dir, "ext4", MS_RDONLY, NULL, e);
}

int sysroot_mount_tmpfs(const char *root, struct err *e)
{
	static const struct {
		const char *dir, *opts;
	} fs[] = {{"/tmp", "mode=1777"}, {"/run", "mode=0755"}};
	char path[PATH_MAX];
	int rc;

	for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++) {
		rc = join(path, root, fs[i].dir, e);
		if (rc == 0 && util_is_dir(path))
			rc = mount_at("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, fs[i].opts, e);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Removes what an interrupted first boot left under name (the half-made copy). */
static int remove_stale(int data_fd, const char *name, struct err *e)
{
	struct stat st;
	int fd;

	if (fstatat(data_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : err_sys(e, errno, "%s", name);
	fd = openat(data_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		fstree_clear(fd, st.st_dev);
		close(fd);
	}
	if (unlinkat(data_fd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
		return err_sys(e, errno, "removing %s", name);
	return 0;
}

static int copy_image_var(const char *image_var, int data_fd, const char *tmp, struct err *e)
{
	struct stat st;
	int src, dst, rc;

	src = open(image_var, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src < 0)
		return errno == ENOENT ? 0 : err_sys(e, errno, "%s", image_var);
	dst = openat(data_fd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dst < 0) {
		rc = err_sys(e, errno, "opening %s", tmp);
		goto out;
	}
	rc = fstree_copy(src, dst, e);
	if (rc == 0 && fstat(src, &st) == 0 &&
	    (fchown(dst, st.st_uid, st.st_gid) < 0 || fchmod(dst, st.st_mode & 07777) < 0))
		rc = err_sys(e, errno, "setting the owner and mode of %s", tmp);
	close(dst);
out:
	close(src);
	return rc < 0 ? err_prefix(e, rc, "copying the image's /var") : 0;
}

/* Every later boot: what this image's /var has and data's var/ lacks is added (a new
 * package's /var/lib/...); nothing the device wrote is replaced or removed. The rule of
 * systemd's tmpfiles "C" lines (copy from /usr/share/factory unless the target exists). */
static int merge_image_var(const char *root, int data_fd, struct err *e)
{
	char image_var[PATH_MAX];
	int src, dst, rc;

	rc = join(image_var, root, "/var", e);
	if (rc < 0)
		return rc;
	src = open(image_var, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src < 0)
		return errno == ENOENT ? 0 : err_sys(e, errno, "%s", image_var);
	dst = openat(data_fd, "var", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dst < 0)
		rc = err_sys(e, errno, "opening data's var/");
	else
		rc = fstree_merge(src, dst, e);
	if (rc == 0 && syncfs(dst) < 0)
		rc = err_sys(e, errno, "syncing data's var/");
	if (dst >= 0)
		close(dst);
	close(src);
	return rc < 0 ? err_prefix(e, rc, "adding the image's new /var entries") : 0;
}

static int seed_var(const char *root, const char *data, struct err *e)
{
	static const char tmp[] = "var.stele-seed";
	char image_var[PATH_MAX];
	struct stat st;
	int data_fd, rc;

	data_fd = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (data_fd < 0)
		return err_sys(e, errno, "%s", data);
	if (fstatat(data_fd, "var", &st, AT_SYMLINK_NOFOLLOW) == 0) {
		rc = S_ISDIR(st.st_mode) ? merge_image_var(root, data_fd, e)
					 : err_set(e, ENOTDIR, "%s/var: not a directory", data);
		goto out;
	}
	rc = remove_stale(data_fd, tmp, e);
	if (rc == 0 && mkdirat(data_fd, tmp, 0755) < 0)
		rc = err_sys(e, errno, "creating %s/%s", data, tmp);
	if (rc == 0)
		rc = join(image_var, root, "/var", e);
	if (rc == 0)
		rc = copy_image_var(image_var, data_fd, tmp, e);
	if (rc == 0 && (syncfs(data_fd) < 0 || renameat(data_fd, tmp, data_fd, "var") < 0 ||
			fsync(data_fd) < 0))
		rc = err_sys(e, errno, "making %s/var", data);
out:
	close(data_fd);
	return rc;
}

static int bind_var(const char *root, const char *data, struct err *e)
{
	char src[PATH_MAX], dst[PATH_MAX];
	int rc;

	rc = join(src, data, "/var", e);
	if (rc == 0)
		rc = join(dst, root, "/var", e);
	if (rc < 0 || !util_is_dir(dst))
		return rc;
	return mount_at(src, dst, NULL, MS_BIND, NULL, e);
}

static bool machine_id_valid(const char *s, size_t len)
{
	return len == 33 && s[32] == '\n' && strspn(s, "0123456789abcdef") == 32 &&
	       strspn(s, "0") < 32;
}

/* The machine's id, made on its first boot and kept on data: written to a temporary name,
 * fsync'd, renamed, so a power cut leaves either none (made again) or a whole one. */
static int machine_id_ensure(const char *path, struct err *e)
{
	char buf[64], tmp[PATH_MAX];
	uint8_t raw[16];
	size_t len = 0;
	int fd, rc;

	if (io_read_text(path, buf, sizeof(buf), &len, e) == 0 && machine_id_valid(buf, len))
		return 0;
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return err_sys(e, errno, "getrandom for the machine id");
	for (int i = 0; i < 16; i++)
		snprintf(buf + 2 * i, 3, "%02x", raw[i]);
	buf[32] = '\n';
	rc = join(tmp, path, ".tmp", e);
	if (rc == 0)
		rc = util_write_file(tmp, buf, 33, 0444, e);
	if (rc < 0)
		return rc;
	fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		rc = err_sys(e, errno, "syncing %s", tmp);
	if (fd >= 0)
		close(fd);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = err_sys(e, errno, "renaming %s", tmp);
	return rc;
}

/* The machine's id on data; an image with /etc/machine-id (systemd's) gets it over its own,
 * which is empty (the builder sees to that). */
static int bind_machine_id(const char *root, const char *data, struct err *e)
{
	char target[PATH_MAX], id[PATH_MAX];
	struct stat st;
	int rc;

	/* every machine has one, on data (stele-update poll's share of the fleet comes from it),
	 * made at first boot unless `stele provision --machine-id` set it */
	rc = join(id, data, CONTRACT_DATA_MACHINE_ID, e);
	if (rc == 0)
		rc = machine_id_ensure(id, e);
	if (rc == 0)
		rc = join(target, root, "/etc/machine-id", e);
	if (rc < 0 || lstat(target, &st) < 0 || !S_ISREG(st.st_mode))
		return rc;
	return mount_at(id, target, NULL, MS_BIND, NULL, e);
}

int sysroot_attach_data(const char *root, const char *data_mnt, struct err *e)
{
	char target[PATH_MAX], dir[PATH_MAX];
	const char *data = data_mnt;
	int rc;

	rc = join(target, root, CONTRACT_DATA_DIR, e);
	if (rc == 0 && util_is_dir(target)) {
		rc = mount_at(data_mnt, target, NULL, MS_MOVE, NULL, e);
		data = target;
	}
	if (rc == 0)
		rc = join(dir, data, CONTRACT_DATA_STELE_DIR, e);
	if (rc == 0)
		rc = util_mkdir(dir, 0755, e);
	if (rc == 0)
		rc = seed_var(root, data, e);
	if (rc == 0)
		rc = bind_var(root, data, e);
	if (rc == 0)
		rc = bind_machine_id(root, data, e);
	if (rc == 0 && data == data_mnt && umount2(data_mnt, MNT_DETACH) < 0)
		rc = err_sys(e, errno, "detaching %s", data_mnt);
	return rc;
}

static char *boot_json(const struct boot_record *b)
{
	char slot[2] = {b->slot, '\0'};
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;

	if (o && cJSON_AddStringToObject(o, "slot", slot) &&
	    cJSON_AddStringToObject(o, "version", b->version) &&
	    cJSON_AddStringToObject(o, "product", b->product) &&
	    cJSON_AddStringToObject(o, "root_hash", b->root_hash) &&
	    cJSON_AddNumberToObject(o, "rollback_index", (double)b->rollback_index) &&
	    cJSON_AddBoolToObject(o, "trial", b->trial))
		text = cJSON_Print(o);
	cJSON_Delete(o);
	return text;
}

int sysroot_write_boot_record(const char *root, const struct boot_record *b, struct err *e)
{
	char dir[PATH_MAX], path[PATH_MAX];
	char *text, *line;
	size_t len;
	int rc;

	rc = join(dir, root, CONTRACT_RUN_DIR, e);
	if (rc == 0)
		rc = join(path, root, CONTRACT_BOOT_JSON, e);
	if (rc == 0)
		rc = util_mkdir(dir, 0755, e);
	if (rc < 0)
		return rc;
	text = boot_json(b);
	if (!text)
		return err_set(e, ENOMEM, "out of memory");
	len = strlen(text);
	line = malloc(len + 2);
	if (line) {
		memcpy(line, text, len);
		memcpy(line + len, "\n", 2);
		rc = util_write_file(path, line, len + 1, 0644, e);
	} else {
		rc = err_set(e, ENOMEM, "out of memory");
	}
	free(line);
	free(text);
	return rc;
}

static int move_api_fs(const char *root, struct err *e)
{
	static const char *const api[] = {"/dev", "/proc", "/sys"};
	char target[PATH_MAX];
	int rc;

	for (size_t i = 0; i < sizeof(api) / sizeof(api[0]); i++) {
		rc = join(target, root, api[i], e);
		if (rc < 0)
			return rc;
		if (!util_is_dir(target))
			umount2(api[i], MNT_DETACH);
		else if (mount(api[i], target, NULL, MS_MOVE, NULL) < 0)
			return err_sys(e, errno, "moving %s to %s", api[i], target);
	}
	return 0;
}

/* Only a ramfs or tmpfs /, and only when the new root is another filesystem: deleting the
 * files of a real disk here would be a disaster. */
static void free_initramfs(void)
{
	struct statfs sfs;
	struct stat old, new;
	int fd;

	if (statfs("/", &sfs) < 0 || (sfs.f_type != RAMFS_MAGIC && sfs.f_type != TMPFS_MAGIC))
		return;
	if (stat("/", &old) < 0 || stat(".", &new) < 0 || old.st_dev == new.st_dev)
		return;
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	fstree_clear(fd, old.st_dev);
	close(fd);
}

int sysroot_switch(const char *root, const char *init, char *const argv[], struct err *e)
{
	char *args[MAX_INIT_ARGS + 2] = {"init"};
	size_t n = 1;
	int rc;

	for (size_t i = 1; argv && argv[0] && argv[i] && n <= MAX_INIT_ARGS; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	rc = move_api_fs(root, e);
	if (rc < 0)
		return rc;
	if (chdir(root) < 0)
		return err_sys(e, errno, "entering %s", root);
	free_initramfs();
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		return err_sys(e, errno, "moving %s to /", root);
	if (chroot(".") < 0 || chdir("/") < 0)
		return err_sys(e, errno, "changing root to %s", root);
	execv(init, args);
	return err_sys(e, errno, "executing %s", init);
}
