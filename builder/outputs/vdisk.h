/* The disk image in the formats of other hypervisors, by qemu-img convert, made reproducible:
 * qcow2 (as qemu-img writes it), vmdk (VMware, VirtualBox; monolithic sparse) and vhdx
 * (Hyper-V). qemu-img puts random values into the last two; vdisk_settle replaces each with
 * one derived from the build's seed, so the same inputs give the same bytes:
 * - vmdk: the descriptor's CID, and the extent's file name (qemu-img writes the name it was
 *   given, the staged temporary one; the file must name itself as it will be called);
 * - vhdx: both headers' sequence numbers (their order kept), FileWriteGuid and DataWriteGuid,
 *   the GUID of the log entries qemu-img left behind, and the VirtualDiskId (page 83 data),
 *   with the CRC-32C of every header and log entry recomputed.
 * Every offset and length is read from the file and bounds-checked before use; a file that
 * is not what qemu-img 7 writes is an error (-EINVAL), never patched blindly. */
#ifndef STELE_OUTPUTS_VDISK_H
#define STELE_OUTPUTS_VDISK_H

#include <stdint.h>

#include "lib/err.h"
#include "lib/hash.h"

/* Converts raw to format ("qcow2", "vmdk", "vhdx") at out, then settles it; name is the
 * file's final base name (what a vmdk's extent line names). */
int vdisk_convert(const char *raw, const char *format, const char *out, const char *name,
		  const uint8_t seed[SHA256_LEN], struct err *e)
	__attribute__((warn_unused_result));
/* The settling alone, on an open file (path names it in errors); exposed for tests and the
 * fuzzer. */
int vdisk_settle_vmdk(int fd, const char *path, const char *name, const uint8_t seed[SHA256_LEN],
		      struct err *e) __attribute__((warn_unused_result));
int vdisk_settle_vhdx(int fd, const char *path, const uint8_t seed[SHA256_LEN], struct err *e)
	__attribute__((warn_unused_result));
/* CRC-32C (Castagnoli), as VHDX checksums use it. */
uint32_t vdisk_crc32c(const void *buf, size_t len);

#endif
