#include "gptgrow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpt.h"

#define HDR_SIZE 92
#define ENTRY_SIZE 128
#define ALIGN_BYTES (1u << 20)

uint32_t gpt_crc32(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t c = 0xffffffffu;

	while (len--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c >> 1 ^ (0xedb88320u & -(c & 1));
	}
	return ~c;
}

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

static int rw_all(int fd, void *buf, size_t len, uint64_t off, bool write_it, struct err *e)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = write_it ? pwrite(fd, p, len, (off_t)off) : pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_sys(e, n < 0 ? errno : EIO, "%s the GPT at byte %llu",
				       write_it ? "writing" : "reading", (unsigned long long)off);
		p += n, len -= (size_t)n, off += (uint64_t)n;
	}
	return 0;
}

struct hdr {
	uint64_t my_lba, alt_lba, first_usable, last_usable, entries_lba;
	uint32_t n_entries, entries_crc;
};

static int hdr_decode(uint8_t *s, uint32_t ss, uint64_t lba, uint64_t disk_sectors,
		      struct hdr *h, struct err *e)
{
	uint32_t hsize = (uint32_t)get_le(s + 12, 4), crc = (uint32_t)get_le(s + 16, 4);

	if (memcmp(s, "EFI PART", 8) != 0)
		return err_set(e, EINVAL, "no GPT header at LBA %llu", (unsigned long long)lba);
	if (hsize < HDR_SIZE || hsize > ss)
		return err_set(e, EINVAL, "GPT header at LBA %llu: size %u", (unsigned long long)lba,
			       hsize);
	put_le(s + 16, 4, 0);
	if (gpt_crc32(s, hsize) != crc)
		return err_set(e, EINVAL, "GPT header at LBA %llu: CRC does not match",
			       (unsigned long long)lba);
	put_le(s + 16, 4, crc);
	h->my_lba = get_le(s + 24, 8);
	h->alt_lba = get_le(s + 32, 8);
	h->first_usable = get_le(s + 40, 8);
	h->last_usable = get_le(s + 48, 8);
	h->entries_lba = get_le(s + 72, 8);
	h->n_entries = (uint32_t)get_le(s + 80, 4);
	h->entries_crc = (uint32_t)get_le(s + 88, 4);
	if (h->my_lba != lba || get_le(s + 84, 4) != ENTRY_SIZE || h->n_entries == 0 ||
	    h->n_entries > GPT_MAX_ARRAY || h->entries_lba < 2 || h->entries_lba >= disk_sectors ||
	    h->first_usable > h->last_usable || h->last_usable >= disk_sectors ||
	    h->alt_lba == 0 || h->alt_lba == lba)
		return err_set(e, EINVAL, "GPT header at LBA %llu: fields out of range",
			       (unsigned long long)lba);
	return 0;
}

static void hdr_seal(uint8_t *s, uint32_t hsize)
{
	put_le(s + 16, 4, 0);
	put_le(s + 16, 4, gpt_crc32(s, hsize));
}

static bool entry_is(const uint8_t *ent, const char *label)
{
	size_t n = strlen(label);

	if (n > 35)
		return false;
	for (size_t i = 0; i < 36; i++) {
		uint16_t ch = (uint16_t)get_le(ent + 56 + 2 * i, 2);
		if (i < n ? ch != (unsigned char)label[i] : (i == n && ch != 0))
			return false;
		if (i > n)
			break;
	}
	return true;
}

static bool entry_used(const uint8_t *ent)
{
	static const uint8_t zero[16];

	return memcmp(ent, zero, 16) != 0;
}

/* The entry named label, which must end after every other entry. */
static int find_last(const uint8_t *ents, uint32_t n, const char *label, uint32_t *ret,
		     struct err *e)
{
	uint64_t max_end = 0;
	uint32_t found = n, at_max = n;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *p = ents + (size_t)i * ENTRY_SIZE;
		uint64_t end = get_le(p + 40, 8);

		if (!entry_used(p))
			continue;
		if (entry_is(p, label))
			found = i;
		if (end >= max_end)
			max_end = end, at_max = i;
	}
	if (found == n)
		return err_set(e, ENOENT, "no partition labelled %s", label);
	if (at_max != found)
		return err_set(e, EXDEV, "partition %s is not the last on the disk: it cannot grow",
			       label);
	*ret = found;
	return 0;
}

int gpt_grow_last(int fd, uint64_t disk_size, uint32_t ss, const char *label,
		  struct gpt_grow *ret, struct err *e)
{
	uint64_t sectors = disk_size / ss, last, ent_sectors, new_last_usable, align, new_end, old_end;
	uint8_t *prim = NULL, *back = NULL, *ents = NULL, mbr[512];
	size_t ent_bytes;
	uint32_t idx = 0, hsize;
	struct hdr h;
	int r;

