#include "initramfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/contract.h"
#include "elf.h"
#include "fileutil.h"

#define MAX_ENTRIES 1024
#define MAX_FILE (256u << 20)

static const char *const lib_dirs[] = {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
				       "/lib64", "/usr/lib64", "/lib", "/usr/lib", NULL};

/* One file of the cpio; entries are sorted by path before writing. */
struct entry {
	char path[256];
	unsigned type; /* AE_IF* */
	unsigned mode;
	unsigned rdev_major, rdev_minor;
	char *data; /* owned */
	size_t len;
	char target[256];
};

struct cpio {
	struct entry *v;
	size_t n;
	struct err *e;
};

struct module {
	char name[64]; /* normalised: '-' -> '_' */
	char path[512];
	const struct tree_inode *in;
	int state; /* 0 new, 1 visiting, 2 ordered */
};

struct modset {
	struct module *v;
	size_t n, cap;
	char **builtin;
	size_t nbuiltin;
	char order[128][512]; /* load order, dependencies first */
	size_t norder;
};

static int add(struct cpio *c, const char *path, unsigned type, unsigned mode, char *data,
	       size_t len)
{
	struct entry *x;

	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].path, path) == 0) {
			free(data);
			return 0; /* already there (a library needed twice) */
		}
	if (c->n == MAX_ENTRIES || strlen(path) >= sizeof(c->v[0].path)) {
		free(data);
		return err_set(c->e, E2BIG, "initramfs: too many entries or path too long: %s", path);
	}
	x = &c->v[c->n++];
	memset(x, 0, sizeof(*x));
	snprintf(x->path, sizeof(x->path), "%s", path);
	x->type = type;
	x->mode = mode;
	x->data = data;
	x->len = len;
	return 0;
}

static int add_dirs_of(struct cpio *c, const char *path)
{
	char buf[256];
	int r = 0;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p && r == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		r = add(c, buf, AE_IFDIR, 0755, NULL, 0);
		*p = '/';
	}
	return r;
}

static int add_file(struct cpio *c, const char *path, unsigned mode, char *data, size_t len)
{
	int r = add_dirs_of(c, path);

	return r < 0 ? (free(data), r) : add(c, path, AE_IFREG, mode, data, len);
}

static int add_host_file(struct cpio *c, const char *host, const char *path, unsigned mode)
{
	char *buf;
	size_t len;
	int r = file_read_all(host, MAX_FILE, &buf, &len, c->e);

	return r < 0 ? r : add_file(c, path, mode, buf, len);
}

static int add_node(struct cpio *c, const char *path, unsigned type, unsigned mode,
		    unsigned major, unsigned minor)
{
	int r = add(c, path, type, mode, NULL, 0);

	if (r == 0) {
		c->v[c->n - 1].rdev_major = major;
		c->v[c->n - 1].rdev_minor = minor;
	}
	return r;
}

/* ---- shared libraries ---- */

