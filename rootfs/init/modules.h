/* Kernel modules of the initramfs: /etc/stele/modules lists absolute paths, one per line, in
 * dependency order (the builder resolves modules.dep); each is loaded with finit_module. */
#ifndef STELE_INIT_MODULES_H
#define STELE_INIT_MODULES_H

#include "lib/err.h"

/* Loads every module in list_path; a module already loaded (built in, or loaded twice) is
 * fine. A missing list loads nothing. Blank lines and lines starting with '#' are skipped.
 * ret_count (may be NULL) gets the number of modules listed. */
int modules_load_list(const char *list_path, unsigned *ret_count, struct err *e);
/* Loads one module file (compressed .ko.xz/.ko.gz/.ko.zst when the kernel can unpack it). */
int modules_load(const char *path, struct err *e);

#endif
