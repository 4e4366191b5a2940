/* Reading an update bundle (lib/bundle.h) strictly front to back, so it can come from a pipe:
 * the header, the manifest and its signature (verified, then parsed), then the slot's verity
 * partition image, held in memory and checked whole (slot header, the same manifest, a valid
 * signature, the verity superblock, every tree block up to the signed root hash) before
 * anything is written; a Secure Boot slot's kernel image and its signature (format 2), held
 * and checked against the manifest. The rootfs follows; the installer streams it. */
#ifndef STELE_UPDATE_BUNDLE_H
#define STELE_UPDATE_BUNDLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/bundle.h"
#include "lib/err.h"
#include "lib/manifest.h"
#include "lib/slot.h"
#include "lib/verity.h"
#include "lib/policy.h"

struct update_input {
	int fd;
	char name[256];
	uint64_t pos;  /* bytes consumed */
	uint64_t size; /* 0: unknown (a pipe) */
	enum bundle_input kind; /* a pipe, a file or a block device: how its end is checked */
	bool holes;    /* a regular file: SEEK_DATA tells where its holes are */
};

/* "-" is stdin (anything readable: a pipe, a file). A path must be a regular file or a block
 * device: a FIFO, a directory, a character device or a socket is refused at once. A regular
 * file or a block device gives its size. */
int update_input_open(const char *path, struct update_input *ret, struct err *e);
/* A stream the caller opened (the read end of a download's pipe), read like stdin's pipe;
 * the input owns fd from here on. */
int update_input_from_fd(int fd, const char *name, struct update_input *ret, struct err *e);
/* After the rootfs: a pipe must end there (one more read finds the end of the input); a file
 * was held to the header's size already; a block device may go on. */
int update_input_end(struct update_input *in, struct err *e);
void update_input_close(struct update_input *in);
/* Reads exactly len bytes; the end of the input is "truncated: <what> ...". */
int update_input_read(struct update_input *in, void *buf, size_t len, const char *what,
		      struct err *e);
/* 1 when the next len bytes are a hole in a regular file (zeros it does not store): they
 * are skipped, not read. 0 when they are not, or the input cannot tell (a pipe, a device).
 * The caller still checks those zeros against the signed tree, so a file truncated under
 * it gains nothing. */
int update_input_skip_hole(struct update_input *in, uint64_t len, struct err *e);
/* Reads bytes up to offset off (padding) and checks they are zero. */
int update_input_skip_to(struct update_input *in, uint64_t off, const char *what, struct err *e);

struct update_bundle {
	struct bundle_header h;
	char *manifest_text; /* h.manifest_size bytes + NUL */
	uint8_t *signature;
	char signer[256];
	struct manifest m;
	struct policy policy;
	/* after update_bundle_read_verity: */
	uint8_t *verity; /* the slot's verity partition image, h.verity_size bytes */
	struct slot_header slot;
	struct verity_params vp; /* hash_offset = slot.verity_offset, data_offset 0 */
	struct verity_layout vl;
	uint8_t root[VERITY_MAX_DIGEST];
	/* after update_bundle_read_uki, format 2 only: */
	uint8_t *uki, *uki_sig; /* h.uki_size, h.uki_sig_size bytes, their sha256 as signed */
};

/* Header, manifest, signature: the signature is checked against trust_path before the
 * manifest is parsed. */
int update_bundle_read_head(struct update_input *in, const char *trust_path,
			    struct update_bundle *b, struct err *e);
/* The verity image (at most max_size bytes, the target partition) into memory, checked. */
int update_bundle_read_verity(struct update_input *in, const char *trust_path, uint64_t max_size,
			      struct update_bundle *b, struct err *e);
/* The kernel image and its signature (format 2) into memory, each the size and sha256 the
 * signed manifest gives; then up to the rootfs. A manifest naming an image the bundle does
 * not carry, or the reverse, is refused. */
int update_bundle_read_uki(struct update_input *in, struct update_bundle *b, struct err *e);
/* The first of the rootfs's tree leaves (NULL with a single data block: the root itself). */
const uint8_t *update_bundle_tree(const struct update_bundle *b);
void update_bundle_free(struct update_bundle *b);

#endif
