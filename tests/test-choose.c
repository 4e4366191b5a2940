/* rootfs/update/choose.c, driven by a table: each row a channel, a device and a time, and
 * the decision `stele-update poll` must take; and lib/updatecfg.c's parser and window. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/updatecfg.h"
#include "rootfs/update/choose.h"
#include "tap.h"

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"
#define H3 "3333333333333333333333333333333333333333333333333333333333333333"
#define T0 1800000000LL

static struct tuf_target tg[3] = {{.name = "app-1.bundle"}, {.name = "app-2.bundle"},
				  {.name = "app-3.bundle"}};

static struct rollout_release rel(int i, const char *version, uint64_t ri, const char *hash,
				  int pct_now, int64_t full_at)
{
	struct rollout_release r = {.target = &tg[i], .rollback_index = ri, .published = T0,
				    .nwaves = 2};

	strcpy(r.product, "app");
	strcpy(r.arch, "x86_64");
	strcpy(r.version, version);
	strcpy(r.root_hash, hash);
	r.waves[0].at = T0;
	r.waves[0].percent = pct_now;
	r.waves[1].at = full_at;
	r.waves[1].percent = 100;
	return r;
}

struct row {
	const char *desc;
	int nrels;
	struct rollout_release rels[3];
	const char *version, *hash;
	uint64_t ri;
	enum choose_slot_state other;
	const char *other_version, *other_hash;
	uint64_t other_ri, floor;
	double share;
	int64_t now;
	enum choose_what want;
	const char *want_version; /* of out.rel */
	const char *want_why;
};

static void run_row(struct row *w)
{
	struct choose_in in = {.rels = w->rels, .n = (size_t)w->nrels, .channel = "stable",
			       .product = "app", .arch = "x86_64", .version = w->version,
			       .root_hash = w->hash, .rollback_index = w->ri,
			       .other_state = w->other, .other_version = w->other_version,
			       .other_root_hash = w->other_hash, .other_rollback_index = w->other_ri,
			       .floor = w->floor, .share = w->share, .now = w->now};
	struct choose_out out;

	choose(&in, &out);
	ok(out.what == w->want && (!w->want_version ||
				   (out.rel && strcmp(out.rel->version, w->want_version) == 0)) &&
	   (!w->want_why || strstr(out.why, w->want_why)),
	   "%s: %s (%s)", w->desc, choose_names[out.what], out.why);
}

