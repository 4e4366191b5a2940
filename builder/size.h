/* Parsing of the human sizes, modes and owners that profiles use. */
#ifndef STELE_SIZE_H
#define STELE_SIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "4096", "64K", "512M", "1G", "2T" (binary multiples, optional "iB"/"B"). */
bool size_parse(const char *s, uint64_t *ret);
/* "4 KiB", "512 MiB", "1.5 GiB", "123 bytes": a size for messages, never rounded to 0. */
const char *size_str(unsigned long long bytes, char *buf, size_t n);
/* "10%" (0..1000). */
bool percent_parse(const char *s, uint32_t *ret);
/* Octal permission bits, "0644" or "4755", at most 07777. */
bool mode_parse(const char *s, uint32_t *ret);
/* Numeric "uid:gid". */
bool owner_parse(const char *s, uint32_t *ret_uid, uint32_t *ret_gid);

#endif
