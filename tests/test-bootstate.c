/* Unit tests of the boot-state block codec (bootloader/bootstate.c): known answers, round trips,
 * grub-editenv as an independent oracle (it must write what we write, read what we write, and
 * we must read what it writes), hostile blocks, and in-place writes that never move the file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bootloader/bootstate.h"
#include "tap.h"

static struct err e;
static char tmpdir[] = "/tmp/test-bootstate.XXXXXX";

#define STELE_BODY                                                                                  \
	"STELE_ORDER=a b\nSTELE_A_STATE=good\nSTELE_A_TRIES=3\nSTELE_B_STATE=bad\nSTELE_B_TRIES=0\n"

/* header + grub-editenv's comment + body + '#' padding to 1024 bytes */
static void make_block(char out[BOOTSTATE_SIZE], const char *body)
{
	size_t n = 0, len = strlen(body);

	memset(out, '#', BOOTSTATE_SIZE);
	memcpy(out, BOOTSTATE_HEADER BOOTSTATE_MESSAGE, strlen(BOOTSTATE_HEADER BOOTSTATE_MESSAGE));
	n = strlen(BOOTSTATE_HEADER BOOTSTATE_MESSAGE);
	if (n + len > BOOTSTATE_SIZE) {
		printf("Bail out! test body of %zu bytes does not fit\n", len);
		exit(1);
	}
	memcpy(out + n, body, len);
}

/* STELE_BODY with one variable's value replaced (value NULL: the variable left out). */
static void body_with(char *out, size_t size, const char *name, const char *value)
{
	static const char *const names[] = {"STELE_ORDER", "STELE_A_STATE", "STELE_A_TRIES",
					    "STELE_B_STATE", "STELE_B_TRIES"};
	static const char *const values[] = {"a b", "good", "3", "bad", "0"};
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < 5; i++) {
		const char *v = strcmp(names[i], name) == 0 ? value : values[i];

		if (v)
			n += (size_t)snprintf(out + n, size - n, "%s=%s\n", names[i], v);
	}
}

static int same_state(const struct bootstate *a, const struct bootstate *b)
{
	if (a->n_order != b->n_order || memcmp(a->order, b->order, a->n_order) != 0 ||
	    a->n_vars != b->n_vars)
		return 0;
	for (size_t i = 0; i < BOOTSTATE_SLOTS; i++)
		if (a->slots[i].state != b->slots[i].state || a->slots[i].tries != b->slots[i].tries)
			return 0;
	for (size_t i = 0; i < a->n_vars; i++)
		if (strcmp(a->vars[i].name, b->vars[i].name) != 0 ||
		    strcmp(a->vars[i].value, b->vars[i].value) != 0)
			return 0;
	return 1;
}

static void add_var(struct bootstate *s, const char *name, const char *value)
{
	if (s->n_vars == BOOTSTATE_VARS_MAX || strlen(name) > BOOTSTATE_NAME_MAX ||
	    strlen(value) > BOOTSTATE_VALUE_MAX)
		abort();
	strcpy(s->vars[s->n_vars].name, name);
	strcpy(s->vars[s->n_vars].value, value);
	s->n_vars++;
}

/* Parses buf, which must be rejected with a message containing frag. */
static void rejects(const char *buf, size_t len, const char *what, const char *frag)
{
	struct bootstate s, before;
	int r;

	memset(&s, 0x55, sizeof(s));
	before = s;
	memset(&e, 0, sizeof(e));
	r = bootstate_parse(buf, len, &s, &e);
	ok(r == -EINVAL, "%s: rejected (%d)", what, r);
	has_str(e.msg, frag, "%s: message", what);
	ok(memcmp(&s, &before, sizeof(s)) == 0, "%s: output untouched", what);
}

static void rejects_body(const char *body, const char *what, const char *frag)
{
	char buf[BOOTSTATE_SIZE];

	make_block(buf, body);
	rejects(buf, sizeof(buf), what, frag);
}

static void rejects_value(const char *name, const char *value, const char *frag)
{
	char body[512], what[128];

	body_with(body, sizeof(body), name, value);
	if (value)
		snprintf(what, sizeof(what), "%s=\"%s\"", name, value);
	else
		snprintf(what, sizeof(what), "missing %s", name);
	rejects_body(body, what, frag);
}

static void test_helpers(void)
{
	enum bootstate_state st = BOOTSTATE_BAD;

	is_str(bootstate_state_name(BOOTSTATE_GOOD), "good", "state name: good");
	is_str(bootstate_state_name(BOOTSTATE_TRIAL), "trial", "state name: trial");
	is_str(bootstate_state_name(BOOTSTATE_BAD), "bad", "state name: bad");
	ok(bootstate_state_name((enum bootstate_state)3) == NULL, "state name: 3 is NULL");
	ok(bootstate_state_name((enum bootstate_state)-1) == NULL, "state name: -1 is NULL");
	ok(bootstate_state_parse("trial", &st) == 0 && st == BOOTSTATE_TRIAL, "state parse: trial");
	ok(bootstate_state_parse("good", &st) == 0 && st == BOOTSTATE_GOOD, "state parse: good");
	st = BOOTSTATE_TRIAL;
	ok(bootstate_state_parse("Good", &st) == -EINVAL && st == BOOTSTATE_TRIAL,
	   "state parse: Good rejected, output untouched");
	ok(bootstate_state_parse("", &st) == -EINVAL, "state parse: empty rejected");
	ok(bootstate_state_parse("bad ", &st) == -EINVAL, "state parse: trailing space rejected");
	ok(bootstate_state_parse(NULL, &st) == -EINVAL, "state parse: NULL rejected");
	is_int(bootstate_slot_index('a'), 0, "slot index: a");
	is_int(bootstate_slot_index('b'), 1, "slot index: b");
	is_int(bootstate_slot_index('A'), -EINVAL, "slot index: A rejected");
	is_int(bootstate_slot_index('c'), -EINVAL, "slot index: c rejected");
	is_int(bootstate_slot_index('\0'), -EINVAL, "slot index: NUL rejected");
	is_int(bootstate_slot_name(0), 'a', "slot name: 0");
	is_int(bootstate_slot_name(1), 'b', "slot name: 1");
	is_int(bootstate_slot_name(2), 0, "slot name: 2 is NUL");
}

