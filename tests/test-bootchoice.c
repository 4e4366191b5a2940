/* Unit tests of bootstate_choose() (bootloader/bootstate.c), the C model of grub.cfg's slot
 * choice, table-driven like RAUC's test/bootchooser.c: a state, which slots load, and the slot
 * GRUB boots with the tries it saves; then whole boot sequences (a trial that never comes up,
 * an empty slot, a good slot that stopped booting); then invariants over every valid state. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootloader/bootstate.h"
#include "tap.h"

enum { G = BOOTSTATE_GOOD, T = BOOTSTATE_TRIAL, B = BOOTSTATE_BAD };
#define LA 1u /* slot a loads */
#define LB 2u /* slot b loads */
#define LALL (LA | LB)

struct row {
	const char *order;
	int a_state;
	unsigned a_tries;
	int b_state;
	unsigned b_tries;
	unsigned loadable;
	/* expected: the slot ('-' none), trial, fallback, the tries saved */
	char slot;
	int trial, fallback;
	unsigned a_after, b_after;
};

static const struct row rows[] = {
	/* the factory state and plain boots */
	{"a b", G, 3, B, 0, LALL, 'a', 0, 0, 2, 0},
	{"a b", G, 1, B, 0, LALL, 'a', 0, 0, 0, 0},
	{"a b", G, 2, B, 0, LALL, 'a', 0, 0, 1, 0},
	{"a b", G, 15, B, 0, LALL, 'a', 0, 0, 14, 0},
	{"a b", G, 3, G, 3, LALL, 'a', 0, 0, 2, 3},
	{"b a", G, 3, G, 3, LALL, 'b', 0, 0, 3, 2},
	{"b", G, 3, G, 2, LALL, 'b', 0, 0, 3, 1},
	{"a", G, 1, G, 2, LALL, 'a', 0, 0, 0, 2},
	/* a trial: stele.trial=1 only for exactly trial */
	{"b a", G, 3, T, 3, LALL, 'b', 1, 0, 3, 2},
	{"b a", G, 3, T, 1, LALL, 'b', 1, 0, 3, 0},
	{"a b", T, 15, G, 3, LALL, 'a', 1, 0, 14, 3},
	{"a b", T, 2, G, 3, LALL, 'a', 1, 0, 1, 3},
	/* exhausted tries: the next slot in the order */
	{"b a", G, 3, T, 0, LALL, 'a', 0, 0, 2, 0},
	{"a b", G, 0, G, 3, LALL, 'b', 0, 0, 0, 2},
	{"a b", T, 0, G, 1, LALL, 'b', 0, 0, 0, 0},
	/* bad is never tried, whatever its tries */
	{"a b", B, 3, G, 3, LALL, 'b', 0, 0, 3, 2},
	{"b a", G, 3, B, 15, LALL, 'a', 0, 0, 2, 15},
	/* no tries left anywhere: the good slots again, in order, no try spent */
	{"a b", G, 0, B, 0, LALL, 'a', 0, 1, 0, 0},
	{"b a", G, 0, T, 0, LALL, 'a', 0, 1, 0, 0},
	{"b a", G, 0, G, 0, LALL, 'b', 0, 1, 0, 0},
	{"a b", G, 0, G, 0, LALL, 'a', 0, 1, 0, 0},
	{"a b", T, 0, G, 0, LALL, 'b', 0, 1, 0, 0},
	/* nothing: GRUB reboots */
	{"b a", B, 0, T, 0, LALL, '-', 0, 0, 0, 0},
	{"b a", B, 3, T, 0, LALL, '-', 0, 0, 3, 0},
	{"a b", T, 0, B, 0, LALL, '-', 0, 0, 0, 0},
	{"a b", B, 0, B, 0, LALL, '-', 0, 0, 0, 0},
	{"a b", T, 0, T, 0, LALL, '-', 0, 0, 0, 0},
	/* a slot outside the order is never booted, not even in the fallback */
	{"a", G, 0, G, 3, LALL, 'a', 0, 1, 0, 3},
	{"a", B, 3, G, 3, LALL, '-', 0, 0, 3, 3},
	{"b", G, 3, B, 0, LALL, '-', 0, 0, 3, 0},
	{"b", G, 3, T, 0, LALL, '-', 0, 0, 3, 0},
	/* a slot that does not load (empty): its try is spent, the next one is tried */
	{"b a", G, 3, T, 3, LA, 'a', 0, 0, 2, 2},
	{"b a", G, 0, T, 3, LA, 'a', 0, 1, 0, 2},
	{"a b", G, 3, G, 0, LB, 'b', 0, 1, 2, 0},
	{"a b", G, 3, G, 3, LB, 'b', 0, 0, 2, 2},
	{"a b", G, 3, B, 0, LB, '-', 0, 0, 2, 0},
	{"a b", G, 3, G, 3, 0, '-', 0, 0, 2, 2},
	{"b a", G, 1, T, 1, 0, '-', 0, 0, 0, 0},
	{"b a", G, 0, T, 2, LB, 'b', 1, 0, 0, 1},
};

