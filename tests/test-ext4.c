/* Unit tests for builder/ext4.c at the sizes real images have: fixed rootfs sizes and data
 * partitions from 16 MiB to 4 GiB, on both sides of every block-group boundary (a group is
 * 128 MiB), each checked by `e2fsck -fn` (the independent oracle) and read back with
 * libext2fs: every group descriptor's checksum, the inode count a writable filesystem needs. */
#include <errno.h>
#include <ext2fs/ext2fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/outputs/ext4.h"
#include "builder/tree.h"
#include "tap.h"

#define MIB (1ULL << 20)

static char dir[] = "/tmp/stele-test-ext4.XXXXXX";
static struct err e;

static void put_file(struct tree *t, const char *path, const char *content)
{
	struct tree_inode *in = tree_inode_new(TREE_REG, 0644);
	char *buf = strdup(content);

	if (!in || !buf || (tree_inode_set_mem(in, buf, strlen(content)), tree_put(t, path, in, &e)))
		abort();
	tree_inode_unref(in);
}

static struct tree *small_tree(void)
{
	struct tree *t = NULL;

	if (tree_new(&t, &e) < 0)
		abort();
	put_file(t, "etc/hostname", "appliance\n");
	put_file(t, "usr/bin/app", "#!/bin/sh\necho hello\n");
	return t;
}

/* e2fsck -fn's exit status: 0 clean, 4 errors left uncorrected, 8+ operational error. */
static int fsck(const char *path)
{
	char cmd[512];
	int st;

	snprintf(cmd, sizeof(cmd), "e2fsck -fn '%s' >'%s.fsck' 2>&1", path, path);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

static void show_fsck(const char *path)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "head -8 '%s.fsck' | sed 's/^/#   /'", path);
	if (system(cmd) != 0)
		printf("#   (no e2fsck output)\n");
}

struct readback {
	uint64_t blocks;
	uint32_t inodes, groups, bad_csum;
};

static int read_back(const char *path, struct readback *rb)
{
	ext2_filsys fs;

	if (ext2fs_open(path, EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS, 0, 0, unix_io_manager,
			&fs))
		return -1;
	rb->blocks = ext2fs_blocks_count(fs->super);
	rb->inodes = fs->super->s_inodes_count;
	rb->groups = fs->group_desc_count;
	rb->bad_csum = 0;
	for (dgrp_t g = 0; g < fs->group_desc_count; g++)
		rb->bad_csum += !ext2fs_group_desc_csum_verify(fs, g);
	ext2fs_close_free(&fs);
	return 0;
}

static void check_image(const char *path, const char *what, uint64_t bytes, uint32_t min_inodes)
{
	struct readback rb = {0};
	int rc = fsck(path);

	if (!ok(rc == 0, "%s of %llu MiB: e2fsck -fn clean", what, (unsigned long long)(bytes / MIB)))
		show_fsck(path);
	if (!ok(read_back(path, &rb) == 0, "%s of %llu MiB: libext2fs opens it", what,
		(unsigned long long)(bytes / MIB)))
		return;
	/* a last group too small for its share of inode tables is left out, as mke2fs does */
	ok(rb.blocks * EXT4_BLOCK_SIZE <= bytes && rb.blocks * EXT4_BLOCK_SIZE + 128 * MIB > bytes,
	   "%s of %llu MiB: fills it but for a short last group (%llu blocks)", what,
	   (unsigned long long)(bytes / MIB), (unsigned long long)rb.blocks);
	is_int(rb.bad_csum, 0, "%s of %llu MiB: every one of %u group descriptors checksums", what,
	       (unsigned long long)(bytes / MIB), rb.groups);
	if (min_inodes)
		ok(rb.inodes >= min_inodes, "%s of %llu MiB: %u inodes, at least %u (mke2fs's ratio)",
		   what, (unsigned long long)(bytes / MIB), rb.inodes, min_inodes);
}

static void rootfs_at(uint64_t bytes)
{
	struct ext4_opts o = {.size = bytes, .epoch = 1700000000};
	struct ext4_result res;
	struct tree *t = small_tree();
	char path[256];
	int r;

	snprintf(path, sizeof(path), "%s/rootfs-%llu", dir, (unsigned long long)(bytes / MIB));
	memset(o.seed, 7, sizeof(o.seed));
	r = ext4_write(t, path, &o, &res, &e);
	tree_free(t);
	if (!ok(r == 0, "rootfs of %llu MiB written", (unsigned long long)(bytes / MIB))) {
		printf("#   %s\n", e.msg);
		return;
	}
	check_image(path, "rootfs", bytes, 0);
	unlink(path);
}

static void data_at(uint64_t bytes)
{
	uint8_t seed[SHA256_LEN];
	char path[256];
	uint64_t ratio = bytes < 512 * MIB ? 4096 : 16384;

	memset(seed, 9, sizeof(seed));
	snprintf(path, sizeof(path), "%s/data-%llu", dir, (unsigned long long)(bytes / MIB));
	if (!ok(ext4_write_data(path, bytes, seed, 1700000000, &e) == 0,
		"data partition of %llu MiB written", (unsigned long long)(bytes / MIB))) {
		printf("#   %s\n", e.msg);
		return;
	}
	/* ext4 rounds inodes up to fill whole inode-table blocks per group, never down */
	check_image(path, "data partition", bytes, (uint32_t)(bytes / ratio));
	unlink(path);
}

int main(void)
{
	static const uint64_t sizes[] = {16,  64,  127, 128, 129,  255,  256,  257,  300,
					 384, 511, 512, 513, 1024, 1025, 2048, 4096};
	char cmd[128];

	if (system("e2fsck -V >/dev/null 2>&1") != 0) {
		printf("1..0 # SKIP e2fsck missing\n");
		return 77;
	}
	if (!mkdtemp(dir))
		return 1;
	initialize_ext2_error_table();
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		rootfs_at(sizes[i] * MIB);
		data_at(sizes[i] * MIB);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
