/* Unit tests of builder/outputs/vdisk.c: the CRC-32C, the settling of qemu-img's vmdk and vhdx
 * (two conversions of the same disk under different names become byte-identical; qemu-img
 * still reads them and finds the same disk), and hostile files, by table: each is refused
 * with its cause named and left exactly as it was. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/outputs/vdisk.h"
#include "lib/hash.h"
#include "tap.h"

static char dir[4096];

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static int sh(const char *fmt, const char *a, const char *b)
{
	char cmd[9000];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void spit(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		if (write(fd, buf, len) != (ssize_t)len)
			perror(path);
		close(fd);
	}
}

static int settle(const char *format, const char *path, const char *name, const uint8_t *seed,
		  struct err *e)
{
	int fd = open(path, O_RDWR), r;

	if (fd < 0)
		return -errno;
	r = strcmp(format, "vmdk") == 0 ? vdisk_settle_vmdk(fd, path, name, seed, e)
					: vdisk_settle_vhdx(fd, path, seed, e);
	close(fd);
	if (r < 0)
		printf("# %s\n", e->msg);
	return r;
}

static void fix_crc(uint8_t *p, size_t len)
{
	put_le(p + 4, 0, 4);
	put_le(p + 4, vdisk_crc32c(p, len), 4);
}

/* A hostile file: made from a good one by a mutation. */
struct hostile {
	const char *label;
	const char *format;
	void (*mutate)(uint8_t *buf, size_t *len);
	const char *err;
};

static void vmdk_magic(uint8_t *b, size_t *n) { (void)n; b[0] = 'X'; }
static void vmdk_version(uint8_t *b, size_t *n) { (void)n; put_le(b + 4, 4, 4); }
static void vmdk_desc_far(uint8_t *b, size_t *n) { (void)n; put_le(b + 28, 1ULL << 40, 8); }
static void vmdk_desc_wrap(uint8_t *b, size_t *n)
{
	(void)n;
	put_le(b + 28, UINT64_MAX - 1, 8);
}
static void vmdk_desc_zero(uint8_t *b, size_t *n) { (void)n; put_le(b + 36, 0, 8); }
static void vmdk_desc_huge(uint8_t *b, size_t *n) { (void)n; put_le(b + 36, 4096, 8); }
static void vmdk_short(uint8_t *b, size_t *n) { (void)b; *n = 100; }
static char *desc(uint8_t *b) { return (char *)b + le(b + 28, 8) * 512; }
static void vmdk_no_nul(uint8_t *b, size_t *n)
{
	(void)n;
	memset(desc(b), 'a', le(b + 36, 8) * 512);
}
static void vmdk_two_cids(uint8_t *b, size_t *n)
{
	(void)n;
	strcpy(strstr(desc(b), "parentCID="), "CID=12345678\n");
}
static void vmdk_bad_cid(uint8_t *b, size_t *n)
{
	(void)n;
	memcpy(strstr(desc(b), "CID=") + 4, "zz", 2);
}
static void vmdk_long_cid(uint8_t *b, size_t *n)
{
	char *c = strstr(desc(b), "\nCID=") + 5, rest[4096];

	(void)n;
	snprintf(rest, sizeof(rest), "%s", strchr(c, '\n'));
	sprintf(c, "123456789%s", rest);
}
static void vmdk_no_extent(uint8_t *b, size_t *n)
{
	(void)n;
	memcpy(strstr(desc(b), "RW "), "RO ", 3);
}
static void vmdk_flat_extent(uint8_t *b, size_t *n)
{
	(void)n;
	memcpy(strstr(desc(b), "SPARSE"), "FLAT  ", 6);
}
static void vmdk_unquoted(uint8_t *b, size_t *n)
{
	char *q = strchr(strstr(desc(b), "RW "), '"');

	(void)n;
	*q = ' ';
	*strchr(q, '"') = ' ';
}
static void vmdk_long_line(uint8_t *b, size_t *n)
{
	char *d = desc(b);

	(void)n;
	memset(d, '#', 600);
	d[600] = '\n';
}
static void vmdk_full(uint8_t *b, size_t *n)
{
	char *d = desc(b);
	size_t size = le(b + 36, 8) * 512, len = strlen(d);

	(void)n;
	/* comment lines up to the last byte but one: the longer name no longer fits */
	for (size_t i = len; i + 1 < size; i++)
		d[i] = (i - len) % 64 == 63 ? '\n' : '#';
}

