/* `stele verify FILE... --trust CA.crt`: checks a slot (rootfs + verity partition image) the
 * way a device would, and more: header, signature and certificate chain, manifest fields,
 * superblock against manifest, hash tree against the root hash, every data block against the
 * tree, and the rootfs sha256. One line per check; exit 0 only when all hold. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/authenticode.h"
#include "lib/bundle.h"
#include "lib/contract.h"
#include "lib/hash.h"
#include "lib/input.h"
#include "lib/io.h"
#include "lib/manifest.h"
#include "lib/sign.h"
#include "lib/slot.h"
#include "lib/verity.h"
#include "bootloader/bootstate.h"
#include "commands.h"
#include "builder/outputs/esp.h"
#include "builder/outputs/ext4.h"
#include "builder/outputs/gptread.h"

#define MAX_DATA_REPORTS 20

void cmd_verify_help(FILE *f)
{
	fprintf(f,
		"Usage: stele verify FILE... --trust CA.crt [options]\n"
		"\n"
		"Checks a slot: a <name>.verity partition image and its <name>.rootfs.ext4 (given\n"
		"both, or the .verity alone when the rootfs sits beside it), or a whole disk image\n"
		"(<name>.img: the GPT - every label once, every partition inside the disk, none\n"
		"overlapping another -, both slots - an empty one is reported as such - and the\n"
		"boot state), or an update bundle (<name>.bundle). For a slot it checks the header,\n"
		"the manifest's signature and certificate chain, the manifest's fields, the\n"
		"dm-verity superblock, every hash tree block, every data block and the rootfs\n"
		"sha256, and prints one line per check (\"ok\" or \"FAIL\" with what failed).\n"
		"A bundle must be exactly what its header describes (no byte after the rootfs,\n"
		"zero padding) and the kernel image it carries (Secure Boot) the one its\n"
		"manifest names. Each FILE must be a regular file or a block device: a FIFO, a\n"
		"directory or a character device is refused before it is read.\n"
		"\n"
		"Options:\n"
		"      --trust FILE     CA certificate(s) to trust (PEM; repeatable; required)\n"
		"      --no-time-check  do not check certificate validity dates\n"
		"      --secure-boot-db CERT  a bundle's kernel image must be Authenticode-signed\n"
		"                       by CERT (PEM; the product's sb-db.crt), as the firmware\n"
		"                       checks it\n"
		"      --json           print the checks as JSON\n"
		"  -h, --help           this help\n"
		"\n"
		"Exit status: 0 every check held, 1 a check failed, 2 bad usage or unreadable input.\n");
}

struct report {
	int failures;
	bool json;
	cJSON *checks;
	const char *prefix; /* "slot a " when checking a disk image */
};

__attribute__((format(printf, 4, 5))) static void result(struct report *rp, bool ok,
							  const char *check, const char *fmt, ...)
{
	char detail[600] = "", name[128];
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	rp->failures += !ok;
	snprintf(name, sizeof(name), "%s%s", rp->prefix ? rp->prefix : "", check);
	check = name;
	if (rp->json) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "check", check);
		cJSON_AddBoolToObject(c, "ok", ok);
		if (*detail)
			cJSON_AddStringToObject(c, "detail", detail);
		cJSON_AddItemToArray(rp->checks, c);
		return;
	}
	printf("%s %s%s%s\n", ok ? "ok  " : "FAIL", check, *detail ? ": " : "", detail);
}

/* Each check names what failed itself: the reader's message is not shown. */
static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	struct err ignore;

	return io_pread_full(fd, buf, len, off, "", &ignore);
}

/* A slot's two parts: whole files, or partitions (offset and size) of a disk image. */
struct slot_files {
	const char *verity, *rootfs;
	int vfd, rfd;
	uint64_t voff, vsize, roff, rsize;
	bool in_disk; /* the rootfs may be smaller than its partition */
	bool in_bundle; /* with the kernel image and its signature at these (size 0: none) */
	uint64_t uki_off, uki_size, uki_sig_off, uki_sig_size;
	X509 *sb_db; /* --secure-boot-db: the kernel image must be signed by it */
};

