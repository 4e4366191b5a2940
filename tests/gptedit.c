/* Test tool: edits a partition entry of a disk image's GPT the way an attacker or a broken
 * tool would, then makes the table look valid again: the entry is changed in the primary
 * and the backup entry arrays, and both arrays' CRCs and both headers' CRCs are recomputed.
 *
 *   gptedit IMAGE LABEL [start=LBA] [end=LBA]...   (LBAs: any 64-bit value, decimal or 0x)
 *   gptedit IMAGE LABEL show                       prints "start end" of the entry
 *
 * A missing backup (a truncated image) is left missing. Exit 0 done, 1 failed, 2 usage. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/gptgrow.h"

#define SECTOR 512


static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put_le(uint8_t *p, int n, uint64_t v)
{
	for (int i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

struct edit {
	const char *label;
	bool set_start, set_end, show;
	uint64_t start, end;
};

/* The entry's name (UTF-16LE, ASCII only here) is label. */
static bool name_is(const uint8_t *ent, const char *label)
{
	size_t l = strlen(label);

	if (l > 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		uint16_t c = (uint16_t)get_le(ent + 56 + 2 * i, 2);
		if (c != (i < l ? (uint8_t)label[i] : 0))
			return false;
		if (i >= l)
			return true;
	}
	return true;
}

/* Edits the header at lba and its entries; returns 0, or -1 when that header is missing. */
static int edit_table(int fd, uint64_t lba, const struct edit *ed, bool *found)
{
	uint8_t h[SECTOR], *ents;
	uint64_t elba;
	uint32_t n, esz, hsz;
	size_t len;

	if (pread(fd, h, SECTOR, (off_t)(lba * SECTOR)) != SECTOR || memcmp(h, "EFI PART", 8))
		return -1;
	hsz = (uint32_t)get_le(h + 12, 4);
	elba = get_le(h + 72, 8);
	n = (uint32_t)get_le(h + 80, 4);
	esz = (uint32_t)get_le(h + 84, 4);
	if (hsz < 92 || hsz > SECTOR || esz < 128 || esz > 4096 || n > 4096)
		return -1;
	len = (size_t)n * esz;
	ents = malloc(len);
	if (!ents || pread(fd, ents, len, (off_t)(elba * SECTOR)) != (ssize_t)len) {
		free(ents);
		return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *e = ents + (size_t)i * esz;
		if (!name_is(e, ed->label))
			continue;
		*found = true;
		if (ed->show) {
			printf("%" PRIu64 " %" PRIu64 "\n", get_le(e + 32, 8), get_le(e + 40, 8));
			free(ents);
			return 0;
		}
		if (ed->set_start)
			put_le(e + 32, 8, ed->start);
		if (ed->set_end)
			put_le(e + 40, 8, ed->end);
		break;
	}
	if (!ed->show) {
		put_le(h + 88, 4, gpt_crc32(ents, len));
		put_le(h + 16, 4, 0);
		put_le(h + 16, 4, gpt_crc32(h, hsz));
		if (pwrite(fd, ents, len, (off_t)(elba * SECTOR)) != (ssize_t)len ||
		    pwrite(fd, h, SECTOR, (off_t)(lba * SECTOR)) != SECTOR) {
			perror("gptedit: write");
			free(ents);
			exit(1);
		}
	}
	free(ents);
	return 0;
}

static bool parse_u64(const char *s, uint64_t *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(s, &end, 0);
	return errno == 0 && end != s && !*end && *s != '-';
}

int main(int argc, char **argv)
{
	struct edit ed = {0};
	uint8_t h[SECTOR];
	bool found = false;
	int fd;

	if (argc < 4) {
		fprintf(stderr, "usage: gptedit IMAGE LABEL [start=LBA] [end=LBA]... | show\n");
		return 2;
	}
	ed.label = argv[2];
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "show") == 0)
			ed.show = true;
		else if (strncmp(argv[i], "start=", 6) == 0 && parse_u64(argv[i] + 6, &ed.start))
			ed.set_start = true;
		else if (strncmp(argv[i], "end=", 4) == 0 && parse_u64(argv[i] + 4, &ed.end))
			ed.set_end = true;
		else
			return fprintf(stderr, "gptedit: bad argument %s\n", argv[i]), 2;
	}
	fd = open(argv[1], ed.show ? O_RDONLY : O_RDWR);
	if (fd < 0 || pread(fd, h, SECTOR, SECTOR) != SECTOR) {
		perror(argv[1]);
		return 1;
	}
	if (edit_table(fd, 1, &ed, &found) < 0) {
		fprintf(stderr, "gptedit: %s: no primary GPT\n", argv[1]);
		return 1;
	}
	/* the backup header is where the primary says; it lists its own entries */
	if (!ed.show && edit_table(fd, get_le(h + 32, 8), &ed, &found) < 0)
		fprintf(stderr, "gptedit: %s: no backup GPT (left alone)\n", argv[1]);
	if (!found) {
		fprintf(stderr, "gptedit: %s: no partition labelled %s\n", argv[1], ed.label);
		return 1;
	}
	if (!ed.show && fsync(fd) < 0) {
		perror(argv[1]);
		return 1;
	}
	close(fd);
	return 0;
}
