#include "tarcheck.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 512
#define MAX_DEFECTS 8
#define NAMES 256 /* more entries than libarchive reads ahead of the one it returns */

static const char *const text_keys[] = {"path", "linkpath", "uname", "gname", "GNU.sparse.name",
					NULL};
static const char *const number_keys[] = {"size", "uid", "gid", "GNU.sparse.size",
					  "GNU.sparse.realsize", "GNU.sparse.numblocks",
					  "GNU.sparse.offset", "GNU.sparse.numbytes",
					  "GNU.sparse.major", "GNU.sparse.minor", NULL};

static bool key_in(const char *key, size_t len, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == len && memcmp(*list, key, len) == 0)
			return true;
	return false;
}

/* A non-negative decimal that fits int64_t, as GNU tar wants for sizes and ids. */
static bool decimal_ok(const char *v, size_t len, uint64_t *ret)
{
	uint64_t n = 0;

	if (len == 0 || len > 19)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if (n > INT64_MAX)
		return false;
	*ret = n;
	return true;
}

/* One record at buf[0..len): its length in *ret_len; key and value located. */
static int record_parse(const char *buf, size_t len, size_t *ret_len, const char **key,
			size_t *klen, const char **val, size_t *vlen, struct err *e)
{
	size_t n = 0, i = 0;
	const char *eq;

	if (buf[0] < '0' || buf[0] > '9')
		return err_set(e, EINVAL, "no decimal length");
	while (i < len && buf[i] >= '0' && buf[i] <= '9') {
		n = n * 10 + (size_t)(buf[i] - '0');
		if (n > len) /* also keeps n from overflowing */
			return err_set(e, EINVAL, "length runs past the end of the header (%zu bytes "
						  "left)", len);
		i++;
	}
	if (i == len || buf[i] != ' ')
		return err_set(e, EINVAL, "length not followed by a space");
	if (n < i + 3) /* " " + "k=" at the least, then the newline */
		return err_set(e, EINVAL, "length %zu is too short for a record", n);
	if (buf[n - 1] != '\n')
		return err_set(e, EINVAL, "record of %zu bytes does not end in a newline", n);
	*key = buf + i + 1;
	eq = memchr(*key, '=', n - 1 - (i + 1));
	if (!eq)
		return err_set(e, EINVAL, "no \"=\" in the record");
	*klen = (size_t)(eq - *key);
	if (*klen == 0)
		return err_set(e, EINVAL, "empty key");
	if (memchr(*key, '\0', *klen))
		return err_set(e, EINVAL, "NUL byte in a key");
	*val = eq + 1;
	*vlen = (size_t)(buf + n - 1 - *val);
	*ret_len = n;
	return 0;
}

/* Checks the records; *ret_size gets a valid "size" record's value (UINT64_MAX: none). */
static int records_check(const char *buf, size_t len, uint64_t *ret_size, struct err *e)
{
	size_t off = 0;
	int i = 1, r;

	*ret_size = UINT64_MAX;
	for (; off < len; i++) {
		const char *key = NULL, *val = NULL;
		size_t n = 0, klen = 0, vlen = 0;
		uint64_t num;

		r = record_parse(buf + off, len - off, &n, &key, &klen, &val, &vlen, e);
		if (r < 0)
			return err_prefix(e, r, "pax header: record %d (at byte %zu)", i, off);
		if (key_in(key, klen, text_keys) && memchr(val, '\0', vlen))
			return err_set(e, EINVAL, "pax header: record %d: NUL byte inside the value of "
						  "\"%.*s\"", i, (int)klen, key);
		if (key_in(key, klen, number_keys)) {
			if (!decimal_ok(val, vlen, &num))
				return err_set(e, EINVAL, "pax header: record %d: \"%.*s\" is not a "
							  "decimal from 0 to 2^63-1: \"%.*s\"", i,
					       (int)klen, key, (int)(vlen < 40 ? vlen : 40), val);
			if (klen == 4 && memcmp(key, "size", 4) == 0)
				*ret_size = num;
		}
		off += n;
	}
	return 0;
}

int pax_records_check(const char *buf, size_t len, struct err *e)
{
	uint64_t size;

	return records_check(buf, len, &size, e);
}

/* ---- following the blocks of a stream ---- */

