/* Unit tests of the in-memory tree model (builder/tree.c). */
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "builder/tree.h"
#include "tap.h"

static struct err e;

static struct tree *new_tree(void)
{
	struct tree *t = NULL;

	if (tree_new(&t, &e) < 0 || !t) {
		printf("Bail out! tree_new: %s\n", e.msg);
		exit(1);
	}
	return t;
}

static int put_file(struct tree *t, const char *path, uint32_t mode, const char *content)
{
	struct tree_inode *in = tree_inode_new(TREE_REG, mode);
	char *buf = strdup(content);
	int r;

	if (!in || !buf)
		abort();
	tree_inode_set_mem(in, buf, strlen(content));
	r = tree_put(t, path, in, &e);
	tree_inode_unref(in);
	return r;
}

static int put_dir(struct tree *t, const char *path, uint32_t mode)
{
	struct tree_inode *in = tree_inode_new(TREE_DIR, mode);
	int r;

	if (!in)
		abort();
	r = tree_put(t, path, in, &e);
	tree_inode_unref(in);
	return r;
}

static int put_symlink(struct tree *t, const char *path, const char *target)
{
	struct tree_inode *in = tree_inode_new(TREE_SYMLINK, 0777);
	int r;

	if (!in)
		abort();
	r = tree_inode_set_target(in, target, &e);
	if (r == 0)
		r = tree_put(t, path, in, &e);
	tree_inode_unref(in);
	return r;
}

static const char *node_path_of(const struct tree_node *n, char *buf, size_t len)
{
	/* Rebuilds "/a/b" from parent pointers. */
	const char *names[256];
	size_t k = 0, o = 0;

	for (; n && n->parent; n = n->parent)
		names[k++] = n->name;
	if (!k)
		return "/";
	while (k--)
		o += (size_t)snprintf(buf + o, len - o, "/%s", names[k]);
	return buf;
}

/* A path of 15 255-byte names, one of 253 and a last one of tail bytes: 4094 + tail bytes
 * (with its leading slash a path must fit 4096 bytes, so 4095 is the longest). */
static char *long_path(size_t tail)
{
	char *p = malloc(8192);
	size_t o = 0;

	for (int i = 0; i < 17; i++) {
		size_t len = i < 15 ? TREE_NAME_MAX : i == 15 ? TREE_NAME_MAX - 2 : tail;

		if (i)
			p[o++] = '/';
		memset(p + o, 'a' + i, len);
		o += len;
	}
	p[o] = '\0';
	return p;
}

/* ---- tree_path_normalize ---- */

static void norm_ok(const char *in, const char *want)
{
	char out[TREE_PATH_MAX + 1];
	int r;

	memset(out, 'X', sizeof(out));
	r = tree_path_normalize(in, out, sizeof(out), &e);
	is_int(r, 0, "normalize \"%.60s\" succeeds", in);
	if (r == 0)
		is_str(out, want, "normalize \"%.60s\" gives the expected result", in);
	else
		ok(0, "normalize \"%.60s\" gives the expected result", in);
}

static void norm_fail(const char *label, const char *in, int code)
{
	char out[TREE_PATH_MAX + 1];
	int r;

	e.msg[0] = '\0';
	r = tree_path_normalize(in, out, sizeof(out), &e);
	is_int(r, -code, "normalize rejects %s", label);
	ok(e.msg[0] != '\0', "normalize sets a message for %s", label);
}

static void test_normalize(void)
{
	char name255[TREE_NAME_MAX + 1], name256[TREE_NAME_MAX + 2], want[TREE_NAME_MAX + 8];
	char *big, *exact;
	char small[8];
	size_t o;

	norm_ok("/", "");
	norm_ok(".", "");
	norm_ok("./", "");
	norm_ok("//", "");
	norm_ok("/usr/bin", "usr/bin");
	norm_ok("./usr/bin", "usr/bin");
	norm_ok("usr//bin", "usr/bin");
	norm_ok("usr/bin/", "usr/bin");
	norm_ok("usr/bin//", "usr/bin");
	norm_ok("///usr/./bin/.", "usr/bin");
	norm_ok("././a/./././b", "a/b");
	norm_ok(".a/..b/...", ".a/..b/...");
	norm_ok("a/b.", "a/b.");
	norm_ok("caf\xc3\xa9", "caf\xc3\xa9");

	norm_fail("an empty path", "", EINVAL);
	norm_fail("\"..\"", "..", EINVAL);
	norm_fail("\"../x\"", "../x", EINVAL);
	norm_fail("\"a/../b\"", "a/../b", EINVAL);
	norm_fail("\"a/..\"", "a/..", EINVAL);
	norm_fail("\"/..\"", "/..", EINVAL);
	norm_fail("\"a/../\"", "a/../", EINVAL);

	memset(name255, 'n', TREE_NAME_MAX);
	name255[TREE_NAME_MAX] = '\0';
	memset(name256, 'n', TREE_NAME_MAX + 1);
	name256[TREE_NAME_MAX + 1] = '\0';
	snprintf(want, sizeof(want), "d/%s", name255);
	{
		char in[TREE_NAME_MAX + 8];

		snprintf(in, sizeof(in), "/d/%s/", name255);
		norm_ok(in, want);
		snprintf(in, sizeof(in), "d/%s", name256);
		norm_fail("a 256-byte name", in, ENAMETOOLONG);
	}

	/* 16 components of 255 bytes plus 15 slashes = 4095 bytes; one more component
	 * is far past 4096. */
	big = malloc(8192);
	exact = NULL;
	o = 0;
	for (int i = 0; i < 16; i++) {
		if (i)
			big[o++] = '/';
		memset(big + o, 'a' + i, TREE_NAME_MAX);
		o += TREE_NAME_MAX;
	}
	big[o] = '\0';
	is_int(o, 4095, "the 16-component path is 4095 bytes");
	norm_ok(big, big);
	/* the same path written with redundant slashes and dots still fits */
	{
		char *noisy = malloc(16384);
		size_t n = 0;

		for (int i = 0; i < 16; i++) {
			memcpy(noisy + n, "/./", 3);
			n += 3;
			memset(noisy + n, 'a' + i, TREE_NAME_MAX);
			n += TREE_NAME_MAX;
		}
		memcpy(noisy + n, "//", 3);
		norm_ok(noisy, big);
		free(noisy);
	}
	free(exact);
	exact = long_path(1);
	is_int(strlen(exact), 4095, "the 17-component path is 4095 bytes");
	norm_ok(exact, exact);
	free(exact);
	exact = long_path(2);
	norm_fail("a 4096-byte path", exact, ENAMETOOLONG);
	strcat(exact, "/c");
	norm_fail("a 4098-byte path", exact, ENAMETOOLONG);
	free(big);
	free(exact);

	/* a small output buffer is honoured */
	memset(small, 0, sizeof(small));
	is_int(tree_path_normalize("abcdefgh", small, sizeof(small), &e), -ENAMETOOLONG,
	       "normalize honours outlen (8 bytes, 8-char path)");
	is_int(tree_path_normalize("abcdefg", small, sizeof(small), &e), 0,
	       "normalize fits a 7-char path in 8 bytes");
	is_str(small, "abcdefg", "normalize result in a small buffer");
}

