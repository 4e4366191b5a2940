/* Unit tests of the partition table geometry check (lib/gpt.c), table-driven: the layout
 * stele writes, then one edit per case (every overlap kind, off-by-one boundaries, wraps
 * when sectors become bytes, LBA 0 and 1, past the last usable LBA, missing and duplicate
 * labels, a usable range outside the disk). */
#include <stdint.h>
#include <string.h>

#include "lib/gpt.h"
#include "tap.h"

#define DISK_SECTORS 397312ULL
#define LAST_USABLE (DISK_SECTORS - 34)
#define WRAP (1ULL << 55) /* 2^55 sectors * 512 = 2^64 bytes: wraps to 0 */

static const struct gpt_entry good[] = {
	{"esp", 2048, 81920, 1},      {"root_a", 83968, 131072, 2},
	{"verity_a", 215040, 8192, 3}, {"root_b", 223232, 131072, 4},
	{"verity_b", 354304, 8192, 5}, {"data", 362496, 32768, 6},
};

static void base(struct gpt_table *t)
{
	memset(t, 0, sizeof(*t));
	t->sector_size = 512;
	t->first_usable = 34;
	t->last_usable = LAST_USABLE;
	t->disk_size = DISK_SECTORS * 512;
	t->n = 6;
	memcpy(t->entries, good, sizeof(good));
}

static struct gpt_entry *entry(struct gpt_table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->entries[i].name, name) == 0)
			return &t->entries[i];
	return NULL;
}

struct edit_case {
	const char *what;
	const char *label; /* the entry to change; NULL: none */
	uint64_t start, sectors;
	const char *want; /* NULL: accepted; else a fragment of the message */
};

static const struct edit_case cases[] = {
	{"the layout stele writes", NULL, 0, 0, NULL},
	{"root_b on root_a's sectors", "root_b", 83968, 131072, "partition 4 (root_b"},
	{"root_b over the second half of root_a", "root_b", 83968 + 65536, 131072,
	 "overlaps partition 2 (root_a"},
	{"root_b over all of root_a but its first sector", "root_b", 215040 - 131072 + 1,
	 131072, "overlaps partition 2 (root_a"},
	{"data over root_b", "data", 223232 + 1000, 32768, "partition 6 (data"},
	{"the ESP over root_a", "esp", 2048, 81920 + 1, "overlaps partition 1 (esp"},
	{"root_a sharing its last sector with verity_a", "root_a", 83968, 131073,
	 "partition 3 (verity_a, sectors 215040..223231) overlaps partition 2 (root_a"},
	{"root_a ending just before verity_a", "root_a", 83969, 131071, NULL},
	{"verity_b past the end of the disk", "verity_b", DISK_SECTORS - 10, 8192,
	 "partition 5 (verity_b)"},
	{"data ending on the last usable sector", "data", LAST_USABLE + 1 - 32768, 32768, NULL},
	{"data ending one past the last usable sector", "data", LAST_USABLE + 2 - 32768, 32768,
	 "not inside the usable sectors"},
	{"esp at the first usable sector", "esp", 34, 2014, NULL},
	{"esp one before the first usable sector", "esp", 33, 2015, "not inside the usable"},
	{"esp at LBA 0", "esp", 0, 2048, "partition 1 (esp)"},
	{"esp at LBA 1 (over the header)", "esp", 1, 2047, "partition 1 (esp)"},
	{"root_b at 2^55 sectors plus root_a's start", "root_b", WRAP + 83968, 131072,
	 "partition 4 (root_b)"},
	{"root_b at 2^55 sectors plus its own start", "root_b", WRAP + 223232, 131072,
	 "not inside the usable"},
	{"verity_b whose end wraps around 2^64", "verity_b", UINT64_MAX - 100, 8192,
	 "partition 5 (verity_b)"},
	{"verity_b with UINT64_MAX sectors", "verity_b", 354304, UINT64_MAX, "partition 5"},
	{"root_b with zero sectors (start > end)", "root_b", 223232, 0, "no sectors"},
};

static void test_edits(void)
{
	struct gpt_region r[GPT_PART_COUNT];
	struct gpt_table t;
	struct err e;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct edit_case *c = &cases[i];
		int rc;

		base(&t);
		if (c->label) {
			entry(&t, c->label)->start = c->start;
			entry(&t, c->label)->sectors = c->sectors;
		}
		memset(&e, 0, sizeof(e));
		memset(r, 0x5a, sizeof(r));
		rc = gpt_check(&t, r, &e);
		if (!c->want) {
			is_int(rc, 0, "%s: accepted", c->what);
			continue;
		}
		ok(rc < 0, "%s: refused", c->what);
		has_str(e.msg, c->want, "%s: the message names it", c->what);
		ok(r[0].offset == 0x5a5a5a5a5a5a5a5aULL, "%s: nothing returned", c->what);
	}
}

