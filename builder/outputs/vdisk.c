#include "vdisk.h"

#include "lib/le.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>

#include "lib/io.h"
#include "builder/fileutil.h"

#define SECTOR 512
#define KIB 1024u
#define MIB (1024u * 1024u)

/* sha256(seed, what, index): the replacement for the index-th random value of a kind. */
static void derive(const uint8_t seed[SHA256_LEN], const char *what, unsigned index,
		   uint8_t out[SHA256_LEN])
{
	uint8_t buf[SHA256_LEN + 64];
	size_t n = strlen(what);

	memcpy(buf, seed, SHA256_LEN);
	memcpy(buf + SHA256_LEN, what, n);
	le_put(buf + SHA256_LEN + n, index, 4);
	sha256_buf(buf, SHA256_LEN + n + 4, out);
}

static int file_size(int fd, const char *path, uint64_t *ret, struct err *e)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return err_sys(e, errno, "%s", path);
	*ret = (uint64_t)st.st_size;
	return 0;
}

/* ---- vmdk ---------------------------------------------------------------------------- */

/* The descriptor's text with CID=<cid> and the extent's name replaced; -EINVAL unless it has
 * exactly one of each, as qemu-img writes them. */
static int vmdk_descriptor(const char *in, const char *cid, const char *name, char *out,
			   size_t size, const char *path, struct err *e)
{
	int cids = 0, extents = 0;
	size_t o = 0;

	for (const char *line = in; *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) + 1 : strlen(line);
		char buf[512];
		int n;

		if (strncmp(line, "CID=", 4) == 0) {
			/* qemu-img writes it with %x: 1 to 8 digits */
			size_t digits = strspn(line + 4, "0123456789abcdefABCDEF");

			if (digits < 1 || digits > 8 || digits + 4 > len ||
			    (line[4 + digits] != '\n' && line[4 + digits]))
				return err_set(e, EINVAL, "%s: vmdk descriptor: CID is not 1 to 8 "
							  "hex digits", path);
			n = snprintf(buf, sizeof(buf), "CID=%s%.*s", cid,
				     (int)(len - 4 - digits), line + 4 + digits);
			cids++;
		} else if (strncmp(line, "RW ", 3) == 0) {
			const char *q = memchr(line, '"', len);
			const char *q2 = q ? memchr(q + 1, '"', len - (size_t)(q + 1 - line)) : NULL;

			if (!q2 || q - line < 11 || memcmp(q - 8, " SPARSE ", 8) != 0)
				return err_set(e, EINVAL, "%s: vmdk descriptor: the extent is not one "
							  "SPARSE file", path);
			n = snprintf(buf, sizeof(buf), "%.*s\"%s%.*s", (int)(q - line), line, name,
				     (int)(len - (size_t)(q2 - line)), q2);
			extents++;
		} else {
			n = snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
		}
		if (n < 0 || (size_t)n >= sizeof(buf))
			return err_set(e, EINVAL, "%s: vmdk descriptor: a line of over %zu bytes",
				       path, sizeof(buf) - 1);
		if (o + (size_t)n >= size)
			return err_set(e, ENOSPC, "%s: vmdk descriptor: does not fit its %zu bytes",
				       path, size);
		memcpy(out + o, buf, (size_t)n);
		o += (size_t)n;
		line += len;
	}
	if (cids != 1 || extents != 1)
		return err_set(e, EINVAL, "%s: vmdk descriptor: %d CID lines and %d extents (one "
					  "of each expected)", path, cids, extents);
	memset(out + o, 0, size - o);
	return 0;
}

int vdisk_settle_vmdk(int fd, const char *path, const char *name, const uint8_t seed[SHA256_LEN],
		      struct err *e)
{
	uint8_t h[SECTOR], s[SHA256_LEN];
	uint64_t size = 0, off, len;
	char cid[9], *in = NULL, *out = NULL;
	int r;

