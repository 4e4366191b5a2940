/* The real root and the switch into it: the verified dm-verity device mounted read-only at
 * /sysroot, the data partition for everything writable (at /data, its var/ bound onto /var),
 * tmpfs on /tmp and /run, /run/stele/boot.json for the updater, then switch_root. The image's
 * root is read-only, so mount points are used only where the image ships them. */
#ifndef STELE_INIT_SYSROOT_H
#define STELE_INIT_SYSROOT_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/contract.h"
#include "lib/err.h"

#define SYSROOT_DIR CONTRACT_INITRD_SYSROOT
#define SYSROOT_DATA_MNT "/data-mnt"

struct boot_record {
	char slot;
	const char *version, *product, *root_hash;
	uint64_t rollback_index;
	bool trial;
};

/* Mounts the data partition (ext4, read-write, nosuid, nodev) at dir, creating dir. */
int sysroot_mount_data(const char *node, const char *dir, struct err *e);
/* Mounts the root (ext4, read-only) at dir, creating dir. */
int sysroot_mount_root(const char *node, const char *dir, struct err *e);
/* tmpfs on root/tmp (1777) and root/run (0755), each when the image has the directory. */
int sysroot_mount_tmpfs(const char *root, struct err *e);
/* Moves the data mount at data_mnt to root/data (if the image has /data), creates var/ and
 * stele/ on it, and binds its var/ onto root/var (if the image has /var). On first boot var/
 * is seeded with a copy of the image's /var (made under another name, then renamed, so a
 * power cut never leaves a half copy as var/). Without root/data the data mount is detached
 * once /var is bound. */
int sysroot_attach_data(const char *root, const char *data_mnt, struct err *e);
/* Writes root/run/stele/boot.json. */
int sysroot_write_boot_record(const char *root, const struct boot_record *b, struct err *e);
/* Moves /dev, /proc and /sys into root, frees the initramfs (when / is a ramfs or tmpfs),
 * makes root the new / and executes init with argv (argv[0] is replaced by "init"). Returns
 * only on failure. */
int sysroot_switch(const char *root, const char *init, char *const argv[], struct err *e);

#endif
