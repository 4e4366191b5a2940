/* "base": {"dir": "path", "keep_owner": false}: a directory on the host. Also the walker the
 * files overlay uses for "src" entries. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "dirimport.h"
#include "source.h"

#define DIR_MAX_DEPTH 256

struct dir_cfg {
	char *path;
	bool keep_owner;
};

/* Host inodes already in the tree, so that hard links stay hard links. */
struct seen {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct walk {
	struct tree *t;
	const struct dir_import_opts *o;
	struct dir_import_stats *st;
	struct seen *seen;
	size_t nseen, capseen;
	char host[4096];
	char img[TREE_PATH_MAX + 1];
	dev_t top_dev; /* a directory on another device is a mount: its file system is checked */
	struct err *e;
};

static const char *const dir_paths[] = {"dir", NULL};
static const char *const dir_extra[] = {"keep_owner", NULL};

/* Host xattrs worth keeping: file capabilities and user attributes. SELinux labels and ACLs
 * describe the build host, not the image. */
static bool xattr_wanted(const char *name)
{
	return strncmp(name, "user.", 5) == 0 || strcmp(name, "security.capability") == 0 ||
	       strncmp(name, "trusted.", 8) == 0;
}

static int copy_host_xattrs(const char *path, struct tree_inode *in, struct err *e)
{
	char names[8192], value[65536];
	ssize_t n = llistxattr(path, names, sizeof(names));

	if (n < 0)
		return errno == ENOTSUP || errno == ENODATA ? 0 : err_sys(e, errno, MSG_NAME_FMT, MSG_NAME(path));
	for (char *p = names; p < names + n; p += strlen(p) + 1) {
		ssize_t v;
		int r;

		if (!xattr_wanted(p))
			continue;
		v = lgetxattr(path, p, value, sizeof(value));
		if (v < 0)
			return err_sys(e, errno, MSG_NAME_FMT ": xattr " MSG_NAME_FMT, MSG_NAME(path),
				       MSG_NAME(p));
		r = tree_inode_set_xattr(in, p, value, (size_t)v, e);
		if (r < 0)
			return err_prefix(e, r, MSG_NAME_FMT, MSG_NAME(path));
	}
	return 0;
}

static struct seen *seen_find(struct walk *w, const struct stat *sb)
{
	for (size_t i = w->nseen; i-- > 0;)
		if (w->seen[i].dev == sb->st_dev && w->seen[i].ino == sb->st_ino)
			return &w->seen[i];
	return NULL;
}

static int seen_add(struct walk *w, const struct stat *sb)
{
	if (w->nseen == w->capseen) {
		size_t cap = w->capseen ? w->capseen * 2 : 64;
		struct seen *grown = realloc(w->seen, cap * sizeof(*grown));

		if (!grown)
			return err_set(w->e, ENOMEM, "out of memory");
		w->seen = grown;
		w->capseen = cap;
	}
	w->seen[w->nseen].dev = sb->st_dev;
	w->seen[w->nseen].ino = sb->st_ino;
	w->seen[w->nseen].path = strdup(w->img);
	if (!w->seen[w->nseen].path)
		return err_set(w->e, ENOMEM, "out of memory");
	w->nseen++;
	return 0;
}

static int type_of(mode_t m, enum tree_type *ret)
{
	if (S_ISREG(m))
		*ret = TREE_REG;
	else if (S_ISDIR(m))
		*ret = TREE_DIR;
	else if (S_ISLNK(m))
		*ret = TREE_SYMLINK;
	else if (S_ISCHR(m))
		*ret = TREE_CHR;
	else if (S_ISBLK(m))
		*ret = TREE_BLK;
	else if (S_ISFIFO(m))
		*ret = TREE_FIFO;
	else if (S_ISSOCK(m))
		*ret = TREE_SOCK;
	else
		return -EINVAL;
	return 0;
}

static int fill_content(struct walk *w, struct tree_inode *in, const struct stat *sb)
{
	char target[TREE_SYMLINK_MAX + 2];
	ssize_t n;

	switch (in->type) {
	case TREE_REG:
		w->st->bytes += (uint64_t)sb->st_size;
		return tree_inode_set_host(in, w->host, (uint64_t)sb->st_size,
					   (uint64_t)sb->st_blocks * 512, w->e);
	case TREE_SYMLINK:
		n = readlink(w->host, target, sizeof(target));
		if (n < 0)
			return err_sys(w->e, errno, MSG_NAME_FMT, MSG_NAME(w->host));
		if ((size_t)n >= sizeof(target) - 1)
			return err_set(w->e, ENAMETOOLONG, MSG_NAME_FMT ": symlink target too long",
				       MSG_NAME(w->host));
		target[n] = '\0';
		return tree_inode_set_target(in, target, w->e);
	case TREE_CHR:
	case TREE_BLK:
		in->rdev_major = major(sb->st_rdev);
		in->rdev_minor = minor(sb->st_rdev);
		return 0;
	default:
		return 0;
	}
}

/* The kernel's pseudo file systems: a file's size there is not its content. */
static int check_fs(struct walk *w)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} pseudo[] = {
		{PROC_SUPER_MAGIC, "proc"},   {SYSFS_MAGIC, "sysfs"},
		{DEBUGFS_MAGIC, "debugfs"},   {TRACEFS_MAGIC, "tracefs"},
		{SECURITYFS_MAGIC, "securityfs"}, {CGROUP_SUPER_MAGIC, "cgroup"},
		{CGROUP2_SUPER_MAGIC, "cgroup2"}, {BPF_FS_MAGIC, "bpf"},
		{EFIVARFS_MAGIC, "efivarfs"}, {DEVPTS_SUPER_MAGIC, "devpts"},
	};
	struct statfs fs;

	if (statfs(w->host, &fs) < 0)
		return err_sys(w->e, errno, "%s", w->host);
	for (size_t i = 0; i < sizeof(pseudo) / sizeof(pseudo[0]); i++)
		if ((unsigned long)fs.f_type == pseudo[i].magic)
			return err_set(w->e, EINVAL,
				       "%s: on the kernel's %s file system, whose files have no "
				       "fixed contents (unmount it from the tree, or give the "
				       "file as \"content\")",
				       w->host, pseudo[i].name);
	return 0;
}

