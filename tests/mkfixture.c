/* mkfixture: write a tar archive holding a fixture tree with every entry type ext4 can store,
 * plus plain-text expectation files describing it, so a test can check an image built from the
 * archive against an oracle that does not share code with stele.
 *
 * usage: mkfixture OUT.tar EXPECT.txt [--format pax|gnu|ustar]
 *
 * EXPECT.txt        path TAB type TAB mode TAB uid TAB gid TAB size TAB sha256 TAB target
 * EXPECT.txt.links  one hard-link group per line, paths separated by spaces
 * EXPECT.txt.xattrs path TAB name TAB hexvalue
 *
 * Only archive entries are written, so no root privileges are needed for devices or owners. */

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include <locale.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FIXTURE_MTIME 1700000000
#define MIB (1024u * 1024u)
#define SPARSE_EDGE 4096u
#define MAX_XATTRS 2
/* ustar header field limits: name, prefix and linkname. */
#define USTAR_NAME_MAX 100
#define USTAR_PREFIX_MAX 155

enum format { FORMAT_PAX, FORMAT_GNU, FORMAT_USTAR };
enum content { CONTENT_NONE, CONTENT_TEXT, CONTENT_RANDOM, CONTENT_SPARSE };

struct xattr {
	const char *name;
	const unsigned char *value;
	size_t size;
};

struct entry {
	char *path;   /* relative, without a trailing slash */
	char *target; /* symlink target, or the path a hard link points at */
	unsigned type; /* AE_IF* */
	unsigned perm;
	unsigned uid, gid;
	unsigned dev_major, dev_minor;
	enum content content;
	const char *text;
	size_t size;
	struct entry *link_to; /* set for hard links: the entry holding the data */
	int nlinks;            /* on a data entry: how many names share its inode */
	struct xattr xattrs[MAX_XATTRS];
	int nxattrs;
	bool skipped; /* the chosen format cannot express this entry */
	char sha256[2 * 32 + 1];
};

struct fixture {
	struct entry *entries;
	size_t count, cap;
	enum format format;
};

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("mkfixture: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p)
		die("out of memory");
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die("out of memory");
	return p;
}

static struct entry *add_entry(struct fixture *fx, const char *path, unsigned type, unsigned perm,
			       unsigned uid, unsigned gid)
{
	struct entry *e;

	if (fx->count == fx->cap) {
		fx->cap = fx->cap ? 2 * fx->cap : 64;
		fx->entries = realloc(fx->entries, fx->cap * sizeof(*fx->entries));
		if (!fx->entries)
			die("out of memory");
	}
	e = &fx->entries[fx->count++];
	memset(e, 0, sizeof(*e));
	e->path = xstrdup(path);
	e->type = type;
	e->perm = perm;
	e->uid = uid;
	e->gid = gid;
	e->nlinks = 1;
	return e;
}

static void add_dir(struct fixture *fx, const char *path, unsigned perm, unsigned uid, unsigned gid)
{
	add_entry(fx, path, AE_IFDIR, perm, uid, gid);
}

static struct entry *add_text(struct fixture *fx, const char *path, unsigned perm, unsigned uid,
			      unsigned gid, const char *text)
{
	struct entry *e = add_entry(fx, path, AE_IFREG, perm, uid, gid);

	e->content = CONTENT_TEXT;
	e->text = text;
	e->size = strlen(text);
	return e;
}

static void add_generated(struct fixture *fx, const char *path, unsigned perm, enum content kind,
			  size_t size)
{
	struct entry *e = add_entry(fx, path, AE_IFREG, perm, 0, 0);

	e->content = kind;
	e->size = size;
}

static void add_symlink(struct fixture *fx, const char *path, const char *target, unsigned uid,
			unsigned gid)
{
	/* 0777 is what every Linux filesystem reports for a symlink, so expect exactly that. */
	struct entry *e = add_entry(fx, path, AE_IFLNK, 0777, uid, gid);

	e->target = xstrdup(target);
}

static void add_node(struct fixture *fx, const char *path, unsigned type, unsigned perm,
		     unsigned gid, unsigned major, unsigned minor)
{
	struct entry *e = add_entry(fx, path, type, perm, 0, gid);

	e->dev_major = major;
	e->dev_minor = minor;
}

