#include "slotimg.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/io.h"
#include "lib/manifest.h"
#include "lib/slot.h"
#include "builder/fileutil.h"

#define VERITY_IMAGE "the verity partition image"

void slotimg_salt(const char *product, uint8_t salt[SHA256_LEN])
{
	struct sha256_ctx *c = sha256_new();

	sha256_update(c, "stele-verity-salt-v1", 21);
	sha256_update(c, product, strlen(product));
	sha256_final(c, salt);
}

static void verity_uuid(const uint8_t seed[SHA256_LEN], uint8_t uuid[16])
{
	uint8_t d[SHA256_LEN];
	struct sha256_ctx *c = sha256_new();

	sha256_update(c, seed, SHA256_LEN);
	sha256_update(c, "verity-uuid-v1", 14);
	sha256_final(c, d);
	memcpy(uuid, d, 16);
	uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
}

/* The git commit of the directory holding the profile, when it is a checkout. */
static char *source_commit(const char *profile_file)
{
	char *dir = strdup(profile_file), *slash, *out = NULL;
	char *argv[] = {"git", "-C", NULL, "rev-parse", "--verify", "-q", "HEAD", NULL};

	if (!dir)
		return NULL;
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	argv[2] = slash ? (*dir ? dir : "/") : ".";
	if (run_capture(argv, NULL, 256, &out, NULL) < 0) {
		free(dir);
		return NULL;
	}
	free(dir);
	out[strcspn(out, "\n")] = '\0';
	if (strlen(out) < 40 || strspn(out, "0123456789abcdef") != strlen(out)) {
		free(out);
		return NULL;
	}
	return out;
}

static cJSON *provenance(const struct slotimg_in *in)
{
	cJSON *pv = cJSON_CreateObject(), *arr;
	char hex[SHA256_HEX_LEN], *commit = source_commit(in->p->file);

	hex_encode(in->p->sha256, SHA256_LEN, hex);
	cJSON_AddStringToObject(pv, "builder", "stele " STELE_VERSION);
	cJSON_AddStringToObject(pv, "profile_sha256", hex);
	if (commit)
		cJSON_AddStringToObject(pv, "source_commit", commit);
	else
		cJSON_AddNullToObject(pv, "source_commit");
	free(commit);
	cJSON_AddNumberToObject(pv, "source_date_epoch", (double)in->epoch);
	arr = cJSON_AddArrayToObject(pv, "inputs");
	for (size_t i = 0; i < in->inputs->n; i++) {
		const struct input *x = &in->inputs->v[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "kind", x->kind);
		cJSON_AddStringToObject(o, "name", x->name);
		cJSON_AddStringToObject(o, "version", x->version);
		if (x->arch)
			cJSON_AddStringToObject(o, "arch", x->arch);
		if (x->sha256[0])
			cJSON_AddStringToObject(o, "sha256", x->sha256);
		cJSON_AddItemToArray(arr, o);
	}
	/* every secrets.allow entry, with the files it let into the image */
	arr = cJSON_AddArrayToObject(pv, "secrets_allowed");
	for (size_t i = 0; in->secrets && i < in->secrets->nallow; i++) {
		const struct secret_allow *a = &in->secrets->allow[i];
		cJSON *o = cJSON_CreateObject(), *files;

		cJSON_AddStringToObject(o, "path", a->path);
		cJSON_AddStringToObject(o, "rule", secret_rule_name(a->rule));
		cJSON_AddStringToObject(o, "reason", a->reason);
		files = cJSON_AddArrayToObject(o, "files");
		for (size_t j = 0; j < in->secrets->nhits; j++)
			if (in->secrets->hits[j].allowed_by == (int)i)
				cJSON_AddItemToArray(files,
						     cJSON_CreateString(in->secrets->hits[j].path));
		cJSON_AddItemToArray(arr, o);
	}
	/* the package keys everyone has that the scan met (secret_known) */
	arr = cJSON_AddArrayToObject(pv, "secrets_known");
	for (size_t i = 0; in->secrets && i < secret_nknown; i++) {
		cJSON *o = NULL, *files = NULL;

		for (size_t j = 0; j < in->secrets->nhits; j++) {
			if (in->secrets->hits[j].known != (int)i)
				continue;
			if (!o) {
				o = cJSON_CreateObject();
				cJSON_AddStringToObject(o, "path", secret_known[i].path);
				cJSON_AddStringToObject(o, "rule",
							secret_rule_name(secret_known[i].rule));
				cJSON_AddStringToObject(o, "reason", secret_known[i].reason);
				files = cJSON_AddArrayToObject(o, "files");
				cJSON_AddItemToArray(arr, o);
			}
			cJSON_AddItemToArray(files, cJSON_CreateString(in->secrets->hits[j].path));
		}
	}
	return pv;
}

