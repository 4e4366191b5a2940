/* `stele verify FILE... --trust CA.crt`: checks a slot (rootfs + verity partition image) the
 * way a device would, and more: header, signature and certificate chain, manifest fields,
 * superblock against manifest, hash tree against the root hash, every data block against the
 * tree, and the rootfs sha256. One line per check; exit 0 only when all hold. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/hash.h"
#include "../lib/manifest.h"
#include "../lib/sign.h"
#include "../lib/slot.h"
#include "../lib/verity.h"
#include "commands.h"

#define MAX_DATA_REPORTS 20

void cmd_verify_help(FILE *f)
{
	fprintf(f,
		"Usage: stele verify FILE... --trust CA.crt [options]\n"
		"\n"
		"Checks a slot: a <name>.verity partition image and its <name>.rootfs.ext4 (given\n"
		"both, or the .verity alone when the rootfs sits beside it). Checks the header,\n"
		"the manifest's signature and certificate chain, the manifest's fields, the\n"
		"dm-verity superblock, every hash tree block, every data block and the rootfs\n"
		"sha256, and prints one line per check (\"ok\" or \"FAIL\" with what failed).\n"
		"\n"
		"Options:\n"
		"      --trust FILE     CA certificate(s) to trust (PEM; repeatable; required)\n"
		"      --no-time-check  do not check certificate validity dates\n"
		"      --json           print the checks as JSON\n"
		"  -h, --help           this help\n"
		"\n"
		"Exit status: 0 every check held, 1 a check failed, 2 bad usage or unreadable input.\n");
}

struct report {
	int failures;
	bool json;
	cJSON *checks;
};

__attribute__((format(printf, 4, 5))) static void result(struct report *rp, bool ok,
							  const char *check, const char *fmt, ...)
{
	char detail[600] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	rp->failures += !ok;
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

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ENODATA;
		p += n, off += (uint64_t)n, len -= (size_t)n;
	}
	return 0;
}

struct slot_files {
	const char *verity, *rootfs;
	int vfd, rfd;
	uint64_t vsize, rsize;
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

/* Sorts the arguments into the verity image and the rootfs; finds the rootfs beside the
 * image when only the image is given. */
static int classify(int argc, char **argv, struct slot_files *s, char *sibling, size_t n)
{
	for (int i = 0; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			fprintf(stderr, "stele verify: %s: %s\n", argv[i], strerror(errno));
			return -1;
		}
		if (is_slot_image(fd) && !s->verity) {
			s->verity = argv[i], s->vfd = fd;
		} else if (is_ext4(fd) && !s->rootfs) {
			s->rootfs = argv[i], s->rfd = fd;
		} else {
			fprintf(stderr, "stele verify: %s: neither a stele verity image nor an ext4 "
					"rootfs (or given twice)\n", argv[i]);
			close(fd);
			return -1;
		}
	}
	if (!s->verity) {
		fprintf(stderr, "stele verify: no .verity image given\n");
		return -1;
	}
	if (!s->rootfs) {
		size_t l = strlen(s->verity);
		if (l > 7 && strcmp(s->verity + l - 7, ".verity") == 0 &&
		    (size_t)snprintf(sibling, n, "%.*s.rootfs.ext4", (int)(l - 7), s->verity) < n) {
			s->rfd = open(sibling, O_RDONLY | O_CLOEXEC);
			if (s->rfd >= 0)
				s->rootfs = sibling;
		}
	}
	return 0;
}

static uint64_t file_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
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