/* Look the data entry up by path rather than keep a pointer: add_entry may move the array. */
static void add_hardlink(struct fixture *fx, const char *path, const char *existing)
{
	struct entry *e = add_entry(fx, path, AE_IFREG, 0, 0, 0);

	e->target = xstrdup(existing);
}

static void resolve_hardlinks(struct fixture *fx)
{
	for (size_t i = 0; i < fx->count; i++) {
		struct entry *e = &fx->entries[i];

		if (e->type != AE_IFREG || !e->target)
			continue;
		for (size_t j = 0; j < i && !e->link_to; j++)
			if (!fx->entries[j].target && strcmp(fx->entries[j].path, e->target) == 0)
				e->link_to = &fx->entries[j];
		if (!e->link_to)
			die("hard link %s: no earlier regular file %s", e->path, e->target);
		e->link_to->nlinks++;
	}
}

static void add_base_tree(struct fixture *fx)
{
	add_dir(fx, "bin", 0755, 0, 0);
	add_symlink(fx, "bin/sh", "/usr/bin/busybox", 0, 0);
	add_dir(fx, "etc", 0755, 0, 0);
	add_text(fx, "etc/hostname", 0644, 0, 0, "fixture\n");
	add_text(fx, "etc/passwd", 0644, 0, 0, "root:x:0:0:root:/root:/bin/sh\n");
	add_text(fx, "etc/shadow", 0640, 0, 42, "root:*:19000:0:99999:7:::\n");
	add_text(fx, "etc/empty.conf", 0600, 0, 0, "");
	add_text(fx, "etc/locked", 0000, 0, 0, "nobody may read this\n");
	add_dir(fx, "mnt", 0755, 0, 0); /* stays empty */
	add_dir(fx, "tmp", 01777, 0, 0);
	add_dir(fx, "usr", 0755, 0, 0);
	add_dir(fx, "usr/bin", 0755, 0, 0);
	add_generated(fx, "usr/bin/busybox", 0755, CONTENT_RANDOM, 5 * MIB);
	add_text(fx, "usr/bin/su", 04755, 0, 0, "#!/bin/sh\necho su\n");
	add_text(fx, "usr/bin/wall", 02755, 0, 5, "#!/bin/sh\necho wall\n");
	add_dir(fx, "usr/lib", 0755, 0, 0);
	add_text(fx, "usr/lib/libfixture.so.1", 0644, 0, 0, "not really a library\n");
	add_symlink(fx, "lib", "usr/lib", 0, 0);
	add_dir(fx, "var", 0755, 0, 0);
	add_dir(fx, "var/lib", 0755, 0, 0);
	add_generated(fx, "var/lib/sparse.img", 0644, CONTENT_SPARSE, 8 * MIB);
}

static void add_owner_tree(struct fixture *fx)
{
	add_dir(fx, "home", 0755, 0, 0);
	add_dir(fx, "home/user", 0700, 1000, 1000);
	add_text(fx, "home/user/shared.txt", 0644, 1000, 1000, "one inode, three names\n");
	add_hardlink(fx, "home/user/shared-link.txt", "home/user/shared.txt");
	/* Above 65535, so the ext4 high owner bits matter, yet below ustar's 6-digit octal limit. */
	add_text(fx, "home/user/highid.txt", 0640, 100000, 200000, "large ids\n");
	add_dir(fx, "srv", 0755, 0, 0);
	add_hardlink(fx, "srv/shared.txt", "home/user/shared.txt");
	add_dir(fx, "données", 0755, 1000, 1000);
	add_text(fx, "données/ünïcødé-文件.txt", 0644, 1000, 1000, "ünïcødé ✓\n");
}

static void add_special_tree(struct fixture *fx)
{
	add_dir(fx, "dev", 0755, 0, 0);
	add_node(fx, "dev/null", AE_IFCHR, 0666, 0, 1, 3);
	add_node(fx, "dev/vda", AE_IFBLK, 0660, 6, 254, 0);
	/* A minor above 255 needs ext4's "new" device encoding. */
	add_node(fx, "dev/loop300", AE_IFBLK, 0660, 6, 7, 300);
	add_dir(fx, "run", 0755, 0, 0);
	add_node(fx, "run/fifo", AE_IFIFO, 0644, 0, 0, 0);
}

