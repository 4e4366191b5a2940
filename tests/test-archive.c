/* Unit tests of the tar importer (builder/archive.c): archives are written in memory with
 * libarchive's writer in ustar, GNU and pax form, read back with archive_import_stream, and the
 * resulting tree is checked; hostile archives must be rejected with a message naming the
 * entry, never crash. */
#include <archive.h>
#include <archive_entry.h>
#include <lzma.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/archive.h"
#include "builder/outputs/ext4.h"
#include "builder/sources/tarcheck.h"
#include "builder/tree.h"
#include "tap.h"

enum fmt { F_USTAR, F_GNU, F_PAX };
static const char *const fmt_names[] = {"ustar", "gnu", "pax"};

#define MTIME 1700000000

/* ---- writing archives in memory ---- */

struct tw {
	struct archive *w;
	char *buf;
	size_t cap, used;
	enum fmt fmt;
	int nent;       /* entries written */
	uint64_t bytes; /* regular file bytes written */
	int failed;
};

static void tw_open(struct tw *t, enum fmt fmt)
{
	memset(t, 0, sizeof(*t));
	t->fmt = fmt;
	t->cap = 8u << 20;
	t->buf = malloc(t->cap);
	t->w = archive_write_new();
	if (!t->buf || !t->w)
		abort();
	switch (fmt) {
	case F_USTAR:
		archive_write_set_format_ustar(t->w);
		break;
	case F_GNU:
		archive_write_set_format_gnutar(t->w);
		break;
	case F_PAX:
		archive_write_set_format_pax_restricted(t->w);
		break;
	}
	archive_write_set_bytes_per_block(t->w, 0); /* no padding to 10 KiB */
	if (archive_write_open_memory(t->w, t->buf, t->cap, &t->used) != ARCHIVE_OK)
		abort();
}

static void tw_close(struct tw *t)
{
	if (archive_write_close(t->w) != ARCHIVE_OK) {
		printf("# archive_write_close: %s\n", archive_error_string(t->w));
		t->failed++;
	}
	archive_write_free(t->w);
	t->w = NULL;
}

static void tw_free(struct tw *t)
{
	if (t->w)
		archive_write_free(t->w);
	free(t->buf);
	t->buf = NULL;
}

static struct archive_entry *ent(const char *path, unsigned type, unsigned perm)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_mtime(e, MTIME, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_size(e, 0);
	return e;
}

/* Writes the entry and its data, then frees the entry. */
static void tw_put(struct tw *t, struct archive_entry *e, const void *data, size_t len)
{
	int r = archive_write_header(t->w, e);

	if (r < ARCHIVE_WARN) {
		printf("# writing %s (%s): %s\n", archive_entry_pathname(e), fmt_names[t->fmt],
		       archive_error_string(t->w));
		t->failed++;
	} else {
		t->nent++;
		if (archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e))
			t->bytes += (uint64_t)archive_entry_size(e);
		if (len && archive_write_data(t->w, data, len) != (la_ssize_t)len) {
			printf("# writing data of %s: %s\n", archive_entry_pathname(e),
			       archive_error_string(t->w));
			t->failed++;
		}
	}
	archive_entry_free(e);
}

static void w_file_own(struct tw *t, const char *path, unsigned perm, int64_t uid, int64_t gid,
		       const void *data, size_t len)
{
	struct archive_entry *e = ent(path, AE_IFREG, perm);

	archive_entry_set_uid(e, uid);
	archive_entry_set_gid(e, gid);
	archive_entry_set_size(e, (la_int64_t)len);
	tw_put(t, e, data, len);
}

static void w_file(struct tw *t, const char *path, unsigned perm, const char *text)
{
	w_file_own(t, path, perm, 0, 0, text, strlen(text));
}

static void w_dir(struct tw *t, const char *path, unsigned perm)
{
	tw_put(t, ent(path, AE_IFDIR, perm), NULL, 0);
}

static void w_symlink(struct tw *t, const char *path, const char *target)
{
	struct archive_entry *e = ent(path, AE_IFLNK, 0777);

	archive_entry_set_symlink(e, target);
	tw_put(t, e, NULL, 0);
}

static void w_hardlink(struct tw *t, const char *path, const char *target)
{
	struct archive_entry *e = ent(path, AE_IFREG, 0644);

	archive_entry_set_hardlink(e, target);
	tw_put(t, e, NULL, 0);
}

static void w_dev(struct tw *t, const char *path, unsigned type, unsigned perm, unsigned maj,
		  unsigned min)
{
	struct archive_entry *e = ent(path, type, perm);

	archive_entry_set_rdevmajor(e, maj);
	archive_entry_set_rdevminor(e, min);
	tw_put(t, e, NULL, 0);
}

/* ---- reading them back ---- */

static struct err e;
static struct archive_import_stats st;

struct membuf {
	const char *p;
	size_t left;
	bool given;
};

/* Hands the whole buffer over at once, as a file of that size would be read. */
static la_ssize_t mem_read(struct archive *a, void *userdata, const void **buf)
{
	struct membuf *m = userdata;

	(void)a;
	if (m->given)
		return 0;
	m->given = true;
	*buf = m->p;
	return (la_ssize_t)m->left;
}

static int import_limited(const void *buf, size_t len, uint64_t limit, struct tree **ret)
{
	struct membuf m = {.p = buf, .left = len};
	struct tree *t = NULL;
	int r;

	memset(&st, 0, sizeof(st));
	e.msg[0] = '\0';
	if (tree_new(&t, &e) < 0) {
		printf("Bail out! tree_new: %s\n", e.msg);
		exit(1);
	}
	r = archive_import_stream(t, mem_read, &m, "test.tar", limit, &st, &e);
	*ret = t;
	return r;
}

static int import_buf(const void *buf, size_t len, struct tree **ret)
{
	return import_limited(buf, len, 0, ret);
}

static struct tree_inode *inode_at(struct tree *t, const char *path)
{
	struct tree_node *n = tree_lookup(t, path);

	return n ? n->inode : NULL;
}

/* Reads a regular file fully and compares it with want. */
static bool content_is(struct tree *t, const char *path, const void *want, size_t len)
{
	struct tree_inode *in = inode_at(t, path);
	struct tree_reader r;
	struct err re;
	char *got;
	bool same;

	if (!in || in->type != TREE_REG || in->size != len) {
		printf("# %s: %s, size %llu (want %zu)\n", path, in ? tree_type_name(in->type) : "absent",
		       in ? (unsigned long long)in->size : 0ull, len);
		return false;
	}
	got = malloc(len + 1);
	if (tree_reader_open(t, in, &r, &re) < 0) {
		printf("# %s: %s\n", path, re.msg);
		free(got);
		return false;
	}
	same = tree_reader_pread(&r, got, len, 0, &re) == 0 && memcmp(got, want, len) == 0;
	if (!same)
		printf("# %s: content differs (%s)\n", path, re.msg);
	tree_reader_close(&r);
	free(got);
	return same;
}

