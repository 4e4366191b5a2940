#include "rollout.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hash.h"

bool rollout_channel_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= ROLLOUT_CHANNEL_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static int get_str(const cJSON *o, const char *k, char *out, size_t n, bool required)
{
	const cJSON *v = get(o, k);

	if (!v && !required) {
		out[0] = '\0';
		return 0;
	}
	if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) >= n)
		return -EINVAL;
	strcpy(out, v->valuestring);
	return 0;
}

static int get_time(const cJSON *o, const char *k, int64_t *ret)
{
	const cJSON *v = get(o, k);

	return cJSON_IsString(v) ? tuf_time_parse(v->valuestring, ret) : -EINVAL;
}

static int get_bool(const cJSON *o, const char *k, bool *ret)
{
	const cJSON *v = get(o, k);

	if (!v) {
		*ret = false;
		return 0;
	}
	if (!cJSON_IsBool(v))
		return -EINVAL;
	*ret = cJSON_IsTrue(v);
	return 0;
}

static int parse_waves(const cJSON *w, struct rollout_release *r)
{
	if (!cJSON_IsArray(w))
		return -EINVAL;
	for (const cJSON *x = w->child; x; x = x->next) {
		struct rollout_wave *v = &r->waves[r->nwaves];
		const cJSON *p = get(x, "percent");

		if (r->nwaves == ROLLOUT_MAX_WAVES || get_time(x, "at", &v->at) < 0 ||
		    !cJSON_IsNumber(p) || p->valuedouble < 0 || p->valuedouble > 100 ||
		    p->valuedouble != (double)(int)p->valuedouble)
			return -EINVAL;
		v->percent = (int)p->valuedouble;
		/* in time order, each wave wider than the last */
		if (r->nwaves > 0 && (v->at < v[-1].at || v->percent < v[-1].percent))
			return -EINVAL;
		r->nwaves++;
	}
	return r->nwaves > 0 ? 0 : -EINVAL;
}

int rollout_release_parse(const struct tuf_target *t, const char *channel,
			  struct rollout_release *ret, struct err *e)
{
	const cJSON *s = get(t->custom, "stele"), *ch;
	const cJSON *ri = get(s, "rollback_index");
	struct rollout_release r = {.target = t};
	const char *bad = NULL;

	if (!cJSON_IsObject(s))
		return -ENOENT;
	ch = get(get(s, "channels"), channel);
	if (!ch)
		return -ENOENT;
	if (get_str(s, "product", r.product, sizeof(r.product), true) < 0)
		bad = "product";
	else if (get_str(s, "arch", r.arch, sizeof(r.arch), true) < 0)
		bad = "arch";
	else if (get_str(s, "version", r.version, sizeof(r.version), true) < 0)
		bad = "version";
	else if (get_str(s, "root_hash", r.root_hash, sizeof(r.root_hash), true) < 0)
		bad = "root_hash";
	else if (!cJSON_IsNumber(ri) || ri->valuedouble < 0 || ri->valuedouble > 9007199254740992.0 ||
		 ri->valuedouble != (double)(uint64_t)ri->valuedouble)
		bad = "rollback_index";
	else if (!cJSON_IsObject(ch))
		bad = "channels.<channel>";
	else if (get_time(ch, "published", &r.published) < 0)
		bad = "published";
	else if (parse_waves(get(ch, "waves"), &r) < 0)
		bad = "waves";
	else if (get_bool(ch, "paused", &r.paused) < 0)
		bad = "paused";
	else if (get_bool(ch, "revoked", &r.revoked) < 0)
		bad = "revoked";
	else if (get_str(ch, "min_from", r.min_from, sizeof(r.min_from), false) < 0)
		bad = "min_from";
	if (bad)
		return err_set(e, EINVAL, "targets: %s: custom.stele (channel %s): %s is malformed",
			       t->name, channel, bad);
	r.rollback_index = (uint64_t)ri->valuedouble;
	*ret = r;
	return 0;
}

int rollout_percent_at(const struct rollout_release *r, int64_t now)
{
	int p = 0;

	for (int i = 0; i < r->nwaves; i++)
		if (r->waves[i].at <= now)
			p = r->waves[i].percent;
	return p;
}

int64_t rollout_opens_at(const struct rollout_release *r, double share)
{
	for (int i = 0; i < r->nwaves; i++)
		if (share < r->waves[i].percent / 100.0)
			return r->waves[i].at;
	return INT64_MAX;
}

double rollout_share(const char *product, const char *machine_id)
{
	char buf[512];
	uint8_t d[SHA256_LEN];
	uint64_t v = 0;
	int n = snprintf(buf, sizeof(buf), "stele-rollout:%s:%s", product, machine_id);

	sha256_buf(buf, n < 0 ? 0 : (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1, d);
	for (int i = 0; i < 8; i++)
		v = v << 8 | d[i];
	return (double)(v >> 11) / 9007199254740992.0; /* 53 bits: exact in a double */
}

int rollout_cmp(const struct rollout_release *a, const struct rollout_release *b)
{
	if (a->rollback_index != b->rollback_index)
		return a->rollback_index < b->rollback_index ? -1 : 1;
	return strverscmp(a->version, b->version);
}

int rollout_duration_parse(const char *s, int64_t *ret)
{
	static const struct {
		char unit;
		int64_t seconds;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
	size_t digits = strspn(s, "0123456789");
	int64_t v = 0, mul = 1;

	if (digits == 0 || digits > 10)
		return -EINVAL;
	if (s[digits]) {
		size_t i = 0;

		while (i < sizeof(units) / sizeof(units[0]) && units[i].unit != s[digits])
			i++;
		if (i == sizeof(units) / sizeof(units[0]) || s[digits + 1])
			return -EINVAL;
		mul = units[i].seconds;
	}
	for (size_t i = 0; i < digits; i++)
		v = v * 10 + (s[i] - '0');
	if (v < 1 || v > 10LL * 366 * 86400 / mul)
		return -EINVAL;
	*ret = v * mul;
	return 0;
}
