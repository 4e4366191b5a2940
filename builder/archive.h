/* Imports a libarchive stream (tar in ustar, GNU or pax form, or a .deb's data.tar) into the
 * tree. Entry contents are copied to the tree's spool. Hostile archives are rejected with an
 * error naming the entry: ".." components, absolute paths, hard links to entries that are not
 * in the tree, relative symlinks that climb above the root (tree_symlink_check), truncated
 * data. */
#ifndef STELE_ARCHIVE_H
#define STELE_ARCHIVE_H

#include <archive.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "tree.h"

struct archive_import_stats {
	uint64_t entries, bytes;
	uint64_t payload; /* entries other than directories, docs and bug templates */
};

/* The largest regular file ext4 holds with 4096-byte blocks (32-bit logical block numbers). */
#define ARCHIVE_FILE_MAX ((UINT64_C(1) << 32) * 4096 - 4096)

/* Imports the tar stream that read_cb yields (compressed or not, libarchive's callback
 * contract). what names the archive in messages. limit, when not 0, is the fixed size of the
 * rootfs: a file declaring more, or an archive holding more data, is refused before it is
 * read, so a small archive cannot make us work through terabytes of holes or zeros. */
int archive_import_stream(struct tree *t, archive_read_callback *read_cb, void *userdata,
			  const char *what, uint64_t limit, struct archive_import_stats *st,
			  struct err *e) __attribute__((warn_unused_result));

#endif
