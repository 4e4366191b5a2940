/* Device-mapper through its ioctls on /dev/mapper/control, without libdevmapper or dmsetup:
 * enough to create, activate and remove a read-only device with one target, and to write the
 * table of the dm-verity target that protects a stele root. */
#ifndef STELE_INIT_DM_H
#define STELE_INIT_DM_H

#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

#define DM_CONTROL_PATH "/dev/mapper/control"

/* What dm-verity does when a block does not match its hash. */
enum dm_verity_mode {
	DM_VERITY_RESTART, /* restart_on_corruption: reboot, so the bootloader counts a try */
	DM_VERITY_PANIC,   /* panic_on_corruption */
	DM_VERITY_EIO,     /* no flag: the read fails with EIO */
};

struct dm_target {
	uint64_t sectors; /* the target spans sectors 0..sectors-1 of the device */
	char type[16];
	char params[1024];
};

struct dm_verity_args {
	dev_t data_dev, hash_dev;
	uint32_t data_block_size, hash_block_size;
	uint64_t data_blocks;
	uint64_t hash_start_block; /* first tree block in hash_dev, in hash blocks */
	const char *algorithm;
	const char *root_hash; /* hex */
	const char *salt;      /* hex; "" for none */
	enum dm_verity_mode mode;
};

/* Fills ret with the "verity" target: "1 <data> <hash> <dbs> <hbs> <blocks> <hash start>
 * <alg> <root hash> <salt|-> [1 restart_on_corruption|panic_on_corruption]". */
int dm_verity_target(const struct dm_verity_args *a, struct dm_target *ret, struct err *e);

/* Creates device name (uuid may be NULL) with the read-only table t and activates it;
 * ret_dev gets its device number. On failure nothing is left behind. */
int dm_create(const char *name, const char *uuid, const struct dm_target *t, dev_t *ret_dev,
	      struct err *e);
int dm_remove(const char *name, struct err *e);

/* The device node of dev: /dev/dm-<minor> when devtmpfs made it, else fallback made with
 * mknod. */
int dm_node(dev_t dev, const char *fallback, char *ret_path, size_t size, struct err *e);

#endif
