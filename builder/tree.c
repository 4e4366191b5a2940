#include "tree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct tree_node *node_new(const char *name, size_t len, struct tree_inode *in)
{
	struct tree_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strndup(name, len);
	if (!n->name) {
		free(n);
		return NULL;
	}
	n->inode = in;
	in->refs++;
	in->nlink++;
	return n;
}

static void node_free(struct tree_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nchildren; i++)
		node_free(n->children[i]);
	free(n->children);
	n->inode->nlink--;
	tree_inode_unref(n->inode);
	free(n->name);
	free(n);
}

struct tree_inode *tree_inode_new(enum tree_type type, uint32_t mode)
{
	struct tree_inode *in = calloc(1, sizeof(*in));

	if (!in)
		return NULL;
	in->type = type;
	in->mode = mode & 07777;
	in->refs = 1;
	return in;
}

static void inode_clear_content(struct tree_inode *in)
{
	in->has_sha256 = false;
	free(in->host_path);
	free(in->mem);
	in->host_path = NULL;
	in->mem = NULL;
	in->src = TREE_SRC_NONE;
}

void tree_inode_unref(struct tree_inode *in)
{
	if (!in || --in->refs > 0)
		return;
	inode_clear_content(in);
	for (size_t i = 0; i < in->nxattrs; i++) {
		free(in->xattrs[i].name);
		free(in->xattrs[i].value);
	}
	free(in->xattrs);
	free(in->target);
	free(in);
}

int tree_inode_set_xattr(struct tree_inode *in, const char *name, const void *value, size_t len,
			 struct err *e)
{
	struct tree_xattr *x = NULL, *grown;
	void *copy;

	if (!*name || strlen(name) > 255)
		return err_set(e, EINVAL, "bad xattr name \"" MSG_NAME_FMT "\"", MSG_NAME(name));
	if (len > 65536)
		return err_set(e, EFBIG, "xattr " MSG_NAME_FMT ": value of %zu bytes is too large",
			       MSG_NAME(name), len);
	for (size_t i = 0; i < in->nxattrs; i++)
		if (strcmp(in->xattrs[i].name, name) == 0)
			x = &in->xattrs[i];
	copy = malloc(len ? len : 1);
	if (!copy)
		return err_set(e, ENOMEM, "out of memory");
	memcpy(copy, value, len);
	if (!x) {
		grown = realloc(in->xattrs, (in->nxattrs + 1) * sizeof(*grown));
		if (!grown) {
			free(copy);
			return err_set(e, ENOMEM, "out of memory");
		}
		in->xattrs = grown;
		x = &in->xattrs[in->nxattrs];
		x->name = strdup(name);
		if (!x->name) {
			free(copy);
			return err_set(e, ENOMEM, "out of memory");
		}
		in->nxattrs++;
	} else {
		free(x->value);
	}
	x->value = copy;
	x->len = len;
	return 0;
}

bool tree_symlink_inside(const char *path, const char *target)
{
	long depth = 0;
	const char *p;

	if (target[0] == '/')
		return true;
	for (p = path; *p; p++) /* the link's directory depth */
		depth += *p == '/';
	for (p = target; *p;) {
		const char *s = p;
		size_t len;

		while (*p && *p != '/')
			p++;
		len = (size_t)(p - s);
		if (len == 2 && s[0] == '.' && s[1] == '.') {
			if (--depth < 0)
				return false;
		} else if (len && !(len == 1 && s[0] == '.')) {
			depth++;
		}
		while (*p == '/')
			p++;
	}
	return true;
}

int tree_symlink_check(const char *path, const char *target, struct err *e)
{
	size_t len = strlen(target);

	if (len == 0 || len > TREE_SYMLINK_MAX)
		return err_set(e, EINVAL, "symlink target of %zu bytes (must be 1..%d)", len,
			       TREE_SYMLINK_MAX);
	if (!tree_symlink_inside(path, target))
		return err_set(e, EINVAL, "symlink to \"" MSG_NAME_FMT "\" escapes the root (a "
					  "relative target may not climb above /)", MSG_NAME(target));
	return 0;
}

int tree_inode_set_target(struct tree_inode *in, const char *target, struct err *e)
{
	size_t len = strlen(target);

	if (len == 0 || len > TREE_SYMLINK_MAX)
		return err_set(e, EINVAL, "symlink target of %zu bytes (must be 1..%d)", len,
			       TREE_SYMLINK_MAX);
	free(in->target);
	in->target = strdup(target);
	if (!in->target)
		return err_set(e, ENOMEM, "out of memory");
	in->size = len;
	return 0;
}

