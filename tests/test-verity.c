/* verity_check_run, the installer's per-block check: a tree made by verity_create over data
 * with zero and non-zero blocks accepts every block and maps the zero ones; a flipped byte
 * anywhere is caught at its block; a run of "hole" blocks (data NULL) passes only where the
 * data really is zero; blocks outside the tree are refused; the single-block case compares
 * with the root; every algorithm and a small block size. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/verity.h"
#include "tap.h"

struct tree {
	struct verity_params p;
	struct verity_layout l;
	uint8_t *data, *hash, root[VERITY_MAX_DIGEST];
	size_t data_len;
};

/* blocks of data: block i is zero when i % 3 == 1, else filled from i */
static int make_tree(struct tree *t, const char *alg, uint32_t bs, uint64_t blocks)
{
	char dpath[] = "/tmp/stele-test-verity-d.XXXXXX",
	     hpath[] = "/tmp/stele-test-verity-h.XXXXXX";
	int dfd = mkstemp(dpath), hfd = mkstemp(hpath);
	struct err e;
	off_t hlen;
	int r = -1;

	memset(t, 0, sizeof(*t));
	verity_params_init(&t->p);
	snprintf(t->p.hash_name, sizeof(t->p.hash_name), "%s", alg);
	t->p.data_block_size = t->p.hash_block_size = bs;
	t->p.data_blocks = blocks;
	t->p.salt_size = 32;
	memset(t->p.salt, 0x5a, 32);
	t->data_len = (size_t)(bs * blocks);
	t->data = calloc(1, t->data_len);
	for (uint64_t i = 0; i < blocks; i++)
		if (i % 3 != 1)
			for (uint32_t j = 0; j < bs; j++)
				t->data[i * bs + j] = (uint8_t)(i * 7 + j);
	if (dfd < 0 || hfd < 0 || write(dfd, t->data, t->data_len) != (ssize_t)t->data_len)
		goto out;
	if (verity_create(dfd, hfd, &t->p, 2, t->root, &e) < 0 ||
	    verity_layout(&t->p, &t->l, &e) < 0)
		goto out;
	hlen = lseek(hfd, 0, SEEK_END);
	t->hash = malloc((size_t)hlen);
	if (hlen <= 0 || pread(hfd, t->hash, (size_t)hlen, 0) != hlen)
		goto out;
	r = 0;
out:
	close(dfd);
	close(hfd);
	unlink(dpath);
	unlink(hpath);
	return r;
}

static void free_tree(struct tree *t)
{
	free(t->data);
	free(t->hash);
}

static const uint8_t *tree_of(const struct tree *t)
{
	return t->hash + t->l.tree_offset;
}

static void check_all(const char *alg, uint32_t bs, uint64_t blocks)
{
	struct tree t;
	uint8_t *zmap = malloc(blocks);
	uint64_t bad = 99;
	int r, zeros_right = 1;

	if (!ok(make_tree(&t, alg, bs, blocks) == 0, "%s/%u/%llu: tree made", alg, bs,
	        (unsigned long long)blocks)) {
		free(zmap);
		return;
	}
	r = verity_check_run(&t.p, &t.l, tree_of(&t), t.root, 0, blocks, t.data, zmap, &bad);
	is_int(r, 0, "%s/%u/%llu: every block matches", alg, bs, (unsigned long long)blocks);
	for (uint64_t i = 0; i < blocks; i++)
		zeros_right &= zmap[i] == (i % 3 == 1);
	ok(zeros_right, "%s/%u/%llu: the zero blocks are mapped", alg, bs,
	   (unsigned long long)blocks);
	for (uint64_t k = 0; k < blocks; k += blocks / 5 + 1) {
		t.data[k * bs + bs / 2] ^= 0x01;
		r = verity_check_run(&t.p, &t.l, tree_of(&t), t.root, 0, blocks, t.data, NULL,
		                     &bad);
		ok(r == -EBADMSG && bad == k,
		   "%s/%u/%llu: a flipped bit in block %llu is caught there", alg, bs,
		   (unsigned long long)blocks, (unsigned long long)k);
		t.data[k * bs + bs / 2] ^= 0x01;
	}
	if (blocks > 1) {
		/* a sub-run starting mid-tree */
		r = verity_check_run(&t.p, &t.l, tree_of(&t), t.root, 1, blocks - 1, t.data + bs,
		                     NULL, &bad);
		is_int(r, 0, "%s/%u/%llu: a run from block 1", alg, bs, (unsigned long long)blocks);
		r = verity_check_run(&t.p, &t.l, tree_of(&t), t.root, 1, 1, NULL, NULL, &bad);
		is_int(r, 0, "%s/%u/%llu: block 1 as a hole (it is zero)", alg, bs,
		       (unsigned long long)blocks);
		r = verity_check_run(&t.p, &t.l, tree_of(&t), t.root, 0, 2, NULL, NULL, &bad);
		ok(r == -EBADMSG && bad == 0,
		   "%s/%u/%llu: blocks 0-1 as a hole: block 0 is not zero", alg, bs,
		   (unsigned long long)blocks);
	}
	r = verity_check_run(&t.p, &t.l, tree_of(&t), t.root, blocks, 1, t.data, NULL, &bad);
	is_int(r, -EINVAL, "%s/%u/%llu: a block past the end is refused", alg, bs,
	       (unsigned long long)blocks);
	r = verity_check_run(&t.p, &t.l, tree_of(&t), t.root, 1, UINT64_MAX, t.data, NULL, &bad);
	is_int(r, -EINVAL, "%s/%u/%llu: a count that wraps is refused", alg, bs,
	       (unsigned long long)blocks);
	free(zmap);
	free_tree(&t);
}

int main(void)
{
	check_all("sha256", 4096, 1); /* no tree: the root is the block's digest */
	check_all("sha256", 4096, 2);
	check_all("sha256", 4096, 129); /* two leaf blocks */
	check_all("sha256", 4096, 700);
	check_all("sha512", 4096, 65);
	check_all("sha1", 4096, 300);
	check_all("sha256", 512, 40);  /* blocks smaller than the zero buffer's page */
	check_all("sha256", 65536, 5); /* larger than it */
	return tap_done();
}
