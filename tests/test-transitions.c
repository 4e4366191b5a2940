/* Unit tests of stele-update's boot-state transitions (rootfs/update/transitions.c), table-driven
 * like RAUC's test/bootchooser.c: {state, event, expected state}. Then whole update stories, the
 * transitions interleaved with GRUB's boots (bootstate_choose(), the model of grub.cfg): an
 * update committed, one that fails its health check, one that never comes up, a rollback.
 *
 * A state is written "ORDER A B": "ba G3 T2" is STELE_ORDER="b a", A good with 3 tries, B on
 * trial with 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rootfs/update/transitions.h"
#include "tap.h"

static void parse(const char *text, struct bootstate *s)
{
	const char *p = text;

	bootstate_init(s, 0);
	s->n_order = 0;
	for (; *p && *p != ' '; p++)
		s->order[s->n_order++] = *p;
	for (int i = 0; i < 2; i++) {
		char *end;

		if (*p++ != ' ' || !strchr("GTB", *p) || !*p) {
			printf("Bail out! bad state \"%s\"\n", text);
			exit(1);
		}
		s->slots[i].state = *p == 'G' ? BOOTSTATE_GOOD : *p == 'T' ? BOOTSTATE_TRIAL
									 : BOOTSTATE_BAD;
		s->slots[i].tries = (unsigned)strtoul(p + 1, &end, 10);
		p = end;
	}
}

static const char *show(const struct bootstate *s)
{
	static char buf[8][32];
	static int k;
	char *b = buf[k++ % 8];
	size_t n = 0;

	for (size_t i = 0; i < s->n_order; i++)
		b[n++] = s->order[i];
	for (int i = 0; i < 2; i++)
		n += (size_t)snprintf(b + n, 32 - n, " %c%u", "GTB"[s->slots[i].state],
				      s->slots[i].tries);
	return b;
}

enum op {
	INSTALL_BEGIN, /* install into slot: before the first write */
	INSTALL_DONE,  /* install into slot: written and synced, arg tries */
	COMMIT,        /* health --commit / mark-good, slot booted, arg tries */
	RESET,         /* health on a normal boot, slot booted, arg tries */
	REVERT,        /* health --commit with a failed check, slot booted */
	EXHAUSTED,     /* health, slot booted: the other slot's tries */
	MARK_BAD,      /* mark-bad slot */
	ROLLBACK,      /* rollback to slot, arg the refill */
};

static const char *const op_names[] = {"install-begin", "install-done", "commit", "reset-tries",
				       "revert", "exhausted", "mark-bad", "rollback"};

/* The return value of the op: bool ones as 0/1, exhausted as its enum, void ones 0. */
static int apply(enum op op, struct bootstate *s, char slot, unsigned arg)
{
	switch (op) {
	case INSTALL_BEGIN:
		return update_state_install_begin(s, slot);
	case INSTALL_DONE:
		update_state_install_done(s, slot, arg);
		return 0;
	case COMMIT:
		update_state_commit(s, slot, arg);
		return 0;
	case RESET:
		return update_state_reset_tries(s, slot, arg);
	case REVERT:
		return update_state_revert(s, slot);
	case EXHAUSTED:
		return (int)update_state_exhausted(s, slot);
	case MARK_BAD:
		return update_state_mark_bad(s, slot);
	case ROLLBACK:
		update_state_rollback(s, slot, arg);
		return 0;
	}
	return -1;
}

enum { NONE = UPDATE_EXHAUSTED_NONE, GOODX = UPDATE_EXHAUSTED_GOOD, MARKED = UPDATE_EXHAUSTED_MARKED };

