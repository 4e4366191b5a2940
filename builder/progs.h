/* Installs a host program into the tree with the shared libraries it needs (followed from
 * ELF DT_NEEDED), skipping libraries the image already has at the same path. Used for
 * stele-update, which every bootable image carries. */
#ifndef STELE_PROGS_H
#define STELE_PROGS_H

#include "lib/err.h"
#include "tree.h"

int progs_install(struct tree *t, const char *host_path, const char *dst, struct err *e);

#endif
