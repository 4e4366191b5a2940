/* Unit tests of the health-policy parser (lib/policy.c), by table: what the device reads from
 * a slot's health.json and its manifest's "health", from the builder's own output to hostile
 * values (out of range, wrong types, overlong strings, too many checks, broken JSON); and
 * policy_complete, whose output must parse back to the same policy. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/policy.h"
#include "tap.h"

static const struct row {
	const char *json;
	bool in_manifest;
	int rc;
	unsigned window, tries;
	size_t n_checks;
	const char *err; /* a fragment of the message, when rc < 0 */
} rows[] = {
	/* what the builder writes, and what defaults fill */
	{"{\"checks\": [], \"window\": 120, \"tries\": 3}", false, 0, 120, 3, 0, NULL},
	{"{}", false, 0, POLICY_DEFAULT_WINDOW, POLICY_DEFAULT_TRIES, 0, NULL},
	{"{\"window\": 5}", false, 0, 5, POLICY_DEFAULT_TRIES, 0, NULL},
	{"{\"tries\": 7}", false, 0, POLICY_DEFAULT_WINDOW, 7, 0, NULL},
	{"{\"unknown\": true, \"window\": 9}", false, 0, 9, POLICY_DEFAULT_TRIES, 0, NULL},
	/* bounds */
	{"{\"window\": 1, \"tries\": 1}", false, 0, 1, 1, 0, NULL},
	{"{\"window\": 86400, \"tries\": 15}", false, 0, 86400, 15, 0, NULL},
	{"{\"window\": 0}", false, -EINVAL, 0, 0, 0, "health.window: expected an integer from 1 to 86400"},
	{"{\"window\": 86401}", false, -EINVAL, 0, 0, 0, "health.window"},
	{"{\"window\": -1}", false, -EINVAL, 0, 0, 0, "health.window"},
	{"{\"window\": 1.5}", false, -EINVAL, 0, 0, 0, "health.window"},
	{"{\"window\": 1e300}", false, -EINVAL, 0, 0, 0, "health.window"},
	{"{\"window\": -1e300}", false, -EINVAL, 0, 0, 0, "health.window"},
	{"{\"window\": \"120\"}", false, -EINVAL, 0, 0, 0, "health.window"},
	{"{\"window\": null}", false, -EINVAL, 0, 0, 0, "health.window"},
	{"{\"window\": true}", false, -EINVAL, 0, 0, 0, "health.window"},
	{"{\"tries\": 0}", false, -EINVAL, 0, 0, 0, "health.tries: expected an integer from 1 to 15"},
	{"{\"tries\": 16}", false, -EINVAL, 0, 0, 0, "health.tries"},
	{"{\"tries\": 4294967297}", false, -EINVAL, 0, 0, 0, "health.tries"},
	/* checks */
	{"{\"checks\": [{\"name\": \"web\", \"exec\": \"/usr/bin/check\"}]}", false, 0, 120, 3, 1, NULL},
	{"{\"checks\": [{\"name\": \"n\", \"unit\": \"nginx.service\", \"timeout\": 3600}]}", false, 0,
	 120, 3, 1, NULL},
	{"{\"checks\": [{\"name\": \"n\", \"unit\": \"getty@ttyS0.service\", \"timeout\": 1}]}", false,
	 0, 120, 3, 1, NULL},
	{"{\"checks\": [{\"name\": \"n\", \"exec\": \"/x\", \"timeout\": 0}]}", false, -EINVAL, 0, 0, 0,
	 "health.checks[0].timeout: expected an integer from 1 to 3600"},
	{"{\"checks\": [{\"name\": \"n\", \"exec\": \"/x\", \"timeout\": 3601}]}", false, -EINVAL, 0, 0,
	 0, "health.checks[0].timeout"},
	{"{\"checks\": [{\"name\": \"n\", \"exec\": \"/x\", \"unit\": \"a.service\"}]}", false, -EINVAL,
	 0, 0, 0, "expected exactly one of them"},
	{"{\"checks\": [{\"name\": \"n\"}]}", false, -EINVAL, 0, 0, 0, "expected exactly one of them"},
	{"{\"checks\": [{\"exec\": \"/x\"}]}", false, -EINVAL, 0, 0, 0,
	 "health.checks[0].name: expected a non-empty string"},
	{"{\"checks\": [{\"name\": \"\", \"exec\": \"/x\"}]}", false, -EINVAL, 0, 0, 0,
	 "health.checks[0].name"},
	{"{\"checks\": [{\"name\": 5, \"exec\": \"/x\"}]}", false, -EINVAL, 0, 0, 0,
	 "health.checks[0].name"},
	{"{\"checks\": [{\"name\": \"n\", \"exec\": \"\"}]}", false, -EINVAL, 0, 0, 0,
	 "health.checks[0].exec: expected a non-empty string"},
	{"{\"checks\": [{\"name\": \"n\", \"exec\": [\"/x\"]}]}", false, -EINVAL, 0, 0, 0,
	 "health.checks[0].exec"},
	{"{\"checks\": [{\"name\": \"n\", \"unit\": \"nginx\"}]}", false, -EINVAL, 0, 0, 0,
	 "health.checks[0].unit: not a systemd unit name"},
	{"{\"checks\": [{\"name\": \"n\", \"unit\": \"-x.service\"}]}", false, -EINVAL, 0, 0, 0,
	 "not a systemd unit name"},
	{"{\"checks\": [{\"name\": \"n\", \"unit\": \"a b.service\"}]}", false, -EINVAL, 0, 0, 0,
	 "not a systemd unit name"},
	{"{\"checks\": [{\"name\": \"n\", \"unit\": \"../x.service\"}]}", false, -EINVAL, 0, 0, 0,
	 "not a systemd unit name"},
	{"{\"checks\": [{\"name\": \"ok\", \"exec\": \"/x\"}, 7]}", false, -EINVAL, 0, 0, 0,
	 "health.checks[1]: expected an object"},
	{"{\"checks\": {\"name\": \"n\"}}", false, -EINVAL, 0, 0, 0, "health.checks: expected an array"},
	{"{\"checks\": null}", false, -EINVAL, 0, 0, 0, "health.checks: expected an array"},
	/* not an object, not JSON */
	{"[]", false, -EINVAL, 0, 0, 0, "health: expected an object"},
	{"7", false, -EINVAL, 0, 0, 0, "health: expected an object"},
	{"", false, -EINVAL, 0, 0, 0, "not valid JSON"},
	{"{\"window\": 5", false, -EINVAL, 0, 0, 0, "not valid JSON"},
	{"{\"window\": 5}}", false, -EINVAL, 0, 0, 0, "not valid JSON"},
	{"\xff\xfe{}", false, -EINVAL, 0, 0, 0, "not valid JSON"},
	/* inside a manifest */
	{"{\"product\": \"x\"}", true, 0, POLICY_DEFAULT_WINDOW, POLICY_DEFAULT_TRIES, 0, NULL},
	{"{\"health\": {\"window\": 30, \"tries\": 2}}", true, 0, 30, 2, 0, NULL},
	{"{\"health\": {\"tries\": 99}}", true, -EINVAL, 0, 0, 0, "health.tries"},
	{"{\"health\": \"fine\"}", true, -EINVAL, 0, 0, 0, "health: expected an object"},
	{"{\"health\": null}", true, -EINVAL, 0, 0, 0, "health: expected an object"},
};

