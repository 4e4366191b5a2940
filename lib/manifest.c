#include "manifest.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "hash.h"
#include "input.h"
#include "policy.h"

static const cJSON *get(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static int get_str(const cJSON *obj, const char *path, const char *key, char *out, size_t n,
		   struct err *e)
{
	const cJSON *v = get(obj, key);

	if (!cJSON_IsString(v))
		return err_set(e, EINVAL, "manifest: %s%s: expected a string", path, key);
	if (strlen(v->valuestring) >= n)
		return err_set(e, EINVAL, "manifest: %s%s: longer than %zu bytes", path, key, n - 1);
	strcpy(out, v->valuestring);
	return 0;
}

static int get_u64(const cJSON *obj, const char *path, const char *key, uint64_t max,
		   uint64_t *out, struct err *e)
{
	const cJSON *v = get(obj, key);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > (double)max ||
	    v->valuedouble != (double)(uint64_t)v->valuedouble)
		return err_set(e, EINVAL, "manifest: %s%s: expected an integer 0..%llu", path, key,
			       (unsigned long long)max);
	*out = (uint64_t)v->valuedouble;
	return 0;
}

static bool is_hex(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	return n >= min && n <= max && n % 2 == 0 && strspn(s, "0123456789abcdef") == n;
}

static int parse_verity(const cJSON *v, struct manifest *m, struct err *e)
{
	uint64_t dbs, hbs;
	int r;

	if (!cJSON_IsObject(v))
		return err_set(e, EINVAL, "manifest: verity: expected an object");
	r = get_str(v, "verity.", "algorithm", m->verity.algorithm, sizeof(m->verity.algorithm), e);
	if (r == 0)
		r = get_u64(v, "verity.", "data_block_size", 1 << 20, &dbs, e);
	if (r == 0)
		r = get_u64(v, "verity.", "hash_block_size", 1 << 20, &hbs, e);
	if (r == 0)
		r = get_u64(v, "verity.", "data_blocks", 1ULL << 40, &m->verity.data_blocks, e);
	if (r == 0)
		r = get_u64(v, "verity.", "hash_offset", 1ULL << 50, &m->verity.hash_offset, e);
	if (r == 0)
		r = get_str(v, "verity.", "salt", m->verity.salt, sizeof(m->verity.salt), e);
	if (r == 0)
		r = get_str(v, "verity.", "root_hash", m->verity.root_hash,
			    sizeof(m->verity.root_hash), e);
	if (r < 0)
		return r;
	m->verity.data_block_size = (uint32_t)dbs;
	m->verity.hash_block_size = (uint32_t)hbs;
	if (strcmp(m->verity.algorithm, "sha256") && strcmp(m->verity.algorithm, "sha512") &&
	    strcmp(m->verity.algorithm, "sha1"))
		return err_set(e, EINVAL, "manifest: verity.algorithm: \"%s\" is not sha256, "
					  "sha512 or sha1", m->verity.algorithm);
	if (dbs < 512 || (dbs & (dbs - 1)) || hbs < 512 || (hbs & (hbs - 1)))
		return err_set(e, EINVAL, "manifest: verity: block sizes must be powers of two "
					  "from 512");
	if (!is_hex(m->verity.salt, 0, 512))
		return err_set(e, EINVAL, "manifest: verity.salt: expected hex");
	if (!is_hex(m->verity.root_hash, 40, 128))
		return err_set(e, EINVAL, "manifest: verity.root_hash: expected hex");
	if (m->verity.data_blocks == 0 || m->verity.data_block_size == 0)
		return err_set(e, EINVAL, "manifest: verity: no data blocks");
	return 0;
}

