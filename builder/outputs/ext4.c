#include "ext4.h"
#include "builder/size.h"

#include <errno.h>
#include <et/com_err.h>
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BS EXT4_BLOCK_SIZE
#define INODE_SIZE 256
#define EXTRA_ISIZE 32
#define MAX_EXTENT_LEN 32768 /* initialised extents */
#define CHUNK_BLOCKS 256     /* 1 MiB read at a time */
#define DIRENT_TAIL 12       /* metadata_csum tail in every directory block */

struct writer {
	ext2_filsys fs;
	struct tree *tree;
	int64_t epoch;
	blk64_t goal;
	char *chunk;
	struct secret_scan *scan; /* NULL: not looked at */
	struct err *e;
};

/* Pending extent being extended while a file's blocks are written in order. */
struct extent_builder {
	ext2_extent_handle_t handle;
	struct ext2fs_extent cur;
	bool have_cur, inserted_any;
	blk64_t data_blocks;
};

static int fail(struct writer *w, errcode_t code, const char *what, const char *path)
{
	return err_set(w->e, code == EXT2_ET_BLOCK_ALLOC_FAIL || code == EXT2_ET_INODE_ALLOC_FAIL
				     ? ENOSPC
				     : EIO,
		       "%s%s%s: %s", what, path ? " " : "", path ? path : "",
		       code == EXT2_ET_BLOCK_ALLOC_FAIL || code == EXT2_ET_INODE_ALLOC_FAIL
			       ? "the filesystem is full (the tree does not fit in the image size)"
			       : error_message(code));
}

/* ---- sizing ---- */

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

static uint32_t dirent_len(size_t name_len)
{
	return (uint32_t)((8 + name_len + 3) & ~3u);
}

/* Blocks of a directory packed the way write_dir packs it. */
static uint64_t dir_blocks(const struct tree_node *n)
{
	const uint32_t room = BS - DIRENT_TAIL;
	uint64_t blocks = 1;
	uint32_t used = dirent_len(1) + dirent_len(2);

	for (size_t i = 0; i < n->nchildren; i++) {
		uint32_t l = dirent_len(strlen(n->children[i]->name));

		if (used + l > room) {
			blocks++;
			used = 0;
		}
		used += l;
	}
	return blocks;
}

static size_t xattr_bytes(const struct tree_inode *in)
{
	size_t total = 0;

	for (size_t i = 0; i < in->nxattrs; i++)
		total += 16 + ((strlen(in->xattrs[i].name) + 3) & ~3u) +
			 ((in->xattrs[i].len + 3) & ~3u);
	return total;
}

static uint64_t inode_blocks(const struct tree_node *n)
{
	const struct tree_inode *in = n->inode;
	uint64_t b = 0, bytes;

	switch (in->type) {
	case TREE_REG:
		bytes = in->alloc < in->size ? in->alloc : in->size;
		b = div_up(bytes, BS);
		b += b > 4 ? 1 + b / (340ULL * MAX_EXTENT_LEN) : 0;
		break;
	case TREE_DIR:
		b = dir_blocks(n);
		b += b > 4 ? 1 : 0;
		break;
	case TREE_SYMLINK:
		b = strlen(in->target) >= 60;
		break;
	default:
		break;
	}
	/* xattrs beyond what fits in the inode body go to one block */
	if (xattr_bytes(in) > INODE_SIZE - 128 - EXTRA_ISIZE - 8)
		b++;
	return b;
}

struct count {
	uint64_t blocks, inodes;
	uint64_t apparent; /* regular files at their full size, holes included */
	uint64_t largest;
	char largest_path[TREE_PATH_MAX + 1];
};

static int count_fn(struct tree_node *n, const char *path, void *userdata)
{
	struct count *c = userdata;
	const struct tree_inode *in = n->inode;

	if (in->ino)
		return 0;
	n->inode->ino = 1;
	c->inodes++;
	c->blocks += inode_blocks(n);
	if (in->type == TREE_REG) {
		c->apparent = in->size > UINT64_MAX - c->apparent ? UINT64_MAX
								   : c->apparent + in->size;
		if (in->size > c->largest) {
			c->largest = in->size;
			snprintf(c->largest_path, sizeof(c->largest_path), "%s", path);
		}
	}
	return 0;
}

static int clear_fn(struct tree_node *n, const char *path, void *userdata)
{
	(void)path;
	(void)userdata;
	n->inode->ino = 0;
	return 0;
}

static void count_tree(struct tree *t, struct count *c) /* c: a few KiB, off the stack */
{
	memset(c, 0, sizeof(*c));
	tree_walk(t, clear_fn, NULL);
	tree_walk(t, count_fn, c);
	tree_walk(t, clear_fn, NULL);
}

