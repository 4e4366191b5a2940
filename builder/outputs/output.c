#include "output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/contract.h"
#include "bundlewrite.h"
#include "ext4.h"
#include "image.h"
#include "slotimg.h"
#include "uki.h"
#include "vdisk.h"

int output_stage_file(struct build_ctx *b, const char *suffix, const char **ret, struct err *e)
{
	char name[256];
	int r;

	snprintf(name, sizeof(name), "%s-%s.%s", b->p->product, b->p->version, suffix);
	r = stage_add(&b->stage, name, ret, e);
	return r < 0 ? r : 0;
}

static int rootfs_stage(struct build_ctx *b, struct err *e)
{
	return output_stage_file(b, CONTRACT_OUT_ROOTFS, &b->files.rootfs, e);
}

#define DPKG_INFO "/var/lib/dpkg/info"
#define DPKG_LIST_MAX (16u << 20)

/* Whether the text (a dpkg file list) has path as one whole line. */
static bool listed(const char *text, const char *path)
{
	size_t n = strlen(path);

	for (const char *p = text; (p = strstr(p, path)); p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

/* The package whose dpkg file list (the tree's DPKG_INFO/NAME.list) names path, into out
 * ("libgnutls30"); on a merged-/usr tree dpkg lists /lib/... for /usr/lib/.... Only asked for
 * the secret scan's hits, so reading every list each time costs nothing in a clean build. */
static bool dpkg_owner(struct tree *t, const char *path, char *out, size_t n)
{
	struct tree_node *dir = tree_lookup(t, DPKG_INFO);
	const char *alt = strncmp(path, "/usr/", 5) == 0 ? path + 4 : NULL;
	bool found = false;

	if (!dir || dir->inode->type != TREE_DIR)
		return false;
	for (size_t i = 0; i < dir->nchildren && !found; i++) {
		const struct tree_node *c = dir->children[i];
		size_t l = strlen(c->name);
		struct tree_reader rd;
		struct err e;
		char *text;

		if (l < 6 || strcmp(c->name + l - 5, ".list") != 0 || c->inode->type != TREE_REG ||
		    c->inode->size > DPKG_LIST_MAX || !(text = malloc(c->inode->size + 1)))
			continue;
		if (tree_reader_open(t, c->inode, &rd, &e) == 0 &&
		    tree_reader_pread(&rd, text, c->inode->size, 0, &e) == 0) {
			text[c->inode->size] = '\0';
			found = listed(text, path) || (alt && listed(text, alt));
		}
		tree_reader_close(&rd);
		free(text);
		if (found) /* "python3.11:amd64.list" -> "python3.11" */
			snprintf(out, n, "%.*s", (int)strcspn(c->name, ":") < (int)(l - 5)
							  ? (int)strcspn(c->name, ":")
							  : (int)(l - 5),
				 c->name);
	}
	return found;
}

/* A hit in a base ("base mmdebstrap", a tar, a host tree) becomes "package libgnutls30 (base
 * mmdebstrap)" where dpkg's file lists know the file. */
static void name_packages(struct build_ctx *b)
{
	char pkg[256], *origin;

	for (size_t i = 0; i < b->secrets.nhits; i++) {
		struct secret_hit *h = &b->secrets.hits[i];

		/* a package's own files and the profile's entries say where they came from */
		if (strncmp(h->origin, "package ", 8) == 0 || strstr(h->origin, ": files[") ||
		    strcmp(h->origin, "stele") == 0 || !dpkg_owner(b->tree, h->path, pkg, sizeof(pkg)) ||
		    asprintf(&origin, "package %s (%s)", pkg, h->origin) < 0)
			continue;
		free(h->origin);
		h->origin = origin;
	}
}

static int rootfs_begin(struct build_ctx *b, struct err *e)
{
	char line[700];
	int r;

	reportf(b->report, BUILD_PROGRESS, "writing ext4 %s-%s.rootfs.ext4", b->p->product,
		b->p->version);
	b->ext4.scan = &b->secrets;
	r = ext4_write(b->tree, b->files.rootfs, &b->ext4, &b->art->ext4, e);
	b->ext4.scan = NULL;
	if (r < 0)
		return err_prefix(e, r, "writing the root filesystem");
	name_packages(b);
	for (size_t i = 0; i < b->secrets.nhits; i++) {
		const struct secret_hit *h = &b->secrets.hits[i];

		secret_hit_format(h, line, sizeof(line));
		if (h->allowed_by >= 0)
			reportf(b->report, BUILD_PROGRESS, "secret allowed by secrets.allow[%d]: %s",
				h->allowed_by, line);
		else if (h->known >= 0)
			reportf(b->report, BUILD_PROGRESS, "public key of a package, not a secret "
				"(%s): %s", secret_known[h->known].reason, line);
		else
			reportf(b->report, BUILD_WARNING, "secret: %s", line);
	}
	reportf(b->report, BUILD_PROGRESS, "secrets: %.1f MB scanned in %.3f s, %zu hit%s",
		(double)b->secrets.bytes / 1e6, b->secrets.seconds, b->secrets.nhits,
		b->secrets.nhits == 1 ? "" : "s");
	for (size_t i = 0; i < b->secrets.nallow; i++)
		if (!b->secrets.allow_hits[i])
			reportf(b->report, BUILD_WARNING,
				"%s: secrets.allow[%zu] (" MSG_NAME_FMT ", %s) matched nothing",
				b->p->file, i, MSG_NAME(b->secrets.allow[i].path),
				secret_rule_name(b->secrets.allow[i].rule));
	return secret_scan_verdict(&b->secrets, e);
}

static int slot_stage(struct build_ctx *b, struct err *e)
{
	int r = output_stage_file(b, CONTRACT_OUT_VERITY, &b->files.verity, e);

	if (r == 0)
		r = output_stage_file(b, CONTRACT_OUT_MANIFEST, &b->files.manifest, e);
	if (r == 0)
		r = output_stage_file(b, CONTRACT_OUT_SIGNATURE, &b->files.signature, e);
	return r;
}

/* What the slot's verity image is made from; the sinks are the copies of the rootfs the
 * handlers opened (slot A of the disk image, the bundle's rootfs). */
static void slot_in(const struct build_ctx *b, struct slotimg_in *si)
{
	*si = (struct slotimg_in){.p = b->p, .inputs = &b->art->inputs, .epoch = b->o->epoch,
				  .rootfs = b->files.rootfs, .verity = b->files.verity,
				  .manifest = b->files.manifest, .signature = b->files.signature,
				  .key = b->key, .trust = b->trust, .secrets = &b->secrets,
				  .nsinks = b->nsinks};
	memcpy(si->seed, b->ext4.seed, SHA256_LEN);
	memcpy(si->sinks, b->sinks, sizeof(si->sinks));
}

static int add_sink(struct build_ctx *b, int fd, uint64_t offset, struct err *e)
{
	if (b->nsinks == PASS_MAX_SINKS)
		return err_set(e, E2BIG, "more than %d copies of the rootfs", PASS_MAX_SINKS);
	b->sinks[b->nsinks++] = (struct pass_sink){fd, offset};
	return 0;
}

static int slot_boot(void *userdata, const char *root_hash, struct manifest_uki *ret,
		     struct err *e)
{
	return uki_slot(userdata, root_hash, ret, e);
}

/* The one read of the rootfs: verity tree, sha256, and every copy the handlers opened. */
static int slot_write(struct build_ctx *b, struct err *e)
{
	struct slotimg_in si;

	reportf(b->report, BUILD_PROGRESS, "hashing the rootfs (dm-verity) and signing the "
		"manifest");
	slot_in(b, &si);
	if (b->files.sb.uki) {
		si.boot = slot_boot;
		si.boot_userdata = b;
	}
	return slotimg_write(&si, &b->art->slot, e);
}

static int raw_stage(struct build_ctx *b, struct err *e)
{
	return output_stage_file(b, "img", &b->files.img, e);
}

static void image_input(const struct build_ctx *b, struct image_in *in)
{
	*in = (struct image_in){.p = b->p, .rootfs = b->files.rootfs, .verity = b->files.verity,
				.img = b->files.img, .epoch = b->o->epoch};
	memcpy(in->seed, b->ext4.seed, SHA256_LEN);
}

/* The disk is created with its GPT before the slot pass, which copies the rootfs into A. */
static int raw_begin(struct build_ctx *b, struct err *e)
{
	struct image_in in;
	int r;

	image_input(b, &in);
	r = image_create(&in, &b->disk, e);
	if (r == 0)
		r = add_sink(b, b->disk.fd, image_slot_offset(&b->disk), e);
	return r < 0 ? err_prefix(e, r, "disk image") : 0;
}

static int raw_write(struct build_ctx *b, struct err *e)
{
	struct image_in in;
	char bootx64[4096];
	int r = b->p->secure_boot ? 0 : build_libexec("BOOTX64.EFI", bootx64, sizeof(bootx64), e);

	if (r < 0)
		return r;
	image_input(b, &in);
	in.esp.bootx64 = bootx64;
	if (b->p->secure_boot) {
		in.esp.bootx64 = b->sb_grub;
		in.esp.uki = b->files.sb.uki;
		in.esp.uki_sig = b->files.sb.uki_sig;
	}
	reportf(b->report, BUILD_PROGRESS, "writing the disk image %s-%s.img", b->p->product,
		b->p->version);
	r = image_finish(&in, &b->disk, e);
	return r < 0 ? err_prefix(e, r, "disk image") : 0;
}

/* qcow2, vmdk, vhdx: the raw image converted by qemu-img (vdisk.h). */
static int vdisk_write(struct build_ctx *b, const char *format, const char *out,
		       struct err *e)
{
	char name[256];
	int r;

	snprintf(name, sizeof(name), "%s-%s.%s", b->p->product, b->p->version, format);
	reportf(b->report, BUILD_PROGRESS, "converting the disk image to %s", name);
	r = vdisk_convert(b->files.img, format, out, name, b->ext4.seed, e);
	return r < 0 ? err_prefix(e, err_prefix(e, r, "%s", format), "disk image") : 0;
}

static int qcow2_stage(struct build_ctx *b, struct err *e)
{
	return output_stage_file(b, "qcow2", &b->files.qcow2, e);
}

static int qcow2_write(struct build_ctx *b, struct err *e)
{
	return vdisk_write(b, "qcow2", b->files.qcow2, e);
}

static int vmdk_stage(struct build_ctx *b, struct err *e)
{
	return output_stage_file(b, "vmdk", &b->files.vmdk, e);
}

static int vmdk_write(struct build_ctx *b, struct err *e)
{
	return vdisk_write(b, "vmdk", b->files.vmdk, e);
}

static int vhdx_stage(struct build_ctx *b, struct err *e)
{
	return output_stage_file(b, "vhdx", &b->files.vhdx, e);
}

static int vhdx_write(struct build_ctx *b, struct err *e)
{
	return vdisk_write(b, "vhdx", b->files.vhdx, e);
}

static int bundle_stage(struct build_ctx *b, struct err *e)
{
	return output_stage_file(b, "bundle", &b->files.bundle, e);
}

/* Created before the slot pass, with room for the rootfs where one-page manifest and
 * signature leave it, so that the pass copies the rootfs in. */
static int bundle_begin(struct build_ctx *b, struct err *e)
{
	struct slotimg_in si;
	uint64_t size = b->art->ext4.size;
	int r;

	slot_in(b, &si);
	r = bundle_create(b->files.bundle,
			  &(struct bundle_guess){.rootfs = size,
						 .verity = slotimg_verity_guess(&si, size),
						 .uki = b->uki_guess, .uki_sig = b->uki_sig_guess},
			  &b->bundle, e);
	if (r == 0)
		r = add_sink(b, b->bundle.fd, b->bundle.rootfs_offset, e);
	return r < 0 ? err_prefix(e, r, "bundle") : 0;
}

static int bundle_out(struct build_ctx *b, struct err *e)
{
	const struct slotimg_out *so = &b->art->slot;
	struct bundle_in in = {.manifest = so->manifest, .manifest_len = so->manifest_len,
			       .signature = so->signature, .signature_len = so->signature_len,
			       .verity = b->files.verity, .rootfs = b->files.rootfs,
			       .uki = b->files.sb.uki, .uki_sig = b->files.sb.uki_sig};
	int r;

	reportf(b->report, BUILD_PROGRESS, "writing the update bundle %s-%s.bundle",
		b->p->product, b->p->version);
	r = bundle_finish(&b->bundle, &in, e);
	return r < 0 ? err_prefix(e, r, "bundle") : 0;
}

const struct output_handler output_handlers[OUTPUT_COUNT] = {
	[OUTPUT_ROOTFS] = {.name = NULL, .stage = rootfs_stage, .begin = rootfs_begin},
	[OUTPUT_SLOT] = {.name = NULL, .needs = OUTPUT_BIT(OUTPUT_ROOTFS), .stage = slot_stage,
			 .write = slot_write},
	[OUTPUT_UKI] = {.name = NULL, .needs = OUTPUT_BIT(OUTPUT_SLOT), .bootable = true,
			.secure_boot = true, .stage = uki_stage, .begin = uki_begin,
			.write = uki_write},
	[OUTPUT_RAW] = {.name = "raw",
			.needs = OUTPUT_BIT(OUTPUT_ROOTFS) | OUTPUT_BIT(OUTPUT_SLOT) |
				 OUTPUT_BIT(OUTPUT_UKI),
			.bootable = true, .stage = raw_stage, .begin = raw_begin,
			.write = raw_write},
	[OUTPUT_QCOW2] = {.name = "qcow2", .needs = OUTPUT_BIT(OUTPUT_RAW), .bootable = true,
			  .stage = qcow2_stage, .write = qcow2_write},
	[OUTPUT_VMDK] = {.name = "vmdk", .needs = OUTPUT_BIT(OUTPUT_RAW), .bootable = true,
			 .stage = vmdk_stage, .write = vmdk_write},
	[OUTPUT_VHDX] = {.name = "vhdx", .needs = OUTPUT_BIT(OUTPUT_RAW), .bootable = true,
			 .stage = vhdx_stage, .write = vhdx_write},
	[OUTPUT_BUNDLE] = {.name = "bundle",
			   .needs = OUTPUT_BIT(OUTPUT_ROOTFS) | OUTPUT_BIT(OUTPUT_SLOT),
			   .bootable = true, .stage = bundle_stage, .begin = bundle_begin,
			   .write = bundle_out},
};

unsigned output_select(const struct profile *p, bool rootfs_only, bool bootable)
{
	unsigned want = 0;

	if (rootfs_only)
		return OUTPUT_BIT(OUTPUT_ROOTFS);
	for (int i = 0; i < OUTPUT_COUNT; i++) {
		const struct output_handler *h = &output_handlers[i];

		if ((!h->bootable || bootable) && (!h->secure_boot || p->secure_boot) &&
		    (!h->name || profile_wants(p, h->name)))
			want |= OUTPUT_BIT(i);
	}
	/* a handler needs only earlier ones: one pass from the last closes the set */
	for (int i = OUTPUT_COUNT - 1; i >= 0; i--)
		if (want & OUTPUT_BIT(i))
			want |= output_handlers[i].needs;
	/* the disk image needs the signed kernel image only when there is one */
	if (!p->secure_boot)
		want &= ~OUTPUT_BIT(OUTPUT_UKI);
	return want;
}

int output_run(struct build_ctx *b, unsigned want, struct err *e)
{
	int r = 0;

	b->disk.fd = -1;
	b->bundle.fd = -1;
	b->nsinks = 0;
	for (int i = 0; r == 0 && i < OUTPUT_COUNT; i++)
		if (want & OUTPUT_BIT(i))
			r = output_handlers[i].stage(b, e);
	for (int i = 0; r == 0 && i < OUTPUT_COUNT; i++)
		if ((want & OUTPUT_BIT(i)) && output_handlers[i].begin)
			r = output_handlers[i].begin(b, e);
	for (int i = 0; r == 0 && i < OUTPUT_COUNT; i++)
		if ((want & OUTPUT_BIT(i)) && output_handlers[i].write)
			r = output_handlers[i].write(b, e);
	image_disk_close(&b->disk); /* both closed already on success */
	bundle_file_close(&b->bundle);
	return r;
}
