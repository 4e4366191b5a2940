#include "build.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bootloader/bootstate.h"
#include "lib/contract.h"
#include "lib/policy.h"
#include "lib/sign.h"
#include "builder/outputs/bundlewrite.h"
#include "builder/outputs/ext4.h"
#include "fileutil.h"
#include "builder/outputs/image.h"
#include "initramfs.h"
#include "keys.h"
#include "progs.h"
#include "overlay.h"
#include "builder/outputs/slotimg.h"
#include "systemd.h"
#include "tree.h"

#define OS_RELEASE_MAX (64 * 1024)

static bool quiet;

static void progress(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "stele: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

/* /boot/vmlinuz becomes a hard link to the one versioned kernel the packages installed, so
 * the bootloader has a fixed name to load. */
static int link_kernel(const struct profile *p, struct tree *t, struct err *e)
{
	struct tree_node *boot = tree_lookup(t, "/boot");
	const char *found = NULL;
	char target[TREE_PATH_MAX];
	int n = 0;

	if (tree_lookup(t, CONTRACT_SLOT_KERNEL))
		return 0;
	for (size_t i = 0; boot && boot->inode->type == TREE_DIR && i < boot->nchildren; i++) {
		const struct tree_node *c = boot->children[i];

		if (strncmp(c->name, "vmlinuz-", 8) == 0 && c->inode->type == TREE_REG) {
			found = c->name;
			n++;
		}
	}
	if (n == 0)
		return cJSON_GetObjectItemCaseSensitive(p->doc, "kernel")
			       ? err_set(e, ENOENT, "%s: kernel: no /boot/vmlinuz-* in the tree "
						    "(add a linux-image package to base)", p->file)
			       : 0;
	if (n > 1)
		return err_set(e, EEXIST, "%s: kernel: %d kernels in /boot; keep one", p->file, n);
	snprintf(target, sizeof(target), "/boot/%s", found);
	progress("kernel: /boot/vmlinuz -> %s", target);
	return tree_link(t, CONTRACT_SLOT_KERNEL, target, e);
}

static int read_node(struct tree *t, const struct tree_inode *in, char **ret, struct err *e)
{
	struct tree_reader r;
	char *buf;
	int rc;

	if (in->size > OS_RELEASE_MAX)
		return err_set(e, EFBIG, "os-release larger than %d bytes", OS_RELEASE_MAX);
	buf = malloc(in->size + 1);
	if (!buf)
		return err_set(e, ENOMEM, "out of memory");
	rc = tree_reader_open(t, in, &r, e);
	if (rc == 0)
		rc = tree_reader_pread(&r, buf, in->size, 0, e);
	tree_reader_close(&r);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[in->size] = '\0';
	*ret = buf;
	return 0;
}

/* Appends IMAGE_ID and IMAGE_VERSION to the image's os-release (replacing old values), or
 * writes a small one when the tree has none. */
static int stamp_os_release(const struct profile *p, struct tree *t, struct err *e)
{
	struct tree_node *n = tree_resolve(t, "/etc/os-release");
	char *old = NULL, *out = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f;
	int r = 0;

	if (!n)
		n = tree_resolve(t, "/usr/lib/os-release");
	if (n && n->inode->type != TREE_REG)
		return err_set(e, EINVAL, "/etc/os-release is not a regular file");
	if (n && (r = read_node(t, n->inode, &old, e)) < 0)
		return r;
	f = open_memstream(&out, &len);
	if (!f) {
		free(old);
		return err_set(e, ENOMEM, "out of memory");
	}
	if (old) {
		for (line = strtok_r(old, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (strncmp(line, "IMAGE_ID=", 9) && strncmp(line, "IMAGE_VERSION=", 14))
				fprintf(f, "%s\n", line);
	} else {
		fprintf(f, "NAME=\"%s\"\nID=stele\nPRETTY_NAME=\"%s %s\"\n", p->product, p->product,
			p->version);
	}
	fprintf(f, "IMAGE_ID=%s\nIMAGE_VERSION=%s\n", p->product, p->version);
	fclose(f);
	free(old);
	if (!out)
		return err_set(e, ENOMEM, "out of memory");
	if (n) {
		tree_inode_set_mem(n->inode, out, len);
		return 0;
	}
	struct tree_inode *in = tree_inode_new(TREE_REG, 0644);
	if (!in) {
		free(out);
		return err_set(e, ENOMEM, "out of memory");
	}
	tree_inode_set_mem(in, out, len);
	r = tree_put(t, "/etc/os-release", in, e);
	tree_inode_unref(in);
	return r;
}

static int put_mem_file(struct tree *t, const char *path, void *buf, size_t len, uint32_t mode,
			struct err *e);

int build_compose(const struct profile *p, const struct build_opts *o, struct tree *t,
		  struct inputs *inputs, struct err *e)
{
	struct appliance_opts ao = {
		.console_shell = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p->doc, "console_shell")),
		.progress = progress};
	struct source_ctx ctx = {.cache_dir = o->cache_dir, .inputs = inputs,
				 .rootfs_size = p->rootfs_size, .progress = progress};
	int r;

	quiet = o->quiet;
	r = p->base->compose(p->base_cfg, t, &ctx, e);
	if (r < 0)
		return r;
	/* before the overlay, so a profile can replace any file stele adds */
	r = appliance_prepare(t, &ao, e);
	if (r < 0)
		return r;
	r = overlay_apply(t, p, e);
	if (r < 0)
		return r;
	r = link_kernel(p, t, e);
	if (r < 0)
		return r;
	/* "console_shell": true offers a root shell on the console (testers); production
	 * profiles leave it out. The image's init looks for this file. */
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p->doc, "console_shell"))) {
		char *yes = strdup("yes\n");
		r = yes ? put_mem_file(t, CONTRACT_SLOT_CONSOLE_SHELL, yes, 4, 0644, e)
			: err_set(e, ENOMEM, "out of memory");
		if (r < 0)
			return r;
	}
	return stamp_os_release(p, t, e);
}