static bool is_slot_image(int fd)
{
	char magic[8];

	return read_at(fd, magic, 8, 0) == 0 && memcmp(magic, SLOT_MAGIC, 8) == 0;
}

static bool is_ext4(int fd)
{
	uint8_t m[2];

	return read_at(fd, m, 2, 1024 + 56) == 0 && m[0] == 0x53 && m[1] == 0xef;
}

#define VERIFY_ACCEPTS "a disk image, bundle, verity image or ext4 rootfs"

/* A FIFO, a directory or /dev/zero is refused before a byte is read (it would block or never
 * end); the message names the file and what it is. -1 after printing why. */
static int open_input(const char *path)
{
	struct err e = {{0}};
	int fd;

	if (input_open(path, O_RDONLY, INPUT_REG | INPUT_BLK, VERIFY_ACCEPTS, &fd, NULL, &e) < 0) {
		fprintf(stderr, "stele verify: %s\n", e.msg);
		return -1;
	}
	return fd;
}

/* Sorts the arguments into the verity image and the rootfs; finds the rootfs beside the
 * image when only the image is given. */
static int classify(int argc, char **argv, struct slot_files *s, char *sibling, size_t n)
{
	for (int i = 0; i < argc; i++) {
		int fd = open_input(argv[i]);

		if (fd < 0)
			return -1;
		if (is_slot_image(fd) && !s->verity) {
			s->verity = argv[i], s->vfd = fd;
		} else if (is_ext4(fd) && !s->rootfs) {
			s->rootfs = argv[i], s->rfd = fd;
		} else {
			fprintf(stderr,
				"stele verify: %s: not %s (no GPT, no bundle, verity image or ext4 "
				"magic), or given twice\n",
				argv[i], VERIFY_ACCEPTS);
			close(fd);
			return -1;
		}
	}
	if (!s->verity) {
		fprintf(stderr, "stele verify: no .verity image given\n");
		return -1;
	}
	if (!s->rootfs) {
		static const char ext[] = "." CONTRACT_OUT_VERITY;
		size_t l = strlen(s->verity), x = sizeof(ext) - 1;
		if (l > x && strcmp(s->verity + l - x, ext) == 0 &&
		    (size_t)snprintf(sibling, n, "%.*s." CONTRACT_OUT_ROOTFS, (int)(l - x),
				     s->verity) < n) {
			struct err e = {{0}};

			if (input_open(sibling, O_RDONLY, INPUT_REG | INPUT_BLK, VERIFY_ACCEPTS,
				       &s->rfd, NULL, &e) < 0)
				s->rfd = -1;
			if (s->rfd >= 0)
				s->rootfs = sibling;
		}
	}
	return 0;
}

/* The size of a regular file or a block device (fstat gives 0 for a device). */
static uint64_t file_size(int fd)
{
	off_t end = lseek(fd, 0, SEEK_END);

	return end > 0 ? (uint64_t)end : 0;
}

/* A bundle file must end with its rootfs; on a block device it is the device's first bytes. */
static enum bundle_input input_kind(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISBLK(st.st_mode) ? BUNDLE_INPUT_DEVICE
							   : BUNDLE_INPUT_FILE;
}

static char *read_region(int fd, uint64_t off, uint64_t size)
{
	char *buf = malloc(size + 1);

	if (buf && read_at(fd, buf, size, off) < 0) {
		free(buf);
		return NULL;
	}
	if (buf)
		buf[size] = '\0';
	return buf;
}

/* The tree must lie in the verity area and the superblock there say what the signed manifest
 * says: the device's checks (lib/slot.h). */
static int check_superblock(struct report *rp, const struct slot_files *s,
			    const struct slot_header *h, const struct manifest *m,
			    struct verity_params *vp)
{
	uint8_t sb[VERITY_SB_SIZE];
	struct verity_params mp;
	struct verity_layout l;
	struct err e = {{0}};

