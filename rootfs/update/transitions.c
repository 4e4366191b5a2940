#include "transitions.h"

struct bootstate_slot *update_state_slot(struct bootstate *s, char slot)
{
	return &s->slots[slot == 'a' ? 0 : 1];
}

void update_state_first(struct bootstate *s, char slot)
{
	s->order[0] = slot;
	s->order[1] = slot == 'a' ? 'b' : 'a';
	s->n_order = 2;
}

const char *update_state_order(const struct bootstate *s, char buf[8])
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_order && i < BOOTSTATE_SLOTS; i++) {
		if (i)
			buf[n++] = ' ';
		buf[n++] = s->order[i];
	}
	buf[n] = '\0';
	return buf;
}

static char other_of(char slot)
{
	return slot == 'a' ? 'b' : 'a';
}

bool update_state_install_begin(struct bootstate *s, char target)
{
	struct bootstate_slot *t = update_state_slot(s, target);

	if (t->state == BOOTSTATE_BAD && t->tries == 0)
		return false;
	t->state = BOOTSTATE_BAD;
	t->tries = 0;
	return true;
}

void update_state_install_done(struct bootstate *s, char target, unsigned tries)
{
	struct bootstate_slot *t = update_state_slot(s, target);

	t->state = BOOTSTATE_TRIAL;
	t->tries = tries;
	update_state_first(s, target);
}

void update_state_commit(struct bootstate *s, char booted, unsigned tries)
{
	struct bootstate_slot *slot = update_state_slot(s, booted);

	slot->state = BOOTSTATE_GOOD;
	slot->tries = tries;
	update_state_first(s, booted);
}

bool update_state_reset_tries(struct bootstate *s, char booted, unsigned tries)
{
	struct bootstate_slot *slot = update_state_slot(s, booted);

	if (slot->tries == tries)
		return false;
	slot->tries = tries;
	return true;
}

bool update_state_revert(struct bootstate *s, char booted)
{
	char o = other_of(booted);

	if (update_state_slot(s, o)->state != BOOTSTATE_GOOD)
		return false;
	update_state_slot(s, booted)->state = BOOTSTATE_BAD;
	update_state_first(s, o);
	return true;
}

enum update_exhausted update_state_exhausted(struct bootstate *s, char booted)
{
	struct bootstate_slot *slot = update_state_slot(s, other_of(booted));

	if (slot->tries != 0 || slot->state == BOOTSTATE_BAD)
		return UPDATE_EXHAUSTED_NONE;
	if (slot->state == BOOTSTATE_GOOD)
		return UPDATE_EXHAUSTED_GOOD;
	slot->state = BOOTSTATE_BAD;
	update_state_first(s, booted);
	return UPDATE_EXHAUSTED_MARKED;
}

/* What GRUB can still boot (bootstate_choose): a good slot, even with no tries left (its
 * fallback), or a trial with tries left; a trial whose tries ran out is never retried. */
static bool can_boot(const struct bootstate_slot *t)
{
	return t->state == BOOTSTATE_GOOD || (t->state == BOOTSTATE_TRIAL && t->tries > 0);
}

bool update_state_mark_bad(struct bootstate *s, char slot)
{
	char other = other_of(slot);

	if (!can_boot(update_state_slot(s, other)))
		return false;
	update_state_slot(s, slot)->state = BOOTSTATE_BAD;
	if (s->order[0] == slot)
		update_state_first(s, other);
	return true;
}

void update_state_rollback(struct bootstate *s, char to, unsigned refill)
{
	struct bootstate_slot *t = update_state_slot(s, to);

	if (t->tries == 0)
		t->tries = refill;
	update_state_first(s, to);
}

uint64_t update_floor(const struct bootstate *s, char booted, uint64_t booted_index,
		      const uint64_t *other_index)
{
	char other = other_of(booted);

	if (s->slots[other == 'a' ? 0 : 1].state != BOOTSTATE_GOOD || !other_index)
		return booted_index;
	return *other_index < booted_index ? *other_index : booted_index;
}

enum update_health_action update_health_action(bool trial, bool commit, bool failed)
{
	if (trial && commit)
		return failed ? UPDATE_HEALTH_REVERT : UPDATE_HEALTH_COMMIT;
	if (failed)
		return UPDATE_HEALTH_FAILED;
	return trial ? UPDATE_HEALTH_TRIAL_OK : UPDATE_HEALTH_HEALTHY;
}
