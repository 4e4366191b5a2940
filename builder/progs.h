/* Installs a host program into the tree with the shared libraries it needs (followed from
 * ELF DT_NEEDED), skipping libraries the image already has at the same path. Used for
 * stele-update, which every bootable image carries, and libcurl for one that updates itself. */
#ifndef STELE_PROGS_H
#define STELE_PROGS_H

#include "lib/err.h"
#include "tree.h"

int progs_install(struct tree *t, const char *host_path, const char *dst, struct err *e);
/* A host library by its soname ("libcurl.so.4"), with what it needs, at its host path; a
 * library the image has already is left as it is. */
int progs_install_lib(struct tree *t, const char *soname, struct err *e);

#endif