	if (manifest_verity_params(m, &mp, &e) < 0 || verity_layout(&mp, &l, &e) < 0 ||
	    slot_check_geometry(h, &mp, &l, m->rootfs_size, UINT64_MAX, &e) < 0) {
		result(rp, false, "verity superblock", "%s", e.msg);
		return -1;
	}
	if (read_at(s->vfd, sb, sizeof(sb), s->voff + h->verity_offset) < 0 ||
	    slot_check_superblock(sb, &mp, vp, &e) < 0) {
		result(rp, false, "verity superblock", "%s", e.msg[0] ? e.msg : "unreadable");
		return -1;
	}
	vp->hash_offset = s->voff + h->verity_offset;
	vp->data_offset = s->roff;
	result(rp, true, "verity superblock", NULL);
	return 0;
}

static void report_block(const char *what, uint64_t block, const char *detail, void *userdata)
{
	struct report *rp = userdata;
	char check[64];

	if (strcmp(what, "root hash") == 0) {
		result(rp, false, "root hash", "%s", detail);
		rp->failures--; /* counted by the caller from verity_check's return */
		return;
	}
	snprintf(check, sizeof(check), "%s block %llu", strcmp(what, "tree") == 0 ? "hash tree" :
			"data", (unsigned long long)block);
	result(rp, false, check, "%s", detail);
	rp->failures--;
}

static int sha256_region(int fd, uint64_t off, uint64_t len, uint8_t out[SHA256_LEN])
{
	struct sha256_ctx *c = sha256_new();
	char *buf = malloc(1 << 20);
	int r = c && buf ? 0 : -ENOMEM;

	while (r == 0 && len) {
		size_t n = len < (1 << 20) ? (size_t)len : (1 << 20);
		r = read_at(fd, buf, n, off);
		if (r == 0)
			sha256_update(c, buf, n);
		off += n, len -= n;
	}
	free(buf);
	if (r == 0) {
		sha256_final(c, out);
		return 0;
	}
	sha256_free(c);
	return r;
}

static void check_data(struct report *rp, struct slot_files *s, const struct verity_params *vp,
		       const struct manifest *m)
{
	uint8_t root[VERITY_MAX_DIGEST], sha[SHA256_LEN];
	char hex[SHA256_HEX_LEN];
	struct err e = {{0}};
	size_t root_len;
	long bad;

	verity_hex_decode(m->verity.root_hash, root, sizeof(root), &root_len);
	if (s->in_disk ? s->rsize < m->rootfs_size : s->rsize != m->rootfs_size) {
		result(rp, false, "rootfs size", "%llu bytes, the manifest says %llu",
		       (unsigned long long)s->rsize, (unsigned long long)m->rootfs_size);
		return;
	}
	result(rp, true, "rootfs size", NULL);
	bad = verity_check(s->rfd, s->vfd, vp, root, 0, MAX_DATA_REPORTS, report_block, rp, &e);
	if (bad < 0)
		result(rp, false, "hash tree and data", "%s", e.msg);
	else if (bad > 0)
		result(rp, false, "hash tree and data", "%ld blocks do not match", bad);
	else
		result(rp, true, "hash tree and data", "%llu blocks",
		       (unsigned long long)vp->data_blocks);
	if (sha256_region(s->rfd, s->roff, m->rootfs_size, sha) < 0) {
		result(rp, false, "rootfs sha256", "cannot read the rootfs");
		return;
	}
	hex_encode(sha, SHA256_LEN, hex);
	result(rp, strcmp(hex, m->rootfs_sha256) == 0, "rootfs sha256",
	       strcmp(hex, m->rootfs_sha256) == 0 ? NULL : "%s, the manifest says %s", hex,
	       m->rootfs_sha256);
	/* a signed image can still be one its builder wrote badly */
	if (ext4_check(s->rootfs, s->roff, &e) < 0)
		result(rp, false, "ext4 structure", "%s", e.msg);
	else
		result(rp, true, "ext4 structure", NULL);
}