/* ---- tree_put ---- */

static void test_put(void)
{
	struct tree *t = new_tree();
	struct tree_node *n;

	is_int(put_file(t, "a/b/c/file", 0644, "hello"), 0, "put a file under missing parents");
	n = tree_lookup(t, "a");
	ok(n && n->inode->type == TREE_DIR && n->inode->mode == 0755 && n->inode->uid == 0 &&
		   n->inode->gid == 0,
	   "implicit parent /a is a directory 0755 0:0");
	n = tree_lookup(t, "a/b/c");
	ok(n && n->inode->type == TREE_DIR && n->inode->mode == 0755,
	   "implicit parent /a/b/c is a directory 0755");
	n = tree_lookup(t, "/a/b/c/file");
	ok(n && n->inode->type == TREE_REG && n->inode->size == 5 && n->inode->mode == 0644,
	   "the file is there with its mode and size");
	ok(n && n->parent == tree_lookup(t, "a/b/c"), "the file's parent pointer is its directory");
	is_int(n ? n->inode->nlink : 0, 1, "a fresh file has nlink 1");
	is_int(n ? n->inode->refs : 0, 1, "the tree holds the only reference after unref");

	/* mode masking */
	{
		struct tree_inode *in = tree_inode_new(TREE_REG, 0100644 | 07000);

		is_int(in->mode, 07644, "tree_inode_new keeps only 07777 of the mode");
		tree_inode_unref(in);
	}

	/* dir on dir keeps children and takes the new metadata */
	is_int(put_dir(t, "a/b", 0700), 0, "put a dir over a dir");
	n = tree_lookup(t, "a/b");
	ok(n && n->inode->mode == 0700, "the replaced dir has the new mode");
	ok(tree_lookup(t, "a/b/c/file") != NULL, "dir over dir keeps the children");

	/* file over dir drops children */
	is_int(put_file(t, "a/b", 0600, "x"), 0, "put a file over a dir");
	n = tree_lookup(t, "a/b");
	ok(n && n->inode->type == TREE_REG && n->nchildren == 0, "a/b is now a childless file");
	ok(tree_lookup(t, "a/b/c") == NULL && tree_lookup(t, "a/b/c/file") == NULL,
	   "the old children are gone");

	/* dir over file */
	is_int(put_dir(t, "a/b", 0755), 0, "put a dir over a file");
	n = tree_lookup(t, "a/b");
	ok(n && n->inode->type == TREE_DIR && n->nchildren == 0, "a/b is an empty dir again");
	is_int(put_file(t, "a/b/new", 0644, "n"), 0, "a file can go into the new dir");

	/* dir over a dir with children replaced by a symlink drops them */
	is_int(put_symlink(t, "a/b", "/elsewhere"), 0, "put a symlink over a dir");
	n = tree_lookup(t, "a/b");
	ok(n && n->inode->type == TREE_SYMLINK && n->nchildren == 0 && !tree_lookup(t, "a/b/new"),
	   "symlink over a dir drops the children");

	/* putting under a non-directory */
	is_int(put_file(t, "f", 0644, "data"), 0, "put /f");
	e.msg[0] = '\0';
	is_int(put_file(t, "f/x", 0644, "x"), -ENOTDIR, "put under a regular file: ENOTDIR");
	has_str(e.msg, "f", "the message names the path");
	ok(tree_lookup(t, "f")->inode->type == TREE_REG, "f is untouched");
	is_int(put_file(t, "a/b/x", 0644, "x"), -ENOTDIR, "put under a symlink: ENOTDIR");
	is_int(put_dir(t, "f/sub/deeper", 0755), -ENOTDIR, "put a dir two levels under a file");
	ok(tree_lookup(t, "f/sub") == NULL, "nothing was created under the file");

	/* the root */
	is_int(put_file(t, "/", 0644, "x"), -EISDIR, "the root cannot become a file");
	is_int(put_dir(t, "/", 0700), 0, "the root can take new directory metadata");
	ok(t->root->inode->mode == 0700 && tree_lookup(t, "a/b") != NULL,
	   "root metadata changed and children kept");
	ok(tree_lookup(t, "/") == t->root && tree_lookup(t, "./") == t->root &&
		   tree_lookup(t, "//.") == t->root,
	   "lookup of the root");

	/* invalid paths */
	is_int(put_file(t, "../x", 0644, "x"), -EINVAL, "put rejects ..");
	is_int(put_file(t, "", 0644, "x"), -EINVAL, "put rejects an empty path");
	tree_free(t);
}