static void test_rows(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct policy p;
		struct err e = {0};
		int rc;

		memset(&p, 0xa5, sizeof(p));
		rc = policy_parse(r->json, strlen(r->json), r->in_manifest, &p, &e);
		is_int(rc, r->rc, "row %zu: %s", i, r->json);
		if (rc == 0 && r->rc == 0) {
			is_int(p.window, r->window, "row %zu: window", i);
			is_int(p.tries, r->tries, "row %zu: tries", i);
			is_int(p.n_checks, r->n_checks, "row %zu: checks", i);
		} else if (r->err) {
			has_str(e.msg, r->err, "row %zu: the message names the field", i);
		}
	}
}

/* The length is what counts: a NUL inside, or bytes after the given length, are not JSON. */
static void test_lengths(void)
{
	static const char with_nul[] = "{\"window\": 5}\0{\"window\": 6}";
	struct policy p;

	is_int(policy_parse(with_nul, sizeof(with_nul) - 1, false, &p, NULL), -EINVAL,
	       "a NUL inside the buffer");
	is_int(policy_parse("{\"window\": 5}xyz", 13, false, &p, NULL), 0, "only len bytes are read");
	is_int(p.window, 5, "...and parsed");
	is_int(policy_parse("{\"window\": 5}", 5, false, &p, NULL), -EINVAL, "a cut buffer");
}