static uint8_t *head(uint8_t *b, int i) { return b + (size_t)(i + 1) * 65536; }
static void vhdx_ident(uint8_t *b, size_t *n) { (void)n; b[0] = 'X'; }
static void vhdx_short(uint8_t *b, size_t *n) { (void)b; *n = 65536; }
static void vhdx_head_crc(uint8_t *b, size_t *n) { (void)n; head(b, 1)[100] ^= 1; }
static void vhdx_head_sig(uint8_t *b, size_t *n)
{
	(void)n;
	head(b, 0)[0] = 'X';
	fix_crc(head(b, 0), 4096);
}
static void vhdx_log_unaligned(uint8_t *b, size_t *n)
{
	(void)n;
	for (int i = 0; i < 2; i++) {
		put_le(head(b, i) + 72, le(head(b, i) + 72, 8) + 4096, 8);
		fix_crc(head(b, i), 4096);
	}
}
static void vhdx_log_outside(uint8_t *b, size_t *n)
{
	(void)n;
	for (int i = 0; i < 2; i++) {
		put_le(head(b, i) + 72, 1ULL << 50, 8);
		fix_crc(head(b, i), 4096);
	}
}
static void vhdx_log_differs(uint8_t *b, size_t *n)
{
	(void)n;
	put_le(head(b, 1) + 68, 2u << 20, 4);
	fix_crc(head(b, 1), 4096);
}
static uint8_t *log0(uint8_t *b) { return b + le(head(b, 0) + 72, 8); }
static void vhdx_entry_len(uint8_t *b, size_t *n)
{
	(void)n;
	put_le(log0(b) + 8, 4097, 4);
	fix_crc(log0(b), 4096);
}
static void vhdx_entry_long(uint8_t *b, size_t *n)
{
	(void)n;
	put_le(log0(b) + 8, 0xfffff000u, 4);
}
static void vhdx_entry_crc(uint8_t *b, size_t *n) { (void)n; log0(b)[200] ^= 1; }
static void vhdx_region(uint8_t *b, size_t *n) { (void)n; b[192 * 1024 + 40] ^= 1; }
static void vhdx_region_count(uint8_t *b, size_t *n)
{
	(void)n;
	put_le(b + 192 * 1024 + 8, 100000, 4);
	fix_crc(b + 192 * 1024, 65536);
}
static void vhdx_no_metadata(uint8_t *b, size_t *n)
{
	(void)n;
	b[192 * 1024 + 16] ^= 0xff; /* first region's GUID */
	b[192 * 1024 + 48] ^= 0xff; /* second's */
	fix_crc(b + 192 * 1024, 65536);
}
static uint8_t *metadata(uint8_t *b)
{
	uint8_t *t = b + 192 * 1024;

	for (unsigned i = 0; i < le(t + 8, 4); i++)
		if (t[16 + 32 * i] == 0x06)
			return b + le(t + 16 + 32 * i + 16, 8);
	return b;
}
static uint8_t *item83(uint8_t *b)
{
	uint8_t *m = metadata(b);

	for (unsigned i = 0; i < le(m + 10, 2); i++)
		if (m[32 + 32 * i] == 0xab && m[33 + 32 * i] == 0x12)
			return m + 32 + 32 * i;
	return m;
}
static void vhdx_meta_sig(uint8_t *b, size_t *n) { (void)n; metadata(b)[0] = 'X'; }
static void vhdx_no_page83(uint8_t *b, size_t *n) { (void)n; item83(b)[0] ^= 0xff; }
static void vhdx_page83_len(uint8_t *b, size_t *n) { (void)n; put_le(item83(b) + 20, 32, 4); }
static void vhdx_page83_far(uint8_t *b, size_t *n)
{
	(void)n;
	put_le(item83(b) + 16, 0xfffffff0u, 4);
}

