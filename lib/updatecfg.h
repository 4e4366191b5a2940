/* How a device updates itself (docs/fleet.md): the profile's "update" section as the build
 * writes it into the image (/etc/stele/update.json, with the repository's root beside it at
 * /etc/stele/tuf-root.json) and as `stele-update poll` reads it back:
 *
 *   {"url": "http://updates.example/repo", "channel": "stable", "interval": 21600,
 *    "window": {"start": 7200, "end": 14400}, "reboot": "window",
 *    "inhibit": "/run/stele/inhibit-update", "max_size": 4294967296, "max_rate": 0,
 *    "retries": 5, "timeout": 60, "ca": "/etc/ssl/certs/updates.pem"}
 *
 * Times are seconds; the window is seconds after midnight UTC (start > end wraps midnight).
 * One parser and one writer, so that what the builder checked is what the device reads. */
#ifndef STELE_LIB_UPDATECFG_H
#define STELE_LIB_UPDATECFG_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

enum updatecfg_reboot { UPDATECFG_REBOOT_NOW, UPDATECFG_REBOOT_WINDOW, UPDATECFG_REBOOT_NEVER };

struct updatecfg {
	char url[512];
	char channel[65];
	int64_t interval;        /* seconds between polls (jitter of a tenth is added) */
	bool has_window;
	int32_t window_start, window_end; /* seconds after 00:00 UTC */
	enum updatecfg_reboot reboot;
	char inhibit[256];       /* "": none. While this file exists, nothing is installed */
	uint64_t max_size;       /* the largest bundle taken (0: BUNDLE's own limit) */
	uint64_t max_rate;       /* bytes per second (0: no cap) */
	int retries;             /* resumptions of a cut download */
	int timeout;             /* seconds: to connect, for a metadata file, of a stalled
				  * download (under 1 KiB/s) */
	char ca[256];            /* "": the system's CAs */
};

extern const char *const updatecfg_reboot_names[3];

/* Defaults: interval 6 h, reboot now, retries 5, timeout 60 s, no window, no caps. */
void updatecfg_defaults(struct updatecfg *c);
/* Reads the JSON above strictly: unknown keys, wrong types and values out of range are errors
 * naming the field. url must be http:// or https://. */
int updatecfg_parse(const char *name, const char *buf, size_t len, struct updatecfg *ret,
		    struct err *e) __attribute__((warn_unused_result));
/* The JSON for c (malloc'd), which updatecfg_parse reads back to c. */
char *updatecfg_write(const struct updatecfg *c);
/* Whether t (seconds since 1970) is inside the window (always, without one). */
bool updatecfg_in_window(const struct updatecfg *c, int64_t t);
/* The next time at or after t that is inside the window. */
int64_t updatecfg_next_window(const struct updatecfg *c, int64_t t);
/* "02:00-04:00" -> seconds after midnight. */
int updatecfg_parse_window(const char *s, int32_t *ret_start, int32_t *ret_end);

#endif
