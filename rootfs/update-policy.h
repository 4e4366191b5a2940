/* A slot's health policy: how long its checks may take (window, seconds), how many boots it
 * gets before GRUB gives up on it (tries), and which checks prove it healthy. The manifest
 * carries it as its "health" object; the image ships the same object as
 * /etc/stele/health.json. Shared by stele-init (the watchdog timeout of a trial boot) and
 * stele-update. */
#ifndef STELE_UPDATE_POLICY_H
#define STELE_UPDATE_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "../lib/err.h"
#include "../lib/slot.h"

#define POLICY_DEFAULT_WINDOW 120
#define POLICY_DEFAULT_TRIES 3
#define POLICY_DEFAULT_TIMEOUT 30 /* a check without "timeout", and every health.d program */
#define POLICY_MAX_WINDOW 86400
#define POLICY_MAX_TRIES 15
#define POLICY_MAX_TIMEOUT 3600
#define POLICY_MAX_CHECKS 32

struct policy_check {
	char name[64];
	char exec[256];
	unsigned timeout;
};

struct policy {
	unsigned window, tries;
	size_t n_checks;
	struct policy_check checks[POLICY_MAX_CHECKS];
};

/* The defaults: window 120, tries 3, no checks. */
void policy_init(struct policy *p);
/* Parses a health object ({"window", "tries", "checks": [{"name", "exec", "timeout"}]}) held
 * in json; with in_manifest it is the "health" member of a manifest (missing: defaults).
 * Bounds as the profile's: window 1..86400, tries 1..15, timeout 1..3600. */
int policy_parse(const char *json, size_t len, bool in_manifest, struct policy *ret, struct err *e);
/* Reads a health.json file; a missing file gives the defaults. */
int policy_load(const char *path, struct policy *ret, struct err *e);
/* Reads the manifest region (h) of a slot's verity partition and parses its policy. The
 * caller verified that manifest's signature; this is for values that only tune timing. */
int policy_read_slot(const char *verity_node, const struct slot_header *h, struct policy *ret,
		     struct err *e);

#endif
