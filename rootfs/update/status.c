#include "status.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "poll.h"
#include "slot.h"
#include "state.h"

struct status {
	const struct update_boot *boot;
	cJSON *poll; /* the last `poll` (data/stele/poll.json), NULL: none */
	struct bootstate s;
	struct update_slot slot[BOOTSTATE_SLOTS];
	char pending[160];
};

static void read_slots(struct update_ctx *c, struct status *st)
{
	struct err e;

	for (size_t i = 0; i < BOOTSTATE_SLOTS; i++) {
		e.msg[0] = '\0';
		if (update_slot_read(c, bootstate_slot_name(i), &st->slot[i], &e) < 0) {
			st->slot[i].kind = UPDATE_SLOT_INVALID;
			snprintf(st->slot[i].error, sizeof(st->slot[i].error), "%s", e.msg);
		}
	}
}

/* The slot GRUB boots next: the first in order that is not bad and has tries left. */
static char next_boot(const struct bootstate *s)
{
	for (size_t i = 0; i < s->n_order; i++) {
		const struct bootstate_slot *t = &s->slots[bootstate_slot_index(s->order[i])];
		if (t->state != BOOTSTATE_BAD && t->tries > 0)
			return s->order[i];
	}
	return 0;
}

static void find_pending(struct status *st)
{
	char booted = st->boot->slot, next = next_boot(&st->s);
	const struct bootstate_slot *b = &st->s.slots[bootstate_slot_index(booted)];
	const struct update_slot *n = next ? &st->slot[bootstate_slot_index(next)] : NULL;

	if (b->state == BOOTSTATE_TRIAL)
		snprintf(st->pending, sizeof(st->pending),
			 "slot %c (running) is on trial: not committed yet", booted);
	else if (next && next != booted)
		snprintf(st->pending, sizeof(st->pending), "slot %c%s%s%s boots next, %s", next,
			 n->kind == UPDATE_SLOT_VALID ? " (version " : "",
			 n->kind == UPDATE_SLOT_VALID ? n->info.m.version : "",
			 n->kind == UPDATE_SLOT_VALID ? ")" : "",
			 st->s.slots[bootstate_slot_index(next)].state == BOOTSTATE_TRIAL
			     ? "on trial"
			     : "as a rollback");
}

static void print_text(const struct status *st)
{
	char order[8];

	printf("booted:   slot %c, version %s%s\n", st->boot->slot, st->boot->version,
	       st->boot->trial ? " (trial boot)" : "");
	printf("order:    %s\n", update_state_order(&st->s, order));
	for (size_t i = 0; i < BOOTSTATE_SLOTS; i++) {
		const struct bootstate_slot *b = &st->s.slots[i];
		const struct update_slot *u = &st->slot[i];
		const struct manifest *m = &u->info.m;

		printf("slot %c:   %s, %u %s left", bootstate_slot_name(i),
		       bootstate_state_name(b->state), b->tries, b->tries == 1 ? "try" : "tries");
		if (u->kind == UPDATE_SLOT_EMPTY)
			printf(", empty");
		else if (u->kind == UPDATE_SLOT_INVALID)
			printf(", does not verify: %s", u->error);
		else
			printf(", %s %s, rollback index %" PRIu64 ", root hash %s", m->product,
			       m->version, m->rollback_index, m->verity.root_hash);
		printf("%s\n", bootstate_slot_name(i) == st->boot->slot ? " (running)" : "");
	}
	printf("pending:  %s\n", st->pending[0] ? st->pending : "nothing");
	if (st->poll) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(st->poll, "last_check");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(st->poll, "message");

		printf("polled:   %s: %s\n", cJSON_IsString(t) ? t->valuestring : "?",
		       cJSON_IsString(m) ? m->valuestring : "?");
	}
}

static cJSON *slot_json(const struct status *st, size_t i)
{
	const struct bootstate_slot *b = &st->s.slots[i];
	const struct update_slot *u = &st->slot[i];
	const struct manifest *m = &u->info.m;
	cJSON *o = cJSON_CreateObject();
	static const char *const kinds[] = {"empty", "valid", "invalid"};

	cJSON_AddStringToObject(o, "state", bootstate_state_name(b->state));
	cJSON_AddNumberToObject(o, "tries", b->tries);
	cJSON_AddBoolToObject(o, "running", bootstate_slot_name(i) == st->boot->slot);
	cJSON_AddStringToObject(o, "content", kinds[u->kind]);
	if (u->kind == UPDATE_SLOT_INVALID)
		cJSON_AddStringToObject(o, "error", u->error);
	if (u->kind != UPDATE_SLOT_VALID)
		return o;
	cJSON_AddStringToObject(o, "product", m->product);
	cJSON_AddStringToObject(o, "version", m->version);
	cJSON_AddNumberToObject(o, "rollback_index", (double)m->rollback_index);
	cJSON_AddStringToObject(o, "root_hash", m->verity.root_hash);
	cJSON_AddStringToObject(o, "signer", u->info.signer);
	return o;
}

static int print_json(const struct status *st, struct err *e)
{
	char booted[2] = {st->boot->slot, '\0'}, next[2] = {next_boot(&st->s), '\0'};
	cJSON *o = cJSON_CreateObject(), *order, *slots;
	char *text;

	if (!o)
		return err_set(e, ENOMEM, "out of memory");
	cJSON_AddStringToObject(o, "booted", booted);
	cJSON_AddStringToObject(o, "version", st->boot->version);
	cJSON_AddBoolToObject(o, "trial_boot", st->boot->trial);
	order = cJSON_AddArrayToObject(o, "order");
	for (size_t i = 0; i < st->s.n_order; i++) {
		char name[2] = {st->s.order[i], '\0'};
		cJSON_AddItemToArray(order, cJSON_CreateString(name));
	}
	if (next[0])
		cJSON_AddStringToObject(o, "next_boot", next);
	else
		cJSON_AddNullToObject(o, "next_boot");
	slots = cJSON_AddObjectToObject(o, "slots");
	for (size_t i = 0; i < BOOTSTATE_SLOTS; i++) {
		char name[2] = {bootstate_slot_name(i), '\0'};
		cJSON_AddItemToObject(slots, name, slot_json(st, i));
	}
	if (st->pending[0])
		cJSON_AddStringToObject(o, "pending", st->pending);
	else
		cJSON_AddNullToObject(o, "pending");
	cJSON_AddItemToObject(o, "poll", st->poll ? cJSON_Duplicate(st->poll, 1) : cJSON_CreateNull());
	text = cJSON_PrintUnformatted(o); /* one line: easy to pick out of a console */
	cJSON_Delete(o);
	if (!text)
		return err_set(e, ENOMEM, "out of memory");
	printf("%s\n", text);
	free(text);
	return 0;
}

int update_status(struct update_ctx *c, bool json, struct err *e)
{
	struct status st = {0};
	int rc;

	rc = update_booted(c, &st.boot, e);
	if (rc == 0)
		rc = update_state_load(c, &st.s, e);
	if (rc < 0)
		return rc;
	read_slots(c, &st);
	find_pending(&st);
	st.poll = update_poll_last(c);
	rc = 0;
	if (json)
		rc = print_json(&st, e);
	else
		print_text(&st);
	cJSON_Delete(st.poll);
	return rc;
}
