/* The initramfs of a slot: a deterministic cpio (newc; zstd when the kernel's config has
 * CONFIG_RD_ZSTD, else gzip) holding /init (stele-init), the
 * shared libraries it needs (followed from ELF DT_NEEDED), the profile's kernel modules with
 * their dependencies in load order (from each module's .modinfo, since packages ship no
 * modules.dep), the trust store and the product name. Built from the tree before the ext4
 * image, and put at /boot/initrd.img. */
#ifndef STELE_INITRAMFS_H
#define STELE_INITRAMFS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "tree.h"

struct initramfs_opts {
	const char *init_path;   /* stele-init on the host */
	const char *trust_pem;   /* CA certificates */
	const char *product;
	char *const *modules;    /* as named in the profile ("dm-verity", "virtio_blk") */
	size_t nmodules;
	char *const *extra_modules; /* what the build adds (the ESP's vfat with Secure Boot) */
	size_t nextra_modules;
	int64_t epoch;
};

struct initramfs_result {
	char kernel_version[128];
	size_t nmodules; /* modules in the initramfs, dependencies included */
	size_t nlibs;
};

int initramfs_build(struct tree *t, const struct initramfs_opts *o, void **ret_buf,
		    size_t *ret_len, struct initramfs_result *res, struct err *e);

#endif