static void test_roundtrip(void)
{
	char want[BOOTSTATE_SIZE], out[BOOTSTATE_SIZE], again[BOOTSTATE_SIZE];
	struct bootstate s, p;
	int r;

	bootstate_init(&s, 3);
	ok(s.n_order == 2 && s.order[0] == 'a' && s.order[1] == 'b', "init: order a b");
	ok(s.slots[0].state == BOOTSTATE_GOOD && s.slots[0].tries == 3, "init: A good, 3 tries");
	ok(s.slots[1].state == BOOTSTATE_BAD && s.slots[1].tries == 0, "init: B bad, 0 tries");
	is_int(s.n_vars, 0, "init: no other variables");

	r = bootstate_format(&s, out, &e);
	is_int(r, 0, "format factory state");
	make_block(want, STELE_BODY);
	ok(memcmp(out, want, sizeof(out)) == 0, "format: known answer (header, comment, 5 lines, #)");
	memset(&p, 0, sizeof(p));
	is_int(bootstate_parse(out, sizeof(out), &p, &e), 0, "parse factory state");
	ok(same_state(&s, &p), "round trip: factory state equal");

	/* every field away from the defaults, and values GRUB must escape */
	s.order[0] = 'b';
	s.order[1] = 'a';
	s.slots[0] = (struct bootstate_slot){BOOTSTATE_TRIAL, 15};
	s.slots[1] = (struct bootstate_slot){BOOTSTATE_GOOD, 10};
	add_var(&s, "saved_entry", "Debian GNU/Linux, with Linux 6.1");
	add_var(&s, "back", "a\\b\\\\");
	add_var(&s, "nl", "l1\nl2\n");
	add_var(&s, "empty", "");
	add_var(&s, "odd", "x=y#z\r\t\xff");
	r = bootstate_format(&s, out, &e);
	is_int(r, 0, "format: trial state with other variables");
	if (r < 0)
		printf("# %s\n", e.msg);
	ok(memmem(out, sizeof(out), "back=a\\\\b\\\\\\\\\n", 14) != NULL, "format: '\\' escaped");
	ok(memmem(out, sizeof(out), "nl=l1\\\nl2\\\n\n", 12) != NULL, "format: newline escaped");
	ok(memmem(out, sizeof(out), "STELE_ORDER=b a\nSTELE_A_STATE=trial\nSTELE_A_TRIES=15\n"
				    "STELE_B_STATE=good\nSTELE_B_TRIES=10\nsaved_entry=",
		  100) != NULL,
	   "format: canonical order, stele's variables first");
	memset(&p, 0, sizeof(p));
	r = bootstate_parse(out, sizeof(out), &p, &e);
	is_int(r, 0, "parse: trial state with other variables");
	ok(same_state(&s, &p), "round trip: every field and value equal");
	is_str(p.vars[2].value, "l1\nl2\n", "round trip: escaped newlines decoded");
	is_int(bootstate_format(&p, again, &e), 0, "re-format");
	ok(memcmp(out, again, sizeof(out)) == 0, "re-format: byte-identical");

	/* a single slot in the order */
	s.n_order = 1;
	s.order[0] = 'b';
	is_int(bootstate_format(&s, out, &e), 0, "format: order \"b\"");
	ok(memmem(out, sizeof(out), "STELE_ORDER=b\n", 14) != NULL, "format: order \"b\" written");
	is_int(bootstate_parse(out, sizeof(out), &p, &e), 0, "parse: order \"b\"");
	ok(p.n_order == 1 && p.order[0] == 'b', "parse: order \"b\" is one slot");

	/* without grub-editenv's comment line (GRUB's own save_env never adds it) */
	memset(want, '#', sizeof(want));
	memcpy(want, BOOTSTATE_HEADER STELE_BODY, strlen(BOOTSTATE_HEADER STELE_BODY));
	r = bootstate_parse(want, sizeof(want), &p, &e);
	is_int(r, 0, "parse: block without the comment line");
	bootstate_init(&s, 3);
	ok(r == 0 && same_state(&s, &p), "parse: block without the comment line, state");

	/* a block with no room for padding at all is still fine if it ends in '\n' */
	{
		char body[1024];
		size_t n = strlen(STELE_BODY), rem;

		memcpy(body, STELE_BODY, n);
		rem = BOOTSTATE_SIZE - strlen(BOOTSTATE_HEADER BOOTSTATE_MESSAGE) - n;
		for (char name = 'P'; rem > 0; name++) {
			/* "N=" value "\n": 3 bytes plus the value; never leave fewer than 3 */
			size_t len = rem - 3 > BOOTSTATE_VALUE_MAX ? BOOTSTATE_VALUE_MAX : rem - 3;

			if (rem - 3 - len > 0 && rem - 3 - len < 3)
				len -= 3;
			body[n++] = name;
			body[n++] = '=';
			memset(body + n, 'v', len);
			n += len;
			body[n++] = '\n';
			rem -= len + 3;
		}
		body[n] = '\0';
		make_block(want, body);
		is_int(want[BOOTSTATE_SIZE - 1], '\n', "full block: ends in newline");
		r = bootstate_parse(want, sizeof(want), &p, &e);
		is_int(r, 0, "parse: block filled to the last byte");
		if (r < 0)
			printf("# %s\n", e.msg);
		r = bootstate_format(&p, out, &e);
		is_int(r, -ENOSPC, "format: the same state does not fit in 512 bytes");
		has_str(e.msg, "1024 bytes", "format: 1024 bytes of variables: message");
	}
}