static int find_lib(const char *name, char *out, size_t n)
{
	for (const char *const *d = lib_dirs; *d; d++) {
		snprintf(out, n, "%s/%s", *d, name);
		if (access(out, R_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

static int add_elf_closure(struct cpio *c, const char *host, size_t *nlibs, int depth)
{
	struct elf_deps *d;
	char *buf, lib[512];
	size_t len;
	int r;

	if (depth > 16)
		return err_set(c->e, ELOOP, "initramfs: library dependencies too deep");
	r = file_read_all(host, MAX_FILE, &buf, &len, c->e);
	if (r < 0)
		return r;
	d = malloc(sizeof(*d));
	r = d ? elf_deps((uint8_t *)buf, len, d, c->e) : err_set(c->e, ENOMEM, "out of memory");
	free(buf);
	if (r == 0 && d->interp[0])
		r = add_host_file(c, d->interp, d->interp, 0755);
	for (int i = 0; r == 0 && i < d->nneeded; i++) {
		if (find_lib(d->needed[i], lib, sizeof(lib)) < 0) {
			r = err_set(c->e, ENOENT, "initramfs: %s needs %s, not found on the host",
				    host, d->needed[i]);
			break;
		}
		size_t before = c->n;
		r = add_host_file(c, lib, lib, 0755);
		if (r == 0 && c->n != before) {
			(*nlibs)++;
			r = add_elf_closure(c, lib, nlibs, depth + 1);
		}
	}
	if (r < 0 && d)
		err_prefix(c->e, r, "%s", host);
	free(d);
	return r;
}

/* ---- kernel modules ---- */

static void normalise(char *s)
{
	for (; *s; s++)
		if (*s == '-')
			*s = '_';
}

static int index_modules(struct modset *m, struct tree_node *dir, char *path, size_t len,
			 struct err *e)
{
	for (size_t i = 0; i < dir->nchildren; i++) {
		struct tree_node *c = dir->children[i];
		size_t nl = strlen(c->name), l = len + 1 + nl;
		int r;

		if (l >= 512)
			continue;
		path[len] = '/';
		memcpy(path + len + 1, c->name, nl + 1);
		if (c->inode->type == TREE_DIR) {
			r = index_modules(m, c, path, l, e);
			if (r < 0)
				return r;
		} else if (c->inode->type == TREE_REG && nl > 3 &&
			   strcmp(c->name + nl - 3, ".ko") == 0 && nl - 3 < 64) {
			if (m->n == m->cap) {
				size_t cap = m->cap ? m->cap * 2 : 1024;
				struct module *g = realloc(m->v, cap * sizeof(*g));
				if (!g)
					return err_set(e, ENOMEM, "out of memory");
				m->v = g, m->cap = cap;
			}
			struct module *x = &m->v[m->n++];
			memset(x, 0, sizeof(*x));
			snprintf(x->name, sizeof(x->name), "%.*s", (int)(nl - 3), c->name);
			normalise(x->name);
			snprintf(x->path, sizeof(x->path), "%s", path);
			x->in = c->inode;
		}
		path[len] = '\0';
	}
	return 0;
}

static int read_builtin(struct tree *t, struct modset *m, const char *moddir, struct err *e)
{
	char path[512], *text = NULL, *line, *save = NULL;
	struct tree_node *n;
	struct tree_reader rd;
	int r;

	snprintf(path, sizeof(path), "%s/modules.builtin", moddir);
	n = tree_resolve(t, path);
	if (!n || n->inode->type != TREE_REG || n->inode->size > (4u << 20))
		return 0;
	text = malloc(n->inode->size + 1);
	if (!text)
		return err_set(e, ENOMEM, "out of memory");
	r = tree_reader_open(t, n->inode, &rd, e);
	if (r == 0)
		r = tree_reader_pread(&rd, text, n->inode->size, 0, e);
	tree_reader_close(&rd);
	if (r < 0) {
		free(text);
		return r;
	}
	text[n->inode->size] = '\0';
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *base = strrchr(line, '/'), **g;
		size_t l;

		base = base ? base + 1 : line;
		l = strlen(base);
		if (l < 4 || strcmp(base + l - 3, ".ko") != 0)
			continue;
		base[l - 3] = '\0';
		normalise(base);
		g = realloc(m->builtin, (m->nbuiltin + 1) * sizeof(*g));
		if (g)
			m->builtin = g;
		if (!g || !(g[m->nbuiltin] = strdup(base))) {
			free(text);
			return err_set(e, ENOMEM, "out of memory");
		}
		m->nbuiltin++;
	}
	free(text);
	return 0;
}

static bool is_builtin(const struct modset *m, const char *name)
{
	for (size_t i = 0; i < m->nbuiltin; i++)
		if (strcmp(m->builtin[i], name) == 0)
			return true;
	return false;
}

static struct module *find_module(struct modset *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->v[i].name, name) == 0)
			return &m->v[i];
	return NULL;
}

static int read_module(struct tree *t, const struct module *x, uint8_t **ret, struct err *e)
{
	struct tree_reader rd;
	uint8_t *buf;
	int r;

	if (x->in->size > MAX_FILE)
		return err_set(e, EFBIG, "%s: too large", x->path);
	buf = malloc(x->in->size ? x->in->size : 1);
	if (!buf)
		return err_set(e, ENOMEM, "out of memory");
	r = tree_reader_open(t, x->in, &rd, e);
	if (r == 0)
		r = tree_reader_pread(&rd, buf, x->in->size, 0, e);
	tree_reader_close(&rd);
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	return 0;
}

/* Depth-first: a module's dependencies are ordered before it. */
static int order_module(struct tree *t, struct modset *m, const char *wanted, int depth,
			struct err *e)
{
	char name[64], deps[1024], *dep, *save = NULL;
	struct module *x;
	uint8_t *buf;
	int r;

	snprintf(name, sizeof(name), "%s", wanted);
	normalise(name);
	x = find_module(m, name);
	if (!x)
		return is_builtin(m, name) ? 0
					   : err_set(e, ENOENT, "module %s: not in the kernel's "
								"modules and not built in", wanted);
	if (x->state == 2)
		return 0;
	if (x->state == 1 || depth > 32)
		return err_set(e, ELOOP, "module %s: circular dependencies", wanted);
	x->state = 1;
	r = read_module(t, x, &buf, e);
	if (r == 0) {
		r = elf_modinfo_depends(buf, x->in->size, deps, sizeof(deps), e);
		free(buf);
	}
	if (r < 0)
		return err_prefix(e, r, "module %s", wanted);
	for (dep = strtok_r(deps, ",", &save); dep && r == 0; dep = strtok_r(NULL, ",", &save))
		if (*dep)
			r = order_module(t, m, dep, depth + 1, e);
	if (r < 0)
		return r;
	x = find_module(m, name); /* the array does not move, but be explicit */
	x->state = 2;
	if (m->norder == sizeof(m->order) / sizeof(m->order[0]))
		return err_set(e, E2BIG, "too many modules");
	snprintf(m->order[m->norder++], sizeof(m->order[0]), "%s", x->path);
	return 0;
}

static int kernel_version(struct tree *t, char *out, size_t n, struct err *e)
{
	struct tree_node *boot = tree_lookup(t, "/boot");

	for (size_t i = 0; boot && i < boot->nchildren; i++)
		if (strncmp(boot->children[i]->name, "vmlinuz-", 8) == 0) {
			snprintf(out, n, "%s", boot->children[i]->name + 8);
			return 0;
		}
	return err_set(e, ENOENT, "no /boot/vmlinuz-* in the tree");
}

static int add_modules(struct tree *t, struct cpio *c, const struct initramfs_opts *o,
		       struct initramfs_result *res)
{
	struct modset m = {0};
	char moddir[256], path[512], *list = NULL;
	size_t listlen = 0;
	struct tree_node *dir;
	int r;

	r = kernel_version(t, res->kernel_version, sizeof(res->kernel_version), c->e);
	if (r < 0)
		return r;
	snprintf(moddir, sizeof(moddir), "/lib/modules/%s", res->kernel_version);
	dir = tree_resolve(t, moddir);
	if (!dir && (o->nmodules || o->nextra_modules))
		return err_set(c->e, ENOENT, "kernel.modules: no %s in the tree", moddir);
	snprintf(path, sizeof(path), "%s", moddir);
	r = dir ? index_modules(&m, dir, path, strlen(path), c->e) : 0;
	if (r == 0)
		r = read_builtin(t, &m, moddir, c->e);
	for (size_t i = 0; r == 0 && i < o->nmodules; i++)
		r = order_module(t, &m, o->modules[i], 0, c->e);
	for (size_t i = 0; r == 0 && i < o->nextra_modules; i++)
		r = order_module(t, &m, o->extra_modules[i], 0, c->e);
	for (size_t i = 0; r == 0 && i < m.norder; i++) {
		const struct module *x = NULL;
		uint8_t *buf;
		for (size_t j = 0; j < m.n; j++)
			if (strcmp(m.v[j].path, m.order[i]) == 0)
				x = &m.v[j];
		r = read_module(t, x, &buf, c->e);
		if (r == 0)
			r = add_file(c, x->path, 0644, (char *)buf, x->in->size);
		listlen += strlen(x->path) + 1;
	}
	if (r == 0) {
		list = malloc(listlen + 1);
		if (!list)
			r = err_set(c->e, ENOMEM, "out of memory");
		else
			list[0] = '\0';
		for (size_t i = 0; r == 0 && i < m.norder; i++)
			strcat(strcat(list, m.order[i]), "\n");
		if (r == 0)
			r = add_file(c, CONTRACT_INITRD_MODULES, 0644, list, strlen(list));
	}
	res->nmodules = m.norder;
	for (size_t i = 0; i < m.nbuiltin; i++)
		free(m.builtin[i]);
	free(m.builtin);
	free(m.v);
	return r < 0 ? err_prefix(c->e, r, "kernel.modules") : 0;
}

/* ---- writing ---- */

struct membuf {
	char *buf;
	size_t len, cap;
};

static la_ssize_t mem_write(struct archive *a, void *userdata, const void *buf, size_t n)
{
	struct membuf *m = userdata;

	if (m->len + n > m->cap) {
		size_t cap = (m->cap ? m->cap * 2 : 1 << 20);
		while (cap < m->len + n)
			cap *= 2;
		char *g = realloc(m->buf, cap);
		if (!g) {
			archive_set_error(a, ENOMEM, "out of memory");
			return -1;
		}
		m->buf = g, m->cap = cap;
	}
	memcpy(m->buf + m->len, buf, n);
	m->len += n;
	return (la_ssize_t)n;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path, ((const struct entry *)b)->path);
}

