/* libFuzzer target: the boot-state codec, which stele-update and stele state run on the GRUB
 * environment block from the ESP (anything may have written it) and on --set NAME=VALUE.
 * The input is tried as a block as-is (when it is 1024 bytes) and wrapped into one (header,
 * the input, '#' padding); a block that parses must format, and parse back to the same
 * block when formatted (canonical form is a fixed point). The input split at its first '='
 * is tried as --set NAME=VALUE: what bootstate_set accepts must stay valid. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bootloader/bootstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const char *block)
{
	char out[BOOTSTATE_SIZE], again[BOOTSTATE_SIZE];
	struct bootstate s, t;
	struct err e;

	if (bootstate_parse(block, BOOTSTATE_SIZE, &s, &e) < 0)
		return;
	if (bootstate_validate(&s, &e) < 0)
		abort(); /* the parser and the validator disagree */
	if (bootstate_format(&s, out, &e) < 0)
		return; /* -ENOSPC: other variables past the first sector */
	if (bootstate_parse(out, BOOTSTATE_SIZE, &t, &e) < 0)
		abort();
	if (bootstate_format(&t, again, &e) < 0 || memcmp(out, again, BOOTSTATE_SIZE) != 0)
		abort();
}

static void set(const uint8_t *data, size_t size)
{
	char name[BOOTSTATE_NAME_MAX + 1], value[BOOTSTATE_VALUE_MAX + 1];
	const uint8_t *eq = memchr(data, '=', size);
	size_t nlen, vlen;
	struct bootstate s;
	struct err e;

	if (!eq)
		return;
	nlen = (size_t)(eq - data);
	vlen = size - nlen - 1;
	if (nlen > BOOTSTATE_NAME_MAX || vlen > BOOTSTATE_VALUE_MAX || memchr(data, 0, size))
		return;
	memcpy(name, data, nlen);
	name[nlen] = '\0';
	memcpy(value, eq + 1, vlen);
	value[vlen] = '\0';
	bootstate_init(&s, 3);
	if (bootstate_set(&s, name, value, &e) == 0 && bootstate_validate(&s, &e) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char header[] = BOOTSTATE_HEADER;
	char block[BOOTSTATE_SIZE];
	size_t n = sizeof(header) - 1;

	if (size == BOOTSTATE_SIZE) {
		memcpy(block, data, size);
		roundtrip(block);
	}
	memset(block, '#', sizeof(block));
	memcpy(block, header, n);
	memcpy(block + n, data, size < sizeof(block) - n ? size : sizeof(block) - n);
	roundtrip(block);
	set(data, size);
	return 0;
}
