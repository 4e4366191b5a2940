#include "diff.h"

#include <errno.h>
#include <fcntl.h>
#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/bundle.h"
#include "lib/contract.h"
#include "lib/input.h"
#include "lib/io.h"
#include "lib/manifest.h"
#include "lib/slot.h"
#include "builder/outputs/gptread.h"

#define DIFF_ACCEPTS "a disk image, bundle or verity image"
#define READ_CHUNK (1u << 20)

/* ---- finding the slot: its manifest and where its rootfs is ---- */

static int read_exact(int fd, void *buf, size_t len, uint64_t off, const char *path,
		      struct err *e)
{
	return io_pread_full(fd, buf, len, off, path, e);
}

static uint64_t fd_size(int fd)
{
	off_t end = lseek(fd, 0, SEEK_END);

	return end > 0 ? (uint64_t)end : 0;
}

/* The manifest of the slot image at voff (vsize bytes) of fd. */
static int slot_manifest(int fd, const char *path, uint64_t voff, uint64_t vsize,
			 struct diff_side *s, struct err *e)
{
	uint8_t hdr[SLOT_HEADER_SIZE];
	struct slot_header h;
	int r = read_exact(fd, hdr, sizeof(hdr), voff, path, e);

	if (r == 0)
		r = slot_header_decode(hdr, sizeof(hdr), vsize, &h, e);
	if (r < 0)
		return err_prefix(e, r, "%s: slot image", path);
	s->manifest = malloc(h.manifest_size + 1);
	if (!s->manifest)
		return err_set(e, ENOMEM, "out of memory");
	r = read_exact(fd, s->manifest, h.manifest_size, voff + h.manifest_offset, path, e);
	s->manifest[r == 0 ? h.manifest_size : 0] = '\0';
	return r;
}

static int locate(const char *path, int fd, struct diff_side *s, char *rootfs_path, size_t n,
		  struct err *e)
{
	uint8_t head[BUNDLE_HEADER_SIZE];
	uint64_t size = fd_size(fd);
	int r;

	if (size < sizeof(head))
		return err_set(e, EINVAL, "%s: not %s (%" PRIu64 " bytes)", path, DIFF_ACCEPTS,
			       size);
	r = read_exact(fd, head, sizeof(head), 0, path, e);
	if (r < 0)
		return r;
	snprintf(rootfs_path, n, "%s", path);
	if (memcmp(head, BUNDLE_MAGIC, 8) == 0) {
		struct bundle_header b;

		r = bundle_header_decode(head, sizeof(head), BUNDLE_INPUT_FILE, size, &b, e);
		if (r < 0)
			return err_prefix(e, r, "%s", path);
		s->rootfs_offset = b.rootfs_offset;
		s->rootfs_size = b.rootfs_size;
		return slot_manifest(fd, path, b.verity_offset, b.verity_size, s, e);
	}
	if (memcmp(head, SLOT_MAGIC, 8) == 0) { /* NAME.verity, NAME.rootfs.ext4 beside it */
		static const char ext[] = "." CONTRACT_OUT_VERITY;
		size_t l = strlen(path), x = sizeof(ext) - 1;

		if (l <= x || strcmp(path + l - x, ext) != 0 ||
		    (size_t)snprintf(rootfs_path, n, "%.*s." CONTRACT_OUT_ROOTFS, (int)(l - x),
				     path) >= n)
			return err_set(e, EINVAL, "%s: a verity image must be named NAME."
				       CONTRACT_OUT_VERITY " (its rootfs is NAME." CONTRACT_OUT_ROOTFS ")",
				       path);
		s->rootfs_offset = 0;
		s->rootfs_size = UINT64_MAX; /* the file's, once open */
		return slot_manifest(fd, path, 0, size, s, e);
	}
	if (memcmp(head + 512, "EFI PART", 8) == 0) {
		struct gpt_disk d;
		char magic[8];
		int part = GPT_PART_VERITY_A;

		r = gpt_read(path, &d, e);
		if (r < 0)
			return r;
		/* slot A, or B when only B holds a slot */
		if (read_exact(fd, magic, 8, d.part[GPT_PART_VERITY_A].offset, path, e) < 0 ||
		    memcmp(magic, SLOT_MAGIC, 8) != 0)
			part = GPT_PART_VERITY_B;
		s->rootfs_offset = d.part[part == GPT_PART_VERITY_A ? GPT_PART_ROOT_A : GPT_PART_ROOT_B]
					   .offset;
		s->rootfs_size = d.part[part == GPT_PART_VERITY_A ? GPT_PART_ROOT_A : GPT_PART_ROOT_B]
					 .size;
		return slot_manifest(fd, path, d.part[part].offset, d.part[part].size, s, e);
	}
	return err_set(e, EINVAL, "%s: not %s (no bundle, slot image or GPT magic)", path,
		       DIFF_ACCEPTS);
}