/* ---- tree_link / tree_remove ---- */

static void test_link_remove(void)
{
	struct tree *t = new_tree();
	struct tree_node *a, *b, *c;
	struct tree_inode *in;

	put_file(t, "a", 0644, "shared");
	is_int(tree_link(t, "b", "a", &e), 0, "link b -> a");
	is_int(tree_link(t, "sub/dir/c", "/a", &e), 0, "link into missing parents");
	a = tree_lookup(t, "a");
	b = tree_lookup(t, "b");
	c = tree_lookup(t, "sub/dir/c");
	ok(a && b && c && a->inode == b->inode && b->inode == c->inode, "the three share one inode");
	is_int(a ? a->inode->nlink : 0, 3, "nlink is 3");
	is_int(a ? a->inode->refs : 0, 3, "refs is 3");
	ok(tree_lookup(t, "sub")->inode->type == TREE_DIR, "the link's parent was created");

	/* linking again over an existing link is a no-op on the count */
	is_int(tree_link(t, "b", "a", &e), 0, "relinking b -> a");
	is_int(a->inode->nlink, 3, "nlink stays 3 after relinking the same name");
	is_int(tree_link(t, "a", "a", &e), 0, "linking a to itself");
	is_int(a->inode->nlink, 3, "nlink stays 3 after a self link");

	/* replacing one link with a file drops the count */
	put_file(t, "b", 0644, "other");
	is_int(a->inode->nlink, 2, "nlink is 2 after b is replaced");
	ok(tree_lookup(t, "b")->inode != a->inode, "b has its own inode now");

	e.msg[0] = '\0';
	is_int(tree_link(t, "x", "missing", &e), -ENOENT, "link to a missing target fails");
	has_str(e.msg, "missing", "the message names the missing target");
	ok(tree_lookup(t, "x") == NULL, "no node left behind");
	e.msg[0] = '\0';
	is_int(tree_link(t, "x", "sub", &e), -EPERM, "link to a directory fails");
	has_str(e.msg, "sub", "the message names the directory");
	is_int(tree_link(t, "x", "/", &e), -EPERM, "link to the root fails");
	is_int(tree_link(t, "x", "../a", &e), -ENOENT, "link to ../a fails");

	/* symlinks and devices can be hard-linked */
	put_symlink(t, "sl", "a");
	is_int(tree_link(t, "sl2", "sl", &e), 0, "link to a symlink");
	ok(tree_lookup(t, "sl2")->inode->type == TREE_SYMLINK &&
		   tree_lookup(t, "sl2")->inode->nlink == 2,
	   "the symlink inode has nlink 2");
	/* link through a symlinked directory is not followed */
	put_symlink(t, "dl", "sub");
	is_int(tree_link(t, "y", "dl/dir/c", &e), -ENOENT, "link target through a symlink fails");

	/* remove */
	is_int(tree_remove(t, "sub/dir/c", &e), 0, "remove a link");
	is_int(a->inode->nlink, 1, "nlink back to 1");
	ok(tree_lookup(t, "sub/dir/c") == NULL, "removed node is gone");
	ok(tree_lookup(t, "sub/dir") != NULL, "its parent stays");
	is_int(tree_remove(t, "sub/dir/c", &e), -ENOENT, "removing twice fails");
	is_int(tree_remove(t, "nosuch/x", &e), -ENOENT, "removing under a missing dir fails");
	is_int(tree_remove(t, "a/x", &e), -ENOTDIR, "removing under a file fails");
	is_int(tree_remove(t, "/", &e), -EBUSY, "the root cannot be removed");
	put_file(t, "sub/dir/z", 0644, "z");
	is_int(tree_remove(t, "sub", &e), 0, "remove a directory with children");
	ok(!tree_lookup(t, "sub") && !tree_lookup(t, "sub/dir/z"), "the whole subtree is gone");

	/* an inode still referenced by the caller survives removal */
	in = tree_lookup(t, "a")->inode;
	in->refs++;
	is_int(tree_remove(t, "a", &e), 0, "remove a");
	is_int(in->nlink, 0, "a removed inode has nlink 0");
	is_int(in->refs, 1, "the caller's reference remains");
	tree_inode_unref(in);

	/* sorted removal keeps the order */
	put_file(t, "m1", 0644, "");
	put_file(t, "m2", 0644, "");
	put_file(t, "m3", 0644, "");
	tree_remove(t, "m2", &e);
	ok(tree_lookup(t, "m1") && !tree_lookup(t, "m2") && tree_lookup(t, "m3"),
	   "neighbours survive a removal in the middle");
	tree_free(t);
}

/* Runs fn in a child, so a sanitizer abort is reported as one failing check and the rest of
 * the suite still runs. The child's own checks are not numbered in the parent's plan: it
 * exits 0 when they all passed. */
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

/* A hard link put over a directory that holds the link target: the target's only node is
 * dropped with the directory's children before the inode is attached. */
static int link_over_parent(void)
{
	struct tree *t = new_tree();
	struct tree_node *n;
	int r, good;

	put_file(t, "d/f", 0644, "payload");
	r = tree_link(t, "d", "d/f", &e);
	n = tree_lookup(t, "d");
	if (r == 0)
		good = n && n->inode->type == TREE_REG && n->inode->nlink == 1 &&
		       n->inode->size == 7 && n->inode->refs == 1;
	else
		good = e.msg[0] != '\0' && tree_lookup(t, "d/f") != NULL;
	printf("# link d -> d/f returned %d (%s)\n", r, r ? e.msg : "ok");
	tree_free(t);
	return good ? 0 : 2;
}

