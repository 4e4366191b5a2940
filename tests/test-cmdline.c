/* Unit tests of stele-init's kernel command line parser (rootfs/init/cmdline.c), by table: a
 * command line and what it gives (the options, or the error and the words it names), from what
 * GRUB writes to hostile values (overlong, quoted, out of range, after "--"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rootfs/init/cmdline.h"
#include "tap.h"

enum { R = DM_VERITY_RESTART, P = DM_VERITY_PANIC, E = DM_VERITY_EIO };

static const struct row {
	const char *cmdline;
	int rc;
	char slot;
	int debug, trial;
	unsigned timeout;
	int verity;
	const char *err; /* a fragment of the message, when rc < 0 */
} rows[] = {
	/* what GRUB writes (grub.cfg: stele.slot=$1 $stele_trial panic=10 ro $stele_cmdline) */
	{"stele.slot=a panic=10 ro console=ttyS0\n", 0, 'a', 0, 0, 20, R, NULL},
	{"BOOT_IMAGE=/vmlinuz stele.slot=b stele.trial=1 panic=10 ro quiet", 0, 'b', 0, 1, 20, R, NULL},
	{"stele.slot=a panic=10 ro stele.debug stele.timeout=5 stele.verity=panic", 0, 'a', 1, 0, 5, P,
	 NULL},
	{"stele.slot=b stele.verity=eio", 0, 'b', 0, 0, 20, E, NULL},
	{"stele.slot=b stele.verity=restart", 0, 'b', 0, 0, 20, R, NULL},
	{"\tstele.slot=a\n", 0, 'a', 0, 0, 20, R, NULL},
	{"  stele.slot=a  ", 0, 'a', 0, 0, 20, R, NULL},
	/* booleans */
	{"stele.slot=a stele.debug=1", 0, 'a', 1, 0, 20, R, NULL},
	{"stele.slot=a stele.debug=0", 0, 'a', 0, 0, 20, R, NULL},
	{"stele.slot=a stele.debug=yes stele.trial=true", 0, 'a', 1, 1, 20, R, NULL},
	{"stele.slot=a stele.debug=on stele.trial=off", 0, 'a', 1, 0, 20, R, NULL},
	{"stele.slot=a stele.debug=no stele.trial=false", 0, 'a', 0, 0, 20, R, NULL},
	{"stele.slot=a stele.trial", 0, 'a', 0, 1, 20, R, NULL},
	{"stele.slot=a stele.trial=1 stele.trial=0", 0, 'a', 0, 0, 20, R, NULL},
	{"stele.slot=a stele.debug=2", -EINVAL, 0, 0, 0, 0, 0, "stele.debug=2: expected 1 or 0"},
	{"stele.slot=a stele.trial=", -EINVAL, 0, 0, 0, 0, 0, "stele.trial=: expected 1 or 0"},
	{"stele.slot=a stele.trial=YES", -EINVAL, 0, 0, 0, 0, 0, "stele.trial=YES"},
	{"stele.slot=a stele.debug=1x", -EINVAL, 0, 0, 0, 0, 0, "stele.debug=1x"},
	/* the slot */
	{"", -EINVAL, 0, 0, 0, 0, 0, "no stele.slot="},
	{"\n", -EINVAL, 0, 0, 0, 0, 0, "no stele.slot="},
	{"ro quiet panic=10", -EINVAL, 0, 0, 0, 0, 0, "no stele.slot="},
	{"stele.slot", -EINVAL, 0, 0, 0, 0, 0, "stele.slot=: expected a or b"},
	{"stele.slot=", -EINVAL, 0, 0, 0, 0, 0, "stele.slot=: expected a or b"},
	{"stele.slot=c", -EINVAL, 0, 0, 0, 0, 0, "stele.slot=c: expected a or b"},
	/* a Secure Boot kernel image's own line: the root hash names the slot (slot 0 here) */
	{"stele.roothash=799b831b403519ff0edc1620ee69989c74c4fa33968c93de1fda1e71db077680 panic=10 ro console=ttyS0", 0, 0, 0, 0, 20, R, NULL},
	{"stele.roothash=", -EINVAL, 0, 0, 0, 0, 0, "stele.roothash=: expected 2 to 128"},
	{"stele.roothash", -EINVAL, 0, 0, 0, 0, 0, "stele.roothash=: expected"},
	{"stele.roothash=ABCD", -EINVAL, 0, 0, 0, 0, 0, "stele.roothash=ABCD: expected"},
	{"stele.roothash=abc", -EINVAL, 0, 0, 0, 0, 0, "stele.roothash=abc: expected"},
	{"stele.roothash=ab/cd", -EINVAL, 0, 0, 0, 0, 0, "stele.roothash=ab/cd: expected"},
	/* nothing after the signed line may replace its root hash or name a slot */
	{"stele.roothash=aa ro stele.roothash=bb", -EINVAL, 0, 0, 0, 0, 0, "given twice"},
	{"stele.roothash=aa ro stele.slot=b", -EINVAL, 0, 0, 0, 0, 0, "by the root hash alone"},
	{"stele.slot=a stele.roothash=aa", -EINVAL, 0, 0, 0, 0, 0, "by the root hash alone"},
	{"stele.roothash=aa stele.trial=1", -EINVAL, 0, 0, 0, 0, 0, "by the root hash alone"},
	{"stele.roothash=aa stele.trial=0", -EINVAL, 0, 0, 0, 0, 0, "by the root hash alone"},
	{"stele.slot=A", -EINVAL, 0, 0, 0, 0, 0, "stele.slot=A"},
	{"stele.slot=ab", -EINVAL, 0, 0, 0, 0, 0, "stele.slot=ab"},
	{"stele.slot=a\"\"b", -EINVAL, 0, 0, 0, 0, 0, "stele.slot=ab"},
	{"stele.slot=a=b", -EINVAL, 0, 0, 0, 0, 0, "stele.slot=a=b"},
	{"stele.slot=b stele.slot=a", 0, 'a', 0, 0, 20, R, NULL}, /* the last one, as the kernel */
	{"stele.slot=a stele.slot=x", -EINVAL, 0, 0, 0, 0, 0, "stele.slot=x"},
	{"xstele.slot=a", -EINVAL, 0, 0, 0, 0, 0, "no stele.slot="},
	{"stele.slotx=a", -EINVAL, 0, 0, 0, 0, 0, "no stele.slot="},
	{"STELE.SLOT=a", -EINVAL, 0, 0, 0, 0, 0, "no stele.slot="},
	/* quoting, as the kernel does it */
	{"stele.slot=\"a\"", 0, 'a', 0, 0, 20, R, NULL},
	{"\"stele.slot=b\"", 0, 'b', 0, 0, 20, R, NULL},
	{"stele.slot=\"a", 0, 'a', 0, 0, 20, R, NULL},
	{"stele.slot=\"a b\"", -EINVAL, 0, 0, 0, 0, 0, "stele.slot=a b"},
	{"foo=\"x stele.slot=b\" stele.slot=a", 0, 'a', 0, 0, 20, R, NULL},
	{"foo=\"x stele.slot=c\" stele.slot=b", 0, 'b', 0, 0, 20, R, NULL},
	/* after "--": init's arguments, not ours */
	{"stele.slot=a -- stele.slot=c", 0, 'a', 0, 0, 20, R, NULL},
	{"-- stele.slot=a", -EINVAL, 0, 0, 0, 0, 0, "no stele.slot="},
	{"stele.slot=b --foo stele.debug", 0, 'b', 1, 0, 20, R, NULL},
	/* the timeout: 1..3600 decimal seconds */
	{"stele.slot=a stele.timeout=1", 0, 'a', 0, 0, 1, R, NULL},
	{"stele.slot=a stele.timeout=3600", 0, 'a', 0, 0, 3600, R, NULL},
	{"stele.slot=a stele.timeout=0020", 0, 'a', 0, 0, 20, R, NULL},
	{"stele.slot=a stele.timeout=0", -EINVAL, 0, 0, 0, 0, 0, "stele.timeout=0: expected seconds, 1 to 3600"},
	{"stele.slot=a stele.timeout=3601", -EINVAL, 0, 0, 0, 0, 0, "stele.timeout=3601"},
	{"stele.slot=a stele.timeout=-1", -EINVAL, 0, 0, 0, 0, 0, "stele.timeout=-1"},
	{"stele.slot=a stele.timeout=+5", -EINVAL, 0, 0, 0, 0, 0, "stele.timeout=+5"},
	{"stele.slot=a stele.timeout=5s", -EINVAL, 0, 0, 0, 0, 0, "stele.timeout=5s"},
	{"stele.slot=a stele.timeout=0x10", -EINVAL, 0, 0, 0, 0, 0, "stele.timeout=0x10"},
	{"stele.slot=a stele.timeout=", -EINVAL, 0, 0, 0, 0, 0, "stele.timeout=: expected seconds"},
	{"stele.slot=a stele.timeout", -EINVAL, 0, 0, 0, 0, 0, "stele.timeout=: expected seconds"},
	{"stele.slot=a stele.timeout=18446744073709551617", -EINVAL, 0, 0, 0, 0, 0,
	 "stele.timeout=18446744073709551617"},
	{"stele.slot=a stele.timeout=4294967297", -EINVAL, 0, 0, 0, 0, 0, "stele.timeout=4294967297"},
	{"stele.slot=a stele.timeout=\"\"", -EINVAL, 0, 0, 0, 0, 0, "stele.timeout="},
	/* dm-verity's mode */
	{"stele.slot=a stele.verity=", -EINVAL, 0, 0, 0, 0, 0, "stele.verity=: expected restart, panic or eio"},
	{"stele.slot=a stele.verity", -EINVAL, 0, 0, 0, 0, 0, "stele.verity=: expected restart"},
	{"stele.slot=a stele.verity=PANIC", -EINVAL, 0, 0, 0, 0, 0, "stele.verity=PANIC"},
	{"stele.slot=a stele.verity=ignore", -EINVAL, 0, 0, 0, 0, 0, "stele.verity=ignore"},
	/* unknown stele.* options: a newer image's, not ours to refuse */
	{"stele.slot=a stele.future=1 stele.", 0, 'a', 0, 0, 20, R, NULL},
	{"stele.slot=a stele.=x stele.debugx", 0, 'a', 0, 0, 20, R, NULL},
	/* a bad option fails even after a good slot: a malformed value is an error */
	{"stele.verity=junk stele.slot=a", -EINVAL, 0, 0, 0, 0, 0, "stele.verity=junk"},
};

