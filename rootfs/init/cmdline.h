/* The stele.* parameters of the kernel command line:
 *   stele.slot=a|b                 which slot GRUB booted (required without stele.roothash)
 *   stele.roothash=HEX             the root hash of the slot to boot (a Secure Boot kernel
 *                                  image's own command line; rootfs/init/slotfind.h)
 *   stele.debug[=1|0]              debug lines, and a shell instead of a reboot on failure
 *   stele.timeout=N                seconds to wait for the partitions (default 20)
 *   stele.verity=restart|panic|eio what dm-verity does on a corrupted block (default restart)
 *   stele.trial[=1|0]              this boot is a trial of a freshly installed slot
 * Quoting follows the kernel ("a=\"x y\""); anything after "--" belongs to init, not to us. */
#ifndef STELE_INIT_CMDLINE_H
#define STELE_INIT_CMDLINE_H

#include <stdbool.h>

#include "lib/err.h"
#include "dm.h"

#define CMDLINE_DEFAULT_TIMEOUT 20
#define CMDLINE_MAX_TIMEOUT 3600

#define CMDLINE_ROOT_HASH_MAX 128 /* hex digits: sha512 */

struct boot_opts {
	char slot; /* 'a' or 'b'; 0 when the root hash names it */
	char root_hash[CMDLINE_ROOT_HASH_MAX + 1];
	bool debug, trial;
	bool trial_given; /* stele.trial was on the line (refused with stele.roothash) */
	unsigned timeout; /* seconds */
	enum dm_verity_mode verity_mode;
};

int cmdline_parse(const char *cmdline, struct boot_opts *ret, struct err *e);
/* Whether a boolean parameter is on, for use before (or despite) a failed parse. */
bool cmdline_flag(const char *cmdline, const char *name);

#endif