uint64_t ext4_content_blocks(struct tree *t)
{
	struct count *c = malloc(sizeof(*c));
	uint64_t blocks;

	if (!c)
		return UINT64_MAX;
	count_tree(t, c);
	blocks = c->blocks;
	free(c);
	return blocks;
}

static bool group_has_super(uint64_t g)
{
	if (g <= 1)
		return true;
	for (uint64_t base = 3; base <= 7; base += 2) {
		uint64_t p = base;
		while (p < g)
			p *= base;
		if (p == g)
			return true;
	}
	return false;
}

/* Metadata blocks of a filesystem of `blocks` blocks and `inodes` inodes (an upper bound). */
static uint64_t overhead_blocks(uint64_t blocks, uint64_t inodes)
{
	uint64_t groups = div_up(blocks, 8 * BS), gdt = div_up(groups * 64, BS), supers = 0;

	for (uint64_t g = 0; g < groups; g++)
		supers += group_has_super(g);
	/* inode tables are rounded up per group */
	return supers * (1 + gdt) + groups * 2 + div_up(inodes * INODE_SIZE, BS) + groups + 16;
}

/* Bytes per inode of a filesystem that will be written to: mke2fs.conf's defaults ("small"
 * below 512 MiB, "default" above), so the data partition holds as many files as mke2fs's
 * would. A filesystem sized from its tree alone gets a few dozen inodes. */
static uint64_t writable_inode_ratio(uint64_t bytes)
{
	return bytes < (512ULL << 20) ? 4096 : 16384;
}

/* Every pass over file contents (the tree digest, the writer) costs the files' full sizes,
 * holes included; bounding their sum by the filesystem's size keeps that work in proportion
 * to the image, whatever size a sparse file declares. */
static int check_apparent(const struct count *c, uint64_t fs_blocks, struct err *e)
{
	char all[32], fs[32];

	if (c->apparent / BS <= fs_blocks)
		return 0;
	return err_set(e, EFBIG, "files of %s in all (sparse files at their full size; the "
				 "largest: " MSG_NAME_FMT ", %llu bytes) do not fit in the rootfs of "
				 "%s", size_str(c->apparent, all, sizeof(all)),
		       MSG_NAME(c->largest_path), (unsigned long long)c->largest,
		       size_str(fs_blocks * BS, fs, sizeof(fs)));
}

static int plan_count(const struct count *c, const struct ext4_opts *o, uint64_t *ret_blocks,
		      uint64_t *ret_inodes, struct err *e)
{
	const uint64_t mib = 1 << 20;
	uint64_t inodes, blocks, need, headroom;
	int r;

	inodes = c->inodes + 16; /* reserved inodes and lost+found */
	inodes += inodes * (o->headroom_pct ? o->headroom_pct : 10) / 100;
	if (o->writable && o->size && o->size / writable_inode_ratio(o->size) > inodes)
		inodes = o->size / writable_inode_ratio(o->size);
	need = c->blocks + 1;
	blocks = need;
	for (int i = 0; i < 4; i++)
		blocks = need + overhead_blocks(blocks, inodes);
	if (o->size) {
		if (o->size % BS)
			return err_set(e, EINVAL, "rootfs size %llu is not a multiple of %d",
				       (unsigned long long)o->size, BS);
		if (o->size / BS < blocks) {
			char fixed[32];
			return err_set(e, ENOSPC, "the tree needs at least %llu MiB but the "
						  "profile fixes the rootfs size at %s",
				       (unsigned long long)div_up(blocks * BS, mib),
				       size_str(o->size, fixed, sizeof(fixed)));
		}
		*ret_blocks = o->size / BS;
	} else {
		headroom = o->headroom_bytes ? div_up(o->headroom_bytes, BS)
					     : blocks * o->headroom_pct / 100;
		blocks = div_up((blocks + headroom) * BS, mib) * (mib / BS);
		*ret_blocks = blocks < 512 ? 512 : blocks;
	}
	r = check_apparent(c, *ret_blocks, e);
	if (r < 0)
		return r;
	*ret_inodes = inodes;
	return 0;
}

static int plan_size(struct tree *t, const struct ext4_opts *o, uint64_t *ret_blocks,
		     uint64_t *ret_inodes, struct err *e)
{
	struct count *c = malloc(sizeof(*c));
	int r;

	if (!c)
		return err_set(e, ENOMEM, "out of memory");
	count_tree(t, c);
	r = plan_count(c, o, ret_blocks, ret_inodes, e);
	free(c);
	return r;
}

int ext4_check_fit(struct tree *t, const struct ext4_opts *o, struct err *e)
{
	uint64_t blocks, inodes;

	return plan_size(t, o, &blocks, &inodes, e);
}

