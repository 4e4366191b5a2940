/* verity_check_run, the installer's per-block check: a tree made by verity_create over data
 * with zero and non-zero blocks accepts every block and maps the zero ones; a flipped byte
 * anywhere is caught at its block; a run of "hole" blocks (data NULL) passes only where the
 * data really is zero; blocks outside the tree are refused; the single-block case compares
 * with the root; every algorithm and a small block size. verity_create streams the tree
 * through the hash file a few MiB at a time: a tree of many such windows per level is the
 * same, byte for byte, as veritysetup's (when veritysetup is installed), and passes
 * verity_check. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/verity.h"
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

static bool same_file(const char *a, const char *b)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "cmp -s %s %s", a, b);
	return system(cmd) == 0;
}

/* 512-byte blocks (16 digests per hash block): 8192 hash blocks per 4 MiB window, so level 0
 * of 300000 data blocks takes three windows and level 1 reads level 0 back in several. */
static void check_streamed(void)
{
	const uint64_t blocks = 300000;
	char dpath[] = "/tmp/stele-test-verity-sd.XXXXXX",
	     hpath[] = "/tmp/stele-test-verity-sh.XXXXXX", ref[64], cmd[512];
	int dfd = mkstemp(dpath), hfd = mkstemp(hpath);
	struct verity_params p;
	uint8_t root[VERITY_MAX_DIGEST], blk[512];
	struct err e;
	long bad;

	verity_params_init(&p);
	p.data_block_size = p.hash_block_size = 512;
	p.data_blocks = blocks;
	p.salt_size = 4;
	memcpy(p.salt, "\x01\x02\x03\x04", 4);
	ok(dfd >= 0 && hfd >= 0 && ftruncate(dfd, (off_t)(blocks * 512)) == 0, "streamed: files");
	for (uint64_t b = 0; b < blocks; b += 997) { /* data here and there, holes between */
		memset(blk, (int)(b % 251) + 1, sizeof(blk));
		if (pwrite(dfd, blk, sizeof(blk), (off_t)(b * 512)) != (ssize_t)sizeof(blk))
			ok(0, "streamed: writing data");
	}
	is_int(verity_create(dfd, hfd, &p, 2, root, &e), 0, "streamed: tree made");
	bad = verity_check(dfd, hfd, &p, root, 2, 0, NULL, NULL, &e);
	is_int(bad, 0, "streamed: verity_check passes the tree and every block");
	if (pwrite(dfd, "x", 1, 997 * 200 * 512 + 7) != 1)
		ok(0, "streamed: changing a byte");
	bad = verity_check(dfd, hfd, &p, root, 2, 0, NULL, NULL, &e);
	is_int(bad, 1, "streamed: a changed data block in a later window is caught");
	snprintf(ref, sizeof(ref), "%s.ref", hpath);
	snprintf(cmd, sizeof(cmd),
		 "veritysetup format --data-block-size 512 --hash-block-size 512 --salt 01020304 "
		 "--uuid 00000000-0000-0000-0000-000000000000 --data-blocks %llu %s %s "
		 ">/dev/null 2>&1", (unsigned long long)blocks, dpath, ref);
	if (system("command -v veritysetup >/dev/null 2>&1") != 0) {
		ok(1, "# SKIP streamed: veritysetup missing");
	} else {
		/* the reference hashes the data as written above, before the changed byte */
		uint8_t orig = (uint8_t)(997 * 200 % 251 + 1);
		ok(pwrite(dfd, &orig, 1, 997 * 200 * 512 + 7) == 1 && system(cmd) == 0,
		   "streamed: veritysetup format ran");
		ok(same_file(hpath, ref), "streamed: identical to veritysetup's hash file");
		unlink(ref);
	}
	close(dfd);
	close(hfd);
	unlink(dpath);
	unlink(hpath);
}

/* verity_stream, fed in runs of uneven lengths with the zero runs as holes (data NULL), makes
 * the same hash file and root as verity_create over the same data. */