static int write_entry(struct archive *a, const struct entry *x, unsigned ino, int64_t epoch)
{
	struct archive_entry *ae = archive_entry_new();
	int r;

	archive_entry_set_pathname(ae, x->path + 1); /* "init", "etc/stele/modules" */
	archive_entry_set_filetype(ae, x->type);
	archive_entry_set_perm(ae, x->mode);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	archive_entry_set_mtime(ae, epoch, 0);
	archive_entry_set_ino(ae, ino);
	archive_entry_set_nlink(ae, x->type == AE_IFDIR ? 2 : 1);
	archive_entry_set_rdevmajor(ae, x->rdev_major);
	archive_entry_set_rdevminor(ae, x->rdev_minor);
	if (x->type == AE_IFLNK)
		archive_entry_set_symlink(ae, x->target);
	archive_entry_set_size(ae, x->type == AE_IFREG ? (la_int64_t)x->len : 0);
	r = archive_write_header(a, ae);
	if (r == ARCHIVE_OK && x->type == AE_IFREG && x->len &&
	    archive_write_data(a, x->data, x->len) != (la_ssize_t)x->len)
		r = ARCHIVE_FATAL;
	archive_entry_free(ae);
	return r;
}

static int add_compression(struct archive *a, bool zstd)
{
	if (zstd)
		return archive_write_add_filter_zstd(a) == ARCHIVE_OK ? 0 : -1;
	if (archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
	    archive_write_set_filter_option(a, "gzip", "timestamp", NULL) < ARCHIVE_WARN)
		return -1;
	return 0;
}