	if (strlen(name) > 200 || strpbrk(name, "\"\n\\/"))
		return err_set(e, EINVAL, "%s: vmdk: the name %.200s cannot be an extent's", path,
			       name);
	r = file_size(fd, path, &size, e);
	if (r == 0)
		r = size < SECTOR ? err_set(e, EINVAL, "%s: vmdk: shorter than its header", path)
				  : io_pread_full(fd, h, sizeof(h), 0, path, e);
	if (r < 0)
		return r;
	if (memcmp(h, "KDMV", 4) != 0 || le_get(h + 4, 4) < 1 || le_get(h + 4, 4) > 3)
		return err_set(e, EINVAL, "%s: not a VMDK 4 sparse extent (magic or version)",
			       path);
	off = le_get(h + 28, 8);
	len = le_get(h + 36, 8);
	/* qemu-img: 20 sectors at sector 1; a descriptor of up to 1 MiB is accepted */
	if (off < 1 || len < 1 || len > 2048 || off > size / SECTOR ||
	    len > size / SECTOR - off)
		return err_set(e, EINVAL, "%s: vmdk: descriptor at sector %llu, %llu sectors: "
					  "outside the file or too long", path,
			       (unsigned long long)off, (unsigned long long)len);
	len *= SECTOR;
	in = malloc(len + 1);
	out = malloc(len);
	if (!in || !out) {
		r = err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	r = io_pread_full(fd, in, len, off * SECTOR, path, e);
	if (r < 0)
		goto out;
	in[len] = 0;
	if (strlen(in) == len) {
		r = err_set(e, EINVAL, "%s: vmdk: the descriptor fills its sectors (no NUL)", path);
		goto out;
	}
	derive(seed, "vmdk CID", 0, s);
	/* ffffffff means "no parent" in parentCID; a CID never takes it */
	snprintf(cid, sizeof(cid), "%08x",
		 le_get(s, 4) == 0xffffffffu ? 0xfffffffeu : (unsigned)le_get(s, 4));
	r = vmdk_descriptor(in, cid, name, out, len, path, e);
	if (r == 0)
		r = io_pwrite_full(fd, out, len, off * SECTOR, path, e);
out:
	free(in);
	free(out);
	return r;
}

/* ---- vhdx ---------------------------------------------------------------------------- */

#define VHDX_HEADER_SIZE (4 * KIB)
#define VHDX_TABLE_SIZE (64 * KIB)
#define VHDX_LOG_MAX (256 * MIB)
#define VHDX_MAP 4096 /* distinct GUIDs: qemu-img makes one per log flush */

/* GUIDs on disk: Data1..3 little-endian, Data4 as bytes. */
static const uint8_t metadata_region[16] = {0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b,
					    0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e};
static const uint8_t page83_item[16] = {0xab, 0x12, 0xca, 0xbe, 0xe6, 0xb2, 0x23, 0x45,
					0x93, 0xef, 0xc3, 0x09, 0xe0, 0x00, 0xc7, 0x46};

uint32_t vdisk_crc32c(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t table[256], c;

	for (uint32_t i = 0; i < 256; i++) { /* built per call: 2 KiB of work, no state */
		c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? c >> 1 ^ 0x82f63b78u : c >> 1;
		table[i] = c;
	}
	c = 0xffffffffu;
	while (len--)
		c = table[(c ^ *p++) & 0xff] ^ c >> 8;
	return ~c;
}

/* Every random GUID becomes a derived one; equal GUIDs stay equal, distinct ones distinct. */
struct guid_map {
	const uint8_t *seed;
	uint8_t (*from)[16], (*to)[16]; /* VHDX_MAP each */
	unsigned n;
};

static int guid_settle(struct guid_map *m, uint8_t g[16], const char *path, struct err *e)
{
	static const uint8_t zero[16];
	uint8_t s[SHA256_LEN];
	unsigned i;

	if (memcmp(g, zero, 16) == 0) /* "none": stays */
		return 0;
	for (i = 0; i < m->n && memcmp(m->from[i], g, 16) != 0; i++)
		;
	if (i == m->n) {
		if (m->n == VHDX_MAP)
			return err_set(e, EINVAL, "%s: vhdx: more than %d distinct GUIDs", path,
				       VHDX_MAP);
		derive(m->seed, "vhdx GUID", i, s);
		s[7] = (uint8_t)((s[7] & 0x0f) | 0x40); /* version 4 (Data3's high byte) */
		s[8] = (uint8_t)((s[8] & 0x3f) | 0x80); /* RFC 4122 variant */
		memcpy(m->from[i], g, 16);
		memcpy(m->to[i], s, 16);
		m->n++;
	}
	memcpy(g, m->to[i], 16);
	return 0;
}

static bool crc_ok(uint8_t *buf, size_t len)
{
	uint32_t stored = (uint32_t)le_get(buf + 4, 4);
	bool ok;

	le_put(buf + 4, 0, 4);
	ok = vdisk_crc32c(buf, len) == stored;
	le_put(buf + 4, stored, 4);
	return ok;
}

static void crc_set(uint8_t *buf, size_t len)
{
	le_put(buf + 4, 0, 4);
	le_put(buf + 4, vdisk_crc32c(buf, len), 4);
}

/* The log entries from the start of the log (read into buf): each GUID settled, its checksum
 * recomputed, in buf; *ret_used gets the bytes they take. */
static int vhdx_log(uint8_t *buf, uint64_t off, uint64_t len, struct guid_map *m,
		    uint64_t *ret_used, const char *path, struct err *e)
{
	uint64_t pos = 0;
	int r = 0;

	while (r == 0 && len - pos >= VHDX_HEADER_SIZE && memcmp(buf + pos, "loge", 4) == 0) {
		uint8_t *entry = buf + pos;
		uint64_t n = le_get(entry + 8, 4);

		if (n < VHDX_HEADER_SIZE || n % VHDX_HEADER_SIZE || n > len - pos)
			return err_set(e, EINVAL, "%s: vhdx: log entry at byte %llu: length %llu",
				       path, (unsigned long long)(off + pos), (unsigned long long)n);
		if (!crc_ok(entry, n))
			return err_set(e, EINVAL, "%s: vhdx: log entry at byte %llu: bad checksum",
				       path, (unsigned long long)(off + pos));
		r = guid_settle(m, entry + 32, path, e);
		crc_set(entry, n);
		pos += n;
	}
	*ret_used = pos;
	return r;
}

/* Region table 1 to the metadata region, its table to the page 83 item: the VirtualDiskId. */
static int vhdx_page83(int fd, const char *path, uint64_t size, struct guid_map *m,
		       uint8_t id[16], uint64_t *ret_off, struct err *e)
{
	uint8_t t[VHDX_TABLE_SIZE];
	uint64_t moff = 0, mlen = 0, ioff = 0;
	int r = io_pread_full(fd, t, sizeof(t), 192 * KIB, path, e);
	unsigned n;

	if (r < 0)
		return r;
	if (memcmp(t, "regi", 4) != 0 || !crc_ok(t, sizeof(t)))
		return err_set(e, EINVAL, "%s: vhdx: region table: bad signature or checksum", path);
	n = (unsigned)le_get(t + 8, 4);
	if (n > 2047)
		return err_set(e, EINVAL, "%s: vhdx: region table: %u entries", path, n);
	for (unsigned i = 0; i < n; i++)
		if (memcmp(t + 16 + 32 * i, metadata_region, 16) == 0) {
			moff = le_get(t + 16 + 32 * i + 16, 8);
			mlen = le_get(t + 16 + 32 * i + 24, 4);
		}
	if (moff % MIB || moff == 0 || mlen < VHDX_TABLE_SIZE || moff > size || mlen > size - moff)
		return err_set(e, EINVAL, "%s: vhdx: no metadata region inside the file", path);
	r = io_pread_full(fd, t, sizeof(t), moff, path, e);
	if (r < 0)
		return r;
	if (memcmp(t, "metadata", 8) != 0 || (n = (unsigned)le_get(t + 10, 2)) > 2047)
		return err_set(e, EINVAL, "%s: vhdx: metadata table: bad signature or count", path);
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *it = t + 32 + 32 * i;

		if (memcmp(it, page83_item, 16) != 0)
			continue;
		ioff = le_get(it + 16, 4);
		if (le_get(it + 20, 4) != 16 || ioff < VHDX_TABLE_SIZE || ioff > mlen - 16)
			return err_set(e, EINVAL, "%s: vhdx: page 83 data: offset %llu, length "
						  "%llu", path, (unsigned long long)ioff,
				       (unsigned long long)le_get(it + 20, 4));
	}
	if (!ioff)
		return err_set(e, EINVAL, "%s: vhdx: no page 83 data (VirtualDiskId)", path);
	*ret_off = moff + ioff;
	r = io_pread_full(fd, id, 16, moff + ioff, path, e);
	return r < 0 ? r : guid_settle(m, id, path, e);
}

