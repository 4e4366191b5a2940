/* libFuzzer target: SMBIOS type 11 structures as stele-init reads them
 * (lib/credential.c): no crash, every credential handed on has a valid name and a value
 * within the limit; and base64 decoding of the same bytes re-encodes to them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/credential.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check(const char *name, const uint8_t *value, size_t len, void *userdata)
{
	(void)value, (void)userdata;
	if (!credential_name_ok(name, strlen(name)) || len > CREDENTIAL_SIZE_MAX)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e;
	unsigned skipped;
	uint8_t *out;
	char *text;
	long n;

	credential_smbios_parse(data, size, check, NULL, &skipped, &e);
	if (size > 4096)
		return 0;
	out = malloc(size + 1);
	text = malloc(size + 8);
	n = credential_base64_decode((const char *)data, size, out, size + 1);
	if (n >= 0) {
		credential_base64_encode(out, (size_t)n, text);
		if (strlen(text) != size || memcmp(text, data, size) != 0)
			abort(); /* decoding accepted a form that is not the canonical one */
	}
	free(out);
	free(text);
	return 0;
}