static int write_cpio(struct cpio *c, bool zstd, int64_t epoch, void **ret, size_t *ret_len)
{
	struct archive *a = archive_write_new();
	struct membuf m = {0};
	int r = 0;

	qsort(c->v, c->n, sizeof(*c->v), by_path);
	if (!a || archive_write_set_format_cpio_newc(a) != ARCHIVE_OK || add_compression(a, zstd) < 0 ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, &m, NULL, mem_write, NULL) != ARCHIVE_OK)
		r = err_set(c->e, EIO, "initramfs: %s", a ? archive_error_string(a) : "no memory");
	for (size_t i = 0; r == 0 && i < c->n; i++)
		if (write_entry(a, &c->v[i], (unsigned)i + 1, epoch) != ARCHIVE_OK)
			r = err_set(c->e, EIO, "initramfs: %s: %s", c->v[i].path,
				    archive_error_string(a));
	if (r == 0 && archive_write_close(a) != ARCHIVE_OK)
		r = err_set(c->e, EIO, "initramfs: %s", archive_error_string(a));
	if (a)
		archive_write_free(a);
	if (r < 0) {
		free(m.buf);
		return r;
	}
	*ret = m.buf;
	*ret_len = m.len;
	return 0;
}

static int add_base(struct cpio *c, const struct initramfs_opts *o)
{
	static const char *const dirs[] = {"/dev", "/proc", "/sys", "/run", "/tmp",
					   CONTRACT_INITRD_SYSROOT, "/etc", "/etc/stele", NULL};
	char *product;
	int r = 0;

	for (const char *const *d = dirs; *d && r == 0; d++)
		r = add(c, *d, AE_IFDIR, 0755, NULL, 0);
	/* the kernel opens /dev/console before /init runs, before devtmpfs is mounted */
	if (r == 0)
		r = add_node(c, "/dev/console", AE_IFCHR, 0600, 5, 1);
	if (r == 0)
		r = add_node(c, "/dev/null", AE_IFCHR, 0666, 1, 3);
	if (r == 0)
		r = add_host_file(c, o->init_path, CONTRACT_INITRD_INIT, 0755);
	if (r == 0)
		r = add_host_file(c, o->trust_pem, CONTRACT_INITRD_TRUST, 0644);
	if (r == 0 && asprintf(&product, "%s\n", o->product) > 0)
		r = add_file(c, CONTRACT_INITRD_PRODUCT, 0644, product, strlen(product));
	return r;
}