static void set_order(struct bootstate *s, const char *order)
{
	s->n_order = 0;
	for (const char *p = order; *p; p++)
		if (*p != ' ')
			s->order[s->n_order++] = *p;
}

static void make(struct bootstate *s, const char *order, int as, unsigned at, int bs, unsigned bt)
{
	bootstate_init(s, 0);
	set_order(s, order);
	s->slots[0] = (struct bootstate_slot){(enum bootstate_state)as, at};
	s->slots[1] = (struct bootstate_slot){(enum bootstate_state)bs, bt};
}

static const char *name(int state)
{
	return bootstate_state_name((enum bootstate_state)state);
}

static void test_rows(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct bootstate s;
		struct bootstate_choice c;
		char got = '?';

		make(&s, r->order, r->a_state, r->a_tries, r->b_state, r->b_tries);
		bootstate_choose(&s, r->loadable, &c);
		got = c.slot ? c.slot : '-';
		ok(got == r->slot && c.trial == r->trial && c.fallback == r->fallback &&
		       s.slots[0].tries == r->a_after && s.slots[1].tries == r->b_after &&
		       s.slots[0].state == (enum bootstate_state)r->a_state &&
		       s.slots[1].state == (enum bootstate_state)r->b_state && s.n_order == strlen(r->order) / 2 + 1,
		   "order \"%s\", a %s %u, b %s %u, loads %s%s: boots %c%s%s, saves a %u b %u", r->order,
		   name(r->a_state), r->a_tries, name(r->b_state), r->b_tries,
		   r->loadable & LA ? "a" : "", r->loadable & LB ? "b" : "", r->slot,
		   r->trial ? " on trial" : "", r->fallback ? " (fallback)" : "", r->a_after, r->b_after);
		if (got != r->slot || c.trial != r->trial || c.fallback != r->fallback ||
		    s.slots[0].tries != r->a_after || s.slots[1].tries != r->b_after)
			printf("#   got %c trial %d fallback %d, a %u b %u\n", got, c.trial, c.fallback,
			       s.slots[0].tries, s.slots[1].tries);
	}
}

/* Boot after boot with nothing committing: the slots GRUB boots, one letter per boot (upper
 * case: the fallback), '-' for a reboot with nothing to boot. */
static const struct seq {
	const char *what, *order;
	int a_state;
	unsigned a_tries;
	int b_state;
	unsigned b_tries;
	unsigned loadable;
	const char *boots;
} seqs[] = {
	{"a trial that never comes up: 3 tries, then the good slot's 3, then the good slot "
	 "forever",
	 "b a", G, 3, T, 3, LALL, "bbbaaaAAA"},
	{"an update into an empty slot (it does not load)", "b a", G, 3, T, 3, LA, "aaaAA"},
	{"the factory state, never committed", "a b", G, 3, B, 0, LALL, "aaaAAA"},
	{"a good slot with one try", "a b", G, 1, B, 0, LALL, "aAA"},
	{"two good slots", "a b", G, 2, G, 2, LALL, "aabbAA"},
	{"nothing good, nothing left", "b a", B, 0, T, 2, LALL, "bb---"},
	{"nothing loads", "a b", G, 2, G, 1, 0, "-----"},
	{"the maximum tries", "a b", T, 15, B, 0, LALL, "aaaaaaaaaaaaaaa--"},
};

static void test_sequences(void)
{
	for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		const struct seq *q = &seqs[i];
		size_t n = strlen(q->boots);
		char got[32];
		struct bootstate s;

		make(&s, q->order, q->a_state, q->a_tries, q->b_state, q->b_tries);
		for (size_t k = 0; k < n; k++) {
			struct bootstate_choice c;

			bootstate_choose(&s, q->loadable, &c);
			got[k] = !c.slot ? '-' : c.fallback ? (char)(c.slot - 'a' + 'A') : c.slot;
		}
		got[n] = '\0';
		is_str(got, q->boots, "sequence: %s", q->what);
	}
}

struct counts {
	unsigned states, bad_booted, trial_wrong, spent_wrong, fallback_wrong, tries_wrong, outside,
		none_wrong;
};

/* Whether a slot in before's order could have booted: it loads, and is good or has a try. */
static int could_boot(const struct bootstate *before, unsigned l)
{
	for (size_t k = 0; k < before->n_order; k++) {
		int j = bootstate_slot_index(before->order[k]);
		const struct bootstate_slot *t = &before->slots[j];

		if ((l & (1u << j)) &&
		    (t->state == BOOTSTATE_GOOD || (t->state != BOOTSTATE_BAD && t->tries > 0)))
			return 1;
	}
	return 0;
}