static const struct row {
	const char *before;
	enum op op;
	char slot;
	unsigned arg;
	int ret;
	const char *after;
} rows[] = {
	/* install: the target bad before a byte is written; a bad target with no tries is
	 * not rewritten (ret 0); the order stays until the target is a trial */
	{"ab G3 B0", INSTALL_BEGIN, 'b', 0, 0, "ab G3 B0"},
	{"ab G3 G3", INSTALL_BEGIN, 'b', 0, 1, "ab G3 B0"},
	{"ab G3 T2", INSTALL_BEGIN, 'b', 0, 1, "ab G3 B0"},
	{"ab G3 B2", INSTALL_BEGIN, 'b', 0, 1, "ab G3 B0"},
	{"ba G3 G0", INSTALL_BEGIN, 'b', 0, 1, "ba G3 B0"},
	{"ba B0 G3", INSTALL_BEGIN, 'a', 0, 0, "ba B0 G3"},
	{"a G3 B0", INSTALL_BEGIN, 'b', 0, 0, "a G3 B0"},
	{"ab G3 B0", INSTALL_DONE, 'b', 3, 0, "ba G3 T3"},
	{"ab G2 B0", INSTALL_DONE, 'b', 15, 0, "ba G2 T15"},
	{"ba B0 G3", INSTALL_DONE, 'a', 1, 0, "ab T1 G3"},
	{"a G3 B0", INSTALL_DONE, 'b', 3, 0, "ba G3 T3"},
	/* commit: good, tries reset, first; the other slot untouched */
	{"ba G3 T2", COMMIT, 'b', 3, 0, "ba G3 G3"},
	{"ba G3 T0", COMMIT, 'b', 5, 0, "ba G3 G5"},
	{"ab T1 G2", COMMIT, 'a', 3, 0, "ab G3 G2"},
	{"ab G1 B0", COMMIT, 'a', 3, 0, "ab G3 B0"},
	{"ba G2 B0", COMMIT, 'a', 3, 0, "ab G3 B0"}, /* the fallback boot of a, committed */
	{"b G2 T1", COMMIT, 'b', 4, 0, "ba G2 G4"},
	/* a normal healthy boot: only the tries, and only when they differ */
	{"ab G2 B0", RESET, 'a', 3, 1, "ab G3 B0"},
	{"ab G3 B0", RESET, 'a', 3, 0, "ab G3 B0"},
	{"ba G0 G1", RESET, 'b', 3, 1, "ba G0 G3"},
	{"ab G5 B0", RESET, 'a', 3, 1, "ab G3 B0"},
	/* revert: only onto a good slot */
	{"ba G3 T2", REVERT, 'b', 0, 1, "ab G3 B2"},
	{"ab T1 G3", REVERT, 'a', 0, 1, "ba B1 G3"},
	{"ba G0 T2", REVERT, 'b', 0, 1, "ab G0 B2"},
	{"ba B0 T2", REVERT, 'b', 0, 0, "ba B0 T2"},
	{"ba T2 T2", REVERT, 'b', 0, 0, "ba T2 T2"},
	{"ab G3 G3", REVERT, 'a', 0, 1, "ba B3 G3"},
	/* exhausted tries of the other slot, seen from the booted one */
	{"ba G2 T0", EXHAUSTED, 'a', 0, MARKED, "ab G2 B0"},
	{"ab T0 G2", EXHAUSTED, 'b', 0, MARKED, "ba B0 G2"},
	{"ba G2 T1", EXHAUSTED, 'a', 0, NONE, "ba G2 T1"},
	{"ab G2 B0", EXHAUSTED, 'a', 0, NONE, "ab G2 B0"},
	{"ab G2 B3", EXHAUSTED, 'a', 0, NONE, "ab G2 B3"},
	{"ab G0 G2", EXHAUSTED, 'b', 0, GOODX, "ab G0 G2"},
	{"ba G2 G0", EXHAUSTED, 'a', 0, GOODX, "ba G2 G0"},
	{"ab G2 G3", EXHAUSTED, 'a', 0, NONE, "ab G2 G3"},
	{"a G2 T0", EXHAUSTED, 'a', 0, MARKED, "ab G2 B0"},
	/* mark-bad: never both */
	{"ab G3 G3", MARK_BAD, 'a', 0, 1, "ba B3 G3"},
	{"ab G3 G3", MARK_BAD, 'b', 0, 1, "ab G3 B3"},
	{"ba G3 T2", MARK_BAD, 'b', 0, 1, "ab G3 B2"},
	{"ab G3 B0", MARK_BAD, 'a', 0, 0, "ab G3 B0"},
	{"ab G3 B0", MARK_BAD, 'b', 0, 1, "ab G3 B0"},
	{"ba B0 G3", MARK_BAD, 'b', 0, 0, "ba B0 G3"},
	{"a G3 T1", MARK_BAD, 'a', 0, 1, "ba B3 T1"},
	{"b G3 T1", MARK_BAD, 'a', 0, 1, "b B3 T1"},
	/* a trial with no tries left cannot boot either (GRUB's fallback retries only good
	 * slots): marking the other bad would leave nothing */
	{"ab G3 T0", MARK_BAD, 'a', 0, 0, "ab G3 T0"},
	{"ba T0 G3", MARK_BAD, 'b', 0, 0, "ba T0 G3"},
	{"ab G3 T1", MARK_BAD, 'a', 0, 1, "ba B3 T1"},
	{"ab G3 G0", MARK_BAD, 'a', 0, 1, "ba B3 G0"},
	/* rollback: the other first; its tries refilled only when spent */
	{"ba G3 G2", ROLLBACK, 'a', 3, 0, "ab G3 G2"},
	{"ba G0 G2", ROLLBACK, 'a', 3, 0, "ab G3 G2"},
	{"ab G2 G0", ROLLBACK, 'b', 7, 0, "ba G2 G7"},
	{"ab G2 G1", ROLLBACK, 'b', 7, 0, "ba G2 G1"},
	{"a G2 G0", ROLLBACK, 'b', 3, 0, "ba G2 G3"},
};