/* ---- the ext4's entries ---- */

struct child {
	char *name;
	ext2_ino_t ino;
};

struct walk {
	ext2_filsys fs;
	struct diff_side *s;
	size_t cap;
	ext2fs_inode_bitmap dirs; /* directories walked */
	uint8_t *buf;
	struct err *e;
	/* the directory being listed */
	struct child *kids;
	size_t nkids, kcap;
	int rc;
};

static int fs_fail(struct walk *w, errcode_t err, const char *what, const char *path)
{
	return err_set(w->e, EINVAL, "%s: %s " MSG_NAME_FMT ": %s", w->s->name, what,
		       MSG_NAME(path), error_message(err));
}

static int list_cb(struct ext2_dir_entry *d, int offset, int blocksize, char *buf, void *priv)
{
	struct walk *w = priv;
	int len = ext2fs_dirent_name_len(d);
	struct child *c;

	(void)offset, (void)blocksize, (void)buf;
	if (!d->inode || (len == 1 && d->name[0] == '.') ||
	    (len == 2 && d->name[0] == '.' && d->name[1] == '.'))
		return 0;
	if (len == 0 || memchr(d->name, '/', (size_t)len) || memchr(d->name, '\0', (size_t)len)) {
		w->rc = err_set(w->e, EINVAL, "%s: a directory entry with a bad name", w->s->name);
		return DIRENT_ABORT;
	}
	if (w->nkids == w->kcap) {
		size_t cap = w->kcap ? w->kcap * 2 : 32;
		struct child *grown = realloc(w->kids, cap * sizeof(*grown));

		if (!grown) {
			w->rc = err_set(w->e, ENOMEM, "out of memory");
			return DIRENT_ABORT;
		}
		w->kids = grown, w->kcap = cap;
	}
	c = &w->kids[w->nkids];
	c->name = strndup(d->name, (size_t)len);
	c->ino = d->inode;
	if (!c->name) {
		w->rc = err_set(w->e, ENOMEM, "out of memory");
		return DIRENT_ABORT;
	}
	w->nkids++;
	return 0;
}

static int read_content(struct walk *w, ext2_ino_t ino, struct diff_entry *x, char *target)
{
	ext2_file_t f;
	errcode_t err = ext2fs_file_open(w->fs, ino, 0, &f);
	struct sha256_ctx *sha = target ? NULL : sha256_new();
	uint64_t left = x->size;

	if (err)
		return fs_fail(w, err, "opening", x->path);
	if (!target && !sha) {
		ext2fs_file_close(f);
		return err_set(w->e, ENOMEM, "out of memory");
	}
	while (left) {
		unsigned want = left < READ_CHUNK ? (unsigned)left : READ_CHUNK, got = 0;

		err = ext2fs_file_read(f, target ? target + (x->size - left) : (char *)w->buf,
				       want, &got);
		if (err || got == 0)
			break;
		if (sha)
			sha256_update(sha, w->buf, got);
		left -= got;
	}
	ext2fs_file_close(f);
	if (sha && (err || left)) {
		sha256_free(sha);
		sha = NULL;
	}
	if (err)
		return fs_fail(w, err, "reading", x->path);
	if (left)
		return err_set(w->e, EINVAL, "%s: " MSG_NAME_FMT ": shorter than its size",
			       w->s->name, MSG_NAME(x->path));
	if (sha)
		sha256_final(sha, x->sha256);
	return 0;
}

static int add_entry(struct walk *w, const char *path, ext2_ino_t ino,
		     struct ext2_inode_large *in)
{
	struct diff_side *s = w->s;
	struct diff_entry *x;
	uint16_t m = in->i_mode;

