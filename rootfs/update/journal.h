/* The update journal on the data partition (data/stele/journal): one JSON object per line
 * and event, appended with O_APPEND and fsync'd, so a power cut loses at most the line being
 * written:
 *   {"time": 1700000000, "event": "install", "slot": "b",
 *    "from": {"version": "1.0.0", "root_hash": "..."}, "to": {...}, "reason": "..."} */
#ifndef STELE_UPDATE_JOURNAL_H
#define STELE_UPDATE_JOURNAL_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "lib/contract.h"
#include "lib/err.h"

#define JOURNAL_FILE CONTRACT_DATA_JOURNAL

struct journal_side {
	const char *version, *root_hash; /* NULL: unknown (null in the JSON) */
};

struct journal_event {
	const char *event; /* install, trial, commit, revert, exhausted-tries, mark-bad, ... */
	char slot;
	struct journal_side from, to;
	const char *reason; /* may be NULL */
};

/* The line for ev at time when, without its newline (malloc'd; NULL: out of memory). */
char *journal_format(const struct journal_event *ev, time_t when);
int journal_append(const char *data_dir, const struct journal_event *ev, struct err *e);
/* Prints the journal as it is stored (one JSON object per line), or with json as one JSON
 * array (lines that are not JSON objects, such as one cut by a power loss, left out). A
 * missing journal is empty. */
int journal_print(const char *data_dir, bool json, FILE *out, struct err *e);
/* Whether the last event recorded for slot is `event` with from.root_hash equal to
 * root_hash (so a condition seen at every boot is journalled once). */
bool journal_last_is(const char *data_dir, char slot, const char *event, const char *root_hash);

#endif