static void test_link_over_parent(void)
{
	in_child("tree_link(\"d\", \"d/f\") over the target's own parent: no use after free, "
		 "and either a clean error or d is the file",
		 link_over_parent);
}

/* ---- lookup vs resolve ---- */

static void test_resolve(void)
{
	struct tree *t = new_tree();
	struct tree_node *target, *dir;
	char path[128];

	put_file(t, "usr/lib/x/file", 0644, "f");
	put_symlink(t, "lib", "usr/lib");
	put_symlink(t, "abs", "/usr/lib/x");
	put_symlink(t, "usr/lib/up", "..");
	put_symlink(t, "usr/lib/x/chain1", "chain2");
	put_symlink(t, "usr/lib/x/chain2", "../x/chain3");
	put_symlink(t, "usr/lib/x/chain3", "/lib/x/file");
	ok(put_symlink(t, "climb", "../../../../usr/lib") < 0,
	   "a relative symlink that climbs above the root is refused by tree_put");
	has_str(e.msg, "symlink to \"../../../../usr/lib\" escapes the root", "and says so");
	ok(put_symlink(t, "usr/lib/climb", "../../../usr") < 0, "also from below the root");
	is_int(put_symlink(t, "usr/lib/down", "../../usr/lib"), 0, "one that stays inside is put");
	is_int(put_symlink(t, "usr/lib/abs", "/../../usr"), 0, "an absolute one is put");
	ok(tree_resolve(t, "usr/lib/abs/lib/x/file") == tree_lookup(t, "usr/lib/x/file"),
	   "and \"..\" above the root stays at the root when it is followed");
	put_symlink(t, "loop1", "loop2");
	put_symlink(t, "loop2", "loop1");
	put_symlink(t, "self", "self");
	put_symlink(t, "dangling", "nowhere/at/all");
	put_symlink(t, "fileparent", "usr/lib/x/file/sub");
	put_symlink(t, "root", "/");
	put_symlink(t, "dotdot", "/..");

	target = tree_lookup(t, "usr/lib/x/file");
	dir = tree_lookup(t, "usr/lib/x");
	ok(target != NULL, "lookup of a plain path");
	ok(tree_lookup(t, "lib/x/file") == NULL, "lookup does not follow a symlinked dir");
	ok(tree_lookup(t, "lib") && tree_lookup(t, "lib")->inode->type == TREE_SYMLINK,
	   "lookup returns the symlink itself");
	ok(tree_resolve(t, "lib") == tree_lookup(t, "usr/lib"), "resolve follows a final symlink");
	ok(tree_resolve(t, "lib/x/file") == target, "resolve follows a relative dir symlink");
	ok(tree_resolve(t, "/abs/file") == target, "resolve follows an absolute symlink");
	ok(tree_resolve(t, "abs") == dir, "resolve of an absolute symlink");
	ok(tree_resolve(t, "usr/lib/up") == tree_lookup(t, "usr"), "\"..\" target resolves to parent");
	ok(tree_resolve(t, "lib/up/lib/x/file") == target, "\"..\" from the symlink's own dir");
	ok(tree_resolve(t, "usr/lib/x/chain1") == target, "a chain of three symlinks");
	ok(tree_resolve(t, "/../../usr/lib/x/file") == target, "leading \"..\" stay at the root");
	ok(tree_resolve(t, "usr/../usr/./lib/x/file") == target, "\"..\" and \".\" in the path");
	ok(tree_resolve(t, "dotdot") == t->root, "symlink to /.. is the root");
	ok(tree_resolve(t, "root/root/root/usr/lib/x/file") == target, "symlink to / repeated");
	ok(tree_resolve(t, "loop1") == NULL, "a two-symlink loop returns NULL");
	ok(tree_resolve(t, "loop1/x") == NULL, "a loop in the middle returns NULL");
	ok(tree_resolve(t, "self") == NULL, "a self loop returns NULL");
	ok(tree_resolve(t, "dangling") == NULL, "a dangling symlink returns NULL");
	ok(tree_resolve(t, "fileparent") == NULL, "a path through a file returns NULL");
	ok(tree_resolve(t, "usr/lib/x/file/more") == NULL, "a component under a file is NULL");
	ok(tree_resolve(t, "/") == t->root && tree_resolve(t, "./") == t->root, "resolve the root");
	ok(tree_lookup(t, "usr/lib/x/file/more") == NULL, "lookup under a file is NULL");
	ok(tree_lookup(t, "usr/../usr") == NULL, "lookup rejects \"..\"");

	/* 40 links are followed, 41 are not */
	for (int i = 0; i < 41; i++) {
		char name[16], to[16];

		snprintf(name, sizeof(name), "h%d", i);
		if (i == 40)
			snprintf(to, sizeof(to), "usr");
		else
			snprintf(to, sizeof(to), "h%d", i + 1);
		put_symlink(t, name, to);
	}
	ok(tree_resolve(t, "h1") == tree_lookup(t, "usr"), "a chain of 40 symlinks resolves");
	ok(tree_resolve(t, "h0") == NULL, "a chain of 41 symlinks does not");

	/* an exponential fan-out of links must not hang: each level names the next twice */
	for (int i = 0; i < 30; i++) {
		char name[16], to[32];

		snprintf(name, sizeof(name), "e%d", i);
		snprintf(to, sizeof(to), "e%d/e%d", i + 1, i + 1);
		put_symlink(t, name, to);
	}
	ok(tree_resolve(t, "e0") == NULL, "a fan-out of symlinks returns NULL");
	snprintf(path, sizeof(path), "loop2/../usr");
	ok(tree_resolve(t, path) == NULL, "a loop followed by \"..\" returns NULL");

	/* putting below a symlinked directory (merged /usr) says why it cannot */
	ok(put_file(t, "loop1/f", 0644, "x") < 0, "a file below a symlink loop is refused");
	has_str(e.msg, "/loop1: symlink loop", "the message says \"symlink loop\" and names it");
	ok(put_file(t, "h0/f", 0644, "x") < 0, "below a chain of 41 symlinks too");
	has_str(e.msg, "/h0: symlink loop", "it is a loop for the message as for the kernel");
	ok(put_file(t, "dangling/f", 0644, "x") < 0, "a file below a dangling symlink is refused");
	has_str(e.msg, "/dangling is a dangling symlink", "the message says \"dangling\"");
	is_int(put_file(t, "lib/x/new", 0644, "x"), 0, "below a good symlinked directory works");
	ok(tree_lookup(t, "usr/lib/x/new") != NULL, "and lands in its target");
	tree_free(t);
}

