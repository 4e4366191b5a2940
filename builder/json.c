#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileutil.h"
#include "size.h"

bool json_path_key(char *out, size_t n, const char *base, const char *key)
{
	int r = snprintf(out, n, "%s%s%s", base, *base ? "." : "", key);

	return r >= 0 && (size_t)r < n;
}

bool json_path_index(char *out, size_t n, const char *base, int index)
{
	int r = snprintf(out, n, "%s[%d]", base, index);

	return r >= 0 && (size_t)r < n;
}

static int fail(struct err *e, const char *file, const char *path, const char *what)
{
	return err_set(e, EINVAL, "%s: %s: %s", file, *path ? path : "(top level)", what);
}

static int check_choices(const cJSON *v, const struct jfield *f, const char *file,
			 const char *path, struct err *e)
{
	char msg[512];
	size_t o;

	if (!f->choices)
		return 0;
	for (const char *const *c = f->choices; *c; c++)
		if (strcmp(*c, v->valuestring) == 0)
			return 0;
	o = (size_t)snprintf(msg, sizeof(msg), "\"%.100s\" is not one of", v->valuestring);
	for (const char *const *c = f->choices; *c && o < sizeof(msg); c++)
		o += (size_t)snprintf(msg + o, sizeof(msg) - o, " %s", *c);
	return fail(e, file, path, msg);
}

static int check_int(const cJSON *v, const struct jfield *f, const char *file, const char *path,
		     struct err *e)
{
	char msg[128];
	double d = v->valuedouble;
	long max = f->max ? f->max : 1L << 40;

	if (!cJSON_IsNumber(v))
		return fail(e, file, path, "expected an integer");
	/* the range first, in double: a cast of a value beyond long is undefined */
	if (!(d >= (double)f->min && d <= (double)max)) {
		snprintf(msg, sizeof(msg), "%.15g is out of range (%ld..%ld)", d, f->min, max);
		return fail(e, file, path, msg);
	}
	if (d != (double)(long)d)
		return fail(e, file, path, "expected an integer");
	return 0;
}

static int size_range(uint64_t size, const struct jfield *f, const char *file, const char *path,
		      struct err *e)
{
	char msg[160], a[32], b[32];

	if (f->min && size < (uint64_t)f->min) {
		snprintf(msg, sizeof(msg), "%s is below the minimum of %s",
			 size_str(size, a, sizeof(a)), size_str((uint64_t)f->min, b,
									 sizeof(b)));
		return fail(e, file, path, msg);
	}
	if (f->max && size > (uint64_t)f->max) {
		snprintf(msg, sizeof(msg), "%s is above the maximum of %s",
			 size_str(size, a, sizeof(a)), size_str((uint64_t)f->max, b,
									 sizeof(b)));
		return fail(e, file, path, msg);
	}
	if (f->align && size % (uint64_t)f->align) {
		snprintf(msg, sizeof(msg), "%s is not a multiple of %s",
			 size_str(size, a, sizeof(a)), size_str((uint64_t)f->align, b,
									 sizeof(b)));
		return fail(e, file, path, msg);
	}
	return 0;
}

static int check_size(const cJSON *v, const struct jfield *f, const char *file, const char *path,
		      struct err *e)
{
	bool percent = f->kind == J_PERCENT_OR_SIZE;
	uint64_t size;
	uint32_t pct;

	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9.0e15 &&
	    v->valuedouble == (double)(uint64_t)v->valuedouble)
		return size_range((uint64_t)v->valuedouble, f, file, path, e);
	if (cJSON_IsString(v) && percent && percent_parse(v->valuestring, &pct))
		return 0;
	if (cJSON_IsString(v) && size_parse(v->valuestring, &size))
		return size_range(size, f, file, path, e);
	return fail(e, file, path,
		    percent ? "expected a size such as \"64M\" or a percentage such as \"10%\""
			    : "expected a size such as \"512M\"");
}

static int check_array(const cJSON *v, const struct jfield *f, const char *file, const char *path,
		       struct err *e)
{
	struct jfield elem = {.key = f->key, .kind = f->elem, .fields = f->fields,
			      .choices = f->choices, .min = f->min, .max = f->max,
			      .align = f->align, .check = f->check};
	char sub[512];
	int i = 0, r;
	const cJSON *c;

	if (!cJSON_IsArray(v))
		return fail(e, file, path, "expected an array");
	cJSON_ArrayForEach(c, v)
	{
		if (!json_path_index(sub, sizeof(sub), path, i++))
			return fail(e, file, path, "path too long");
		r = json_check_value(c, &elem, file, sub, e);
		if (r < 0)
			return r;
	}
	return 0;
}

static int check_kind(const cJSON *v, const struct jfield *f, const char *file, const char *path,
		      struct err *e)
{
	uint32_t a, b;

	switch (f->kind) {
	case J_STRING:
		if (!cJSON_IsString(v))
			return fail(e, file, path, "expected a string");
		return check_choices(v, f, file, path, e);
	case J_INT:
		return check_int(v, f, file, path, e);
	case J_BOOL:
		return cJSON_IsBool(v) ? 0 : fail(e, file, path, "expected true or false");
	case J_SIZE:
	case J_PERCENT_OR_SIZE:
		return check_size(v, f, file, path, e);
	case J_MODE:
		if (!cJSON_IsString(v) || !mode_parse(v->valuestring, &a))
			return fail(e, file, path, "expected an octal mode such as \"0644\"");
		return 0;
	case J_OWNER:
		if (!cJSON_IsString(v) || !owner_parse(v->valuestring, &a, &b))
			return fail(e, file, path, "expected a numeric owner such as \"0:0\"");
		return 0;
	case J_OBJECT:
		if (!cJSON_IsObject(v))
			return fail(e, file, path, "expected an object");
		return f->fields ? json_check_object(v, f->fields, file, path, e) : 0;
	case J_ARRAY:
		return check_array(v, f, file, path, e);
	case J_ANY:
		return 0;
	}
	return fail(e, file, path, "unknown schema kind");
}