void tree_inode_set_mem(struct tree_inode *in, void *buf, size_t len)
{
	inode_clear_content(in);
	in->src = TREE_SRC_MEM;
	in->mem = buf;
	in->size = len;
	in->alloc = len;
}

int tree_inode_set_host(struct tree_inode *in, const char *path, uint64_t size, uint64_t alloc,
			struct err *e)
{
	char *copy = strdup(path);

	if (!copy)
		return err_set(e, ENOMEM, "out of memory");
	inode_clear_content(in);
	in->src = TREE_SRC_HOST;
	in->host_path = copy;
	in->size = size;
	in->alloc = alloc < size ? alloc : size;
	return 0;
}

struct tree_origin {
	struct tree_origin *next;
	char name[];
};

int tree_set_origin(struct tree *t, const char *name, struct err *e)
{
	struct tree_origin *o;
	size_t len;

	if (!name)
		name = ""; /* stele itself */
	if (t->origins && strcmp(t->origins->name, name) == 0)
		return 0;
	len = strlen(name);
	o = malloc(sizeof(*o) + len + 1);
	if (!o)
		return err_set(e, ENOMEM, "out of memory");
	memcpy(o->name, name, len + 1);
	o->next = t->origins;
	t->origins = o;
	return 0;
}

const char *tree_inode_origin(const struct tree_inode *in)
{
	if (in->src == TREE_SRC_HOST && in->host_path)
		return in->host_path;
	return in->origin ? in->origin : "stele";
}

int tree_new(struct tree **ret, struct err *e)
{
	struct tree *t = calloc(1, sizeof(*t));
	struct tree_inode *in = tree_inode_new(TREE_DIR, 0755);

	if (!t || !in)
		goto oom;
	t->spool_fd = -1;
	t->root = node_new("", 0, in);
	if (!t->root)
		goto oom;
	tree_inode_unref(in);
	*ret = t;
	return 0;
oom:
	tree_inode_unref(in);
	free(t);
	return err_set(e, ENOMEM, "out of memory");
}

void tree_free(struct tree *t)
{
	if (!t)
		return;
	node_free(t->root);
	if (t->spool_fd >= 0)
		close(t->spool_fd);
	while (t->origins) {
		struct tree_origin *next = t->origins->next;

		free(t->origins);
		t->origins = next;
	}
	free(t);
}

int tree_path_normalize(const char *path, char *out, size_t outlen, struct err *e)
{
	const char *p = path;
	size_t o = 0;

	if (!*path)
		return err_set(e, EINVAL, "empty path");
	while (*p) {
		const char *s;
		size_t len;

		while (*p == '/')
			p++;
		s = p;
		while (*p && *p != '/')
			p++;
		len = (size_t)(p - s);
		if (len == 0 || (len == 1 && s[0] == '.'))
			continue;
		if (len == 2 && s[0] == '.' && s[1] == '.')
			return err_set(e, EINVAL, "\"..\" is not allowed in a path");
		if (len > TREE_NAME_MAX)
			return err_set(e, ENAMETOOLONG, "a name is longer than %d bytes",
				       TREE_NAME_MAX);
		/* with its leading slash the path must fit TREE_PATH_MAX (walks print it so) */
		size_t next = o + (o ? 1 : 0) + len;
		if (next + 1 > outlen || next + 1 > TREE_PATH_MAX)
			return err_set(e, ENAMETOOLONG, "path longer than %d bytes", TREE_PATH_MAX - 1);
		if (o)
			out[o++] = '/';
		memcpy(out + o, s, len);
		o += len;
	}
	out[o] = '\0';
	return 0;
}

