/* libFuzzer target: bytes -> the tar importer (libarchive behind the pax check) -> tree, then
 * the size check and the tree digest, the path every "tar" base and every .deb takes. The
 * rootfs limit keeps each input's work small, as it keeps a build's. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "builder/archive.h"
#include "builder/outputs/ext4.h"
#include "builder/sources/tarcheck.h"
#include "builder/tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	const uint8_t *p;
	size_t n;
	bool given;
};

static la_ssize_t input_read(struct archive *a, void *userdata, const void **buf)
{
	struct input *in = userdata;

	(void)a;
	if (in->given)
		return 0;
	in->given = true;
	*buf = in->p;
	return (la_ssize_t)in->n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {.p = data, .n = size};
	struct archive_import_stats st = {0};
	struct ext4_opts eo = {.headroom_pct = 10};
	uint8_t digest[SHA256_LEN];
	struct tree *t = NULL;
	struct err e;

	(void)pax_records_check((const char *)data, size, &e);
	if (tree_new(&t, &e) < 0)
		return 0;
	if (archive_import_stream(t, input_read, &in, "fuzz.tar", 64 << 20, &st, &e) == 0 &&
	    ext4_check_fit(t, &eo, &e) == 0)
		(void)tree_digest(t, digest, &e);
	tree_free(t);
	return 0;
}
