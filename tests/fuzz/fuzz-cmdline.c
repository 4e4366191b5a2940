/* libFuzzer target: the kernel command line as stele-init parses it (rootfs/init/cmdline.c):
 * no crash; an accepted line names a slot or a root hash of even length, lowercase hex,
 * within CMDLINE_ROOT_HASH_MAX; a refused one leaves a bounded, NUL-terminated message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rootfs/init/cmdline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct boot_opts o;
	struct err e;
	char *line;

	if (size > 16384)
		return 0;
	line = malloc(size + 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	memset(&e, 0, sizeof(e));
	if (cmdline_parse(line, &o, &e) == 0) {
		size_t n = strlen(o.root_hash);

		if (o.slot != 'a' && o.slot != 'b' && o.slot != 0)
			abort();
		if (!o.slot && (n < 2 || n % 2))
			abort();
		if (n > CMDLINE_ROOT_HASH_MAX || strspn(o.root_hash, "0123456789abcdef") != n)
			abort();
		if (o.timeout == 0 || o.timeout > CMDLINE_MAX_TIMEOUT)
			abort();
	} else if (memchr(e.msg, '\0', sizeof(e.msg)) == NULL) {
		abort();
	}
	cmdline_flag(line, "stele.debug");
	free(line);
	return 0;
}
