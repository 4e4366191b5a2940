/* Copies a host directory (or one file) into the tree without following symlinks. Contents
 * stay on the host and are read when the image is written. Ownership never comes from the
 * host unless keep_owner is set. Used by the "dir" base and by the files overlay. */
#ifndef STELE_SOURCES_DIRIMPORT_H
#define STELE_SOURCES_DIRIMPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "builder/tree.h"

struct dir_import_opts {
	bool keep_owner;     /* use the host's uid/gid instead of uid:gid below */
	uint32_t uid, gid;
	uint32_t mode_mask;  /* applied to host permission bits (07777 keeps them) */
	bool has_mode;       /* force mode on the top entry */
	uint32_t mode;
	/* device nodes, FIFOs and sockets: copied as such (a root tree has them in /dev), or
	 * refused (an overlay's "src": /dev/zero would become a device node in the image) */
	bool specials;
};

struct dir_import_stats {
	uint64_t entries, bytes;
};

/* Imports host path src at image path dst: a directory's contents are merged into dst.
 * Files on /proc, /sys and the other kernel pseudo file systems are refused wherever they
 * appear (the top, or a mount inside the tree): their sizes are not their contents, so they
 * would become empty or cut files. */
int dir_import(struct tree *t, const char *src, const char *dst, const struct dir_import_opts *o,
	       struct dir_import_stats *st, struct err *e);

#endif