struct defect {
	uint64_t pos;
	char msg[sizeof(((struct err *)0)->msg)];
};

struct seq_name {
	uint64_t pos;
	char name[256]; /* the ustar prefix and name of the entry's own header */
};

struct tar_check {
	uint64_t pos;       /* stream offset of the next byte fed */
	uint64_t seq_start; /* offset of the first header of the current sequence */
	bool seq_open;      /* extension headers seen, the entry's own header not yet */
	bool seq_pax;       /* the sequence has an 'x' header */
	uint64_t pax_size;  /* its "size" record, UINT64_MAX: none */
	unsigned char hdr[BLOCK];
	size_t hdr_used;
	uint64_t skip;      /* data and padding still to pass over */
	bool sparse_ext;    /* old GNU sparse extension blocks follow */
	char *pax;          /* an extended header being collected */
	char pax_type;
	size_t pax_len, pax_used;
	uint64_t pax_pad;
	bool done;          /* end of archive, or blocks libarchive will refuse anyway */
	struct defect defects[MAX_DEFECTS];
	size_t ndefects;
	struct seq_name names[NAMES];
	size_t nnames; /* names seen, the last NAMES kept */
};

struct tar_check *tar_check_new(void)
{
	struct tar_check *c = calloc(1, sizeof(*c));

	if (c)
		c->pax_size = UINT64_MAX;
	return c;
}

void tar_check_free(struct tar_check *c)
{
	if (!c)
		return;
	free(c->pax);
	free(c);
}

const char *tar_check_defect_at(const struct tar_check *c, uint64_t pos)
{
	for (size_t i = 0; c && i < c->ndefects; i++)
		if (c->defects[i].pos == pos)
			return c->defects[i].msg;
	return NULL;
}

void tar_check_after(const struct tar_check *c, int64_t prev, const char **ret_name,
		     const char **ret_defect)
{
	uint64_t best = UINT64_MAX;

	*ret_name = *ret_defect = NULL;
	for (size_t i = 0; i < NAMES && i < c->nnames; i++)
		if ((int64_t)c->names[i].pos > prev && c->names[i].pos < best)
			best = c->names[i].pos;
	for (size_t i = 0; i < c->ndefects; i++)
		if ((int64_t)c->defects[i].pos > prev && c->defects[i].pos < best)
			best = c->defects[i].pos;
	for (size_t i = 0; i < NAMES && i < c->nnames; i++)
		if (c->names[i].pos == best)
			*ret_name = c->names[i].name;
	*ret_defect = tar_check_defect_at(c, best);
}

/* At the first header of a sequence (an extended header's own name, until the entry's header
 * replaces it), and at the entry's header. */
static void add_name(struct tar_check *c, const unsigned char *h, bool first)
{
	struct seq_name *n = &c->names[(first ? c->nnames++ : c->nnames - 1) % NAMES];
	const char *prefix = (const char *)h + 345;
	bool ustar = memcmp(h + 257, "ustar", 5) == 0;

	n->pos = c->seq_start;
	if (ustar && prefix[0])
		snprintf(n->name, sizeof(n->name), "%.155s/%.100s", prefix, (const char *)h);
	else
		snprintf(n->name, sizeof(n->name), "%.100s", (const char *)h);
}

static void add_defect(struct tar_check *c, const char *msg)
{
	if (c->ndefects == MAX_DEFECTS)
		return;
	c->defects[c->ndefects].pos = c->seq_start;
	snprintf(c->defects[c->ndefects].msg, sizeof(c->defects[0].msg), "%s", msg);
	c->ndefects++;
}

static bool checksum_ok(const unsigned char *h)
{
	unsigned long want = 0, sum = 0;
	long ssum = 0;
	int i = 148;

	while (i < 156 && (h[i] == ' ' || h[i] == '\0'))
		i++;
	for (; i < 156 && h[i] >= '0' && h[i] <= '7'; i++)
		want = want * 8 + (unsigned long)(h[i] - '0');
	for (i = 0; i < BLOCK; i++) {
		unsigned char b = i >= 148 && i < 156 ? ' ' : h[i];
		sum += b;
		ssum += (signed char)b;
	}
	return sum == want || (unsigned long)ssum == want;
}

