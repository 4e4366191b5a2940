/* libFuzzer target: /etc/stele/update.json as stele-update poll reads it (lib/updatecfg.c).
 * No crash; what parses writes back to text that parses to the same config; a window's next
 * opening is inside it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/updatecfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct updatecfg c, back;
	struct err e;
	char *s;

	if (updatecfg_parse("fuzz", (const char *)data, size, &c, &e) < 0)
		return 0;
	s = updatecfg_write(&c);
	if (!s || updatecfg_parse("again", s, strlen(s), &back, &e) < 0 ||
	    memcmp(&c, &back, sizeof(c)) != 0)
		abort();
	free(s);
	if (!updatecfg_in_window(&c, updatecfg_next_window(&c, 1800000000)))
		abort();
	return 0;
}