/* ---- filesystem set-up ---- */

static void set_time(uint32_t *lo, uint8_t *hi, int64_t t)
{
	*lo = (uint32_t)t;
	if (hi)
		*hi = (uint8_t)(((uint64_t)t >> 32) & 0xff);
}

static int fs_create(const char *path, uint64_t blocks, uint64_t inodes, ext2_filsys *ret,
		     struct err *e)
{
	struct ext2_super_block param;
	ext2_filsys fs = NULL;
	errcode_t err;

	memset(&param, 0, sizeof(param));
	ext2fs_blocks_count_set(&param, blocks);
	param.s_inodes_count = (uint32_t)(inodes > UINT32_MAX - 1 ? UINT32_MAX - 1 : inodes);
	param.s_log_block_size = 2; /* 1024 << 2 */
	param.s_rev_level = EXT2_DYNAMIC_REV;
	param.s_inode_size = INODE_SIZE;
	param.s_min_extra_isize = param.s_want_extra_isize = EXTRA_ISIZE;
	param.s_desc_size = EXT2_MIN_DESC_SIZE_64BIT;
	param.s_log_groups_per_flex = 4;
	param.s_feature_compat = EXT2_FEATURE_COMPAT_EXT_ATTR | EXT2_FEATURE_COMPAT_DIR_INDEX;
	param.s_feature_incompat = EXT2_FEATURE_INCOMPAT_FILETYPE | EXT3_FEATURE_INCOMPAT_EXTENTS |
				   EXT4_FEATURE_INCOMPAT_64BIT | EXT4_FEATURE_INCOMPAT_FLEX_BG;
	param.s_feature_ro_compat =
		EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER | EXT2_FEATURE_RO_COMPAT_LARGE_FILE |
		EXT4_FEATURE_RO_COMPAT_HUGE_FILE | EXT4_FEATURE_RO_COMPAT_DIR_NLINK |
		EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE | EXT4_FEATURE_RO_COMPAT_METADATA_CSUM;
	param.s_default_mount_opts = EXT2_DEFM_XATTR_USER | EXT2_DEFM_ACL;
	param.s_errors = EXT2_ERRORS_CONTINUE;
	err = ext2fs_initialize(path, EXT2_FLAG_EXCLUSIVE | EXT2_FLAG_64BITS, &param,
				unix_io_manager, &fs);
	if (err)
		return err_set(e, EIO, "creating ext4 on %s: %s", path, error_message(err));
	*ret = fs;
	return 0;
}

/* Everything ext2fs_initialize made random or took from the clock is replaced by values
 * derived from the seed and SOURCE_DATE_EPOCH. */
static void fs_make_deterministic(ext2_filsys fs, const struct ext4_opts *o)
{
	struct ext2_super_block *sb = fs->super;
	uint8_t digest[SHA256_LEN];
	uint8_t buf[SHA256_LEN + 16];

	memcpy(buf, o->seed, SHA256_LEN);
	memcpy(buf + SHA256_LEN, "ext4-uuid-v1\0\0\0\0", 16);
	sha256_buf(buf, sizeof(buf), digest);
	memcpy(sb->s_uuid, digest, 16);
	sb->s_uuid[6] = (uint8_t)((sb->s_uuid[6] & 0x0f) | 0x40); /* RFC 4122 version 4 */
	sb->s_uuid[8] = (uint8_t)((sb->s_uuid[8] & 0x3f) | 0x80);
	memcpy(buf + SHA256_LEN, "ext4-hash-v1\0\0\0\0", 16);
	sha256_buf(buf, sizeof(buf), digest);
	memcpy(sb->s_hash_seed, digest, 16);
	sb->s_def_hash_version = EXT2_HASH_HALF_MD4;
	sb->s_checksum_type = EXT2_CRC32C_CHKSUM;
	sb->s_r_blocks_count = 0;
	sb->s_r_blocks_count_hi = 0;
	sb->s_max_mnt_count = (uint16_t)-1;
	sb->s_kbytes_written = 0;
	set_time(&sb->s_mkfs_time, &sb->s_mkfs_time_hi, o->epoch);
	set_time(&sb->s_wtime, &sb->s_wtime_hi, o->epoch);
	set_time(&sb->s_mtime, &sb->s_mtime_hi, 0);
	set_time(&sb->s_lastcheck, &sb->s_lastcheck_hi, o->epoch);
	memset(sb->s_volume_name, 0, sizeof(sb->s_volume_name));
	if (o->label)
		strncpy((char *)sb->s_volume_name, o->label, sizeof(sb->s_volume_name));
	fs->now = o->epoch;
	ext2fs_init_csum_seed(fs);
}