static void check_stream_api(const char *alg, uint32_t bs, uint64_t blocks, uint64_t stride)
{
	char dpath[] = "/tmp/stele-test-verity-ad.XXXXXX",
	     hpath[] = "/tmp/stele-test-verity-ah.XXXXXX",
	     spath[] = "/tmp/stele-test-verity-as.XXXXXX";
	int dfd = mkstemp(dpath), hfd = mkstemp(hpath), sfd = mkstemp(spath);
	uint8_t root[VERITY_MAX_DIGEST], sroot[VERITY_MAX_DIGEST], *data = calloc(blocks, bs);
	struct verity_stream *vs = NULL;
	struct verity_params p;
	struct verity_layout l;
	struct err e;
	uint64_t b = 0, run = 1;
	int r;

	verity_params_init(&p);
	snprintf(p.hash_name, sizeof(p.hash_name), "%s", alg);
	p.data_block_size = p.hash_block_size = bs;
	p.data_blocks = blocks;
	p.hash_offset = 4096;
	p.salt_size = 3;
	memcpy(p.salt, "abc", 3);
	for (uint64_t i = 0; i < blocks; i += stride) /* data here and there, zeros between */
		memset(data + i * bs, (int)(i % 251) + 1, bs / 2);
	ok(dfd >= 0 && hfd >= 0 && sfd >= 0 && data &&
	   write(dfd, data, (size_t)(blocks * bs)) == (ssize_t)(blocks * bs),
	   "stream %s/%u/%llu: files", alg, bs, (unsigned long long)blocks);
	is_int(verity_create(dfd, hfd, &p, 2, root, &e), 0, "stream %s/%u/%llu: verity_create",
	       alg, bs, (unsigned long long)blocks);
	r = verity_stream_new(&p, sfd, &vs, &e);
	while (r == 0 && b < blocks) {
		uint64_t n = blocks - b < run ? blocks - b : run;
		bool zero = true;

		for (uint64_t i = 0; i < n * bs && zero; i++)
			zero = data[b * bs + i] == 0;
		r = verity_stream_add(vs, zero ? NULL : data + b * bs, n, &e);
		b += n;
		run = run * 3 % 1021 + 1;
	}
	is_int(verity_stream_add(vs, data, 1, &e), -EINVAL,
	       "stream %s/%u/%llu: a block past the end is refused", alg, bs,
	       (unsigned long long)blocks);
	if (r == 0)
		r = verity_stream_finish(vs, sroot, &e);
	verity_stream_free(vs);
	is_int(r, 0, "stream %s/%u/%llu: fed and finished", alg, bs, (unsigned long long)blocks);
	ok(verity_layout(&p, &l, &e) == 0 && memcmp(root, sroot, l.digest_size) == 0,
	   "stream %s/%u/%llu: same root", alg, bs, (unsigned long long)blocks);
	ok(same_file(hpath, spath), "stream %s/%u/%llu: same hash file", alg, bs,
	   (unsigned long long)blocks);
	free(data);
	close(dfd);
	close(hfd);
	close(sfd);
	unlink(dpath);
	unlink(hpath);
	unlink(spath);
}

static void check_stream_short(void)
{
	struct verity_stream *vs = NULL;
	struct verity_params p;
	uint8_t root[VERITY_MAX_DIGEST];
	struct err e;

	verity_params_init(&p);
	p.data_blocks = 3;
	ok(verity_stream_new(&p, -1, &vs, &e) == 0 && verity_stream_add(vs, NULL, 2, &e) == 0,
	   "stream: two of three blocks fed");
	is_int(verity_stream_finish(vs, root, &e), -EINVAL, "stream: finishing short is refused");
	verity_stream_free(vs);
}

int main(void)
{
	check_streamed();
	check_stream_api("sha256", 512, 300000, 997); /* several windows of level 0 */
	check_stream_api("sha256", 4096, 1, 1);	     /* no tree */
	check_stream_api("sha256", 4096, 1, 2);	     /* no tree, a zero block */
	check_stream_api("sha256", 4096, 128, 5);     /* one leaf block */
	check_stream_api("sha256", 4096, 700, 3);
	check_stream_api("sha512", 4096, 65, 2);
	check_stream_api("sha1", 4096, 5000, 7);
	check_stream_short();
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
