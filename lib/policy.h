/* A slot's health policy: how long its checks may take (window, seconds), how many boots it
 * gets before GRUB gives up on it (tries), and which checks prove it healthy. The manifest
 * carries it as its "health" object; the image ships the same object as
 * /etc/stele/health.json. Shared by stele-init (the watchdog timeout of a trial boot),
 * stele-update and the builder, which writes both through policy_complete. */
#ifndef STELE_LIB_POLICY_H
#define STELE_LIB_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "contract.h" /* the defaults and bounds */
#include "err.h"
#include "slot.h"

/* A check runs an executable (exec), or asks systemd whether a unit is active (unit):
 * exactly one of the two is set. */
struct policy_check {
	char name[64];
	char exec[256];
	char unit[128];
	unsigned timeout;
};

/* A systemd unit name a check may give: "nginx.service", "getty@ttyS0.service": name
 * characters as systemd allows them and a unit type suffix. Shared by the profile loader and
 * the device's parser, so both accept the same names. */
static inline bool policy_unit_ok(const char *s)
{
	static const char *const types[] = {".service", ".socket", ".target", ".mount",
					    ".timer", ".path", ".device", ".swap", NULL};
	size_t n = strlen(s);

	if (n < 3 || n >= sizeof(((struct policy_check *)0)->unit) || s[0] == '-' || s[0] == '.' ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_.@\\-") != n)
		return false;
	for (const char *const *t = types; *t; t++) {
		size_t tl = strlen(*t);
		if (n > tl && strcmp(s + n - tl, *t) == 0)
			return true;
	}
	return false;
}

struct policy {
	unsigned window, tries;
	size_t n_checks;
	struct policy_check checks[POLICY_MAX_CHECKS];
};

/* The defaults (POLICY_DEFAULT_*), no checks. */
void policy_init(struct policy *p);
/* Parses a health object ({"window", "tries", "checks": [{"name", "exec"|"unit", "timeout"}]}) held
 * in json; with in_manifest it is the "health" member of a manifest (missing: defaults).
 * Bounds as the profile's: window 1..86400, tries 1..15, timeout 1..3600. */
int policy_parse(const char *json, size_t len, bool in_manifest, struct policy *ret, struct err *e);
/* Parses a health object already parsed as JSON (h). */
struct cJSON;
int policy_from_json(const struct cJSON *h, struct policy *ret, struct err *e);
/* The health object a slot ships, as its health.json and as its manifest's "health": a copy
 * of h (NULL: none) with "checks", "window" and "tries" added when h leaves them out, checked
 * as the device will parse it. *ret is a new object (cJSON_Delete). */
int policy_complete(const struct cJSON *h, struct cJSON **ret, struct err *e);
/* Reads a health.json file; a missing file gives the defaults. */
int policy_load(const char *path, struct policy *ret, struct err *e);
/* Reads the manifest region (h) of a slot's verity partition and parses its policy. The
 * caller verified that manifest's signature; this is for values that only tune timing. */
int policy_read_slot(const char *verity_node, const struct slot_header *h, struct policy *ret,
		     struct err *e);

#endif