static X509 *load_cert(const char *path)
{
	FILE *f = fopen(path, "re");
	X509 *c = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	ERR_clear_error();
	return c;
}

static bool region_is(int fd, uint64_t off, uint64_t len, const char *want_hex)
{
	uint8_t sha[SHA256_LEN];
	char hex[SHA256_HEX_LEN];

	if (sha256_region(fd, off, len, sha) < 0)
		return false;
	hex_encode(sha, SHA256_LEN, hex);
	return strcmp(hex, want_hex) == 0;
}

/* A bundle's kernel image: the one its signed manifest names, and (--secure-boot-db) signed
 * by that db, as the firmware and stele-update check it. */
static void check_uki(struct report *rp, const struct slot_files *s, const struct manifest *m)
{
	const struct manifest_uki *u = &m->uki;
	struct err e = {{0}};
	char signer[256] = "", *img;

	if (!m->has_uki || !s->uki_size) {
		if (m->has_uki || s->uki_size)
			result(rp, false, "kernel image", "the manifest %s one, the bundle %s",
			       m->has_uki ? "names" : "names none", s->uki_size ? "has one" : "none");
		return;
	}
	if (u->size != s->uki_size || u->sig_size != s->uki_sig_size ||
	    !region_is(s->vfd, s->uki_off, u->size, u->sha256) ||
	    !region_is(s->vfd, s->uki_sig_off, u->sig_size, u->sig_sha256)) {
		result(rp, false, "kernel image", "differs from the one the manifest names (sha256 "
		       "%s, %llu bytes)", u->sha256, (unsigned long long)u->size);
		return;
	}
	if (!s->sb_db) {
		result(rp, true, "kernel image", "%llu bytes, sha256 as signed",
		       (unsigned long long)u->size);
		return;
	}
	img = read_region(s->vfd, s->uki_off, u->size);
	if (!img || authenticode_verify((uint8_t *)img, u->size, &s->sb_db, 1, signer,
					sizeof(signer), &e) < 0)
		result(rp, false, "kernel image", "Authenticode: %s", img ? e.msg : "unreadable");
	else
		result(rp, true, "kernel image", "sha256 as signed, Authenticode signed by %s",
		       signer);
	free(img);
}

static void check_manifest_fields(struct report *rp, const struct manifest *m)
{
	if (!contract_arch_find(m->arch))
		result(rp, false, "manifest", "unknown arch \"%s\"", m->arch);
	else
		result(rp, true, "manifest", "%s %s, rollback index %llu", m->product, m->version,
		       (unsigned long long)m->rollback_index);
}

static void verify_slot(struct report *rp, struct slot_files *s, const struct sign_trust *trust,
			const struct sign_verify_opts *vo)
{
	uint8_t hdr[SLOT_HEADER_SIZE];
	struct slot_header h;
	struct manifest m;
	struct verity_params vp;
	struct err e = {{0}};
	char *manifest = NULL, *sig = NULL, signer[256] = "";

	if (read_at(s->vfd, hdr, sizeof(hdr), s->voff) < 0 ||
	    slot_header_decode(hdr, sizeof(hdr), s->vsize, &h, &e) < 0) {
		result(rp, false, "header", "%s", e.msg[0] ? e.msg : "truncated");
		return;
	}
	result(rp, true, "header", NULL);
	manifest = read_region(s->vfd, s->voff + h.manifest_offset, h.manifest_size);
	sig = read_region(s->vfd, s->voff + h.signature_offset, h.signature_size);
	if (!manifest || !sig) {
		result(rp, false, "header", "cannot read the manifest or signature");
		goto out;
	}
	if (sign_verify(trust, manifest, h.manifest_size, (uint8_t *)sig, h.signature_size, vo,
			signer, sizeof(signer), &e) < 0) {
		result(rp, false, "signature", "%s", e.msg);
		goto out; /* nothing signed can be trusted from here on */
	}
	result(rp, true, "signature", "signed by %s", signer);
	if (manifest_parse(manifest, h.manifest_size, &m, &e) < 0) {
		result(rp, false, "manifest", "%s", e.msg);
		goto out;
	}
	check_manifest_fields(rp, &m);
	if (check_superblock(rp, s, &h, &m, &vp) < 0)
		goto out;
	if (!s->rootfs)
		result(rp, false, "rootfs", "not given and not found beside %s", s->verity);
	else
		check_data(rp, s, &vp, &m);
	if (s->in_bundle)
		check_uki(rp, s, &m);
out:
	free(manifest);
	free(sig);
}