static void test_rows(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct bootstate s;
		int ret;

		parse(r->before, &s);
		ret = apply(r->op, &s, r->slot, r->arg);
		ok(ret == r->ret && strcmp(show(&s), r->after) == 0, "%s, %s %c %u: %d, %s",
		   r->before, op_names[r->op], r->slot, r->arg, r->ret, r->after);
		if (ret != r->ret || strcmp(show(&s), r->after) != 0)
			printf("#   got %d, %s\n", ret, show(&s));
	}
}

/* Whether GRUB (its model) finds a slot to boot in s, every slot loading. */
static int bootable(const struct bootstate *s)
{
	struct bootstate t = *s;
	struct bootstate_choice c;

	bootstate_choose(&t, BOOTSTATE_LOADABLE_ALL, &c);
	return c.slot != '\0';
}

/* Every transition of every valid state leaves a state the codec writes (order valid, tries
 * 0..15), and none but install's first step (the target bad while it is written) turns a
 * state GRUB can boot into one it cannot. */
static void test_closed(void)
{
	static const char *const orders[] = {"ab", "ba", "a", "b"};
	unsigned n = 0, invalid = 0, stranded = 0;
	struct err e;

	for (size_t o = 0; o < 4; o++)
		for (unsigned st = 0; st < 9; st++)
			for (unsigned t = 0; t < 16 * 16; t++)
				for (int op = INSTALL_BEGIN; op <= ROLLBACK; op++)
					for (char slot = 'a'; slot <= 'b'; slot++) {
						struct bootstate s, before;
						char text[32];

						snprintf(text, sizeof(text), "%s %c%u %c%u", orders[o],
							 "GTB"[st / 3], t / 16, "GTB"[st % 3], t % 16);
						parse(text, &s);
						before = s;
						/* the caller of rollback checked its target is good */
						if (op == ROLLBACK &&
						    update_state_slot(&s, slot)->state != BOOTSTATE_GOOD)
							continue;
						apply((enum op)op, &s, slot, 3);
						n++;
						if (bootstate_validate(&s, &e) < 0)
							invalid++;
						if (op != INSTALL_BEGIN && bootable(&before) &&
						    !bootable(&s) && stranded++ < 8)
							printf("#   %s %c: %s leaves %s, nothing to boot\n",
							       op_names[op], slot, text, show(&s));
					}
	ok(n > 10000, "%u transitions of valid states", n);
	is_int(invalid, 0, "every transition leaves a valid state");
	is_int(stranded, 0, "no transition (but install's first step) leaves GRUB nothing to boot");
}

static const struct action_row {
	int trial, commit, failed;
	enum update_health_action want;
} actions[] = {
	{1, 1, 0, UPDATE_HEALTH_COMMIT},  {1, 1, 1, UPDATE_HEALTH_REVERT},
	{1, 0, 0, UPDATE_HEALTH_TRIAL_OK}, {1, 0, 1, UPDATE_HEALTH_FAILED},
	{0, 1, 0, UPDATE_HEALTH_HEALTHY}, {0, 1, 1, UPDATE_HEALTH_FAILED},
	{0, 0, 0, UPDATE_HEALTH_HEALTHY}, {0, 0, 1, UPDATE_HEALTH_FAILED},
};