/* The command line for a TAP description: one line, tabs and newlines escaped. */
static const char *shown(const char *s)
{
	static char buf[256];
	size_t n = 0;

	for (; *s && n + 3 < sizeof(buf); s++) {
		if (*s == '\n' || *s == '\t') {
			buf[n++] = '\\';
			buf[n++] = *s == '\n' ? 'n' : 't';
		} else {
			buf[n++] = *s;
		}
	}
	buf[n] = '\0';
	return buf;
}

static void test_rows(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct boot_opts o = {.slot = '?', .timeout = 777};
		struct err e = {{0}};
		int rc = cmdline_parse(r->cmdline, &o, &e);

		if (r->rc == 0)
			ok(rc == 0 && o.slot == r->slot && o.debug == r->debug && o.trial == r->trial &&
				   o.timeout == r->timeout && (int)o.verity_mode == r->verity,
			   "\"%s\": slot %c%s%s, timeout %u, verity %d", shown(r->cmdline), r->slot,
			   r->debug ? ", debug" : "", r->trial ? ", trial" : "", r->timeout, r->verity);
		else
			ok(rc == r->rc && strstr(e.msg, r->err) && o.slot == '?' && o.timeout == 777,
			   "\"%s\": refused (%s), options untouched", shown(r->cmdline), r->err);
		if (rc != r->rc || (rc < 0 && !strstr(e.msg, r->err)))
			printf("#   got %d: %s\n", rc, e.msg);
	}
}