	memset(ret, 0, sizeof(*ret));
	if ((ss != 512 && ss != 4096) || sectors < 68)
		return err_set(e, EINVAL, "not a GPT disk (%llu bytes, %u-byte sectors)",
			       (unsigned long long)disk_size, ss);
	last = sectors - 1;
	prim = calloc(1, ss);
	back = calloc(1, ss);
	if (!prim || !back) {
		r = err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	r = rw_all(fd, prim, ss, ss, false, e);
	if (r == 0)
		r = hdr_decode(prim, ss, 1, sectors, &h, e);
	if (r < 0)
		goto out;
	if (h.alt_lba == last)
		goto out; /* the GPT already ends at the disk's end */
	if (h.alt_lba > last) {
		r = err_set(e, EINVAL, "the GPT's backup header (LBA %llu) lies past the disk's end "
				       "(LBA %llu)", (unsigned long long)h.alt_lba,
			    (unsigned long long)last);
		goto out;
	}
	ent_bytes = (size_t)h.n_entries * ENTRY_SIZE;
	ent_sectors = (ent_bytes + ss - 1) / ss;
	if (h.entries_lba + ent_sectors > h.first_usable || last < ent_sectors + 2 ||
	    !(ents = calloc(1, ent_sectors * ss))) {
		r = err_set(e, ents ? EINVAL : ENOMEM, "GPT entries: out of range or out of memory");
		goto out;
	}
	r = rw_all(fd, ents, ent_sectors * ss, h.entries_lba * ss, false, e);
	if (r == 0 && gpt_crc32(ents, ent_bytes) != h.entries_crc)
		r = err_set(e, EINVAL, "GPT entries: CRC does not match");
	/* the old backup must hold too: a table we cannot fully trust is not rewritten */
	if (r == 0)
		r = rw_all(fd, back, ss, h.alt_lba * ss, false, e);
	if (r == 0)
		r = hdr_decode(back, ss, h.alt_lba, sectors, &(struct hdr){0}, e);
	if (r == 0)
		r = find_last(ents, h.n_entries, label, &idx, e);
	if (r < 0)
		goto out;
	new_last_usable = last - ent_sectors - 1;
	align = ALIGN_BYTES / ss;
	new_end = (new_last_usable + 1) / align * align - 1;
	old_end = get_le(ents + (size_t)idx * ENTRY_SIZE + 40, 8);
	ret->partno = idx + 1;
	ret->old_sectors = old_end - get_le(ents + (size_t)idx * ENTRY_SIZE + 32, 8) + 1;
	ret->new_sectors = ret->old_sectors;
	if (new_end <= old_end || new_last_usable <= h.last_usable)
		goto out; /* less than 1 MiB more: not worth a rewrite */
	put_le(ents + (size_t)idx * ENTRY_SIZE + 40, 8, new_end);
	ret->new_sectors = new_end - get_le(ents + (size_t)idx * ENTRY_SIZE + 32, 8) + 1;

	hsize = (uint32_t)get_le(prim + 12, 4);
	put_le(prim + 32, 8, last);
	put_le(prim + 48, 8, new_last_usable);
	put_le(prim + 88, 4, gpt_crc32(ents, ent_bytes));
	memcpy(back, prim, ss);
	put_le(back + 24, 8, last);
	put_le(back + 32, 8, 1);
	put_le(back + 72, 8, last - ent_sectors);
	hdr_seal(prim, hsize);
	hdr_seal(back, hsize);

	r = rw_all(fd, ents, ent_sectors * ss, (last - ent_sectors) * ss, true, e);
	if (r == 0)
		r = rw_all(fd, back, ss, last * ss, true, e);
	if (r == 0 && fsync(fd) < 0)
		r = err_sys(e, errno, "syncing the new backup GPT");
	if (r == 0)
		r = rw_all(fd, mbr, sizeof(mbr), 0, false, e);
	if (r == 0 && mbr[446 + 4] == 0xee) {
		put_le(mbr + 446 + 12, 4, sectors - 1 > 0xffffffffu ? 0xffffffffu : sectors - 1);
		r = rw_all(fd, mbr, sizeof(mbr), 0, true, e);
	}
	if (r == 0)
		r = rw_all(fd, ents, ent_sectors * ss, h.entries_lba * ss, true, e);
	if (r == 0 && fsync(fd) < 0)
		r = err_sys(e, errno, "syncing the GPT entries");
	if (r == 0)
		r = rw_all(fd, prim, ss, ss, true, e);
	if (r == 0 && fsync(fd) < 0)
		r = err_sys(e, errno, "syncing the GPT header");
	if (r == 0)
		ret->grown = true;
out:
	free(prim);
	free(back);
	free(ents);
	return r;
}
