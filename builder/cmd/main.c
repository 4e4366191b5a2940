/* stele: the host tool. Thin: parse arguments, call the builder, report.
 * Exit status: 0 success, 1 the operation failed, 2 bad usage or a bad profile. */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/build.h"
#include "commands.h"
#include "builder/profile.h"

#include "default-profile.h"


struct command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
	void (*help)(FILE *f);
};

static const struct command *find_command(const char *name);

static void build_help(FILE *f)
{
	fprintf(f,
		"Usage: stele build [PROFILE] [options]\n"
		"\n"
		"Builds the image described by PROFILE (a JSON file; without one, the built-in\n"
		"minimal profile) into OUTDIR: <product>-<version>.rootfs.ext4 (the root\n"
		"filesystem), .verity (the slot's verity partition image: header, dm-verity tree,\n"
		"signed manifest), .manifest.json and .manifest.sig. Outputs appear only when the\n"
		"whole build succeeds; a failed build removes the directories it created.\n"
		"Every profile value is checked before anything is built (docs/profiles.md).\n"
		"\n"
		"Options:\n"
		"  -o, --output DIR   output directory (default: out)\n"
		"      --cache DIR    package cache (default: $STELE_CACHE, else\n"
		"                     $XDG_CACHE_HOME/stele, else ~/.cache/stele)\n"
		"      --keys DIR     sign with DIR/signing.key and signing.crt (chain to\n"
		"                     DIR/ca.crt); default: the profile's \"sign\", else\n"
		"                     development keys in $STELE_DEV_KEYS or\n"
		"                     ~/.config/stele/dev-keys (created, with a warning)\n"
		"      --rootfs-only  write the root filesystem image and nothing else (no\n"
		"                     verity, signature, initramfs or disk image; no keys)\n"
		"      --json         print the result as JSON on stdout\n"
		"  -q, --quiet        no progress on stderr\n"
		"  -h, --help         this help\n"
		"\n"
		"Environment: SOURCE_DATE_EPOCH sets every timestamp (default %lld).\n"
		"Exit status: 0 built, 1 the build failed, 2 bad usage or a bad profile.\n",
		DEFAULT_SOURCE_DATE_EPOCH);
}

static int parse_epoch(int64_t *ret)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char *end;
	long long v;

	*ret = DEFAULT_SOURCE_DATE_EPOCH;
	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < 0 || v > 0x3ffffffffLL) {
		fprintf(stderr, "stele: SOURCE_DATE_EPOCH: expected seconds since 1970, got \"%s\"\n",
			s);
		return -1;
	}
	*ret = v;
	return 0;
}

static char *default_cache(void)
{
	const char *s = getenv("STELE_CACHE"), *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
	char *out = NULL;

	if (s && *s)
		return strdup(s);
	if (x && *x)
		return asprintf(&out, "%s/stele", x) < 0 ? NULL : out;
	return asprintf(&out, "%s/.cache/stele", h && *h ? h : "/tmp") < 0 ? NULL : out;
}

static int cmd_build(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'}, {"cache", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},	  {"quiet", no_argument, NULL, 'q'},
		{"keys", required_argument, NULL, 'k'},
		{"rootfs-only", no_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},	  {0},
	};
	struct build_opts o = {.outdir = "out"};
	struct profile *p = NULL;
	char *cache = NULL;
	struct err e = {{0}};
	int c, r;

	while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': o.outdir = optarg; break;
		case 'c': o.cache_dir = optarg; break;
		case 'k': o.keys_dir = optarg; break;
		case 'r': o.rootfs_only = true; break;
		case 'j': o.json = true; break;
		case 'q': o.quiet = true; break;
		case 'h': build_help(stdout); return 0;
		default: build_help(stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "stele build: one profile at most\n");
		return EXIT_USAGE;
	}
	if (parse_epoch(&o.epoch) < 0)
		return EXIT_USAGE;
	if (optind < argc)
		r = profile_load(argv[optind], &p, &e);
	else
		r = profile_load_buf("(built-in minimal profile)", default_profile,
				     strlen(default_profile), ".", &p, &e);
	if (r < 0) {
		fprintf(stderr, "stele: %s\n", e.msg);
		return EXIT_USAGE;
	}
	if (!o.cache_dir)
		o.cache_dir = cache = default_cache();
	r = build_run(p, &o, &e);
	if (r < 0)
		fprintf(stderr, "stele: build failed: %s\n", e.msg);
	profile_free(p);
	free(cache);
	return r < 0 ? 1 : 0;
}

static void version_help(FILE *f)
{
	fprintf(f, "Usage: stele version\n\nPrints the version of stele.\n");
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("stele %s\n", STELE_VERSION);
	return 0;
}

static void help_help(FILE *f);
static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{"build", "build an image from a profile", cmd_build, build_help},
	{"verify", "check a slot: signature, manifest, hash tree, every block", cmd_verify,
	 cmd_verify_help},
	{"verity", "compute a dm-verity hash tree (veritysetup format)", cmd_verity,
	 cmd_verity_help},
	{"keygen", "make a CA and a signing key", cmd_keygen, cmd_keygen_help},
	{"run", "boot an image in QEMU", cmd_run, cmd_run_help},
	{"state", "show or change the boot state of a disk image", cmd_state, cmd_state_help},
	{"version", "print the version", cmd_version, version_help},
	{"help", "help on a command", cmd_help, help_help},
	{0},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: stele COMMAND [options]\n\nCommands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f, "\nRun `stele COMMAND --help` for a command's options.\n");
}

static void help_help(FILE *f)
{
	fprintf(f, "Usage: stele help [COMMAND]\n");
}

static int cmd_help(int argc, char **argv)
{
	const struct command *c = argc > 1 ? find_command(argv[1]) : NULL;

	if (argc > 1 && !c) {
		fprintf(stderr, "stele: unknown command \"%s\"\n", argv[1]);
		return EXIT_USAGE;
	}
	if (c)
		c->help(stdout);
	else
		usage(stdout);
	return 0;
}

static const struct command *find_command(const char *name)
{
	for (const struct command *c = commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int main(int argc, char **argv)
{
	const struct command *c;

	setlocale(LC_CTYPE, "C.UTF-8");
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(0, NULL);
	c = find_command(argv[1]);
	if (!c) {
		fprintf(stderr, "stele: unknown command \"%s\"\n", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) &&
	    c->run != cmd_build && c->run != cmd_verity &&
	    c->run != cmd_keygen && c->run != cmd_verify && c->run != cmd_run &&
	    c->run != cmd_state) {
		c->help(stdout);
		return 0;
	}
	return c->run(argc - 1, argv + 1);
}