/* Names from outside input are cut in messages. */
static void test_long_names(void)
{
	struct tree *t = new_tree();
	char name[5001], target[5001], path[5100];

	memset(name, 'n', 5000);
	name[5000] = '\0';
	memset(target, 't', 5000);
	target[5000] = '\0';
	ok(put_symlink(t, "l", target) < 0, "a 5000-byte symlink target is refused");
	ok(strlen(e.msg) < 400, "the message is cut (%zu bytes)", strlen(e.msg));
	ok(tree_link(t, name, name, &e) < 0, "a hard link to a 5000-byte name is refused");
	ok(strlen(e.msg) < 600 && strstr(e.msg, "...") != NULL,
	   "its message is cut to the first bytes and \"...\" (%zu bytes)", strlen(e.msg));
	snprintf(path, sizeof(path), "%.250s/x", name);
	is_int(put_symlink(t, "d", "/nowhere"), 0, "a dangling symlink d");
	memset(path, 'd', 1);
	snprintf(path, sizeof(path), "d/%.250s/%.250s/x", name, name);
	ok(put_file(t, path, 0644, "x") < 0, "a file below it is refused");
	has_str(e.msg, "/d is a dangling symlink", "naming the symlink");
	ok(strlen(e.msg) < 800, "with the path cut (%zu bytes)", strlen(e.msg));
	tree_free(t);
}

/* ---- sorting and walking ---- */

struct walk_rec {
	char paths[64][64];
	int n;
	int stop_at;
};

static int rec_fn(struct tree_node *n, const char *path, void *userdata)
{
	struct walk_rec *w = userdata;
	char buf[256];

	if (w->n < 64)
		snprintf(w->paths[w->n], sizeof(w->paths[0]), "%s", path);
	/* the path handed over matches the node's position */
	if (strcmp(node_path_of(n, buf, sizeof(buf)), path) != 0)
		snprintf(w->paths[w->n], sizeof(w->paths[0]), "MISMATCH %s", path);
	w->n++;
	return w->stop_at && w->n == w->stop_at ? 42 : 0;
}

static void test_order_walk(void)
{
	struct tree *t = new_tree();
	static const char *const insert[] = {
		"z", "\xc3\xa9t\xc3\xa9", "B", "a", "a b", "a.b", "Z",
		"\xe2\x82\xac", "a-b", "_", "~", "0", NULL,
	};
	static const char *const want[] = {
		"/",	 "/0",	      "/B",	 "/Z",	      "/_",    "/a",	 "/a/b",
		"/a/b/x", "/a/b/y",    "/a/c",	"/a b",	      "/a-b",  "/a.b",	 "/z",
		"/~",	 "/\xc3\xa9t\xc3\xa9", "/\xe2\x82\xac", NULL,
	};
	struct walk_rec w = {.n = 0};
	int i, r;
	bool sorted = true;

	for (i = 0; insert[i]; i++)
		put_file(t, insert[i], 0644, insert[i]);
	/* "a" is a file until a directory replaces it */
	is_int(put_file(t, "a/c", 0644, "c"), -ENOTDIR, "a/c cannot go under the file a");
	put_dir(t, "a", 0755);
	put_file(t, "a/c", 0644, "c");
	put_file(t, "a/b/y", 0644, "y");
	put_file(t, "a/b/x", 0644, "x");

	for (size_t k = 1; k < t->root->nchildren; k++)
		if (strcmp(t->root->children[k - 1]->name, t->root->children[k]->name) >= 0)
			sorted = false;
	ok(sorted, "root children are strictly sorted by strcmp");

	r = tree_walk(t, rec_fn, &w);
	is_int(r, 0, "tree_walk returns 0");
	for (i = 0; want[i]; i++)
		;
	is_int(w.n, i, "tree_walk visits every node once");
	for (i = 0; want[i] && i < w.n; i++)
		is_str(w.paths[i], want[i], "walk item %d", i);

	for (i = 0; want[i]; i++)
		ok(tree_lookup(t, want[i]) != NULL, "lookup finds %s by binary search", want[i]);
	ok(tree_lookup(t, "a/b/") != NULL && tree_lookup(t, "a/") != NULL &&
		   tree_lookup(t, "a b/x") == NULL && tree_lookup(t, "a.") == NULL &&
		   tree_lookup(t, "a/bb") == NULL && tree_lookup(t, "a/") == tree_lookup(t, "a"),
	   "lookup of prefixes and near misses");

	memset(&w, 0, sizeof(w));
	w.stop_at = 3;
	r = tree_walk(t, rec_fn, &w);
	is_int(r, 42, "a non-zero callback return stops the walk and is returned");
	is_int(w.n, 3, "the walk stopped after three nodes");
	tree_free(t);
}

/* ---- stats ---- */