static int import_one(struct walk *w, const struct stat *sb, bool top)
{
	struct tree_inode *in;
	struct seen *s;
	enum tree_type type;
	int r;

	if (type_of(sb->st_mode, &type) < 0)
		return err_set(w->e, EINVAL, MSG_NAME_FMT ": unsupported file type", MSG_NAME(w->host));
	if (!w->o->specials && type != TREE_REG && type != TREE_DIR && type != TREE_SYMLINK)
		return err_set(w->e, EINVAL,
			       MSG_NAME_FMT ": is %s; files[].src copies regular files, directories and "
			       "symlinks (a device node or FIFO belongs in the base; for "
			       "bytes, use \"content\")",
			       MSG_NAME(w->host),
			       type == TREE_CHR ? "a character device" : type == TREE_BLK ? "a block device"
			       : type == TREE_FIFO ? "a FIFO" : "a socket");
	if (type != TREE_SYMLINK && (top || (type == TREE_DIR && sb->st_dev != w->top_dev)) &&
	    (r = check_fs(w)) < 0)
		return r;
	if (type != TREE_DIR && sb->st_nlink > 1 && (s = seen_find(w, sb)))
		return tree_link(w->t, w->img, s->path, w->e);
	in = tree_inode_new(type, (uint32_t)sb->st_mode & w->o->mode_mask);
	if (!in)
		return err_set(w->e, ENOMEM, "out of memory");
	if (top && w->o->has_mode)
		in->mode = w->o->mode;
	in->uid = w->o->keep_owner ? (uint32_t)sb->st_uid : w->o->uid;
	in->gid = w->o->keep_owner ? (uint32_t)sb->st_gid : w->o->gid;
	in->mtime = sb->st_mtime;
	r = fill_content(w, in, sb);
	if (r == 0 && type != TREE_SYMLINK)
		r = copy_host_xattrs(w->host, in, w->e);
	if (r == 0)
		r = tree_put(w->t, w->img, in, w->e);
	tree_inode_unref(in);
	if (r == 0 && type != TREE_DIR && sb->st_nlink > 1)
		r = seen_add(w, sb);
	w->st->entries++;
	return r;
}

static int walk_dir(struct walk *w, int depth);

/* Appends name to both the host and the image path, runs fn, and restores them. */
static int descend(struct walk *w, const char *name, int depth)
{
	size_t hl = strlen(w->host), il = strlen(w->img);
	struct stat sb;
	int r;

	if (hl + strlen(name) + 2 > sizeof(w->host) || il + strlen(name) + 2 > sizeof(w->img))
		return err_set(w->e, ENAMETOOLONG, MSG_NAME_FMT "/" MSG_NAME_FMT ": path too long",
			       MSG_NAME(w->host), MSG_NAME(name));
	snprintf(w->host + hl, sizeof(w->host) - hl, "/%s", name);
	snprintf(w->img + il, sizeof(w->img) - il, "%s%s", il && w->img[il - 1] == '/' ? "" : "/",
		 name);
	if (lstat(w->host, &sb) < 0)
		r = err_sys(w->e, errno, MSG_NAME_FMT, MSG_NAME(w->host));
	else
		r = import_one(w, &sb, false);
	if (r == 0 && S_ISDIR(sb.st_mode))
		r = walk_dir(w, depth + 1);
	w->host[hl] = '\0';
	w->img[il] = '\0';
	return r;
}

