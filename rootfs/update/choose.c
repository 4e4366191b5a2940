#include "choose.h"

#include <stdio.h>
#include <string.h>

const char *const choose_names[] = {"up-to-date", "paused",  "wait",     "blocked",
				     "pending",    "install", "pull-back"};

static bool ours(const struct choose_in *in, const struct rollout_release *r)
{
	return strcmp(r->product, in->product) == 0 && strcmp(r->arch, in->arch) == 0;
}

static const struct rollout_release *by_hash(const struct choose_in *in, const char *root_hash)
{
	for (size_t i = 0; root_hash && i < in->n; i++)
		if (ours(in, &in->rels[i]) && strcmp(in->rels[i].root_hash, root_hash) == 0)
			return &in->rels[i];
	return NULL;
}

/* Newer than what runs: a higher rollback index, or the same with a higher version. */
static bool newer(const struct choose_in *in, const struct rollout_release *r)
{
	if (r->rollback_index != in->rollback_index)
		return r->rollback_index > in->rollback_index;
	return strverscmp(r->version, in->version) > 0;
}

static bool pull_back(const struct choose_in *in, struct choose_out *out)
{
	const struct rollout_release *run = by_hash(in, in->root_hash);
	const struct rollout_release *other = by_hash(in, in->other_root_hash);

	if (!run || !run->revoked)
		return false;
	if (in->other_state != CHOOSE_OTHER_GOOD || !in->other_root_hash ||
	    in->other_rollback_index < in->floor || (other && other->revoked))
		return false;
	out->what = CHOOSE_PULL_BACK;
	snprintf(out->why, sizeof(out->why), "version %s is revoked in channel %s: back to the "
		 "other slot's version %s", in->version, in->channel, in->other_version);
	return true;
}

static void fmt_time(int64_t t, char out[32])
{
	tuf_time_format(t, out);
}

void choose(const struct choose_in *in, struct choose_out *out)
{
	const struct rollout_release *best = NULL, *blocked = NULL, *waiting = NULL;
	int64_t soonest = INT64_MAX;

	memset(out, 0, sizeof(*out));
	if (pull_back(in, out))
		return;
	for (size_t i = 0; i < in->n; i++)
		if (in->rels[i].paused) {
			out->what = CHOOSE_PAUSED;
			snprintf(out->why, sizeof(out->why), "channel %s is paused: no install starts",
				 in->channel);
			return;
		}
	for (size_t i = 0; i < in->n; i++) {
		const struct rollout_release *r = &in->rels[i];
		bool failed, open;

		if (!ours(in, r) || r->revoked || r->rollback_index < in->floor || !newer(in, r) ||
		    (best && rollout_cmp(r, best) <= 0))
			continue;
		failed = in->other_root_hash && strcmp(r->root_hash, in->other_root_hash) == 0 &&
			 in->other_state == CHOOSE_OTHER_BAD;
		if (failed || (r->min_from[0] && strverscmp(in->version, r->min_from) < 0)) {
			if (!blocked || rollout_cmp(r, blocked) > 0)
				blocked = r;
			continue;
		}
		open = in->share * 100.0 < (double)rollout_percent_at(r, in->now);
		if (!open) {
			int64_t at = rollout_opens_at(r, in->share);

			if (!waiting || rollout_cmp(r, waiting) > 0) {
				waiting = r;
				soonest = at;
			}
			continue;
		}
		best = r;
	}
	if (best && in->other_root_hash && strcmp(best->root_hash, in->other_root_hash) == 0 &&
	    in->other_state == CHOOSE_OTHER_TRIAL) {
		out->what = CHOOSE_PENDING;
		out->rel = best;
		snprintf(out->why, sizeof(out->why), "version %s is installed in the other slot, "
			 "waiting for its reboot", best->version);
		return;
	}
	/* an older release that is open goes before a newer one still waiting for its wave */
	if (waiting && !best) {
		char t[32];

		fmt_time(soonest, t);
		out->what = CHOOSE_WAIT;
		out->rel = waiting;
		out->opens_at = soonest;
		snprintf(out->why, sizeof(out->why), "share %.2f, version %s is open to %d%% of the "
			 "fleet now%s%s: waiting", in->share, waiting->version,
			 rollout_percent_at(waiting, in->now),
			 soonest == INT64_MAX ? ", never to this share" : ", to this share from ",
			 soonest == INT64_MAX ? "" : t);
		return;
	}
	if (best) {
		out->what = CHOOSE_INSTALL;
		out->rel = best;
		snprintf(out->why, sizeof(out->why), "share %.2f, version %s is open to %d%% of the "
			 "fleet: installing", in->share, best->version,
			 rollout_percent_at(best, in->now));
		return;
	}
	if (blocked) {
		bool failed = in->other_root_hash && strcmp(blocked->root_hash, in->other_root_hash) == 0;

		out->what = CHOOSE_BLOCKED;
		out->rel = blocked;
		if (failed)
			snprintf(out->why, sizeof(out->why), "version %s failed on this device before "
				 "(the other slot is bad): not tried again", blocked->version);
		else
			snprintf(out->why, sizeof(out->why), "version %s needs version %s or later "
				 "to update from, this is %s", blocked->version, blocked->min_from,
				 in->version);
		return;
	}
	out->what = CHOOSE_UP_TO_DATE;
	snprintf(out->why, sizeof(out->why), "version %s is the newest of channel %s for this "
		 "device", in->version, in->channel);
}