/* Helper programs (stele-init) live beside stele, or in $STELE_LIBEXEC. */
static int find_libexec(const char *name, char *out, size_t n, struct err *e)
{
	const char *env = getenv("STELE_LIBEXEC");
	char self[4096];
	ssize_t l;

	if (env && *env) {
		snprintf(out, n, "%s/%s", env, name);
		return access(out, R_OK) == 0 ? 0 : err_sys(e, ENOENT, "%s", out);
	}
	l = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (l > 0) {
		self[l] = '\0';
		*strrchr(self, '/') = '\0';
		snprintf(out, n, "%s/%s", self, name);
		if (access(out, R_OK) == 0)
			return 0;
		snprintf(out, n, "%s/../%s", self, name); /* build/asan/stele -> build/ */
		if (access(out, R_OK) == 0)
			return 0;
	}
	return err_set(e, ENOENT, "%s not found beside stele (run make, or set STELE_LIBEXEC)",
		       name);
}

static int put_mem_file(struct tree *t, const char *path, void *buf, size_t len, uint32_t mode,
			struct err *e)
{
	struct tree_inode *in = tree_inode_new(TREE_REG, mode);
	int r;

	if (!in) {
		free(buf);
		return err_set(e, ENOMEM, "out of memory");
	}
	tree_inode_set_mem(in, buf, len);
	r = tree_put(t, path, in, e);
	tree_inode_unref(in);
	return r;
}

/* /boot/stele.env: the kernel command line as a GRUB environment block, which the boot script
 * loads with `load_env` (a file of variables, never a script). */