	if (s->nentries >= DIFF_MAX_ENTRIES)
		return err_set(w->e, E2BIG, "%s: more than %u entries", s->name, DIFF_MAX_ENTRIES);
	if (s->nentries == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 1024;
		struct diff_entry *grown = realloc(s->entries, cap * sizeof(*grown));

		if (!grown)
			return err_set(w->e, ENOMEM, "out of memory");
		s->entries = grown, w->cap = cap;
	}
	x = &s->entries[s->nentries];
	memset(x, 0, sizeof(*x));
	x->path = strdup(path);
	if (!x->path)
		return err_set(w->e, ENOMEM, "out of memory");
	s->nentries++;
	x->mode = m & 07777;
	x->uid = inode_uid(*in);
	x->gid = inode_gid(*in);
	x->size = EXT2_I_SIZE(in);
	if (LINUX_S_ISREG(m))
		x->type = TREE_REG;
	else if (LINUX_S_ISDIR(m))
		x->type = TREE_DIR, x->size = 0;
	else if (LINUX_S_ISLNK(m))
		x->type = TREE_SYMLINK;
	else if (LINUX_S_ISCHR(m) || LINUX_S_ISBLK(m)) {
		x->type = LINUX_S_ISCHR(m) ? TREE_CHR : TREE_BLK;
		x->rdev = in->i_block[0] ? in->i_block[0] : in->i_block[1];
		x->size = 0;
	} else if (LINUX_S_ISFIFO(m))
		x->type = TREE_FIFO, x->size = 0;
	else if (LINUX_S_ISSOCK(m))
		x->type = TREE_SOCK, x->size = 0;
	else
		return err_set(w->e, EINVAL, "%s: " MSG_NAME_FMT ": unknown file type 0%o", s->name,
			       MSG_NAME(path), m >> 12);
	/* stele's writer refuses a tree whose files' full sizes exceed the filesystem; a larger
	 * one (a hole of 2^60 bytes) would be hashed for days */
	if (x->type == TREE_REG &&
	    x->size > ext2fs_blocks_count(w->fs->super) * (uint64_t)EXT2_BLOCK_SIZE(w->fs->super))
		return err_set(w->e, EFBIG, "%s: " MSG_NAME_FMT ": %" PRIu64 " bytes, more than the "
			       "filesystem holds", s->name, MSG_NAME(path), x->size);
	if (x->type == TREE_REG)
		return read_content(w, ino, x, NULL);
	if (x->type == TREE_SYMLINK) {
		if (x->size == 0 || x->size > TREE_SYMLINK_MAX)
			return err_set(w->e, EINVAL, "%s: " MSG_NAME_FMT ": symlink of %" PRIu64
				       " bytes", s->name, MSG_NAME(path), x->size);
		x->target = calloc(1, x->size + 1);
		if (!x->target)
			return err_set(w->e, ENOMEM, "out of memory");
		if (ext2fs_is_fast_symlink((struct ext2_inode *)in)) {
			memcpy(x->target, (char *)in->i_block, x->size);
			return 0;
		}
		return read_content(w, ino, x, x->target);
	}
	return 0;
}

static int walk_dir(struct walk *w, ext2_ino_t dir, const char *path, int depth)
{
	struct child *kids;
	size_t nkids;
	errcode_t err;
	int r = 0;

	if (depth > DIFF_MAX_DEPTH)
		return err_set(w->e, ELOOP, "%s: " MSG_NAME_FMT ": directories nested deeper than %d",
			       w->s->name, MSG_NAME(path), DIFF_MAX_DEPTH);
	if (ext2fs_test_inode_bitmap2(w->dirs, dir))
		return err_set(w->e, ELOOP, "%s: " MSG_NAME_FMT ": a directory linked twice (a loop)",
			       w->s->name, MSG_NAME(path));
	ext2fs_mark_inode_bitmap2(w->dirs, dir);
	w->kids = NULL, w->nkids = w->kcap = 0, w->rc = 0;
	err = ext2fs_dir_iterate(w->fs, dir, 0, NULL, list_cb, w);
	kids = w->kids, nkids = w->nkids;
	w->kids = NULL;
	if (w->rc < 0)
		r = w->rc;
	else if (err)
		r = fs_fail(w, err, "listing", path);
	for (size_t i = 0; r == 0 && i < nkids; i++) {
		struct ext2_inode_large in;
		char child[TREE_PATH_MAX + 2];

		if ((size_t)snprintf(child, sizeof(child), "%s/%s", *path == '/' && !path[1] ? "" : path,
				     kids[i].name) >= sizeof(child)) {
			r = err_set(w->e, ENAMETOOLONG, "%s: a path longer than %d bytes", w->s->name,
				    TREE_PATH_MAX);
			break;
		}
		if (kids[i].ino > w->fs->super->s_inodes_count) {
			r = err_set(w->e, EINVAL, "%s: " MSG_NAME_FMT ": inode %u out of range",
				    w->s->name, MSG_NAME(child), kids[i].ino);
			break;
		}
		memset(&in, 0, sizeof(in));
		err = ext2fs_read_inode_full(w->fs, kids[i].ino, (struct ext2_inode *)&in,
					     sizeof(in));
		if (err) {
			r = fs_fail(w, err, "reading the inode of", child);
			break;
		}
		r = add_entry(w, child, kids[i].ino, &in);
		if (r == 0 && LINUX_S_ISDIR(in.i_mode))
			r = walk_dir(w, kids[i].ino, child, depth + 1);
	}
	for (size_t i = 0; i < nkids; i++)
		free(kids[i].name);
	free(kids);
	return r;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct diff_entry *)a)->path, ((const struct diff_entry *)b)->path);
}

