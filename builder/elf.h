/* Just enough ELF64 reading for the initramfs: a program's interpreter and DT_NEEDED
 * libraries, and a kernel module's .modinfo "depends=" list. Every offset and size read from
 * the file is bounds-checked against the buffer. */
#ifndef STELE_ELF_H
#define STELE_ELF_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define ELF_MAX_NEEDED 64

struct elf_deps {
	char interp[256];               /* PT_INTERP, "" when static */
	char needed[ELF_MAX_NEEDED][128];
	int nneeded;
};

int elf_deps(const uint8_t *buf, size_t len, struct elf_deps *ret, struct err *e);
/* The "depends=" entry of a module's .modinfo section, copied to out ("" when none). */
int elf_modinfo_depends(const uint8_t *buf, size_t len, char *out, size_t n, struct err *e);

#endif