/* The size field, octal or base-256; false when negative or too large to follow. */
static bool size_field(const unsigned char *f, uint64_t *ret)
{
	uint64_t n = 0;
	int i = 0;

	if (f[0] & 0x80) {
		if (f[0] == 0xff)
			return false;
		n = f[0] & 0x7f;
		for (i = 1; i < 12; i++) {
			if (n >> 55)
				return false;
			n = n << 8 | f[i];
		}
	} else {
		while (i < 12 && (f[i] == ' ' || f[i] == '\0'))
			i++;
		for (; i < 12 && f[i] >= '0' && f[i] <= '7'; i++)
			n = n * 8 + (uint64_t)(f[i] - '0');
	}
	if (n > INT64_MAX - BLOCK)
		return false;
	*ret = n;
	return true;
}

static uint64_t padded(uint64_t n)
{
	return (n + BLOCK - 1) & ~(uint64_t)(BLOCK - 1);
}

static void pax_done(struct tar_check *c, char type)
{
	struct err e = {0};
	uint64_t size;

	if (records_check(c->pax, c->pax_len, &size, &e) < 0)
		add_defect(c, e.msg);
	else if (type != 'g')
		c->seq_pax = true, c->pax_size = size;
	free(c->pax);
	c->pax = NULL;
	c->skip = c->pax_pad;
}

/* Handles a complete header block, as libarchive's tar reader frames them. */
static void header(struct tar_check *c)
{
	const unsigned char *h = c->hdr;
	uint64_t size = 0;
	char type = (char)h[156];
	size_t i;

	for (i = 0; i < BLOCK && !h[i]; i++)
		;
	if (i == BLOCK || !checksum_ok(h)) {
		c->done = true; /* end of archive, or a header libarchive refuses */
		return;
	}
	if (!c->seq_open) {
		c->seq_start = c->pos - BLOCK;
		c->seq_open = true;
		add_name(c, h, true);
	}
	if (!size_field(h + 124, &size)) {
		c->done = true; /* negative or huge: libarchive refuses it, we name it */
		return;
	}
	switch (type) {
	case 'x':
	case 'X':
	case 'g':
		if (size > PAX_HEADER_MAX) {
			char msg[100];

			snprintf(msg, sizeof(msg), "pax header of %llu bytes (more than %u)",
				 (unsigned long long)size, PAX_HEADER_MAX);
			add_defect(c, msg);
			c->skip = padded(size);
			return;
		}
		c->pax = malloc(size ? size : 1);
		if (!c->pax) {
			c->done = true;
			return;
		}
		c->pax_len = size;
		c->pax_type = type;
		c->pax_used = 0;
		c->pax_pad = padded(size) - size;
		if (size == 0)
			pax_done(c, type);
		return;
	case 'L':
	case 'K':
	case 'A':
	case 'V':
		c->skip = padded(size);
		return;
	case '1':
		if (!c->seq_pax)
			size = 0;
		break;
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
		size = 0;
		break;
	case 'S':
		c->sparse_ext = h[482] != 0;
		break;
	}
	if (c->seq_pax && c->pax_size != UINT64_MAX) /* it overrides the header, any type */
		size = c->pax_size;
	add_name(c, h, false);
	c->skip = padded(size);
	c->seq_open = c->seq_pax = false;
	c->pax_size = UINT64_MAX;
}

void tar_check_feed(struct tar_check *c, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len && !c->done) {
		size_t n;

		if (c->pax) {
			n = c->pax_len - c->pax_used < len ? c->pax_len - c->pax_used : len;
			memcpy(c->pax + c->pax_used, p, n);
			c->pax_used += n;
			if (c->pax_used == c->pax_len)
				pax_done(c, c->pax_type);
		} else if (c->skip) {
			n = c->skip < len ? (size_t)c->skip : len;
			c->skip -= n;
		} else {
			n = BLOCK - c->hdr_used < len ? BLOCK - c->hdr_used : len;
			memcpy(c->hdr + c->hdr_used, p, n);
			c->hdr_used += n;
		}
		p += n;
		len -= n;
		c->pos += n;
		if (c->hdr_used == BLOCK) {
			c->hdr_used = 0;
			if (c->sparse_ext)
				c->sparse_ext = c->hdr[504] != 0; /* another extension block follows */
			else
				header(c);
		}
	}
}