static void test_regions(void)
{
	struct gpt_region r[GPT_PART_COUNT];
	struct gpt_table t;
	struct err e = {{0}};

	base(&t);
	is_int(gpt_check(&t, r, &e), 0, "regions: accepted");
	is_int(r[GPT_PART_ESP].offset, 2048 * 512, "esp offset in bytes");
	is_int(r[GPT_PART_ROOT_B].offset, 223232ULL * 512, "root_b offset in bytes");
	is_int(r[GPT_PART_ROOT_B].size, 131072ULL * 512, "root_b size in bytes");
	is_int(r[GPT_PART_DATA].entry, 5, "data is entry 5");
	is_str(gpt_part_labels[GPT_PART_VERITY_B], "verity_b", "the labels");

	/* order of entries does not matter, foreign partitions are allowed */
	base(&t);
	t.entries[6] = t.entries[0];
	t.entries[0] = (struct gpt_entry){"bios_boot", 34, 2014, 7};
	t.n = 7;
	is_int(gpt_check(&t, r, &e), 0, "a foreign partition in the gap before esp");
	is_int(r[GPT_PART_ESP].entry, 6, "esp found anywhere in the table");
	t.entries[0].sectors = 2015;
	ok(gpt_check(&t, r, &e) < 0, "a foreign partition overlapping esp");
	has_str(e.msg, "(bios_boot", "the foreign partition is named");
}

static void test_labels_and_header(void)
{
	struct gpt_region r[GPT_PART_COUNT];
	struct gpt_table t;
	struct err e = {{0}};

	base(&t);
	strcpy(t.entries[3].name, "root_x");
	ok(gpt_check(&t, r, &e) < 0, "a missing label");
	has_str(e.msg, "no partition labelled root_b", "missing: named");

	base(&t);
	strcpy(t.entries[3].name, "root_a");
	ok(gpt_check(&t, r, &e) < 0, "a label twice");
	has_str(e.msg, "partitions 2 and 4 are both labelled root_a", "twice: named");

	base(&t);
	t.last_usable = DISK_SECTORS - 33;
	ok(gpt_check(&t, r, &e) < 0, "last usable LBA over the backup entries");
	has_str(e.msg, "usable sectors", "usable range: named");

	base(&t);
	t.disk_size = 395264ULL * 512; /* truncated: data now runs past the usable range */
	ok(gpt_check(&t, r, &e) < 0, "a disk smaller than the table says");

	base(&t);
	t.last_usable = UINT64_MAX;
	ok(gpt_check(&t, r, &e) < 0, "last usable LBA 2^64-1");

	base(&t);
	t.first_usable = 1;
	ok(gpt_check(&t, r, &e) < 0, "first usable LBA 1 (over the header)");

	base(&t);
	t.sector_size = 1000;
	ok(gpt_check(&t, r, &e) < 0, "sector size 1000");

	base(&t);
	t.n = GPT_MAX_ENTRIES + 1;
	ok(gpt_check(&t, r, &e) < 0, "more entries than the table holds");

	uint64_t first, last;
	is_int(gpt_usable_bounds(4096, 100ULL << 20, &first, &last, &e), 0, "4K sectors");
	is_int(first, 6, "4K sectors: first usable 6");
	is_int(last, (100ULL << 20) / 4096 - 6, "4K sectors: last usable");
	ok(gpt_usable_bounds(512, GPT_MIN_DISK_SIZE - 512, &first, &last, &e) < 0,
	   "smaller than GPT_MIN_DISK_SIZE");
	is_int(gpt_usable_bounds(512, GPT_MIN_DISK_SIZE, &first, &last, &e), 0,
	       "GPT_MIN_DISK_SIZE itself");
}

static void put_le(uint8_t *p, int n, uint64_t v)
{
	for (int i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* A header whose entry array libfdisk would allocate: count and size from the disk. */
static void test_header_bounds(void)
{
	uint8_t h[512] = "EFI PART";
	struct err e = {{0}};
	uint64_t disk = DISK_SECTORS * 512;

	put_le(h + 72, 8, 2);
	put_le(h + 80, 4, 128);
	put_le(h + 84, 4, 128);
	is_int(gpt_header_bounds(h, 1, disk, &e), 0, "header: 128 entries of 128 bytes at LBA 2");
	put_le(h + 80, 4, 0xffffffff);
	ok(gpt_header_bounds(h, 1, disk, &e) < 0, "header: 2^32-1 entries");
	has_str(e.msg, "4294967295 entries of 128 bytes", "header: the count is named");
	put_le(h + 80, 4, GPT_MAX_ARRAY);
	is_int(gpt_header_bounds(h, 1, disk, &e), 0, "header: GPT_MAX_ARRAY entries");
	put_le(h + 80, 4, GPT_MAX_ARRAY + 1);
	ok(gpt_header_bounds(h, 1, disk, &e) < 0, "header: GPT_MAX_ARRAY + 1 entries");
	put_le(h + 80, 4, 128);
	put_le(h + 84, 4, 0x80000000);
	ok(gpt_header_bounds(h, 1, disk, &e) < 0, "header: 2 GiB entries");
	put_le(h + 84, 4, 128);
	put_le(h + 72, 8, 1ULL << 55);
	ok(gpt_header_bounds(h, 1, disk, &e) < 0, "header: entries at 2^55 (wraps in bytes)");
	put_le(h + 72, 8, DISK_SECTORS - 31);
	ok(gpt_header_bounds(h, 1, disk, &e) < 0, "header: entries running past the end");
	put_le(h + 72, 8, DISK_SECTORS - 32);
	is_int(gpt_header_bounds(h, 1, disk, &e), 0, "header: entries ending on the last byte");
	memcpy(h, "NOT GPT!", 8);
	put_le(h + 80, 4, 0xffffffff);
	is_int(gpt_header_bounds(h, 1, disk, &e), 0, "no signature: not a header, passes");
}

int main(void)
{
	test_header_bounds();
	test_edits();
	test_regions();
	test_labels_and_header();
	return tap_done();
}
