/* Channels and staged rollouts, as the publisher writes them into the custom fields of a TUF
 * target (one target per bundle) and as a device reads them back to decide what it may take:
 *
 *   "custom": {"stele": {"product": "appliance", "arch": "x86_64", "version": "2.0.0",
 *     "rollback_index": 2, "root_hash": "<hex>",
 *     "channels": {"stable": {"published": "2026-12-04T18:00:00Z",
 *       "waves": [{"at": "2026-12-04T18:00:00Z", "percent": 10},
 *                 {"at": "2026-12-05T18:00:00Z", "percent": 100}],
 *       "paused": false, "revoked": false, "min_from": "1.0.0"}}}}
 *
 * A device's share of the fleet is a number in [0, 1) from the sha256 of the product and its
 * machine id: the same on every poll, independent between products. At time t a release is
 * open to the devices whose share is below the percent of the last wave at or before t.
 * A channel is paused when any of its releases is. Shared by `stele repo status` and
 * stele-update, so that both say the same. */
#ifndef STELE_LIB_ROLLOUT_H
#define STELE_LIB_ROLLOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "tuf.h"

#define ROLLOUT_MAX_WAVES 16
#define ROLLOUT_CHANNEL_MAX 64

struct rollout_wave {
	int64_t at;
	int percent; /* 0..100 */
};

struct rollout_release {
	const struct tuf_target *target;
	char product[65], arch[17], version[65], root_hash[129];
	uint64_t rollback_index;
	int64_t published;
	struct rollout_wave waves[ROLLOUT_MAX_WAVES];
	int nwaves;
	bool paused, revoked;
	char min_from[65]; /* "": any version may update to it */
};

/* A channel name: [a-z0-9-], 1..64 characters. */
bool rollout_channel_name_ok(const char *s);

/* The release t is in channel; -ENOENT when t is not in it, -EINVAL (naming the target and
 * field) when its fields are malformed. */
int rollout_release_parse(const struct tuf_target *t, const char *channel,
			  struct rollout_release *ret, struct err *e)
	__attribute__((warn_unused_result));

/* The percent of the fleet the release is open to at time now (0 before the first wave). */
int rollout_percent_at(const struct rollout_release *r, int64_t now);
/* The time the release opens to share (INT64_MAX: never). */
int64_t rollout_opens_at(const struct rollout_release *r, double share);

/* The device's share of the fleet, in [0, 1). */
double rollout_share(const char *product, const char *machine_id);

/* Orders releases: by rollback index, then by version (strverscmp). */
int rollout_cmp(const struct rollout_release *a, const struct rollout_release *b);

/* A duration: integer seconds, or a number with s, m, h or d ("90s", "10m", "6h", "7d"),
 * 1 second to 10 years. */
int rollout_duration_parse(const char *s, int64_t *ret);

#endif
