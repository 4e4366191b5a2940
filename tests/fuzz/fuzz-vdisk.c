/* libFuzzer target: the settling of qemu-img's vmdk and vhdx (builder/outputs/vdisk.c). Random
 * bytes are never a VHDX, so the input mutates real files: at the first call qemu-img converts
 * a small raw disk into both formats (templates, held in memory); each input is
 *   byte 0: bit 0 the format (0 vmdk, 1 vhdx); bit 1: fix the vhdx checksums after patching
 *   then patches: offset (4 bytes, little-endian, modulo the file's size), length (1 byte),
 *   that many bytes
 * applied to a copy in a memfd, which is then settled. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "builder/outputs/vdisk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PAGE 4096

struct template {
	uint8_t *buf;
	size_t len;
	uint8_t *used; /* per page: not all zero (only these are written to the memfd) */
	uint8_t *copy; /* what an input patches; restored from buf after each run */
};

static struct template templates[2];

static int load(const char *dir, const char *format, struct template *t)
{
	char cmd[512], path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/t.%s", dir, format);
	snprintf(cmd, sizeof(cmd), "qemu-img convert -f raw -O %s %s/raw %s", format, dir, path);
	if (system(cmd) != 0 || !(f = fopen(path, "rb")))
		return -1;
	fseek(f, 0, SEEK_END);
	t->len = (size_t)ftell(f);
	rewind(f);
	t->buf = malloc(t->len);
	t->used = calloc(t->len / PAGE + 1, 1);
	if (!t->buf || !t->used || fread(t->buf, 1, t->len, f) != t->len)
		abort();
	fclose(f);
	for (size_t i = 0; i < t->len; i++)
		if (t->buf[i])
			t->used[i / PAGE] = 1;
	t->copy = malloc(t->len);
	if (!t->copy)
		abort();
	memcpy(t->copy, t->buf, t->len);
	return 0;
}

static void init(void)
{
	char dir[] = "/tmp/fuzz-vdisk-XXXXXX", cmd[512];

	if (!mkdtemp(dir))
		abort();
	snprintf(cmd, sizeof(cmd), "truncate -s 8M %s/raw && printf data | dd of=%s/raw bs=1M "
				   "seek=3 conv=notrunc status=none", dir, dir);
	if (system(cmd) != 0 || load(dir, "vmdk", &templates[0]) < 0 ||
	    load(dir, "vhdx", &templates[1]) < 0)
		abort();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		abort();
}

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void fix(uint8_t *p, size_t len)
{
	uint32_t c;

	memset(p + 4, 0, 4);
	c = vdisk_crc32c(p, len);
	memcpy(p + 4, &c, 4);
}

static void fix_vhdx(uint8_t *b, size_t len)
{
	for (int i = 1; i <= 2; i++)
		if ((size_t)i * 65536 + 4096 <= len)
			fix(b + (size_t)i * 65536, 4096);
	if (192 * 1024 + 65536 <= len)
		fix(b + 192 * 1024, 65536);
	if (65536 + 4096 <= len) { /* the first log entry, if it lies inside */
		uint64_t off = le(b + 65536 + 72, 8), n = off < len ? le(b + off + 8, 4) : 0;

		if (off < len && n >= 8 && n <= len - off)
			fix(b + off, n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *touched;
	uint8_t *copy;
	uint8_t seed[SHA256_LEN] = {0};
	struct template *t;
	struct err e;
	char path[64];
	size_t pos = 1;
	int fd;

	if (!templates[0].buf)
		init();
	if (size < 1)
		return 0;
	t = &templates[data[0] & 1];
	copy = t->copy;
	free(touched);
	touched = calloc(t->len / PAGE + 1, 1);
	if (!touched)
		return 0;
	while (pos + 5 <= size) {
		size_t off = (size_t)le(data + pos, 4) % t->len, n = data[pos + 4];

		pos += 5;
		if (n > size - pos)
			n = size - pos;
		if (n > t->len - off)
			n = t->len - off;
		memcpy(copy + off, data + pos, n);
		for (size_t pg = off / PAGE; n && pg <= (off + n - 1) / PAGE; pg++)
			touched[pg] = 1;
		pos += n;
	}
	if ((data[0] & 3) == 3) {
		fix_vhdx(copy, t->len);
		memset(touched, 1, t->len / PAGE + 1); /* the checksummed pages, wherever */
	}
	fd = memfd_create("fuzz-vdisk", MFD_CLOEXEC);
	if (fd >= 0 && ftruncate(fd, (off_t)t->len) == 0) {
		for (size_t pg = 0; pg * PAGE < t->len; pg++)
			if (touched[pg] || t->used[pg]) {
				size_t n = t->len - pg * PAGE < PAGE ? t->len - pg * PAGE : PAGE;

				if (pwrite(fd, copy + pg * PAGE, n, (off_t)(pg * PAGE)) != (ssize_t)n)
					abort();
			}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (data[0] & 1)
			(void)!vdisk_settle_vhdx(fd, path, seed, &e);
		else
			(void)!vdisk_settle_vmdk(fd, path, "disk.vmdk", seed, &e);
	}
	if (fd >= 0)
		close(fd);
	for (size_t pg = 0; pg * PAGE < t->len; pg++)
		if (touched[pg]) {
			size_t n = t->len - pg * PAGE < PAGE ? t->len - pg * PAGE : PAGE;

			memcpy(copy + pg * PAGE, t->buf + pg * PAGE, n);
		}
	return 0;
}
