/* Output formats of a build, as a registry like the rootfs sources. A build runs its handlers
 * in three phases, each in table order: every handler stages the files it writes (so that
 * every name is known before anything is written); then begins (the rootfs handler writes
 * the ext4; those that take a copy of the rootfs create their file and add a sink, so that
 * the slot handler's one read of the rootfs fills them); then writes, from the build context
 * and the artifacts of the handlers it needs, which run before it. */
#ifndef STELE_OUTPUTS_OUTPUT_H
#define STELE_OUTPUTS_OUTPUT_H

#include <stdbool.h>

#include "lib/err.h"
#include "builder/build.h"

enum output_id { OUTPUT_ROOTFS, OUTPUT_SLOT, OUTPUT_UKI, OUTPUT_RAW, OUTPUT_QCOW2, OUTPUT_VMDK, OUTPUT_VHDX, OUTPUT_BUNDLE, OUTPUT_COUNT };

#define OUTPUT_BIT(id) (1u << (id))

struct output_handler {
	const char *name;  /* in the profile's "outputs"; NULL: part of every full build */
	unsigned needs;    /* OUTPUT_BIT()s of the handlers whose output it reads */
	bool bootable;     /* only for a tree with a kernel (/boot/vmlinuz) */
	bool secure_boot;  /* only with the profile's "secure_boot" */
	int (*stage)(struct build_ctx *b, struct err *e); /* reserves its files' names */
	int (*begin)(struct build_ctx *b, struct err *e); /* NULL: nothing before the pass */
	int (*write)(struct build_ctx *b, struct err *e); /* NULL: all done in begin */
};

extern const struct output_handler output_handlers[OUTPUT_COUNT];

/* The handlers a build runs (OUTPUT_BIT()s): the rootfs alone with rootfs_only; else every
 * handler without a name and those the profile asks for (the bootable ones only when the tree
 * is), plus what they need. */
unsigned output_select(const struct profile *p, bool rootfs_only, bool bootable);

/* Reserves <product>-<version>.<suffix> in the output directory (for a handler's stage). */
int output_stage_file(struct build_ctx *b, const char *suffix, const char **ret, struct err *e);

/* Runs the handlers of want (from output_select) on b; what they open is closed again. */
int output_run(struct build_ctx *b, unsigned want, struct err *e);

#endif
