/* Whole directory trees by file descriptor: seeding the data partition's var/ from the
 * image's /var on first boot, and emptying the initramfs before switching root (as busybox
 * switch_root does, to give its memory back). */
#ifndef STELE_INIT_FSTREE_H
#define STELE_INIT_FSTREE_H

#include <sys/types.h>

#include "../lib/err.h"

#define FSTREE_MAX_DEPTH 64

/* Copies everything inside src_dir into dst_dir (existing, empty): directories, regular files,
 * symlinks, device nodes and FIFOs, with owners and modes (not times or xattrs). */
int fstree_copy(int src_dir, int dst_dir, struct err *e);
/* Removes everything inside dir that is on the device dev, not descending into other
 * filesystems. Best effort: what cannot be removed stays. */
void fstree_clear(int dir, dev_t dev);

#endif