static int put_boot_env(const struct profile *p, struct tree *t, struct err *e)
{
	const char *head = CONTRACT_ENV_HEADER CONTRACT_ENV_CMDLINE "=";
	char *buf;
	size_t used;

	if (strpbrk(p->cmdline, "\\\n"))
		return err_set(e, EINVAL, "%s: kernel.cmdline: backslashes and newlines are not "
					  "allowed", p->file);
	used = strlen(head) + strlen(p->cmdline) + 1;
	if (used >= BOOTSTATE_SIZE)
		return err_set(e, E2BIG, "%s: kernel.cmdline: too long for the boot environment",
			       p->file);
	buf = malloc(BOOTSTATE_SIZE);
	if (!buf)
		return err_set(e, ENOMEM, "out of memory");
	memset(buf, '#', BOOTSTATE_SIZE);
	snprintf(buf, used + 1, "%s%s\n", head, p->cmdline);
	buf[used] = '#';
	return put_mem_file(t, CONTRACT_SLOT_BOOT_ENV, buf, BOOTSTATE_SIZE, 0644, e);
}

/* stele-update and the health policy: every bootable image can update itself. */
static int put_updater(const struct profile *p, struct tree *t, struct err *e)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(p->doc, "health");
	cJSON *policy;
	char path[4096], *text;
	int r;

	r = policy_complete(h, &policy, e);
	if (r < 0)
		return err_prefix(e, r, "%s", p->file);
	text = cJSON_Print(policy);
	cJSON_Delete(policy);
	if (!text)
		return err_set(e, ENOMEM, "out of memory");
	r = put_mem_file(t, CONTRACT_SLOT_HEALTH_JSON, text, strlen(text), 0644, e);
	if (r < 0)
		return r;

	if (find_libexec("stele-update", path, sizeof(path), e) < 0)
		return 0; /* built without the updater: the image boots, but cannot update */
	return progs_install(t, path, CONTRACT_SLOT_UPDATER, e);
}

/* Everything the boot needs inside the slot: trust store, initramfs, command line. */
static int put_boot_files(const struct profile *p, struct tree *t, const char *trust_pem,
			  int64_t epoch, struct err *e)
{
	struct initramfs_opts io = {.trust_pem = trust_pem, .product = p->product,
				    .modules = p->modules, .nmodules = p->nmodules,
				    .epoch = epoch};
	struct initramfs_result res;
	char init[4096], *pem;
	size_t pem_len;
	void *buf;
	size_t len;
	int r;

	if (!tree_lookup(t, CONTRACT_SLOT_KERNEL))
		return 0; /* not bootable on its own: a plain root filesystem */
	if (!trust_pem || !*trust_pem)
		return err_set(e, EINVAL, "a bootable image needs a trust store (--keys DIR with "
					  "ca.crt, or the profile's sign.trust)");
	r = find_libexec("stele-init", init, sizeof(init), e);
	if (r < 0)
		return r;
	io.init_path = init;
	r = file_read_all(trust_pem, 1 << 20, &pem, &pem_len, e);
	if (r == 0)
		r = put_mem_file(t, CONTRACT_SLOT_TRUST, pem, pem_len, 0644, e);
	if (r == 0)
		r = put_updater(p, t, e);
	if (r == 0)
		r = initramfs_build(t, &io, &buf, &len, &res, e);
	if (r < 0)
		return err_prefix(e, r, "initramfs");
	progress("initramfs: kernel %s, %zu modules, %zu libraries, %zu KiB", res.kernel_version,
		 res.nmodules, res.nlibs, len >> 10);
	r = put_mem_file(t, CONTRACT_SLOT_INITRD, buf, len, 0644, e);
	return r < 0 ? r : put_boot_env(p, t, e);
}

static void derive_seed(const struct profile *p, const uint8_t digest[SHA256_LEN],
			uint8_t seed[SHA256_LEN])
{
	struct sha256_ctx *c = sha256_new();

	sha256_update(c, "stele-rootfs-v1", 16);
	sha256_update(c, p->product, strlen(p->product) + 1);
	sha256_update(c, p->version, strlen(p->version) + 1);
	sha256_update(c, digest, SHA256_LEN);
	sha256_final(c, seed);
}