static void test_hostile(void)
{
	char buf[BOOTSTATE_SIZE + 1], body[1024];
	size_t n;

	make_block(buf, STELE_BODY);
	buf[BOOTSTATE_SIZE] = '#';
	rejects(buf, 0, "length 0", "0 bytes");
	rejects(buf, 1023, "length 1023", "1023 bytes");
	rejects(buf, 1025, "length 1025", "1025 bytes");

	memcpy(buf, "# GRUB Environment Blocc\n", 25);
	rejects(buf, BOOTSTATE_SIZE, "bad header", "header");
	make_block(buf, STELE_BODY);
	buf[24] = '#';
	rejects(buf, BOOTSTATE_SIZE, "header without its newline", "header");
	memset(buf, '#', BOOTSTATE_SIZE);
	rejects(buf, BOOTSTATE_SIZE, "all '#'", "header");
	memset(buf, 0, BOOTSTATE_SIZE);
	rejects(buf, BOOTSTATE_SIZE, "all zero", "header");

	/* the last variable not terminated: its value runs into the padding */
	n = strlen(STELE_BODY);
	memcpy(body, STELE_BODY, n - 1);
	body[n - 1] = '\0';
	rejects_body(body, "missing newline", "STELE_B_TRIES: no newline");
	rejects_body("STELE_ORDER\n" STELE_BODY, "line without '='", "no '='");
	rejects_body(STELE_BODY "\n", "empty line", "no '='");
	rejects_body(STELE_BODY "X=1", "last line without '=' or newline", "X: no newline");
	rejects_body(STELE_BODY "=v\n", "empty name", "variable name");
	rejects_body(STELE_BODY "a-b=1\n", "name with '-'", "variable name");
	rejects_body(STELE_BODY "a b=1\n", "name with space", "variable name");
	rejects_body(STELE_BODY "x12345678901234567890123456789012345678901234567890123456789012345=1\n",
		     "name of 65 bytes", "variable name");
	rejects_body(STELE_BODY "X=a\\b\n", "escape other than \\\\ and \\n", "escape");
	rejects_body(STELE_BODY "X=a\\", "backslash before the padding", "X: no newline");
	rejects_body(STELE_BODY "X=1\nX=2\n", "duplicate variable", "X appears twice");
	rejects_body(STELE_BODY "STELE_A_TRIES=2\n", "duplicate STELE_A_TRIES",
		     "STELE_A_TRIES appears twice");
	rejects_body(STELE_BODY "STELE_C_STATE=good\n", "unknown STELE_C_STATE", "STELE_C_STATE");
	rejects_body(STELE_BODY "STELE_=1\n", "unknown STELE_", "STELE_");
	rejects_body(STELE_BODY "# a comment\nX=1\n", "comment between variables", "padding");
	rejects_body("# WARNING: Do not edit\n" STELE_BODY, "another comment", "padding");

	/* a value of 257 bytes */
	snprintf(body, sizeof(body), "%sX=%0257d\n", STELE_BODY, 0);
	rejects_body(body, "value of 257 bytes", "longer than 256");
	snprintf(body, sizeof(body), "%sX=%0256d\n", STELE_BODY, 0);
	make_block(buf, body);
	ok(bootstate_parse(buf, BOOTSTATE_SIZE, &(struct bootstate){0}, &e) == 0,
	   "value of 256 bytes accepted");

	make_block(buf, STELE_BODY "X=ab\n");
	buf[strlen(BOOTSTATE_HEADER BOOTSTATE_MESSAGE STELE_BODY) + 3] = '\0';
	rejects(buf, BOOTSTATE_SIZE, "NUL byte in a value", "NUL byte at offset");
	make_block(buf, STELE_BODY);
	buf[BOOTSTATE_SIZE - 1] = '\0';
	rejects(buf, BOOTSTATE_SIZE, "NUL byte in the padding", "NUL byte at offset 1023");
	memset(buf + strlen(BOOTSTATE_HEADER BOOTSTATE_MESSAGE STELE_BODY), 0,
	       BOOTSTATE_SIZE - strlen(BOOTSTATE_HEADER BOOTSTATE_MESSAGE STELE_BODY));
	rejects(buf, BOOTSTATE_SIZE, "padded with NUL instead of '#'", "padded with '#'");
	make_block(buf, STELE_BODY);
	buf[BOOTSTATE_SIZE - 1] = 'x';
	rejects(buf, BOOTSTATE_SIZE, "garbage at the end of the padding", "offset 1023");
	make_block(buf, STELE_BODY);
	memcpy(buf + 800, "\nX=1\n", 5);
	rejects(buf, BOOTSTATE_SIZE, "variable after the padding", "padding");

	rejects_value("STELE_A_TRIES", "16", "STELE_A_TRIES=\"16\"");
	rejects_value("STELE_A_TRIES", "-1", "STELE_A_TRIES=\"-1\"");
	rejects_value("STELE_A_TRIES", "3x", "STELE_A_TRIES=\"3x\"");
	rejects_value("STELE_A_TRIES", "", "STELE_A_TRIES=\"\"");
	rejects_value("STELE_A_TRIES", "03", "STELE_A_TRIES");
	rejects_value("STELE_A_TRIES", " 3", "STELE_A_TRIES");
	rejects_value("STELE_A_TRIES", "+3", "STELE_A_TRIES");
	rejects_value("STELE_B_TRIES", "4294967299", "STELE_B_TRIES");
	rejects_value("STELE_A_STATE", "broken", "STELE_A_STATE=\"broken\"");
	rejects_value("STELE_B_STATE", "", "STELE_B_STATE");
	rejects_value("STELE_B_STATE", "GOOD", "STELE_B_STATE");
	rejects_value("STELE_ORDER", "a a", "STELE_ORDER=\"a a\"");
	rejects_value("STELE_ORDER", "c", "STELE_ORDER=\"c\"");
	rejects_value("STELE_ORDER", "", "STELE_ORDER is empty");
	rejects_value("STELE_ORDER", "a  b", "STELE_ORDER");
	rejects_value("STELE_ORDER", "a b ", "STELE_ORDER");
	rejects_value("STELE_ORDER", " a", "STELE_ORDER");
	rejects_value("STELE_ORDER", "ab", "STELE_ORDER");
	rejects_value("STELE_ORDER", "a,b", "STELE_ORDER");
	rejects_value("STELE_ORDER", "a b a", "STELE_ORDER");
	rejects_value("STELE_ORDER", NULL, "STELE_ORDER is missing");
	rejects_value("STELE_A_STATE", NULL, "STELE_A_STATE is missing");
	rejects_value("STELE_A_TRIES", NULL, "STELE_A_TRIES is missing");
	rejects_value("STELE_B_STATE", NULL, "STELE_B_STATE is missing");
	rejects_value("STELE_B_TRIES", NULL, "STELE_B_TRIES is missing");
	rejects_body("saved_entry=0\n", "a plain GRUB block (no STELE variables)", "missing");

	/* 32 other variables fit, 33 do not */
	n = (size_t)snprintf(body, sizeof(body), "%s", STELE_BODY);
	for (int i = 0; i < 32; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "V%02d=1\n", i);
	make_block(buf, body);
	ok(bootstate_parse(buf, BOOTSTATE_SIZE, &(struct bootstate){0}, &e) == 0,
	   "32 other variables accepted");
	snprintf(body + n, sizeof(body) - n, "V32=1\n");
	rejects_body(body, "33 other variables", "more than 32 variables");
}