static int read_tree(const char *rootfs, struct diff_side *s, struct err *e)
{
	struct walk w = {.s = s, .e = e};
	char opts[64];
	errcode_t err;
	int r;

	initialize_ext2_error_table();
	snprintf(opts, sizeof(opts), "offset=%" PRIu64, s->rootfs_offset);
	err = ext2fs_open2(rootfs, opts, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &w.fs);
	if (err)
		return err_set(e, EINVAL, "%s: the rootfs at byte %" PRIu64 " is no ext4 stele can "
			       "read: %s", rootfs, s->rootfs_offset, error_message(err));
	if (s->rootfs_size != UINT64_MAX &&
	    ext2fs_blocks_count(w.fs->super) > s->rootfs_size / EXT2_BLOCK_SIZE(w.fs->super)) {
		r = err_set(e, EINVAL, "%s: the ext4 (%llu blocks) is larger than its region",
			    rootfs, (unsigned long long)ext2fs_blocks_count(w.fs->super));
		goto out;
	}
	w.buf = malloc(READ_CHUNK);
	err = w.buf ? ext2fs_allocate_inode_bitmap(w.fs, "walked", &w.dirs) : EXT2_ET_NO_MEMORY;
	if (err) {
		r = err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	r = walk_dir(&w, EXT2_ROOT_INO, "/", 0);
	if (r == 0)
		qsort(s->entries, s->nentries, sizeof(*s->entries), by_path);
out:
	if (w.dirs)
		ext2fs_free_inode_bitmap(w.dirs);
	free(w.buf);
	ext2fs_close_free(&w.fs);
	return r;
}

int diff_open(const char *path, struct diff_side *s, struct err *e)
{
	char rootfs[4096 + 32];
	struct manifest m;
	int fd, r;

	s->name = path;
	r = input_open(path, O_RDONLY, INPUT_REG | INPUT_BLK, DIFF_ACCEPTS, &fd, NULL, e);
	if (r < 0)
		return r;
	r = locate(path, fd, s, rootfs, sizeof(rootfs), e);
	close(fd);
	if (r == 0) {
		r = manifest_parse(s->manifest, strlen(s->manifest), &m, e);
		if (r < 0)
			r = err_prefix(e, r, "%s: manifest", path);
	}
	if (r == 0 && !(s->doc = cJSON_Parse(s->manifest)))
		r = err_set(e, ENOMEM, "out of memory");
	if (r == 0) {
		if (m.rootfs_size < s->rootfs_size)
			s->rootfs_size = m.rootfs_size;
		r = read_tree(rootfs, s, e);
	}
	return r;
}

void diff_side_free(struct diff_side *s)
{
	for (size_t i = 0; i < s->nentries; i++) {
		free(s->entries[i].path);
		free(s->entries[i].target);
	}
	free(s->entries);
	free(s->manifest);
	cJSON_Delete(s->doc);
	memset(s, 0, sizeof(*s));
}

/* ---- comparing ---- */

/* Every leaf of the manifest but the inputs (compared as packages), "a.b[2].c" = value. */
static void flatten(const cJSON *v, const char *at, cJSON *out)
{
	char key[512];
	const cJSON *c;
	int i = 0;

	if (cJSON_IsObject(v)) {
		cJSON_ArrayForEach(c, v)
		{
			snprintf(key, sizeof(key), "%s%s%s", at, *at ? "." : "", c->string);
			if (strcmp(key, "provenance.inputs") != 0)
				flatten(c, key, out);
		}
	} else if (cJSON_IsArray(v)) {
		cJSON_ArrayForEach(c, v)
		{
			snprintf(key, sizeof(key), "%s[%d]", at, i++);
			flatten(c, key, out);
		}
		if (i == 0)
			cJSON_AddItemToObject(out, at, cJSON_CreateArray());
	} else {
		cJSON_AddItemToObject(out, at, cJSON_Duplicate(v, true));
	}
}

static cJSON *manifest_changes(const cJSON *a, const cJSON *b)
{
	cJSON *fa = cJSON_CreateObject(), *fb = cJSON_CreateObject(), *out = cJSON_CreateArray();
	const cJSON *c;

	flatten(a, "", fa);
	flatten(b, "", fb);
	cJSON_ArrayForEach(c, fa)
	{
		const cJSON *o = cJSON_GetObjectItemCaseSensitive(fb, c->string);

		if (!o || !cJSON_Compare(c, o, true)) {
			cJSON *x = cJSON_CreateObject();

			cJSON_AddStringToObject(x, "field", c->string);
			cJSON_AddItemToObject(x, "old", cJSON_Duplicate(c, true));
			cJSON_AddItemToObject(x, "new", o ? cJSON_Duplicate(o, true) : cJSON_CreateNull());
			cJSON_AddItemToArray(out, x);
		}
	}
	cJSON_ArrayForEach(c, fb)
	{
		if (!cJSON_GetObjectItemCaseSensitive(fa, c->string)) {
			cJSON *x = cJSON_CreateObject();

			cJSON_AddStringToObject(x, "field", c->string);
			cJSON_AddNullToObject(x, "old");
			cJSON_AddItemToObject(x, "new", cJSON_Duplicate(c, true));
			cJSON_AddItemToArray(out, x);
		}
	}
	cJSON_Delete(fa);
	cJSON_Delete(fb);
	return out;
}

static const cJSON *inputs_of(const cJSON *doc)
{
	return cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(doc, "provenance"), "inputs");
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

/* The input of the same kind and name, or NULL. */
static const cJSON *find_input(const cJSON *inputs, const cJSON *x)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, inputs)
	{
		if (strcmp(str(c, "kind"), str(x, "kind")) == 0 &&
		    strcmp(str(c, "name"), str(x, "name")) == 0)
			return c;
	}
	return NULL;
}

