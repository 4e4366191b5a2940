/* libFuzzer target: lib/authenticode.c on hostile PE images. The first byte picks what the
 * rest is: 0, the certificate table of a small well-formed PE made here (so the PKCS#7 and
 * DER parsers get the input); else a whole PE image. No crash; with no trusted certificate
 * nothing ever verifies; an accepted layout keeps every offset inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/authenticode.h"
#include "lib/le.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR 512
#define SEC 512

/* MZ, PE32+ optional header with 16 directories, one section of SEC bytes, then the table */
static uint8_t *small_pe(const uint8_t *table, size_t n, size_t *ret_len)
{
	size_t len = HDR + SEC + 8 + n;
	uint8_t *b = calloc(1, len);

	if (!b)
		return NULL;
	b[0] = 'M', b[1] = 'Z';
	le_put(b + 0x3c, 0x40, 4);
	memcpy(b + 0x40, "PE\0\0", 4);
	le_put(b + 0x40 + 6, 1, 2);          /* sections */
	le_put(b + 0x40 + 20, 112 + 128, 2); /* SizeOfOptionalHeader */
	le_put(b + 0x58, 0x20b, 2);
	le_put(b + 0x58 + 60, HDR, 4);       /* SizeOfHeaders */
	le_put(b + 0x58 + 108, 16, 4);
	le_put(b + 0x58 + 112 + 32, HDR + SEC, 4);
	le_put(b + 0x58 + 112 + 36, 8 + n, 4);
	memcpy(b + 0x58 + 240, ".text", 5);
	le_put(b + 0x58 + 240 + 16, SEC, 4);
	le_put(b + 0x58 + 240 + 20, HDR, 4);
	le_put(b + HDR + SEC, 8 + n, 4);
	le_put(b + HDR + SEC + 4, 0x0200, 2);
	le_put(b + HDR + SEC + 6, 0x0002, 2);
	memcpy(b + HDR + SEC + 8, table, n);
	*ret_len = len;
	return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pe_layout l;
	struct err e;
	uint8_t *img, dg[32];
	size_t len;

	if (size < 1 || size > (1 << 20))
		return 0;
	if (data[0] == 0) {
		img = small_pe(data + 1, size - 1, &len);
	} else {
		len = size - 1;
		img = malloc(len ? len : 1);
		if (img)
			memcpy(img, data + 1, len);
	}
	if (!img)
		return 0;
	memset(&e, 0, sizeof(e));
	if (pe_layout(img, len, &l, &e) == 0) {
		if (l.headers > len || l.checksum + 4 > l.headers || l.cert_dir + 8 > l.headers ||
		    (l.cert_size && (l.cert_off > len || l.cert_size > len - l.cert_off)))
			abort();
		(void)authenticode_digest(img, len, &l, dg, &e);
	}
	if (authenticode_verify(img, len, NULL, 0, NULL, 0, &e) == 0)
		abort(); /* nothing is trusted */
	if (strnlen(e.msg, sizeof(e.msg)) == sizeof(e.msg))
		abort();
	free(img);
	return 0;
}