static void test_check_fields(void)
{
	const char *j = "{\"checks\": [{\"name\": \"web\", \"exec\": \"/usr/bin/check-page\", "
			"\"timeout\": 9}, {\"name\": \"nginx\", \"unit\": \"nginx.service\"}]}";
	struct policy p;

	is_int(policy_parse(j, strlen(j), false, &p, NULL), 0, "two checks");
	is_str(p.checks[0].name, "web", "first name");
	is_str(p.checks[0].exec, "/usr/bin/check-page", "first exec");
	is_str(p.checks[0].unit, "", "first has no unit");
	is_int(p.checks[0].timeout, 9, "first timeout");
	is_str(p.checks[1].unit, "nginx.service", "second unit");
	is_str(p.checks[1].exec, "", "second has no exec");
	is_int(p.checks[1].timeout, POLICY_DEFAULT_TIMEOUT, "second gets the default timeout");
}

/* Strings at and over their fields' sizes; POLICY_MAX_CHECKS and one more. */
static void test_sizes(void)
{
	const struct {
		const char *key;
		size_t size;
		const char *suffix;
	} f[] = {{"name", sizeof(((struct policy_check *)0)->name), ""},
		 {"exec", sizeof(((struct policy_check *)0)->exec), ""},
		 {"unit", sizeof(((struct policy_check *)0)->unit), ".service"}};
	char *j = malloc(64 * 1024), val[1024];
	struct policy p;
	struct err e = {0};

	for (size_t i = 0; i < 3; i++)
		for (size_t len = f[i].size - 1; len <= f[i].size; len++) {
			size_t sl = strlen(f[i].suffix);
			memset(val, 'a', len - sl);
			memcpy(val + len - sl, f[i].suffix, sl + 1);
			snprintf(j, 64 * 1024, "{\"checks\": [{%s\"%s\": \"%s\"}]}",
				 strcmp(f[i].key, "name") ? "\"name\": \"n\", " : "\"exec\": \"/x\", ",
				 f[i].key, val);
			int rc = policy_parse(j, strlen(j), false, &p, &e);
			if (len < f[i].size) {
				is_int(rc, 0, "%s of %zu bytes fits", f[i].key, len);
			} else {
				is_int(rc, -EINVAL, "%s of %zu bytes is refused", f[i].key, len);
				has_str(e.msg, f[i].key, "...naming the field");
			}
		}
	for (int n = POLICY_MAX_CHECKS; n <= POLICY_MAX_CHECKS + 1; n++) {
		size_t o = (size_t)snprintf(j, 64 * 1024, "{\"checks\": [");
		for (int k = 0; k < n; k++)
			o += (size_t)snprintf(j + o, 64 * 1024 - o, "%s{\"name\": \"c%d\", \"exec\": \"/x\"}",
					      k ? "," : "", k);
		snprintf(j + o, 64 * 1024 - o, "]}");
		int rc = policy_parse(j, strlen(j), false, &p, &e);
		if (n == POLICY_MAX_CHECKS) {
			is_int(rc, 0, "%d checks", n);
			is_int(p.n_checks, n, "all kept");
		} else {
			is_int(rc, -EINVAL, "%d checks refused", n);
			has_str(e.msg, "more than", "...saying the limit");
		}
	}
	free(j);
}

/* policy_complete: what the builder writes, with the defaults made explicit, checked the way
 * the device reads it, and parsed back to the same values. */