/* bootstate_set (stele state --set): every value a block may hold is taken as is, anything
 * else is refused with *s untouched, never reshaped ("abx" is not "a b"). */
static void test_set(void)
{
	static const struct {
		const char *name, *value;
		int ok;
		const char *frag; /* in the message when refused; or the order/state/tries set */
	} cases[] = {
		{"STELE_ORDER", "a b", 1, "a b"},
		{"STELE_ORDER", "b a", 1, "b a"},
		{"STELE_ORDER", "a", 1, "a"},
		{"STELE_ORDER", "b", 1, "b"},
		{"STELE_ORDER", "abx", 0, "STELE_ORDER=\"abx\""},
		{"STELE_ORDER", "b a junk", 0, "STELE_ORDER=\"b a junk\""},
		{"STELE_ORDER", "ab", 0, "STELE_ORDER"},
		{"STELE_ORDER", "a a", 0, "listed twice"},
		{"STELE_ORDER", "a  b", 0, "STELE_ORDER"},
		{"STELE_ORDER", " a b", 0, "STELE_ORDER"},
		{"STELE_ORDER", "a b ", 0, "STELE_ORDER"},
		{"STELE_ORDER", "A B", 0, "STELE_ORDER"},
		{"STELE_ORDER", "c", 0, "STELE_ORDER"},
		{"STELE_ORDER", "", 0, "STELE_ORDER is empty"},
		{"STELE_ORDER", "a\tb", 0, "STELE_ORDER"},
		{"STELE_A_STATE", "good", 1, "good"},
		{"STELE_A_STATE", "trial", 1, "trial"},
		{"STELE_B_STATE", "bad", 1, "bad"},
		{"STELE_A_STATE", "Good", 0, "STELE_A_STATE=\"Good\""},
		{"STELE_A_STATE", "good ", 0, "expected good, trial or bad"},
		{"STELE_B_STATE", "", 0, "STELE_B_STATE"},
		{"STELE_B_STATE", "goodx", 0, "STELE_B_STATE"},
		{"STELE_A_TRIES", "0", 1, "0"},
		{"STELE_A_TRIES", "15", 1, "15"},
		{"STELE_B_TRIES", "7", 1, "7"},
		{"STELE_A_TRIES", "16", 0, "from 0 to 15"},
		{"STELE_A_TRIES", "-1", 0, "STELE_A_TRIES=\"-1\""},
		{"STELE_A_TRIES", "+3", 0, "STELE_A_TRIES"},
		{"STELE_A_TRIES", "03", 0, "STELE_A_TRIES"},
		{"STELE_A_TRIES", "3 ", 0, "STELE_A_TRIES"},
		{"STELE_A_TRIES", "0x3", 0, "STELE_A_TRIES"},
		{"STELE_B_TRIES", "4294967299", 0, "STELE_B_TRIES"},
		{"STELE_B_TRIES", "", 0, "STELE_B_TRIES"},
		{"STELE_C_STATE", "good", 0, "unknown variable STELE_C_STATE"},
		{"STELE_a_STATE", "good", 0, "unknown variable STELE_a_STATE"},
		{"STELE_A_TRIESX", "1", 0, "unknown variable"},
		{"saved_entry", "0", 0, "unknown variable saved_entry"},
		{"", "1", 0, "unknown variable"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bootstate s, before;
		char got[16] = "";
		int r;

		bootstate_init(&s, 3);
		s.slots[1].state = BOOTSTATE_GOOD; /* so "STELE_ORDER=b" is a valid state */
		before = s;
		memset(&e, 0, sizeof(e));
		r = bootstate_set(&s, cases[i].name, cases[i].value, &e);
		if (!cases[i].ok) {
			ok(r == -EINVAL && same_state(&s, &before),
			   "set %s=\"%s\": refused, state untouched", cases[i].name, cases[i].value);
			has_str(e.msg, cases[i].frag, "set %s=\"%s\": message", cases[i].name,
				cases[i].value);
			continue;
		}
		if (strcmp(cases[i].name, "STELE_ORDER") == 0)
			for (size_t k = 0, n = 0; k < s.n_order; k++)
				n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%c", k ? " " : "",
						      s.order[k]);
		else if (strstr(cases[i].name, "STATE"))
			snprintf(got, sizeof(got), "%s",
				 bootstate_state_name(s.slots[cases[i].name[6] == 'B'].state));
		else
			snprintf(got, sizeof(got), "%u", s.slots[cases[i].name[6] == 'B'].tries);
		ok(r == 0 && strcmp(got, cases[i].frag) == 0, "set %s=\"%s\": gives %s (%s)",
		   cases[i].name, cases[i].value, cases[i].frag, got);
	}
}

