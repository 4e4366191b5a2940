#include "progs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf.h"
#include "fileutil.h"

static const char *const lib_dirs[] = {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
				       "/lib64", "/usr/lib64", "/lib", "/usr/lib", NULL};

static int put_host(struct tree *t, const char *host, const char *dst, struct err *e)
{
	struct tree_inode *in = tree_inode_new(TREE_REG, 0755);
	char real[4096];
	struct stat st;
	int r;

	if (!in)
		return err_set(e, ENOMEM, "out of memory");
	if (!realpath(host, real) || stat(real, &st) < 0) {
		tree_inode_unref(in);
		return err_sys(e, errno, "%s", host);
	}
	r = tree_inode_set_host(in, real, (uint64_t)st.st_size, (uint64_t)st.st_size, e);
	if (r == 0)
		r = tree_put(t, dst, in, e);
	tree_inode_unref(in);
	return r;
}

static int install_deps(struct tree *t, const char *host, int depth, struct err *e)
{
	struct elf_deps *d = malloc(sizeof(*d));
	char lib[512], *buf = NULL;
	size_t len;
	int r;

	if (!d)
		return err_set(e, ENOMEM, "out of memory");
	if (depth > 16) {
		free(d);
		return err_set(e, ELOOP, "library dependencies too deep");
	}
	r = file_read_all(host, 256u << 20, &buf, &len, e);
	if (r == 0)
		r = elf_deps((uint8_t *)buf, len, d, e);
	free(buf);
	if (r == 0 && d->interp[0] && !tree_resolve(t, d->interp))
		r = put_host(t, d->interp, d->interp, e);
	for (int i = 0; r == 0 && i < d->nneeded; i++) {
		const char *const *dir;

		for (dir = lib_dirs; *dir; dir++) {
			snprintf(lib, sizeof(lib), "%s/%s", *dir, d->needed[i]);
			if (access(lib, R_OK) == 0)
				break;
		}
		if (!*dir) {
			r = err_set(e, ENOENT, "%s needs %s, not found on the host", host,
				    d->needed[i]);
			break;
		}
		if (tree_resolve(t, lib))
			continue; /* the image has it (or we added it already) */
		r = put_host(t, lib, lib, e);
		if (r == 0)
			r = install_deps(t, lib, depth + 1, e);
	}
	free(d);
	return r;
}

int progs_install(struct tree *t, const char *host_path, const char *dst, struct err *e)
{
	int r = put_host(t, host_path, dst, e);

	if (r == 0)
		r = install_deps(t, host_path, 0, e);
	return r < 0 ? err_prefix(e, r, "installing %s", dst) : 0;
}

int progs_install_lib(struct tree *t, const char *soname, struct err *e)
{
	char lib[512];
	int r;

	for (const char *const *dir = lib_dirs; *dir; dir++) {
		snprintf(lib, sizeof(lib), "%s/%s", *dir, soname);
		if (access(lib, R_OK) != 0)
			continue;
		if (tree_resolve(t, lib))
			return 0;
		r = put_host(t, lib, lib, e);
		if (r == 0)
			r = install_deps(t, lib, 0, e);
		return r < 0 ? err_prefix(e, r, "installing %s", soname) : 0;
	}
	return err_set(e, ENOENT, "%s: not found on the host (make deps installs it)", soname);
}