static void test_table(void)
{
	struct row rows[] = {
		{"nothing newer", 1, {rel(0, "1.0", 1, H1, 100, T0)}, "1.0", H1, 1,
		 CHOOSE_OTHER_NONE, NULL, NULL, 0, 0, 0.5, T0 + 10, CHOOSE_UP_TO_DATE, NULL,
		 "is the newest"},
		{"a newer release open to the share", 2,
		 {rel(0, "1.0", 1, H1, 100, T0), rel(1, "2.0", 2, H2, 10, T0 + 86400)}, "1.0", H1, 1,
		 CHOOSE_OTHER_NONE, NULL, NULL, 0, 0, 0.05, T0 + 10, CHOOSE_INSTALL, "2.0",
		 "open to 10%"},
		{"a newer release not open to the share yet", 2,
		 {rel(0, "1.0", 1, H1, 100, T0), rel(1, "2.0", 2, H2, 10, T0 + 86400)}, "1.0", H1, 1,
		 CHOOSE_OTHER_NONE, NULL, NULL, 0, 0, 0.5, T0 + 10, CHOOSE_WAIT, "2.0",
		 "share 0.50"},
		{"the next wave reaches the share", 2,
		 {rel(0, "1.0", 1, H1, 100, T0), rel(1, "2.0", 2, H2, 10, T0 + 86400)}, "1.0", H1, 1,
		 CHOOSE_OTHER_NONE, NULL, NULL, 0, 0, 0.5, T0 + 86400, CHOOSE_INSTALL, "2.0", NULL},
		{"share exactly at the wave's edge waits (below, not at)", 1,
		 {rel(1, "2.0", 2, H2, 10, T0 + 86400)}, "1.0", H1, 1, CHOOSE_OTHER_NONE, NULL, NULL,
		 0, 0, 0.10, T0 + 10, CHOOSE_WAIT, "2.0", NULL},
		{"an older open release before a newer one waiting", 3,
		 {rel(0, "1.0", 1, H1, 100, T0), rel(1, "2.0", 2, H2, 100, T0),
		  rel(2, "3.0", 3, H3, 10, T0 + 86400)}, "1.0", H1, 1, CHOOSE_OTHER_NONE, NULL, NULL,
		 0, 0, 0.5, T0 + 10, CHOOSE_INSTALL, "2.0", NULL},
		{"the newest of two open releases", 3,
		 {rel(0, "1.0", 1, H1, 100, T0), rel(2, "3.0", 3, H3, 100, T0),
		  rel(1, "2.0", 2, H2, 100, T0)}, "1.0", H1, 1, CHOOSE_OTHER_NONE, NULL, NULL,
		 0, 0, 0.5, T0 + 10, CHOOSE_INSTALL, "3.0", NULL},
		{"a revoked newer release is not taken", 2,
		 {rel(0, "1.0", 1, H1, 100, T0), rel(1, "2.0", 2, H2, 100, T0)}, "1.0", H1, 1,
		 CHOOSE_OTHER_NONE, NULL, NULL, 0, 0, 0.5, T0 + 10, CHOOSE_UP_TO_DATE, NULL, NULL},
		{"below the rollback floor is not taken", 1, {rel(1, "2.0", 2, H2, 100, T0)}, "1.0",
		 H1, 1, CHOOSE_OTHER_NONE, NULL, NULL, 0, 3, 0.5, T0 + 10, CHOOSE_UP_TO_DATE, NULL,
		 NULL},
		{"a lower rollback index is never newer", 1, {rel(0, "9.0", 0, H2, 100, T0)}, "1.0",
		 H1, 1, CHOOSE_OTHER_NONE, NULL, NULL, 0, 0, 0.5, T0 + 10, CHOOSE_UP_TO_DATE, NULL,
		 NULL},
		{"same rollback index, higher version (1.10 > 1.9)", 1,
		 {rel(0, "1.10", 1, H2, 100, T0)}, "1.9", H1, 1, CHOOSE_OTHER_NONE, NULL, NULL, 0, 0,
		 0.5, T0 + 10, CHOOSE_INSTALL, "1.10", NULL},
		{"min_from not met", 1, {rel(1, "2.0", 2, H2, 100, T0)}, "1.0", H1, 1,
		 CHOOSE_OTHER_NONE, NULL, NULL, 0, 0, 0.5, T0 + 10, CHOOSE_BLOCKED, "2.0",
		 "needs version 1.5"},
		{"a release that failed here is not tried again", 1, {rel(1, "2.0", 2, H2, 100, T0)},
		 "1.0", H1, 1, CHOOSE_OTHER_BAD, "2.0", H2, 2, 0, 0.5, T0 + 10, CHOOSE_BLOCKED, "2.0",
		 "failed on this device"},
		{"installed, waiting for its reboot", 1, {rel(1, "2.0", 2, H2, 100, T0)}, "1.0", H1,
		 1, CHOOSE_OTHER_TRIAL, "2.0", H2, 2, 0, 0.5, T0 + 10, CHOOSE_PENDING, "2.0", NULL},
		{"a paused channel", 2,
		 {rel(0, "1.0", 1, H1, 100, T0), rel(1, "2.0", 2, H2, 100, T0)}, "1.0", H1, 1,
		 CHOOSE_OTHER_NONE, NULL, NULL, 0, 0, 0.05, T0 + 10, CHOOSE_PAUSED, NULL, "paused"},
		{"the running release revoked, the other slot good: pull back", 2,
		 {rel(0, "1.0", 1, H1, 100, T0), rel(1, "2.0", 2, H2, 100, T0)}, "2.0", H2, 2,
		 CHOOSE_OTHER_GOOD, "1.0", H1, 1, 1, 0.5, T0 + 10, CHOOSE_PULL_BACK, NULL,
		 "back to the other slot's version 1.0"},
		{"revoked, but the other slot is below the floor: no pull-back", 2,
		 {rel(0, "1.0", 1, H1, 100, T0), rel(1, "2.0", 2, H2, 100, T0)}, "2.0", H2, 2,
		 CHOOSE_OTHER_GOOD, "1.0", H1, 1, 2, 0.5, T0 + 10, CHOOSE_UP_TO_DATE, NULL, NULL},
		{"revoked, but the other slot is bad: no pull-back", 2,
		 {rel(0, "1.0", 1, H1, 100, T0), rel(1, "2.0", 2, H2, 100, T0)}, "2.0", H2, 2,
		 CHOOSE_OTHER_BAD, "1.0", H1, 1, 1, 0.5, T0 + 10, CHOOSE_UP_TO_DATE, NULL, NULL},
		{"revoked, and the other slot's release revoked too: no pull-back", 2,
		 {rel(0, "1.0", 1, H1, 100, T0), rel(1, "2.0", 2, H2, 100, T0)}, "2.0", H2, 2,
		 CHOOSE_OTHER_GOOD, "1.0", H1, 1, 1, 0.5, T0 + 10, CHOOSE_UP_TO_DATE, NULL, NULL},
		{"revoked, a newer release open: pull-back first", 3,
		 {rel(0, "1.0", 1, H1, 100, T0), rel(1, "2.0", 2, H2, 100, T0),
		  rel(2, "3.0", 3, H3, 100, T0)}, "2.0", H2, 2, CHOOSE_OTHER_GOOD, "1.0", H1, 1, 1,
		 0.5, T0 + 10, CHOOSE_PULL_BACK, NULL, NULL},
		{"another product's release is ignored", 1, {rel(1, "2.0", 2, H2, 100, T0)}, "1.0",
		 H1, 1, CHOOSE_OTHER_NONE, NULL, NULL, 0, 0, 0.5, T0 + 10, CHOOSE_UP_TO_DATE, NULL,
		 NULL},
	};

	rows[7].rels[1].revoked = true;
	rows[11].rels[0].min_from[0] = '\0';
	strcpy(rows[11].rels[0].min_from, "1.5");
	rows[14].rels[0].paused = true;
	rows[15].rels[1].revoked = true;
	rows[16].rels[1].revoked = true;
	rows[17].rels[1].revoked = true;
	rows[18].rels[1].revoked = true;
	rows[18].rels[0].revoked = true;
	rows[19].rels[1].revoked = true;
	strcpy(rows[20].rels[0].product, "other");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		run_row(&rows[i]);
}