static void add_deep_tree(struct fixture *fx)
{
	char path[256] = "deep";

	add_dir(fx, path, 0755, 0, 0);
	for (int level = 1; level <= 12; level++) {
		size_t len = strlen(path);

		snprintf(path + len, sizeof(path) - len, "/l%02d", level);
		add_dir(fx, path, 0755, 0, 0);
	}
	strcat(path, "/leaf.txt");
	add_text(fx, path, 0644, 1000, 1000, "twelve levels down\n");
}

static void add_long_names(struct fixture *fx)
{
	const char *dir = "long/a-directory-name-that-pushes-the-whole-path-well-past-100-bytes";
	char file[256], target[512] = "";

	add_dir(fx, "long", 0755, 0, 0);
	add_dir(fx, dir, 0755, 0, 0);
	/* A 120-byte last component: more than any ustar name field can hold. */
	snprintf(file, sizeof(file), "%s/file-%0110d.txt", dir, 0);
	add_text(fx, file, 0644, 0, 0, "a long way from the root\n");
	/* A 299-byte relative target: too long for the inode, so ext4 puts it in a data block. */
	for (int i = 0; i < 75; i++) {
		size_t len = strlen(target);

		snprintf(target + len, sizeof(target) - len, "%sd%02d", i ? "/" : "", i);
	}
	add_symlink(fx, "longlink", target, 0, 0);
}

static void add_xattr_file(struct fixture *fx)
{
	/* vfs_cap_data revision 2, effective, permitted = CAP_NET_RAW (bit 13), little endian. */
	static const unsigned char cap[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x20};
	static const unsigned char comment[] = "hello";
	struct entry *e = add_text(fx, "usr/bin/ping", 0755, 0, 0, "#!/bin/sh\necho pong\n");

	e->xattrs[0] = (struct xattr){"user.comment", comment, sizeof(comment) - 1};
	e->xattrs[1] = (struct xattr){"security.capability", cap, sizeof(cap)};
	e->nxattrs = 2;
}

static bool ustar_path_fits(const char *path)
{
	size_t len = strlen(path);

	if (len <= USTAR_NAME_MAX)
		return true;
	/* Otherwise the path must split at a slash into prefix and name fields. */
	for (const char *slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
		size_t prefix = (size_t)(slash - path);

		if (prefix <= USTAR_PREFIX_MAX && len - prefix - 1 <= USTAR_NAME_MAX && len - prefix > 1)
			return true;
	}
	return false;
}

static bool ustar_fits(const struct entry *e)
{
	char path[1024];

	/* libarchive stores directories with a trailing slash, which counts too. */
	snprintf(path, sizeof(path), "%s%s", e->path, e->type == AE_IFDIR ? "/" : "");
	if (!ustar_path_fits(path))
		return false;
	return !e->target || strlen(e->target) <= USTAR_NAME_MAX;
}

/* Only pax can carry xattrs, and ustar cannot carry long names: drop what the format loses. */
static void apply_format_limits(struct fixture *fx)
{
	for (size_t i = 0; i < fx->count; i++) {
		struct entry *e = &fx->entries[i];

		if (fx->format != FORMAT_PAX)
			e->nxattrs = 0;
		if (fx->format == FORMAT_USTAR && !ustar_fits(e)) {
			if (e->nlinks > 1 || e->type == AE_IFDIR)
				die("%s: cannot skip an entry others depend on", e->path);
			e->skipped = true;
		}
	}
}

/* xorshift64: deterministic on every host, unlike rand(). */
static void fill_random(unsigned char *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed;

	for (size_t i = 0; i < len; i++) {
		if (i % 8 == 0) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		buf[i] = (unsigned char)(x >> (8 * (i % 8)));
	}
}

static unsigned char *make_content(const struct entry *e)
{
	unsigned char *buf = xmalloc(e->size);

	switch (e->content) {
	case CONTENT_TEXT:
		memcpy(buf, e->text, e->size);
		break;
	case CONTENT_RANDOM:
		fill_random(buf, e->size, 0x9e3779b97f4a7c15ull);
		break;
	case CONTENT_SPARSE:
		/* Only the edges carry data; the zeros in between should become holes. */
		fill_random(buf, SPARSE_EDGE, 0x2545f4914f6cdd1dull);
		fill_random(buf + e->size - SPARSE_EDGE, SPARSE_EDGE, 0xda942042e4dd58b5ull);
		break;
	case CONTENT_NONE:
		break;
	}
	return buf;
}

