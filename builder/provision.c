#include "provision.h"

#include <errno.h>
#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/contract.h"
#include "lib/credential.h"
#include "builder/fileutil.h"
#include "builder/outputs/gptread.h"

#define MAX_SECRETS 64

static int fs_fail(errcode_t err, const char *image, const char *what, struct err *e)
{
	return err_set(e, EIO, "%s: data partition: %s: %s", image, what, error_message(err));
}

/* The directory at path (one component below parent), made with mode when missing. */
static int dir_at(ext2_filsys fs, ext2_ino_t parent, const char *name, int mode,
		  ext2_ino_t *ret, const char *image, struct err *e)
{
	struct ext2_inode in;
	errcode_t err = ext2fs_lookup(fs, parent, name, strlen(name), NULL, ret);

	if (err == EXT2_ET_FILE_NOT_FOUND) {
		err = ext2fs_mkdir(fs, parent, 0, name);
		if (err == EXT2_ET_DIR_NO_SPACE) {
			err = ext2fs_expand_dir(fs, parent);
			if (!err)
				err = ext2fs_mkdir(fs, parent, 0, name);
		}
		if (!err)
			err = ext2fs_lookup(fs, parent, name, strlen(name), NULL, ret);
		if (!err)
			err = ext2fs_read_inode(fs, *ret, &in);
		if (!err) {
			in.i_mode = (__u16)(LINUX_S_IFDIR | mode);
			in.i_uid = in.i_gid = 0;
			err = ext2fs_write_inode(fs, *ret, &in);
		}
	}
	if (err)
		return fs_fail(err, image, name, e);
	if ((err = ext2fs_read_inode(fs, *ret, &in)) || !LINUX_S_ISDIR(in.i_mode))
		return err ? fs_fail(err, image, name, e)
			   : err_set(e, ENOTDIR, "%s: data partition: %s is not a directory", image,
				     name);
	if ((in.i_mode & 07777) != (unsigned)mode || in.i_uid || in.i_gid) { /* root-only, always */
		in.i_mode = (__u16)(LINUX_S_IFDIR | mode);
		in.i_uid = in.i_gid = 0;
		if ((err = ext2fs_write_inode(fs, *ret, &in)))
			return fs_fail(err, image, name, e);
	}
	return 0;
}

static int remove_old(ext2_filsys fs, ext2_ino_t dir, const char *name, const char *image,
		      struct err *e)
{
	struct ext2_inode in;
	ext2_ino_t ino;
	errcode_t err = ext2fs_lookup(fs, dir, name, strlen(name), NULL, &ino);

	if (err == EXT2_ET_FILE_NOT_FOUND)
		return 0;
	if (!err)
		err = ext2fs_read_inode(fs, ino, &in);
	if (!err && LINUX_S_ISREG(in.i_mode) && in.i_size) {
		/* the old secret's bytes are overwritten before its blocks are freed */
		static const char zeros[4096];
		ext2_file_t f;
		uint64_t left = EXT2_I_SIZE(&in);

		err = ext2fs_file_open(fs, ino, EXT2_FILE_WRITE, &f);
		while (!err && left) {
			unsigned got = 0, n = left < sizeof(zeros) ? (unsigned)left : sizeof(zeros);

			err = ext2fs_file_write(f, zeros, n, &got);
			left -= got;
			if (!err && !got)
				err = EXT2_ET_SHORT_WRITE;
		}
		if (!err)
			err = ext2fs_file_close(f);
		else
			ext2fs_file_close(f);
		if (!err)
			err = ext2fs_read_inode(fs, ino, &in);
	}
	if (!err)
		err = ext2fs_unlink(fs, dir, name, ino, 0);
	if (!err && --in.i_links_count == 0) {
		in.i_dtime = (__u32)time(NULL);
		err = ext2fs_write_inode(fs, ino, &in);
		if (!err && ext2fs_inode_has_valid_blocks2(fs, &in))
			err = ext2fs_punch(fs, ino, &in, NULL, 0, ~0ULL);
		if (!err)
			ext2fs_inode_alloc_stats2(fs, ino, -1, 0);
	} else if (!err) {
		err = ext2fs_write_inode(fs, ino, &in);
	}
	return err ? fs_fail(err, image, name, e) : 0;
}