static const struct hostile hostiles[] = {
	{"vmdk: not KDMV", "vmdk", vmdk_magic, "not a VMDK 4 sparse extent"},
	{"vmdk: version 4", "vmdk", vmdk_version, "not a VMDK 4 sparse extent"},
	{"vmdk: shorter than a sector", "vmdk", vmdk_short, "shorter than its header"},
	{"vmdk: descriptor past the end", "vmdk", vmdk_desc_far, "outside the file"},
	{"vmdk: descriptor offset wraps", "vmdk", vmdk_desc_wrap, "outside the file"},
	{"vmdk: descriptor of 0 sectors", "vmdk", vmdk_desc_zero, "outside the file"},
	{"vmdk: descriptor of 2 MiB", "vmdk", vmdk_desc_huge, "too long"},
	{"vmdk: descriptor without NUL", "vmdk", vmdk_no_nul, "no NUL"},
	{"vmdk: two CID lines", "vmdk", vmdk_two_cids, "2 CID lines"},
	{"vmdk: CID not hex", "vmdk", vmdk_bad_cid, "CID is not 1 to 8 hex digits"},
	{"vmdk: CID of 9 digits", "vmdk", vmdk_long_cid, "CID is not 1 to 8 hex digits"},
	{"vmdk: no RW extent", "vmdk", vmdk_no_extent, "0 extents"},
	{"vmdk: a FLAT extent", "vmdk", vmdk_flat_extent, "not one SPARSE file"},
	{"vmdk: extent name unquoted", "vmdk", vmdk_unquoted, "not one SPARSE file"},
	{"vmdk: a 600-byte line", "vmdk", vmdk_long_line, "a line of over"},
	{"vmdk: descriptor full", "vmdk", vmdk_full, "does not fit"},
	{"vhdx: not vhdxfile", "vhdx", vhdx_ident, "not a VHDX file"},
	{"vhdx: 64 KiB", "vhdx", vhdx_short, "shorter than its headers"},
	{"vhdx: header 2 checksum", "vhdx", vhdx_head_crc, "header 2: bad signature or checksum"},
	{"vhdx: header 1 signature", "vhdx", vhdx_head_sig, "header 1: bad signature"},
	{"vhdx: log not MiB-aligned", "vhdx", vhdx_log_unaligned, "is not one region"},
	{"vhdx: log past the end", "vhdx", vhdx_log_outside, "is not one region"},
	{"vhdx: headers disagree on the log", "vhdx", vhdx_log_differs, "is not one region"},
	{"vhdx: log entry of 4097 bytes", "vhdx", vhdx_entry_len, "log entry at byte"},
	{"vhdx: log entry past the log", "vhdx", vhdx_entry_long, "log entry at byte"},
	{"vhdx: log entry checksum", "vhdx", vhdx_entry_crc, "bad checksum"},
	{"vhdx: region table checksum", "vhdx", vhdx_region, "region table: bad"},
	{"vhdx: region table of 100000 entries", "vhdx", vhdx_region_count, "100000 entries"},
	{"vhdx: no metadata region", "vhdx", vhdx_no_metadata, "no metadata region"},
	{"vhdx: metadata signature", "vhdx", vhdx_meta_sig, "metadata table: bad"},
	{"vhdx: no page 83 item", "vhdx", vhdx_no_page83, "no page 83 data"},
	{"vhdx: page 83 of 32 bytes", "vhdx", vhdx_page83_len, "page 83 data: offset"},
	{"vhdx: page 83 past the region", "vhdx", vhdx_page83_far, "page 83 data: offset"},
};

static void test_crc(void)
{
	is_int(vdisk_crc32c("123456789", 9), 0xe3069283u, "CRC-32C check value of \"123456789\"");
	is_int(vdisk_crc32c("", 0), 0, "CRC-32C of nothing");
}

