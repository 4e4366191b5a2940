/* Imports a libarchive stream (tar in ustar, GNU or pax form, or a .deb's data.tar) into the
 * tree. Entry contents are copied to the tree's spool. Hostile archives are rejected with an
 * error naming the entry: ".." components, absolute paths, hard links to entries that are not
 * in the tree, relative symlinks that climb above the root, truncated data. */
#ifndef STELE_ARCHIVE_H
#define STELE_ARCHIVE_H

#include <archive.h>
#include <stdbool.h>
#include <stdint.h>

#include "../lib/err.h"
#include "tree.h"

struct archive_import_stats {
	uint64_t entries, bytes;
	uint64_t payload; /* entries other than directories, docs and bug templates */
};

/* what names the archive in messages. */
int archive_import(struct tree *t, struct archive *a, const char *what,
		   struct archive_import_stats *st, struct err *e);

/* Checks that a relative symlink target, seen from the normalised entry path, stays inside
 * the root. Absolute targets are resolved inside the image and are always fine. */
bool symlink_target_inside(const char *entry_path, const char *target);

#endif