static void print_result(const struct profile *p, const struct build_opts *o, const char *path,
			 const struct ext4_result *res, const struct inputs *inputs,
			 const uint8_t digest[SHA256_LEN], const struct slotimg_out *so,
			 double secs)
{
	char uuid[33], tree_hex[SHA256_HEX_LEN];
	cJSON *j, *arr;
	char *s;

	hex_encode(res->uuid, 16, uuid);
	hex_encode(digest, SHA256_LEN, tree_hex);
	if (!o->json) {
		progress("wrote %s (%llu MiB, %llu blocks used, %llu inodes) in %.1f s", path,
			 (unsigned long long)(res->size >> 20),
			 (unsigned long long)res->blocks_used,
			 (unsigned long long)res->inodes_used, secs);
		progress("root hash %s", so->root_hash);
		return;
	}
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "product", p->product);
	cJSON_AddStringToObject(j, "version", p->version);
	cJSON_AddStringToObject(j, "rootfs", path);
	cJSON_AddNumberToObject(j, "rootfs_size", (double)res->size);
	cJSON_AddNumberToObject(j, "blocks_used", (double)res->blocks_used);
	cJSON_AddNumberToObject(j, "inodes_used", (double)res->inodes_used);
	cJSON_AddStringToObject(j, "fs_uuid", uuid);
	cJSON_AddStringToObject(j, "tree_sha256", tree_hex);
	cJSON_AddStringToObject(j, "rootfs_sha256", so->rootfs_sha256);
	cJSON_AddStringToObject(j, "root_hash", so->root_hash);
	cJSON_AddNumberToObject(j, "verity_image_size", (double)so->verity_image_size);
	cJSON_AddNumberToObject(j, "source_date_epoch", (double)o->epoch);
	arr = cJSON_AddArrayToObject(j, "inputs");
	for (size_t i = 0; i < inputs->n; i++) {
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "kind", inputs->v[i].kind);
		cJSON_AddStringToObject(x, "name", inputs->v[i].name);
		cJSON_AddStringToObject(x, "version", inputs->v[i].version);
		if (inputs->v[i].arch)
			cJSON_AddStringToObject(x, "arch", inputs->v[i].arch);
		cJSON_AddStringToObject(x, "sha256", inputs->v[i].sha256);
		cJSON_AddItemToArray(arr, x);
	}
	s = cJSON_Print(j);
	if (s)
		printf("%s\n", s);
	free(s);
	cJSON_Delete(j);
}

static double now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct key_paths {
	char key[4096], cert[4096], trust[4096];
};

static int dev_keys_dir(char *out, size_t n)
{
	const char *s = getenv("STELE_DEV_KEYS"), *x = getenv("XDG_CONFIG_HOME");
	const char *h = getenv("HOME");

	if (s && *s)
		return snprintf(out, n, "%s", s) < (int)n ? 0 : -ENAMETOOLONG;
	if (x && *x)
		return snprintf(out, n, "%s/stele/dev-keys", x) < (int)n ? 0 : -ENAMETOOLONG;
	return snprintf(out, n, "%s/.config/stele/dev-keys", h && *h ? h : "/tmp") < (int)n
		       ? 0 : -ENAMETOOLONG;
}

static void keys_in_dir(struct key_paths *k, const char *dir)
{
	snprintf(k->key, sizeof(k->key), "%s/signing.key", dir);
	snprintf(k->cert, sizeof(k->cert), "%s/signing.crt", dir);
	snprintf(k->trust, sizeof(k->trust), "%s/ca.crt", dir);
}

