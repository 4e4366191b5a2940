#include "journal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN 65536

static int journal_path(const char *data_dir, char buf[PATH_MAX], struct err *e)
{
	if ((size_t)snprintf(buf, PATH_MAX, "%s%s", data_dir, JOURNAL_FILE) >= PATH_MAX)
		return err_set(e, ENAMETOOLONG, "journal path too long");
	return 0;
}

static cJSON *side(const struct journal_side *s)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	if (s->version)
		cJSON_AddStringToObject(o, "version", s->version);
	else
		cJSON_AddNullToObject(o, "version");
	if (s->root_hash)
		cJSON_AddStringToObject(o, "root_hash", s->root_hash);
	else
		cJSON_AddNullToObject(o, "root_hash");
	return o;
}

char *journal_format(const struct journal_event *ev, time_t when)
{
	char slot[2] = {ev->slot, '\0'};
	cJSON *o = cJSON_CreateObject();
	char *text;

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "time", (double)when);
	cJSON_AddStringToObject(o, "event", ev->event);
	cJSON_AddStringToObject(o, "slot", slot);
	if (ev->from.version || ev->from.root_hash)
		cJSON_AddItemToObject(o, "from", side(&ev->from));
	if (ev->to.version || ev->to.root_hash)
		cJSON_AddItemToObject(o, "to", side(&ev->to));
	if (ev->reason)
		cJSON_AddStringToObject(o, "reason", ev->reason);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

static char *event_line(const struct journal_event *ev)
{
	char *text = journal_format(ev, time(NULL)), *line = NULL;

	/* a spare first byte: journal_append may need a newline there */
	if (text && asprintf(&line, " %s\n", text) < 0)
		line = NULL;
	free(text);
	return line;
}

static int ensure_dir(const char *path, struct err *e)
{
	char dir[PATH_MAX];
	char *slash;

	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return err_sys(e, errno, "creating %s", dir);
	return 0;
}

int journal_append(const char *data_dir, const struct journal_event *ev, struct err *e)
{
	char path[PATH_MAX];
	char *buf, *line, last;
	size_t len;
	ssize_t n;
	off_t end;
	int fd, rc;

	rc = journal_path(data_dir, path, e);
	if (rc == 0)
		rc = ensure_dir(path, e);
	if (rc < 0)
		return rc;
	buf = line = event_line(ev);
	if (!line)
		return err_set(e, ENOMEM, "out of memory");
	len = strlen(line);
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		rc = err_sys(e, errno, "opening %s", path);
		goto out;
	}
	/* a line cut by a power loss is ended first, so it does not swallow this one */
	end = lseek(fd, 0, SEEK_END);
	if (end > 0 && pread(fd, &last, 1, end - 1) == 1 && last != '\n') {
		line[0] = '\n';
	} else {
		line++;
		len--;
	}
	/* one write: O_APPEND keeps concurrent lines whole */
	n = write(fd, line, len);
	if (n != (ssize_t)len)
		rc = err_sys(e, n < 0 ? errno : EIO, "writing %s", path);
	if (rc == 0 && fsync(fd) < 0)
		rc = err_sys(e, errno, "fsync %s", path);
	if (close(fd) < 0 && rc == 0)
		rc = err_sys(e, errno, "closing %s", path);
out:
	free(buf);
	return rc;
}

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Calls fn for each line of the journal (parsed, or NULL when it is not a JSON object). */
static int each_line(const char *data_dir,
		     void (*fn)(const char *line, const cJSON *o, void *userdata), void *userdata,
		     struct err *e)
{
	char path[PATH_MAX];
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	cJSON *o;
	FILE *f;
	int rc = journal_path(data_dir, path, e);

	if (rc < 0)
		return rc;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : err_sys(e, errno, "%s", path);
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (n == 0)
			continue;
		o = n < LINE_MAX_LEN ? cJSON_Parse(line) : NULL;
		fn(line, cJSON_IsObject(o) ? o : NULL, userdata);
		cJSON_Delete(o);
	}
	if (ferror(f))
		rc = err_sys(e, EIO, "reading %s", path);
	free(line);
	fclose(f);
	return rc;
}

struct print_ctx {
	FILE *out;
	bool json;
	size_t n;
};

static void print_one(const char *line, const cJSON *o, void *userdata)
{
	struct print_ctx *p = userdata;

	if (!p->json) {
		fprintf(p->out, "%s\n", line);
		return;
	}
	if (o)
		fprintf(p->out, "%s\n  %s", p->n++ ? "," : "", line);
}

int journal_print(const char *data_dir, bool json, FILE *out, struct err *e)
{
	struct print_ctx p = {.out = out, .json = json};
	int rc;

	if (json)
		fputc('[', out);
	rc = each_line(data_dir, print_one, &p, e);
	if (json)
		fprintf(out, "%s]\n", p.n ? "\n" : "");
	return rc;
}

struct last_ctx {
	char slot[2];
	char event[32];
	char root_hash[130];
};

static void note_last(const char *line, const cJSON *o, void *userdata)
{
	struct last_ctx *l = userdata;
	const char *s = str_at(o, "slot", NULL), *ev = str_at(o, "event", NULL);
	const char *h = str_at(o, "from", "root_hash");

	(void)line;
	if (!o || !s || !ev || strcmp(s, l->slot) != 0)
		return;
	snprintf(l->event, sizeof(l->event), "%s", ev);
	snprintf(l->root_hash, sizeof(l->root_hash), "%s", h ?: "");
}

bool journal_last_is(const char *data_dir, char slot, const char *event, const char *root_hash)
{
	struct last_ctx l = {.slot = {slot, '\0'}};
	struct err e;

	if (each_line(data_dir, note_last, &l, &e) < 0)
		return false;
	return strcmp(l.event, event) == 0 && strcmp(l.root_hash, root_hash ?: "") == 0;
}
