/* `stele build`: arguments in, the builder's progress and warnings on stderr, its result as
 * text on stderr or as JSON on stdout (--json). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/contract.h"
#include "builder/build.h"
#include "commands.h"
#include "builder/profile.h"

#include "default-profile.h"

/* How the build reports: -q hides progress (never warnings), --json puts the result on stdout. */
struct build_report {
	bool quiet, json;
	double t0;
};

/* Process-wide, as a signal handler can reach nothing else: what a killed build removes (its
 * staged outputs, downloads in progress), filled by the builder. */
static struct cleanup build_cleanup;

static void on_signal(int sig)
{
	cleanup_run(&build_cleanup);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_event(void *opaque, enum build_event kind, const char *msg)
{
	const struct build_report *rep = opaque;

	if (kind == BUILD_WARNING)
		fprintf(stderr, "stele: WARNING: %s\n", msg);
	else if (!rep->quiet)
		fprintf(stderr, "stele: %s\n", msg);
}

__attribute__((format(printf, 2, 3))) static void say(const struct build_report *rep,
						      const char *fmt, ...)
{
	va_list ap;

	if (rep->quiet)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "stele: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

static double now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_json(const struct profile *p, const struct build_opts *o, const char *path,
		       const struct build_artifacts *a)
{
	const struct ext4_result *res = &a->ext4;
	const struct slotimg_out *so = &a->slot;
	const struct inputs *inputs = &a->inputs;
	char uuid[33], tree_hex[SHA256_HEX_LEN];
	cJSON *j, *arr;
	char *s;

	hex_encode(res->uuid, 16, uuid);
	hex_encode(a->tree_sha256, SHA256_LEN, tree_hex);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "product", p->product);
	cJSON_AddStringToObject(j, "version", p->version);
	cJSON_AddStringToObject(j, "rootfs", path);
	cJSON_AddNumberToObject(j, "rootfs_size", (double)res->size);
	cJSON_AddNumberToObject(j, "blocks_used", (double)res->blocks_used);
	cJSON_AddNumberToObject(j, "inodes_used", (double)res->inodes_used);
	cJSON_AddStringToObject(j, "fs_uuid", uuid);
	cJSON_AddStringToObject(j, "tree_sha256", tree_hex);
	cJSON_AddStringToObject(j, "rootfs_sha256", so->rootfs_sha256);
	cJSON_AddStringToObject(j, "root_hash", so->root_hash);
	cJSON_AddNumberToObject(j, "verity_image_size", (double)so->verity_image_size);
	cJSON_AddNumberToObject(j, "source_date_epoch", (double)o->epoch);
	arr = cJSON_AddArrayToObject(j, "inputs");
	for (size_t i = 0; i < inputs->n; i++) {
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "kind", inputs->v[i].kind);
		cJSON_AddStringToObject(x, "name", inputs->v[i].name);
		cJSON_AddStringToObject(x, "version", inputs->v[i].version);
		if (inputs->v[i].arch)
			cJSON_AddStringToObject(x, "arch", inputs->v[i].arch);
		cJSON_AddStringToObject(x, "sha256", inputs->v[i].sha256);
		cJSON_AddItemToArray(arr, x);
	}
	s = cJSON_Print(j);
	if (s)
		printf("%s\n", s);
	free(s);
	cJSON_Delete(j);
}

static void print_result(const struct build_report *rep, const struct profile *p,
			 const struct build_opts *o, const struct build_artifacts *a)
{
	char path[4096];

	if (o->rootfs_only) {
		say(rep, "wrote %s-%s." CONTRACT_OUT_ROOTFS " (%llu MiB)", p->product, p->version,
		    (unsigned long long)(a->ext4.size >> 20));
		return;
	}
	snprintf(path, sizeof(path), "%s/%s-%s." CONTRACT_OUT_ROOTFS, o->outdir, p->product,
		 p->version);
	if (rep->json) {
		print_json(p, o, path, a);
		return;
	}
	say(rep, "wrote %s (%llu MiB, %llu blocks used, %llu inodes) in %.1f s", path,
	    (unsigned long long)(a->ext4.size >> 20), (unsigned long long)a->ext4.blocks_used,
	    (unsigned long long)a->ext4.inodes_used, now_secs() - rep->t0);
	say(rep, "root hash %s", a->slot.root_hash);
}

void cmd_build_help(FILE *f)
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

int cmd_build(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'}, {"cache", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},	  {"quiet", no_argument, NULL, 'q'},
		{"keys", required_argument, NULL, 'k'},
		{"rootfs-only", no_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},	  {0},
	};
	struct build_opts o = {.outdir = "out"};
	struct build_report rep = {0};
	struct build_artifacts art;
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
		case 'j': rep.json = true; break;
		case 'q': rep.quiet = true; break;
		case 'h': cmd_build_help(stdout); return 0;
		default: cmd_build_help(stderr); return EXIT_USAGE;
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
	o.report = (struct reporter){.report = on_event, .opaque = &rep};
	o.cleanup = &build_cleanup;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	rep.t0 = now_secs();
	r = build_run(p, &o, &art, &e);
	if (r < 0)
		fprintf(stderr, "stele: build failed: %s\n", e.msg);
	else
		print_result(&rep, p, &o, &art);
	build_artifacts_free(&art);
	profile_free(p);
	free(cache);
	return r < 0 ? 1 : 0;
}

