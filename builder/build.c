#include "build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootloader/bootstate.h"
#include "lib/contract.h"
#include "lib/tuf.h"
#include "lib/updatecfg.h"
#include "rootfs/update/fetch.h"
#include "lib/policy.h"
#include "lib/sign.h"
#include "builder/outputs/output.h"
#include "initramfs.h"
#include "keys.h"
#include "secureboot.h"
#include "progs.h"
#include "overlay.h"
#include "systemd.h"
#include "tree.h"

#define OS_RELEASE_MAX (64 * 1024)

/* /boot/vmlinuz becomes a hard link to the one versioned kernel the packages installed, so
 * the bootloader has a fixed name to load. */
static int link_kernel(const struct profile *p, struct tree *t, const struct reporter *rep,
		       struct err *e)
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
		return p->has_kernel
			       ? err_set(e, ENOENT, "%s: kernel: no /boot/vmlinuz-* in the tree "
						    "(add a linux-image package to base)", p->file)
			       : 0;
	if (n > 1)
		return err_set(e, EEXIST, "%s: kernel: %d kernels in /boot; keep one", p->file, n);
	snprintf(target, sizeof(target), "/boot/%s", found);
	reportf(rep, BUILD_PROGRESS, "kernel: " CONTRACT_SLOT_KERNEL " -> %s", target);
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
	struct appliance_opts ao = {.console_shell = p->console_shell,
				    .poll_interval = p->update ? p->update->interval : 0,
				    .report = &o->report};
	struct source_ctx ctx = {.cache_dir = o->cache_dir, .inputs = inputs,
				 .rootfs_size = p->rootfs_size, .report = &o->report,
				 .cleanup = o->cleanup};
	char origin[64];
	int r;

	/* what made each inode, for messages (a source names packages and archives itself) */
	snprintf(origin, sizeof(origin), "base %s", p->base->key);
	r = tree_set_origin(t, origin, e);
	if (r == 0)
		r = p->base->compose(p->base_cfg, t, &ctx, e);
	if (r == 0)
		r = tree_set_origin(t, NULL, e);
	if (r < 0)
		return r;
	/* before the overlay, so a profile can replace any file stele adds */
	r = appliance_prepare(t, &ao, e);
	if (r < 0)
		return r;
	r = overlay_apply(t, p, e);
	if (r == 0)
		r = tree_set_origin(t, NULL, e);
	if (r < 0)
		return r;
	r = link_kernel(p, t, &o->report, e);
	if (r < 0)
		return r;
	/* "console_shell": true offers a root shell on the console (testers); production
	 * profiles leave it out. The image's init looks for this file. */
	if (p->console_shell) {
		char *yes = strdup("yes\n");
		r = yes ? put_mem_file(t, CONTRACT_SLOT_CONSOLE_SHELL, yes, 4, 0644, e)
			: err_set(e, ENOMEM, "out of memory");
		if (r < 0)
			return r;
	}
	return stamp_os_release(p, t, e);
}

int build_libexec(const char *name, char *out, size_t n, struct err *e)
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
	char path[4096], *text = profile_health_text(p);
	struct policy pol;
	int r;

	if (!text)
		return err_set(e, ENOMEM, "out of memory");
	r = policy_parse(text, strlen(text), false, &pol, e); /* as the device will read it */
	if (r < 0) {
		free(text);
		return err_prefix(e, r, "%s: health", p->file);
	}
	r = put_mem_file(t, CONTRACT_SLOT_HEALTH_JSON, text, strlen(text), 0644, e);
	if (r < 0)
		return r;

	if (build_libexec("stele-update", path, sizeof(path), e) < 0)
		return 0; /* built without the updater: the image boots, but cannot update */
	return progs_install(t, path, CONTRACT_SLOT_UPDATER, e);
}

/* /etc/stele/update.json and the repository root the device trusts, when the profile has
 * "update". The root is checked as the device will check it: a TUF root, signed by itself. */
static int put_update(const struct profile *p, struct tree *t, struct err *e)
{
	struct tuf_root *rt;
	struct tuf_doc d;
	char *text, *root;
	size_t len;
	int r;

	if (!p->update)
		return 0;
	r = file_read_all(p->update_root, TUF_ROOT_MAX, &root, &len, e);
	if (r < 0)
		return err_prefix(e, r, "%s: update.root", p->file);
	rt = malloc(sizeof(*rt));
	r = rt ? tuf_doc_parse(p->update_root, root, len, TUF_ROOT, &d, e)
	       : err_set(e, ENOMEM, "out of memory");
	if (r == 0) {
		r = tuf_root_parse(&d, rt, e);
		if (r == 0)
			r = tuf_verify(rt, TUF_ROOT, &d, p->update_root, e);
		tuf_doc_free(&d);
	}
	free(rt);
	if (r < 0) {
		free(root);
		return err_prefix(e, r, "%s: update.root is not a repository root (stele repo init "
				  "makes REPO/root.json)", p->file);
	}
	r = put_mem_file(t, CONTRACT_SLOT_TUF_ROOT, root, len, 0644, e);
	if (r < 0)
		return r;
	text = updatecfg_write(p->update);
	if (!text)
		return err_set(e, ENOMEM, "out of memory");
	r = put_mem_file(t, CONTRACT_SLOT_UPDATE_JSON, text, strlen(text), 0644, e);
	/* stele-update loads libcurl for a poll (rootfs/update/fetch.c) */
	return r < 0 ? r : progs_install_lib(t, FETCH_LIBCURL, e);
}

