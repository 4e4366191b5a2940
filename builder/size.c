#include "size.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static bool parse_u64(const char **p, uint64_t *ret)
{
	uint64_t v = 0;
	const char *s = *p;

	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*p = s;
	*ret = v;
	return true;
}

bool size_parse(const char *s, uint64_t *ret)
{
	static const char units[] = "KMGT";
	uint64_t v, mul = 1;
	const char *u;

	if (!parse_u64(&s, &v))
		return false;
	if (*s) {
		u = strchr(units, *s);
		if (!u || !*s)
			return false;
		mul = 1ULL << (10 * (u - units + 1));
		s++;
		if (strcmp(s, "iB") == 0 || strcmp(s, "B") == 0)
			s += strlen(s);
	}
	if (*s || (v && mul > UINT64_MAX / v))
		return false;
	*ret = v * mul;
	return true;
}

bool percent_parse(const char *s, uint32_t *ret)
{
	uint64_t v;

	if (!parse_u64(&s, &v) || strcmp(s, "%") != 0 || v > 1000)
		return false;
	*ret = (uint32_t)v;
	return true;
}

bool mode_parse(const char *s, uint32_t *ret)
{
	uint32_t v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 5)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			return false;
		v = v * 8 + (uint32_t)(*s - '0');
	}
	if (v > 07777)
		return false;
	*ret = v;
	return true;
}

bool owner_parse(const char *s, uint32_t *ret_uid, uint32_t *ret_gid)
{
	uint64_t u, g;

	if (!parse_u64(&s, &u) || *s++ != ':' || !parse_u64(&s, &g) || *s)
		return false;
	if (u >= UINT32_MAX || g >= UINT32_MAX)
		return false;
	*ret_uid = (uint32_t)u;
	*ret_gid = (uint32_t)g;
	return true;
}

const char *size_str(unsigned long long bytes, char *buf, size_t n)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	int u = -1;

	while (u < 5 && bytes >> (10 * (u + 2)))
		u++;
	if (u < 0)
		snprintf(buf, n, "%llu bytes", bytes);
	else if (bytes % (1ULL << (10 * (u + 1))) == 0)
		snprintf(buf, n, "%llu %s", bytes >> (10 * (u + 1)), units[u]);
	else
		snprintf(buf, n, "%.1f %s", (double)bytes / (double)(1ULL << (10 * (u + 1))),
			 units[u]);
	return buf;
}