/* --keys DIR, else the profile's "sign", else development keys (made on first use). */
static int resolve_keys(const struct profile *p, const struct build_opts *o,
			struct key_paths *k, struct err *e)
{
	const cJSON *sign = cJSON_GetObjectItemCaseSensitive(p->doc, "sign");
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(sign, "key");
	const cJSON *cert = cJSON_GetObjectItemCaseSensitive(sign, "cert");
	const cJSON *trust = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(sign, "trust"), 0);
	char dir[4096];
	int r;

	memset(k, 0, sizeof(*k));
	if (o->keys_dir) {
		keys_in_dir(k, o->keys_dir);
		return 0;
	}
	if (cJSON_IsString(key) && cJSON_IsString(cert)) {
		snprintf(k->key, sizeof(k->key), "%s", key->valuestring);
		snprintf(k->cert, sizeof(k->cert), "%s", cert->valuestring);
		if (cJSON_IsString(trust))
			snprintf(k->trust, sizeof(k->trust), "%s", trust->valuestring);
		return 0;
	}
	if (dev_keys_dir(dir, sizeof(dir)) < 0)
		return err_set(e, ENAMETOOLONG, "development key directory name too long");
	keys_in_dir(k, dir);
	if (access(k->key, F_OK) != 0) {
		fprintf(stderr, "stele: WARNING: no signing keys given (--keys or the profile's "
				"\"sign\"): creating DEVELOPMENT keys in %s\n", dir);
		r = keys_generate(dir, KEY_RSA3072, e);
		if (r < 0)
			return err_prefix(e, r, "creating development keys");
	}
	fprintf(stderr, "stele: WARNING: signing with DEVELOPMENT keys from %s; devices that "
			"trust them trust anyone who can read that directory\n", dir);
	return 0;
}

static int load_keys(const struct key_paths *kp, struct sign_key **key,
		     struct sign_trust **trust, struct err *e)
{
	const char *paths[1] = {kp->trust};
	int r = sign_key_load(kp->key, kp->cert, key, e);

	if (r == 0 && kp->trust[0])
		r = sign_trust_load(paths, 1, trust, e);
	return r;
}

struct outputs {
	const char *rootfs, *verity, *manifest, *signature, *img, *qcow2, *bundle;
};

static int stage_outputs(struct stage *st, const struct profile *p, struct outputs *out,
			 struct err *e)
{
	static const char *const suffix[] = {CONTRACT_OUT_ROOTFS, CONTRACT_OUT_VERITY,
					     CONTRACT_OUT_MANIFEST, CONTRACT_OUT_SIGNATURE};
	const char **slots[] = {&out->rootfs, &out->verity, &out->manifest, &out->signature};
	char name[256];
	int r;

	for (size_t i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "%s-%s.%s", p->product, p->version, suffix[i]);
		r = stage_add(st, name, slots[i], e);
		if (r < 0)
			return r;
	}
	return 0;
}

static int stage_rootfs(struct stage *st, const struct profile *p, struct outputs *out,
			struct err *e)
{
	char name[256];

	snprintf(name, sizeof(name), "%s-%s.rootfs.ext4", p->product, p->version);
	return stage_add(st, name, &out->rootfs, e) < 0 ? -EINVAL : 0;
}

/* A disk image only for bootable trees (a kernel at /boot/vmlinuz). */
static int stage_disk(struct stage *st, const struct profile *p, struct outputs *out,
		      struct err *e)
{
	char name[256];
	int r = 0;

	if (image_wants(p, "raw") || image_wants(p, "qcow2")) { /* qcow2 is converted from raw */
		snprintf(name, sizeof(name), "%s-%s.img", p->product, p->version);
		r = stage_add(st, name, &out->img, e);
	}
	if (r >= 0 && image_wants(p, "qcow2")) {
		snprintf(name, sizeof(name), "%s-%s.qcow2", p->product, p->version);
		r = stage_add(st, name, &out->qcow2, e);
	}
	if (r >= 0 && image_wants(p, "bundle")) {
		snprintf(name, sizeof(name), "%s-%s.bundle", p->product, p->version);
		r = stage_add(st, name, &out->bundle, e);
	}
	return r < 0 ? r : 0;
}

static int write_disk(const struct profile *p, const struct build_opts *o,
		      const struct outputs *out, const uint8_t seed[SHA256_LEN], struct err *e)
{
	struct image_in in = {.p = p, .rootfs = out->rootfs, .verity = out->verity,
			      .img = out->img, .qcow2 = out->qcow2, .epoch = o->epoch};
	char bootx64[4096];
	int r = find_libexec("BOOTX64.EFI", bootx64, sizeof(bootx64), e);

	if (r < 0)
		return r;
	in.bootx64 = bootx64;
	memcpy(in.seed, seed, SHA256_LEN);
	progress("writing the disk image %s-%s.img", p->product, p->version);
	r = image_write(&in, e);
	return r < 0 ? err_prefix(e, r, "disk image") : 0;
}

