/* `stele build`: profile -> tree -> outputs. All outputs are staged under temporary names and
 * appear together only when the build succeeded. The builder prints nothing: progress and
 * warnings go to the caller's reporter, and the result comes back in struct build_artifacts. */
#ifndef STELE_BUILD_H
#define STELE_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/hash.h"
#include "lib/sign.h"
#include "builder/outputs/bundlewrite.h"
#include "builder/outputs/ext4.h"
#include "builder/outputs/image.h"
#include "builder/outputs/pass.h"
#include "builder/outputs/slotimg.h"
#include "fileutil.h"
#include "keys.h"
#include "profile.h"
#include "report.h"

#define DEFAULT_SOURCE_DATE_EPOCH 1704067200LL /* 2024-01-01T00:00:00Z */

struct build_opts {
	const char *outdir;
	const char *cache_dir;
	const char *keys_dir; /* signing.key, signing.crt, ca.crt; NULL: profile, then dev keys */
	int64_t epoch;
	bool rootfs_only; /* write the ext4 image and nothing else (no keys needed) */
	struct reporter report; /* progress and warnings */
	struct cleanup *cleanup; /* what a signal handler removes (NULL: nothing) */
};

/* What the steps of a build hand to the later ones, in memory; and the build's result. */
struct build_artifacts {
	struct inputs inputs;            /* everything the base was made of */
	uint8_t tree_sha256[SHA256_LEN]; /* of the composed tree */
	struct ext4_result ext4;         /* the rootfs */
	struct slotimg_out slot;         /* hashes, manifest and signature (not --rootfs-only) */
	char kernel_version[128];        /* of a bootable tree */
};

void build_artifacts_free(struct build_artifacts *a);

/* The Secure Boot outputs (builder/outputs/uki.h). */
struct uki_files {
	const char *uki, *uki_sig, *vars, *esl[KEYS_SB_COUNT], *auth[KEYS_SB_COUNT];
};

/* The staged (temporary) paths of a build's output files; NULL when not made. */
struct build_files {
	const char *rootfs, *verity, *manifest, *signature, *img, *qcow2, *vmdk, *vhdx, *bundle;
	struct uki_files sb;
};

/* One build in progress, as every output handler (builder/outputs/output.h) sees it. */
struct build_ctx {
	const struct profile *p;
	const struct build_opts *o;
	const struct reporter *report;
	struct tree *tree;
	struct ext4_opts ext4;     /* how the rootfs is written; its seed seeds every output */
	struct sign_key *key;      /* NULL with --rootfs-only */
	struct sign_trust *trust;  /* the signature is checked against it; may be NULL */
	struct stage stage;
	struct build_files files;
	struct build_artifacts *art;
	/* open while the handlers run: the copies of the rootfs the slot pass writes, and the
	 * files they go to */
	struct pass_sink sinks[PASS_MAX_SINKS];
	size_t nsinks;
	struct image_disk disk;
	struct bundle_file bundle;
	struct secret_scan secrets; /* what the rootfs writer found */
	char sb_dir[4096];          /* the Secure Boot keys' directory (with "secure_boot") */
	char sb_grub[4096];         /* the signed GRUB, in the scratch directory */
	uint64_t uki_guess, uki_sig_guess; /* their sizes before the slot pass (uki_begin) */
};

/* Builds p into o->outdir; *ret is filled (and must be freed with build_artifacts_free)
 * whatever the result. */
int build_run(const struct profile *p, const struct build_opts *o, struct build_artifacts *ret,
	      struct err *e);

/* Composition alone (base, files overlay, kernel link, os-release); exposed for tests. */
int build_compose(const struct profile *p, const struct build_opts *o, struct tree *t,
		  struct inputs *inputs, struct err *e);

/* Helper programs (stele-init, BOOTX64.EFI) beside stele, or in $STELE_LIBEXEC. */
int build_libexec(const char *name, char *out, size_t n, struct err *e);

#endif
