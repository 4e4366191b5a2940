#include "archive.h"

#include "lib/hash.h"
#include "size.h"
#include "builder/sources/tarcheck.h"

#include <archive_entry.h>
#include <lzma.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct import_ctx {
	struct archive_import_stats *st;
	struct tar_check *check;
	uint64_t limit; /* the fixed rootfs size, 0: none */
	uint64_t data;  /* data bytes spooled so far */
};

/* What even a metapackage ships: documentation and bug-report templates. */
static bool is_packaging_metadata(const char *norm)
{
	static const char *const dirs[] = {"usr/share/doc/", "usr/share/bug/", "usr/share/lintian/",
					   "usr/share/man/", NULL};

	for (const char *const *d = dirs; *d; d++)
		if (strncmp(norm, *d, strlen(*d)) == 0)
			return true;
	return false;
}

static const char *entry_name(struct archive_entry *ent)
{
	const char *p = archive_entry_pathname_utf8(ent);

	return p ? p : archive_entry_pathname(ent);
}

static int check_entry_path(const char *raw, char *norm, size_t n, struct err *e)
{
	if (!raw || !*raw)
		return err_set(e, EINVAL, "entry without a name");
	if (raw[0] == '/')
		return err_set(e, EINVAL, MSG_NAME_FMT ": absolute path in archive", MSG_NAME(raw));
	return tree_path_normalize(raw, norm, n, e);
}