static int vhdx_settle(int fd, const char *path, uint64_t size, struct guid_map *m,
		       struct err *e)
{
	uint8_t h[2][VHDX_HEADER_SIZE], id[8], id83[16], *log;
	uint64_t seq[2], low, log_off, log_len, log_used = 0, off83 = 0;
	int r;

	r = size < 1 * MIB ? err_set(e, EINVAL, "%s: vhdx: shorter than its headers", path)
			   : io_pread_full(fd, id, sizeof(id), 0, path, e);
	if (r < 0)
		return r;
	if (memcmp(id, "vhdxfile", 8) != 0)
		return err_set(e, EINVAL, "%s: not a VHDX file (identifier)", path);
	for (int i = 0; i < 2; i++) {
		r = io_pread_full(fd, h[i], VHDX_HEADER_SIZE, (uint64_t)(i + 1) * 64 * KIB, path,
				  e);
		if (r < 0)
			return r;
		if (memcmp(h[i], "head", 4) != 0 || !crc_ok(h[i], VHDX_HEADER_SIZE))
			return err_set(e, EINVAL, "%s: vhdx: header %d: bad signature or checksum",
				       path, i + 1);
		seq[i] = le_get(h[i] + 8, 8);
	}
	log_len = le_get(h[0] + 68, 4);
	log_off = le_get(h[0] + 72, 8);
	if (log_len != le_get(h[1] + 68, 4) || log_off != le_get(h[1] + 72, 8) || log_off % MIB ||
	    log_off == 0 || log_len % MIB || log_len > VHDX_LOG_MAX || log_off > size ||
	    log_len > size - log_off)
		return err_set(e, EINVAL, "%s: vhdx: the headers' log (%llu bytes at %llu) is not "
					  "one region inside the file", path,
			       (unsigned long long)log_len, (unsigned long long)log_off);
	/* the current header is the one with the higher sequence number: kept so */
	low = seq[0] < seq[1] ? seq[0] : seq[1];
	for (int i = 0; i < 2 && r == 0; i++) {
		le_put(h[i] + 8, 1 + (seq[i] - low), 8);
		for (int g = 0; g < 3 && r == 0; g++) /* FileWrite, DataWrite, Log */
			r = guid_settle(m, h[i] + 16 + 16 * g, path, e);
		crc_set(h[i], VHDX_HEADER_SIZE);
	}
	log = r == 0 ? malloc(log_len) : NULL;
	if (r == 0 && !log)
		r = err_set(e, ENOMEM, "out of memory");
	if (r == 0)
		r = io_pread_full(fd, log, log_len, log_off, path, e);
	if (r == 0)
		r = vhdx_log(log, log_off, log_len, m, &log_used, path, e);
	if (r == 0)
		r = vhdx_page83(fd, path, size, m, id83, &off83, e);
	/* all checked: the writes */
	if (r == 0)
		r = io_pwrite_full(fd, log, log_used, log_off, path, e);
	if (r == 0)
		r = io_pwrite_full(fd, id83, sizeof(id83), off83, path, e);
	for (int i = 0; i < 2 && r == 0; i++)
		r = io_pwrite_full(fd, h[i], VHDX_HEADER_SIZE, (uint64_t)(i + 1) * 64 * KIB, path,
				   e);
	free(log);
	return r;
}