static int parse_uki(const cJSON *u, struct manifest *m, struct err *e)
{
	struct manifest_uki *k = &m->uki;
	int r = cJSON_IsObject(u) ? 0 : err_set(e, EINVAL, "manifest: kernel.uki: expected an object");

	if (r == 0)
		r = get_u64(u, "kernel.uki.", "size", BUNDLE_UKI_MAX, &k->size, e);
	if (r == 0)
		r = get_str(u, "kernel.uki.", "sha256", k->sha256, sizeof(k->sha256), e);
	if (r == 0)
		r = get_u64(u, "kernel.uki.", "signature_size", BUNDLE_UKI_SIG_MAX, &k->sig_size, e);
	if (r == 0)
		r = get_str(u, "kernel.uki.", "signature_sha256", k->sig_sha256,
			    sizeof(k->sig_sha256), e);
	if (r == 0 && (k->size == 0 || k->sig_size == 0))
		r = err_set(e, EINVAL, "manifest: kernel.uki: a size of 0");
	if (r == 0 && (!is_hex(k->sha256, 64, 64) || !is_hex(k->sig_sha256, 64, 64)))
		r = err_set(e, EINVAL, "manifest: kernel.uki: sha256: expected 64 hex digits");
	m->has_uki = r == 0;
	return r;
}

static int parse_top(const cJSON *doc, struct manifest *m, struct err *e)
{
	const cJSON *rootfs = get(doc, "rootfs"), *kernel = get(doc, "kernel");
	uint64_t fv;
	int r;

	r = get_u64(doc, "", "format_version", 1000, &fv, e);
	if (r < 0)
		return r;
	if (fv != MANIFEST_FORMAT_VERSION)
		return err_set(e, EINVAL, "manifest: format_version %llu (this stele reads %d)",
			       (unsigned long long)fv, MANIFEST_FORMAT_VERSION);
	m->format_version = (int)fv;
	r = get_str(doc, "", "product", m->product, sizeof(m->product), e);
	if (r == 0)
		r = get_str(doc, "", "version", m->version, sizeof(m->version), e);
	if (r == 0)
		r = get_str(doc, "", "arch", m->arch, sizeof(m->arch), e);
	if (r == 0)
		r = get_u64(doc, "", "rollback_index", 1ULL << 40, &m->rollback_index, e);
	if (r == 0 && !cJSON_IsObject(rootfs))
		r = err_set(e, EINVAL, "manifest: rootfs: expected an object");
	if (r == 0)
		r = get_u64(rootfs, "rootfs.", "size", 1ULL << 50, &m->rootfs_size, e);
	if (r == 0)
		r = get_str(rootfs, "rootfs.", "sha256", m->rootfs_sha256, sizeof(m->rootfs_sha256),
			    e);
	if (r == 0 && !is_hex(m->rootfs_sha256, 64, 64))
		r = err_set(e, EINVAL, "manifest: rootfs.sha256: expected 64 hex digits");
	if (r == 0 && !cJSON_IsObject(kernel))
		r = err_set(e, EINVAL, "manifest: kernel: expected an object");
	if (r == 0)
		r = get_str(kernel, "kernel.", "cmdline", m->cmdline, sizeof(m->cmdline), e);
	if (r == 0 && get(kernel, "uki"))
		r = parse_uki(get(kernel, "uki"), m, e);
	return r;
}

int manifest_parse(const char *buf, size_t len, struct manifest *ret, struct err *e)
{
	struct manifest m;
	cJSON *doc;
	int r;

	if (len == 0 || len > (1u << 20) || memchr(buf, '\0', len))
		return err_set(e, EINVAL, "manifest: empty, too large or not text");
	doc = input_json(buf, len);
	if (!doc)
		return err_set(e, EINVAL, "manifest: invalid JSON");
	memset(&m, 0, sizeof(m));
	r = cJSON_IsObject(doc) ? parse_top(doc, &m, e)
				: err_set(e, EINVAL, "manifest: expected an object");
	if (r == 0)
		r = parse_verity(get(doc, "verity"), &m, e);
	cJSON_Delete(doc);
	if (r == 0 && m.rootfs_size != m.verity.data_blocks * m.verity.data_block_size)
		r = err_set(e, EINVAL, "manifest: rootfs.size %llu is not verity.data_blocks x "
				       "data_block_size", (unsigned long long)m.rootfs_size);
	if (r == 0)
		*ret = m;
	return r;
}

