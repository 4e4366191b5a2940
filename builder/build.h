/* `stele build`: profile -> tree -> outputs. All outputs are staged under temporary names and
 * appear together only when the build succeeded. */
#ifndef STELE_BUILD_H
#define STELE_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "profile.h"

#define DEFAULT_SOURCE_DATE_EPOCH 1704067200LL /* 2024-01-01T00:00:00Z */

struct build_opts {
	const char *outdir;
	const char *cache_dir;
	const char *keys_dir; /* signing.key, signing.crt, ca.crt; NULL: profile, then dev keys */
	int64_t epoch;
	bool quiet;
	bool json;
	bool rootfs_only; /* write the ext4 image and nothing else (no keys needed) */
};

int build_run(const struct profile *p, const struct build_opts *o, struct err *e);

/* Composition alone (base, files overlay, kernel link, os-release); exposed for tests. */
int build_compose(const struct profile *p, const struct build_opts *o, struct tree *t,
		  struct inputs *inputs, struct err *e);

#endif