int vdisk_settle_vhdx(int fd, const char *path, const uint8_t seed[SHA256_LEN], struct err *e)
{
	struct guid_map m = {.seed = seed};
	uint64_t size = 0;
	int r = file_size(fd, path, &size, e);

	if (r < 0)
		return r;
	m.from = calloc(VHDX_MAP, 16);
	m.to = calloc(VHDX_MAP, 16);
	r = m.from && m.to ? vhdx_settle(fd, path, size, &m, e)
			   : err_set(e, ENOMEM, "out of memory");
	free(m.from);
	free(m.to);
	return r;
}

/* ---- conversion ---------------------------------------------------------------------- */

int vdisk_convert(const char *raw, const char *format, const char *out, const char *name,
		  const uint8_t seed[SHA256_LEN], struct err *e)
{
	char *argv[] = {"qemu-img", "convert", "-f", "raw", "-O", (char *)format, (char *)raw,
			(char *)out, NULL};
	int r = run_capture(argv, NULL, 1 << 16, NULL, e), fd;

	if (r < 0 || strcmp(format, "qcow2") == 0)
		return r < 0 ? r : 0;
	fd = open(out, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "%s", out);
	if (strcmp(format, "vmdk") == 0)
		r = vdisk_settle_vmdk(fd, out, name, seed, e);
	else if (strcmp(format, "vhdx") == 0)
		r = vdisk_settle_vhdx(fd, out, seed, e);
	else
		r = err_set(e, EINVAL, "%s: no such disk format", format);
	if (close(fd) < 0 && r == 0)
		r = err_sys(e, errno, "%s", out);
	return r;
}
