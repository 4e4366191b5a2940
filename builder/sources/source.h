/* Root filesystem sources ("base" in a profile). Each lives in source-<key>.c and exports one
 * struct source_handler; source_handlers[] is the registry. parse validates the profile's
 * "base" object before anything is written; compose adds the source's entries to the tree and
 * records every input it used (name, version, sha256) for the manifest. */
#ifndef STELE_SOURCES_SOURCE_H
#define STELE_SOURCES_SOURCE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/hash.h"
#include "builder/report.h"
#include "builder/tree.h"

struct input {
	char *kind; /* "deb", "tar", "dir" */
	char *name;
	char *version;
	char *arch; /* NULL unless the input is for one architecture (a Debian package) */
	char sha256[SHA256_HEX_LEN];
};

struct inputs {
	struct input *v;
	size_t n;
};

/* sha256 may be NULL for inputs that have no single digest (a directory). */
int inputs_add(struct inputs *in, const char *kind, const char *name, const char *version,
	       const uint8_t sha256[SHA256_LEN], struct err *e);
/* A package with its architecture and the hex sha256 of its file. */
int inputs_add_package(struct inputs *in, const char *kind, const char *name,
		       const char *version, const char *arch, const char *sha256_hex,
		       struct err *e);
void inputs_free(struct inputs *in);

struct source_ctx {
	const char *cache_dir; /* where downloaded packages are kept */
	struct inputs *inputs;
	uint64_t rootfs_size; /* the profile's fixed rootfs.size, 0: sized to the content */
	const struct reporter *report; /* progress messages */
	struct cleanup *cleanup;       /* downloads in progress go here (NULL: none) */
};

struct source_handler {
	const char *key;                /* the key in "base" that selects this source */
	const char *const *extra_keys;  /* other keys it accepts in "base" */
	const char *const *path_keys;   /* keys holding paths relative to the profile */
	int (*parse)(const cJSON *base, const char *file, void **ret_cfg, struct err *e);
	int (*compose)(const void *cfg, struct tree *t, struct source_ctx *ctx, struct err *e);
	void (*free)(void *cfg);
};

extern const struct source_handler source_debs, source_dir, source_image, source_mmdebstrap,
    source_tar;

/* The handler for a "base" object (exactly one known source key), or an error naming the
 * file and the JSON path. */
int source_select(const cJSON *base, const char *file, const struct source_handler **ret,
		  struct err *e);
/* Comma-separated list of known source keys, for messages and --help. */
const char *source_known(void);

#endif