static void test_health_action(void)
{
	static const char *const names[] = {"commit", "revert", "failed", "trial-ok", "healthy"};

	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		const struct action_row *a = &actions[i];

		is_int(update_health_action(a->trial, a->commit, a->failed), a->want,
		       "health%s on a %s boot, checks %s: %s", a->commit ? " --commit" : "",
		       a->trial ? "trial" : "normal", a->failed ? "failing" : "passing",
		       names[a->want]);
	}
}

/* The rollback floor after a commit: the lowest index among the good slots. */
static const struct floor_row {
	const char *state;
	char booted;
	uint64_t booted_index;
	int other_valid;
	uint64_t other_index, want;
} floors[] = {
	{"ba G3 G3", 'b', 5, 1, 3, 3},  /* the older good slot stays bootable */
	{"ba G3 G3", 'b', 5, 1, 7, 5},  /* a newer one does not raise it past the booted */
	{"ba G3 G3", 'b', 5, 0, 3, 5},  /* the other holds no valid image */
	{"ba B0 G3", 'b', 5, 1, 3, 5},  /* the other is bad: not a fallback */
	{"ba T2 G3", 'b', 5, 1, 3, 5},  /* nor a trial */
	{"ab G3 G0", 'a', 9, 1, 2, 2},  /* good with no tries left is still good */
	{"ab G3 G0", 'a', 0, 1, 2, 0},
	{"ab G3 G3", 'a', UINT64_MAX, 1, UINT64_MAX - 1, UINT64_MAX - 1},
	{"ab G3 G3", 'a', 4, 1, 4, 4},
};

static void test_floor(void)
{
	for (size_t i = 0; i < sizeof(floors) / sizeof(floors[0]); i++) {
		const struct floor_row *f = &floors[i];
		struct bootstate s;

		parse(f->state, &s);
		is_int(update_floor(&s, f->booted, f->booted_index,
				    f->other_valid ? &f->other_index : NULL),
		       f->want, "floor: %s, booted %c index %llu, other %s%llu: %llu", f->state,
		       f->booted, (unsigned long long)f->booted_index,
		       f->other_valid ? "" : "invalid, ", (unsigned long long)f->other_index,
		       (unsigned long long)f->want);
	}
}

/* Stories: GRUB's boots and stele-update's transitions in turn. Steps: "boot" (GRUB; the
 * expected slot booted follows, upper case for its fallback), or a transition as in the rows
 * (slot '.': the slot last booted). After every step, the state. */
struct step {
	const char *what; /* "boot" or NULL for a transition */
	enum op op;
	char slot;
	unsigned arg;
	const char *after;
};

