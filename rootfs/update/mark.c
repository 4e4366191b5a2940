#include "mark.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "commit.h"
#include "journal.h"
#include "lib/policy.h"
#include "slot.h"
#include "state.h"
#include "rootfs/common/watchdog.h"

/* The version and root hash of slot, for the journal (unknown when it does not verify). */
static struct journal_side side_of(struct update_ctx *c, const struct update_boot *boot, char slot,
				   struct update_slot *buf)
{
	struct err e;

	if (slot == boot->slot)
		return (struct journal_side){boot->version, boot->root_hash};
	if (update_slot_read(c, slot, buf, &e) < 0 || buf->kind != UPDATE_SLOT_VALID)
		return (struct journal_side){NULL, NULL};
	return (struct journal_side){buf->info.m.version, buf->info.m.verity.root_hash};
}

/* A trial committed by hand ends the watchdog's watch too. */
static void stop_watchdog(struct update_ctx *c)
{
	struct watchdog w = {-1};
	struct err e = {{0}};

	if (!c->watchdog_path || watchdog_open(c->watchdog_path, &w, &e) == -ENOENT)
		return;
	if (w.fd < 0 || watchdog_disarm(&w, &e) < 0)
		fprintf(stderr, "stele-update: warning: %s\n", e.msg);
}

int update_mark_good(struct update_ctx *c, struct err *e)
{
	const struct update_boot *boot;
	struct journal_event ev = {.event = "mark-good"};
	struct bootstate s;
	struct policy p;
	bool was_trial;
	int rc;

	rc = update_booted(c, &boot, e);
	if (rc == 0)
		rc = policy_load(c->health_json, &p, e);
	if (rc == 0)
		rc = update_state_load(c, &s, e);
	if (rc < 0)
		return rc;
	was_trial = update_state_slot(&s, boot->slot)->state == BOOTSTATE_TRIAL;
	rc = update_commit(c, &s, p.tries, e);
	if (rc < 0)
		return rc;
	if (was_trial)
		stop_watchdog(c);
	ev.slot = boot->slot;
	ev.to = (struct journal_side){boot->version, boot->root_hash};
	update_journal(c, &ev);
	printf("stele-update: slot %c (version %s) marked good\n", boot->slot, boot->version);
	return 0;
}

int update_mark_bad(struct update_ctx *c, char slot, struct err *e)
{
	const struct update_boot *boot;
	struct journal_event ev = {.event = "mark-bad", .reason = "by hand"};
	struct update_slot buf;
	struct bootstate s;
	char other;
	int rc;

	rc = update_booted(c, &boot, e);
	if (rc == 0)
		rc = update_state_load(c, &s, e);
	if (rc < 0)
		return rc;
	slot = slot ? slot : boot->slot;
	other = update_other_slot(slot);
	if (!update_state_mark_bad(&s, slot))
		return err_set(e, EPERM,
			       "refusing to mark slot %c bad: slot %c is %s, nothing "
			       "would be left to boot",
			       slot, other,
			       update_state_slot(&s, other)->state == BOOTSTATE_BAD
				   ? "bad too"
				   : "on trial with no tries left");
	rc = update_state_save(c, &s, e);
	if (rc < 0)
		return rc;
	ev.slot = slot;
	ev.from = side_of(c, boot, slot, &buf);
	update_journal(c, &ev);
	printf("stele-update: slot %c marked bad%s\n", slot,
	       slot == boot->slot ? " (the running slot: the next boot takes the other)" : "");
	return 0;
}

int update_rollback(struct update_ctx *c, bool reboot, struct err *e)
{
	const struct update_boot *boot;
	struct journal_event ev = {.event = "rollback"};
	struct bootstate_slot *t;
	struct update_slot other;
	struct bootstate s;
	struct policy p;
	uint64_t min;
	char o;
	int rc;

	rc = update_booted(c, &boot, e);
	if (rc == 0)
		rc = update_state_load(c, &s, e);
	if (rc < 0)
		return rc;
	o = update_other_slot(boot->slot);
	t = update_state_slot(&s, o);
	if (t->state != BOOTSTATE_GOOD)
		return err_set(e, EPERM, "cannot roll back: slot %c is %s, not good", o,
			       bootstate_state_name(t->state));
	rc = update_slot_read(c, o, &other, e);
	if (rc == 0 && other.kind != UPDATE_SLOT_VALID)
		rc = err_set(e, EPERM, "cannot roll back: slot %c %s", o,
			     other.kind == UPDATE_SLOT_EMPTY ? "is empty" : other.error);
	if (rc == 0)
		rc = update_min_rollback(c->data_dir, &min, e);
	if (rc == 0 && other.info.m.rollback_index < min)
		rc = err_set(e, EPERM,
			     "cannot roll back: slot %c (version %s) has rollback index "
			     "%" PRIu64 ", below this device's minimum %" PRIu64
			     ": it would not boot",
			     o, other.info.m.version, other.info.m.rollback_index, min);
	if (rc < 0)
		return rc;
	/* a good slot that used up its tries would be skipped by GRUB; its policy is read only
	 * then */
	update_state_rollback(&s, o,
			      t->tries != 0 ? 0
			      : policy_read_slot(other.node, &other.info.header, &p, e) == 0
				  ? p.tries
				  : POLICY_DEFAULT_TRIES);
	rc = update_state_save(c, &s, e);
	if (rc < 0)
		return rc;
	ev.slot = o;
	ev.from = (struct journal_side){boot->version, boot->root_hash};
	ev.to = (struct journal_side){other.info.m.version, other.info.m.verity.root_hash};
	update_journal(c, &ev);
	printf("stele-update: slot %c (version %s) boots next\n", o, other.info.m.version);
	if (reboot) {
		fflush(stdout);
		return update_reboot(c, e);
	}
	return 0;
}