static void cfg_is(const char *json, int want, const char *frag, const char *what)
{
	struct updatecfg c;
	struct err e = {{0}};
	int r = updatecfg_parse("u.json", json, strlen(json), &c, &e);

	ok(want == 0 ? r == 0 : (r < 0 && strstr(e.msg, frag)), "update.json: %s (%s)", what,
	   r == 0 ? "accepted" : e.msg);
}

static void test_updatecfg(void)
{
	struct updatecfg c, back;
	char *s;
	int32_t a, b;

	cfg_is("{\"url\":\"http://h/r\",\"channel\":\"stable\"}", 0, "", "the least");
	cfg_is("{\"url\":\"ftp://h/r\",\"channel\":\"stable\"}", -1, "url", "an ftp url");
	cfg_is("{\"url\":\"http://h/r\"}", -1, "required", "no channel");
	cfg_is("{\"url\":\"http://h/r\",\"channel\":\"stable\",\"x\":1}", -1, "x: unknown key",
	       "an unknown key");
	cfg_is("{\"url\":\"http://h/r\",\"channel\":\"stable\",\"channel\":\"beta\"}", -1,
	       "given twice", "a key twice");
	cfg_is("{\"url\":\"http://h/r\",\"channel\":\"stable\",\"interval\":1}", -1, "interval",
	       "an interval of 1 s");
	cfg_is("{\"url\":\"http://h/r\",\"channel\":\"stable\",\"window\":{\"start\":1,\"end\":1}}",
	       -1, "window", "an empty window");
	cfg_is("{\"url\":\"http://h/\\nr\",\"channel\":\"stable\"}", -1, "url",
	       "a control byte in the url");
	cfg_is("[]", -1, "not a JSON object", "an array");
	updatecfg_defaults(&c);
	strcpy(c.url, "https://u/r");
	strcpy(c.channel, "beta");
	c.has_window = true;
	c.window_start = 22 * 3600;
	c.window_end = 2 * 3600;
	c.reboot = UPDATECFG_REBOOT_WINDOW;
	c.max_rate = 1000;
	strcpy(c.inhibit, "/run/x");
	s = updatecfg_write(&c);
	ok(s && updatecfg_parse("w", s, strlen(s), &back, NULL) == 0 &&
	   memcmp(&back, &c, sizeof(c)) == 0, "updatecfg_write reads back to the same config");
	free(s);
	ok(updatecfg_in_window(&c, 23 * 3600) && updatecfg_in_window(&c, 86400 + 3600) &&
	   !updatecfg_in_window(&c, 12 * 3600), "a window across midnight");
	is_int(updatecfg_next_window(&c, 12 * 3600), 22 * 3600, "the next window opens at 22:00");
	ok(updatecfg_parse_window("02:00-04:30", &a, &b) == 0 && a == 7200 && b == 16200 &&
	   updatecfg_parse_window("2:00-4:00", &a, &b) < 0 &&
	   updatecfg_parse_window("02:00-24:00", &a, &b) < 0 &&
	   updatecfg_parse_window("02:00-02:00", &a, &b) < 0, "window strings");
}

int main(void)
{
	test_table();
	test_updatecfg();
	return tap_done();
}
