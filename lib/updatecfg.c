#include "updatecfg.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"

const char *const updatecfg_reboot_names[3] = {"now", "window", "never"};

void updatecfg_defaults(struct updatecfg *c)
{
	memset(c, 0, sizeof(*c));
	c->interval = 6 * 3600;
	c->reboot = UPDATECFG_REBOOT_NOW;
	c->retries = 5;
	c->timeout = 60;
}

static int get_int(const cJSON *v, double min, double max, int64_t *ret)
{
	if (!cJSON_IsNumber(v) || v->valuedouble < min || v->valuedouble > max ||
	    v->valuedouble != (double)(int64_t)v->valuedouble)
		return -EINVAL;
	*ret = (int64_t)v->valuedouble;
	return 0;
}

static int get_text(const cJSON *v, char *out, size_t n)
{
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= n)
		return -EINVAL;
	for (const char *p = v->valuestring; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return -EINVAL;
	strcpy(out, v->valuestring);
	return 0;
}

static int parse_field(const cJSON *f, struct updatecfg *c)
{
	const char *k = f->string;
	int64_t v;

	if (strcmp(k, "url") == 0)
		return get_text(f, c->url, sizeof(c->url)) < 0 ||
				       (strncmp(c->url, "http://", 7) != 0 &&
					strncmp(c->url, "https://", 8) != 0)
			       ? -EINVAL
			       : 0;
	if (strcmp(k, "channel") == 0)
		return get_text(f, c->channel, sizeof(c->channel)) < 0 || !c->channel[0] ||
				       strspn(c->channel, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
					       strlen(c->channel)
			       ? -EINVAL
			       : 0;
	if (strcmp(k, "interval") == 0)
		return get_int(f, 10, 366.0 * 86400, &c->interval);
	if (strcmp(k, "window") == 0) {
		int64_t s, en;

		if (!cJSON_IsObject(f) || cJSON_GetArraySize(f) != 2 ||
		    get_int(cJSON_GetObjectItemCaseSensitive(f, "start"), 0, 86399, &s) < 0 ||
		    get_int(cJSON_GetObjectItemCaseSensitive(f, "end"), 0, 86399, &en) < 0 || s == en)
			return -EINVAL;
		c->has_window = true;
		c->window_start = (int32_t)s;
		c->window_end = (int32_t)en;
		return 0;
	}
	if (strcmp(k, "reboot") == 0) {
		for (int i = 0; i < 3; i++)
			if (cJSON_IsString(f) && strcmp(f->valuestring, updatecfg_reboot_names[i]) == 0) {
				c->reboot = (enum updatecfg_reboot)i;
				return 0;
			}
		return -EINVAL;
	}
	if (strcmp(k, "inhibit") == 0)
		return get_text(f, c->inhibit, sizeof(c->inhibit)) < 0 || c->inhibit[0] != '/'
			       ? -EINVAL
			       : 0;
	if (strcmp(k, "ca") == 0)
		return get_text(f, c->ca, sizeof(c->ca)) < 0 || c->ca[0] != '/' ? -EINVAL : 0;
	if (strcmp(k, "max_size") == 0 || strcmp(k, "max_rate") == 0) {
		if (get_int(f, 0, 9007199254740992.0, &v) < 0)
			return -EINVAL;
		*(k[4] == 's' ? &c->max_size : &c->max_rate) = (uint64_t)v;
		return 0;
	}
	if (strcmp(k, "retries") == 0 || strcmp(k, "timeout") == 0) {
		if (get_int(f, k[0] == 'r' ? 0 : 1, k[0] == 'r' ? 100 : 3600, &v) < 0)
			return -EINVAL;
		*(k[0] == 'r' ? &c->retries : &c->timeout) = (int)v;
		return 0;
	}
	return -ENOENT;
}

int updatecfg_parse(const char *name, const char *buf, size_t len, struct updatecfg *ret,
		    struct err *e)
{
	struct updatecfg c;
	cJSON *doc;
	int r = 0;

	updatecfg_defaults(&c);
	if (len > 64 * 1024 || memchr(buf, '\0', len))
		return err_set(e, EINVAL, "%s: too large or not text", name);
	doc = input_json(buf, len);
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return err_set(e, EINVAL, "%s: not a JSON object", name);
	}
	for (const cJSON *f = doc->child; f && r == 0; f = f->next) {
		for (const cJSON *g = doc->child; g != f && r == 0; g = g->next)
			if (strcmp(g->string, f->string) == 0)
				r = err_set(e, EINVAL, "%s: %s: given twice", name, f->string);
		if (r < 0)
			break;
		r = parse_field(f, &c);
		if (r == -ENOENT)
			r = err_set(e, EINVAL, "%s: %.64s: unknown key", name, f->string);
		else if (r < 0)
			r = err_set(e, EINVAL, "%s: %s: malformed", name, f->string);
	}
	if (r == 0 && (!c.url[0] || !c.channel[0]))
		r = err_set(e, EINVAL, "%s: url and channel are required", name);
	cJSON_Delete(doc);
	if (r == 0)
		*ret = c;
	return r;
}

char *updatecfg_write(const struct updatecfg *c)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "url", c->url);
	cJSON_AddStringToObject(o, "channel", c->channel);
	cJSON_AddNumberToObject(o, "interval", (double)c->interval);
	if (c->has_window) {
		cJSON *w = cJSON_AddObjectToObject(o, "window");

		cJSON_AddNumberToObject(w, "start", c->window_start);
		cJSON_AddNumberToObject(w, "end", c->window_end);
	}
	cJSON_AddStringToObject(o, "reboot", updatecfg_reboot_names[c->reboot]);
	if (c->inhibit[0])
		cJSON_AddStringToObject(o, "inhibit", c->inhibit);
	cJSON_AddNumberToObject(o, "max_size", (double)c->max_size);
	cJSON_AddNumberToObject(o, "max_rate", (double)c->max_rate);
	cJSON_AddNumberToObject(o, "retries", c->retries);
	cJSON_AddNumberToObject(o, "timeout", c->timeout);
	if (c->ca[0])
		cJSON_AddStringToObject(o, "ca", c->ca);
	s = cJSON_Print(o);
	cJSON_Delete(o);
	return s;
}

static int32_t second_of_day(int64_t t)
{
	int64_t s = t % 86400;

	return (int32_t)(s < 0 ? s + 86400 : s);
}

bool updatecfg_in_window(const struct updatecfg *c, int64_t t)
{
	int32_t s = second_of_day(t);

	if (!c->has_window)
		return true;
	if (c->window_start < c->window_end)
		return s >= c->window_start && s < c->window_end;
	return s >= c->window_start || s < c->window_end;
}

int64_t updatecfg_next_window(const struct updatecfg *c, int64_t t)
{
	int32_t s = second_of_day(t);

	if (updatecfg_in_window(c, t))
		return t;
	return t + (s < c->window_start ? c->window_start - s : 86400 - s + c->window_start);
}

int updatecfg_parse_window(const char *s, int32_t *ret_start, int32_t *ret_end)
{
	unsigned h1, m1, h2, m2;
	char tail;

	if (sscanf(s, "%2u:%2u-%2u:%2u%c", &h1, &m1, &h2, &m2, &tail) != 4 || strlen(s) != 11 ||
	    h1 > 23 || h2 > 23 || m1 > 59 || m2 > 59 || (h1 == h2 && m1 == m2))
		return -EINVAL;
	*ret_start = (int32_t)(h1 * 3600 + m1 * 60);
	*ret_end = (int32_t)(h2 * 3600 + m2 * 60);
	return 0;
}