static bool is_bundle(int fd)
{
	char m[8];

	return read_at(fd, m, 8, 0) == 0 && memcmp(m, BUNDLE_MAGIC, 8) == 0;
}

/* The bundle's own manifest and signature must be the bytes inside its verity image. */
static bool same_region(int fd, uint64_t a, uint64_t b, uint64_t len)
{
	char *x = read_region(fd, a, len), *y = read_region(fd, b, len);
	bool same = x && y && memcmp(x, y, len) == 0;

	free(x);
	free(y);
	return same;
}

/* The padding after the manifest, the signature and the verity image: zero, as the device
 * checks it while it reads (rootfs/update-bundle.c). */
static bool padding_zero(int fd, const struct bundle_header *b, struct err *e)
{
	const struct {
		uint64_t end, next;
		const char *what;
	} pads[] = {
		{b->manifest_offset + b->manifest_size, b->signature_offset, "manifest padding"},
		{b->signature_offset + b->signature_size, b->verity_offset, "signature padding"},
		{b->verity_offset + b->verity_size, b->uki_offset, "verity image padding"},
		{b->uki_offset + b->uki_size, b->uki_sig_offset, "kernel image padding"},
		{b->uki_sig_offset + b->uki_sig_size, b->rootfs_offset,
		 "kernel image signature padding"},
	};

	for (size_t i = 0; i < sizeof(pads) / sizeof(pads[0]); i++) {
		uint64_t len = pads[i].next - pads[i].end; /* < 4096 by bundle_layout */
		char *buf = read_region(fd, pads[i].end, len);
		int r = buf ? bundle_check_padding((const uint8_t *)buf, len, pads[i].end,
						   pads[i].what, e)
			    : err_set(e, EIO, "bundle: reading the %s", pads[i].what);

		free(buf);
		if (r < 0)
			return false;
	}
	return true;
}

static void verify_bundle(struct report *rp, const char *path, int fd, X509 *sb_db,
			  const struct sign_trust *trust, const struct sign_verify_opts *vo)
{
	uint8_t hdr[BUNDLE_HEADER_SIZE], shdr[SLOT_HEADER_SIZE];
	struct bundle_header b;
	struct slot_header h;
	struct slot_files s;
	struct err e = {{0}};

	if (read_at(fd, hdr, sizeof(hdr), 0) < 0 ||
	    bundle_header_decode(hdr, sizeof(hdr), input_kind(fd), file_size(fd), &b, &e) < 0) {
		result(rp, false, "bundle header", "%s", e.msg[0] ? e.msg : "truncated");
		return;
	}
	if (!padding_zero(fd, &b, &e)) {
		result(rp, false, "bundle header", "%s", e.msg);
		return;
	}
	result(rp, true, "bundle header", NULL);
	if (read_at(fd, shdr, sizeof(shdr), b.verity_offset) < 0 ||
	    slot_header_decode(shdr, sizeof(shdr), b.verity_size, &h, &e) < 0) {
		result(rp, false, "bundle slot image", "%s", e.msg[0] ? e.msg : "truncated");
		return;
	}
	if (h.manifest_size != b.manifest_size || h.signature_size != b.signature_size ||
	    !same_region(fd, b.manifest_offset, b.verity_offset + h.manifest_offset,
			 b.manifest_size) ||
	    !same_region(fd, b.signature_offset, b.verity_offset + h.signature_offset,
			 b.signature_size)) {
		result(rp, false, "bundle manifest", "differs from the one in the slot image");
		return;
	}
	result(rp, true, "bundle manifest", "the same as in the slot image");
	s = (struct slot_files){.verity = path, .rootfs = path, .vfd = fd, .rfd = fd,
				.voff = b.verity_offset, .vsize = b.verity_size,
				.roff = b.rootfs_offset, .rsize = b.rootfs_size, .in_bundle = true,
				.uki_off = b.uki_offset, .uki_size = b.uki_size,
				.uki_sig_off = b.uki_sig_offset, .uki_sig_size = b.uki_sig_size,
				.sb_db = sb_db};
	verify_slot(rp, &s, trust, vo);
}

