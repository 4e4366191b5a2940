#include "gpt.h"
#include "contract.h"

#include <errno.h>
#include <string.h>

const char *const gpt_part_labels[GPT_PART_COUNT] = {
	[GPT_PART_ESP] = CONTRACT_LABEL_ESP,
	[GPT_PART_ROOT_A] = CONTRACT_LABEL_ROOT_A,
	[GPT_PART_VERITY_A] = CONTRACT_LABEL_VERITY_A,
	[GPT_PART_ROOT_B] = CONTRACT_LABEL_ROOT_B,
	[GPT_PART_VERITY_B] = CONTRACT_LABEL_VERITY_B,
	[GPT_PART_DATA] = CONTRACT_LABEL_DATA,
};

/* The header and 16 KiB of entries, in sectors. */
static uint64_t reserved_sectors(uint32_t sector_size)
{
	return 1 + (16384 + sector_size - 1) / sector_size;
}

int gpt_usable_bounds(uint32_t sector_size, uint64_t disk_size, uint64_t *ret_first,
		      uint64_t *ret_last, struct err *e)
{
	uint64_t sectors, first, reserved;

	if (sector_size != 512 && sector_size != 4096)
		return err_set(e, EINVAL, "sector size %u (expected 512 or 4096)", sector_size);
	sectors = disk_size / sector_size;
	reserved = reserved_sectors(sector_size);
	first = 1 + reserved;
	if (sectors < first + 1 + reserved)
		return err_set(e, EINVAL, "%llu bytes: too small for a GPT",
			       (unsigned long long)disk_size);
	*ret_first = first;
	*ret_last = sectors - reserved - 1;
	return 0;
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int gpt_header_bounds(const uint8_t sector[512], uint64_t lba, uint64_t disk_size,
		      struct err *e)
{
	uint64_t entries_lba = get_le(sector + 72, 8), count = get_le(sector + 80, 4);
	uint64_t entry_size = get_le(sector + 84, 4), end;

	if (memcmp(sector, "EFI PART", 8) != 0)
		return 0;
	if (entry_size != 128 || count == 0 || count > GPT_MAX_ARRAY)
		return err_set(e, EINVAL, "the GPT header at LBA %llu: %llu entries of %llu bytes "
					  "(expected 1..%d of 128)",
			       (unsigned long long)lba, (unsigned long long)count,
			       (unsigned long long)entry_size, GPT_MAX_ARRAY);
	if (__builtin_mul_overflow(entries_lba, 512, &end) ||
	    __builtin_add_overflow(end, count * entry_size, &end) || end > disk_size)
		return err_set(e, ERANGE, "the GPT header at LBA %llu: its entries at LBA %llu are "
					  "not inside the disk",
			       (unsigned long long)lba, (unsigned long long)entries_lba);
	return 0;
}

static const char *name_of(const struct gpt_entry *p)
{
	return p->name[0] ? p->name : "unnamed";
}

static int check_usable(const struct gpt_table *t, struct err *e)
{
	uint64_t first, last;
	int r = gpt_usable_bounds(t->sector_size, t->disk_size, &first, &last, e);

	if (r < 0)
		return r;
	if (t->first_usable < first || t->first_usable > t->last_usable ||
	    t->last_usable > last)
		return err_set(e, EINVAL,
			       "usable sectors %llu..%llu: not inside the disk's %llu..%llu (%llu "
			       "bytes)",
			       (unsigned long long)t->first_usable,
			       (unsigned long long)t->last_usable, (unsigned long long)first,
			       (unsigned long long)last, (unsigned long long)t->disk_size);
	return 0;
}

/* The last sector of an entry, or -ERANGE when start + sectors - 1 does not fit. */
static int last_lba(const struct gpt_entry *p, uint64_t *ret)
{
	if (p->sectors == 0 || __builtin_add_overflow(p->start, p->sectors - 1, ret))
		return -ERANGE;
	return 0;
}

static int check_entry(const struct gpt_table *t, const struct gpt_entry *p, struct err *e)
{
	uint64_t last;

	if (p->sectors == 0)
		return err_set(e, EINVAL, "partition %u (%s): no sectors (size 0, or it ends before "
					  "it starts)",
			       p->partno, name_of(p));
	if (last_lba(p, &last) < 0 || p->start < t->first_usable || last > t->last_usable)
		return err_set(e, ERANGE,
			       "partition %u (%s): %llu sectors from sector %llu are not inside "
			       "the usable sectors %llu..%llu",
			       p->partno, name_of(p), (unsigned long long)p->sectors,
			       (unsigned long long)p->start, (unsigned long long)t->first_usable,
			       (unsigned long long)t->last_usable);
	return 0;
}

/* Only called on entries check_entry accepted. */
static int check_overlaps(const struct gpt_table *t, struct err *e)
{
	for (size_t i = 0; i < t->n; i++) {
		for (size_t j = i + 1; j < t->n; j++) {
			const struct gpt_entry *a = &t->entries[i], *b = &t->entries[j];
			uint64_t a_last = a->start + a->sectors - 1, b_last = b->start + b->sectors - 1;

			if (a->start > b_last || b->start > a_last)
				continue;
			return err_set(e, EINVAL,
				       "partition %u (%s, sectors %llu..%llu) overlaps partition "
				       "%u (%s, sectors %llu..%llu)",
				       b->partno, name_of(b), (unsigned long long)b->start,
				       (unsigned long long)b_last, a->partno, name_of(a),
				       (unsigned long long)a->start, (unsigned long long)a_last);
		}
	}
	return 0;
}

static int find_label(const struct gpt_table *t, const char *label, size_t *ret, struct err *e)
{
	size_t found = t->n;

	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->entries[i].name, label) != 0)
			continue;
		if (found < t->n)
			return err_set(e, EINVAL, "partitions %u and %u are both labelled %s",
				       t->entries[found].partno, t->entries[i].partno, label);
		found = i;
	}
	if (found == t->n)
		return err_set(e, ENOENT, "no partition labelled %s", label);
	*ret = found;
	return 0;
}

int gpt_check(const struct gpt_table *t, struct gpt_region ret[GPT_PART_COUNT], struct err *e)
{
	struct gpt_region out[GPT_PART_COUNT];
	int r;

	if (t->n > GPT_MAX_ENTRIES)
		return err_set(e, EINVAL, "%zu partitions (at most %d)", t->n, GPT_MAX_ENTRIES);
	r = check_usable(t, e);
	for (size_t i = 0; r == 0 && i < t->n; i++)
		r = check_entry(t, &t->entries[i], e);
	if (r == 0)
		r = check_overlaps(t, e);
	for (size_t i = 0; r == 0 && i < GPT_PART_COUNT; i++) {
		const struct gpt_entry *p;

		r = find_label(t, gpt_part_labels[i], &out[i].entry, e);
		if (r < 0)
			break;
		p = &t->entries[out[i].entry];
		/* last_usable * sector_size < disk_size (checked above), so none of these wrap */
		out[i].offset = p->start * t->sector_size;
		out[i].size = p->sectors * t->sector_size;
	}
	if (r < 0)
		return r;
	memcpy(ret, out, sizeof(out));
	return 0;
}