static int write_file(ext2_filsys fs, ext2_ino_t dir, const char *name, const char *buf,
		      size_t len, int mode, const char *image, struct err *e)
{
	struct ext2_inode_large in;
	ext2_file_t f;
	ext2_ino_t ino;
	unsigned written = 0;
	errcode_t err;
	int r = remove_old(fs, dir, name, image, e);

	if (r < 0)
		return r;
	err = ext2fs_new_inode(fs, dir, LINUX_S_IFREG | mode, NULL, &ino);
	if (!err) {
		err = ext2fs_link(fs, dir, name, ino, EXT2_FT_REG_FILE);
		if (err == EXT2_ET_DIR_NO_SPACE && !(err = ext2fs_expand_dir(fs, dir)))
			err = ext2fs_link(fs, dir, name, ino, EXT2_FT_REG_FILE);
	}
	if (err)
		return fs_fail(err, image, name, e);
	ext2fs_inode_alloc_stats2(fs, ino, +1, 0);
	memset(&in, 0, sizeof(in));
	in.i_mode = LINUX_S_IFREG | mode;
	in.i_links_count = 1;
	in.i_atime = in.i_ctime = in.i_mtime = (__u32)time(NULL);
	err = 0;
	if (ext2fs_has_feature_extents(fs->super)) { /* as debugfs's write: an empty extent tree */
		ext2_extent_handle_t h;

		err = ext2fs_extent_open2(fs, ino, (struct ext2_inode *)&in, &h);
		if (!err)
			ext2fs_extent_free(h);
	}
	if (!err)
		err = ext2fs_write_new_inode(fs, ino, (struct ext2_inode *)&in);
	if (!err)
		err = ext2fs_file_open(fs, ino, EXT2_FILE_WRITE, &f);
	if (err)
		return fs_fail(err, image, name, e);
	while (!err && written < len) {
		unsigned got = 0;

		err = ext2fs_file_write(f, buf + written, (unsigned)(len - written), &got);
		written += got;
		if (!err && !got)
			err = EXT2_ET_SHORT_WRITE;
	}
	if (!err)
		err = ext2fs_file_flush(f);
	ext2fs_file_close(f);
	return err ? fs_fail(err, image, name, e) : 0;
}

/* What could fail once writing starts, checked before: the directories are directories (or
 * absent), each secret's name is absent or a regular file, and the free blocks and inodes
 * hold it all (a file, its extent block and the directories' growth, generously). */
static int precheck(ext2_filsys fs, const struct provision_secret *s, const size_t *lens,
		    size_t n, bool machine_id, const char *image, struct err *e)
{
	const char *names[] = {CONTRACT_DATA_STELE_DIR + 1, strrchr(CONTRACT_DATA_CREDENTIALS, '/') + 1};
	uint64_t bs = EXT2_BLOCK_SIZE(fs->super), need = 4;
	ext2_ino_t dir = EXT2_ROOT_INO, ino;
	struct ext2_inode in;

	for (size_t i = 0; i < 2; i++) {
		errcode_t err = ext2fs_lookup(fs, dir, names[i], strlen(names[i]), NULL, &ino);

		if (err == EXT2_ET_FILE_NOT_FOUND) {
			dir = 0;
			break;
		}
		if (err || (err = ext2fs_read_inode(fs, ino, &in)))
			return fs_fail(err, image, names[i], e);
		if (!LINUX_S_ISDIR(in.i_mode))
			return err_set(e, ENOTDIR, "%s: data partition: %s is not a directory", image,
				       CONTRACT_DATA_CREDENTIALS);
		dir = ino;
	}
	for (size_t i = 0; i < n; i++) {
		need += (lens[i] + bs - 1) / bs + 2;
		if (dir && ext2fs_lookup(fs, dir, s[i].name, strlen(s[i].name), NULL, &ino) == 0 &&
		    (ext2fs_read_inode(fs, ino, &in) || !LINUX_S_ISREG(in.i_mode)))
			return err_set(e, EEXIST, "%s: data partition: " CONTRACT_DATA_CREDENTIALS
				       "/%s exists and is not a regular file", image, s[i].name);
	}
	need += machine_id ? 2 : 0;
	if (ext2fs_free_blocks_count(fs->super) < need ||
	    fs->super->s_free_inodes_count < n + 2 + (machine_id ? 1 : 0))
		return err_set(e, ENOSPC, "%s: the data partition has no room for %zu secret%s",
			       image, n, n == 1 ? "" : "s");
	return 0;
}