static void test_stats(void)
{
	struct tree *t = new_tree();
	struct tree_stats st;
	struct tree_inode *dev = tree_inode_new(TREE_CHR, 0600);

	put_file(t, "etc/a", 0644, "12345");
	put_file(t, "etc/b", 0644, "123");
	tree_link(t, "etc/c", "etc/a", &e);
	tree_link(t, "d", "etc/a", &e);
	put_symlink(t, "s", "etc/a");
	tree_put(t, "dev/null", dev, &e);
	tree_inode_unref(dev);
	put_dir(t, "empty", 0755);

	tree_stats(t, &st);
	/* nodes: / etc a b c d s dev null empty */
	is_int(st.nodes, 10, "stats: nodes");
	/* inodes: / etc a(c,d) b s dev null empty */
	is_int(st.inodes, 8, "stats: inodes count hard links once");
	is_int(st.dirs, 4, "stats: dirs (/, etc, dev, empty)");
	is_int(st.data_bytes, 8, "stats: data bytes count hard links once (5 + 3)");
	ok(tree_lookup(t, "etc/a")->inode->ino == 0, "stats leaves the ino scratch cleared");
	tree_stats(t, &st);
	is_int(st.inodes, 8, "stats are the same when run twice");
	tree_free(t);
}

/* ---- digest ---- */

enum mutation {
	M_NONE,
	M_MODE,
	M_UID,
	M_GID,
	M_CONTENT,
	M_XATTR,
	M_XATTR_NAME,
	M_TARGET,
	M_LINK,
	M_RDEV,
	M_TYPE,
	M_NAME,
	M_EMPTY_DIR,
};

static struct tree *digest_tree(bool reverse, enum mutation m)
{
	struct tree *t = new_tree();
	struct tree_inode *in;

	for (int k = 0; k < 2; k++) {
		int step = reverse ? 1 - k : k;

		if (step == 0) {
			put_file(t, "etc/passwd", m == M_MODE ? 0640 : 0644, "root:x:0:0\n");
			put_file(t, "etc/shadow", 0600, m == M_CONTENT ? "root:*:2\n" : "root:*:1\n");
			put_symlink(t, "bin", m == M_TARGET ? "usr/sbin" : "usr/bin");
			if (m == M_EMPTY_DIR)
				put_dir(t, "var/empty", 0755);
		} else {
			put_file(t, "usr/bin/tool", 0755, "\x7f" "ELF tool");
			if (m == M_LINK)
				put_file(t, "usr/bin/tool2", 0755, "\x7f" "ELF tool");
			else
				tree_link(t, "usr/bin/tool2", "usr/bin/tool", &e);
			in = tree_inode_new(m == M_TYPE ? TREE_BLK : TREE_CHR, 0666);
			in->rdev_major = 1;
			in->rdev_minor = m == M_RDEV ? 5 : 3;
			tree_put(t, "dev/null", in, &e);
			tree_inode_unref(in);
			in = tree_inode_new(TREE_REG, 0755);
			in->uid = m == M_UID ? 1001 : 1000;
			in->gid = m == M_GID ? 1001 : 1000;
			tree_inode_set_xattr(in, m == M_XATTR_NAME ? "security.capabilitz"
								   : "security.capability",
					     m == M_XATTR ? "\x01\x00\x00\x03" : "\x01\x00\x00\x02", 4,
					     &e);
			tree_inode_set_mem(in, strdup("ping"), 4);
			tree_put(t, m == M_NAME ? "usr/bin/pinG" : "usr/bin/ping", in, &e);
			tree_inode_unref(in);
		}
	}
	return t;
}

static void digest_of(struct tree *t, uint8_t out[SHA256_LEN])
{
	memset(out, 0, SHA256_LEN);
	if (tree_digest(t, out, &e) < 0)
		printf("# digest failed: %s\n", e.msg);
}

static void test_digest(void)
{
	static const struct {
		enum mutation m;
		const char *what;
	} muts[] = {
		{M_MODE, "a different mode"},
		{M_UID, "a different uid"},
		{M_GID, "a different gid"},
		{M_CONTENT, "a different content byte"},
		{M_XATTR, "a different xattr value"},
		{M_XATTR_NAME, "a different xattr name"},
		{M_TARGET, "a different symlink target"},
		{M_LINK, "a copy instead of a hard link"},
		{M_RDEV, "a different device minor"},
		{M_TYPE, "blk instead of chr"},
		{M_NAME, "a different file name"},
		{M_EMPTY_DIR, "an extra empty dir"},
	};
	uint8_t d1[SHA256_LEN], d2[SHA256_LEN], d3[SHA256_LEN], dm[SHA256_LEN];
	struct tree *t1 = digest_tree(false, M_NONE), *t2 = digest_tree(true, M_NONE);
	struct tree_node *n;

	is_int(tree_digest(t1, d1, &e), 0, "digest succeeds");
	digest_of(t2, d2);
	ok(memcmp(d1, d2, SHA256_LEN) == 0, "equal trees in different insertion orders digest equal");
	digest_of(t1, d3);
	ok(memcmp(d1, d3, SHA256_LEN) == 0, "digesting twice gives the same result");
	n = tree_lookup(t1, "usr/bin/tool");
	ok(n && n->inode->ino == 0, "digest leaves the ino scratch cleared");
	/* mtime is not part of the digest */
	n->inode->mtime = 12345;
	digest_of(t1, d3);
	ok(memcmp(d1, d3, SHA256_LEN) == 0, "mtime does not change the digest");

	for (size_t i = 0; i < sizeof(muts) / sizeof(muts[0]); i++) {
		struct tree *tm = digest_tree(i % 2 == 0, muts[i].m);

		digest_of(tm, dm);
		ok(memcmp(d1, dm, SHA256_LEN) != 0, "%s changes the digest", muts[i].what);
		tree_free(tm);
	}

	/* content of a spool-backed file */
	{
		struct tree *ts = digest_tree(false, M_NONE);
		struct tree_inode *in = tree_lookup(ts, "etc/passwd")->inode;
		uint64_t off;

		tree_spool_reserve(ts, in->size, &off, &e);
		tree_spool_pwrite(ts, "root:x:0:0\n", in->size, off, &e);
		free(in->mem);
		in->mem = NULL;
		in->src = TREE_SRC_SPOOL;
		in->spool_off = off;
		digest_of(ts, dm);
		ok(memcmp(d1, dm, SHA256_LEN) == 0, "the same content from the spool digests equal");
		tree_spool_pwrite(ts, "R", 1, off, &e);
		digest_of(ts, dm);
		ok(memcmp(d1, dm, SHA256_LEN) != 0, "a changed spool byte changes the digest");
		tree_free(ts);
	}
	tree_free(t1);
	tree_free(t2);
}