static int fs_setup(ext2_filsys fs, struct err *e)
{
	errcode_t err;

	err = ext2fs_allocate_tables(fs);
	if (err)
		return err_set(e, EIO, "allocating ext4 tables: %s", error_message(err));
	/* The image file is fresh and sparse: the inode tables already read as zeroes. */
	for (dgrp_t g = 0; g < fs->group_desc_count; g++)
		ext2fs_bg_flags_set(fs, g, EXT2_BG_INODE_ZEROED);
	for (ext2_ino_t i = 1; i < EXT2_FIRST_INODE(fs->super); i++)
		if (i != EXT2_ROOT_INO)
			ext2fs_inode_alloc_stats2(fs, i, +1, 0);
	err = ext2fs_update_bb_inode(fs, NULL);
	if (err)
		return err_set(e, EIO, "writing the bad blocks inode: %s", error_message(err));
	return 0;
}

/* ---- inode numbers ---- */

struct assign {
	ext2_filsys fs;
	ext2_ino_t next;
	uint64_t dirs;
	int err;
};

static int assign_fn(struct tree_node *n, const char *path, void *userdata)
{
	struct assign *a = userdata;
	struct tree_inode *in = n->inode;
	bool is_dir = in->type == TREE_DIR;

	(void)path;
	if (in->ino)
		return 0;
	if (!n->parent) {
		in->ino = EXT2_ROOT_INO;
	} else {
		if (a->next > a->fs->super->s_inodes_count)
			return -ENOSPC;
		in->ino = a->next++;
	}
	ext2fs_inode_alloc_stats2(a->fs, in->ino, +1, is_dir);
	return 0;
}

/* ---- data ---- */

static int extent_flush(struct writer *w, struct extent_builder *x)
{
	errcode_t err;

	if (!x->have_cur)
		return 0;
	err = ext2fs_extent_insert(x->handle, x->inserted_any ? EXT2_EXTENT_INSERT_AFTER : 0,
				   &x->cur);
	if (err)
		return fail(w, err, "adding an extent", NULL);
	x->inserted_any = true;
	x->have_cur = false;
	return 0;
}

static int extent_add(struct writer *w, struct extent_builder *x, blk64_t lblk, blk64_t pblk,
		      blk64_t len)
{
	int r;

	x->data_blocks += len;
	while (len) {
		if (x->have_cur && x->cur.e_lblk + x->cur.e_len == lblk &&
		    x->cur.e_pblk + x->cur.e_len == pblk && x->cur.e_len < MAX_EXTENT_LEN) {
			blk64_t take = MAX_EXTENT_LEN - x->cur.e_len;
			take = take < len ? take : len;
			x->cur.e_len += (uint32_t)take;
			lblk += take, pblk += take, len -= take;
			continue;
		}
		r = extent_flush(w, x);
		if (r < 0)
			return r;
		x->cur = (struct ext2fs_extent){.e_lblk = lblk, .e_pblk = pblk, .e_len = 0};
		x->have_cur = true;
	}
	return 0;
}

/* Allocates and writes n blocks of buf at logical block lblk, in as few ranges as the free
 * space allows. */
static int write_run(struct writer *w, struct extent_builder *x, blk64_t lblk, const char *buf,
		     blk64_t n)
{
	while (n) {
		blk64_t pblk, got;
		errcode_t err = ext2fs_new_range(w->fs, 0, w->goal, n, NULL, &pblk, &got);

		if (err)
			return fail(w, err, "allocating blocks", NULL);
		ext2fs_block_alloc_stats_range(w->fs, pblk, got, +1);
		err = io_channel_write_blk64(w->fs->io, pblk, (int)got, buf);
		if (err)
			return fail(w, err, "writing blocks", NULL);
		w->goal = pblk + got;
		if (extent_add(w, x, lblk, pblk, got) < 0)
			return -EIO;
		lblk += got, buf += got * BS, n -= got;
	}
	return 0;
}

static bool block_is_zero(const char *b)
{
	static const char zero[BS];

	return memcmp(b, zero, BS) == 0;
}