int provision_secrets(const char *image, const struct provision_secret *s, size_t n,
		      struct err *e)
{
	return provision_disk(image, s, n, NULL, e);
}

int provision_disk(const char *image, const struct provision_secret *s, size_t n,
		   const char *machine_id, struct err *e)
{
	char id[34];
	char *bufs[MAX_SECRETS] = {0}, opts[64];
	size_t lens[MAX_SECRETS];
	struct gpt_disk d;
	ext2_filsys fs = NULL;
	ext2_ino_t stele, creds;
	errcode_t err;
	bool wrote = false;
	int r = 0;

	if ((n == 0 && !machine_id) || n > MAX_SECRETS)
		return err_set(e, EINVAL, "between 1 and %d secrets, or a machine id", MAX_SECRETS);
	if (machine_id && (strlen(machine_id) != 32 ||
			   strspn(machine_id, "0123456789abcdef") != 32 ||
			   strspn(machine_id, "0") == 32))
		return err_set(e, EINVAL, "--machine-id %.40s: expected 32 lowercase hex digits, "
			       "not all zero (as /etc/machine-id)", machine_id);
	if (machine_id)
		snprintf(id, sizeof(id), "%s\n", machine_id);
	for (size_t i = 0; i < n && r == 0; i++) {
		if (!credential_name_ok(s[i].name, strlen(s[i].name)))
			r = err_set(e, EINVAL, "--secret %.80s: not a credential name (letters, "
				    "digits, '_', '.', '-'; at most %d)", s[i].name, CREDENTIAL_NAME_MAX);
		else
			r = file_read_all(s[i].file, CREDENTIAL_SIZE_MAX, &bufs[i], &lens[i], e);
		if (r < 0)
			r = err_prefix(e, r, "--secret %.80s", s[i].name);
	}
	if (r == 0)
		r = gpt_read(image, &d, e);
	if (r < 0)
		goto out;
	initialize_ext2_error_table();
	snprintf(opts, sizeof(opts), "offset=%" PRIu64, d.part[GPT_PART_DATA].offset);
	err = ext2fs_open2(image, opts, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs);
	if (err) {
		r = err_set(e, EINVAL, "%s: the data partition is no ext4 stele can write: %s", image,
			    error_message(err));
		goto out;
	}
	if (ext2fs_blocks_count(fs->super) > d.part[GPT_PART_DATA].size / EXT2_BLOCK_SIZE(fs->super)) {
		r = err_set(e, EINVAL, "%s: the data filesystem is larger than its partition", image);
		goto out;
	}
	if (!(fs->super->s_state & EXT2_VALID_FS) || (fs->super->s_state & EXT2_ERROR_FS) ||
	    ext2fs_has_feature_journal_needs_recovery(fs->super)) {
		r = err_set(e, EBUSY, "%s: the data filesystem is in use or was not cleanly "
			    "unmounted (its journal needs replaying): provision a disk that is not "
			    "running, after e2fsck", image);
		goto out;
	}
	err = ext2fs_read_bitmaps(fs);
	if (err) {
		r = fs_fail(err, image, "reading the bitmaps", e);
		goto out;
	}
	r = precheck(fs, s, lens, n, machine_id != NULL, image, e);
	if (r < 0)
		goto out;
	wrote = true;
	r = dir_at(fs, EXT2_ROOT_INO, CONTRACT_DATA_STELE_DIR + 1, 0755, &stele, image, e);
	if (r == 0)
		r = dir_at(fs, stele, strrchr(CONTRACT_DATA_CREDENTIALS, '/') + 1, 0700, &creds, image, e);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = write_file(fs, creds, s[i].name, bufs[i], lens[i], 0600, image, e);
	if (r == 0 && machine_id)
		r = write_file(fs, stele, strrchr(CONTRACT_DATA_MACHINE_ID, '/') + 1, id, 33, 0444,
			       image, e);
out:
	if (fs && !wrote) {
		ext2fs_free(fs); /* refused before the first write: the image is as it was */
	} else if (fs) {
		/* once writing began, libext2fs's state is consistent only when flushed whole:
		 * bitmaps, counts and superblock with the inodes and entries already written */
		if ((err = ext2fs_close_free(&fs)) && r == 0)
			r = fs_fail(err, image, "writing", e);
	}
	for (size_t i = 0; i < n && i < MAX_SECRETS; i++) {
		if (bufs[i])
			explicit_bzero(bufs[i], lens[i]);
		free(bufs[i]);
	}
	return r;
}
