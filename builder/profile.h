/* Profiles: JSON files describing an image. profile_load parses and validates strictly
 * (unknown keys, wrong types, bad sizes/modes/owners, missing files: errors naming the file and
 * the JSON path), follows "extends" (objects merge key by key, "base" and other values are
 * replaced, "files" lists are concatenated parent first) and resolves relative paths against
 * the file that wrote them. Nothing is written while loading. */
#ifndef STELE_PROFILE_H
#define STELE_PROFILE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/hash.h"
#include "builder/secrets.h"
#include "builder/sources/source.h"

#define PROFILE_MAX_BYTES (1 << 20)
#define PROFILE_MAX_DEPTH 8

/* Bounds of the sizes a profile may set (bytes), checked when it is loaded; image.c sizes the
 * partitions within them. A rootfs (and so a slot) of at most 256 GiB keeps its verity tree
 * (1/127 of it with sha256, 1/63 with sha512) within what verity_check holds in memory. */
#define PROFILE_MIB (1L << 20)
#define PROFILE_ROOTFS_MIN PROFILE_MIB
#define PROFILE_ROOTFS_MAX (256L << 30)
#define PROFILE_ROOTFS_ALIGN 4096L     /* ext4 blocks */
#define PROFILE_ESP_MIN (34L << 20)    /* FAT32 needs 65525 clusters; GRUB fits in them */
#define PROFILE_ESP_MAX (4L << 30)
#define PROFILE_SLOT_MIN (8L << 20)
#define PROFILE_SLOT_MAX PROFILE_ROOTFS_MAX
#define PROFILE_VERITY_MIN PROFILE_MIB
#define PROFILE_VERITY_MAX (4L << 30)  /* BUNDLE_VERITY_MAX: a bundle carries it whole */
#define PROFILE_DATA_MIN (16L << 20)   /* ext4 with a journal, the update journal, /var */
#define PROFILE_DATA_MAX (1L << 40)    /* it grows to fill the disk on first boot anyway */
/* kernel.cmdline lives in a 1024-byte GRUB environment block after
 * "# GRUB Environment Block\nstele_cmdline=" and before its newline. */
#define PROFILE_CMDLINE_MAX (1024 - 39 - 2)
#define PROFILE_MODULE_NAME_MAX 55     /* the kernel's MODULE_NAME_LEN - 1 */

enum profile_file_kind { PF_SRC, PF_CONTENT, PF_SYMLINK, PF_DIR };

struct profile_file {
	char *dst;
	enum profile_file_kind kind;
	char *src;     /* PF_SRC: absolute host path */
	char *content; /* PF_CONTENT */
	size_t content_len;
	char *target; /* PF_SYMLINK */
	bool has_mode;
	uint32_t mode;
	uint32_t uid, gid;
};

/* One of health.checks: exactly one of exec and unit is set. */
struct profile_check {
	char *name;
	char *exec;         /* a program, or NULL */
	char *unit;         /* a systemd unit that must be active, or NULL */
	unsigned timeout_s; /* 0: not given (the device's default applies) */
};

/* "health": what the manifest and /etc/stele/health.json carry. */
struct profile_health {
	unsigned window_s, tries;
	struct profile_check *checks;
	size_t nchecks;
};

/* "layout": partition sizes of the disk image (bytes). */
struct profile_layout {
	uint64_t esp_size, data_size;
	uint64_t slot_size, verity_size; /* 0: sized from the rootfs (image_layout) */
};

/* "sign": the signing key and certificate (both or neither), and trust stores; NULL or 0
 * when not given. */
struct profile_sign {
	char *key, *cert;
	char **trust;
	size_t ntrust;
};

struct updatecfg;

struct profile {
	char *file; /* as named by the user, for messages */
	char *product, *version, *arch;
	const struct source_handler *base;
	void *base_cfg;
	char **modules;
	size_t nmodules;
	char *cmdline;
	struct profile_file *files;
	size_t nfiles;
	uint64_t rootfs_size;    /* 0: content + headroom */
	uint32_t headroom_pct;   /* used when headroom_bytes is 0 */
	uint64_t headroom_bytes;
	uint64_t rollback_index; /* monotonic; devices refuse lower ones (default 0) */
	bool has_kernel;         /* a "kernel" section: the tree must have one */
	bool console_shell;      /* a root shell on the console (testers) */
	bool secure_boot;        /* a signed UKI per slot and a signed GRUB (docs/boot.md); the
				  * default with a "kernel" */
	char *verity_hash;       /* verity.hash */
	char **outputs;          /* "outputs": "raw", "qcow2", "bundle" */
	size_t noutputs;
	struct profile_health health;
	struct profile_layout layout;
	struct profile_sign sign;
	struct secret_allow *secrets_allow; /* "secrets.allow" */
	size_t nsecrets_allow;
	struct updatecfg *update; /* "update": how the device polls; NULL: it does not */
	char *update_root;        /* update.root: the repository's root.json (host path) */
	cJSON *doc; /* the merged document (for tests: the builder reads the fields above) */
	uint8_t sha256[SHA256_LEN]; /* of the named file's bytes */
};

int profile_load(const char *path, struct profile **ret, struct err *e);
/* Loads a profile from memory; relative paths resolve against basedir. */
int profile_load_buf(const char *name, const char *buf, size_t len, const char *basedir,
		     struct profile **ret, struct err *e);
void profile_free(struct profile *p);

/* Whether the profile's "outputs" lists name. */
bool profile_wants(const struct profile *p, const char *name);
/* The health policy as the manifest and /etc/stele/health.json carry it, as a new object or
 * as printed text (malloc'd); NULL when out of memory. */
cJSON *profile_health_json(const struct profile *p);
char *profile_health_text(const struct profile *p);

#endif