/* Writes one chunk, skipping all-zero blocks so they stay holes. */
static int write_chunk(struct writer *w, struct extent_builder *x, blk64_t lblk, const char *buf,
		       blk64_t n)
{
	blk64_t i = 0;
	int r;

	while (i < n) {
		blk64_t start;

		while (i < n && block_is_zero(buf + i * BS))
			i++;
		start = i;
		while (i < n && !block_is_zero(buf + i * BS))
			i++;
		if (i > start) {
			r = write_run(w, x, lblk + start, buf + start * BS, i - start);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int extent_open(struct writer *w, ext2_ino_t ino, struct ext2_inode_large *inode,
		       struct extent_builder *x, const char *path)
{
	errcode_t err;

	memset(x, 0, sizeof(*x));
	inode->i_flags |= EXT4_EXTENTS_FL;
	err = ext2fs_extent_open2(w->fs, ino, (struct ext2_inode *)inode, &x->handle);
	if (err)
		return fail(w, err, "opening the extent tree of", path);
	return 0;
}

static int extent_close(struct writer *w, struct extent_builder *x,
			struct ext2_inode_large *inode, const char *path)
{
	int r = extent_flush(w, x);
	errcode_t err;

	ext2fs_extent_free(x->handle);
	if (r < 0)
		return err_prefix(w->e, r, "%s", path);
	err = ext2fs_iblk_add_blocks(w->fs, (struct ext2_inode *)inode, x->data_blocks);
	if (err)
		return fail(w, err, "counting blocks of", path);
	return 0;
}

static int write_file_data(struct writer *w, const struct tree_inode *in,
			   struct ext2_inode_large *inode, const char *path)
{
	struct extent_builder x;
	struct tree_reader rd;
	uint64_t off = 0;
	int r;

	r = extent_open(w, in->ino, inode, &x, path);
	if (r < 0)
		return r;
	r = tree_reader_open(w->tree, in, &rd, w->e);
	if (w->scan)
		secret_file_begin(w->scan, path, tree_inode_origin(in), in->size);
	while (r == 0 && off < in->size) {
		size_t len = in->size - off < (uint64_t)CHUNK_BLOCKS * BS ? (size_t)(in->size - off)
									   : CHUNK_BLOCKS * BS;
		size_t padded = (len + BS - 1) & ~(size_t)(BS - 1);

		r = tree_reader_pread(&rd, w->chunk, len, off, w->e);
		if (r < 0)
			break;
		if (w->scan)
			secret_file_data(w->scan, (const uint8_t *)w->chunk, len);
		memset(w->chunk + len, 0, padded - len);
		r = write_chunk(w, &x, off / BS, w->chunk, padded / BS);
		off += len;
	}
	tree_reader_close(&rd);
	if (w->scan)
		secret_file_end(w->scan);
	if (r < 0) {
		ext2fs_extent_free(x.handle);
		return err_prefix(w->e, r, "%s", path);
	}
	return extent_close(w, &x, inode, path);
}

/* ---- directories ---- */

static uint8_t dirent_type(enum tree_type t)
{
	static const uint8_t types[] = {
		[TREE_REG] = EXT2_FT_REG_FILE, [TREE_DIR] = EXT2_FT_DIR,
		[TREE_SYMLINK] = EXT2_FT_SYMLINK, [TREE_CHR] = EXT2_FT_CHRDEV,
		[TREE_BLK] = EXT2_FT_BLKDEV, [TREE_FIFO] = EXT2_FT_FIFO,
		[TREE_SOCK] = EXT2_FT_SOCK,
	};
	return types[t];
}

struct dirbuf {
	char *buf;
	uint64_t nblocks;
	uint32_t used; /* bytes used in the current block */
	struct ext2_dir_entry *last;
};

static void dirbuf_add(ext2_filsys fs, struct dirbuf *d, ext2_ino_t ino, const char *name,
		       uint8_t type)
{
	const uint32_t room = BS - DIRENT_TAIL;
	uint32_t len = dirent_len(strlen(name));
	char *block = d->buf + (d->nblocks - 1) * BS;
	struct ext2_dir_entry *de;

	if (d->used + len > room) {
		d->nblocks++;
		block += BS;
		d->used = 0;
	} else if (d->last) {
		ext2fs_set_rec_len(fs, dirent_len(ext2fs_dirent_name_len(d->last)), d->last);
	}
	de = (struct ext2_dir_entry *)(block + d->used);
	de->inode = ino;
	ext2fs_dirent_set_name_len(de, (int)strlen(name));
	ext2fs_dirent_set_file_type(de, type);
	memcpy(de->name, name, strlen(name));
	/* the last entry of a block spans to the tail; fixed up when the block is sealed */
	ext2fs_set_rec_len(fs, room - d->used, de);
	d->used += len;
	d->last = de;
}

static int write_dir(struct writer *w, const struct tree_node *n, struct ext2_inode_large *inode,
		     const char *path)
{
	uint64_t nblocks = dir_blocks(n);
	struct dirbuf d = {.nblocks = 1};
	struct extent_builder x;
	blk64_t done = 0;
	int r;

	d.buf = calloc(nblocks, BS);
	if (!d.buf)
		return err_set(w->e, ENOMEM, "out of memory");
	dirbuf_add(w->fs, &d, n->inode->ino, ".", EXT2_FT_DIR);
	dirbuf_add(w->fs, &d, n->parent ? n->parent->inode->ino : n->inode->ino, "..",
		   EXT2_FT_DIR);
	for (size_t i = 0; i < n->nchildren; i++)
		dirbuf_add(w->fs, &d, n->children[i]->inode->ino, n->children[i]->name,
			   dirent_type(n->children[i]->inode->type));
	for (uint64_t b = 0; b < nblocks; b++)
		ext2fs_initialize_dirent_tail(w->fs, EXT2_DIRENT_TAIL(d.buf + b * BS, BS));
	r = extent_open(w, n->inode->ino, inode, &x, path);
	while (r == 0 && done < nblocks) {
		blk64_t pblk, got;
		errcode_t err = ext2fs_new_range(w->fs, 0, w->goal, nblocks - done, NULL, &pblk,
						 &got);
		if (err) {
			r = fail(w, err, "allocating directory", path);
			break;
		}
		ext2fs_block_alloc_stats_range(w->fs, pblk, got, +1);
		for (blk64_t i = 0; i < got && r == 0; i++) {
			err = ext2fs_write_dir_block4(w->fs, pblk + i, d.buf + (done + i) * BS, 0,
						      n->inode->ino);
			if (err)
				r = fail(w, err, "writing directory", path);
		}
		if (r == 0)
			r = extent_add(w, &x, done, pblk, got);
		w->goal = pblk + got;
		done += got;
	}
	free(d.buf);
	if (r < 0) {
		ext2fs_extent_free(x.handle);
		return r;
	}
	inode->i_size = (uint32_t)(nblocks * BS);
	return extent_close(w, &x, inode, path);
}

/* ---- inodes ---- */

static uint16_t dir_links(const struct tree_node *n)
{
	uint64_t links = 2;

	for (size_t i = 0; i < n->nchildren; i++)
		links += n->children[i]->inode->type == TREE_DIR;
	return links >= EXT2_LINK_MAX ? 1 : (uint16_t)links; /* dir_nlink: 1 means "many" */
}

static uint16_t mode_bits(const struct tree_inode *in)
{
	static const uint16_t fmt[] = {
		[TREE_REG] = LINUX_S_IFREG, [TREE_DIR] = LINUX_S_IFDIR,
		[TREE_SYMLINK] = LINUX_S_IFLNK, [TREE_CHR] = LINUX_S_IFCHR,
		[TREE_BLK] = LINUX_S_IFBLK, [TREE_FIFO] = LINUX_S_IFIFO,
		[TREE_SOCK] = LINUX_S_IFSOCK,
	};
	return (uint16_t)(fmt[in->type] | (in->type == TREE_SYMLINK ? 0777 : in->mode & 07777));
}

static void set_device(struct ext2_inode_large *inode, uint32_t major, uint32_t minor)
{
	if (major < 256 && minor < 256) {
		inode->i_block[0] = major << 8 | minor;
	} else {
		inode->i_block[1] = (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
	}
}

static void inode_init(struct writer *w, const struct tree_node *n,
		       struct ext2_inode_large *inode)
{
	const struct tree_inode *in = n->inode;
	uint8_t hi = (uint8_t)(((uint64_t)w->epoch >> 32) & 3);

	memset(inode, 0, sizeof(*inode));
	inode->i_mode = mode_bits(in);
	ext2fs_set_i_uid_high(*inode, in->uid >> 16);
	ext2fs_set_i_gid_high(*inode, in->gid >> 16);
	inode->i_uid = (uint16_t)in->uid;
	inode->i_gid = (uint16_t)in->gid;
	inode->i_links_count = in->type == TREE_DIR ? dir_links(n) : (uint16_t)in->nlink;
	inode->i_atime = inode->i_ctime = inode->i_mtime = inode->i_crtime = (uint32_t)w->epoch;
	inode->i_atime_extra = inode->i_ctime_extra = inode->i_mtime_extra =
		inode->i_crtime_extra = hi;
	inode->i_extra_isize = EXTRA_ISIZE;
}

static int write_xattrs(struct writer *w, const struct tree_inode *in, const char *path)
{
	struct ext2_xattr_handle *h = NULL;
	errcode_t err;

	if (!in->nxattrs)
		return 0;
	err = ext2fs_xattrs_open(w->fs, in->ino, &h);
	if (!err)
		err = ext2fs_xattrs_read(h);
	for (size_t i = 0; !err && i < in->nxattrs; i++)
		err = ext2fs_xattr_set(h, in->xattrs[i].name, in->xattrs[i].value,
				       in->xattrs[i].len);
	if (h)
		ext2fs_xattrs_close(&h);
	if (err)
		return fail(w, err, "writing xattrs of", path);
	return 0;
}

static int write_symlink(struct writer *w, const struct tree_inode *in,
			 struct ext2_inode_large *inode, const char *path)
{
	size_t len = strlen(in->target);
	struct extent_builder x;
	int r;

	inode->i_size = (uint32_t)len;
	if (len < sizeof(inode->i_block)) {
		memcpy(inode->i_block, in->target, len);
		return 0;
	}
	r = extent_open(w, in->ino, inode, &x, path);
	if (r < 0)
		return r;
	memset(w->chunk, 0, BS);
	memcpy(w->chunk, in->target, len);
	r = write_run(w, &x, 0, w->chunk, 1);
	if (r < 0) {
		ext2fs_extent_free(x.handle);
		return err_prefix(w->e, r, "%s", path);
	}
	return extent_close(w, &x, inode, path);
}

static int inode_store(struct writer *w, ext2_ino_t ino, struct ext2_inode_large *inode,
		       const char *path)
{
	errcode_t err = ext2fs_write_inode_full(w->fs, ino, (struct ext2_inode *)inode,
						sizeof(*inode));

	if (err)
		return fail(w, err, "writing inode of", path);
	return 0;
}

static int write_fn(struct tree_node *n, const char *path, void *userdata)
{
	struct writer *w = userdata;
	struct tree_inode *in = n->inode;
	struct ext2_inode_large inode;
	int r = 0;

	if (w->scan && (in->type == TREE_DIR || in->type == TREE_REG)) /* every name of it */
		secret_scan_name(w->scan, path, in->type == TREE_DIR,
				 in->type == TREE_REG ? in->size : 0, tree_inode_origin(in));
	if (in->type == TREE_DIR || !(in->mode & 0x80000000u)) {
		if (in->type != TREE_DIR)
			in->mode |= 0x80000000u; /* written: hard links share it */
	} else {
		return 0;
	}
	inode_init(w, n, &inode);
	inode.i_mode = (uint16_t)(inode.i_mode & ~0u);
	r = inode_store(w, in->ino, &inode, path);
	if (r < 0)
		return r;
	switch (in->type) {
	case TREE_REG:
		r = ext2fs_inode_size_set(w->fs, (struct ext2_inode *)&inode, in->size)
			    ? err_set(w->e, EFBIG, "%s: too large", path)
			    : write_file_data(w, in, &inode, path);
		break;
	case TREE_DIR:
		r = write_dir(w, n, &inode, path);
		break;
	case TREE_SYMLINK:
		r = write_symlink(w, in, &inode, path);
		break;
	case TREE_CHR:
	case TREE_BLK:
		set_device(&inode, in->rdev_major, in->rdev_minor);
		break;
	default:
		break;
	}
	if (r == 0)
		r = inode_store(w, in->ino, &inode, path);
	if (r == 0)
		r = write_xattrs(w, in, path);
	return r;
}

static int unmark_fn(struct tree_node *n, const char *path, void *userdata)
{
	(void)path;
	(void)userdata;
	n->inode->mode &= 07777;
	n->inode->ino = 0;
	return 0;
}

static int ensure_lost_found(struct tree *t, struct err *e)
{
	struct tree_inode *in;
	int r;

	if (tree_lookup(t, "/lost+found"))
		return 0;
	in = tree_inode_new(TREE_DIR, 0700);
	if (!in)
		return err_set(e, ENOMEM, "out of memory");
	r = tree_put(t, "/lost+found", in, e);
	tree_inode_unref(in);
	return r;
}

static int populate(struct writer *w)
{
	struct assign a = {.fs = w->fs, .next = EXT2_FIRST_INODE(w->fs->super)};
	int r;

	tree_walk(w->tree, unmark_fn, NULL);
	r = tree_walk(w->tree, assign_fn, &a);
	if (r < 0)
		return err_set(w->e, ENOSPC, "more files than inodes in the image");
	w->goal = 0;
	r = tree_walk(w->tree, write_fn, w);
	tree_walk(w->tree, unmark_fn, NULL);
	return r;
}

static int add_journal(ext2_filsys fs, struct err *e)
{
	struct ext2fs_journal_params jp;
	errcode_t err = ext2fs_get_journal_params(&jp, fs);

	if (!err)
		err = ext2fs_add_journal_inode3(fs, &jp, ~0ULL, 0);
	if (err)
		return err_set(e, EIO, "adding a journal: %s", error_message(err));
	return 0;
}

static int fs_finish(ext2_filsys fs, const struct ext4_opts *o, struct ext4_result *res,
		     struct err *e)
{
	errcode_t err;

	if (o->journal && add_journal(fs, e) < 0) {
		ext2fs_free(fs);
		return -EIO;
	}

	res->blocks_used = ext2fs_blocks_count(fs->super) - ext2fs_free_blocks_count(fs->super);
	res->inodes_used = fs->super->s_inodes_count - fs->super->s_free_inodes_count;
	res->size = ext2fs_blocks_count(fs->super) * BS;
	memcpy(res->uuid, fs->super->s_uuid, 16);
	set_time(&fs->super->s_wtime, &fs->super->s_wtime_hi, o->epoch);
	fs->super->s_kbytes_written = 0;
	/* ext2fs_close() writes checksums only for the groups whose bitmaps it writes: a group
	 * left entirely unused (BLOCK_UNINIT) would keep the stale descriptor checksum from
	 * before fs_setup() set its flags. Recompute flags and checksums of every group. */
	err = ext2fs_set_gdt_csum(fs);
	if (err) {
		ext2fs_free(fs);
		return err_set(e, EIO, "checksumming the group descriptors: %s", error_message(err));
	}
	ext2fs_mark_super_dirty(fs);
	/* no fsync: a build makes its outputs durable when it commits them */
	err = ext2fs_close2(fs, EXT2_FLAG_FLUSH_NO_SYNC);
	if (err) {
		ext2fs_free(fs);
		return err_set(e, EIO, "closing the filesystem: %s", error_message(err));
	}
	return 0;
}

static int create_file(const char *path, uint64_t bytes, struct err *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644), r = 0;

	if (fd < 0)
		return err_sys(e, errno, "creating %s", path);
	if (ftruncate(fd, (off_t)bytes) < 0)
		r = err_sys(e, errno, "sizing %s", path);
	close(fd);
	return r;
}

int ext4_write(struct tree *t, const char *path, const struct ext4_opts *o,
	       struct ext4_result *res, struct err *e)
{
	struct writer w = {.tree = t, .epoch = o->epoch, .scan = o->scan, .e = e};
	uint64_t blocks = 0, inodes = 0;
	int r;

	initialize_ext2_error_table();
	r = ensure_lost_found(t, e);
	if (r == 0)
		r = plan_size(t, o, &blocks, &inodes, e);
	if (r == 0)
		r = create_file(path, blocks * BS, e);
	if (r < 0)
		return r;
	r = fs_create(path, blocks, inodes, &w.fs, e);
	if (r < 0)
		return r;
	fs_make_deterministic(w.fs, o);
	r = fs_setup(w.fs, e);
	w.chunk = malloc((size_t)CHUNK_BLOCKS * BS);
	if (r == 0 && !w.chunk)
		r = err_set(e, ENOMEM, "out of memory");
	if (r == 0)
		r = populate(&w);
	free(w.chunk);
	if (r < 0) {
		ext2fs_free(w.fs);
		return r;
	}
	return fs_finish(w.fs, o, res, e);
}

int ext4_write_data(const char *path, uint64_t bytes, const uint8_t seed[SHA256_LEN],
		    int64_t epoch, struct err *e)
{
	struct ext4_opts o = {.size = bytes, .epoch = epoch, .label = "data", .journal = true,
			      .writable = true};
	struct ext4_result res;
	struct tree *t = NULL;
	int r;

	memcpy(o.seed, seed, SHA256_LEN);
	r = tree_new(&t, e);
	if (r == 0)
		r = ext4_write(t, path, &o, &res, e);
	tree_free(t);
	return r;
}

int ext4_check(const char *path, uint64_t offset, struct err *e)
{
	char opts[64];
	ext2_filsys fs = NULL;
	errcode_t err;
	dgrp_t g;
	int r = 0;

	initialize_ext2_error_table();
	snprintf(opts, sizeof(opts), "offset=%llu", (unsigned long long)offset);
	err = ext2fs_open2(path, opts, EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS, 0, 0,
			   unix_io_manager, &fs);
	if (err)
		return err_set(e, EINVAL, "%s", error_message(err));
	if (!ext2fs_superblock_csum_verify(fs, fs->super)) {
		r = err_set(e, EINVAL, "superblock checksum");
		goto out;
	}
	for (g = 0; g < fs->group_desc_count; g++)
		if (!ext2fs_group_desc_csum_verify(fs, g)) {
			r = err_set(e, EINVAL, "group %u: descriptor checksum", g);
			goto out;
		}
	err = ext2fs_check_desc(fs);
	if (!err) {
		fs->flags &= ~EXT2_FLAG_IGNORE_CSUM_ERRORS; /* bitmap checksums count from here */
		err = ext2fs_read_bitmaps(fs);
	}
	if (err)
		r = err_set(e, EINVAL, "%s", error_message(err));
out:
	ext2fs_close_free(&fs);
	return r;
}