/* Binary search; returns the index of name or where it would go, and sets *found. */
static size_t child_index(const struct tree_node *dir, const char *name, size_t len, bool *found)
{
	size_t lo = 0, hi = dir->nchildren;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *cn = dir->children[mid]->name;
		int c = strncmp(cn, name, len);

		if (c == 0 && cn[len] != '\0')
			c = 1;
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct tree_node *child_find(const struct tree_node *dir, const char *name, size_t len)
{
	bool found;
	size_t i = child_index(dir, name, len, &found);

	return found ? dir->children[i] : NULL;
}

static int child_insert(struct tree_node *dir, struct tree_node *n, size_t at, struct err *e)
{
	if (dir->nchildren == dir->cap) {
		size_t cap = dir->cap ? dir->cap * 2 : 8;
		struct tree_node **grown = realloc(dir->children, cap * sizeof(*grown));

		if (!grown)
			return err_set(e, ENOMEM, "out of memory");
		dir->children = grown;
		dir->cap = cap;
	}
	memmove(dir->children + at + 1, dir->children + at, (dir->nchildren - at) * sizeof(n));
	dir->children[at] = n;
	dir->nchildren++;
	n->parent = dir;
	return 0;
}

static struct tree_node *resolve_from(const struct tree *t, struct tree_node *cur, const char *path,
				      int *budget, int *why);

/* Walks to the parent directory of a normalised path, creating missing directories when
 * create is set. Returns the parent and sets *ret_name to the last component. */
static int walk_parent(struct tree *t, const char *norm, bool create, struct tree_node **ret_dir,
		       const char **ret_name, struct err *e)
{
	struct tree_node *dir = t->root;
	const char *p = norm, *slash;

	while ((slash = strchr(p, '/'))) {
		size_t len = (size_t)(slash - p);
		bool found;
		size_t at = child_index(dir, p, len, &found);
		struct tree_node *next;

		if (found) {
			next = dir->children[at];
			/* a symlink to a directory inside the image is followed, as dpkg does on a
			 * merged-/usr system (/lib -> usr/lib); it cannot lead outside the tree */
			if (next->inode->type == TREE_SYMLINK) {
				int budget = TREE_SYMLOOP_MAX - 1, why = 0; /* this one counts */
				next = resolve_from(t, dir, next->inode->target, &budget, &why);
				if (!next && why == ELOOP)
					return err_set(e, ELOOP, "/" MSG_NAME_FMT ": symlink loop (more "
						       "than %d symlinks to follow)",
						       MSG_NAME_N(norm, slash - norm), TREE_SYMLOOP_MAX);
				if (!next)
					return err_set(e, ENOTDIR, "/" MSG_NAME_FMT " is a dangling symlink",
						       MSG_NAME_N(norm, slash - norm));
			}
			if (next->inode->type != TREE_DIR)
				return err_set(e, ENOTDIR, "/" MSG_NAME_FMT " is not a directory",
					       MSG_NAME_N(norm, slash - norm));
		} else {
			struct tree_inode *in;
			int r;

			if (!create)
				return err_set(e, ENOENT, "/" MSG_NAME_FMT " does not exist",
					       MSG_NAME_N(norm, slash - norm));
			in = tree_inode_new(TREE_DIR, 0755);
			if (in && t->origins && *t->origins->name)
				in->origin = t->origins->name; /* made for what is put below it */
			next = in ? node_new(p, len, in) : NULL;
			tree_inode_unref(in);
			if (!next)
				return err_set(e, ENOMEM, "out of memory");
			r = child_insert(dir, next, at, e);
			if (r < 0) {
				node_free(next);
				return r;
			}
		}
		dir = next;
		p = slash + 1;
	}
	*ret_dir = dir;
	*ret_name = p;
	return 0;
}

static void node_set_inode(struct tree_node *n, struct tree_inode *in)
{
	in->refs++;
	in->nlink++;
	n->inode->nlink--;
	tree_inode_unref(n->inode);
	n->inode = in;
}

static void node_drop_children(struct tree_node *n)
{
	for (size_t i = 0; i < n->nchildren; i++)
		node_free(n->children[i]);
	n->nchildren = 0;
}

static int put_node(struct tree *t, const char *path, struct tree_inode *in, struct err *e)
{
	char norm[TREE_PATH_MAX + 1];
	struct tree_node *dir, *n;
	const char *name;
	size_t at;
	bool found;
	int r;

	r = tree_path_normalize(path, norm, sizeof(norm), e);
	if (r < 0)
		return r;
	if (in->type == TREE_SYMLINK) {
		r = in->target ? tree_symlink_check(norm, in->target, e)
			       : err_set(e, EINVAL, "symlink without a target");
		if (r < 0)
			return r;
	}
	if (!*norm) {
		if (in->type != TREE_DIR)
			return err_set(e, EISDIR, "\"" MSG_NAME_FMT "\": the root must be a directory",
				       MSG_NAME(path));
		node_set_inode(t->root, in);
		return 0;
	}
	r = walk_parent(t, norm, true, &dir, &name, e);
	if (r < 0)
		return err_prefix(e, r, MSG_NAME_FMT, MSG_NAME(path));
	at = child_index(dir, name, strlen(name), &found);
	if (found) {
		n = dir->children[at];
		/* hold in: it may live only below n (a hard link "d" to "d/f") */
		in->refs++;
		if (n->inode->type != TREE_DIR || in->type != TREE_DIR)
			node_drop_children(n);
		node_set_inode(n, in);
		tree_inode_unref(in);
		return 0;
	}
	n = node_new(name, strlen(name), in);
	if (!n)
		return err_set(e, ENOMEM, "out of memory");
	r = child_insert(dir, n, at, e);
	if (r < 0)
		node_free(n);
	return r;
}

int tree_put(struct tree *t, const char *path, struct tree_inode *in, struct err *e)
{
	if (!in->origin && t->origins && *t->origins->name)
		in->origin = t->origins->name;
	return put_node(t, path, in, e);
}

int tree_link(struct tree *t, const char *path, const char *target, struct err *e)
{
	struct tree_node *to = tree_lookup(t, target);

	if (!to)
		return err_set(e, ENOENT, MSG_NAME_FMT ": hard link target " MSG_NAME_FMT " is not in the tree",
			       MSG_NAME(path), MSG_NAME(target));
	if (to->inode->type == TREE_DIR)
		return err_set(e, EPERM, MSG_NAME_FMT ": hard link to directory " MSG_NAME_FMT,
			       MSG_NAME(path), MSG_NAME(target));
	if (to->inode->nlink >= 65000)
		return err_set(e, EMLINK, MSG_NAME_FMT ": too many links to " MSG_NAME_FMT, MSG_NAME(path),
			       MSG_NAME(target));
	return put_node(t, path, to->inode, e);
}

int tree_remove(struct tree *t, const char *path, struct err *e)
{
	char norm[TREE_PATH_MAX + 1];
	struct tree_node *dir;
	const char *name;
	size_t at;
	bool found;
	int r;

	r = tree_path_normalize(path, norm, sizeof(norm), e);
	if (r < 0)
		return r;
	if (!*norm)
		return err_set(e, EBUSY, "cannot remove the root");
	r = walk_parent(t, norm, false, &dir, &name, e);
	if (r < 0)
		return r;
	at = child_index(dir, name, strlen(name), &found);
	if (!found)
		return err_set(e, ENOENT, MSG_NAME_FMT ": not in the tree", MSG_NAME(path));
	node_free(dir->children[at]);
	memmove(dir->children + at, dir->children + at + 1,
		(dir->nchildren - at - 1) * sizeof(*dir->children));
	dir->nchildren--;
	return 0;
}

struct tree_node *tree_lookup(const struct tree *t, const char *path)
{
	char norm[TREE_PATH_MAX + 1];
	struct tree_node *n = t->root;
	const char *p;

	if (tree_path_normalize(path, norm, sizeof(norm), NULL) < 0)
		return NULL;
	p = norm;
	while (*p && n) {
		const char *slash = strchrnul(p, '/');

		if (n->inode->type != TREE_DIR)
			return NULL;
		n = child_find(n, p, (size_t)(slash - p));
		p = *slash ? slash + 1 : slash;
	}
	return n;
}

/* Resolves symlinks the way the kernel would inside a chroot: ".." at the root stays there.
 * On NULL, *why says why: ENOENT (a component is missing: dangling), ENOTDIR, ELOOP (more
 * symlinks than the budget) or ENAMETOOLONG. */
static struct tree_node *resolve_from(const struct tree *t, struct tree_node *cur, const char *path,
				      int *budget, int *why)
{
	char buf[TREE_PATH_MAX + 1];
	char *p, *save = NULL;

	if (strlen(path) > TREE_PATH_MAX) {
		*why = ENAMETOOLONG;
		return NULL;
	}
	strcpy(buf, path);
	if (buf[0] == '/')
		cur = t->root;
	for (p = strtok_r(buf, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		struct tree_node *next;

		if (cur->inode->type != TREE_DIR) {
			*why = ENOTDIR;
			return NULL;
		}
		if (strcmp(p, ".") == 0)
			continue;
		if (strcmp(p, "..") == 0) {
			cur = cur->parent ? cur->parent : cur;
			continue;
		}
		next = child_find(cur, p, strlen(p));
		if (!next) {
			*why = ENOENT;
			return NULL;
		}
		if (next->inode->type == TREE_SYMLINK) {
			if (--*budget < 0) {
				*why = ELOOP;
				return NULL;
			}
			next = resolve_from(t, cur, next->inode->target, budget, why);
			if (!next)
				return NULL;
		}
		cur = next;
	}
	return cur;
}

struct tree_node *tree_resolve(const struct tree *t, const char *path)
{
	int budget = TREE_SYMLOOP_MAX, why;

	return resolve_from(t, t->root, path, &budget, &why);
}

struct walk_ctx {
	char path[TREE_PATH_MAX + 2];
	tree_walk_fn fn;
	void *userdata;
};

static int walk_node(struct walk_ctx *w, struct tree_node *n, size_t len)
{
	int r = w->fn(n, len ? w->path : "/", w->userdata);

	if (r)
		return r;
	for (size_t i = 0; i < n->nchildren; i++) {
		struct tree_node *c = n->children[i];
		size_t nl = strlen(c->name);

		if (len + 1 + nl > TREE_PATH_MAX)
			return -ENAMETOOLONG;
		w->path[len] = '/';
		memcpy(w->path + len + 1, c->name, nl + 1);
		r = walk_node(w, c, len + 1 + nl);
		w->path[len] = '\0';
		if (r)
			return r;
	}
	return 0;
}

int tree_walk(struct tree *t, tree_walk_fn fn, void *userdata)
{
	struct walk_ctx *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	w->fn = fn;
	w->userdata = userdata;
	r = walk_node(w, t->root, 0);
	free(w);
	return r;
}

int tree_spool_reserve(struct tree *t, uint64_t size, uint64_t *ret_off, struct err *e)
{
	const char *dir = getenv("TMPDIR");

	if (t->spool_fd < 0) {
		t->spool_fd = open(dir && *dir ? dir : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (t->spool_fd < 0)
			return err_sys(e, errno, "creating a spool file in %s",
				       dir && *dir ? dir : "/tmp");
	}
	if (size > UINT64_MAX - t->spool_size)
		return err_set(e, EFBIG, "spool overflow");
	/* sized up front, so holes the archive never writes (a sparse tail) read as zeros */
	if (ftruncate(t->spool_fd, (off_t)(t->spool_size + size)) < 0)
		return err_sys(e, errno, "growing the spool file");
	*ret_off = t->spool_size;
	t->spool_size += size;
	return 0;
}

int tree_spool_pwrite(struct tree *t, const void *buf, size_t len, uint64_t off, struct err *e)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(t->spool_fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_sys(e, errno, "writing the spool file");
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int tree_reader_open(const struct tree *t, const struct tree_inode *in, struct tree_reader *r,
		     struct err *e)
{
	r->tree = t;
	r->in = in;
	r->fd = -1;
	r->own_fd = false;
	switch (in->src) {
	case TREE_SRC_HOST:
		r->fd = open(in->host_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (r->fd < 0)
			return err_sys(e, errno, MSG_NAME_FMT, MSG_NAME(in->host_path));
		r->own_fd = true;
		break;
	case TREE_SRC_SPOOL:
		r->fd = t->spool_fd;
		break;
	case TREE_SRC_MEM:
	case TREE_SRC_NONE:
		break;
	}
	return 0;
}

int tree_reader_pread(struct tree_reader *r, void *buf, size_t len, uint64_t off, struct err *e)
{
	char *p = buf;
	uint64_t base = r->in->src == TREE_SRC_SPOOL ? r->in->spool_off : 0;

	if (r->in->src == TREE_SRC_MEM) {
		memcpy(buf, (char *)r->in->mem + off, len);
		return 0;
	}
	if (r->in->src == TREE_SRC_NONE) {
		memset(buf, 0, len);
		return 0;
	}
	const char *what = r->in->host_path ? r->in->host_path : "the spool";

	while (len) {
		ssize_t n = pread(r->fd, p, len, (off_t)(base + off));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, errno, "reading " MSG_NAME_FMT, MSG_NAME(what));
		if (n == 0)
			return err_set(e, EIO, MSG_NAME_FMT ": file shrank while building",
				       MSG_NAME(what));
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

void tree_reader_close(struct tree_reader *r)
{
	if (r->own_fd && r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

static int stats_fn(struct tree_node *n, const char *path, void *userdata)
{
	struct tree_stats *st = userdata;
	struct tree_inode *in = n->inode;

	(void)path;
	st->nodes++;
	if (in->ino == 0) {
		in->ino = 1;
		st->inodes++;
		if (in->type == TREE_REG)
			st->data_bytes += in->size;
	}
	if (in->type == TREE_DIR)
		st->dirs++;
	return 0;
}

static int clear_ino_fn(struct tree_node *n, const char *path, void *userdata)
{
	(void)path;
	(void)userdata;
	n->inode->ino = 0;
	return 0;
}

void tree_stats(struct tree *t, struct tree_stats *st)
{
	memset(st, 0, sizeof(*st));
	tree_walk(t, clear_ino_fn, NULL);
	tree_walk(t, stats_fn, st);
	tree_walk(t, clear_ino_fn, NULL);
}

const char *tree_type_name(enum tree_type type)
{
	static const char *const names[] = {
		[TREE_REG] = "reg",	[TREE_DIR] = "dir",   [TREE_SYMLINK] = "symlink",
		[TREE_CHR] = "chr",	[TREE_BLK] = "blk",   [TREE_FIFO] = "fifo",
		[TREE_SOCK] = "sock",
	};
	return names[type];
}

struct digest_ctx {
	const struct tree *tree;
	struct sha256_ctx *sha;
	uint32_t next_id;
	char *buf;
	struct err *e;
};

static int digest_content(struct digest_ctx *d, struct tree_inode *in)
{
	static const size_t chunk = 1 << 20;
	struct tree_reader r;
	uint64_t off = 0;
	int ret;

	ret = tree_reader_open(d->tree, in, &r, d->e);
	if (ret < 0)
		return ret;
	while (off < in->size) {
		size_t n = in->size - off < chunk ? (size_t)(in->size - off) : chunk;

		ret = tree_reader_pread(&r, d->buf, n, off, d->e);
		if (ret < 0)
			break;
		sha256_update(d->sha, d->buf, n);
		off += n;
	}
	tree_reader_close(&r);
	return ret;
}

/* Each record is NUL-separated text, so no field can run into the next. */
static int digest_fn(struct tree_node *n, const char *path, void *userdata)
{
	struct digest_ctx *d = userdata;
	struct tree_inode *in = n->inode;
	char rec[256];
	int len;

	sha256_update(d->sha, path, strlen(path) + 1);
	if (in->ino) { /* a hard link to an inode already digested */
		len = snprintf(rec, sizeof(rec), "link %u", in->ino);
		sha256_update(d->sha, rec, (size_t)len + 1);
		return 0;
	}
	in->ino = ++d->next_id;
	len = snprintf(rec, sizeof(rec), "%s %o %u %u %llu %u %u", tree_type_name(in->type),
		       in->mode, in->uid, in->gid, (unsigned long long)in->size, in->rdev_major,
		       in->rdev_minor);
	sha256_update(d->sha, rec, (size_t)len + 1);
	if (in->target)
		sha256_update(d->sha, in->target, strlen(in->target) + 1);
	for (size_t i = 0; i < in->nxattrs; i++) {
		len = snprintf(rec, sizeof(rec), "xattr %zu", in->xattrs[i].len);
		sha256_update(d->sha, in->xattrs[i].name, strlen(in->xattrs[i].name) + 1);
		sha256_update(d->sha, rec, (size_t)len + 1);
		sha256_update(d->sha, in->xattrs[i].value, in->xattrs[i].len);
	}
	if (in->type == TREE_REG && in->has_sha256) {
		sha256_update(d->sha, in->sha256, SHA256_LEN);
		return 0;
	}
	if (in->type == TREE_REG) {
		/* the same record as a precomputed digest: the content's sha256 */
		struct sha256_ctx *outer = d->sha;
		uint8_t sum[SHA256_LEN];
		int r;

		d->sha = sha256_new();
		if (!d->sha) {
			d->sha = outer;
			return err_set(d->e, ENOMEM, "out of memory");
		}
		r = digest_content(d, in);
		if (r < 0) {
			sha256_free(d->sha);
			d->sha = outer;
			return r;
		}
		sha256_final(d->sha, sum);
		d->sha = outer;
		sha256_update(d->sha, sum, SHA256_LEN);
	}
	return 0;
}

int tree_digest(struct tree *t, uint8_t out[SHA256_LEN], struct err *e)
{
	struct digest_ctx d = {.tree = t, .e = e};
	int r;

	d.sha = sha256_new();
	d.buf = malloc(1 << 20);
	if (!d.sha || !d.buf) {
		r = err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	tree_walk(t, clear_ino_fn, NULL);
	r = tree_walk(t, digest_fn, &d);
	tree_walk(t, clear_ino_fn, NULL);
	if (r < 0)
		goto out;
	sha256_final(d.sha, out);
	d.sha = NULL;
out:
	sha256_free(d.sha);
	free(d.buf);
	return r;
}
