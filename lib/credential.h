/* Credentials passed by a hypervisor in SMBIOS type 11 (OEM strings), in systemd's form:
 * "io.systemd.credential:NAME=VALUE" or "io.systemd.credential.binary:NAME=BASE64". `stele run
 * --secret` writes them, stele-init reads them from /sys/firmware/dmi/entries/11-N/raw. The
 * structure is outside bytes: every length is checked, a string must end inside it, a name
 * must be a plain file name, a value at most CREDENTIAL_SIZE_MAX bytes. */
#ifndef STELE_LIB_CREDENTIAL_H
#define STELE_LIB_CREDENTIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define CREDENTIAL_PREFIX "io.systemd.credential:"
#define CREDENTIAL_BINARY_PREFIX "io.systemd.credential.binary:"
#define CREDENTIAL_NAME_MAX 255
#define CREDENTIAL_SIZE_MAX (32u << 10)
/* bytes of one type 11 structure read: QEMU puts all its type 11 strings in one, so 8
 * credentials of CREDENTIAL_SIZE_MAX in base64 with their names must fit */
#define CREDENTIAL_SMBIOS_MAX (512u << 10)

/* [A-Za-z0-9_.-], 1 to CREDENTIAL_NAME_MAX bytes, not "." or "..". */
bool credential_name_ok(const char *name, size_t len);

/* Called for each credential; a non-zero return stops the parse and is returned. */
typedef int (*credential_fn)(const char *name, const uint8_t *value, size_t len, void *userdata);

/* Parses one SMBIOS type 11 structure (header, count, strings ending in an empty one). Other
 * OEM strings are ignored; a credential string with a bad name, a value over the limit or
 * bad base64 is counted in *ret_skipped (may be NULL) and left out. -EINVAL for a structure
 * that is not type 11 or whose strings run past len. */
int credential_smbios_parse(const uint8_t *raw, size_t len, credential_fn fn, void *userdata,
			    unsigned *ret_skipped, struct err *e);

/* Base64 (RFC 4648, with padding). encode writes 4 * ((n + 2) / 3) bytes and a NUL; decode
 * takes exactly that form and returns the length, or -1. */
void credential_base64_encode(const uint8_t *in, size_t n, char *out);
long credential_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap);

#endif
