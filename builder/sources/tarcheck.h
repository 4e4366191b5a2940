/* Checks the pax extended headers of a tar stream that libarchive reads, because libarchive
 * is lenient with them: it skips a malformed record (or a whole header) with only a warning,
 * drops headers over 1 MiB, and cuts a value at a NUL byte, so a damaged or hostile archive
 * would silently change names and sizes. GNU tar refuses such archives; so do we. */
#ifndef STELE_SOURCES_TARCHECK_H
#define STELE_SOURCES_TARCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define PAX_HEADER_MAX (1u << 20) /* libarchive's own limit: larger ones it ignores */

/* Checks the records of one pax extended header: "LEN KEY=VALUE\n" each, LEN the decimal
 * length of the whole record (no sign, no overflow, within the header), a non-empty key
 * without NUL, a newline at the end, no NUL in path, linkpath, uname or gname, and numbers
 * (size, uid, gid, GNU.sparse.*) as plain decimals. Returns 0 or -EINVAL naming the record. */
int pax_records_check(const char *buf, size_t len, struct err *e)
	__attribute__((warn_unused_result));

/* Follows the 512-byte tar blocks of a decompressed stream as it is fed, and checks every pax
 * extended header ('x', 'g', 'X') with pax_records_check. Defects are remembered with the
 * stream offset of the header sequence that holds them; the importer reports one only when
 * libarchive returns an entry at that offset, so a framing that ever disagreed with
 * libarchive's could miss a defect but never refuse a good archive. */
struct tar_check;

struct tar_check *tar_check_new(void);
void tar_check_free(struct tar_check *c);
void tar_check_feed(struct tar_check *c, const void *buf, size_t len);
/* The defect found in the header sequence starting at stream offset pos, or NULL. */
const char *tar_check_defect_at(const struct tar_check *c, uint64_t pos);
/* The first header sequence after stream offset prev (-1: from the start): the name in its
 * entry's own header (when it was seen, among the last few hundred) and its defect, each
 * NULL when unknown. It names the entry when libarchive refuses a header outright, when
 * libarchive no longer tells where that header was. */
void tar_check_after(const struct tar_check *c, int64_t prev, const char **ret_name,
		     const char **ret_defect);

#endif