static const struct story {
	const char *name, *start;
	struct step steps[12];
} stories[] = {
	{"an update, committed",
	 "ab G3 B0",
	 {{"boot a", 0, 0, 0, "ab G2 B0"},
	  {NULL, RESET, '.', 3, "ab G3 B0"},
	  {NULL, INSTALL_BEGIN, 'b', 0, "ab G3 B0"},
	  {NULL, INSTALL_DONE, 'b', 3, "ba G3 T3"},
	  {"boot b", 0, 0, 0, "ba G3 T2"},
	  {NULL, EXHAUSTED, '.', 0, "ba G3 T2"},
	  {NULL, COMMIT, '.', 3, "ba G3 G3"},
	  {"boot b", 0, 0, 0, "ba G3 G2"},
	  {NULL, RESET, '.', 3, "ba G3 G3"}}},
	{"an update that fails its health check",
	 "ab G3 B0",
	 {{NULL, INSTALL_BEGIN, 'b', 0, "ab G3 B0"},
	  {NULL, INSTALL_DONE, 'b', 3, "ba G3 T3"},
	  {"boot b", 0, 0, 0, "ba G3 T2"},
	  {NULL, REVERT, '.', 0, "ab G3 B2"},
	  {"boot a", 0, 0, 0, "ab G2 B2"},
	  {NULL, EXHAUSTED, '.', 0, "ab G2 B2"},
	  {NULL, RESET, '.', 3, "ab G3 B2"}}},
	{"an update that never comes up (stele-init fails, GRUB counts)",
	 "ab G3 B0",
	 {{NULL, INSTALL_BEGIN, 'b', 0, "ab G3 B0"},
	  {NULL, INSTALL_DONE, 'b', 2, "ba G3 T2"},
	  {"boot b", 0, 0, 0, "ba G3 T1"},
	  {"boot b", 0, 0, 0, "ba G3 T0"},
	  {"boot a", 0, 0, 0, "ba G2 T0"},
	  {NULL, EXHAUSTED, '.', 0, "ab G2 B0"},
	  {NULL, RESET, '.', 3, "ab G3 B0"},
	  {"boot a", 0, 0, 0, "ab G2 B0"}}},
	{"a good slot that stopped booting: the older one takes over, both stay good",
	 "ba G3 G1",
	 {{"boot b", 0, 0, 0, "ba G3 G0"},
	  {"boot a", 0, 0, 0, "ba G2 G0"},
	  {NULL, EXHAUSTED, '.', 0, "ba G2 G0"},
	  {NULL, RESET, '.', 3, "ba G3 G0"},
	  {"boot a", 0, 0, 0, "ba G2 G0"}}},
	{"a rollback to the older good slot, then an update over it",
	 "ba G0 G3",
	 {{"boot b", 0, 0, 0, "ba G0 G2"},
	  {NULL, ROLLBACK, 'a', 3, "ab G3 G2"},
	  {"boot a", 0, 0, 0, "ab G2 G2"},
	  {NULL, INSTALL_BEGIN, 'b', 0, "ab G2 B0"},
	  {NULL, INSTALL_DONE, 'b', 3, "ba G2 T3"},
	  {"boot b", 0, 0, 0, "ba G2 T2"},
	  {NULL, COMMIT, '.', 3, "ba G2 G3"}}},
	{"mark-bad of the running slot: the next boot takes the other",
	 "ab G2 G3",
	 {{"boot a", 0, 0, 0, "ab G1 G3"},
	  {NULL, MARK_BAD, '.', 0, "ba B1 G3"},
	  {"boot b", 0, 0, 0, "ba B1 G2"},
	  {NULL, MARK_BAD, 'b', 0, "ba B1 G2"}}},
	{"nothing left but the fallback: a good slot keeps booting with no tries",
	 "ab G1 B0",
	 {{"boot a", 0, 0, 0, "ab G0 B0"},
	  {"boot A", 0, 0, 0, "ab G0 B0"},
	  {NULL, RESET, '.', 3, "ab G3 B0"},
	  {"boot a", 0, 0, 0, "ab G2 B0"}}},
};

static void test_stories(void)
{
	for (size_t i = 0; i < sizeof(stories) / sizeof(stories[0]); i++) {
		const struct story *st = &stories[i];
		struct bootstate s;
		char booted = 'a';
		int good = 1;

		parse(st->start, &s);
		for (size_t k = 0; k < 12 && st->steps[k].after; k++) {
			const struct step *p = &st->steps[k];
			char got[64];

			if (p->what) {
				struct bootstate_choice c;
				char want = p->what[5];

				bootstate_choose(&s, BOOTSTATE_LOADABLE_ALL, &c);
				if (!c.slot || (c.fallback ? c.slot - 'a' + 'A' : c.slot) != want) {
					printf("#   %s: step %zu: booted %c%s\n", st->name, k,
					       c.slot ? c.slot : '-', c.fallback ? " (fallback)" : "");
					good = 0;
				}
				booted = c.slot ? c.slot : booted;
			} else {
				apply(p->op, &s, p->slot == '.' ? booted : p->slot, p->arg);
			}
			snprintf(got, sizeof(got), "%s", show(&s));
			if (strcmp(got, p->after) != 0) {
				printf("#   %s: step %zu (%s): %s, want %s\n", st->name, k,
				       p->what ? p->what : op_names[p->op], got, p->after);
				good = 0;
			}
		}
		ok(good, "story: %s", st->name);
	}
}

int main(void)
{
	test_rows();
	test_closed();
	test_health_action();
	test_floor();
	test_stories();
	return tap_done();
}