/* A word longer than the parser's buffer is cut, never overflows; a huge line is fine. */
static void test_long(void)
{
	size_t big = 64 * 1024;
	char *line = malloc(big + 64);
	struct boot_opts o;
	struct err e;
	int rc;

	if (!line)
		abort();
	strcpy(line, "stele.slot=");
	memset(line + strlen(line), 'a', 4000);
	line[11 + 4000] = '\0';
	rc = cmdline_parse(line, &o, &e);
	ok(rc == -EINVAL && strstr(e.msg, "stele.slot=aaaa"), "a 4000-byte stele.slot value is refused");
	ok(strlen(e.msg) < sizeof(e.msg), "its message is bounded (%zu bytes)", strlen(e.msg));

	memset(line, 'x', big);
	strcpy(line + big, " stele.slot=b");
	ok(cmdline_parse(line, &o, &e) == 0 && o.slot == 'b', "stele.slot after a 64 KiB word");

	for (size_t k = 0; k + 2 < big; k += 2)
		line[k] = 'x', line[k + 1] = ' ';
	strcpy(line + big - (big % 2), " stele.slot=a stele.trial");
	ok(cmdline_parse(line, &o, &e) == 0 && o.slot == 'a' && o.trial,
	   "stele.slot after 32768 words");

	memset(line, '"', big);
	line[big] = '\0';
	ok(cmdline_parse(line, &o, &e) == -EINVAL, "64 KiB of quotes: no slot");

	/* the root hash: kept whole up to 128 digits (sha512), refused beyond */
	strcpy(line, "ro stele.roothash=");
	memset(line + strlen(line), 'f', CMDLINE_ROOT_HASH_MAX);
	line[18 + CMDLINE_ROOT_HASH_MAX] = '\0';
	ok(cmdline_parse(line, &o, &e) == 0 && o.slot == 0 &&
		   strlen(o.root_hash) == CMDLINE_ROOT_HASH_MAX && o.root_hash[0] == 'f',
	   "a 128-digit stele.roothash is kept whole, and names no slot");
	strcat(line, "ff");
	rc = cmdline_parse(line, &o, &e);
	ok(rc == -EINVAL && strstr(e.msg, "expected 2 to 128"), "a 130-digit one is refused: %s",
	   e.msg);
	ok(strlen(e.msg) < sizeof(e.msg), "its message is bounded (%zu bytes)", strlen(e.msg));
	free(line);
}

