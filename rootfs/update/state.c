#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "fault.h"
#include "rootfs/common/util.h"

#define ESP_FSTYPE "vfat"
#define ESP_OPTIONS "codepage=437,iocharset=ascii"

static bool is_mountpoint(const char *dir)
{
	char parent[PATH_MAX];
	struct stat a, b;

	if ((size_t)snprintf(parent, sizeof(parent), "%s/..", dir) >= sizeof(parent))
		return false;
	return stat(dir, &a) == 0 && stat(parent, &b) == 0 &&
	       (a.st_dev != b.st_dev || a.st_ino == b.st_ino);
}

#define ESP_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* Read-only until the first write: a read-write vfat mount already marks the volume dirty,
 * and a refused install must not have written anything. */
static int mount_esp(struct update_ctx *c, struct err *e)
{
	const char *node;
	int rc;

	rc = util_mkdir(CONTRACT_RUN_DIR, 0755, e);
	if (rc == 0)
		rc = util_mkdir(UPDATE_ESP_DIR, 0700, e);
	if (rc < 0)
		return rc;
	if (!is_mountpoint(UPDATE_ESP_DIR)) {
		rc = update_part_path(c, UPDATE_PART_ESP, &node, e);
		if (rc < 0)
			return rc;
		if (mount(node, UPDATE_ESP_DIR, ESP_FSTYPE, ESP_FLAGS | MS_RDONLY, ESP_OPTIONS) < 0)
			return err_sys(e, errno, "mounting the ESP %s on %s", node, UPDATE_ESP_DIR);
		c->esp_mounted = true;
	}
	return update_join(c->esp_state, sizeof(c->esp_state), UPDATE_ESP_DIR, "/" CONTRACT_ESP_GRUBENV,
			   e);
}

/* The ESP mounted (once), and read-write when for_write. */
static int esp_ready(struct update_ctx *c, bool for_write, struct err *e)
{
	int rc = c->esp_state[0] ? 0 : mount_esp(c, e);

	if (rc == 0 && for_write && c->esp_mounted && !c->esp_rw) {
		if (mount(NULL, UPDATE_ESP_DIR, NULL, MS_REMOUNT | ESP_FLAGS, ESP_OPTIONS) < 0)
			return err_sys(e, errno, "remounting the ESP read-write");
		c->esp_rw = true;
	}
	return rc;
}

static int state_path(struct update_ctx *c, bool for_write, const char **ret, struct err *e)
{
	int rc;

	if (c->state_path) {
		*ret = c->state_path;
		return 0;
	}
	if (c->test_mode && !c->part[UPDATE_PART_ESP])
		return err_set(e, ENOENT, "test mode: no boot state given (--state FILE, or "
					  "--part esp=DEVICE to mount)");
	rc = esp_ready(c, for_write, e);
	if (rc == 0)
		*ret = c->esp_state;
	return rc;
}

int update_esp_open(struct update_ctx *c, const char **ret, struct err *e)
{
	int rc;

	if (c->esp_dir) {
		*ret = c->esp_dir;
		return 0;
	}
	if (c->test_mode && !c->part[UPDATE_PART_ESP])
		return err_set(e, ENOENT, "test mode: no ESP given (--esp DIR, or --part "
					  "esp=DEVICE to mount)");
	rc = esp_ready(c, true, e);
	if (rc == 0)
		*ret = UPDATE_ESP_DIR;
	return rc;
}

void update_esp_close(struct update_ctx *c)
{
	if (c->esp_mounted && c->esp_rw &&
	    mount(NULL, UPDATE_ESP_DIR, NULL, MS_REMOUNT | MS_RDONLY | ESP_FLAGS, ESP_OPTIONS) == 0)
		c->esp_rw = false;
}

int update_state_load(struct update_ctx *c, struct bootstate *ret, struct err *e)
{
	const char *path = NULL;
	int rc = state_path(c, false, &path, e);

	if (rc == 0)
		rc = bootstate_read(path, ret, e);
	return rc < 0 ? err_prefix(e, rc, "reading the boot state") : 0;
}

static void pause_in_state_write(void *userdata)
{
	(void)userdata;
	update_fault_pause("state");
}

static int state_save(struct update_ctx *c, const struct bootstate *s, bool faulty,
		      struct err *e)
{
	const char *path = NULL;
	int rc = state_path(c, true, &path, e);

	if (rc == 0)
		rc = bootstate_write_hooked(path, s, faulty ? pause_in_state_write : NULL, NULL, e);
	/* back to read-only: a clean FAT (no dirty bit) if the power goes before unmounting */
	update_esp_close(c);
	return rc < 0 ? err_prefix(e, rc, "writing the boot state") : 0;
}

int update_state_save(struct update_ctx *c, const struct bootstate *s, struct err *e)
{
	return state_save(c, s, false, e);
}

int update_state_save_faulty(struct update_ctx *c, const struct bootstate *s, struct err *e)
{
	return state_save(c, s, true, e);
}