static bool is_gpt_disk(int fd)
{
	char m[8];

	return read_at(fd, m, 8, 512) == 0 && memcmp(m, "EFI PART", 8) == 0;
}

static bool check_gpt(struct report *rp, const char *img, struct gpt_disk *d)
{
	struct err e = {{0}};

	if (gpt_read(img, d, &e) < 0) {
		result(rp, false, "gpt", "%s", e.msg);
		return false;
	}
	for (size_t i = 0; i < GPT_PART_COUNT; i++) {
		if (d->part[i].offset % (1 << 20) || d->part[i].size % (1 << 20)) {
			result(rp, false, "gpt", "%s is not 1 MiB aligned", gpt_part_labels[i]);
			return false;
		}
	}
	result(rp, true, "gpt", "%zu partitions", d->table.n);
	return true;
}

/* Whether each slot holds a slot header; an empty slot is reported as such. */
static void verify_disk_slot(struct report *rp, const char *img, int fd, char slot,
			     const struct gpt_disk *d, const struct sign_trust *trust,
			     const struct sign_verify_opts *vo, bool *present)
{
	char prefix[16], magic[8];
	const struct gpt_region *r, *v;
	struct slot_files s;

	snprintf(prefix, sizeof(prefix), "slot %c: ", slot);
	r = &d->part[slot == 'a' ? GPT_PART_ROOT_A : GPT_PART_ROOT_B];
	v = &d->part[slot == 'a' ? GPT_PART_VERITY_A : GPT_PART_VERITY_B];
	rp->prefix = prefix;
	*present = read_at(fd, magic, 8, v->offset) == 0 && memcmp(magic, SLOT_MAGIC, 8) == 0;
	if (!*present) {
		result(rp, true, "contents", "empty (no slot header)");
	} else {
		s = (struct slot_files){.verity = img, .rootfs = img, .vfd = fd, .rfd = fd,
					.voff = v->offset, .vsize = v->size, .roff = r->offset,
					.rsize = r->size, .in_disk = true};
		verify_slot(rp, &s, trust, vo);
	}
	rp->prefix = NULL;
}

static void check_boot_state(struct report *rp, const char *img, const bool present[2])
{
	char spec[4200], env[BOOTSTATE_SIZE];
	struct bootstate bs;
	struct err e = {{0}};

	if (esp_image_spec(img, spec, sizeof(spec), &e) < 0 || esp_read_env(spec, env, &e) < 0 ||
	    bootstate_parse(env, sizeof(env), &bs, &e) < 0) {
		result(rp, false, "boot state", "%s", e.msg);
		return;
	}
	for (size_t i = 0; i < 2; i++) {
		if (!present[i] && bs.slots[i].state != BOOTSTATE_BAD) {
			result(rp, false, "boot state", "slot %c is empty but marked %s",
			       bootstate_slot_name(i), bootstate_state_name(bs.slots[i].state));
			return;
		}
	}
	result(rp, true, "boot state", "order %c%s%c; a %s, %u tries; b %s, %u tries", bs.order[0],
	       bs.n_order > 1 ? " " : "", bs.n_order > 1 ? bs.order[1] : ' ',
	       bootstate_state_name(bs.slots[0].state), bs.slots[0].tries,
	       bootstate_state_name(bs.slots[1].state), bs.slots[1].tries);
}