/* ---- spool and readers ---- */

static void test_spool(void)
{
	struct tree *t = new_tree();
	struct tree_inode *a = tree_inode_new(TREE_REG, 0644), *b = tree_inode_new(TREE_REG, 0644);
	struct tree_inode *m = tree_inode_new(TREE_REG, 0644), *z = tree_inode_new(TREE_REG, 0644);
	struct tree_reader r;
	uint64_t oa = 99, ob = 99, o0 = 99;
	char big[70000], back[70000];
	char buf[16];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + 3);
	is_int(t->spool_fd, -1, "no spool before it is used");
	is_int(tree_spool_reserve(t, 5, &oa, &e), 0, "reserve 5 bytes");
	is_int(oa, 0, "first reservation at 0");
	ok(t->spool_fd >= 0, "the spool file exists");
	is_int(tree_spool_reserve(t, 0, &o0, &e), 0, "reserve 0 bytes");
	is_int(o0, 5, "an empty reservation sits at the end");
	is_int(tree_spool_reserve(t, sizeof(big), &ob, &e), 0, "reserve 70000 bytes");
	is_int(ob, 5, "the second reservation follows the first");
	is_int(t->spool_size, 70005, "spool_size counts reservations");
	/* write b before a */
	is_int(tree_spool_pwrite(t, big, sizeof(big), ob, &e), 0, "pwrite 70000 bytes");
	is_int(tree_spool_pwrite(t, "hello", 5, oa, &e), 0, "pwrite 5 bytes");
	a->src = TREE_SRC_SPOOL;
	a->spool_off = oa;
	a->size = 5;
	b->src = TREE_SRC_SPOOL;
	b->spool_off = ob;
	b->size = sizeof(big);

	is_int(tree_reader_open(t, a, &r, &e), 0, "open a reader on a");
	memset(buf, 0, sizeof(buf));
	is_int(tree_reader_pread(&r, buf, 5, 0, &e), 0, "pread a");
	is_str(buf, "hello", "a's content");
	memset(buf, 0, sizeof(buf));
	tree_reader_pread(&r, buf, 3, 2, &e);
	is_str(buf, "llo", "a's content at an offset");
	tree_reader_close(&r);
	ok(t->spool_fd >= 0 && fcntl(t->spool_fd, F_GETFD) >= 0,
	   "closing a spool reader keeps the spool open");

	is_int(tree_reader_open(t, b, &r, &e), 0, "open a reader on b");
	memset(back, 0, sizeof(back));
	is_int(tree_reader_pread(&r, back, sizeof(back), 0, &e), 0, "pread all of b");
	ok(memcmp(back, big, sizeof(big)) == 0, "b round-trips");
	tree_reader_pread(&r, back, 10, 69990, &e);
	ok(memcmp(back, big + 69990, 10) == 0, "b's tail round-trips");
	tree_reader_close(&r);

	/* a reservation never written reads as zeros */
	{
		uint64_t oh;
		struct tree_inode *h = tree_inode_new(TREE_REG, 0644);
		char zeros[4096], got[4096];

		memset(zeros, 0, sizeof(zeros));
		tree_spool_reserve(t, 4096, &oh, &e);
		tree_spool_pwrite(t, "tail", 4, oh + 4092, &e);
		h->src = TREE_SRC_SPOOL;
		h->spool_off = oh;
		h->size = 4096;
		tree_reader_open(t, h, &r, &e);
		memset(got, 1, sizeof(got));
		is_int(tree_reader_pread(&r, got, 4092, 0, &e), 0, "pread an unwritten hole");
		ok(memcmp(got, zeros, 4092) == 0, "an unwritten hole reads as zeros");
		tree_reader_close(&r);
		tree_inode_unref(h);
	}

	/* memory and empty sources */
	tree_inode_set_mem(m, strdup("memory"), 6);
	is_int(m->src, TREE_SRC_MEM, "set_mem sets the source");
	is_int(m->size, 6, "set_mem sets the size");
	tree_reader_open(t, m, &r, &e);
	memset(buf, 0, sizeof(buf));
	tree_reader_pread(&r, buf, 4, 2, &e);
	is_str(buf, "mory", "a memory reader");
	tree_reader_close(&r);
	z->size = 8;
	tree_reader_open(t, z, &r, &e);
	memset(buf, 'x', sizeof(buf));
	tree_reader_pread(&r, buf, 8, 0, &e);
	ok(memcmp(buf, "\0\0\0\0\0\0\0\0", 8) == 0, "a file without a source reads as zeros");
	tree_reader_close(&r);

	/* host files */
	{
		char tmpl[] = "/tmp/stele-test-tree-XXXXXX";
		int fd = mkstemp(tmpl);
		struct tree_inode *hst = tree_inode_new(TREE_REG, 0644);

		if (write(fd, "host bytes", 10) != 10)
			abort();
		close(fd);
		is_int(tree_inode_set_host(hst, tmpl, 10, 100, &e), 0, "set_host");
		is_int(hst->alloc, 10, "alloc is clamped to the size");
		is_int(tree_reader_open(t, hst, &r, &e), 0, "open a host reader");
		memset(buf, 0, sizeof(buf));
		tree_reader_pread(&r, buf, 5, 5, &e);
		is_str(buf, "bytes", "a host reader");
		e.msg[0] = '\0';
		is_int(tree_reader_pread(&r, buf, 5, 8, &e), -EIO, "reading past a host file's end");
		has_str(e.msg, tmpl, "the message names the host file");
		tree_reader_close(&r);
		unlink(tmpl);
		e.msg[0] = '\0';
		ok(tree_reader_open(t, hst, &r, &e) < 0, "opening a vanished host file fails");
		has_str(e.msg, tmpl, "the message names it");
		tree_inode_unref(hst);
	}
	tree_inode_unref(a);
	tree_inode_unref(b);
	tree_inode_unref(m);
	tree_inode_unref(z);
	tree_free(t);
}