static int walk_dir(struct walk *w, int depth)
{
	struct dirent **list = NULL;
	int n, r = 0;

	if (depth > DIR_MAX_DEPTH)
		return err_set(w->e, ELOOP, MSG_NAME_FMT ": more than %d levels deep", MSG_NAME(w->host),
			       DIR_MAX_DEPTH);
	n = scandir(w->host, &list, NULL, alphasort);
	if (n < 0)
		return err_sys(w->e, errno, MSG_NAME_FMT, MSG_NAME(w->host));
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;

		if (r == 0 && strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
			r = descend(w, name, depth);
		free(list[i]);
	}
	free(list);
	return r;
}

int dir_import(struct tree *t, const char *src, const char *dst, const struct dir_import_opts *o,
	       struct dir_import_stats *st, struct err *e)
{
	struct walk *w = calloc(1, sizeof(*w));
	struct stat sb;
	int r;

	if (!w)
		return err_set(e, ENOMEM, "out of memory");
	*w = (struct walk){.t = t, .o = o, .st = st, .e = e};
	r = tree_path_normalize(dst, w->img, sizeof(w->img), e);
	if (r < 0)
		goto out;
	if (!w->img[0])
		strcpy(w->img, "/");
	if (strlen(src) >= sizeof(w->host)) {
		r = err_set(e, ENAMETOOLONG, MSG_NAME_FMT ": path too long", MSG_NAME(src));
		goto out;
	}
	strcpy(w->host, src);
	while (strlen(w->host) > 1 && w->host[strlen(w->host) - 1] == '/')
		w->host[strlen(w->host) - 1] = '\0';
	if (lstat(w->host, &sb) < 0) {
		r = err_sys(e, errno, MSG_NAME_FMT, MSG_NAME(src));
		goto out;
	}
	w->top_dev = sb.st_dev;
	r = import_one(w, &sb, true);
	if (r == 0 && S_ISDIR(sb.st_mode))
		r = walk_dir(w, 0);
out:
	for (size_t i = 0; i < w->nseen; i++)
		free(w->seen[i].path);
	free(w->seen);
	free(w);
	return r;
}

static int dir_parse(const cJSON *base, const char *file, void **ret_cfg, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(base, "dir");
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(base, "keep_owner");
	struct dir_cfg *c;
	struct stat st;

	if (!cJSON_IsString(v))
		return err_set(e, EINVAL, "%s: base.dir: expected the path of a directory", file);
	if (k && !cJSON_IsBool(k))
		return err_set(e, EINVAL, "%s: base.keep_owner: expected true or false", file);
	if (stat(v->valuestring, &st) < 0)
		return err_sys(e, errno, "%s: base.dir: %s", file, v->valuestring);
	if (!S_ISDIR(st.st_mode))
		return err_set(e, ENOTDIR, "%s: base.dir: %s is not a directory", file,
			       v->valuestring);
	c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(v->valuestring))) {
		free(c);
		return err_set(e, ENOMEM, "out of memory");
	}
	c->keep_owner = cJSON_IsTrue(k);
	*ret_cfg = c;
	return 0;
}

static int dir_compose(const void *cfg, struct tree *t, struct source_ctx *ctx, struct err *e)
{
	const struct dir_cfg *c = cfg;
	struct dir_import_opts o = {.keep_owner = c->keep_owner, .mode_mask = 07777,
				    .specials = true};
	struct dir_import_stats st = {0};
	int r;

	r = dir_import(t, c->path, "/", &o, &st, e);
	if (r < 0)
		return err_prefix(e, r, "base dir %s", c->path);
	reportf(ctx->report, BUILD_PROGRESS, "dir %s: %llu entries, %llu bytes", c->path,
		(unsigned long long)st.entries, (unsigned long long)st.bytes);
	return inputs_add(ctx->inputs, "dir", c->path, "", NULL, e);
}

static void dir_free(void *cfg)
{
	struct dir_cfg *c = cfg;

	if (!c)
		return;
	free(c->path);
	free(c);
}

const struct source_handler source_dir = {
	.key = "dir",
	.extra_keys = dir_extra,
	.path_keys = dir_paths,
	.parse = dir_parse,
	.compose = dir_compose,
	.free = dir_free,
};
