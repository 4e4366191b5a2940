#include "health.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "checks.h"
#include "commit.h"
#include "journal.h"
#include "lib/policy.h"
#include "slot.h"
#include "state.h"
#include "rootfs/common/watchdog.h"

struct health {
	const struct health_opts *o;
	const struct update_boot *boot;
	struct bootstate s;
	struct policy policy;
	struct watchdog wd;
	bool trial;
	struct update_slot other; /* read when needed for the journal */
	bool have_other;
};

static struct journal_side booted_side(const struct health *h)
{
	return (struct journal_side){h->boot->version, h->boot->root_hash};
}

static struct journal_side other_side(struct update_ctx *c, struct health *h)
{
	struct err e = {{0}};

	if (!h->have_other)
		h->have_other =
		    update_slot_read(c, update_other_slot(h->boot->slot), &h->other, &e) == 0;
	if (!h->have_other || h->other.kind != UPDATE_SLOT_VALID)
		return (struct journal_side){NULL, NULL};
	return (struct journal_side){h->other.info.m.version, h->other.info.m.verity.root_hash};
}

/* The other slot ran out of tries: a trial that never committed is bad now; a good slot
 * that stopped booting stays good (it may be a transient fault) but is journalled once. */
static int check_other(struct update_ctx *c, struct health *h, struct err *e)
{
	char o = update_other_slot(h->boot->slot), reason[160];
	struct journal_event ev = {.event = "exhausted-tries", .slot = o};
	enum update_exhausted x = update_state_exhausted(&h->s, h->boot->slot);
	int rc;

	if (x == UPDATE_EXHAUSTED_NONE)
		return 0;
	ev.from = other_side(c, h);
	ev.to = booted_side(h);
	if (x == UPDATE_EXHAUSTED_GOOD) {
		if (c->data_dir && journal_last_is(c->data_dir, o, ev.event, ev.from.root_hash))
			return 0;
		ev.reason = "good slot stopped booting";
		update_journal(c, &ev);
		printf("stele-update: slot %c (good) has no tries left: it stopped booting\n", o);
		return 0;
	}
	snprintf(reason, sizeof(reason), "version %s in slot %c never came up on trial",
		 ev.from.version ?: "?", o);
	ev.reason = reason;
	rc = update_state_save(c, &h->s, e);
	if (rc < 0)
		return err_prefix(e, rc, "marking slot %c bad", o);
	update_journal(c, &ev);
	printf("stele-update: the update to version %s in slot %c used up its tries; "
	       "marked it bad\n",
	       ev.from.version ?: "?", o);
	return 0;
}

static void keepalive(void *userdata)
{
	struct health *h = userdata;
	struct err e;

	if (watchdog_keepalive(&h->wd, &e) < 0)
		fprintf(stderr, "stele-update: warning: %s\n", e.msg);
}

static void open_watchdog(struct update_ctx *c, struct health *h)
{
	struct err e = {{0}};

	if (!c->watchdog_path || access(c->watchdog_path, F_OK) < 0)
		return;
	if (watchdog_open(c->watchdog_path, &h->wd, &e) < 0 || watchdog_keepalive(&h->wd, &e) < 0)
		fprintf(stderr, "stele-update: warning: %s\n", e.msg);
}

static int commit(struct update_ctx *c, struct health *h, struct err *e)
{
	struct journal_event ev = {.event = "commit", .slot = h->boot->slot};
	int rc;

	rc = update_commit(c, &h->s, h->policy.tries, e);
	if (rc < 0)
		return err_prefix(e, rc, "committing slot %c", h->boot->slot);
	ev.from = other_side(c, h);
	ev.to = booted_side(h);
	update_journal(c, &ev);
	rc = watchdog_disarm(&h->wd, e);
	if (rc < 0)
		fprintf(stderr, "stele-update: warning: %s\n", e->msg);
	printf("stele-update: committed slot %c version %s\n", h->boot->slot, h->boot->version);
	return 0;
}

static int revert(struct update_ctx *c, struct health *h, const struct check_failure *f,
		  struct err *e)
{
	char o = update_other_slot(h->boot->slot), reason[512];
	struct journal_event ev = {.event = "revert", .slot = h->boot->slot, .reason = reason};
	int rc;