static const struct tree_xattr *xattr_of(const struct tree_inode *in, const char *name)
{
	for (size_t i = 0; in && i < in->nxattrs; i++)
		if (strcmp(in->xattrs[i].name, name) == 0)
			return &in->xattrs[i];
	return NULL;
}

static void fill_random(char *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (char)(x >> 24);
	}
}

/* ---- tree_symlink_inside ---- */

static void test_symlink_inside(void)
{
	static const struct {
		const char *entry, *target;
		bool inside;
	} cases[] = {
		{"l", "/etc", true},
		{"a/b", "/", true},
		{"l", "/../../../etc", true},
		{"a/b", "../x", true},
		{"a/b", "../../x", false},
		{"a/b", "..", true},
		{"a/b", "../..", false},
		{"a/b/c", "../../x", true},
		{"a/b/c", "../../../x", false},
		{"l", "..", false},
		{"l", "./././..", false},
		{"l", ".//.//..", false},
		{"l", "a/../..", false},
		{"d/l", "a/../..", true},
		{"l", "a/..", true},
		{"l", "x/y/../../z", true},
		{"l", "x/y/../../../z", false},
		{"l", "x//..//..", false},
		{"l", "x/./../y", true},
		{"a/b", "..//..//x", false},
		{"a/b", "x/../../..", false},
		{"a/b", "x/../..", true},
		{"l", ".", true},
		{"l", "...", true},
		{"l", "..a", true},
		{"l", "a..", true},
		{"l", "../", false},
		{"l", "target", true},
		{"a/b/c/d", "../../../../etc", false},
		{"a/b/c/d", "../../../etc", true},
		{"usr/lib/x86_64-linux-gnu/libc.so", "../../../lib/x86_64-linux-gnu/libc.so.6", true},
		{"usr/lib/x86_64-linux-gnu/libc.so", "../../../../lib/libc.so.6", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(tree_symlink_inside(cases[i].entry, cases[i].target), cases[i].inside,
		       "tree_symlink_inside(\"%s\", \"%s\") is %s", cases[i].entry, cases[i].target,
		       cases[i].inside ? "true" : "false");
}

/* ---- a well-formed archive in each format ---- */

static char long_comp[201], long_dir[151], long_file[121], long_target[301];
static char rnd[10000], zeros[10000];
static const char cap_value[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00,
				   0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

static void init_data(void)
{
	memset(long_comp, 'c', 200);
	memset(long_dir, 'd', 150);
	memset(long_file, 'f', 120);
	for (int i = 0; i < 300; i++)
		long_target[i] = i % 10 == 9 ? '/' : (char)('a' + i % 26);
	long_target[0] = '/';
	fill_random(rnd, sizeof(rnd), 0x9e3779b97f4a7c15ull);
	memset(zeros, 0, sizeof(zeros));
	zeros[5000] = 'X';
	zeros[9999] = 'Y';
}

static void write_full(struct tw *t)
{
	char p[600], q[600];
	bool longnames = t->fmt != F_USTAR;

	w_dir(t, "./", 0700);
	w_dir(t, "./etc/", 0755);
	w_file(t, "./etc/hosts", 0644, "127.0.0.1 localhost\n");
	w_file(t, "bin/su", 04755, "su");
	w_file(t, "usr/bin/wall", 02755, "wall");
	w_file(t, "usr/bin/both", 06711, "both");
	w_dir(t, "tmp", 01777);
	w_file_own(t, "owned", 0640, 1234, 5678, "mine", 4);
	w_file_own(t, "bigid", 0600, 100000, 100001, "big", 3);
	if (t->fmt != F_USTAR)
		w_file_own(t, "hugeid", 0600, 3000000000LL, 4000000000LL, "huge", 4);
	w_file(t, "implicit/a/b/file", 0644, "deep");
	w_file(t, "links/target", 0644, "linked data");
	w_hardlink(t, "links/hard", "links/target");
	w_file(t, "./dot/t", 0600, "dotted");
	w_hardlink(t, "./dot/h", "./dot/t");
	w_symlink(t, "links/sym", "target");
	w_symlink(t, "links/abs", "/etc/hosts");
	w_symlink(t, "links/up", "../etc/hosts");
	w_dev(t, "dev/sda1", AE_IFBLK, 0660, 8, 1);
	w_dev(t, "dev/null", AE_IFCHR, 0666, 1, 3);
	/* ustar and GNU headers hold 6 octal digits; pax carries more in extended records */
	w_dev(t, "dev/big", AE_IFCHR, 0600, 254, t->fmt == F_PAX ? 1000000 : 200000);
	w_dev(t, "run/fifo", AE_IFIFO, 0600, 0, 0);
	w_file(t, "empty", 0644, "");
	w_file_own(t, "random", 0644, 0, 0, rnd, sizeof(rnd));
	w_file_own(t, "zeros", 0644, 0, 0, zeros, sizeof(zeros));
	w_file(t, "dup", 0644, "first");
	w_file(t, "dup", 0600, "second");
	w_file(t, "rep/child", 0644, "c");
	w_file(t, "rep", 0644, "now a file");
	w_file(t, "d2f", 0644, "was a file");
	w_dir(t, "d2f", 0750);
	w_file(t, "d2f/inside", 0644, "in");
	if (longnames) {
		snprintf(p, sizeof(p), "long/%s", long_comp);
		w_file(t, p, 0644, "long component");
		snprintf(p, sizeof(p), "long/%s/%s", long_dir, long_file);
		w_file(t, p, 0644, "long path");
		w_symlink(t, "long/sym", long_target);
		snprintf(q, sizeof(q), "long/%s/hardlink-with-a-long-target", long_dir);
		w_hardlink(t, q, p);
	}
	if (t->fmt == F_PAX) {
		struct archive_entry *x = ent("caps/ping", AE_IFREG, 0755);

		archive_entry_set_size(x, 4);
		archive_entry_xattr_add_entry(x, "security.capability", cap_value, sizeof(cap_value));
		archive_entry_xattr_add_entry(x, "user.x", "hello\0world", 11);
		tw_put(t, x, "ping", 4);
		/* a sparse file: data at 0 and 50000, a hole at the end; written last */
		x = ent("sparse", AE_IFREG, 0644);
		archive_entry_set_size(x, 100000);
		archive_entry_sparse_add_entry(x, 0, 4);
		archive_entry_sparse_add_entry(x, 50000, 4);
		{
			/* libarchive's writer takes the whole logical content and skips the holes */
			char *full = calloc(1, 100000);

			memcpy(full, "head", 4);
			memcpy(full + 50000, "tail", 4);
			tw_put(t, x, full, 100000);
			free(full);
		}
	}
}

static void check_full(struct tree *t, enum fmt fmt)
{
	const char *f = fmt_names[fmt];
	struct tree_inode *in, *in2;
	struct tree_node *n;
	char p[600], q[600];

	ok(t->root->inode->mode == 0700 && t->root->inode->type == TREE_DIR,
	   "%s: \"./\" sets the root's mode", f);
	ok(tree_lookup(t, "./etc/hosts") == tree_lookup(t, "etc/hosts") &&
		   content_is(t, "etc/hosts", "127.0.0.1 localhost\n", 20),
	   "%s: ./etc/hosts is etc/hosts with its content", f);
	n = tree_lookup(t, "etc");
	ok(n && n->parent == t->root && t->root->nchildren > 0 && strcmp(n->name, "etc") == 0,
	   "%s: \"./etc/\" is the child etc of the root", f);
	in = inode_at(t, "bin/su");
	ok(in && in->mode == 04755, "%s: setuid bit kept (04755)", f);
	in = inode_at(t, "usr/bin/wall");
	ok(in && in->mode == 02755, "%s: setgid bit kept (02755)", f);
	in = inode_at(t, "usr/bin/both");
	ok(in && in->mode == 06711, "%s: setuid+setgid kept (06711)", f);
	in = inode_at(t, "tmp");
	ok(in && in->type == TREE_DIR && in->mode == 01777, "%s: sticky directory (01777)", f);
	in = inode_at(t, "owned");
	ok(in && in->uid == 1234 && in->gid == 5678 && in->mode == 0640,
	   "%s: numeric owner 1234:5678", f);
	ok(in && in->mtime == MTIME, "%s: mtime kept", f);
	in = inode_at(t, "bigid");
	ok(in && in->uid == 100000 && in->gid == 100001, "%s: owner 100000:100001", f);
	if (fmt != F_USTAR) {
		in = inode_at(t, "hugeid");
		ok(in && in->uid == 3000000000u && in->gid == 4000000000u,
		   "%s: owner 3000000000:4000000000", f);
	}
	n = tree_lookup(t, "bin");
	ok(n && n->inode->type == TREE_DIR && n->inode->mode == 0755 && n->inode->uid == 0,
	   "%s: implicit parent bin is a dir 0755 0:0", f);
	ok(content_is(t, "implicit/a/b/file", "deep", 4), "%s: file with implicit parents", f);
	in = inode_at(t, "implicit/a/b");
	in2 = inode_at(t, "implicit");
	ok(in && in2 && in->type == TREE_DIR && in->mode == 0755 && in2->type == TREE_DIR &&
		   in2->mode == 0755,
	   "%s: implicit/a/b and implicit are dirs 0755", f);

	in = inode_at(t, "links/target");
	in2 = inode_at(t, "links/hard");
	ok(in && in == in2, "%s: hard link shares one tree_inode", f);
	is_int(in ? in->nlink : 0, 2, "%s: nlink == 2", f);
	ok(content_is(t, "links/hard", "linked data", 11), "%s: hard link content", f);
	in = inode_at(t, "dot/t");
	ok(in && in == inode_at(t, "dot/h") && in->nlink == 2 && in->mode == 0600,
	   "%s: \"./\"-prefixed hard link and target", f);

	in = inode_at(t, "links/sym");
	ok(in && in->type == TREE_SYMLINK && in->target && strcmp(in->target, "target") == 0 &&
		   in->size == 6,
	   "%s: relative symlink", f);
	in = inode_at(t, "links/abs");
	ok(in && in->type == TREE_SYMLINK && in->target && strcmp(in->target, "/etc/hosts") == 0,
	   "%s: absolute symlink", f);
	in = inode_at(t, "links/up");
	ok(in && in->target && strcmp(in->target, "../etc/hosts") == 0,
	   "%s: symlink with \"..\" that stays inside", f);
	ok(tree_resolve(t, "links/up") == tree_lookup(t, "etc/hosts"), "%s: it resolves", f);

	in = inode_at(t, "dev/sda1");
	ok(in && in->type == TREE_BLK && in->rdev_major == 8 && in->rdev_minor == 1 &&
		   in->mode == 0660,
	   "%s: block device 8:1", f);
	in = inode_at(t, "dev/null");
	ok(in && in->type == TREE_CHR && in->rdev_major == 1 && in->rdev_minor == 3 &&
		   in->mode == 0666,
	   "%s: char device 1:3", f);
	in = inode_at(t, "dev/big");
	ok(in && in->type == TREE_CHR && in->rdev_major == 254 &&
		   in->rdev_minor == (fmt == F_PAX ? 1000000u : 200000u),
	   "%s: char device 254:%u", f, fmt == F_PAX ? 1000000u : 200000u);
	in = inode_at(t, "run/fifo");
	ok(in && in->type == TREE_FIFO && in->mode == 0600, "%s: fifo", f);

	ok(content_is(t, "empty", "", 0), "%s: empty file", f);
	ok(content_is(t, "random", rnd, sizeof(rnd)), "%s: 10000 random bytes", f);
	ok(content_is(t, "zeros", zeros, sizeof(zeros)), "%s: mostly-zero file", f);
	ok(content_is(t, "dup", "second", 6) && inode_at(t, "dup")->mode == 0600,
	   "%s: a later entry replaces an earlier one", f);
	ok(content_is(t, "rep", "now a file", 10) && !tree_lookup(t, "rep/child"),
	   "%s: a file replacing a dir drops its children", f);
	in = inode_at(t, "d2f");
	ok(in && in->type == TREE_DIR && in->mode == 0750 && content_is(t, "d2f/inside", "in", 2),
	   "%s: a dir replacing a file", f);

	if (fmt != F_USTAR) {
		snprintf(p, sizeof(p), "long/%s", long_comp);
		ok(content_is(t, p, "long component", 14), "%s: 200-byte name", f);
		snprintf(p, sizeof(p), "long/%s/%s", long_dir, long_file);
		ok(content_is(t, p, "long path", 9), "%s: %zu-byte path", f, strlen(p));
		in = inode_at(t, "long/sym");
		ok(in && in->target && strcmp(in->target, long_target) == 0 && in->size == 300,
		   "%s: 300-byte symlink target", f);
		snprintf(q, sizeof(q), "long/%s/hardlink-with-a-long-target", long_dir);
		in = inode_at(t, p);
		ok(in && in == inode_at(t, q) && in->nlink == 2, "%s: hard link to a long path", f);
	}
	if (fmt == F_PAX) {
		const struct tree_xattr *x;

		in = inode_at(t, "caps/ping");
		x = xattr_of(in, "security.capability");
		ok(x && x->len == sizeof(cap_value) && memcmp(x->value, cap_value, x->len) == 0,
		   "%s: binary security.capability xattr", f);
		x = xattr_of(in, "user.x");
		ok(x && x->len == 11 && memcmp(x->value, "hello\0world", 11) == 0,
		   "%s: user.x xattr with a NUL inside", f);
		is_int(in ? in->nxattrs : 0, 2, "%s: exactly two xattrs", f);
		ok(content_is(t, "caps/ping", "ping", 4), "%s: content of the file with xattrs", f);

		in = inode_at(t, "sparse");
		ok(in && in->size == 100000, "%s: sparse file size", f);
		ok(in && in->alloc < in->size, "%s: sparse file alloc (%llu) below its size", f,
		   in ? (unsigned long long)in->alloc : 0ull);
		{
			char *want = calloc(1, 100000);

			memcpy(want, "head", 4);
			memcpy(want + 50000, "tail", 4);
			ok(content_is(t, "sparse", want, 100000),
			   "%s: sparse file reads back, holes as zeros (trailing hole included)", f);
			free(want);
		}
	} else {
		ok(inode_at(t, "zeros")->nxattrs == 0, "%s: no xattrs", f);
	}
}

static void test_format(enum fmt fmt)
{
	const char *f = fmt_names[fmt];
	struct tw w;
	struct tree *t, *t2;
	uint8_t d1[SHA256_LEN], d2[SHA256_LEN];
	int r;

	tw_open(&w, fmt);
	write_full(&w);
	tw_close(&w);
	is_int(w.failed, 0, "%s: the test archive was written", f);
	r = import_buf(w.buf, w.used, &t);
	is_int(r, 0, "%s: archive_import succeeds", f);
	if (r < 0)
		printf("#   %s\n", e.msg);
	is_int(st.entries, w.nent, "%s: stats count every entry", f);
	is_int(st.bytes, w.bytes, "%s: stats count the file bytes", f);
	check_full(t, fmt);
	r = tree_digest(t, d1, &e);
	is_int(r, 0, "%s: the imported tree can be digested", f);
	if (r < 0)
		printf("#   %s\n", e.msg);
	r = import_buf(w.buf, w.used, &t2);
	memset(d2, 0, sizeof(d2));
	tree_digest(t2, d2, &e);
	ok(r == 0 && memcmp(d1, d2, sizeof(d1)) == 0, "%s: importing twice gives the same digest",
	   f);
	tree_free(t);
	tree_free(t2);
	tw_free(&w);
}

/* The same entries in each format give the same tree. */
static void write_common(struct tw *t)
{
	w_dir(t, "./", 0755);
	w_file_own(t, "etc/passwd", 0644, 0, 0, "root:x:0:0::/root:/bin/sh\n", 26);
	w_file_own(t, "home/u/f", 0600, 1000, 1000, rnd, 3000);
	w_hardlink(t, "home/u/g", "home/u/f");
	w_symlink(t, "bin", "usr/bin");
	w_dev(t, "dev/console", AE_IFCHR, 0600, 5, 1);
	w_dev(t, "run/initctl", AE_IFIFO, 0600, 0, 0);
	w_file(t, "usr/bin/sudo", 04755, "sudo");
}

static void test_formats_agree(void)
{
	uint8_t d[3][SHA256_LEN];

	for (int i = 0; i < 3; i++) {
		struct tw w;
		struct tree *t;

		tw_open(&w, (enum fmt)i);
		write_common(&w);
		tw_close(&w);
		memset(d[i], (int)i, SHA256_LEN);
		if (import_buf(w.buf, w.used, &t) == 0)
			tree_digest(t, d[i], &e);
		tree_free(t);
		tw_free(&w);
	}
	ok(memcmp(d[0], d[1], SHA256_LEN) == 0, "ustar and gnu archives of one tree digest equal");
	ok(memcmp(d[0], d[2], SHA256_LEN) == 0, "ustar and pax archives of one tree digest equal");
}

static void test_stats(void)
{
	struct tw w;
	struct tree *t;

	tw_open(&w, F_PAX);
	w_dir(&w, "usr/", 0755);
	w_dir(&w, "usr/share/doc/pkg/", 0755);
	w_file(&w, "usr/share/doc/pkg/copyright", 0644, "(c)");
	w_hardlink(&w, "usr/share/doc/pkg/copyright.again", "usr/share/doc/pkg/copyright");
	w_symlink(&w, "usr/share/doc/other", "pkg");
	w_file(&w, "usr/share/bug/pkg/control", 0644, "bug");
	tw_close(&w);
	is_int(import_buf(w.buf, w.used, &t), 0, "metapackage-like archive imports");
	is_int(st.entries, 6, "stats: 6 entries");
	is_int(st.bytes, 6, "stats: 6 bytes");
	is_int(st.payload, 0, "stats: docs, a doc hard link and bug templates are no payload");
	tree_free(t);
	tw_free(&w);

	tw_open(&w, F_PAX);
	w_file(&w, "usr/share/doc/pkg/copyright", 0644, "(c)");
	w_file(&w, "usr/bin/tool", 0755, "tool");
	w_hardlink(&w, "usr/bin/tool2", "usr/bin/tool");
	w_dev(&w, "dev/null", AE_IFCHR, 0666, 1, 3);
	tw_close(&w);
	is_int(import_buf(w.buf, w.used, &t), 0, "package-like archive imports");
	is_int(st.payload, 3, "stats: payload counts a file, a hard link and a device");
	tree_free(t);
	tw_free(&w);
}

/* ---- hostile archives ---- */

typedef void (*build_fn)(struct tw *t);

static void h_dotdot(struct tw *t)
{
	w_file(t, "../evil", 0644, "x");
}
static void h_dotdot_mid(struct tw *t)
{
	w_file(t, "a/../../evil", 0644, "x");
}
static void h_dotdot_dir(struct tw *t)
{
	w_dir(t, "ok/../../evil/", 0755);
}
static void h_absolute(struct tw *t)
{
	w_file(t, "/etc/passwd", 0644, "root::0:0::/:/bin/sh\n");
}
static void h_absolute_dir(struct tw *t)
{
	w_dir(t, "/etc/", 0755);
}
static void h_link_dotdot(struct tw *t)
{
	w_file(t, "x", 0644, "x");
	w_hardlink(t, "h", "../x");
}
static void h_link_absolute(struct tw *t)
{
	w_file(t, "etc/passwd", 0644, "x");
	w_hardlink(t, "h", "/etc/passwd");
}
static void h_link_missing(struct tw *t)
{
	w_file(t, "x", 0644, "x");
	w_hardlink(t, "h", "not/in/archive");
}
static void h_link_dir(struct tw *t)
{
	w_dir(t, "d/", 0755);
	w_hardlink(t, "h", "d");
}
static void h_link_self(struct tw *t)
{
	w_hardlink(t, "h", "h");
}
static void h_link_through_symlink(struct tw *t)
{
	w_file(t, "real/f", 0644, "f");
	w_symlink(t, "s", "real");
	w_hardlink(t, "h", "s/f");
}
static void h_link_name_dotdot(struct tw *t)
{
	w_file(t, "x", 0644, "x");
	w_hardlink(t, "../h", "x");
}
static void h_symlink_escape(struct tw *t)
{
	w_symlink(t, "a/b", "../../../etc");
}
static void h_symlink_escape_top(struct tw *t)
{
	w_symlink(t, "l", "./././..");
}
static void h_under_symlink(struct tw *t)
{
	w_symlink(t, "f", "/etc");
	w_file(t, "f/x", 0644, "x");
}
static void h_under_file(struct tw *t)
{
	w_file(t, "f", 0644, "f");
	w_file(t, "f/x", 0644, "x");
}
static void h_link_under_file(struct tw *t)
{
	w_file(t, "f", 0644, "f");
	w_hardlink(t, "f/x", "f");
}
static void h_root_file(struct tw *t)
{
	w_file(t, ".", 0644, "x");
}

struct hostile {
	const char *label;
	build_fn build;
	const char *entry; /* the entry name the message must carry */
	unsigned formats;  /* bit mask of enum fmt */
};

#define ALL_FMTS 7u

static const struct hostile hostiles[] = {
	{"\"../evil\"", h_dotdot, "\"../evil\"", ALL_FMTS},
	{"\"a/../../evil\"", h_dotdot_mid, "\"a/../../evil\"", ALL_FMTS},
	{"a directory \"ok/../../evil/\"", h_dotdot_dir, "\"ok/../../evil/\"", ALL_FMTS},
	{"absolute \"/etc/passwd\"", h_absolute, "\"/etc/passwd\"", ALL_FMTS},
	{"absolute directory \"/etc/\"", h_absolute_dir, "\"/etc/\"", ALL_FMTS},
	{"hard link to \"../x\"", h_link_dotdot, "\"h\"", ALL_FMTS},
	{"hard link to \"/etc/passwd\"", h_link_absolute, "\"h\"", ALL_FMTS},
	{"hard link to a path not in the archive", h_link_missing, "\"h\"", ALL_FMTS},
	{"hard link to a directory", h_link_dir, "\"h\"", ALL_FMTS},
	{"hard link to itself", h_link_self, "\"h\"", ALL_FMTS},
	{"hard link through a symlink", h_link_through_symlink, "\"h\"", ALL_FMTS},
	{"hard link named \"../h\"", h_link_name_dotdot, "\"../h\"", ALL_FMTS},
	{"symlink a/b -> ../../../etc", h_symlink_escape, "\"a/b\"", ALL_FMTS},
	{"symlink l -> ./././..", h_symlink_escape_top, "\"l\"", ALL_FMTS},
	{"a file under a symlink", h_under_symlink, "\"f/x\"", ALL_FMTS},
	{"a file under a regular file", h_under_file, "\"f/x\"", ALL_FMTS},
	{"a hard link under a regular file", h_link_under_file, "\"f/x\"", ALL_FMTS},
	{"a regular file named \".\"", h_root_file, "\".\"", ALL_FMTS},
};

static void check_rejected(const char *f, const char *label, const void *buf, size_t len,
			   const char *frag)
{
	struct tree *t;
	int r = import_buf(buf, len, &t);

	ok(r < 0, "%s: %s is rejected", f, label);
	has_str(e.msg, frag, "%s: %s: the message names it", f, label);
	printf("#   %s\n", e.msg);
	tree_free(t);
}

static void test_hostile(void)
{
	for (size_t i = 0; i < sizeof(hostiles) / sizeof(hostiles[0]); i++) {
		for (int fmt = 0; fmt < 3; fmt++) {
			struct tw w;
			char frag[300];

			if (!(hostiles[i].formats & (1u << fmt)))
				continue;
			tw_open(&w, (enum fmt)fmt);
			hostiles[i].build(&w);
			tw_close(&w);
			snprintf(frag, sizeof(frag), "test.tar: entry %s", hostiles[i].entry);
			if (w.failed) {
				ok(0, "%s: could not write %s", fmt_names[fmt], hostiles[i].label);
				ok(0, "%s: %s: skipped", fmt_names[fmt], hostiles[i].label);
			} else {
				check_rejected(fmt_names[fmt], hostiles[i].label, w.buf, w.used, frag);
			}
			tw_free(&w);
		}
	}
}

/* Only pax can express these. */
static void test_hostile_pax(void)
{
	struct tw w;
	struct archive_entry *x;
	char *big = malloc(5001), name[300];

	memset(big, 'a', 5000);
	big[5000] = '\0';
	tw_open(&w, F_PAX);
	w_symlink(&w, "toolong", big);
	tw_close(&w);
	check_rejected("pax", "a 5000-byte symlink target", w.buf, w.used,
		       "test.tar: entry \"toolong\"");
	tw_free(&w);

	memset(name, 'n', 256);
	name[256] = '\0';
	tw_open(&w, F_PAX);
	w_file(&w, name, 0644, "x");
	tw_close(&w);
	check_rejected("pax", "a 256-byte name", w.buf, w.used, "test.tar: entry \"nnnnnnnn");
	tw_free(&w);

	/* control bytes in names reach the terminal only as '?' */
	tw_open(&w, F_PAX);
	w_file(&w, "a\033]0;title\007\033[2J\r/../x", 0644, "x");
	tw_close(&w);
	check_rejected("pax", "a name with escape sequences", w.buf, w.used,
		       "test.tar: entry \"a?]0;title??[2J?/../x\"");
	tw_free(&w);
	tw_open(&w, F_PAX);
	w_hardlink(&w, "h", "\033[2Jmissing\177");
	tw_close(&w);
	check_rejected("pax", "a hard link target with escape sequences", w.buf, w.used,
		       "hard link target ?[2Jmissing? is not");
	tw_free(&w);

	/* a 5000-byte name, and a 5000-byte symlink target that escapes: printed cut */
	memset(big, 'n', 5000);
	tw_open(&w, F_PAX);
	w_file(&w, big, 0644, "x");
	for (int i = 0; i < 3000; i += 3)
		memcpy(big + i, "../", 3);
	big[4000] = '\0'; /* short enough for a symlink */
	w_symlink(&w, "up", big);
	tw_close(&w);
	check_rejected("pax", "a 5000-byte name", w.buf, w.used, "test.tar: entry \"nnnnnnnn");
	ok(strlen(e.msg) < 400 && strstr(e.msg, "nnn...\"") != NULL,
	   "pax: the 5000-byte name is cut to its first bytes and \"...\" (%zu bytes)",
	   strlen(e.msg));
	tw_free(&w);
	tw_open(&w, F_PAX);
	w_symlink(&w, "up", big);
	tw_close(&w);
	check_rejected("pax", "a 4000-byte escaping symlink", w.buf, w.used,
		       "test.tar: entry \"up\": symlink to \"../../");
	ok(strlen(e.msg) < 400, "pax: the target is cut (%zu bytes)", strlen(e.msg));
	tw_free(&w);
	memset(big, 'a', 5000);
	big[5000] = '\0';

	tw_open(&w, F_PAX);
	w_file_own(&w, "owner", 0644, 4294967296LL, 0, "x", 1);
	tw_close(&w);
	check_rejected("pax", "uid 4294967296", w.buf, w.used, "test.tar: entry \"owner\"");
	tw_free(&w);

	tw_open(&w, F_PAX);
	x = ent("bigxattr", AE_IFREG, 0644);
	archive_entry_xattr_add_entry(x, "user.big", big, 5000);
	{
		char *huge = malloc(70000);

		memset(huge, 'v', 70000);
		archive_entry_xattr_add_entry(x, "user.huge", huge, 70000);
		tw_put(&w, x, NULL, 0);
		free(huge);
	}
	tw_close(&w);
	check_rejected("pax", "a 70000-byte xattr", w.buf, w.used, "test.tar: entry \"bigxattr\"");
	tw_free(&w);
	free(big);
}

/* A hard link that replaces the directory holding its own target. */
static void h_link_over_parent(struct tw *t)
{
	w_dir(t, "d/", 0755);
	w_file(t, "d/f", 0644, "payload");
	w_hardlink(t, "d", "d/f");
}

static int link_over_parent_child(void)
{
	struct tw w;
	struct tree *t;
	int r, good;

	tw_open(&w, F_PAX);
	h_link_over_parent(&w);
	tw_close(&w);
	r = import_buf(w.buf, w.used, &t);
	printf("# hard link d -> d/f: returned %d (%s)\n", r, r ? e.msg : "ok");
	if (r == 0) {
		struct tree_inode *in = inode_at(t, "d");

		good = in && in->type == TREE_REG && in->nlink == 1 && content_is(t, "d", "payload", 7);
	} else {
		good = strstr(e.msg, "entry \"d\"") != NULL;
	}
	tree_free(t);
	tw_free(&w);
	return good ? 0 : 2;
}

static void in_child(const char *what, int (*fn)(void))
{
	pid_t pid;
	int status = 0;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int r = fn();

		fflush(stdout);
		_exit(r);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		status = -1;
	if (!ok(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", what))
		printf("#   child %s %d\n", WIFSIGNALED(status) ? "killed by signal" : "exited with",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

/* ---- truncated and damaged archives ---- */

static void fix_checksum(unsigned char *h)
{
	unsigned sum = 0;

	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[154] = '\0';
	h[155] = ' ';
}

static void test_truncated(void)
{
	for (int fmt = 0; fmt < 3; fmt++) {
		const char *f = fmt_names[fmt];
		struct tw w;
		size_t hdr;
		char label[100];

		tw_open(&w, (enum fmt)fmt);
		w_file_own(&w, "big", 0644, 0, 0, rnd, sizeof(rnd));
		w_file(&w, "after", 0644, "after");
		tw_close(&w);
		/* the data starts after the header(s): find the first data byte */
		hdr = 0;
		while (hdr + sizeof(rnd) <= w.used && memcmp(w.buf + hdr, rnd, 64) != 0)
			hdr += 512;
		ok(hdr + sizeof(rnd) <= w.used, "%s: found the data of \"big\" at %zu", f, hdr);
		snprintf(label, sizeof(label), "an archive cut in the middle of the data (+5000)");
		check_rejected(f, label, w.buf, hdr + 5000, "test.tar: entry \"big\"");
		snprintf(label, sizeof(label), "an archive cut at a block inside the data (+4608)");
		check_rejected(f, label, w.buf, hdr + 4608, "test.tar: entry \"big\"");
		check_rejected(f, "an archive cut one byte into the data", w.buf, hdr + 1,
			       "test.tar: entry \"big\"");
		check_rejected(f, "an archive cut right after the header", w.buf, hdr,
			       "test.tar: entry \"big\"");
		/* the second header starts after the padded data */
		check_rejected(f, "an archive cut in the middle of a header", w.buf,
			       hdr + 10240 + 100, "test.tar");
		check_rejected(f, "an archive cut in the middle of the first header", w.buf, 300,
			       "test.tar");
		tw_free(&w);
	}
}

static void test_size_patched(void)
{
	static const struct {
		const char *size;
		const char *label;
	} sizes[] = {
		{"77777777777", "a header claiming 8 GiB"},
		{"00000200000", "a header claiming 64 KiB in a 2 KiB archive"},
		{"00000004000", "a header claiming 2 KiB in a 2 KiB archive"},
	};

	for (int fmt = 0; fmt < 2; fmt++) {
		const char *f = fmt_names[fmt];

		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			struct tw w;
			struct tree *t;
			unsigned char *h;
			int r;

			tw_open(&w, (enum fmt)fmt);
			w_file(&w, "big", 0644, "0123456789");
			tw_close(&w);
			h = (unsigned char *)w.buf;
			ok(memcmp(h, "big", 4) == 0 && memcmp(h + 124, "00000000012", 11) == 0,
			   "%s: the first header is \"big\" with size 10", f);
			memcpy(h + 124, sizes[i].size, 11);
			fix_checksum(h);
			r = import_buf(w.buf, w.used, &t);
			ok(r < 0, "%s: %s is rejected", f, sizes[i].label);
			has_str(e.msg, "test.tar: entry \"big\"", "%s: %s: the message names it", f,
				sizes[i].label);
			tree_free(t);
			tw_free(&w);
		}
	}

	/* the checksum fix-up itself works: an unchanged size still imports */
	{
		struct tw w;
		struct tree *t;

		tw_open(&w, F_USTAR);
		w_file(&w, "big", 0644, "0123456789");
		tw_close(&w);
		fix_checksum((unsigned char *)w.buf);
		is_int(import_buf(w.buf, w.used, &t), 0, "a header with a recomputed checksum imports");
		ok(content_is(t, "big", "0123456789", 10), "and keeps its content");
		tree_free(t);
		tw_free(&w);
	}
}

/* ---- pax extended headers written byte by byte ---- */

/* A ustar header block (checksum filled in). */
static void raw_header(unsigned char *h, const char *name, char type, uint64_t size)
{
	memset(h, 0, 512);
	snprintf((char *)h, 100, "%s", name);
	memcpy(h + 100, "0000644", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
	memcpy(h + 136, "00000000000", 12);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	fix_checksum(h);
}

/* An 'x' header holding records (len bytes), then the entry: a 5-byte file "f", or a
 * symlink "l" -> "target" when symlink is set; then the end blocks. */
static size_t raw_pax(unsigned char *buf, const char *records, size_t len, bool symlink)
{
	size_t off = 0, pad = (512 - len % 512) % 512;

	raw_header(buf, "PaxHeaders/f", 'x', len);
	off += 512;
	memcpy(buf + off, records, len);
	memset(buf + off + len, 0, pad);
	off += len + pad;
	if (symlink) {
		raw_header(buf + off, "l", '2', 0);
		snprintf((char *)buf + off + 157, 100, "target");
		fix_checksum(buf + off);
		off += 512;
	} else {
		raw_header(buf + off, "f", '0', 5);
		off += 512;
		memset(buf + off, 0, 512);
		memcpy(buf + off, "hello", 5);
		off += 512;
	}
	memset(buf + off, 0, 1024);
	return off + 1024;
}

static void test_pax_records(void)
{
	static const struct {
		const char *label;
		const char *rec;
		size_t len; /* 0: strlen */
		bool symlink;
		const char *entry, *why;
	} bad[] = {
		{"a record length of 2^64-1", "18446744073709551615 path=x\n", 0, false, "\"f\"",
		 "length runs past the end"},
		{"a record length of 999999999", "999999999 path=x\n", 0, false, "\"f\"",
		 "length runs past the end"},
		{"a record length of 0", "0 path=x\n", 0, false, "\"f\"", "too short"},
		{"a record length of -5", "-5 path=x\n", 0, false, "\"f\"", "no decimal length"},
		{"a record without its newline", "11 path=abc", 0, false, "\"f\"",
		 "does not end in a newline"},
		{"a good record, then one without its newline", "12 path=abc\n5 x=1", 0, false,
		 "\"f\"", "record 2"},
		{"a record length that ends inside the next record", "9 path=ab\n12 path=abc\n", 0,
		 false, "\"f\"", "does not end in a newline"},
		{"a size of -5", "11 size=-5\n", 0, false, "\"f\"", "\"size\" is not a decimal"},
		{"a size of 2^64", "29 size=18446744073709551616\n", 0, false, "\"f\"",
		 "\"size\" is not a decimal"},
		{"a uid of -1", "10 uid=-1\n", 0, false, "\"f\"", "\"uid\" is not a decimal"},
		{"an empty key", "8 =abcd\n", 0, false, "\"f\"", "empty key"},
		{"a record without \"=\"", "9 pathab\n", 0, false, "\"f\"", "no \"=\""},
		{"a NUL inside path", "17 path=evil\0abc\n", 17, false, "\"evil\"", "NUL byte inside "
		 "the value of \"path\""},
		{"a NUL inside linkpath", "21 linkpath=evil\0abc\n", 21, true, "\"l\"",
		 "NUL byte inside the value of \"linkpath\""},
	};
	static unsigned char buf[8192];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].rec);
		size_t n = raw_pax(buf, bad[i].rec, len, bad[i].symlink);
		struct err pe;
		char frag[100];

		ok(pax_records_check(bad[i].rec, len, &pe) < 0, "pax_records_check refuses %s",
		   bad[i].label);
		snprintf(frag, sizeof(frag), "test.tar: entry %s", bad[i].entry);
		check_rejected("pax", bad[i].label, buf, n, frag);
		has_str(e.msg, bad[i].why, "pax: %s: the message says what is wrong", bad[i].label);
	}

	/* the same framing with good records imports, with the records applied */
	{
		struct tree *t;
		const char *good = "12 path=abc\n18 SCHILY.foo=bar\n15 uid=1000000\n";
		size_t n = raw_pax(buf, good, strlen(good), false);
		struct tree_inode *in;

		ok(pax_records_check(good, strlen(good), &e) == 0, "pax_records_check takes good "
									"records");
		is_int(import_buf(buf, n, &t), 0, "a pax header with good records imports");
		in = inode_at(t, "abc");
		ok(in && content_is(t, "abc", "hello", 5) && in->uid == 1000000,
		   "its path and uid records are applied");
		tree_free(t);
		n = raw_pax(buf, "17 linkpath=/etc\n", 17, true);
		is_int(import_buf(buf, n, &t), 0, "a pax linkpath imports");
		in = inode_at(t, "l");
		ok(in && in->type == TREE_SYMLINK && strcmp(in->target, "/etc") == 0,
		   "and sets the symlink's target");
		tree_free(t);
	}

	/* the check follows every entry the writer makes (long names, hard links, devices, pax
	 * xattrs, sparse maps) to a bad header after them; a framing that lost its way would
	 * miss it */
	for (int fmt = 0; fmt < 3; fmt++) {
		struct tw w;
		size_t n;

		tw_open(&w, (enum fmt)fmt);
		write_full(&w);
		tw_close(&w);
		n = w.used;
		while (n >= 512 && !memcmp(w.buf + n - 512, zeros, 512))
			n -= 512; /* drop the end-of-archive blocks */
		n += raw_pax((unsigned char *)w.buf + n, "11 path=abc", 11, false);
		check_rejected(fmt_names[fmt], "a bad pax header after every kind of entry", w.buf, n,
			       "test.tar: entry \"f\": pax header: record 1");
		tw_free(&w);
	}
	/* a pax "size" record overrides the header's size: the check frames by it too */
	{
		const char *rec = "10 size=5\n";
		size_t n = raw_pax(buf, rec, strlen(rec), false);

		memcpy(buf + 512 + 512 + 124, "00000000000", 11); /* the header says 0 */
		fix_checksum(buf + 1024);
		n -= 1024;
		n += raw_pax(buf + n, "11 path=abc", 11, false);
		check_rejected("pax", "a bad pax header after an entry sized by a pax record", buf, n,
			       "test.tar: entry \"f\": pax header: record 1");
	}

	/* over 1 MiB: libarchive ignores such a header (and its path) with a warning */
	{
		size_t big = PAX_HEADER_MAX + 1000;
		char *rec = malloc(big);
		unsigned char *arch = malloc(big + 4096);
		int k;

		memset(rec, 'a', big);
		k = snprintf(rec, 40, "%zu SCHILY.big=", big);
		rec[k] = 'a';
		rec[big - 1] = '\n';
		check_rejected("pax", "a pax header over 1 MiB", arch, raw_pax(arch, rec, big, false),
			       "test.tar: entry \"PaxHeaders/f\"");
		has_str(e.msg, "pax header of", "pax: over 1 MiB: the message says so");
		free(rec);
		free(arch);
	}
}

/* ---- sizes: checked before any work ---- */

static void sparse_tib(struct tw *w, const char *name)
{
	struct archive_entry *x = ent(name, AE_IFREG, 0644);

	archive_entry_set_size(x, 1LL << 40);
	archive_entry_sparse_add_entry(x, (1LL << 40) - 4096, 4096);
	tw_put(w, x, rnd, 4096);
}

static void test_sizes(void)
{
	const uint64_t limit = 64 << 20;
	struct tw w;
	struct tree *t;
	struct tree_inode *in;
	struct ext4_opts eo = {.headroom_pct = 10};
	int r;

	alarm(60); /* hashing a TiB of holes would take many minutes: fail instead of hanging */
	tw_open(&w, F_PAX);
	sparse_tib(&w, "sparse");
	tw_close(&w);
	r = import_limited(w.buf, w.used, limit, &t);
	ok(r < 0, "a 1 TiB sparse entry is refused when rootfs.size is 64M");
	has_str(e.msg, "test.tar: entry \"sparse\": a file of 1099511627776 bytes",
		"the message names the entry and its size");
	has_str(e.msg, "64 MiB (rootfs.size)", "and the rootfs size");
	printf("#   %s\n", e.msg);
	tree_free(t);

	r = import_limited(w.buf, w.used, 0, &t);
	is_int(r, 0, "without a fixed size, the 1 TiB sparse entry imports (no holes hashed)");
	in = inode_at(t, "sparse");
	ok(in && in->size == 1ULL << 40 && in->alloc == 4096 && !in->has_sha256,
	   "it keeps its size and its 4096 bytes of data; its digest waits for the size check");
	r = ext4_check_fit(t, &eo, &e);
	ok(r < 0, "the tree does not fit a rootfs sized to its content");
	has_str(e.msg, "the largest: /sparse, 1099511627776 bytes", "the message names the file");
	printf("#   %s\n", e.msg);
	tree_free(t);
	tw_free(&w);

	/* a dense entry declaring 8 GiB in a small archive: refused before it is read */
	tw_open(&w, F_USTAR);
	w_file(&w, "big", 0644, "0123456789");
	tw_close(&w);
	memcpy(w.buf + 124, "77777777777", 11);
	fix_checksum((unsigned char *)w.buf);
	r = import_limited(w.buf, w.used, limit, &t);
	ok(r < 0, "a header claiming 8 GiB is refused with rootfs.size 64M");
	has_str(e.msg, "entry \"big\": a file of 8589934591 bytes", "by its declared size");
	tree_free(t);
	tw_free(&w);

	/* a negative size (base-256): libarchive refuses the header; the message names it */
	tw_open(&w, F_USTAR);
	w_file(&w, "neg", 0644, "0123456789");
	tw_close(&w);
	memset(w.buf + 124, 0xff, 12);
	fix_checksum((unsigned char *)w.buf);
	r = import_limited(w.buf, w.used, 0, &t);
	ok(r < 0, "a header with a negative (base-256) size is refused");
	has_str(e.msg, "test.tar: entry \"neg\": ", "naming the entry");
	printf("#   %s\n", e.msg);
	tree_free(t);
	tw_free(&w);

	/* more data in all than the rootfs holds: refused as it arrives */
	tw_open(&w, F_PAX);
	for (int i = 0; i < 4; i++) {
		char name[20];

		snprintf(name, sizeof(name), "f%d", i);
		w_file_own(&w, name, 0644, 0, 0, rnd, sizeof(rnd));
	}
	tw_close(&w);
	r = import_limited(w.buf, w.used, 3 * sizeof(rnd) + 100, &t);
	ok(r < 0, "an archive holding more data than the rootfs size is refused");
	has_str(e.msg, "entry \"f3\": the archive holds more than", "at the entry that crosses it");
	tree_free(t);
	is_int(import_limited(w.buf, w.used, 4 * sizeof(rnd), &t), 0,
	       "exactly the rootfs size of data imports");
	tree_free(t);
	tw_free(&w);
	alarm(0);
}

static void test_garbage(void)
{
	char junk[8192];
	struct tw w;
	struct tree *t;
	int r;

	static const struct {
		const char *label;
		size_t len;
		char fill;
	} junks[] = {
		{"8 KiB of random bytes", 8192, 0},
		{"100 random bytes", 100, 0},
		{"1 KiB of 'A'", 1024, 'A'},
		{"one byte", 1, 'x'},
	};

	/* libarchive may already refuse these when opening, or archive_import does: the
	 * message names the archive either way */
	for (size_t i = 0; i < sizeof(junks) / sizeof(junks[0]); i++) {
		fill_random(junk, sizeof(junk), 42 + i);
		if (junks[i].fill)
			memset(junk, junks[i].fill, junks[i].len);
		r = import_buf(junk, junks[i].len, &t);
		ok(r < 0, "%s are rejected", junks[i].label);
		has_str(e.msg, "test.tar: ", "%s: the message names the archive", junks[i].label);
		printf("#   %s\n", e.msg);
		tree_free(t);
	}

	/* a valid first entry followed by a header with a bad checksum */
	tw_open(&w, F_USTAR);
	w_file(&w, "one", 0644, "1111");
	w_file(&w, "two", 0644, "2222");
	w_file(&w, "three", 0644, "3333");
	tw_close(&w);
	w.buf[1024 + 148] ^= 1;
	r = import_buf(w.buf, w.used, &t);
	ok(r < 0, "a header with a bad checksum is rejected");
	has_str(e.msg, "Damaged", "the message says the archive is damaged");
	tree_free(t);
	tw_free(&w);

	/* random bytes after a valid entry */
	tw_open(&w, F_GNU);
	w_file(&w, "one", 0644, "1111");
	tw_close(&w);
	fill_random(w.buf + 1024, 4096, 7);
	check_rejected("gnu", "random bytes after a valid entry", w.buf, 1024 + 4096, "test.tar");
	tw_free(&w);
}

/* xz input (what .debs hold) is decoded by stele, on several threads when the stream has
 * several blocks: the tree is the same as from the plain tar; a cut or a flipped byte fails. */
static void test_xz(void)
{
	lzma_mt mt = {.threads = 2, .block_size = 4096, .preset = 1, .check = LZMA_CHECK_CRC64};
	lzma_stream z = LZMA_STREAM_INIT;
	uint8_t d1[SHA256_LEN], d2[SHA256_LEN];
	struct tree *t = NULL, *t2 = NULL;
	size_t cap, xlen;
	uint8_t *xz;
	struct tw w;
	int r;

	tw_open(&w, F_PAX);
	write_full(&w);
	tw_close(&w);
	cap = w.used + w.used / 2 + 65536;
	xz = malloc(cap);
	ok(xz && lzma_stream_encoder_mt(&z, &mt) == LZMA_OK, "xz: encoder");
	z.next_in = (const uint8_t *)w.buf;
	z.avail_in = w.used;
	z.next_out = xz;
	z.avail_out = cap;
	r = lzma_code(&z, LZMA_FINISH);
	xlen = cap - z.avail_out;
	lzma_end(&z);
	is_int(r, LZMA_STREAM_END, "xz: the archive compressed in 4 KiB blocks");
	r = import_buf(xz, xlen, &t);
	is_int(r, 0, "xz: archive_import succeeds");
	if (r < 0)
		printf("#   %s\n", e.msg);
	check_full(t, F_PAX);
	import_buf(w.buf, w.used, &t2);
	ok(tree_digest(t, d1, &e) == 0 && tree_digest(t2, d2, &e) == 0 &&
	   memcmp(d1, d2, SHA256_LEN) == 0, "xz: the same tree as from the plain tar");
	tree_free(t);
	tree_free(t2);
	r = import_buf(xz, xlen / 2, &t);
	ok(r < 0 && strstr(e.msg, "test.tar"), "xz: a cut stream is refused (%s)", e.msg);
	tree_free(t);
	xz[xlen / 2] ^= 0x40;
	r = import_buf(xz, xlen, &t);
	ok(r < 0 && strstr(e.msg, "test.tar"), "xz: a flipped byte is refused (%s)", e.msg);
	tree_free(t);
	free(xz);
	tw_free(&w);
}

int main(void)
{
	init_data();
	test_symlink_inside();
	for (int fmt = 0; fmt < 3; fmt++)
		test_format((enum fmt)fmt);
	test_formats_agree();
	test_stats();
	test_hostile();
	test_hostile_pax();
	in_child("a hard link \"d\" -> \"d/f\" replacing its target's parent: no use after free, "
		 "and either a clean error naming \"d\" or d is the file",
		 link_over_parent_child);
	test_truncated();
	test_size_patched();
	test_garbage();
	test_pax_records();
	test_sizes();
	test_xz();
	return tap_done();
}