static const struct flag_row {
	const char *cmdline, *name;
	int want;
} flags[] = {
	{"stele.debug", "stele.debug", 1},
	{"ro stele.debug=1 quiet", "stele.debug", 1},
	{"stele.debug=0", "stele.debug", 0},
	{"stele.debug=junk", "stele.debug", 0},
	{"stele.debug=1 stele.debug=junk", "stele.debug", 0},
	{"stele.debug=0 stele.debug", "stele.debug", 1},
	{"", "stele.debug", 0},
	{"stele.debugx", "stele.debug", 0},
	{"-- stele.debug", "stele.debug", 0},
	{"stele.debug --", "stele.debug", 1},
	/* the flag is read even when the parse fails, so a broken line still gets its shell */
	{"stele.slot=x stele.debug", "stele.debug", 1},
	{"stele.timeout=0 stele.debug=yes", "stele.debug", 1},
	{"stele.trial", "stele.debug", 0},
	{"\"stele.debug\"", "stele.debug", 1},
};

static void test_flags(void)
{
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		is_int(cmdline_flag(flags[i].cmdline, flags[i].name), flags[i].want,
		       "flag %s in \"%s\": %d", flags[i].name, flags[i].cmdline, flags[i].want);
}

int main(void)
{
	test_rows();
	test_long();
	test_flags();
	return tap_done();
}
