/* Unit tests of stele-update's journal (rootfs/update/journal.c): the line of each event by
 * table, parsed back (every field, nulls, escaping, never a newline inside); appending,
 * printing as text and as JSON, a line cut by a power loss, and journal_last_is. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootfs/update/journal.h"
#include "tap.h"

#define H1 "3f2a9c1e00000000000000000000000000000000000000000000000000000001"
#define H2 "3f2a9c1e00000000000000000000000000000000000000000000000000000002"

static const struct journal_event rows[] = {
	{"install", 'b', {"1.0.0", H1}, {"1.1.0", H2}, NULL},
	{"trial", 'b', {"1.1.0", H2}, {NULL, NULL}, NULL},
	{"commit", 'b', {"1.1.0", H2}, {NULL, NULL}, "health checks passed"},
	{"revert", 'b', {"1.1.0", H2}, {"1.0.0", H1}, "check \"web\" failed: exit 1"},
	{"exhausted-tries", 'a', {NULL, H1}, {NULL, NULL}, NULL},
	{"mark-bad", 'a', {"1.0.0", NULL}, {NULL, NULL}, "by hand"},
	{"rollback", 'a', {NULL, NULL}, {NULL, NULL}, NULL},
	{"install", 'a', {"v\\1\"2", "h\n\t\x01"}, {"ü-ß", "x"}, "line1\nline2\r\x7f"},
};

static const char *str(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* side absent when both are NULL; otherwise each field a string or null */
static void check_side(const cJSON *o, const char *name, const struct journal_side *s, size_t i)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!s->version && !s->root_hash) {
		ok(j == NULL, "row %zu: no \"%s\"", i, name);
		return;
	}
	if (s->version)
		is_str(str(o, name, "version"), s->version, "row %zu: %s.version", i, name);
	else
		ok(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "version")),
		   "row %zu: %s.version is null", i, name);
	if (s->root_hash)
		is_str(str(o, name, "root_hash"), s->root_hash, "row %zu: %s.root_hash", i, name);
	else
		ok(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "root_hash")),
		   "row %zu: %s.root_hash is null", i, name);
}

static void test_format(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct journal_event *ev = &rows[i];
		char *line = journal_format(ev, 1700000000 + (time_t)i);
		cJSON *o = line ? cJSON_Parse(line) : NULL;
		char slot[2] = {ev->slot, 0};
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "time");

		ok(line && !strchr(line, '\n') && !strchr(line, '\r'), "row %zu: one line", i);
		ok(cJSON_IsObject(o), "row %zu: a JSON object", i);
		ok(cJSON_IsNumber(t) && t->valuedouble == 1700000000.0 + (double)i, "row %zu: time", i);
		is_str(str(o, "event", NULL), ev->event, "row %zu: event", i);
		is_str(str(o, "slot", NULL), slot, "row %zu: slot", i);
		check_side(o, "from", &ev->from, i);
		check_side(o, "to", &ev->to, i);
		if (ev->reason)
			is_str(str(o, "reason", NULL), ev->reason, "row %zu: reason", i);
		else
			ok(!cJSON_GetObjectItemCaseSensitive(o, "reason"), "row %zu: no reason", i);
		cJSON_Delete(o);
		free(line);
	}
}

static char *slurp(FILE *f)
{
	long n;
	char *s;

	fflush(f);
	n = ftell(f);
	s = calloc(1, (size_t)n + 1);
	rewind(f);
	if (s && fread(s, 1, (size_t)n, f) != (size_t)n)
		s[0] = '\0';
	return s;
}

static char *print(const char *dir, bool json, int *rc)
{
	FILE *f = tmpfile();
	char *s;

	*rc = journal_print(dir, json, f, NULL);
	s = slurp(f);
	fclose(f);
	return s;
}

static void test_file(void)
{
	const char *t = getenv("TMPDIR");
	char dir[4096], path[4300], *out;
	cJSON *arr;
	FILE *f;
	int rc;

	snprintf(dir, sizeof(dir), "%s/test-journal-XXXXXX", t && *t ? t : "/tmp");
	if (!ok(mkdtemp(dir) != NULL, "temporary directory"))
		return;
	snprintf(path, sizeof(path), "%s%s", dir, JOURNAL_FILE);

	out = print(dir, true, &rc);
	is_int(rc, 0, "a missing journal prints");
	is_str(out, "[]\n", "...as an empty array");
	free(out);
	ok(!journal_last_is(dir, 'b', "install", H1), "a missing journal has no last event");

	for (size_t i = 0; i < 4; i++)
		is_int(journal_append(dir, &rows[i], NULL), 0, "append row %zu", i);
	out = print(dir, false, &rc);
	is_int(rc, 0, "print as text");
	size_t lines = 0;
	for (char *c = out; c && *c; c++)
		lines += *c == '\n';
	is_int(lines, 4, "...one line an event");
	free(out);

	ok(journal_last_is(dir, 'b', "revert", H2), "the last event of b is its revert");
	ok(!journal_last_is(dir, 'b', "revert", H1), "...from H2, not H1");
	ok(!journal_last_is(dir, 'b', "install", H1), "...not an earlier event");
	ok(!journal_last_is(dir, 'a', "revert", H2), "a has no events");

	/* a power cut in the middle of a line */
	f = fopen(path, "a");
	fputs("{\"time\": 17000, \"event\": \"comm", f);
	fclose(f);
	out = print(dir, true, &rc);
	arr = out ? cJSON_Parse(out) : NULL;
	ok(cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == 4,
	   "JSON printing leaves the cut line out (4 events)");
	cJSON_Delete(arr);
	free(out);
	is_int(journal_append(dir, &rows[4], NULL), 0, "append after the cut line");
	out = print(dir, true, &rc);
	arr = out ? cJSON_Parse(out) : NULL;
	ok(cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == 5,
	   "...the new event is a whole line of its own (5 events)");
	is_str(str(cJSON_GetArrayItem(arr, 4), "event", NULL), "exhausted-tries", "...and the last");
	cJSON_Delete(arr);
	free(out);
	ok(journal_last_is(dir, 'a', "exhausted-tries", H1), "last event of a");
	ok(journal_last_is(dir, 'b', "revert", H2), "b's last event is still its revert");

	/* escaping survives the file */
	is_int(journal_append(dir, &rows[7], NULL), 0, "append an event needing escapes");
	out = print(dir, true, &rc);
	arr = out ? cJSON_Parse(out) : NULL;
	is_str(str(cJSON_GetArrayItem(arr, 5), "reason", NULL), rows[7].reason,
	       "...read back intact");
	cJSON_Delete(arr);
	free(out);

	unlink(path);
	snprintf(path, sizeof(path), "%s/stele", dir);
	rmdir(path);
	/* a data directory that does not exist: an error, nothing created */
	snprintf(path, sizeof(path), "%s/missing", dir);
	struct err e = {0};
	ok(journal_append(path, &rows[0], &e) < 0, "append under a missing data directory fails");
	ok(e.msg[0] != '\0', "...saying why");
	rmdir(dir);
}

int main(void)
{
	test_format();
	test_file();
	return tap_done();
}
