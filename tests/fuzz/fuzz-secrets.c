/* libFuzzer target: the secret scan (builder/secrets.c) over any bytes, as a file's content
 * and as a name. Differential: the bytes scanned whole and in pieces (of a size the first
 * input byte picks, at least 64: the DER rules look at the first piece) must give the same
 * hits, rule and offset; a difference aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/secrets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct secret_scan whole, parts;
	struct err e;
	size_t piece;
	char name[256];

	if (size < 1)
		return 0;
	piece = 64 + (size_t)data[0] * 13;
	data++, size--;
	if (secret_scan_init(&whole, NULL, 0, &e) < 0 || secret_scan_init(&parts, NULL, 0, &e) < 0)
		abort();
	secret_scan_buffer(&whole, "/f", data, size);
	secret_file_begin(&parts, "/f", "fuzz", size);
	for (size_t o = 0; o < size; o += piece)
		secret_file_data(&parts, data + o, size - o < piece ? size - o : piece);
	secret_file_end(&parts);
	if (whole.nhits != parts.nhits || whole.bytes != size || parts.bytes != size)
		abort();
	for (size_t i = 0; i < whole.nhits; i++)
		if (whole.hits[i].rule != parts.hits[i].rule ||
		    whole.hits[i].offset != parts.hits[i].offset || whole.hits[i].offset >= size)
			abort();
	/* the bytes as a path: names are matched by their last component */
	memcpy(name, data, size < sizeof(name) - 1 ? size : sizeof(name) - 1);
	name[size < sizeof(name) - 1 ? size : sizeof(name) - 1] = '\0';
	secret_scan_name(&whole, name, size & 1, size, "fuzz");
	secret_scan_free(&whole);
	secret_scan_free(&parts);
	return 0;
}