/* ---- xattrs and targets ---- */

static void test_xattr(void)
{
	struct tree_inode *in = tree_inode_new(TREE_REG, 0644);
	char name255[300], big[65537];

	memset(big, 'v', sizeof(big));
	is_int(tree_inode_set_xattr(in, "user.x", "one", 3, &e), 0, "set user.x");
	is_int(tree_inode_set_xattr(in, "security.capability", "\0\x01\0\x02", 4, &e), 0,
	       "set a binary security.capability");
	is_int(in->nxattrs, 2, "two xattrs");
	is_int(tree_inode_set_xattr(in, "user.x", "three", 5, &e), 0, "replace user.x");
	is_int(in->nxattrs, 2, "still two xattrs after replacing");
	ok(in->nxattrs >= 1 && strcmp(in->xattrs[0].name, "user.x") == 0 && in->xattrs[0].len == 5 &&
		   memcmp(in->xattrs[0].value, "three", 5) == 0,
	   "user.x has the new value in place");
	ok(in->nxattrs >= 2 && in->xattrs[1].len == 4 &&
		   memcmp(in->xattrs[1].value, "\0\x01\0\x02", 4) == 0,
	   "the binary value with NULs is kept");
	is_int(tree_inode_set_xattr(in, "user.empty", "", 0, &e), 0, "an empty value is fine");
	ok(in->nxattrs == 3 && in->xattrs[2].len == 0, "the empty value is stored");

	e.msg[0] = '\0';
	is_int(tree_inode_set_xattr(in, "", "v", 1, &e), -EINVAL, "an empty name is rejected");
	ok(e.msg[0] != '\0', "with a message");
	memset(name255, 'n', sizeof(name255));
	memcpy(name255, "user.", 5);
	name255[255] = '\0';
	is_int(tree_inode_set_xattr(in, name255, "v", 1, &e), 0, "a 255-byte name is fine");
	name255[255] = 'n';
	name255[256] = '\0';
	is_int(tree_inode_set_xattr(in, name255, "v", 1, &e), -EINVAL, "a 256-byte name is rejected");
	is_int(tree_inode_set_xattr(in, "user.big", big, 65536, &e), 0, "a 65536-byte value is fine");
	e.msg[0] = '\0';
	is_int(tree_inode_set_xattr(in, "user.x", big, 65537, &e), -EFBIG,
	       "a 65537-byte value is rejected");
	has_str(e.msg, "user.x", "the message names the xattr");
	ok(in->xattrs[0].len == 5 && memcmp(in->xattrs[0].value, "three", 5) == 0,
	   "a rejected replacement keeps the old value");
	is_int(in->nxattrs, 5, "five xattrs in the end");

	is_int(tree_inode_set_target(in, "", &e), -EINVAL, "an empty symlink target is rejected");
	{
		char *t4095 = malloc(4097);

		memset(t4095, 't', 4096);
		t4095[4095] = '\0';
		is_int(tree_inode_set_target(in, t4095, &e), 0, "a 4095-byte target is fine");
		is_int(in->size, 4095, "a symlink's size is its target length");
		t4095[4095] = 't';
		t4095[4096] = '\0';
		is_int(tree_inode_set_target(in, t4095, &e), -EINVAL, "a 4096-byte target is rejected");
		free(t4095);
	}
	tree_inode_unref(in);
}

/* ---- limits of the path model, end to end ---- */

static int count_fn(struct tree_node *n, const char *path, void *userdata)
{
	(void)n;
	(void)path;
	(*(int *)userdata)++;
	return 0;
}

static void test_long_paths(void)
{
	struct tree *t = new_tree();
	char *p = long_path(1); /* the longest path tree_put accepts: 4095 bytes */
	size_t o = strlen(p);
	int count = 0, r;
	uint8_t d[SHA256_LEN];

	r = put_file(t, p, 0644, "deep");
	is_int(r, 0, "tree_put accepts a %zu-byte path", o);
	ok(tree_lookup(t, p) != NULL, "the longest accepted path can be looked up");
	r = tree_walk(t, count_fn, &count);
	is_int(r, 0, "tree_walk handles the longest path tree_put accepts");
	is_int(count, 18, "tree_walk visits all 18 nodes (root and 17 components)");
	e.msg[0] = '\0';
	r = tree_digest(t, d, &e);
	is_int(r, 0, "tree_digest handles the longest path tree_put accepts");
	ok(r == 0 || e.msg[0] != '\0', "a failing digest sets a message");
	free(p);
	tree_free(t);
}

int main(void)
{
	test_normalize();
	test_put();
	test_link_remove();
	test_link_over_parent();
	test_resolve();
	test_long_names();
	test_order_walk();
	test_stats();
	test_digest();
	test_spool();
	test_xattr();
	test_long_paths();
	return tap_done();
}