static void check_one(struct counts *n, const struct bootstate *before, unsigned l)
{
	struct bootstate s = *before;
	struct bootstate_choice c;
	int i;

	bootstate_choose(&s, l, &c);
	n->states++;
	for (int k = 0; k < 2; k++)
		if (s.slots[k].tries != before->slots[k].tries &&
		    s.slots[k].tries + 1 != before->slots[k].tries)
			n->tries_wrong++;
	if (!c.slot) {
		n->none_wrong += (unsigned)could_boot(before, l);
		return;
	}
	i = bootstate_slot_index(c.slot);
	if (!memchr(before->order, c.slot, before->n_order) || !(l & (1u << i)))
		n->outside++;
	if (before->slots[i].state == BOOTSTATE_BAD)
		n->bad_booted++;
	if (c.trial != (!c.fallback && before->slots[i].state == BOOTSTATE_TRIAL))
		n->trial_wrong++;
	if (!c.fallback && s.slots[i].tries + 1 != before->slots[i].tries)
		n->spent_wrong++;
	if (c.fallback && (before->slots[i].state != BOOTSTATE_GOOD ||
			   s.slots[i].tries != before->slots[i].tries))
		n->fallback_wrong++;
}

/* Over every valid state and every load pattern: a bad slot is never booted, a trial boot is
 * of a trial slot, a normal boot spent exactly one of that slot's tries, a fallback spent none
 * of the slot it boots and boots a good one, tries only ever go down by one, what boots is in
 * the order, and GRUB gives up only when nothing could boot. */
static void test_invariants(void)
{
	static const char *const orders[] = {"a b", "b a", "a", "b"};
	struct counts n = {0};
	struct bootstate s;

	for (size_t o = 0; o < 4; o++)
		for (unsigned st = 0; st < 9; st++)
			for (unsigned t = 0; t < 16 * 16; t++)
				for (unsigned l = 0; l <= LALL; l++) {
					make(&s, orders[o], (int)(st / 3), t / 16, (int)(st % 3), t % 16);
					check_one(&n, &s, l);
				}
	is_int(n.states, 4 * 9 * 16 * 16 * 4, "every valid state and load pattern");
	is_int(n.bad_booted, 0, "a bad slot is never booted");
	is_int(n.trial_wrong, 0, "stele.trial=1 exactly for a trial slot booted on a try");
	is_int(n.spent_wrong, 0, "a normal boot spends exactly one try of the slot booted");
	is_int(n.fallback_wrong, 0, "the fallback boots only a good slot, spending none of its tries");
	is_int(n.tries_wrong, 0, "tries only ever go down, by one");
	is_int(n.outside, 0, "only a slot in STELE_ORDER that loads is booted");
	is_int(n.none_wrong, 0, "GRUB reboots only when no slot in the order could boot");
}

/* grub.cfg points to the model, and names every branch the model has. */
static void test_grub_cfg(void)
{
	const char *top = getenv("TOP");
	char path[PATH_MAX], *cfg = NULL;
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/bootloader/grub.cfg", top && *top ? top : ".");
	fd = open(path, O_RDONLY);
	if (fd >= 0 && fstat(fd, &st) == 0 && (cfg = calloc(1, (size_t)st.st_size + 1)) &&
	    read(fd, cfg, (size_t)st.st_size) != st.st_size) {
		free(cfg);
		cfg = NULL;
	}
	if (fd >= 0)
		close(fd);
	if (!ok(cfg != NULL, "read %s", path))
		return;
	ok(strstr(cfg, "bootstate_choose()") != NULL, "grub.cfg names its model, bootstate_choose()");
	ok(strstr(cfg, "save_env --file \"$stele_env\" STELE_A_TRIES") != NULL &&
	       strstr(cfg, "save_env --file \"$stele_env\" STELE_B_TRIES") != NULL,
	   "grub.cfg saves the spent try of either slot");
	ok(strstr(cfg, "stele_decrement \"$4\"") < strstr(cfg, "stele_boot \"$1\" \"$2\" \"$3\""),
	   "grub.cfg spends the try before it boots (as the model: an unloadable slot keeps it spent)");
	ok(strstr(cfg, "retrying the good slots") != NULL &&
	       strstr(cfg, "stele_boot a 2 good") != NULL && strstr(cfg, "stele_boot b 4 good") != NULL,
	   "grub.cfg's fallback boots a good slot as good (no stele.trial=1)");
	ok(strstr(cfg, "if [ \"$4\" != \"0\" ]") != NULL, "grub.cfg skips a slot with 0 tries");
	free(cfg);
}

int main(void)
{
	test_rows();
	test_sequences();
	test_invariants();
	test_grub_cfg();
	return tap_done();
}