int build_run(const struct profile *p, const struct build_opts *o, struct err *e)
{
	struct ext4_opts eo = {.size = p->rootfs_size, .headroom_pct = p->headroom_pct,
			       .headroom_bytes = p->headroom_bytes, .epoch = o->epoch,
			       .label = p->product};
	struct inputs inputs = {0};
	struct ext4_result res = {0};
	struct slotimg_out so;
	struct key_paths kp;
	struct sign_key *key = NULL;
	struct sign_trust *trust = NULL;
	uint8_t digest[SHA256_LEN];
	struct tree *t = NULL;
	struct stage st = {0};
	struct outputs out = {0};
	char final[4096];
	double t0 = now_secs();
	int r;

	quiet = o->quiet;
	memset(&so, 0, sizeof(so));
	memset(&kp, 0, sizeof(kp));
	r = 0;
	if (!o->rootfs_only) {
		r = resolve_keys(p, o, &kp, e);
		if (r == 0)
			r = load_keys(&kp, &key, &trust, e);
	}
	if (r == 0) {
		stage_cleanup_on_signal(&st);
		r = stage_init(&st, o->outdir, e);
	}
	if (r == 0)
		r = tree_new(&t, e);
	if (r == 0)
		r = build_compose(p, o, t, &inputs, e);
	if (r == 0) /* before anything reads file contents */
		r = ext4_check_fit(t, &eo, e);
	if (r == 0 && !o->rootfs_only)
		r = put_boot_files(p, t, kp.trust, o->epoch, e);
	if (r == 0) {
		progress("hashing the tree");
		r = tree_digest(t, digest, e);
	}
	if (r < 0)
		goto out;
	derive_seed(p, digest, eo.seed);
	r = o->rootfs_only ? stage_rootfs(&st, p, &out, e) : stage_outputs(&st, p, &out, e);
	if (r == 0 && !o->rootfs_only && tree_lookup(t, CONTRACT_SLOT_KERNEL))
		r = stage_disk(&st, p, &out, e);
	if (r < 0)
		goto out;
	progress("writing ext4 %s-%s.rootfs.ext4", p->product, p->version);
	r = ext4_write(t, out.rootfs, &eo, &res, e);
	if (r < 0) {
		err_prefix(e, r, "writing the root filesystem");
		goto out;
	}
	if (o->rootfs_only) {
		r = stage_commit(&st, e);
		if (r == 0)
			progress("wrote %s-%s.rootfs.ext4 (%llu MiB)", p->product, p->version,
				 (unsigned long long)(res.size >> 20));
		goto out;
	}
	progress("hashing the rootfs (dm-verity) and signing the manifest");
	struct slotimg_in si = {.p = p, .inputs = &inputs, .epoch = o->epoch,
				.rootfs = out.rootfs, .verity = out.verity,
				.manifest = out.manifest, .signature = out.signature,
				.key = key, .trust = trust};
	memcpy(si.seed, eo.seed, SHA256_LEN);
	r = slotimg_write(&si, &so, e);
	if (r == 0 && out.img)
		r = write_disk(p, o, &out, eo.seed, e);
	if (r == 0 && out.bundle) {
		progress("writing the update bundle %s-%s.bundle", p->product, p->version);
		r = bundle_write(out.bundle, out.manifest, out.signature, out.verity, out.rootfs, e);
		if (r < 0)
			err_prefix(e, r, "bundle");
	}
	if (r == 0)
		r = stage_commit(&st, e);
	if (r == 0) {
		snprintf(final, sizeof(final), "%s/%s-%s.rootfs.ext4", o->outdir, p->product,
			 p->version);
		print_result(p, o, final, &res, &inputs, digest, &so, now_secs() - t0);
	}
out:
	if (r < 0)
		stage_abort(&st);
	stage_cleanup_on_signal(NULL);
	stage_free(&st);
	tree_free(t);
	inputs_free(&inputs);
	sign_key_free(key);
	sign_trust_free(trust);
	return r;
}
