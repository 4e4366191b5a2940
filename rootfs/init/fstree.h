/* Whole directory trees by file descriptor: seeding the data partition's var/ from the
 * image's /var on first boot, merging what a later image adds to /var, and emptying the initramfs before switching root (as busybox
 * switch_root does, to give its memory back). */
#ifndef STELE_INIT_FSTREE_H
#define STELE_INIT_FSTREE_H

#include <sys/types.h>

#include "lib/err.h"

#define FSTREE_MAX_DEPTH 64

/* Copies everything inside src_dir into dst_dir (existing, empty): directories, regular files,
 * symlinks, device nodes and FIFOs, with owners and modes (not times or xattrs). */
int fstree_copy(int src_dir, int dst_dir, struct err *e);
/* Adds to dst_dir what src_dir has and dst_dir lacks, recursively: a directory on both sides is
 * merged into, anything dst_dir already has (of any type) is kept as it is, never replaced or
 * removed. Each new entry appears whole (copied under NAME.stele-new, then renamed). */
int fstree_merge(int src_dir, int dst_dir, struct err *e);
/* Removes everything inside dir that is on the device dev, not descending into other
 * filesystems. Best effort: what cannot be removed stays. */
void fstree_clear(int dir, dev_t dev);

#endif