static cJSON *package(const cJSON *x)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "kind", str(x, "kind"));
	cJSON_AddStringToObject(p, "name", str(x, "name"));
	cJSON_AddStringToObject(p, "version", str(x, "version"));
	return p;
}

static cJSON *package_changes(const cJSON *a, const cJSON *b)
{
	cJSON *out = cJSON_CreateObject(), *added = cJSON_AddArrayToObject(out, "added");
	cJSON *removed = cJSON_AddArrayToObject(out, "removed");
	cJSON *changed = cJSON_AddArrayToObject(out, "changed");
	const cJSON *ia = inputs_of(a), *ib = inputs_of(b), *c;

	cJSON_ArrayForEach(c, ia)
	{
		const cJSON *o = find_input(ib, c);

		if (!o) {
			cJSON_AddItemToArray(removed, package(c));
		} else if (strcmp(str(c, "version"), str(o, "version")) != 0 ||
			   strcmp(str(c, "sha256"), str(o, "sha256")) != 0) {
			cJSON *p = package(c);

			cJSON_DeleteItemFromObject(p, "version");
			cJSON_AddStringToObject(p, "old", str(c, "version"));
			cJSON_AddStringToObject(p, "new", str(o, "version"));
			cJSON_AddItemToArray(changed, p);
		}
	}
	cJSON_ArrayForEach(c, ib)
	{
		if (!find_input(ia, c))
			cJSON_AddItemToArray(added, package(c));
	}
	return out;
}

static cJSON *entry_json(const struct diff_entry *x)
{
	cJSON *o = cJSON_CreateObject();
	char mode[8], hex[SHA256_HEX_LEN];

	cJSON_AddStringToObject(o, "path", x->path);
	cJSON_AddStringToObject(o, "type", tree_type_name(x->type));
	snprintf(mode, sizeof(mode), "%04o", x->mode);
	cJSON_AddStringToObject(o, "mode", mode);
	cJSON_AddNumberToObject(o, "uid", x->uid);
	cJSON_AddNumberToObject(o, "gid", x->gid);
	cJSON_AddNumberToObject(o, "size", (double)x->size);
	if (x->type == TREE_REG) {
		hex_encode(x->sha256, SHA256_LEN, hex);
		cJSON_AddStringToObject(o, "sha256", hex);
	}
	if (x->target)
		cJSON_AddStringToObject(o, "target", x->target);
	return o;
}