int json_check_value(const cJSON *v, const struct jfield *f, const char *file, const char *path,
		     struct err *e)
{
	int r = check_kind(v, f, file, path, e);

	/* an array's check applies to its elements (check_array passes it on) */
	if (r == 0 && f->check && f->kind != J_ARRAY)
		r = f->check(v, file, path, e);
	return r;
}

static const struct jfield *find_field(const struct jfield *fields, const char *key)
{
	for (const struct jfield *f = fields; f->key; f++)
		if (strcmp(f->key, key) == 0)
			return f;
	return NULL;
}

int json_check_object(const cJSON *obj, const struct jfield *fields, const char *file,
		      const char *path, struct err *e)
{
	char sub[512], msg[512];
	const cJSON *c, *d;
	int r;

	if (!cJSON_IsObject(obj))
		return fail(e, file, path, "expected an object");
	cJSON_ArrayForEach(c, obj)
	{
		const struct jfield *f = find_field(fields, c->string);

		if (!json_path_key(sub, sizeof(sub), path, c->string))
			return fail(e, file, path, "key too long");
		for (d = obj->child; d != c; d = d->next)
			if (strcmp(d->string, c->string) == 0)
				return fail(e, file, sub, "duplicate key");
		if (!f) {
			size_t o = (size_t)snprintf(msg, sizeof(msg), "unknown key (known:");
			for (f = fields; f->key && o < sizeof(msg); f++)
				o += (size_t)snprintf(msg + o, sizeof(msg) - o, " %s", f->key);
			if (o < sizeof(msg))
				snprintf(msg + o, sizeof(msg) - o, ")");
			return fail(e, file, sub, msg);
		}
		r = json_check_value(c, f, file, sub, e);
		if (r < 0)
			return r;
	}
	for (const struct jfield *f = fields; f->key; f++) {
		if (f->required && !cJSON_GetObjectItemCaseSensitive(obj, f->key)) {
			json_path_key(sub, sizeof(sub), path, f->key);
			return fail(e, file, sub, "missing (required)");
		}
	}
	return 0;
}

static void line_col(const char *buf, const char *at, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (const char *p = buf; p < at; p++) {
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* What cJSON would accept but we refuse, found before it parses: "\u0000" (decoded into a NUL
 * that silently ends the string) and nesting deeper than JSON_MAX_NESTING (cJSON's own limit
 * is deep and its failure says only "invalid JSON"). */
struct prescan {
	const char *nul, *too_deep;
};

static void prescan(const char *buf, size_t len, struct prescan *ret)
{
	bool in_string = false;
	int depth = 0;

	memset(ret, 0, sizeof(*ret));
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '"') {
			in_string = !in_string;
		} else if (in_string && buf[i] == '\\' && i + 1 < len) {
			if (buf[i + 1] == 'u' && i + 5 < len && strncmp(buf + i + 2, "0000", 4) == 0 &&
			    !ret->nul)
				ret->nul = buf + i;
			i++; /* skip the escaped character */
		} else if (!in_string && (buf[i] == '[' || buf[i] == '{')) {
			if (++depth > JSON_MAX_NESTING && !ret->too_deep)
				ret->too_deep = buf + i;
		} else if (!in_string && (buf[i] == ']' || buf[i] == '}')) {
			depth--;
		}
	}
}

int json_parse_buf(const char *file, const char *buf, size_t len, cJSON **ret, struct err *e)
{
	struct prescan ps;
	const char *end = NULL;
	cJSON *doc;
	int line, col;

	if (memchr(buf, '\0', len))
		return err_set(e, EINVAL, "%s: contains a NUL byte", file);
	prescan(buf, len, &ps);
	if (ps.too_deep && (!ps.nul || ps.too_deep < ps.nul)) {
		line_col(buf, ps.too_deep, &line, &col);
		return err_set(e, EINVAL, "%s:%d:%d: nesting deeper than %d levels of arrays and "
					  "objects", file, line, col, JSON_MAX_NESTING);
	}
	if (ps.nul) {
		line_col(buf, ps.nul, &line, &col);
		return err_set(e, EINVAL, "%s:%d:%d: \\u0000 is not allowed in a string", file,
			       line, col);
	}
	/* cJSON skips a UTF-8 byte order mark at the start itself */
	doc = cJSON_ParseWithLengthOpts(buf, len, &end, false);
	if (!doc) {
		if (!end)
			return err_set(e, ENOMEM, "%s: out of memory while parsing", file);
		line_col(buf, end, &line, &col);
		return err_set(e, EINVAL, "%s:%d:%d: invalid JSON", file, line, col);
	}
	while (end < buf + len && (*end == ' ' || *end == '\n' || *end == '\t' || *end == '\r'))
		end++;
	if (end < buf + len) {
		line_col(buf, end, &line, &col);
		cJSON_Delete(doc);
		return err_set(e, EINVAL, "%s:%d:%d: trailing data after the JSON document", file,
			       line, col);
	}
	*ret = doc;
	return 0;
}

int json_parse_file(const char *file, size_t max_bytes, cJSON **ret, char **ret_bytes,
		    size_t *ret_len, struct err *e)
{
	char *buf;
	size_t len;
	int r;

	r = file_read_all(file, max_bytes, &buf, &len, e);
	if (r < 0)
		return r;
	r = json_parse_buf(file, buf, len, ret, e);
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret_bytes = buf;
	*ret_len = len;
	return 0;
}
