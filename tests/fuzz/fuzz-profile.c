/* libFuzzer target: the profile loader on bytes (JSON parsing, the schema, every value's
 * semantic check, the base's own parse), as `stele build` runs it before anything is built.
 * Relative paths resolve against a directory that does not exist, so "extends" and files
 * named by the profile are looked up and not found, quickly and without touching anything. */
#include <stdint.h>
#include <stdlib.h>

#include "builder/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile *p = NULL;
	struct err e;

	if (size > PROFILE_MAX_BYTES)
		return 0;
	if (profile_load_buf("fuzz.json", (const char *)data, size, "/nonexistent-stele-fuzz", &p,
			     &e) == 0)
		profile_free(p);
	return 0;
}