/* busybox, when the image has it, as the stele.debug shell */
static int add_debug_shell(struct tree *t, struct cpio *c)
{
	struct tree_node *n = tree_resolve(t, "/bin/busybox");
	struct tree_reader rd;
	char *buf;
	int r;

	if (!n || n->inode->type != TREE_REG || n->inode->size > MAX_FILE)
		return 0;
	buf = malloc(n->inode->size ? n->inode->size : 1);
	if (!buf)
		return err_set(c->e, ENOMEM, "out of memory");
	r = tree_reader_open(t, n->inode, &rd, c->e);
	if (r == 0)
		r = tree_reader_pread(&rd, buf, n->inode->size, 0, c->e);
	tree_reader_close(&rd);
	if (r < 0) {
		free(buf);
		return r;
	}
	r = add_file(c, "/bin/busybox", 0755, buf, n->inode->size);
	if (r == 0)
		r = add(c, "/bin/sh", AE_IFLNK, 0777, NULL, 0);
	if (r == 0)
		snprintf(c->v[c->n - 1].target, sizeof(c->v[0].target), "busybox");
	return r;
}

/* zstd (much faster to make and to unpack) when the kernel's config says it can read it */
static bool kernel_has_zstd(struct tree *t, const char *version)
{
	char path[256], *buf;
	struct tree_node *n;
	struct tree_reader rd;
	bool yes = false;

	snprintf(path, sizeof(path), "/boot/config-%s", version);
	n = tree_resolve(t, path);
	if (!n || n->inode->type != TREE_REG || n->inode->size > (4u << 20))
		return false;
	buf = malloc(n->inode->size + 1);
	if (buf && tree_reader_open(t, n->inode, &rd, NULL) == 0) {
		if (tree_reader_pread(&rd, buf, n->inode->size, 0, NULL) == 0) {
			buf[n->inode->size] = '\0';
			yes = strstr(buf, "\nCONFIG_RD_ZSTD=y\n") != NULL;
		}
		tree_reader_close(&rd);
	}
	free(buf);
	return yes;
}

int initramfs_build(struct tree *t, const struct initramfs_opts *o, void **ret_buf,
		    size_t *ret_len, struct initramfs_result *res, struct err *e)
{
	struct cpio c = {.e = e};
	int r;

	memset(res, 0, sizeof(*res));
	c.v = calloc(MAX_ENTRIES, sizeof(*c.v));
	if (!c.v)
		return err_set(e, ENOMEM, "out of memory");
	r = add_base(&c, o);
	if (r == 0)
		r = add_elf_closure(&c, o->init_path, &res->nlibs, 0);
	if (r == 0)
		r = add_modules(t, &c, o, res);
	if (r == 0)
		r = add_debug_shell(t, &c);
	if (r == 0)
		r = write_cpio(&c, kernel_has_zstd(t, res->kernel_version), o->epoch, ret_buf,
			       ret_len);
	for (size_t i = 0; i < c.n; i++)
		free(c.v[i].data);
	free(c.v);
	return r;
}