/* Two conversions of one raw disk to format under different names, settled with one seed. */
static void test_settle(const char *format, const char *raw)
{
	char a[4200], b[4200], c[4200];
	uint8_t seed[SHA256_LEN] = {1, 2, 3}, other[SHA256_LEN] = {9};
	uint8_t *x, *y;
	size_t nx = 0, ny = 0;
	struct err e = {0};

	snprintf(a, sizeof(a), "%s/.tmp-a.%s", dir, format);
	snprintf(b, sizeof(b), "%s/.tmp-b.%s", dir, format);
	snprintf(c, sizeof(c), "%s/c.%s", dir, format);
	{
		char cmd[9000];

		snprintf(cmd, sizeof(cmd), "qemu-img convert -f raw -O %s %s %s && sleep 1 && "
					   "qemu-img convert -f raw -O %s %s %s", format, raw, a,
			 format, raw, b);
		ok(system(cmd) == 0, "%s: two qemu-img conversions", format);
	}
	x = slurp(a, &nx);
	y = slurp(b, &ny);
	ok(x && y && nx == ny && memcmp(x, y, nx) != 0,
	   "%s: qemu-img alone gives different bytes each time", format);
	free(x);
	free(y);
	is_int(settle(format, a, "disk.img", seed, &e), 0, "%s: settle the first", format);
	is_int(settle(format, b, "disk.img", seed, &e), 0, "%s: settle the second", format);
	x = slurp(a, &nx);
	y = slurp(b, &ny);
	ok(x && y && nx == ny && memcmp(x, y, nx) == 0, "%s: settled, they are byte-identical",
	   format);
	free(y);
	is_int(settle(format, a, "disk.img", seed, &e), 0, "%s: settling again", format);
	y = slurp(a, &ny);
	ok(x && y && nx == ny && memcmp(x, y, nx) == 0, "%s: settling is idempotent", format);
	free(x);
	free(y);
	ok(sh("qemu-img check -q -f %s %s", format, b) == 0, "%s: qemu-img check passes", format);
	{
		char cmd[9000];

		snprintf(cmd, sizeof(cmd), "qemu-img compare -q -f raw -F %s %s %s", format, raw, b);
		ok(system(cmd) == 0, "%s: qemu-img compare: the same disk as the raw image",
		   format);
		snprintf(cmd, sizeof(cmd), "cp %s %s", b, c);
		if (system(cmd) != 0)
			return;
	}
	is_int(settle(format, c, "disk.img", other, &e), 0, "%s: settle with another seed",
	       format);
	x = slurp(b, &nx);
	y = slurp(c, &ny);
	ok(x && y && nx == ny && memcmp(x, y, nx) != 0, "%s: another seed, other bytes", format);
	if (strcmp(format, "vmdk") == 0 && x)
		ok(memmem(x, nx, "SPARSE \"disk.img\"", 17) != NULL,
		   "vmdk: the extent names the final file, not the temporary one");
	free(x);
	free(y);
}

static void test_hostile(const char *good_vmdk, const char *good_vhdx)
{
	uint8_t seed[SHA256_LEN] = {7};

	for (size_t i = 0; i < sizeof(hostiles) / sizeof(hostiles[0]); i++) {
		const struct hostile *h = &hostiles[i];
		char path[4200];
		size_t n, m;
		uint8_t *buf = slurp(strcmp(h->format, "vmdk") == 0 ? good_vmdk : good_vhdx, &n);
		uint8_t *after;
		struct err e = {0};
		int r;

		if (!ok(buf != NULL, "%s: the good file", h->label))
			continue;
		h->mutate(buf, &n);
		snprintf(path, sizeof(path), "%s/hostile.%s", dir, h->format);
		spit(path, buf, n);
		r = settle(h->format, path, "a-longer-name-than-disk.img", seed, &e);
		ok(r < 0, "%s: refused", h->label);
		has_str(e.msg, h->err, "%s: the error names the cause", h->label);
		has_str(e.msg, path, "%s: the error names the file", h->label);
		after = slurp(path, &m);
		ok(after && m == n && memcmp(after, buf, n) == 0, "%s: the file is unchanged",
		   h->label);
		free(after);
		free(buf);
	}
}

int main(void)
{
	const char *t = getenv("TMPDIR");
	char raw[4200], vmdk[4200], vhdx[4200], cmd[9000];

	test_crc();
	if (system("qemu-img --version >/dev/null 2>&1") != 0) {
		ok(1, "vmdk and vhdx # SKIP qemu-img missing");
		return tap_done();
	}
	snprintf(dir, sizeof(dir), "%s/test-vdisk-XXXXXX", t ? t : "/tmp");
	if (!mkdtemp(dir))
		return 1;
	snprintf(raw, sizeof(raw), "%s/disk.raw", dir);
	/* 96 MiB with data in a few places: more than one vhdx log entry, vmdk grains */
	snprintf(cmd, sizeof(cmd), "truncate -s 96M %s && for o in 0 7 33 90; do "
				   "printf 'data at %%s MiB' $o | dd of=%s bs=1M seek=$o conv=notrunc "
				   "status=none; done", raw, raw);
	ok(system(cmd) == 0, "a raw disk");
	test_settle("vmdk", raw);
	test_settle("vhdx", raw);
	snprintf(vmdk, sizeof(vmdk), "%s/.tmp-b.vmdk", dir);
	snprintf(vhdx, sizeof(vhdx), "%s/.tmp-b.vhdx", dir);
	test_hostile(vmdk, vhdx);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