	if (!update_state_revert(&h->s, h->boot->slot)) {
		printf("stele-update: health check %s failed: %s; not reverting: slot %c is %s\n",
		       f->name, f->why, o,
		       bootstate_state_name(update_state_slot(&h->s, o)->state));
		return 1;
	}
	rc = update_state_save(c, &h->s, e);
	if (rc < 0)
		return err_prefix(e, rc, "marking slot %c bad", h->boot->slot);
	snprintf(reason, sizeof(reason), "health check %s failed: %s", f->name, f->why);
	ev.from = booted_side(h);
	ev.to = other_side(c, h);
	update_journal(c, &ev);
	printf("stele-update: health check %s failed: %s; reverting to slot %c\n", f->name, f->why,
	       o);
	fflush(stdout);
	rc = update_reboot(c, e);
	return rc < 0 ? rc : 1;
}

static int healthy_normal(struct update_ctx *c, struct health *h, struct err *e)
{
	struct bootstate_slot *slot = update_state_slot(&h->s, h->boot->slot);
	int rc = 0;

	if (h->o->commit && update_state_reset_tries(&h->s, h->boot->slot, h->policy.tries)) {
		rc = update_state_save(c, &h->s, e);
		if (rc < 0)
			return err_prefix(e, rc, "resetting the tries of slot %c", h->boot->slot);
	}
	if (h->o->commit && slot->state == BOOTSTATE_GOOD &&
	    (rc = update_raise_min_rollback(
		     c->data_dir,
		     update_rollback_floor(c, &h->s, h->boot->slot, h->boot->rollback_index),
		     e)) < 0)
		return err_prefix(e, rc, "recording the minimum rollback index");
	printf("stele-update: healthy\n");
	return 0;
}

static int decide(struct update_ctx *c, struct health *h, int failed, const struct check_failure *f,
		  struct err *e)
{
	switch (update_health_action(h->trial, h->o->commit, failed)) {
	case UPDATE_HEALTH_COMMIT:
		return commit(c, h, e);
	case UPDATE_HEALTH_REVERT:
		return revert(c, h, f, e);
	case UPDATE_HEALTH_FAILED:
		printf("stele-update: health check %s failed: %s\n", f->name, f->why);
		return 1;
	case UPDATE_HEALTH_TRIAL_OK:
		printf("stele-update: healthy (slot %c is on trial: --commit commits it)\n",
		       h->boot->slot);
		return 0;
	case UPDATE_HEALTH_HEALTHY:
		break;
	}
	return healthy_normal(c, h, e);
}

static int health(struct update_ctx *c, struct health *h, struct err *e)
{
	struct check_failure f;
	const struct checks_run run = {.policy = &h->policy,
				       .dir = c->health_dir,
				       .tick = keepalive,
				       .userdata = h,
				       .out = stdout};
	int rc;

	rc = update_booted(c, &h->boot, e);
	if (rc == 0)
		rc = policy_load(c->health_json, &h->policy, e);
	if (rc == 0)
		rc = update_state_load(c, &h->s, e);
	if (rc < 0)
		return rc;
	/* the state, not the command line: a trial committed earlier in this boot is over */
	h->trial = update_state_slot(&h->s, h->boot->slot)->state == BOOTSTATE_TRIAL;
	if (h->trial)
		open_watchdog(c, h);
	rc = check_other(c, h, e);
	if (rc < 0)
		return rc;
	printf("stele-update: checking slot %c version %s%s (window %u s)\n", h->boot->slot,
	       h->boot->version, h->trial ? " on trial" : "", h->policy.window);
	fflush(stdout);
	rc = checks_run(&run, &f, e);
	if (rc < 0)
		return rc;
	return decide(c, h, rc, &f, e);
}

int update_health(struct update_ctx *c, const struct health_opts *o, struct err *e)
{
	struct health h = {.o = o, .wd = {-1}};
	int rc = health(c, &h, e);

	watchdog_leave_armed(&h.wd); /* unless commit() stopped it */
	return rc;
}