static void verity_params_of(const struct slotimg_in *in, uint64_t rootfs_size,
			     struct verity_params *vp)
{
	verity_params_init(vp);
	snprintf(vp->hash_name, sizeof(vp->hash_name), "%s", in->p->verity_hash);
	vp->data_blocks = rootfs_size / vp->data_block_size;
	vp->hash_offset = SLOT_HEADER_SIZE;
	vp->salt_size = SHA256_LEN;
	slotimg_salt(in->p->product, vp->salt);
	verity_uuid(in->seed, vp->uuid);
}

/* The verity area: superblock and tree, up to the manifest. */
static int verity_area(const struct verity_params *vp, uint64_t *ret, struct err *e)
{
	struct verity_layout l;
	int r = verity_layout(vp, &l, e);

	if (r == 0)
		*ret = (l.levels ? l.tree_end : l.tree_offset) - vp->hash_offset;
	return r;
}

uint64_t slotimg_verity_guess(const struct slotimg_in *in, uint64_t rootfs_size)
{
	struct verity_params vp;
	struct slot_header h;
	uint64_t area = 0;

	verity_params_of(in, rootfs_size, &vp);
	if (verity_area(&vp, &area, NULL) < 0 || slot_layout(area, 1, 1, &h, NULL) < 0)
		return SLOT_HEADER_SIZE; /* any size: slotimg_write fails, saying why */
	return slot_image_size(&h);
}

/* Verity tree at 4096 in the partition image, the sha256 of the rootfs and the copies, in one
 * read of the rootfs; returns the params, the root hash and the sha256. */
static int hash_rootfs(const struct slotimg_in *in, int vfd, struct verity_params *vp,
		       uint64_t *ret_size, uint8_t root[VERITY_MAX_DIGEST],
		       uint8_t sha[SHA256_LEN], struct err *e)
{
	struct pass_in pi = {.vp = vp, .hash_fd = vfd, .nsinks = in->nsinks};
	struct pass_out po;
	struct stat st;
	int rfd = open(in->rootfs, O_RDONLY | O_CLOEXEC), r;

	if (rfd < 0 || fstat(rfd, &st) < 0) {
		r = err_sys(e, errno, "%s", in->rootfs);
		goto out;
	}
	verity_params_of(in, (uint64_t)st.st_size, vp);
	*ret_size = (uint64_t)st.st_size;
	pi.fd = rfd;
	pi.size = (uint64_t)st.st_size;
	memcpy(pi.sinks, in->sinks, sizeof(pi.sinks));
	r = slot_pass(&pi, &po, e);
	if (r == 0) {
		memcpy(root, po.root, VERITY_MAX_DIGEST);
		memcpy(sha, po.sha256, SHA256_LEN);
	}
out:
	if (rfd >= 0)
		close(rfd);
	return r;
}