/* The codec accepts exactly the values bootloader/grub.cfg reads one way: its decrement
 * ladder covers 2..BOOTSTATE_TRIES_MAX (1 and 0 fall through to 0, which is right for both),
 * nothing above, and it compares the states as the exact words the codec writes. A change of
 * either side alone fails here. */
static void test_grub_agrees(void)
{
	const char *top = getenv("TOP");
	char path[PATH_MAX], *cfg;
	struct stat st;
	int fd, ladder_ok = 1;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/bootloader/grub.cfg", top && *top ? top : ".");
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0 || !(cfg = calloc(1, (size_t)st.st_size + 1))) {
		ok(0, "read %s", path);
		if (fd >= 0)
			close(fd);
		return;
	}
	n = read(fd, cfg, (size_t)st.st_size);
	close(fd);
	ok(n == st.st_size, "grub.cfg read");
	for (int t = 0; t <= BOOTSTATE_TRIES_MAX + 1; t++) {
		char want[96];
		bool has;

		snprintf(want, sizeof(want), "[ \"$1\" = \"%d\" ]; then set stele_n=%d\n", t, t - 1);
		has = strstr(cfg, want) != NULL;
		if (has != (t >= 2 && t <= BOOTSTATE_TRIES_MAX)) {
			ladder_ok = 0;
			printf("# grub.cfg ladder: tries %d %s\n", t, has ? "present" : "missing");
		}
	}
	ok(ladder_ok, "grub.cfg's ladder decrements exactly 2..%d, as the codec's 0..%d needs",
	   BOOTSTATE_TRIES_MAX, BOOTSTATE_TRIES_MAX);
	ok(strstr(cfg, "[ \"$3\" != \"bad\" ]") != NULL, "grub.cfg skips exactly \"bad\"");
	ok(strstr(cfg, "[ \"$3\" = \"trial\" ]") != NULL, "grub.cfg's trial is exactly \"trial\"");
	ok(strstr(cfg, "[ \"$STELE_A_STATE\" = \"good\" ]") != NULL,
	   "grub.cfg's fallback takes exactly \"good\"");
	ok(strstr(cfg, "if [ \"$stele_s\" = \"a\" ]") && strstr(cfg, "if [ \"$stele_s\" = \"b\" ]"),
	   "grub.cfg's order words are exactly a and b");
	free(cfg);
}

/* A FIFO given as the block (stele-update --state) is refused at once, not waited on: the
 * alarm turns a hang into a failure. */
static void test_fifo(void)
{
	char path[64];
	struct bootstate s;

	bootstate_init(&s, 3);
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	if (mkfifo(path, 0600) < 0) {
		ok(0, "mkfifo: %s", strerror(errno));
		return;
	}
	alarm(20);
	ok(bootstate_read(path, &s, &e) < 0, "read: a FIFO with no writer refused");
	has_str(e.msg, "a FIFO", "read: FIFO: says what it is");
	ok(bootstate_write(path, &s, &e) < 0, "write: a FIFO refused");
	has_str(e.msg, "a FIFO", "write: FIFO: says what it is");
	alarm(0);
}

/* Every single-byte change of a valid block is either rejected, or accepted as a state that
 * formats back to exactly the changed block: the parser accepts only canonical blocks. */
static void test_flips(void)
{
	char good[BOOTSTATE_SIZE], buf[BOOTSTATE_SIZE], out[BOOTSTATE_SIZE];
	struct bootstate s;
	long accepted = 0, rejected = 0, bad = 0, no_msg = 0;

	bootstate_init(&s, 7);
	add_var(&s, "saved_entry", "0");
	add_var(&s, "X", "a\\b");
	add_var(&s, "Y", "l1\nl2");
	if (bootstate_format(&s, good, &e) < 0) {
		printf("Bail out! %s\n", e.msg);
		exit(1);
	}
	for (size_t i = 0; i < BOOTSTATE_SIZE; i++)
		for (int c = 0; c < 256; c++) {
			if ((char)c == good[i])
				continue;
			memcpy(buf, good, sizeof(buf));
			buf[i] = (char)c;
			e.msg[0] = '\0';
			if (bootstate_parse(buf, sizeof(buf), &s, &e) < 0) {
				rejected++;
				no_msg += e.msg[0] == '\0';
				continue;
			}
			accepted++;
			if (bootstate_format(&s, out, &e) < 0 || memcmp(out, buf, sizeof(out)) != 0) {
				if (bad++ < 5)
					printf("# offset %zu byte 0x%02x accepted, not canonical\n", i, c);
			}
		}
	ok(accepted > 0 && rejected > 0, "flips: %ld accepted, %ld rejected", accepted, rejected);
	is_int(bad, 0, "flips: every accepted block formats back to itself");
	is_int(no_msg, 0, "flips: every rejection has a message");
}

