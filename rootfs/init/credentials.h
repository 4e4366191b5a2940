/* The credentials a hypervisor passes (SMBIOS type 11, lib/credential.h) into the new root's
 * /run: each one a file of CONTRACT_RUN_CREDSTORE (0700 directory, 0400 files, on the tmpfs
 * stele-init mounted there, never on a disk), found by systemd's LoadCredential=NAME, and
 * CONTRACT_RUN_CREDENTIALS a symlink to it for busybox images. The first of two credentials
 * of one name wins. */
#ifndef STELE_INIT_CREDENTIALS_H
#define STELE_INIT_CREDENTIALS_H

#include "lib/err.h"

/* dmi: the SMBIOS entries directory (CONTRACT_DMI_ENTRIES; another for tests); root: the new
 * root. *ret_n: credentials written, *ret_skipped: malformed ones left out. No entries of
 * type 11 is no error. */
int credentials_import(const char *dmi, const char *root, unsigned *ret_n, unsigned *ret_skipped,
		       struct err *e);

/* The same for the disk's own (`stele provision`): every regular file of dir (the data
 * partition's CONTRACT_DATA_CREDENTIALS), at most CREDENTIAL_SIZE_MAX bytes, with a
 * credential name; anything else is skipped and counted. A missing dir is no error. */
int credentials_import_dir(const char *dir, const char *root, unsigned *ret_n,
			   unsigned *ret_skipped, struct err *e);

#endif
