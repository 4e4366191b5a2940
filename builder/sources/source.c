#include "source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct source_handler *const handlers[] = {&source_debs, &source_dir, &source_image,
							&source_mmdebstrap, &source_tar, NULL};

const char *source_known(void)
{
	return "debs, dir, image, mmdebstrap, tar";
}

static bool handler_accepts(const struct source_handler *h, const char *key)
{
	if (strcmp(h->key, key) == 0)
		return true;
	for (const char *const *k = h->extra_keys; k && *k; k++)
		if (strcmp(*k, key) == 0)
			return true;
	return false;
}

int source_select(const cJSON *base, const char *file, const struct source_handler **ret,
		  struct err *e)
{
	const struct source_handler *found = NULL;
	const cJSON *c;

	if (!cJSON_IsObject(base))
		return err_set(e, EINVAL, "%s: base: expected an object with one of: %s", file,
			       source_known());
	for (const struct source_handler *const *h = handlers; *h; h++) {
		if (!cJSON_GetObjectItemCaseSensitive(base, (*h)->key))
			continue;
		if (found)
			return err_set(e, EINVAL, "%s: base: both %s and %s given; a profile has one base",
				       file, found->key, (*h)->key);
		found = *h;
	}
	if (!found)
		return err_set(e, EINVAL, "%s: base: expected one of: %s", file, source_known());
	cJSON_ArrayForEach(c, base)
	{
		for (const cJSON *d = base->child; d != c; d = d->next)
			if (strcmp(d->string, c->string) == 0)
				return err_set(e, EINVAL, "%s: base.%s: duplicate key", file,
					       c->string);
		if (!handler_accepts(found, c->string))
			return err_set(e, EINVAL, "%s: base.%s: unknown key for a %s base", file,
				       c->string, found->key);
	}
	*ret = found;
	return 0;
}

int inputs_add(struct inputs *in, const char *kind, const char *name, const char *version,
	       const uint8_t sha256[SHA256_LEN], struct err *e)
{
	struct input *grown = realloc(in->v, (in->n + 1) * sizeof(*grown));
	struct input *x;

	if (!grown)
		return err_set(e, ENOMEM, "out of memory");
	in->v = grown;
	x = &in->v[in->n];
	x->kind = strdup(kind);
	x->name = strdup(name);
	x->version = strdup(version ? version : "");
	x->arch = NULL;
	if (!x->kind || !x->name || !x->version) {
		free(x->kind);
		free(x->name);
		free(x->version);
		return err_set(e, ENOMEM, "out of memory");
	}
	if (sha256)
		hex_encode(sha256, SHA256_LEN, x->sha256);
	else
		x->sha256[0] = '\0';
	in->n++;
	return 0;
}

int inputs_add_package(struct inputs *in, const char *kind, const char *name,
		       const char *version, const char *arch, const char *sha256_hex,
		       struct err *e)
{
	struct input *x;
	int r = inputs_add(in, kind, name, version, NULL, e);

	if (r < 0)
		return r;
	x = &in->v[in->n - 1];
	snprintf(x->sha256, sizeof(x->sha256), "%s", sha256_hex);
	x->arch = strdup(arch);
	return x->arch ? 0 : err_set(e, ENOMEM, "out of memory");
}

void inputs_free(struct inputs *in)
{
	for (size_t i = 0; i < in->n; i++) {
		free(in->v[i].kind);
		free(in->v[i].name);
		free(in->v[i].version);
		free(in->v[i].arch);
	}
	free(in->v);
	in->v = NULL;
	in->n = 0;
}