static int write_partition(int vfd, const struct verity_params *vp, const char *manifest,
			   const uint8_t *sig, size_t sig_len, uint64_t *ret_size, struct err *e)
{
	struct slot_header h;
	uint8_t hdr[SLOT_HEADER_SIZE];
	uint64_t area;
	int r;

	r = verity_area(vp, &area, e);
	if (r == 0)
		r = slot_layout(area, strlen(manifest), sig_len, &h, e);
	if (r < 0)
		return r;
	slot_header_encode(&h, hdr);
	r = io_pwrite_full(vfd, manifest, strlen(manifest), h.manifest_offset, VERITY_IMAGE, e);
	if (r == 0)
		r = io_pwrite_full(vfd, sig, sig_len, h.signature_offset, VERITY_IMAGE, e);
	if (r == 0 && ftruncate(vfd, (off_t)slot_image_size(&h)) < 0)
		r = err_sys(e, errno, "sizing " VERITY_IMAGE);
	if (r == 0)
		r = io_pwrite_full(vfd, hdr, sizeof(hdr), 0, VERITY_IMAGE, e);
	if (r < 0)
		return r;
	*ret_size = slot_image_size(&h);
	return 0;
}

int slotimg_write(const struct slotimg_in *in, struct slotimg_out *out, struct err *e)
{
	struct verity_params vp;
	struct verity_layout l;
	uint8_t root[VERITY_MAX_DIGEST], rootfs_sha[SHA256_LEN], *sig = NULL;
	struct manifest_uki uki;
	char *manifest = NULL;
	cJSON *health;
	size_t sig_len = 0;
	uint64_t rootfs_size = 0;
	int vfd, r;

	vfd = open(in->verity, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (vfd < 0)
		return err_sys(e, errno, "creating %s", in->verity);
	r = hash_rootfs(in, vfd, &vp, &rootfs_size, root, rootfs_sha, e);
	if (r == 0)
		r = verity_layout(&vp, &l, e);
	if (r < 0)
		goto out;
	hex_encode(root, l.digest_size, out->root_hash);
	hex_encode(rootfs_sha, SHA256_LEN, out->rootfs_sha256);
	if (in->boot && (r = in->boot(in->boot_userdata, out->root_hash, &uki, e)) < 0)
		goto out;
	health = profile_health_json(in->p);
	r = manifest_write(&(struct manifest_in){
				   .product = in->p->product, .version = in->p->version,
				   .arch = in->p->arch, .cmdline = in->p->cmdline,
				   .rollback_index = (uint64_t)in->p->rollback_index,
				   .rootfs_size = rootfs_size, .rootfs_sha256 = out->rootfs_sha256,
				   .root_hash = out->root_hash, .verity = &vp,
				   .health = health, .uki = in->boot ? &uki : NULL,
				   .provenance = provenance(in)},
			   &manifest, e);
	cJSON_Delete(health);
	if (r < 0) {
		err_prefix(e, r, "%s: the manifest", in->p->file);
		goto out;
	}
	r = sign_detached(in->key, manifest, strlen(manifest), in->epoch, &sig, &sig_len, e);
	if (r == 0 && in->trust)
		r = sign_verify(in->trust, manifest, strlen(manifest), sig, sig_len,
				&(struct sign_verify_opts){0}, NULL, 0, e);
	if (r < 0) {
		err_prefix(e, r, "signing the manifest");
		goto out;
	}
	r = write_partition(vfd, &vp, manifest, sig, sig_len, &out->verity_image_size, e);
	if (r == 0)
		r = file_write(in->manifest, manifest, strlen(manifest), e);
	if (r == 0)
		r = file_write(in->signature, sig, sig_len, e);
	if (r == 0) { /* for the outputs after this one, which need not read them back */
		out->rootfs_size = rootfs_size;
		out->manifest_len = strlen(manifest);
		out->manifest = manifest;
		out->signature_len = sig_len;
		out->signature = sig;
		manifest = NULL;
		sig = NULL;
	}
out:
	close(vfd);
	free(manifest);
	free(sig);
	return r;
}
