/* libFuzzer target: TUF metadata as stele-update reads it (lib/tuf.c, lib/rollout.c). Byte 0
 * picks the role, the rest is the file. No crash; a document that parses re-encodes to the
 * same canonical bytes (one reading only); a root that parses is checked against itself; every
 * target's channels are parsed as a device would. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/input.h"
#include "lib/rollout.h"
#include "lib/tuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void channels(const struct tuf_target *t)
{
	const cJSON *chs = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(t->custom, "stele"), "channels");
	struct rollout_release r;
	struct err e;

	for (const cJSON *c = chs ? chs->child : NULL; c; c = c->next)
		if (c->string && rollout_release_parse(t, c->string, &r, &e) == 0) {
			if (rollout_percent_at(&r, 0) < 0 || rollout_percent_at(&r, INT64_MAX) > 100)
				abort();
			(void)rollout_opens_at(&r, 0.5);
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum tuf_role role;
	struct tuf_doc d;
	struct err e;

	if (size < 1)
		return 0;
	role = (enum tuf_role)(data[0] % TUF_ROLES);
	if (tuf_doc_parse("fuzz.json", (const char *)data + 1, size - 1, role, &d, &e) < 0)
		return 0;
	{
		cJSON *again = input_json(d.canonical, d.canonical_len);
		char *s = NULL;
		size_t n = 0;

		if (!again || tuf_canonical(again, &s, &n, &e) < 0 || n != d.canonical_len ||
		    memcmp(s, d.canonical, n) != 0)
			abort();
		free(s);
		cJSON_Delete(again);
	}
	if (role == TUF_ROOT) {
		struct tuf_root *rt = malloc(sizeof(*rt));

		if (tuf_root_parse(&d, rt, &e) == 0)
			(void)tuf_verify(rt, TUF_ROOT, &d, "fuzz.json", &e);
		free(rt);
	} else if (role == TUF_TARGETS) {
		struct tuf_target *list;
		size_t n;

		if (tuf_targets_list(&d, &list, &n, &e) == 0) {
			for (size_t i = 0; i < n; i++)
				channels(&list[i]);
			free(list);
		}
	} else {
		struct tuf_meta m;

		(void)tuf_meta_get(&d, role == TUF_SNAPSHOT ? "targets.json" : "snapshot.json", &m, &e);
	}
	tuf_doc_free(&d);
	return 0;
}