/* Adds variables P=vvv, Q=vvv, ... whose lines take exactly `bytes` bytes (at least 3). */
static void fill_vars(struct bootstate *s, size_t bytes)
{
	char value[BOOTSTATE_VALUE_MAX + 1], name[2] = "P";

	while (bytes > 0) {
		/* "N=" value "\n": 3 bytes plus the value; never leave fewer than 3 */
		size_t len = bytes - 3 > BOOTSTATE_VALUE_MAX ? BOOTSTATE_VALUE_MAX : bytes - 3;

		if (bytes - 3 - len > 0 && bytes - 3 - len < 3)
			len -= 3;
		memset(value, 'v', len);
		value[len] = '\0';
		add_var(s, name, value);
		name[0]++;
		bytes -= len + 3;
	}
}

static void test_format_limits(void)
{
	char out[BOOTSTATE_SIZE], before[BOOTSTATE_SIZE], value[BOOTSTATE_VALUE_MAX + 1];
	struct bootstate s, t;
	size_t base;
	int r;

	bootstate_init(&s, 3);
	base = strlen(BOOTSTATE_HEADER BOOTSTATE_MESSAGE STELE_BODY);
	/* variables ending exactly at byte 512, then one byte more */
	fill_vars(&s, BOOTSTATE_ATOMIC_SIZE - base);
	r = bootstate_format(&s, out, &e);
	is_int(r, 0, "format: variables ending exactly at byte 512");
	ok(out[511] == '\n' && out[512] == '#', "format: byte 511 is the last newline");
	strcat(s.vars[s.n_vars - 1].value, "v");
	memset(out, 'Z', sizeof(out));
	memcpy(before, out, sizeof(out));
	r = bootstate_format(&s, out, &e);
	is_int(r, -ENOSPC, "format: 513 bytes of variables rejected");
	has_str(e.msg, "513 bytes", "format: 513 bytes: message says how many");
	has_str(e.msg, "512", "format: 513 bytes: message names the limit");
	ok(memcmp(out, before, sizeof(out)) == 0, "format: output untouched on failure");

	/* values that would fit unescaped but not escaped */
	bootstate_init(&s, 3);
	memset(value, '\\', sizeof(value));
	value[(BOOTSTATE_ATOMIC_SIZE - base - 3) / 2 + 1] = '\0';
	add_var(&s, "X", value);
	is_int(bootstate_format(&s, out, &e), -ENOSPC, "format: escaping counted in the size");

	/* several variables overflowing */
	bootstate_init(&s, 3);
	memset(value, 'v', 200);
	value[200] = '\0';
	add_var(&s, "A", value);
	add_var(&s, "B", value);
	is_int(bootstate_format(&s, out, &e), -ENOSPC, "format: two 200-byte values rejected");

	/* 32 other variables format, a 33rd is refused */
	bootstate_init(&s, 3);
	for (int i = 0; i < BOOTSTATE_VARS_MAX; i++) {
		char name[8];

		snprintf(name, sizeof(name), "V%d", i);
		add_var(&s, name, "");
	}
	is_int(bootstate_format(&s, out, &e), 0, "format: 32 other variables");
	s.n_vars = BOOTSTATE_VARS_MAX + 1;
	r = bootstate_format(&s, out, &e);
	ok(r == -EINVAL, "format: 33 other variables rejected");
	has_str(e.msg, "at most 32", "format: 33 other variables: message");

#define FORMAT_REJECTS(setup, frag, what)                                                           \
	do {                                                                                        \
		bootstate_init(&t, 3);                                                              \
		setup;                                                                              \
		memset(&e, 0, sizeof(e));                                                           \
		r = bootstate_format(&t, out, &e);                                                  \
		ok(r == -EINVAL, "format rejects %s (%d)", what, r);                                \
		has_str(e.msg, frag, "format rejects %s: message", what);                           \
	} while (0)

	FORMAT_REJECTS(t.slots[0].tries = 16, "STELE_A_TRIES=16", "A tries 16");
	FORMAT_REJECTS(bootstate_init(&t, 99), "STELE_A_TRIES=99", "init with 99 tries");
	FORMAT_REJECTS(t.slots[1].state = (enum bootstate_state)3, "STELE_B_STATE", "state 3");
	FORMAT_REJECTS(t.n_order = 0, "STELE_ORDER", "an empty order");
	FORMAT_REJECTS(t.n_order = 3, "STELE_ORDER", "an order of 3");
	FORMAT_REJECTS(t.order[1] = 'a', "twice", "order a a");
	FORMAT_REJECTS(t.order[0] = 'c', "STELE_ORDER", "slot c");
	FORMAT_REJECTS(add_var(&t, "bad-name", "1"), "bad-name", "name with '-'");
	FORMAT_REJECTS(add_var(&t, "", "1"), "name", "an empty name");
	FORMAT_REJECTS(add_var(&t, "STELE_ORDER", "b a"), "reserved", "a STELE_ name as other");
	FORMAT_REJECTS((add_var(&t, "X", "1"), add_var(&t, "X", "2")), "X appears twice",
		       "a duplicate name");
	FORMAT_REJECTS((add_var(&t, "X", "1"), memset(t.vars[0].value, 'v', sizeof(t.vars[0].value))),
		       "longer than 256", "an unterminated value");
	FORMAT_REJECTS((add_var(&t, "X", "1"), memset(t.vars[0].name, 'n', sizeof(t.vars[0].name))),
		       "unterminated", "an unterminated name");
}

/* Runs argv (no shell, so values may hold newlines and backslashes); stdout into out if given. */
static int run(const char *const argv[], char *out, size_t size)
{
	int pipefd[2], status;
	size_t n = 0;
	pid_t pid;

	if (pipe(pipefd) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		close(pipefd[1]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		ssize_t r = read(pipefd[0], out ? out + n : (char[256]){0},
				 out ? size - 1 - n : 256);

		if (r <= 0)
			break;
		if (out)
			n += (size_t)r;
		if (out && n == size - 1)
			break;
	}
	close(pipefd[0]);
	if (out)
		out[n] = '\0';
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int read_file(const char *path, char *buf, size_t size, struct stat *st)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size);
	if (st)
		fstat(fd, st);
	close(fd);
	return (int)n;
}