static int copy_xattrs(struct archive_entry *ent, struct tree_inode *in, struct err *e)
{
	const char *name;
	const void *value;
	size_t size;
	int r;

	if (archive_entry_xattr_reset(ent) == 0)
		return 0;
	while (archive_entry_xattr_next(ent, &name, &value, &size) == ARCHIVE_OK) {
		r = tree_inode_set_xattr(in, name, value, size, e);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Streams the entry's data blocks into the spool, honouring sparse offsets. A dense file is
 * hashed on the way, so the tree digest never reads it again; a file with holes is hashed by
 * the tree digest, after the sizes were checked against the rootfs: hashing its holes here
 * would cost time in proportion to a size the archive merely declares. */
static int spool_data(struct tree *t, struct archive *a, struct tree_inode *in, int64_t size,
		      struct import_ctx *c, struct err *e)
{
	struct sha256_ctx *sha = sha256_new();
	const void *buf;
	size_t len;
	la_int64_t off;
	uint64_t base, written = 0, hashed = 0;
	int r;

	if (!sha)
		return err_set(e, ENOMEM, "out of memory");
	r = tree_spool_reserve(t, (uint64_t)size, &base, e);
	while (r == 0) {
		r = archive_read_data_block(a, &buf, &len, &off);
		if (r == ARCHIVE_EOF) {
			r = 0;
			break;
		}
		if (r < ARCHIVE_WARN) {
			r = err_set(e, EIO, "%s", archive_error_string(a));
			break;
		}
		if (off < 0 || (uint64_t)off > (uint64_t)size || len > (uint64_t)size - (uint64_t)off ||
		    (uint64_t)off < hashed) {
			r = err_set(e, EINVAL, "data past the entry's size of %lld bytes or out of "
					       "order", (long long)size);
			break;
		}
		if (c->limit && len > c->limit - c->data) {
			char lim[32];

			r = err_set(e, EFBIG, "the archive holds more than the %s of the rootfs "
					      "(rootfs.size)", size_str(c->limit, lim, sizeof(lim)));
			break;
		}
		c->data += len;
		if (sha && (uint64_t)off != hashed) { /* a hole */
			sha256_free(sha);
			sha = NULL;
		}
		if (sha)
			sha256_update(sha, buf, len);
		hashed = (uint64_t)off + len;
		r = tree_spool_pwrite(t, buf, len, base + (uint64_t)off, e);
		written += len;
	}
	if (r < 0) {
		sha256_free(sha);
		return r;
	}
	in->src = TREE_SRC_SPOOL;
	in->spool_off = base;
	in->size = (uint64_t)size;
	in->alloc = written;
	in->has_sha256 = sha && hashed == (uint64_t)size;
	if (sha)
		sha256_final(sha, in->sha256);
	return 0;
}

/* Sizes are checked before any work that grows with them. */
static int check_size(struct archive_entry *ent, const struct import_ctx *c,
		      struct err *e)
{
	int64_t size = archive_entry_size(ent);
	char a[32], b[32];

	if (!archive_entry_size_is_set(ent) || size < 0)
		return err_set(e, EINVAL, "regular file without a size");
	if ((uint64_t)size > ARCHIVE_FILE_MAX)
		return err_set(e, EFBIG, "a file of %lld bytes is larger than ext4 allows",
			       (long long)size);
	if (c->limit && (uint64_t)size > c->limit)
		return err_set(e, EFBIG, "a file of %lld bytes (%s) does not fit in the "
					 "rootfs of %s (rootfs.size)", (long long)size,
			       size_str((uint64_t)size, a, sizeof(a)),
			       size_str(c->limit, b, sizeof(b)));
	return 0;
}

static enum tree_type entry_type(mode_t ft, bool *ok)
{
	*ok = true;
	switch (ft) {
	case AE_IFREG:
		return TREE_REG;
	case AE_IFDIR:
		return TREE_DIR;
	case AE_IFLNK:
		return TREE_SYMLINK;
	case AE_IFCHR:
		return TREE_CHR;
	case AE_IFBLK:
		return TREE_BLK;
	case AE_IFIFO:
		return TREE_FIFO;
	case AE_IFSOCK:
		return TREE_SOCK;
	}
	*ok = false;
	return TREE_REG;
}

static int fill_inode(struct tree *t, struct archive *a, struct archive_entry *ent,
		      struct tree_inode *in, struct import_ctx *c, struct err *e)
{
	const char *target;
	int r;

	in->uid = (uint32_t)archive_entry_uid(ent);
	in->gid = (uint32_t)archive_entry_gid(ent);
	in->mtime = archive_entry_mtime(ent);
	if (archive_entry_uid(ent) < 0 || archive_entry_uid(ent) >= UINT32_MAX ||
	    archive_entry_gid(ent) < 0 || archive_entry_gid(ent) >= UINT32_MAX)
		return err_set(e, EINVAL, "owner out of range");
	r = copy_xattrs(ent, in, e);
	if (r < 0)
		return r;
	switch (in->type) {
	case TREE_REG:
		r = check_size(ent, c, e);
		return r < 0 ? r : spool_data(t, a, in, archive_entry_size(ent), c, e);
	case TREE_SYMLINK:
		target = archive_entry_symlink_utf8(ent);
		if (!target)
			target = archive_entry_symlink(ent);
		if (!target || !*target)
			return err_set(e, EINVAL, "symlink without a target");
		return tree_inode_set_target(in, target, e); /* tree_put checks where it leads */
	case TREE_CHR:
	case TREE_BLK:
		in->rdev_major = (uint32_t)archive_entry_rdevmajor(ent);
		in->rdev_minor = (uint32_t)archive_entry_rdevminor(ent);
		return 0;
	default:
		return 0;
	}
}

static int import_hardlink(struct tree *t, const char *norm, const char *link, struct err *e)
{
	char target[TREE_PATH_MAX + 1];
	int r;

	if (link[0] == '/')
		return err_set(e, EINVAL, "hard link to absolute path \"" MSG_NAME_FMT "\"",
			       MSG_NAME(link));
	r = tree_path_normalize(link, target, sizeof(target), e);
	if (r < 0)
		return err_prefix(e, r, "hard link target");
	return tree_link(t, norm, target, e);
}

static int import_entry(struct tree *t, struct archive *a, struct archive_entry *ent,
			struct import_ctx *c, struct err *e)
{
	char norm[TREE_PATH_MAX + 1];
	const char *hardlink = archive_entry_hardlink_utf8(ent);
	struct tree_inode *in;
	enum tree_type type;
	bool ok;
	int r;

	if (!hardlink)
		hardlink = archive_entry_hardlink(ent);
	r = check_entry_path(entry_name(ent), norm, sizeof(norm), e);
	if (r < 0)
		return r;
	if (!*norm && !hardlink && archive_entry_filetype(ent) == AE_IFDIR)
		norm[0] = '\0'; /* "./" sets the root's metadata */
	if (hardlink) {
		c->st->payload += !is_packaging_metadata(norm);
		return import_hardlink(t, norm, hardlink, e);
	}
	type = entry_type(archive_entry_filetype(ent), &ok);
	if (!ok)
		return err_set(e, EINVAL, "unsupported entry type 0%o",
			       (unsigned)archive_entry_filetype(ent));
	in = tree_inode_new(type, (uint32_t)archive_entry_perm(ent));
	if (!in)
		return err_set(e, ENOMEM, "out of memory");
	r = fill_inode(t, a, ent, in, c, e);
	if (r == 0)
		r = tree_put(t, *norm ? norm : "/", in, e);
	if (r == 0 && type == TREE_REG)
		c->st->bytes += in->size;
	if (r == 0 && type != TREE_DIR && !is_packaging_metadata(norm))
		c->st->payload++;
	tree_inode_unref(in);
	return r;
}

/* libarchive's own messages for a header it refuses do not say which entry it was; prev is
 * where the last good entry's headers started. */
static int damaged(struct archive *a, const char *what, const struct tar_check *check,
		   int64_t prev, struct err *e)
{
	const char *name, *defect, *msg = archive_error_string(a);

	tar_check_after(check, prev, &name, &defect);
	if (defect)
		msg = defect;
	if (!msg)
		msg = "damaged archive";
	if (name && *name)
		return err_set(e, EINVAL, "%s: entry \"" MSG_NAME_FMT "\": %s", what,
			       MSG_NAME(name), msg);
	return err_set(e, EINVAL, "%s: %s", what, msg);
}

static int import_entries(struct tree *t, struct archive *a, const char *what,
			  struct import_ctx *c, struct err *e)
{
	struct archive_entry *ent;
	const char *defect, *name;
	int64_t prev = -1;
	int r;

	for (;;) {
		r = archive_read_next_header(a, &ent);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) /* RETRY too: a damaged header */
			return damaged(a, what, c->check, prev, e);
		prev = archive_read_header_position(a);
		/* libarchive skips malformed pax records with a mere warning: refuse them */
		defect = tar_check_defect_at(c->check, (uint64_t)prev);
		name = entry_name(ent);
		if (defect)
			r = err_set(e, EINVAL, "%s", defect);
		else
			r = import_entry(t, a, ent, c, e);
		if (r < 0)
			return err_prefix(e, r, "%s: entry \"" MSG_NAME_FMT "\"", what,
					  MSG_NAME(name ? name : "?"));
		c->st->entries++;
	}
}

static const char *archive_msg(struct archive *a)
{
	return archive_error_string(a) ? archive_error_string(a) : "not an archive";
}

/* The compressed input, with its first block read ahead (to tell xz from the rest) and handed
 * out again first. */
struct source {
	archive_read_callback *read_cb;
	void *userdata;
	const void *first;
	la_ssize_t first_len; /* -1 once handed out */
};

static la_ssize_t source_read(struct archive *a, struct source *src, const void **buf)
{
	if (src->first_len >= 0) {
		la_ssize_t n = src->first_len;

		*buf = src->first;
		src->first_len = -1;
		return n;
	}
	return src->read_cb(a, src->userdata, buf);
}

static la_ssize_t replay_read(struct archive *a, void *userdata, const void **buf)
{
	return source_read(a, userdata, buf);
}

/* xz, what Debian's packages use, is decoded here rather than by libarchive: its blocks are
 * decoded on every core (libarchive decodes on one), the same bytes. */
#define XZ_MAGIC "\xfd" "7zXZ"
#define XZ_MEMLIMIT (512u << 20) /* above it liblzma decodes on one thread */

struct stream {
	struct archive *mid; /* yields the decompressed stream (not xz) */
	struct source src;
	bool xz, xz_input_done, xz_end;
	lzma_stream z;
	struct tar_check *check;
	char buf[1 << 16];
};

static const char *xz_error(lzma_ret ret)
{
	switch (ret) {
	case LZMA_MEM_ERROR:
	case LZMA_MEMLIMIT_ERROR:
		return "xz: out of memory";
	case LZMA_FORMAT_ERROR:
		return "xz: not an xz stream";
	case LZMA_OPTIONS_ERROR:
		return "xz: unsupported options";
	case LZMA_BUF_ERROR:
		return "xz: truncated input";
	default:
		return "xz: corrupt data";
	}
}

static int xz_init(struct stream *s)
{
	lzma_mt mt = {.flags = LZMA_CONCATENATED, .threads = lzma_cputhreads(),
		      .memlimit_threading = XZ_MEMLIMIT, .memlimit_stop = UINT64_MAX};

	if (mt.threads < 1)
		mt.threads = 1;
	s->z = (lzma_stream)LZMA_STREAM_INIT;
	return lzma_stream_decoder_mt(&s->z, &mt) == LZMA_OK ? 0 : -ENOMEM;
}

/* Up to a buffer of the decompressed stream; 0 at its end. */
static la_ssize_t xz_read(struct archive *a, struct stream *s)
{
	s->z.next_out = (uint8_t *)s->buf;
	s->z.avail_out = sizeof(s->buf);
	while (s->z.avail_out == sizeof(s->buf) && !s->xz_end) {
		lzma_ret ret;

		if (s->z.avail_in == 0 && !s->xz_input_done) {
			const void *in;
			la_ssize_t n = source_read(s->mid, &s->src, &in);

			if (n < 0) {
				archive_set_error(a, EIO, "%s", archive_msg(s->mid));
				return -1;
			}
			s->xz_input_done = n == 0;
			s->z.next_in = in;
			s->z.avail_in = (size_t)n;
		}
		ret = lzma_code(&s->z, s->xz_input_done ? LZMA_FINISH : LZMA_RUN);
		if (ret == LZMA_STREAM_END)
			s->xz_end = true;
		else if (ret != LZMA_OK) {
			archive_set_error(a, EIO, "%s", xz_error(ret));
			return -1;
		}
	}
	return (la_ssize_t)(sizeof(s->buf) - s->z.avail_out);
}

static la_ssize_t stream_read(struct archive *a, void *userdata, const void **buf)
{
	struct stream *s = userdata;
	la_ssize_t n = s->xz ? xz_read(a, s) : archive_read_data(s->mid, s->buf, sizeof(s->buf));

	if (n < 0) {
		if (!s->xz)
			archive_set_error(a, EIO, "%s", archive_error_string(s->mid));
		return -1;
	}
	tar_check_feed(s->check, s->buf, (size_t)n);
	*buf = s->buf;
	return n;
}

/* Reads the first block and sets up the decompression: ours for xz, else libarchive's. */
static int open_stream(struct stream *s, const char *what, struct err *e)
{
	struct archive_entry *ent;

	s->src.first_len = s->src.read_cb(s->mid, s->src.userdata, &s->src.first);
	if (s->src.first_len < 0)
		return err_set(e, EINVAL, "%s: %s", what, archive_msg(s->mid));
	s->xz = s->src.first_len >= 6 && memcmp(s->src.first, XZ_MAGIC, 6) == 0;
	if (s->xz)
		return xz_init(s) < 0 ? err_set(e, ENOMEM, "%s: xz: out of memory", what) : 0;
	/* two stages, so the pax check sees exactly the bytes the tar reader parses */
	archive_read_support_filter_all(s->mid);
	archive_read_support_format_raw(s->mid);
	if (archive_read_open(s->mid, &s->src, NULL, replay_read, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(s->mid, &ent) != ARCHIVE_OK)
		return err_set(e, EINVAL, "%s: %s", what, archive_msg(s->mid));
	return 0;
}

int archive_import_stream(struct tree *t, archive_read_callback *read_cb, void *userdata,
			  const char *what, uint64_t limit, struct archive_import_stats *st,
			  struct err *e)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct archive *a = archive_read_new();
	struct import_ctx c = {.st = st, .limit = limit};
	int r;

	if (s) {
		s->mid = archive_read_new();
		s->check = c.check = tar_check_new();
		s->src = (struct source){.read_cb = read_cb, .userdata = userdata, .first_len = -1};
	}
	if (!s || !a || !s->mid || !s->check) {
		r = err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	r = open_stream(s, what, e);
	if (r < 0)
		goto out;
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_open(a, s, NULL, stream_read, NULL) != ARCHIVE_OK) {
		r = err_set(e, EINVAL, "%s: %s", what, archive_msg(a));
		goto out;
	}
	r = import_entries(t, a, what, &c, e);
out:
	if (a)
		archive_read_free(a);
	if (s) {
		if (s->xz)
			lzma_end(&s->z);
		if (s->mid)
			archive_read_free(s->mid);
		tar_check_free(s->check);
		free(s);
	}
	return r;
}
