#include "overlay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/sources/dirimport.h"

/* Host modes from a checkout vary with the umask (0664 vs 0644): group and other write bits
 * are dropped unless the profile sets the mode explicitly. */
#define OVERLAY_MODE_MASK 07755

static int apply_src(struct tree *t, const struct profile_file *f, struct err *e)
{
	struct dir_import_opts o = {
		.uid = f->uid,
		.gid = f->gid,
		.mode_mask = OVERLAY_MODE_MASK,
		.has_mode = f->has_mode,
		.mode = f->mode,
	};
	struct dir_import_stats st = {0};

	return dir_import(t, f->src, f->dst, &o, &st, e);
}

static int apply_one(struct tree *t, const struct profile_file *f, struct err *e)
{
	struct tree_inode *in;
	char *copy;
	int r = 0;

	if (f->kind == PF_SRC)
		return apply_src(t, f, e);
	switch (f->kind) {
	case PF_CONTENT:
		in = tree_inode_new(TREE_REG, f->has_mode ? f->mode : 0644);
		copy = malloc(f->content_len + 1);
		if (in && copy) {
			memcpy(copy, f->content, f->content_len);
			tree_inode_set_mem(in, copy, f->content_len);
		} else {
			free(copy);
		}
		break;
	case PF_SYMLINK:
		in = tree_inode_new(TREE_SYMLINK, 0777);
		if (in)
			r = tree_inode_set_target(in, f->target, e);
		break;
	default:
		in = tree_inode_new(TREE_DIR, f->has_mode ? f->mode : 0755);
		break;
	}
	if (!in || (f->kind == PF_CONTENT && !in->mem && f->content_len))
		r = err_set(e, ENOMEM, "out of memory");
	if (r == 0) {
		in->uid = f->uid;
		in->gid = f->gid;
		r = tree_put(t, f->dst, in, e);
	}
	tree_inode_unref(in);
	return r;
}

int overlay_apply(struct tree *t, const struct profile *p, struct err *e)
{
	int r;

	char origin[64 + TREE_MSG_NAME];

	for (size_t i = 0; i < p->nfiles; i++) {
		/* a src file's origin is its host path */
		snprintf(origin, sizeof(origin), "%s: files[%zu]", p->file, i);
		r = tree_set_origin(t, origin, e);
		if (r == 0)
			r = apply_one(t, &p->files[i], e);
		if (r < 0)
			return err_prefix(e, r, "%s: files[%zu] (" MSG_NAME_FMT ")", p->file, i,
					  MSG_NAME(p->files[i].dst));
	}
	return 0;
}