static int write_file(const char *path, const char *buf, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, buf, size);
	close(fd);
	return n == (ssize_t)size ? 0 : -1;
}

static void test_editenv(void)
{
	char path[256], path2[256], grub[BOOTSTATE_SIZE + 16], ours[BOOTSTATE_SIZE],
		list[4096];
	struct bootstate s, p;
	int r;

	if (system("command -v grub-editenv >/dev/null 2>&1") != 0) {
		ok(1, "grub-editenv checks # SKIP grub-editenv not installed");
		return;
	}
	snprintf(path, sizeof(path), "%s/grubenv", tmpdir);
	snprintf(path2, sizeof(path2), "%s/grubenv2", tmpdir);

	/* grub-editenv writes exactly what we write */
	is_int(run((const char *[]){"grub-editenv", path, "create", NULL}, NULL, 0), 0,
	       "grub-editenv create");
	r = run((const char *[]){"grub-editenv", path, "set", "STELE_ORDER=a b", "STELE_A_STATE=good",
				 "STELE_A_TRIES=3", "STELE_B_STATE=bad", "STELE_B_TRIES=0", NULL},
		NULL, 0);
	is_int(r, 0, "grub-editenv set the factory state");
	is_int(read_file(path, grub, sizeof(grub), NULL), BOOTSTATE_SIZE,
	       "grub-editenv wrote 1024 bytes");
	bootstate_init(&s, 3);
	is_int(bootstate_format(&s, ours, &e), 0, "format the factory state");
	ok(memcmp(grub, ours, BOOTSTATE_SIZE) == 0, "factory state byte-identical to grub-editenv's");

	/* and we read what it writes */
	r = bootstate_parse(grub, BOOTSTATE_SIZE, &p, &e);
	is_int(r, 0, "parse grub-editenv's block");
	ok(r == 0 && same_state(&s, &p), "grub-editenv's block: factory state");

	/* GRUB edits in place (values change length, text moves): still canonical */
	r = run((const char *[]){"grub-editenv", path, "set", "STELE_A_TRIES=12", "STELE_ORDER=b a",
				 "STELE_B_STATE=trial", "STELE_B_TRIES=2", "STELE_A_TRIES=1", NULL},
		NULL, 0);
	is_int(r, 0, "grub-editenv changes values in place");
	read_file(path, grub, sizeof(grub), NULL);
	r = bootstate_parse(grub, BOOTSTATE_SIZE, &p, &e);
	is_int(r, 0, "parse after grub-editenv's in-place changes");
	ok(r == 0 && p.n_order == 2 && p.order[0] == 'b' && p.slots[0].tries == 1 &&
		   p.slots[1].state == BOOTSTATE_TRIAL && p.slots[1].tries == 2,
	   "grub-editenv's changes read back");
	ok(r == 0 && bootstate_format(&p, ours, &e) == 0 && memcmp(grub, ours, BOOTSTATE_SIZE) == 0,
	   "re-format byte-identical after grub-editenv's in-place changes");

	/* variables that are not ours survive parse + format, escapes included */
	r = run((const char *[]){"grub-editenv", path, "set", "saved_entry=Debian, 6.1",
				 "back=a\\b\\", "nl=l1\nl2", "empty=", "next_entry=x=y#z", NULL},
		NULL, 0);
	is_int(r, 0, "grub-editenv sets other variables");
	read_file(path, grub, sizeof(grub), NULL);
	r = bootstate_parse(grub, BOOTSTATE_SIZE, &p, &e);
	is_int(r, 0, "parse a block with other variables");
	if (r < 0)
		printf("# %s\n", e.msg);
	is_int(p.n_vars, 5, "other variables: 5 kept");
	if (p.n_vars == 5) {
		is_str(p.vars[0].name, "saved_entry", "other variable 1: name, in order");
		is_str(p.vars[0].value, "Debian, 6.1", "other variable 1: value");
		is_str(p.vars[1].value, "a\\b\\", "other variable 2: backslashes unescaped");
		is_str(p.vars[2].value, "l1\nl2", "other variable 3: newline unescaped");
		is_str(p.vars[3].value, "", "other variable 4: empty value");
		is_str(p.vars[4].value, "x=y#z", "other variable 5: '=' and '#' in a value");
	}
	ok(r == 0 && bootstate_format(&p, ours, &e) == 0 && memcmp(grub, ours, BOOTSTATE_SIZE) == 0,
	   "other variables: parse + format byte-identical to grub-editenv's block");

	/* grub-editenv list reads what bootstate_write wrote */
	is_int(run((const char *[]){"grub-editenv", path2, "create", NULL}, NULL, 0), 0,
	       "grub-editenv create a second block");
	bootstate_init(&s, 5);
	s.order[0] = 'b';
	s.order[1] = 'a';
	s.slots[1] = (struct bootstate_slot){BOOTSTATE_TRIAL, 15};
	add_var(&s, "saved_entry", "0");
	add_var(&s, "back", "a\\b");
	add_var(&s, "nl", "l1\nl2");
	r = bootstate_write(path2, &s, &e);
	is_int(r, 0, "bootstate_write over grub-editenv's block");
	if (r < 0)
		printf("# %s\n", e.msg);
	r = run((const char *[]){"grub-editenv", path2, "list", NULL}, list, sizeof(list));
	is_int(r, 0, "grub-editenv list");
	is_str(list,
	       "STELE_ORDER=b a\nSTELE_A_STATE=good\nSTELE_A_TRIES=5\nSTELE_B_STATE=trial\n"
	       "STELE_B_TRIES=15\nsaved_entry=0\nback=a\\b\nnl=l1\nl2\n",
	       "grub-editenv list: every variable as written");

	/* what the GRUB script does before booting B: decrement its tries */
	r = run((const char *[]){"grub-editenv", path2, "set", "STELE_B_TRIES=14", NULL}, NULL, 0);
	is_int(r, 0, "grub-editenv decrements B's tries");
	r = bootstate_read(path2, &p, &e);
	is_int(r, 0, "bootstate_read after grub-editenv");
	s.slots[1].tries = 14;
	ok(r == 0 && same_state(&s, &p), "bootstate_read: grub-editenv's decrement, rest kept");
}

