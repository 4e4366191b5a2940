/* Unit tests for builder/size.c: size_parse, percent_parse, mode_parse, owner_parse. Each bad
 * input is also checked to leave the output untouched (a sentinel value). */
#include <stdint.h>

#include "builder/size.h"
#include "tap.h"

#define SENT64 0xdeadbeefcafef00dULL
#define SENT32 0xdeadbeefU

/* The input as printable text for the TAP line (tabs and newlines escaped). */
static const char *show(const char *s)
{
	static char buf[4][128];
	static int slot;
	char *o = buf[slot++ % 4], *start = o;

	for (; *s && o < start + sizeof(buf[0]) - 3; s++) {
		if (*s == '\n' || *s == '\t') {
			*o++ = '\\';
			*o++ = *s == '\n' ? 'n' : 't';
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return start;
}

static void size_good(const char *s, uint64_t want)
{
	uint64_t v = SENT64;

	ok(size_parse(s, &v), "size_parse(\"%s\") accepted", show(s));
	is_int(v == want, 1, "size_parse(\"%s\") = %llu (got %llu)", show(s), (unsigned long long)want,
	       (unsigned long long)v);
}

static void size_bad(const char *s)
{
	uint64_t v = SENT64;

	ok(!size_parse(s, &v), "size_parse(\"%s\") rejected", show(s));
	is_int(v == SENT64, 1, "size_parse(\"%s\") leaves the output alone", show(s));
}

static void pct_good(const char *s, uint32_t want)
{
	uint32_t v = SENT32;

	ok(percent_parse(s, &v), "percent_parse(\"%s\") accepted", show(s));
	is_int(v, want, "percent_parse(\"%s\") = %u", show(s), want);
}

static void pct_bad(const char *s)
{
	uint32_t v = SENT32;

	ok(!percent_parse(s, &v), "percent_parse(\"%s\") rejected", show(s));
	is_int(v, SENT32, "percent_parse(\"%s\") leaves the output alone", show(s));
}

static void mode_good(const char *s, uint32_t want)
{
	uint32_t v = SENT32;

	ok(mode_parse(s, &v), "mode_parse(\"%s\") accepted", show(s));
	is_int(v, want, "mode_parse(\"%s\") = 0%o", show(s), want);
}

static void mode_bad(const char *s)
{
	uint32_t v = SENT32;

	ok(!mode_parse(s, &v), "mode_parse(\"%s\") rejected", show(s));
	is_int(v, SENT32, "mode_parse(\"%s\") leaves the output alone", show(s));
}

static void owner_good(const char *s, uint32_t uid, uint32_t gid)
{
	uint32_t u = SENT32, g = SENT32;

	ok(owner_parse(s, &u, &g), "owner_parse(\"%s\") accepted", show(s));
	is_int(u, uid, "owner_parse(\"%s\") uid = %u", show(s), uid);
	is_int(g, gid, "owner_parse(\"%s\") gid = %u", show(s), gid);
}

static void owner_bad(const char *s)
{
	uint32_t u = SENT32, g = SENT32;

	ok(!owner_parse(s, &u, &g), "owner_parse(\"%s\") rejected", show(s));
	ok(u == SENT32 && g == SENT32, "owner_parse(\"%s\") leaves the outputs alone", show(s));
}

static void str_is(unsigned long long bytes, const char *want)
{
	char buf[32];

	is_str(size_str(bytes, buf, sizeof(buf)), want, "size_str(%llu)", bytes);
}

int main(void)
{
	/* sizes in messages: a unit, never rounded down to 0 */
	str_is(0, "0 bytes");
	str_is(1023, "1023 bytes");
	str_is(4096, "4 KiB");
	str_is(1536 << 10, "1.5 MiB");
	str_is(64ULL << 20, "64 MiB");
	str_is((1ULL << 30) + 1, "1.0 GiB");
	str_is(8ULL << 40, "8 TiB");
	str_is(UINT64_MAX, "16.0 EiB");

	/* sizes: plain bytes */
	size_good("0", 0);
	size_good("4096", 4096);
	size_good("007", 7);
	size_good("18446744073709551615", UINT64_MAX);
	/* sizes: suffixes, with optional "iB" / "B" */
	size_good("1K", 1024);
	size_good("64K", 64ULL << 10);
	size_good("512M", 512ULL << 20);
	size_good("1G", 1ULL << 30);
	size_good("2T", 2ULL << 40);
	size_good("1KiB", 1024);
	size_good("1KB", 1024);
	size_good("512MiB", 512ULL << 20);
	size_good("512MB", 512ULL << 20);
	size_good("3GiB", 3ULL << 30);
	size_good("3GB", 3ULL << 30);
	size_good("1TiB", 1ULL << 40);
	size_good("1TB", 1ULL << 40);
	size_good("0T", 0);
	/* sizes: largest values that still fit */
	size_good("16777215T", 16777215ULL << 40);
	size_good("17179869183G", 17179869183ULL << 30);
	size_good("18014398509481983K", 18014398509481983ULL << 10);

	/* sizes: overflow */
	size_bad("18446744073709551616");
	size_bad("99999999999999999999");
	size_bad("999999999999999999999999999999");
	size_bad("17179869184T");
	size_bad("16777216T");
	size_bad("17179869184G");
	size_bad("18014398509481984K");
	size_bad("18446744073709551615K");
	/* sizes: malformed */
	size_bad("");
	size_bad("M");
	size_bad("K");
	size_bad("-1");
	size_bad("+1");
	size_bad("1.5");
	size_bad("1.5G");
	size_bad("12Q");
	size_bad("1P");
	size_bad("1E");
	size_bad("1B");
	size_bad("1iB");
	size_bad("1k");
	size_bad("512m");
	size_bad("1g");
	size_bad("1t");
	size_bad("1Kib");
	size_bad("1Kb");
	size_bad("1KIB");
	size_bad("1Ki");
	size_bad("1KiBB");
	size_bad("1KK");
	size_bad("1MG");
	size_bad("10%");
	size_bad("0x10");
	size_bad("abc");
	size_bad(" 1");
	size_bad("1 ");
	size_bad("1 M");
	size_bad("1M ");
	size_bad(" ");
	size_bad("\t1");
	size_bad("1\n");

	/* percentages */
	pct_good("0%", 0);
	pct_good("5%", 5);
	pct_good("10%", 10);
	pct_good("100%", 100);
	pct_good("1000%", 1000);
	pct_bad("1001%");
	pct_bad("99999999999999999999%");
	pct_bad("10");
	pct_bad("%");
	pct_bad("");
	pct_bad("-5%");
	pct_bad("5.5%");
	pct_bad("10%%");
	pct_bad("10 %");
	pct_bad(" 10%");
	pct_bad("10% ");
	pct_bad("ten%");
	pct_bad("10M");

	/* modes */
	mode_good("0644", 0644);
	mode_good("644", 0644);
	mode_good("0", 0);
	mode_good("0000", 0);
	mode_good("4755", 04755);
	mode_good("1777", 01777);
	mode_good("7777", 07777);
	mode_good("07777", 07777);
	mode_bad("0999");
	mode_bad("0648");
	mode_bad("8");
	mode_bad("12345");
	mode_bad("10000");
	mode_bad("77777");
	mode_bad("000644");
	mode_bad("rwx");
	mode_bad("rw-r--r--");
	mode_bad("");
	mode_bad("-644");
	mode_bad("+644");
	mode_bad("0o644");
	mode_bad(" 644");
	mode_bad("644 ");

	/* owners */
	owner_good("0:0", 0, 0);
	owner_good("1000:100", 1000, 100);
	owner_good("65534:65534", 65534, 65534);
	owner_good("4294967294:4294967294", 4294967294U, 4294967294U);
	owner_bad("4294967295:0"); /* (uid_t)-1 means "no change" to chown */
	owner_bad("0:4294967295");
	owner_bad("4294967296:0");
	owner_bad("99999999999999999999:0");
	owner_bad("0:99999999999999999999");
	owner_bad("root:root");
	owner_bad("root");
	owner_bad("0");
	owner_bad("0:");
	owner_bad(":0");
	owner_bad(":");
	owner_bad("0:0:0");
	owner_bad("0:0:");
	owner_bad("");
	owner_bad("-1:0");
	owner_bad("0:-1");
	owner_bad("+0:0");
	owner_bad(" 0:0");
	owner_bad("0:0 ");
	owner_bad("0 :0");
	owner_bad("0: 0");
	owner_bad("0.0");
	owner_bad("1000:users");

	return tap_done();
}