/* Everything the boot needs inside the slot: trust store, initramfs, command line. */
/* The db certificate, so that stele-update can refuse a kernel image the firmware would. */
static int put_sb_db(const struct build_ctx *b, struct tree *t, struct err *e)
{
	struct sb_keys k;
	char *pem;
	size_t len;
	int r = sb_keys_find(b->sb_dir, &k, e);

	if (r == 0)
		r = file_read_all(k.cert[KEYS_SB_DB], 1 << 20, &pem, &len, e);
	return r < 0 ? r : put_mem_file(t, CONTRACT_SLOT_SB_DB, pem, len, 0644, e);
}

static int put_boot_files(const struct build_ctx *b, const char *trust_pem, struct err *e)
{
	const struct profile *p = b->p;
	struct tree *t = b->tree;
	/* with Secure Boot stele-init reads the trial flag from the boot state on the ESP */
	static char *const esp_modules[] = {"vfat", "nls_cp437", "nls_ascii"};
	struct initramfs_opts io = {.trust_pem = trust_pem, .product = p->product,
				    .modules = p->modules, .nmodules = p->nmodules,
				    .extra_modules = esp_modules,
				    .nextra_modules = p->secure_boot ? 3 : 0,
				    .epoch = b->o->epoch};
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
	r = build_libexec("stele-init", init, sizeof(init), e);
	if (r < 0)
		return r;
	io.init_path = init;
	r = file_read_all(trust_pem, 1 << 20, &pem, &pem_len, e);
	if (r == 0)
		r = put_mem_file(t, CONTRACT_SLOT_TRUST, pem, pem_len, 0644, e);
	if (r == 0 && p->secure_boot)
		r = put_sb_db(b, t, e);
	if (r == 0)
		r = put_updater(p, t, e);
	if (r == 0)
		r = initramfs_build(t, &io, &buf, &len, &res, e);
	if (r < 0)
		return err_prefix(e, r, p->secure_boot ? "initramfs (with \"secure_boot\", the "
				    "default for a kernel, it needs vfat, nls_cp437 and nls_ascii from "
				    "the kernel's modules; \"secure_boot\": false builds without)"
				  : "initramfs");
	reportf(b->report, BUILD_PROGRESS, "initramfs: kernel %s, %zu modules, %zu libraries, "
		"%zu KiB", res.kernel_version, res.nmodules, res.nlibs, len >> 10);
	snprintf(b->art->kernel_version, sizeof(b->art->kernel_version), "%s",
		 res.kernel_version);
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

struct key_paths {
	char key[4096], cert[4096], trust[4096];
	char dir[4096]; /* where the Secure Boot keys are: beside the signing key */
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
	char dir[4096], sb[4200];
	int r;

	memset(k, 0, sizeof(*k));
	if (o->keys_dir) {
		keys_in_dir(k, o->keys_dir);
		snprintf(k->dir, sizeof(k->dir), "%s", o->keys_dir);
		return 0;
	}
	if (p->sign.key && p->sign.cert) {
		const char *slash = strrchr(p->sign.key, '/');

		if (slash == p->sign.key) /* "/k.key" */
			snprintf(k->dir, sizeof(k->dir), "/");
		else
			snprintf(k->dir, sizeof(k->dir), "%.*s",
				 slash ? (int)(slash - p->sign.key) : 1, slash ? p->sign.key : ".");
		snprintf(k->key, sizeof(k->key), "%s", p->sign.key);
		snprintf(k->cert, sizeof(k->cert), "%s", p->sign.cert);
		if (p->sign.ntrust)
			snprintf(k->trust, sizeof(k->trust), "%s", p->sign.trust[0]);
		return 0;
	}
	if (dev_keys_dir(dir, sizeof(dir)) < 0)
		return err_set(e, ENAMETOOLONG, "development key directory name too long");
	keys_in_dir(k, dir);
	snprintf(k->dir, sizeof(k->dir), "%s", dir);
	if (access(k->key, F_OK) != 0) {
		reportf(&o->report, BUILD_WARNING, "no signing keys given (--keys or the profile's "
			"\"sign\"): creating DEVELOPMENT keys in %s", dir);
		r = keys_generate(dir, KEY_RSA3072, e);
		if (r < 0)
			return err_prefix(e, r, "creating development keys");
	}
	snprintf(sb, sizeof(sb), "%s/%s.key", dir, keys_sb_names[KEYS_SB_DB]);
	if (p->secure_boot && access(sb, F_OK) != 0) {
		reportf(&o->report, BUILD_WARNING, "creating DEVELOPMENT Secure Boot keys in %s",
			dir);
		r = keys_generate_secure_boot(dir, e);
		if (r < 0)
			return err_prefix(e, r, "creating development keys");
	}
	reportf(&o->report, BUILD_WARNING, "signing with DEVELOPMENT keys from %s; devices that "
		"trust them trust anyone who can read that directory", dir);
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

void build_artifacts_free(struct build_artifacts *a)
{
	inputs_free(&a->inputs);
	free(a->slot.manifest);
	free(a->slot.signature);
	memset(a, 0, sizeof(*a));
}

/* What a Secure Boot build needs, checked before anything is written. */
static int check_secure_boot(const char *dir, int64_t epoch, struct err *e)
{
	static const char *const need[] = {SB_STUB, SB_OVMF_VARS_TEMPLATE};
	struct sb_keys k;
	int r = sb_keys_find(dir, &k, e);

	/* PKCS#7's signing time is a UTCTime (two-digit years) and OpenPGP's a 32-bit count */
	if (r == 0 && (epoch < 0 || epoch >= SB_EPOCH_MAX))
		r = err_set(e, ERANGE, "\"secure_boot\": SOURCE_DATE_EPOCH %lld is outside 1970 to "
				       "2049", (long long)epoch);
	for (size_t i = 0; r == 0 && i < sizeof(need) / sizeof(*need); i++)
		if (access(need[i], R_OK) != 0)
			r = err_set(e, ENOENT, "\"secure_boot\": %s is missing (make deps installs "
					       "systemd-boot-efi, sbsigntool, efitools and ovmf)",
				    need[i]);
	return r;
}

/* Everything before the outputs: keys, the tree, what the boot needs in it, its digest. */
static int prepare(struct build_ctx *b, struct err *e)
{
	struct key_paths kp;
	int r = 0;

	memset(&kp, 0, sizeof(kp));
	if (!b->o->rootfs_only) {
		r = resolve_keys(b->p, b->o, &kp, e);
		if (r == 0)
			r = load_keys(&kp, &b->key, &b->trust, e);
		snprintf(b->sb_dir, sizeof(b->sb_dir), "%s", kp.dir);
		if (r == 0 && b->p->secure_boot)
			r = check_secure_boot(b->sb_dir, b->o->epoch, e);
	}
	if (r == 0) {
		cleanup_watch(b->o->cleanup, &b->stage);
		r = stage_init(&b->stage, b->o->outdir, e);
	}
	if (r == 0)
		r = tree_new(&b->tree, e);
	if (r == 0)
		r = secret_scan_init(&b->secrets, b->p->secrets_allow, b->p->nsecrets_allow, e);
	if (r == 0)
		r = build_compose(b->p, b->o, b->tree, &b->art->inputs, e);
	if (r == 0) /* before anything reads file contents */
		r = ext4_check_fit(b->tree, &b->ext4, e);
	if (r == 0)
		r = put_update(b->p, b->tree, e);
	if (r == 0 && !b->o->rootfs_only)
		r = put_boot_files(b, kp.trust, e);
	if (r == 0) {
		reportf(b->report, BUILD_PROGRESS, "hashing the tree");
		r = tree_digest(b->tree, b->art->tree_sha256, e);
	}
	if (r == 0)
		derive_seed(b->p, b->art->tree_sha256, b->ext4.seed);
	return r;
}

int build_run(const struct profile *p, const struct build_opts *o, struct build_artifacts *ret,
	      struct err *e)
{
	struct build_ctx b = {.p = p, .o = o, .report = &o->report, .art = ret,
			      .ext4 = {.size = p->rootfs_size, .headroom_pct = p->headroom_pct,
				       .headroom_bytes = p->headroom_bytes, .epoch = o->epoch,
				       .label = p->product}};
	int r;

	memset(ret, 0, sizeof(*ret));
	r = prepare(&b, e);
	if (r == 0)
		r = output_run(&b, output_select(p, o->rootfs_only,
						 tree_lookup(b.tree, CONTRACT_SLOT_KERNEL) != NULL), e);
	if (r == 0)
		r = stage_commit(&b.stage, e);
	if (r < 0)
		stage_abort(&b.stage);
	cleanup_watch(o->cleanup, NULL);
	stage_free(&b.stage);
	secret_scan_free(&b.secrets);
	tree_free(b.tree);
	sign_key_free(b.key);
	sign_trust_free(b.trust);
	return r;
}
