#include "rollback.h"

#include <errno.h>
#include <string.h>

#include "io.h"

static int parse_index(const char *path, const char *text, uint64_t *ret, struct err *e)
{
	uint64_t v = 0;
	const char *p = text;

	if (*p < '0' || *p > '9')
		return err_set(e, EINVAL, "%s: expected a decimal number", path);
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return err_set(e, ERANGE, "%s: number too large", path);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p)
		return err_set(e, EINVAL, "%s: expected a decimal number", path);
	*ret = v;
	return 0;
}

int rollback_read(const char *path, uint64_t *ret, struct err *e)
{
	char text[64];
	size_t len;
	int rc;

	rc = io_read_text(path, text, sizeof(text), &len, e);
	if (rc == -ENOENT) {
		*ret = 0;
		return 0;
	}
	if (rc < 0)
		return rc;
	if (strlen(text) != len) /* a NUL would end the number early */
		return err_set(e, EINVAL, "%s: expected a decimal number", path);
	io_chomp(text);
	return parse_index(path, text, ret, e);
}

int rollback_check(const struct manifest *m, uint64_t floor, struct err *e)
{
	if (m->rollback_index < floor)
		return err_set(e, EPERM, "rollback index %llu of version %s is below this device's "
					 "minimum %llu (a downgrade)",
			       (unsigned long long)m->rollback_index, m->version,
			       (unsigned long long)floor);
	return 0;
}