/* The superblock in the image must say what the signed manifest says. */
static int check_superblock(struct report *rp, int vfd, const struct slot_header *h,
			    const struct manifest *m, struct verity_params *vp)
{
	uint8_t sb[VERITY_SB_SIZE], salt[VERITY_MAX_SALT];
	struct err e = {{0}};
	size_t salt_len = 0;

	if (m->verity.hash_offset != h->verity_offset) {
		result(rp, false, "verity superblock", "manifest hash_offset %llu, header %llu",
		       (unsigned long long)m->verity.hash_offset,
		       (unsigned long long)h->verity_offset);
		return -1;
	}
	if (read_at(vfd, sb, sizeof(sb), h->verity_offset) < 0 ||
	    verity_sb_decode(sb, vp, &e) < 0) {
		result(rp, false, "verity superblock", "%s", e.msg[0] ? e.msg : "unreadable");
		return -1;
	}
	verity_hex_decode(m->verity.salt, salt, sizeof(salt), &salt_len);
	if (strcmp(vp->hash_name, m->verity.algorithm) != 0 ||
	    vp->data_block_size != m->verity.data_block_size ||
	    vp->hash_block_size != m->verity.hash_block_size ||
	    vp->data_blocks != m->verity.data_blocks || vp->salt_size != salt_len ||
	    memcmp(vp->salt, salt, salt_len) != 0) {
		result(rp, false, "verity superblock", "does not match the manifest's verity "
						       "parameters");
		return -1;
	}
	vp->hash_offset = h->verity_offset;
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

static void check_data(struct report *rp, struct slot_files *s, const struct verity_params *vp,
		       const struct manifest *m)
{
	uint8_t root[VERITY_MAX_DIGEST], sha[SHA256_LEN];
	char hex[SHA256_HEX_LEN];
	struct err e = {{0}};
	size_t root_len;
	long bad;

	verity_hex_decode(m->verity.root_hash, root, sizeof(root), &root_len);
	if (s->rsize != m->rootfs_size) {
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
	if (sha256_file(s->rootfs, sha, &e) < 0) {
		result(rp, false, "rootfs sha256", "%s", e.msg);
		return;
	}
	hex_encode(sha, SHA256_LEN, hex);
	result(rp, strcmp(hex, m->rootfs_sha256) == 0, "rootfs sha256",
	       strcmp(hex, m->rootfs_sha256) == 0 ? NULL : "%s, the manifest says %s", hex,
	       m->rootfs_sha256);
}

static void check_manifest_fields(struct report *rp, const struct manifest *m)
{
	if (strcmp(m->arch, "x86_64") != 0)
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

	if (read_at(s->vfd, hdr, sizeof(hdr), 0) < 0 ||
	    slot_header_decode(hdr, sizeof(hdr), s->vsize, &h, &e) < 0) {
		result(rp, false, "header", "%s", e.msg[0] ? e.msg : "truncated");
		return;
	}
	result(rp, true, "header", NULL);
	manifest = read_region(s->vfd, h.manifest_offset, h.manifest_size);
	sig = read_region(s->vfd, h.signature_offset, h.signature_size);
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
	if (check_superblock(rp, s->vfd, &h, &m, &vp) < 0)
		goto out;
	if (!s->rootfs)
		result(rp, false, "rootfs", "not given and not found beside %s", s->verity);
	else
		check_data(rp, s, &vp, &m);
out:
	free(manifest);
	free(sig);
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"trust", required_argument, NULL, 't'},
		{"no-time-check", no_argument, NULL, 'n'},
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
	char sibling[4096];
	int c, rc = EXIT_USAGE;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (ntrust < 16)
				trust_paths[ntrust++] = optarg;
			break;
		case 'n': vo.no_time_check = true; break;
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
	if (classify(argc - optind, argv + optind, &s, sibling, sizeof(sibling)) < 0)
		goto out;
	s.vsize = file_size(s.vfd);
	s.rsize = s.rfd >= 0 ? file_size(s.rfd) : 0;
	rp.checks = cJSON_CreateArray();
	verify_slot(&rp, &s, trust, &vo);
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
	cJSON_Delete(rp.checks);
	rc = rp.failures ? 1 : 0;
out:
	if (s.vfd >= 0)
		close(s.vfd);
	if (s.rfd >= 0)
		close(s.rfd);
	sign_trust_free(trust);
	return rc;
}