static void sha256_hex(const unsigned char *buf, size_t len, char out[2 * 32 + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (!EVP_Digest(buf, len, md, &md_len, EVP_sha256(), NULL) || md_len != 32)
		die("SHA-256 failed");
	for (unsigned int i = 0; i < md_len; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void check_archive(struct archive *a, int r, const char *what, const char *path)
{
	/* Warnings too: libarchive warns when it had to mangle a name or drop metadata. */
	if (r != ARCHIVE_OK)
		die("%s %s: %s", what, path, archive_error_string(a));
}

static struct archive_entry *make_header(const struct entry *e)
{
	const struct entry *data = e->link_to ? e->link_to : e;
	struct archive_entry *ae = archive_entry_new();

	if (!ae)
		die("out of memory");
	archive_entry_set_pathname_utf8(ae, e->path);
	archive_entry_set_filetype(ae, data->type);
	archive_entry_set_perm(ae, data->perm);
	archive_entry_set_uid(ae, data->uid);
	archive_entry_set_gid(ae, data->gid);
	archive_entry_set_mtime(ae, FIXTURE_MTIME, 0);
	if (e->link_to)
		archive_entry_set_hardlink_utf8(ae, e->target);
	else if (e->type == AE_IFLNK)
		archive_entry_set_symlink_utf8(ae, e->target);
	else if (e->type == AE_IFREG)
		archive_entry_set_size(ae, (la_int64_t)e->size);
	if (e->type == AE_IFCHR || e->type == AE_IFBLK) {
		archive_entry_set_rdevmajor(ae, e->dev_major);
		archive_entry_set_rdevminor(ae, e->dev_minor);
	}
	for (int i = 0; i < e->nxattrs; i++)
		archive_entry_xattr_add_entry(ae, e->xattrs[i].name, e->xattrs[i].value,
					      e->xattrs[i].size);
	return ae;
}

static void write_data(struct archive *a, struct entry *e)
{
	unsigned char *buf = make_content(e);
	la_ssize_t n = archive_write_data(a, buf, e->size);

	if (n < 0 || (size_t)n != e->size)
		die("write data %s: %s", e->path, archive_error_string(a));
	sha256_hex(buf, e->size, e->sha256);
	free(buf);
}

static void write_entry(struct archive *a, struct entry *e)
{
	struct archive_entry *ae = make_header(e);

	check_archive(a, archive_write_header(a, ae), "write header", e->path);
	archive_entry_free(ae);
	if (e->type == AE_IFREG && !e->link_to)
		write_data(a, e);
	check_archive(a, archive_write_finish_entry(a), "finish entry", e->path);
}

static void set_format(struct archive *a, enum format format)
{
	int r;

	if (format == FORMAT_PAX) {
		r = archive_write_set_format_pax_restricted(a);
	} else {
		r = format == FORMAT_GNU ? archive_write_set_format_gnutar(a)
					 : archive_write_set_format_ustar(a);
		/* Store our UTF-8 names byte for byte whatever the locale's charset. */
		if (r == ARCHIVE_OK)
			r = archive_write_set_format_option(a, NULL, "hdrcharset", "UTF-8");
	}
	check_archive(a, r, "set format", "");
}

static void write_archive(struct fixture *fx, const char *out)
{
	struct archive *a = archive_write_new();

	if (!a)
		die("out of memory");
	set_format(a, fx->format);
	check_archive(a, archive_write_open_filename(a, out), "open", out);
	for (size_t i = 0; i < fx->count; i++)
		if (!fx->entries[i].skipped)
			write_entry(a, &fx->entries[i]);
	check_archive(a, archive_write_close(a), "close", out);
	archive_write_free(a);
}

static const char *type_name(unsigned type)
{
	switch (type) {
	case AE_IFREG:
		return "reg";
	case AE_IFDIR:
		return "dir";
	case AE_IFLNK:
		return "symlink";
	case AE_IFCHR:
		return "chr";
	case AE_IFBLK:
		return "blk";
	case AE_IFIFO:
		return "fifo";
	}
	die("unknown entry type %o", type);
}

static void print_entry(FILE *f, const struct entry *e)
{
	const struct entry *data = e->link_to ? e->link_to : e;
	bool reg = data->type == AE_IFREG;

	fprintf(f, "/%s\t%s\t%04o\t%u\t%u\t%zu\t%s\t", e->path, type_name(data->type), data->perm,
		data->uid, data->gid, reg ? data->size : 0, reg ? data->sha256 : "-");
	if (e->type == AE_IFLNK)
		fprintf(f, "%s\n", e->target);
	else if (e->type == AE_IFCHR || e->type == AE_IFBLK)
		fprintf(f, "%u,%u\n", e->dev_major, e->dev_minor);
	else
		fprintf(f, "-\n");
}

static void print_link_group(FILE *f, const struct entry *const *sorted, size_t n,
			     const struct entry *data)
{
	const char *sep = "";

	for (size_t i = 0; i < n; i++) {
		if (sorted[i] != data && sorted[i]->link_to != data)
			continue;
		fprintf(f, "%s/%s", sep, sorted[i]->path);
		sep = " ";
	}
	fprintf(f, "\n");
}

static void print_xattrs(FILE *f, const struct entry *e)
{
	const struct xattr *order[MAX_XATTRS];
	int n = e->nxattrs;

	/* Sort by name so the file is stable whatever order the table lists them in. */
	for (int i = 0; i < n; i++) {
		int j = i;

		for (; j > 0 && strcmp(order[j - 1]->name, e->xattrs[i].name) > 0; j--)
			order[j] = order[j - 1];
		order[j] = &e->xattrs[i];
	}
	for (int i = 0; i < n; i++) {
		fprintf(f, "/%s\t%s\t", e->path, order[i]->name);
		for (size_t k = 0; k < order[i]->size; k++)
			fprintf(f, "%02x", order[i]->value[k]);
		fprintf(f, "\n");
	}
}

static FILE *open_output(const char *base, const char *suffix)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", base, suffix);
	f = fopen(path, "w");
	if (!f)
		die("cannot create %s: %m", path);
	return f;
}

static void close_output(FILE *f, const char *base, const char *suffix)
{
	if (ferror(f) | fclose(f))
		die("cannot write %s%s", base, suffix);
}

static int compare_paths(const void *a, const void *b)
{
	const struct entry *const *x = a, *const *y = b;

	return strcmp((*x)->path, (*y)->path);
}

static void write_expectations(struct fixture *fx, const char *out)
{
	const struct entry **sorted = xmalloc(fx->count * sizeof(*sorted));
	FILE *lines = open_output(out, ""), *links = open_output(out, ".links");
	FILE *xattrs = open_output(out, ".xattrs");
	size_t n = 0;

	for (size_t i = 0; i < fx->count; i++)
		if (!fx->entries[i].skipped)
			sorted[n++] = &fx->entries[i];
	qsort(sorted, n, sizeof(*sorted), compare_paths);
	for (size_t i = 0; i < n; i++) {
		print_entry(lines, sorted[i]);
		if (sorted[i]->nlinks > 1)
			print_link_group(links, sorted, n, sorted[i]);
		print_xattrs(xattrs, sorted[i]);
	}
	close_output(lines, out, "");
	close_output(links, out, ".links");
	close_output(xattrs, out, ".xattrs");
	free(sorted);
}

static enum format parse_format(const char *name)
{
	if (strcmp(name, "pax") == 0)
		return FORMAT_PAX;
	if (strcmp(name, "gnu") == 0)
		return FORMAT_GNU;
	if (strcmp(name, "ustar") == 0)
		return FORMAT_USTAR;
	die("unknown format '%s' (want pax, gnu or ustar)", name);
}

static void free_fixture(struct fixture *fx)
{
	for (size_t i = 0; i < fx->count; i++) {
		free(fx->entries[i].path);
		free(fx->entries[i].target);
	}
	free(fx->entries);
}

int main(int argc, char **argv)
{
	struct fixture fx = {.format = FORMAT_PAX};

	if (argc == 5 && strcmp(argv[3], "--format") == 0)
		fx.format = parse_format(argv[4]);
	else if (argc != 3)
		die("usage: mkfixture OUT.tar EXPECT.txt [--format pax|gnu|ustar]");
	/* libarchive converts names through the locale's charset; make that UTF-8 everywhere. */
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		die("the C.UTF-8 locale is not available");
	add_base_tree(&fx);
	add_owner_tree(&fx);
	add_special_tree(&fx);
	add_deep_tree(&fx);
	add_long_names(&fx);
	add_xattr_file(&fx);
	resolve_hardlinks(&fx);
	apply_format_limits(&fx);
	write_archive(&fx, argv[1]);
	write_expectations(&fx, argv[2]);
	free_fixture(&fx);
	return 0;
}
