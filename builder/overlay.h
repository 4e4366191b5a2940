/* The profile's "files" overlay, applied in order after the base: host files and
 * directories, inline content, symlinks and directories, with explicit modes and owners. */
#ifndef STELE_OVERLAY_H
#define STELE_OVERLAY_H

#include "lib/err.h"
#include "profile.h"
#include "tree.h"

int overlay_apply(struct tree *t, const struct profile *p, struct err *e);

#endif
