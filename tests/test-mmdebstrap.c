/* Unit tests for the mmdebstrap base's profile object (builder/source-mmdebstrap.c): what it
 * accepts, and every hostile value refused with the JSON path before anything runs (the
 * values end up on mmdebstrap's command line and in a shell hook). */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "builder/sources/source.h"
#include "tap.h"

static int parse(const char *json, char *msg, size_t n)
{
	cJSON *base = cJSON_Parse(json);
	const struct source_handler *h = NULL;
	struct err e = {{0}};
	void *cfg = NULL;
	int r;

	if (!base) {
		snprintf(msg, n, "(test JSON does not parse)");
		return -1000;
	}
	r = source_select(base, "p.json", &h, &e);
	if (r == 0 && strcmp(h->key, "mmdebstrap") != 0)
		r = -1001;
	if (r == 0)
		r = h->parse(base, "p.json", &cfg, &e);
	if (h && cfg)
		h->free(cfg);
	snprintf(msg, n, "%s", e.msg);
	cJSON_Delete(base);
	return r;
}

static void good(const char *json)
{
	char msg[512];
	int r = parse(json, msg, sizeof(msg));

	if (!ok(r == 0, "accepted: %s", json))
		printf("#   %s\n", msg);
}

static void bad(const char *json, const char *frag)
{
	char msg[512];
	int r = parse(json, msg, sizeof(msg));

	ok(r < 0 && r > -1000, "refused: %s", json);
	has_str(msg, frag, "  the message names %s", frag);
}

int main(void)
{
	good("{\"mmdebstrap\": {\"suite\": \"bookworm\"}}");
	good("{\"mmdebstrap\": {\"suite\": \"bookworm\", \"variant\": \"minbase\", "
	     "\"include\": [\"systemd-sysv\", \"udev\", \"linux-image-cloud-amd64\", "
	     "\"nginx-light=1.22.1-9\", \"openssh-server/bookworm-security\"], "
	     "\"components\": [\"main\", \"contrib\"], \"mirror\": \"http://deb.debian.org/debian\"}}");
	good("{\"mmdebstrap\": {\"suite\": \"bookworm\", \"mirror\": \"https://mirror.example/debian/\"}}");
	good("{\"mmdebstrap\": {\"suite\": \"bookworm\", \"include\": []}}");

	bad("{\"mmdebstrap\": \"bookworm\"}", "base.mmdebstrap: expected an object");
	bad("{\"mmdebstrap\": {}}", "base.mmdebstrap.suite: missing");
	bad("{\"mmdebstrap\": {\"suite\": 12}}", "base.mmdebstrap.suite: expected");
	bad("{\"mmdebstrap\": {\"suite\": \"bookworm; rm -rf /\"}}", "base.mmdebstrap.suite");
	bad("{\"mmdebstrap\": {\"suite\": \"Bookworm\"}}", "base.mmdebstrap.suite");
	bad("{\"mmdebstrap\": {\"suite\": \"../x\"}}", "base.mmdebstrap.suite");
	bad("{\"mmdebstrap\": {\"suite\": \"bookworm\", \"variant\": \"tiny\"}}",
	    "base.mmdebstrap.variant");
	bad("{\"mmdebstrap\": {\"suite\": \"bookworm\", \"include\": \"udev\"}}",
	    "base.mmdebstrap.include: expected an array");
	bad("{\"mmdebstrap\": {\"suite\": \"bookworm\", \"include\": [\"udev\", 3]}}",
	    "base.mmdebstrap.include[1]");
	bad("{\"mmdebstrap\": {\"suite\": \"bookworm\", \"include\": [\"a,b\"]}}",
	    "base.mmdebstrap.include[0]");
	bad("{\"mmdebstrap\": {\"suite\": \"bookworm\", \"include\": [\"--foo\"]}}",
	    "base.mmdebstrap.include[0]");
	bad("{\"mmdebstrap\": {\"suite\": \"bookworm\", \"include\": [\"x$(id)\"]}}",
	    "base.mmdebstrap.include[0]");
	bad("{\"mmdebstrap\": {\"suite\": \"bookworm\", \"include\": [\"udev=\"]}}",
	    "base.mmdebstrap.include[0]");
	bad("{\"mmdebstrap\": {\"suite\": \"bookworm\", \"include\": [\"udev=1 2\"]}}",
	    "base.mmdebstrap.include[0]");
	bad("{\"mmdebstrap\": {\"suite\": \"bookworm\", \"components\": []}}",
	    "base.mmdebstrap.components");
	bad("{\"mmdebstrap\": {\"suite\": \"bookworm\", \"components\": [\"main contrib\"]}}",
	    "base.mmdebstrap.components[0]");
	bad("{\"mmdebstrap\": {\"suite\": \"bookworm\", \"components\": [\"a\", \"b\", \"c\", \"d\", "
	    "\"e\", \"f\", \"g\", \"h\", \"i\"]}}",
	    "base.mmdebstrap.components");
	bad("{\"mmdebstrap\": {\"suite\": \"bookworm\", \"mirror\": \"ftp://x/debian\"}}",
	    "base.mmdebstrap.mirror");
	bad("{\"mmdebstrap\": {\"suite\": \"bookworm\", \"mirror\": \"http://x/debian'; id; '\"}}",
	    "base.mmdebstrap.mirror");
	bad("{\"mmdebstrap\": {\"suite\": \"bookworm\", \"mirror\": \"http://x/a b\"}}",
	    "base.mmdebstrap.mirror");
	bad("{\"mmdebstrap\": {\"suite\": \"bookworm\", \"mirror\": \"http://x/\\nid\"}}",
	    "base.mmdebstrap.mirror");
	bad("{\"mmdebstrap\": {\"suite\": \"bookworm\", \"hooks\": []}}",
	    "base.mmdebstrap.hooks: unknown key");
	bad("{\"mmdebstrap\": {\"suite\": \"bookworm\", \"suite\": \"trixie\"}}",
	    "base.mmdebstrap.suite: duplicate key");
	bad("{\"mmdebstrap\": {\"suite\": \"bookworm\"}, \"tar\": \"x.tar\"}", "both");
	return tap_done();
}
