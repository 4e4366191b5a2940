#include "policy.h"

#include "input.h"
#include "io.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void policy_init(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	p->window = POLICY_DEFAULT_WINDOW;
	p->tries = POLICY_DEFAULT_TRIES;
}

static int get_uint(const cJSON *o, const char *path, const char *key, unsigned min, unsigned max,
		    unsigned *ret, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	double d;

	if (!v)
		return 0;
	d = cJSON_IsNumber(v) ? v->valuedouble : -1;
	if (d < min || d > max || d != (double)(unsigned)d)
		return err_set(e, EINVAL, "%s%s: expected an integer from %u to %u", path, key, min,
			       max);
	*ret = (unsigned)d;
	return 0;
}

static int get_str(const cJSON *o, const char *path, const char *key, char *out, size_t size,
		   struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(v) || !v->valuestring[0])
		return err_set(e, EINVAL, "%s%s: expected a non-empty string", path, key);
	if (strlen(v->valuestring) >= size)
		return err_set(e, EINVAL, "%s%s: longer than %zu bytes", path, key, size - 1);
	strcpy(out, v->valuestring);
	return 0;
}

static int parse_check(const cJSON *c, size_t i, struct policy_check *ret, struct err *e)
{
	char path[48];
	int rc;

	snprintf(path, sizeof(path), "health.checks[%zu].", i);
	if (!cJSON_IsObject(c))
		return err_set(e, EINVAL, "health.checks[%zu]: expected an object", i);
	ret->timeout = POLICY_DEFAULT_TIMEOUT;
	ret->exec[0] = ret->unit[0] = '\0';
	rc = get_str(c, path, "name", ret->name, sizeof(ret->name), e);
	if (rc == 0 && !cJSON_GetObjectItemCaseSensitive(c, "exec") ==
			   !cJSON_GetObjectItemCaseSensitive(c, "unit"))
		rc = err_set(e, EINVAL, "%sexec, %sunit: expected exactly one of them", path, path);
	if (rc == 0 && cJSON_GetObjectItemCaseSensitive(c, "exec"))
		rc = get_str(c, path, "exec", ret->exec, sizeof(ret->exec), e);
	if (rc == 0 && cJSON_GetObjectItemCaseSensitive(c, "unit")) {
		rc = get_str(c, path, "unit", ret->unit, sizeof(ret->unit), e);
		if (rc == 0 && !policy_unit_ok(ret->unit))
			rc = err_set(e, EINVAL, "%sunit: not a systemd unit name", path);
	}
	if (rc == 0)
		rc = get_uint(c, path, "timeout", POLICY_MIN_TIMEOUT, POLICY_MAX_TIMEOUT, &ret->timeout,
			      e);
	return rc;
}

static int parse_object(const cJSON *h, struct policy *p, struct err *e)
{
	const cJSON *checks, *c;
	int rc;

	if (!cJSON_IsObject(h))
		return err_set(e, EINVAL, "health: expected an object");
	rc = get_uint(h, "health.", "window", POLICY_MIN_WINDOW, POLICY_MAX_WINDOW, &p->window, e);
	if (rc == 0)
		rc = get_uint(h, "health.", "tries", POLICY_MIN_TRIES, POLICY_MAX_TRIES, &p->tries, e);
	if (rc < 0)
		return rc;
	checks = cJSON_GetObjectItemCaseSensitive(h, "checks");
	if (!checks)
		return 0;
	if (!cJSON_IsArray(checks))
		return err_set(e, EINVAL, "health.checks: expected an array");
	cJSON_ArrayForEach(c, checks)
	{
		if (p->n_checks == POLICY_MAX_CHECKS)
			return err_set(e, EINVAL, "health.checks: more than %d checks",
				       POLICY_MAX_CHECKS);
		rc = parse_check(c, p->n_checks, &p->checks[p->n_checks], e);
		if (rc < 0)
			return rc;
		p->n_checks++;
	}
	return 0;
}

