/* `stele verity DATA HASHFILE`: a drop-in for `veritysetup format` that prints the root hash. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/hash.h"
#include "lib/input.h"
#include "lib/verity.h"
#include "commands.h"

void cmd_verity_help(FILE *f)
{
	fprintf(f,
		"Usage: stele verity DATA HASHFILE [options]\n"
		"\n"
		"Computes the dm-verity hash tree of DATA and writes superblock and tree to HASHFILE\n"
		"(created if missing), byte for byte as `veritysetup format` does with the same salt\n"
		"and UUID. Prints the root hash. Hashing uses every core.\n"
		"\n"
		"Options:\n"
		"      --salt HEX          salt in hex, or - for none (default: 32 random bytes)\n"
		"      --uuid UUID         superblock UUID (default: random)\n"
		"      --hash-offset N     byte offset of the superblock in HASHFILE (default 0)\n"
		"      --hash NAME         sha256 (default), sha512 or sha1\n"
		"      --data-blocks N     blocks of DATA to hash (default: all of it)\n"
		"      --threads N         hashing threads (default: one per core)\n"
		"      --json              print every parameter as JSON\n"
		"  -h, --help              this help\n");
}

static int parse_uuid(const char *s, uint8_t out[16])
{
	char hex[33];
	size_t n = 0, len;

	for (; *s && n < 32; s++)
		if (*s != '-')
			hex[n++] = *s;
	hex[n] = '\0';
	if (*s || n != 32 || verity_hex_decode(hex, out, 16, &len) < 0)
		return -EINVAL;
	return 0;
}

static void format_uuid(const uint8_t u[16], char out[37])
{
	char hex[33];

	hex_encode(u, 16, hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static int parse_u64(const char *s, uint64_t *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(s, &end, 10);
	return errno || *end || !*s || *s == '-' ? -EINVAL : 0;
}

struct verity_cli {
	struct verity_params p;
	bool salt_set, uuid_set, blocks_set, json;
	unsigned threads;
};

static int parse_args(int argc, char **argv, struct verity_cli *c)
{
	static const struct option opts[] = {
		{"salt", required_argument, NULL, 's'},	   {"uuid", required_argument, NULL, 'u'},
		{"hash-offset", required_argument, NULL, 'o'}, {"hash", required_argument, NULL, 'a'},
		{"data-blocks", required_argument, NULL, 'b'}, {"threads", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},	       {"help", no_argument, NULL, 'h'},
		{0},
	};
	uint64_t v;
	size_t len;
	int ch;

	verity_params_init(&c->p);
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			c->salt_set = true;
			if (strcmp(optarg, "-") == 0)
				c->p.salt_size = 0;
			else if (verity_hex_decode(optarg, c->p.salt, VERITY_MAX_SALT, &len) < 0)
				return fprintf(stderr, "stele verity: --salt: expected hex\n"), -1;
			else
				c->p.salt_size = (uint16_t)len;
			break;
		case 'u':
			c->uuid_set = true;
			if (parse_uuid(optarg, c->p.uuid) < 0)
				return fprintf(stderr, "stele verity: --uuid: expected a UUID\n"), -1;
			break;
		case 'o':
			if (parse_u64(optarg, &c->p.hash_offset) < 0 || c->p.hash_offset % 512)
				return fprintf(stderr, "stele verity: --hash-offset: expected a "
						       "multiple of 512\n"), -1;
			break;
		case 'a':
			snprintf(c->p.hash_name, sizeof(c->p.hash_name), "%s", optarg);
			break;
		case 'b':
			c->blocks_set = true;
			if (parse_u64(optarg, &c->p.data_blocks) < 0 || !c->p.data_blocks)
				return fprintf(stderr, "stele verity: --data-blocks: expected a "
						       "positive number\n"), -1;
			break;
		case 't':
			if (parse_u64(optarg, &v) < 0 || v < 1 || v > 64)
				return fprintf(stderr, "stele verity: --threads: 1..64\n"), -1;
			c->threads = (unsigned)v;
			break;
		case 'j':
			c->json = true;
			break;
		case 'h':
			cmd_verity_help(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	if (argc - optind != 2)
		return fprintf(stderr, "stele verity: expected DATA and HASHFILE\n"), -1;
	return 0;
}

static void print_json(const struct verity_cli *c, const char *root_hex)
{
	char salt[2 * VERITY_MAX_SALT + 1], uuid[37];

	hex_encode(c->p.salt, c->p.salt_size, salt);
	format_uuid(c->p.uuid, uuid);
	printf("{\"root_hash\": \"%s\", \"hash\": \"%s\", \"salt\": \"%s\", \"uuid\": \"%s\", "
	       "\"data_block_size\": %u, \"hash_block_size\": %u, \"data_blocks\": %llu, "
	       "\"hash_offset\": %llu}\n",
	       root_hex, c->p.hash_name, salt, uuid, c->p.data_block_size, c->p.hash_block_size,
	       (unsigned long long)c->p.data_blocks, (unsigned long long)c->p.hash_offset);
}

int cmd_verity(int argc, char **argv)
{
	struct verity_cli c = {0};
	struct verity_layout l;
	uint8_t root[VERITY_MAX_DIGEST];
	char root_hex[2 * VERITY_MAX_DIGEST + 1];
	struct err e = {{0}};
	struct stat st;
	int dfd = -1, hfd = -1, rc = 1;
	bool created = false;
	uint64_t have;
	off_t end;

	if (parse_args(argc, argv, &c) < 0)
		return EXIT_USAGE;
	if (input_open(argv[optind], O_RDONLY, INPUT_REG | INPUT_BLK,
		       "a data file or block device", &dfd, NULL, &e) < 0 ||
	    fstat(dfd, &st) < 0) {
		fprintf(stderr, "stele verity: %s\n", e.msg[0] ? e.msg : strerror(errno));
		rc = EXIT_USAGE;
		goto out;
	}
	end = lseek(dfd, 0, SEEK_END);
	have = end > 0 ? (uint64_t)end / c.p.data_block_size : 0;
	if (!c.blocks_set)
		c.p.data_blocks = have;
	if (c.p.data_blocks > have) {
		fprintf(stderr, "stele verity: %s: %llu blocks of %u bytes, --data-blocks asks for "
				"%llu\n", argv[optind], (unsigned long long)have,
			c.p.data_block_size, (unsigned long long)c.p.data_blocks);
		rc = EXIT_USAGE;
		goto out;
	}
	if ((!c.salt_set && RAND_bytes(c.p.salt, 32) != 1) ||
	    (!c.uuid_set && RAND_bytes(c.p.uuid, 16) != 1)) {
		fprintf(stderr, "stele verity: no randomness for salt or UUID\n");
		goto out;
	}
	if (!c.salt_set)
		c.p.salt_size = 32;
	if (!c.uuid_set) {
		c.p.uuid[6] = (uint8_t)((c.p.uuid[6] & 0x0f) | 0x40);
		c.p.uuid[8] = (uint8_t)((c.p.uuid[8] & 0x3f) | 0x80);
	}
	if (verity_layout(&c.p, &l, &e) < 0) {
		fprintf(stderr, "stele verity: %s: %s\n", argv[optind], e.msg);
		rc = EXIT_USAGE;
		goto out;
	}
	/* O_NONBLOCK: never waits in open(); a FIFO or a directory is refused below. A file
	 * made here is removed again if the run fails; an existing one is left be. */
	hfd = open(argv[optind + 1], O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (hfd < 0 && errno == ENOENT) {
		hfd = open(argv[optind + 1], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NONBLOCK,
			   0644);
		created = hfd >= 0;
	}
	if (hfd < 0) {
		fprintf(stderr, "stele verity: %s: %s\n", argv[optind + 1], strerror(errno));
		goto out;
	}
	if (input_check_fd(hfd, argv[optind + 1], INPUT_REG | INPUT_BLK,
			   "a hash file or block device", NULL, &e) < 0 ||
	    fcntl(hfd, F_SETFL, fcntl(hfd, F_GETFL) & ~O_NONBLOCK) < 0) {
		fprintf(stderr, "stele verity: %s\n", e.msg[0] ? e.msg : strerror(errno));
		rc = EXIT_USAGE;
		goto out;
	}
	if (verity_create(dfd, hfd, &c.p, c.threads, root, &e) < 0 || fsync(hfd) < 0) {
		fprintf(stderr, "stele verity: %s\n", e.msg[0] ? e.msg : strerror(errno));
		goto out;
	}
	hex_encode(root, l.digest_size, root_hex);
	if (c.json)
		print_json(&c, root_hex);
	else
		printf("%s\n", root_hex);
	rc = 0;
out:
	if (dfd >= 0)
		close(dfd);
	if (hfd >= 0)
		close(hfd);
	if (rc != 0 && created)
		unlink(argv[optind + 1]);
	return rc;
}