static void test_complete(void)
{
	const char *in[] = {NULL, "{}", "{\"tries\": 5}",
			    "{\"window\": 60, \"checks\": [{\"name\": \"a\", \"exec\": \"/a\"}]}"};
	const unsigned want_w[] = {120, 120, 120, 60}, want_t[] = {3, 3, 5, 3};

	for (size_t i = 0; i < 4; i++) {
		cJSON *h = in[i] ? cJSON_Parse(in[i]) : NULL, *out = NULL;
		struct policy direct, back;
		char *text;

		is_int(policy_complete(h, &out, NULL), 0, "complete %s", in[i] ? in[i] : "(none)");
		ok(out && cJSON_GetObjectItemCaseSensitive(out, "checks") &&
			   cJSON_GetObjectItemCaseSensitive(out, "window") &&
			   cJSON_GetObjectItemCaseSensitive(out, "tries"),
		   "...has checks, window and tries");
		text = out ? cJSON_PrintUnformatted(out) : NULL;
		is_int(text ? policy_parse(text, strlen(text), false, &back, NULL) : -1, 0,
		       "...parses back");
		is_int(back.window, want_w[i], "...window");
		is_int(back.tries, want_t[i], "...tries");
		if (h) {
			is_int(policy_from_json(h, &direct, NULL), 0, "...the input parses too");
			ok(direct.window == back.window && direct.tries == back.tries &&
				   direct.n_checks == back.n_checks,
			   "...to the same policy");
		}
		free(text);
		cJSON_Delete(out);
		cJSON_Delete(h);
	}
	cJSON *bad = cJSON_Parse("{\"tries\": 0}"), *out = (cJSON *)1;
	struct err e = {0};
	is_int(policy_complete(bad, &out, &e), -EINVAL, "complete refuses a bad policy");
	ok(out == (cJSON *)1, "...and returns nothing");
	has_str(e.msg, "health.tries", "...naming the field");
	cJSON_Delete(bad);
}

static void test_load(void)
{
	const char *t = getenv("TMPDIR");
	char dir[4096], path[4200];
	struct policy p;
	struct err e = {0};
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/test-policy-XXXXXX", t && *t ? t : "/tmp");
	if (!ok(mkdtemp(dir) != NULL, "temporary directory"))
		return;
	snprintf(path, sizeof(path), "%s/missing.json", dir);
	is_int(policy_load(path, &p, NULL), 0, "a missing health.json");
	ok(p.window == POLICY_DEFAULT_WINDOW && p.tries == POLICY_DEFAULT_TRIES && !p.n_checks,
	   "...gives the defaults");
	snprintf(path, sizeof(path), "%s/bad.json", dir);
	f = fopen(path, "w");
	fputs("{\"window\": 0}", f);
	fclose(f);
	is_int(policy_load(path, &p, &e), -EINVAL, "an invalid health.json");
	has_str(e.msg, path, "...the message names the file");
	has_str(e.msg, "health.window", "...and the field");
	unlink(path);
	snprintf(path, sizeof(path), "%s/dir.json", dir);
	mkdir(path, 0755);
	is_int(policy_load(path, &p, &e) < 0, 1, "a directory is refused");
	rmdir(path);
	snprintf(path, sizeof(path), "%s/big.json", dir);
	f = fopen(path, "w");
	fputc('{', f);
	for (int i = 0; i < 300 * 1024; i++)
		fputc(' ', f);
	fputc('}', f);
	fclose(f);
	is_int(policy_load(path, &p, &e), -EFBIG, "a file over 256 KiB is refused");
	unlink(path);
	rmdir(dir);
}

static void test_units(void)
{
	const char *good[] = {"a.service", "nginx.service", "getty@ttyS0.service", "x.socket",
			      "multi-user.target", "var-lib.mount", "a.timer", "a.path",
			      "dev-sda.device", "a.swap", "a\\x2d.service", "a:b_c.service"};
	const char *bad[] = {"", "ab", ".service", "-a.service", ".a.service", "a", "a.exe",
			     "a b.service", "a/b.service", "a.service\t", "ä.service", "a.Service"};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(policy_unit_ok(good[i]), "unit name \"%s\" accepted", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!policy_unit_ok(bad[i]), "unit name \"%s\" refused", bad[i]);
}

int main(void)
{
	test_rows();
	test_lengths();
	test_check_fields();
	test_sizes();
	test_complete();
	test_load();
	test_units();
	return tap_done();
}