static void verify_disk(struct report *rp, const char *img, int fd,
			const struct sign_trust *trust, const struct sign_verify_opts *vo)
{
	struct gpt_disk *d = malloc(sizeof(*d));
	bool present[2];

	if (!d) {
		result(rp, false, "gpt", "out of memory");
		return;
	}
	if (!check_gpt(rp, img, d))
		goto out;
	verify_disk_slot(rp, img, fd, 'a', d, trust, vo, &present[0]);
	verify_disk_slot(rp, img, fd, 'b', d, trust, vo, &present[1]);
	if (!present[0] && !present[1])
		result(rp, false, "slots", "both slots are empty");
	check_boot_state(rp, img, present);
out:
	free(d);
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"trust", required_argument, NULL, 't'},
		{"no-time-check", no_argument, NULL, 'n'},
		{"secure-boot-db", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *trust_paths[16];
	size_t ntrust = 0;
	struct sign_verify_opts vo = {0};
	struct report rp = {0};
	struct slot_files s = {.vfd = -1, .rfd = -1};
	struct sign_trust *trust = NULL;
	struct err e = {{0}};
	const char *db_path = NULL;
	X509 *sb_db = NULL;
	char sibling[4096];
	int c, rc = EXIT_USAGE;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (ntrust < 16)
				trust_paths[ntrust++] = optarg;
			break;
		case 'n': vo.no_time_check = true; break;
		case 'd': db_path = optarg; break;
		case 'j': rp.json = true; break;
		case 'h': cmd_verify_help(stdout); return 0;
		default: cmd_verify_help(stderr); return EXIT_USAGE;
		}
	}
	if (ntrust == 0 || optind == argc) {
		fprintf(stderr, "stele verify: expected FILE... and --trust CA.crt\n");
		return EXIT_USAGE;
	}
	if (sign_trust_load(trust_paths, ntrust, &trust, &e) < 0) {
		fprintf(stderr, "stele verify: %s\n", e.msg);
		return EXIT_USAGE;
	}
	if (db_path && !(sb_db = load_cert(db_path))) {
		fprintf(stderr, "stele verify: --secure-boot-db %s: not a PEM certificate\n",
			db_path);
		sign_trust_free(trust);
		return EXIT_USAGE;
	}
	rp.checks = cJSON_CreateArray();
	if (argc - optind == 1 && (s.vfd = open_input(argv[optind])) < 0)
		goto out;
	if (argc - optind == 1 && (is_gpt_disk(s.vfd) || is_bundle(s.vfd))) {
		s.verity = argv[optind];
		if (is_bundle(s.vfd))
			verify_bundle(&rp, argv[optind], s.vfd, sb_db, trust, &vo);
		else
			verify_disk(&rp, argv[optind], s.vfd, trust, &vo);
	} else {
		if (s.vfd >= 0)
			close(s.vfd);
		s.vfd = -1;
		if (classify(argc - optind, argv + optind, &s, sibling, sizeof(sibling)) < 0)
			goto out;
		s.vsize = file_size(s.vfd);
		s.rsize = s.rfd >= 0 ? file_size(s.rfd) : 0;
		verify_slot(&rp, &s, trust, &vo);
	}
	if (rp.json) {
		cJSON *j = cJSON_CreateObject();
		char *text;
		cJSON_AddStringToObject(j, "verity", s.verity);
		cJSON_AddStringToObject(j, "rootfs", s.rootfs ? s.rootfs : "");
		cJSON_AddBoolToObject(j, "ok", rp.failures == 0);
		cJSON_AddItemToObject(j, "checks", rp.checks);
		rp.checks = NULL;
		text = cJSON_Print(j);
		printf("%s\n", text);
		free(text);
		cJSON_Delete(j);
	}
	rc = rp.failures ? 1 : 0;
out:
	cJSON_Delete(rp.checks);
	if (s.vfd >= 0)
		close(s.vfd);
	if (s.rfd >= 0)
		close(s.rfd);
	sign_trust_free(trust);
	X509_free(sb_db);
	return rc;
}