static void test_write(void)
{
	char path[256], buf[2 * BOOTSTATE_SIZE], before[2 * BOOTSTATE_SIZE], block[BOOTSTATE_SIZE],
		want[BOOTSTATE_SIZE];
	struct stat st0, st1;
	struct bootstate s, p;
	int r;

	snprintf(path, sizeof(path), "%s/state", tmpdir);
	bootstate_init(&s, 3);
	bootstate_format(&s, block, &e);
	write_file(path, block, sizeof(block));
	stat(path, &st0);

	s.order[0] = 'b';
	s.order[1] = 'a';
	s.slots[1] = (struct bootstate_slot){BOOTSTATE_TRIAL, 3};
	add_var(&s, "saved_entry", "0");
	r = bootstate_write(path, &s, &e);
	is_int(r, 0, "write: in place");
	if (r < 0)
		printf("# %s\n", e.msg);
	is_int(read_file(path, buf, sizeof(buf), &st1), BOOTSTATE_SIZE, "write: still 1024 bytes");
	ok(st0.st_ino == st1.st_ino && st0.st_dev == st1.st_dev, "write: same inode");
	is_int(st1.st_size, BOOTSTATE_SIZE, "write: size unchanged");
	bootstate_format(&s, want, &e);
	ok(memcmp(buf, want, BOOTSTATE_SIZE) == 0, "write: file holds the formatted block");
	ok(memcmp(buf + BOOTSTATE_ATOMIC_SIZE, block + BOOTSTATE_ATOMIC_SIZE,
		  BOOTSTATE_SIZE - BOOTSTATE_ATOMIC_SIZE) == 0,
	   "write: the second sector is unchanged");
	memset(&p, 0, sizeof(p));
	r = bootstate_read(path, &p, &e);
	is_int(r, 0, "read back");
	ok(r == 0 && same_state(&s, &p), "read back: same state");

	/* an invalid state is refused before the file is touched */
	s.slots[0].tries = 16;
	r = bootstate_write(path, &s, &e);
	ok(r == -EINVAL, "write: invalid state refused");
	has_str(e.msg, "STELE_A_TRIES", "write: invalid state: message names the variable");
	read_file(path, buf, sizeof(buf), &st1);
	ok(memcmp(buf, want, BOOTSTATE_SIZE) == 0 && st1.st_ino == st0.st_ino,
	   "write: invalid state: file unchanged");
	s.slots[0].tries = 3;

	/* files of the wrong size are refused and left alone */
	static const size_t sizes[] = {0, 1, 512, 1023, 1025, 2048};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(before, '#', sizeof(before));
		memcpy(before, want, BOOTSTATE_SIZE < sizes[i] ? BOOTSTATE_SIZE : sizes[i]);
		write_file(path, before, sizes[i]);
		stat(path, &st0);
		memset(&e, 0, sizeof(e));
		r = bootstate_write(path, &s, &e);
		ok(r == -EINVAL, "write: file of %zu bytes refused", sizes[i]);
		has_str(e.msg, path, "write: file of %zu bytes: message names the file", sizes[i]);
		{
			char frag[64];

			snprintf(frag, sizeof(frag), "%zu bytes, not 1024", sizes[i]);
			has_str(e.msg, frag, "write: file of %zu bytes: message says why", sizes[i]);
		}
		r = read_file(path, buf, sizeof(buf), &st1);
		ok(r == (int)sizes[i] && st1.st_size == (off_t)sizes[i] &&
			   st1.st_ino == st0.st_ino && memcmp(buf, before, sizes[i]) == 0,
		   "write: file of %zu bytes unchanged", sizes[i]);
		memset(&e, 0, sizeof(e));
		r = bootstate_read(path, &p, &e);
		ok(r < 0, "read: file of %zu bytes refused", sizes[i]);
	}

	/* a missing file is not created */
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	r = bootstate_write(path, &s, &e);
	ok(r == -ENOENT, "write: missing file refused (%d)", r);
	has_str(e.msg, "missing", "write: missing file: message names the file");
	ok(stat(path, &st1) < 0 && errno == ENOENT, "write: missing file not created");
	r = bootstate_read(path, &p, &e);
	ok(r == -ENOENT, "read: missing file");

	/* not a regular file */
	r = bootstate_write(tmpdir, &s, &e);
	ok(r < 0, "write: directory refused (%d)", r);
	r = bootstate_read(tmpdir, &p, &e);
	ok(r < 0, "read: directory refused");
	has_str(e.msg, "not a regular file", "read: directory: message");

	/* a 1024-byte file that is not a boot state: read names the file and the cause */
	snprintf(path, sizeof(path), "%s/garbage", tmpdir);
	memset(buf, 'x', BOOTSTATE_SIZE);
	write_file(path, buf, BOOTSTATE_SIZE);
	r = bootstate_read(path, &p, &e);
	ok(r == -EINVAL, "read: 1024 bytes of garbage refused");
	has_str(e.msg, "garbage: not a GRUB environment block", "read: garbage: message");
}

int main(void)
{
	char cmd[128];

	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_helpers();
	test_roundtrip();
	test_hostile();
	test_set();
	test_fifo();
	test_grub_agrees();
	test_flips();
	test_format_limits();
	test_editenv();
	test_write();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
	return tap_done();
}
