#include "commit.h"
#include "lib/io.h"
#include "slot.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/rollback.h"
#include "state.h"
#include "rootfs/common/util.h"

static int rollback_path(const char *data_dir, const char *suffix, char buf[PATH_MAX],
			 struct err *e)
{
	if ((size_t)snprintf(buf, PATH_MAX, "%s%s%s", data_dir, CONTRACT_DATA_ROLLBACK, suffix) >= PATH_MAX)
		return err_set(e, ENAMETOOLONG, "path too long: %s%s", data_dir, CONTRACT_DATA_ROLLBACK);
	return 0;
}

int update_min_rollback(const char *data_dir, uint64_t *ret, struct err *e)
{
	char path[PATH_MAX];
	int rc;

	*ret = 0;
	if (!data_dir)
		return 0;
	rc = rollback_path(data_dir, "", path, e);
	return rc < 0 ? rc : rollback_read(path, ret, e);
}

static int write_synced(const char *path, const char *text, struct err *e)
{
	size_t len = strlen(text);
	int fd, rc = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return err_sys(e, errno, "creating %s", path);
	if (write(fd, text, len) != (ssize_t)len)
		rc = err_sys(e, errno ? errno : EIO, "writing %s", path);
	if (rc == 0 && fsync(fd) < 0)
		rc = err_sys(e, errno, "fsync %s", path);
	if (close(fd) < 0 && rc == 0)
		rc = err_sys(e, errno, "closing %s", path);
	return rc;
}

int update_raise_min_rollback(const char *data_dir, uint64_t index, struct err *e)
{
	char path[PATH_MAX], tmp[PATH_MAX], text[32], dir[PATH_MAX];
	uint64_t cur;
	int rc;

	if (!data_dir)
		return 0;
	rc = update_min_rollback(data_dir, &cur, e);
	if (rc < 0 || cur >= index)
		return rc;
	snprintf(text, sizeof(text), "%" PRIu64 "\n", index);
	rc = rollback_path(data_dir, "", path, e);
	if (rc == 0)
		rc = rollback_path(data_dir, ".tmp", tmp, e);
	if (rc == 0)
		rc = update_join(dir, sizeof(dir), data_dir, CONTRACT_DATA_STELE_DIR, e);
	if (rc == 0)
		rc = util_mkdir(dir, 0755, e);
	if (rc == 0)
		rc = write_synced(tmp, text, e);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = err_sys(e, errno, "renaming %s to %s", tmp, path);
	if (rc == 0)
		rc = io_sync_dir_of(path, e);
	return rc;
}

/* The rollback floor rises to the lowest index among the good slots, not to the booted one:
 * the older good slot must stay bootable as the fallback (a committed slot that later stops
 * booting falls back to it). Once the older slot is overwritten by a newer update, the floor
 * follows. (ChromeOS keeps its kernel rollback version the same way.) */
uint64_t update_rollback_floor(struct update_ctx *c, const struct bootstate *s, char booted,
			       uint64_t booted_index)
{
	char other = booted == 'a' ? 'b' : 'a';
	struct update_slot slot;
	struct err ignore;
	bool valid = s->slots[other == 'a' ? 0 : 1].state == BOOTSTATE_GOOD &&
		     update_slot_read(c, other, &slot, &ignore) == 0 &&
		     slot.kind == UPDATE_SLOT_VALID;

	return update_floor(s, booted, booted_index, valid ? &slot.info.m.rollback_index : NULL);
}

int update_commit(struct update_ctx *c, struct bootstate *s, unsigned tries, struct err *e)
{
	const struct update_boot *boot;
	int rc;

	rc = update_booted(c, &boot, e);
	if (rc < 0)
		return rc;
	update_state_commit(s, boot->slot, tries);
	rc = update_state_save(c, s, e);
	if (rc == 0 &&
	    (rc = update_raise_min_rollback(
		     c->data_dir, update_rollback_floor(c, s, boot->slot, boot->rollback_index),
		     e)) < 0)
		err_prefix(e, rc, "recording the minimum rollback index");
	return rc;
}