/* What differs between two entries of one path ("content", "mode", ...); NULL: nothing. */
static cJSON *entry_changes(const struct diff_entry *a, const struct diff_entry *b)
{
	cJSON *what = cJSON_CreateArray();

	if (a->type != b->type)
		cJSON_AddItemToArray(what, cJSON_CreateString("type"));
	else if (a->type == TREE_REG && memcmp(a->sha256, b->sha256, SHA256_LEN) != 0)
		cJSON_AddItemToArray(what, cJSON_CreateString("content"));
	else if (a->type == TREE_SYMLINK && strcmp(a->target, b->target) != 0)
		cJSON_AddItemToArray(what, cJSON_CreateString("target"));
	else if ((a->type == TREE_CHR || a->type == TREE_BLK) && a->rdev != b->rdev)
		cJSON_AddItemToArray(what, cJSON_CreateString("device"));
	if (a->mode != b->mode)
		cJSON_AddItemToArray(what, cJSON_CreateString("mode"));
	if (a->uid != b->uid || a->gid != b->gid)
		cJSON_AddItemToArray(what, cJSON_CreateString("owner"));
	if (cJSON_GetArraySize(what) == 0) {
		cJSON_Delete(what);
		return NULL;
	}
	return what;
}

static cJSON *file_changes(const struct diff_side *a, const struct diff_side *b)
{
	cJSON *out = cJSON_CreateObject(), *added = cJSON_AddArrayToObject(out, "added");
	cJSON *removed = cJSON_AddArrayToObject(out, "removed");
	cJSON *changed = cJSON_AddArrayToObject(out, "changed");
	size_t i = 0, j = 0;
	int64_t delta = 0;

	while (i < a->nentries || j < b->nentries) {
		int c = i == a->nentries   ? 1
			: j == b->nentries ? -1
					   : strcmp(a->entries[i].path, b->entries[j].path);

		if (c < 0) {
			cJSON_AddItemToArray(removed, entry_json(&a->entries[i]));
			delta -= (int64_t)a->entries[i++].size;
		} else if (c > 0) {
			cJSON_AddItemToArray(added, entry_json(&b->entries[j]));
			delta += (int64_t)b->entries[j++].size;
		} else {
			cJSON *what = entry_changes(&a->entries[i], &b->entries[j]);

			if (what) {
				cJSON *x = cJSON_CreateObject();

				cJSON_AddStringToObject(x, "path", a->entries[i].path);
				cJSON_AddItemToObject(x, "changes", what);
				cJSON_AddItemToObject(x, "old", entry_json(&a->entries[i]));
				cJSON_AddItemToObject(x, "new", entry_json(&b->entries[j]));
				cJSON_AddItemToArray(changed, x);
			}
			delta += (int64_t)b->entries[j].size - (int64_t)a->entries[i].size;
			i++, j++;
		}
	}
	cJSON_AddNumberToObject(out, "size_change", (double)delta);
	return out;
}

cJSON *diff_compare(const struct diff_side *a, const struct diff_side *b)
{
	cJSON *out = cJSON_CreateObject(), *m, *p, *f;
	bool same;

	cJSON_AddStringToObject(out, "old", a->name);
	cJSON_AddStringToObject(out, "new", b->name);
	m = manifest_changes(a->doc, b->doc);
	p = package_changes(a->doc, b->doc);
	f = file_changes(a, b);
	cJSON_AddItemToObject(out, "manifest", m);
	cJSON_AddItemToObject(out, "packages", p);
	cJSON_AddItemToObject(out, "files", f);
	same = cJSON_GetArraySize(m) == 0;
	for (const char *const *k = (const char *const[]){"added", "removed", "changed", NULL}; *k;
	     k++)
		same = same && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(p, *k)) == 0 &&
		       cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f, *k)) == 0;
	cJSON_AddBoolToObject(out, "identical", same);
	if (!cJSON_IsObject(out) || !m || !p || !f) {
		cJSON_Delete(out);
		return NULL;
	}
	return out;
}