int manifest_verity_params(const struct manifest *m, struct verity_params *ret, struct err *e)
{
	struct verity_params p;
	size_t salt_len;

	verity_params_init(&p);
	if (strlen(m->verity.algorithm) >= sizeof(p.hash_name))
		return err_set(e, EINVAL, "manifest: verity.algorithm too long");
	strcpy(p.hash_name, m->verity.algorithm);
	p.data_block_size = m->verity.data_block_size;
	p.hash_block_size = m->verity.hash_block_size;
	p.data_blocks = m->verity.data_blocks;
	p.hash_offset = m->verity.hash_offset;
	if (verity_hex_decode(m->verity.salt, p.salt, sizeof(p.salt), &salt_len) < 0)
		return err_set(e, EINVAL, "manifest: verity.salt: bad hex");
	p.salt_size = (uint16_t)salt_len;
	*ret = p;
	return 0;
}

int manifest_write(const struct manifest_in *in, char **ret, struct err *e)
{
	const struct verity_params *vp = in->verity;
	char salt[2 * VERITY_MAX_SALT + 1];
	cJSON *m = cJSON_CreateObject(), *o, *health = NULL;
	char *text, *out = NULL;
	int r;

	r = policy_complete(in->health, &health, e);
	if (r < 0) {
		cJSON_Delete(in->provenance);
		cJSON_Delete(m);
		return r;
	}
	hex_encode(vp->salt, vp->salt_size, salt);
	cJSON_AddNumberToObject(m, "format_version", MANIFEST_FORMAT_VERSION);
	cJSON_AddStringToObject(m, "product", in->product);
	cJSON_AddStringToObject(m, "version", in->version);
	cJSON_AddStringToObject(m, "arch", in->arch);
	cJSON_AddNumberToObject(m, "rollback_index", (double)in->rollback_index);
	o = cJSON_AddObjectToObject(m, "rootfs");
	cJSON_AddNumberToObject(o, "size", (double)in->rootfs_size);
	cJSON_AddStringToObject(o, "sha256", in->rootfs_sha256);
	o = cJSON_AddObjectToObject(m, "verity");
	cJSON_AddStringToObject(o, "algorithm", vp->hash_name);
	cJSON_AddNumberToObject(o, "data_block_size", vp->data_block_size);
	cJSON_AddNumberToObject(o, "hash_block_size", vp->hash_block_size);
	cJSON_AddNumberToObject(o, "data_blocks", (double)vp->data_blocks);
	cJSON_AddStringToObject(o, "salt", salt);
	cJSON_AddStringToObject(o, "root_hash", in->root_hash);
	cJSON_AddNumberToObject(o, "hash_offset", (double)vp->hash_offset);
	o = cJSON_AddObjectToObject(m, "kernel");
	cJSON_AddStringToObject(o, "cmdline", in->cmdline);
	if (in->uki) {
		o = cJSON_AddObjectToObject(o, "uki");
		cJSON_AddNumberToObject(o, "size", (double)in->uki->size);
		cJSON_AddStringToObject(o, "sha256", in->uki->sha256);
		cJSON_AddNumberToObject(o, "signature_size", (double)in->uki->sig_size);
		cJSON_AddStringToObject(o, "signature_sha256", in->uki->sig_sha256);
	}
	cJSON_AddItemToObject(m, "health", health);
	cJSON_AddItemToObject(m, "provenance", in->provenance);
	text = cJSON_Print(m);
	cJSON_Delete(m);
	if (text && asprintf(&out, "%s\n", text) < 0)
		out = NULL;
	free(text);
	if (!out)
		return err_set(e, ENOMEM, "out of memory");
	*ret = out;
	return 0;
}