int policy_from_json(const cJSON *h, struct policy *ret, struct err *e)
{
	struct policy p;
	int rc;

	policy_init(&p);
	rc = parse_object(h, &p, e);
	if (rc == 0)
		*ret = p;
	return rc;
}

int policy_complete(const cJSON *h, cJSON **ret, struct err *e)
{
	cJSON *out = h ? cJSON_Duplicate(h, true) : cJSON_CreateObject();
	struct policy p;
	int rc;

	if (!out)
		return err_set(e, ENOMEM, "out of memory");
	if (!cJSON_GetObjectItemCaseSensitive(out, "checks"))
		cJSON_AddArrayToObject(out, "checks");
	if (!cJSON_GetObjectItemCaseSensitive(out, "window"))
		cJSON_AddNumberToObject(out, "window", POLICY_DEFAULT_WINDOW);
	if (!cJSON_GetObjectItemCaseSensitive(out, "tries"))
		cJSON_AddNumberToObject(out, "tries", POLICY_DEFAULT_TRIES);
	rc = policy_from_json(out, &p, e);
	if (rc < 0) {
		cJSON_Delete(out);
		return rc;
	}
	*ret = out;
	return 0;
}

int policy_parse(const char *json, size_t len, bool in_manifest, struct policy *ret, struct err *e)
{
	cJSON *doc = input_json(json, len);
	const cJSON *h = doc;
	struct policy p;
	int rc = 0;

	if (!doc)
		return err_set(e, EINVAL, "not valid JSON");
	policy_init(&p);
	if (in_manifest)
		h = cJSON_GetObjectItemCaseSensitive(doc, "health");
	if (h)
		rc = parse_object(h, &p, e);
	cJSON_Delete(doc);
	if (rc == 0)
		*ret = p;
	return rc;
}

int policy_load(const char *path, struct policy *ret, struct err *e)
{
	char *buf;
	ssize_t n;
	size_t len = 0, size = 256 * 1024;
	int fd, rc = 0;

	rc = input_open(path, O_RDONLY, INPUT_REG, "a JSON file", &fd, NULL, e);
	if (rc == -ENOENT) {
		policy_init(ret);
		return 0;
	}
	if (rc < 0)
		return rc;
	buf = malloc(size);
	if (!buf) {
		close(fd);
		return err_set(e, ENOMEM, "out of memory");
	}
	while (len < size && (n = read(fd, buf + len, size - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_sys(e, errno, "reading %s", path);
			break;
		}
		len += (size_t)n;
	}
	if (rc == 0 && len == size)
		rc = err_set(e, EFBIG, "%s: larger than %zu bytes", path, size - 1);
	if (rc == 0 && (rc = policy_parse(buf, len, false, ret, e)) < 0)
		err_prefix(e, rc, "%s", path);
	free(buf);
	close(fd);
	return rc;
}

int policy_read_slot(const char *verity_node, const struct slot_header *h, struct policy *ret,
		     struct err *e)
{
	char *buf;
	int fd, rc = 0;

	if (h->manifest_size == 0 || h->manifest_size > SLOT_MANIFEST_MAX)
		return err_set(e, EINVAL, "%s: manifest size out of range", verity_node);
	fd = open(verity_node, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO: no wait */
	if (fd < 0)
		return err_sys(e, errno, "%s", verity_node);
	buf = malloc(h->manifest_size);
	if (!buf)
		rc = err_set(e, ENOMEM, "out of memory");
	if (rc == 0 && (rc = io_pread_full(fd, buf, h->manifest_size, h->manifest_offset,
					   "the manifest", e)) < 0)
		err_prefix(e, rc, "%s", verity_node);
	if (rc == 0)
		rc = policy_parse(buf, h->manifest_size, true, ret, e);
	free(buf);
	close(fd);
	return rc;
}
