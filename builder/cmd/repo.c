/* `stele repo init|status|refresh|rotate REPO` and `stele publish REPO BUNDLE...`: a static
 * update repository in TUF's format (builder/repo/repo.h, docs/fleet.md). */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builder/repo/repo.h"
#include "commands.h"
#include "lib/rollout.h"

void cmd_repo_help(FILE *f)
{
	fprintf(f,
		"Usage: stele repo init REPO [--root-keys N] [--root-threshold T]\n"
		"                            [--lifetime ROLE=DURATION]...\n"
		"       stele repo status REPO [--json]\n"
		"       stele repo refresh REPO [--force]\n"
		"       stele repo rotate REPO --role root|targets|online\n"
		"\n"
		"A static update repository in The Update Framework's format (TUF 1.0): any\n"
		"HTTP server, CDN or bucket serves REPO as plain files. REPO/root.json is the\n"
		"root a device is built to trust (the profile's \"update\": {\"root\": ...}).\n"
		"Keys are kept in REPO.keys (--keys DIR for another place), never in REPO.\n"
		"\n"
		"  init      makes REPO and its keys: N root keys of which T must sign (default\n"
		"            3 and 2; they may go offline after this), a targets key and an\n"
		"            online key for snapshot and timestamp\n"
		"  status    each role's version and expiry, each channel's releases and their\n"
		"            rollout now\n"
		"  refresh   re-signs snapshot and timestamp when either is within half its\n"
		"            lifetime of expiring (run it from a timer), or always with --force;\n"
		"            exit 0 either way, and it says which\n"
		"  rotate    new keys for a role; writes the next root, signed by the old root's\n"
		"            keys (and for root, by the new ones), re-signs what the role signs,\n"
		"            and moves the old key files to KEYS/retired/\n"
		"\n"
		"Options:\n"
		"      --keys DIR             the repository's keys (default REPO.keys)\n"
		"      --lifetime ROLE=DUR    how long ROLE's metadata stays valid: root 365d,\n"
		"                             targets 90d, snapshot 7d, timestamp 1d by default\n"
		"      --now TIME             act as if it were TIME (\"2026-12-04T18:00:00Z\" or\n"
		"                             seconds since 1970), for tests\n"
		"      --json                 status as JSON on stdout\n"
		"  -h, --help                 this help\n"
		"\n"
		"Exit status: 0 done, 1 failed, 2 bad usage.\n");
}

void cmd_publish_help(FILE *f)
{
	fprintf(f,
		"Usage: stele publish REPO BUNDLE... --channel NAME [--waves SPEC] [--min-from V]\n"
		"       stele publish REPO --channel NAME --pause | --resume | --revoke VERSION\n"
		"\n"
		"Adds releases to a repository made by `stele repo init`: each bundle is stored\n"
		"once by its hash under REPO/targets/, listed in the targets metadata with the\n"
		"product, arch, version, rollback index and root hash from its manifest, and put\n"
		"in the channel with a rollout schedule. New targets, snapshot and timestamp are\n"
		"signed (the targets key and the online key must be in KEYS). Every bundle is\n"
		"read and checked before anything is written.\n"
		"\n"
		"Options:\n"
		"      --channel NAME     the channel ([a-z0-9-])\n"
		"      --waves SPEC       staged rollout: PERCENT@WHEN,... where WHEN is an offset\n"
		"                         from now (0, 90m, 6h, 2d) or a time; \"10@0,50@6h,100@1d\"\n"
		"                         opens it to 10%% of the fleet now, half in 6 hours, all\n"
		"                         in a day (default 100@0)\n"
		"      --min-from V       the oldest version that may update straight to it\n"
		"      --pause            no device starts an install from this channel\n"
		"      --resume           undoes --pause\n"
		"      --revoke VERSION   pulls VERSION back: devices running it return to their\n"
		"                         other slot when it holds a good release\n"
		"      --keys DIR, --now TIME   as for `stele repo`\n"
		"  -h, --help             this help\n"
		"\n"
		"Exit status: 0 published, 1 failed, 2 bad usage.\n");
}

static int parse_now(const char *s, int64_t *ret)
{
	char *end;
	long long v;

	if (tuf_time_parse(s, ret) == 0)
		return 0;
	v = strtoll(s, &end, 10);
	if (!*s || *end || v < 0)
		return -1;
	*ret = v;
	return 0;
}

static int parse_role(const char *s, enum tuf_role *ret)
{
	if (strcmp(s, "online") == 0) {
		*ret = TUF_TIMESTAMP;
		return 0;
	}
	for (int i = 0; i < TUF_ROLES; i++)
		if (strcmp(s, tuf_role_names[i]) == 0) {
			*ret = (enum tuf_role)i;
			return 0;
		}
	return -1;
}

static int parse_lifetime(const char *s, int64_t life[TUF_ROLES])
{
	const char *eq = strchr(s, '=');
	char role[16];
	enum tuf_role r;
	int64_t d;

	if (!eq || (size_t)(eq - s) >= sizeof(role))
		return -1;
	snprintf(role, sizeof(role), "%.*s", (int)(eq - s), s);
	if (parse_role(role, &r) < 0 || strcmp(role, "online") == 0 ||
	    rollout_duration_parse(eq + 1, &d) < 0)
		return -1;
	life[r] = d;
	return 0;
}

static void print_status(const cJSON *st)
{
	const cJSON *roles = cJSON_GetObjectItemCaseSensitive(st, "roles");
	const cJSON *chs = cJSON_GetObjectItemCaseSensitive(st, "channels");

	printf("repository %s\n", cJSON_GetObjectItemCaseSensitive(st, "repository")->valuestring);
	for (const cJSON *r = roles->child; r; r = r->next)
		printf("  %-10s version %-4d expires %s\n", r->string,
		       cJSON_GetObjectItemCaseSensitive(r, "version")->valueint,
		       cJSON_GetObjectItemCaseSensitive(r, "expires")->valuestring);
	if (!chs->child)
		printf("no channels yet (stele publish adds releases)\n");
	for (const cJSON *c = chs->child; c; c = c->next) {
		printf("channel %s\n", c->string);
		for (const cJSON *x = c->child; x; x = x->next) {
			const cJSON *next = cJSON_GetObjectItemCaseSensitive(x, "next_wave");

			printf("  %-16s rollback %-3d %3d%% of the fleet", 
			       cJSON_GetObjectItemCaseSensitive(x, "version")->valuestring,
			       cJSON_GetObjectItemCaseSensitive(x, "rollback_index")->valueint,
			       cJSON_GetObjectItemCaseSensitive(x, "percent_now")->valueint);
			if (cJSON_IsObject(next))
				printf(", %d%% at %s",
				       cJSON_GetObjectItemCaseSensitive(next, "percent")->valueint,
				       cJSON_GetObjectItemCaseSensitive(next, "at")->valuestring);
			if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "paused")))
				printf(", PAUSED");
			if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "revoked")))
				printf(", REVOKED");
			printf("\n");
		}
	}
}

enum { OPT_KEYS = 256, OPT_NOW, OPT_JSON, OPT_ROOT_KEYS, OPT_ROOT_THRESHOLD, OPT_LIFETIME,
       OPT_FORCE, OPT_ROLE, OPT_CHANNEL, OPT_WAVES, OPT_MIN_FROM, OPT_PAUSE, OPT_RESUME,
       OPT_REVOKE };

static const struct option long_opts[] = {
	{"keys", required_argument, NULL, OPT_KEYS},
	{"now", required_argument, NULL, OPT_NOW},
	{"json", no_argument, NULL, OPT_JSON},
	{"root-keys", required_argument, NULL, OPT_ROOT_KEYS},
	{"root-threshold", required_argument, NULL, OPT_ROOT_THRESHOLD},
	{"lifetime", required_argument, NULL, OPT_LIFETIME},
	{"force", no_argument, NULL, OPT_FORCE},
	{"role", required_argument, NULL, OPT_ROLE},
	{"channel", required_argument, NULL, OPT_CHANNEL},
	{"waves", required_argument, NULL, OPT_WAVES},
	{"min-from", required_argument, NULL, OPT_MIN_FROM},
	{"pause", no_argument, NULL, OPT_PAUSE},
	{"resume", no_argument, NULL, OPT_RESUME},
	{"revoke", required_argument, NULL, OPT_REVOKE},
	{"help", no_argument, NULL, 'h'},
	{0},
};

struct args {
	struct repo_opts ro;
	struct repo_init_opts init;
	struct repo_publish_opts pub;
	bool json, force, have_role;
	enum tuf_role role;
	int ops;              /* pause, resume, revoke given */
	enum repo_channel_op op;
	const char *revoke;
};

static int usage_error(const char *cmd, const char *msg, const char *arg)
{
	fprintf(stderr, "stele %s: %s%s%s\n", cmd, msg, arg ? ": " : "", arg ? arg : "");
	fprintf(stderr, "Run `stele %s --help` for usage.\n", cmd);
	return EXIT_USAGE;
}

/* Parses the options both commands share; returns -1 after printing help (exit 0), or an
 * exit status > 0 for bad usage, or 0. */
static int parse_args(const char *cmd, int argc, char **argv, struct args *a)
{
	int c;

	a->ro.now = (int64_t)time(NULL);
	a->init.root_keys = 3;
	a->init.root_threshold = 2;
	memcpy(a->init.lifetime, repo_default_lifetime, sizeof(a->init.lifetime));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_KEYS: a->ro.keys = optarg; break;
		case OPT_NOW:
			if (parse_now(optarg, &a->ro.now) < 0)
				return usage_error(cmd, "--now: expected a time or seconds", optarg);
			break;
		case OPT_JSON: a->json = true; break;
		case OPT_ROOT_KEYS: a->init.root_keys = atoi(optarg); break;
		case OPT_ROOT_THRESHOLD: a->init.root_threshold = atoi(optarg); break;
		case OPT_LIFETIME:
			if (parse_lifetime(optarg, a->init.lifetime) < 0)
				return usage_error(cmd, "--lifetime: expected ROLE=DURATION, such as "
							"timestamp=1d", optarg);
			break;
		case OPT_FORCE: a->force = true; break;
		case OPT_ROLE:
			if (parse_role(optarg, &a->role) < 0)
				return usage_error(cmd, "--role: expected root, targets or online",
						   optarg);
			a->have_role = true;
			break;
		case OPT_CHANNEL: a->pub.channel = optarg; break;
		case OPT_WAVES: a->pub.waves = optarg; break;
		case OPT_MIN_FROM: a->pub.min_from = optarg; break;
		case OPT_PAUSE: a->op = REPO_PAUSE; a->ops++; break;
		case OPT_RESUME: a->op = REPO_RESUME; a->ops++; break;
		case OPT_REVOKE: a->op = REPO_REVOKE; a->revoke = optarg; a->ops++; break;
		case 'h':
			if (strcmp(cmd, "publish") == 0)
				cmd_publish_help(stdout);
			else
				cmd_repo_help(stdout);
			return -1;
		default: return usage_error(cmd, "bad option", NULL);
		}
	}
	return 0;
}

static int fail(const char *cmd, const struct err *e)
{
	fprintf(stderr, "stele %s: %s\n", cmd, e->msg);
	return 1;
}

int cmd_repo(int argc, char **argv)
{
	struct args a = {0};
	struct err e = {{0}};
	const char *sub;
	int rc = parse_args("repo", argc, argv, &a);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc - optind != 2)
		return usage_error("repo", "expected init, status, refresh or rotate, and REPO", NULL);
	sub = argv[optind];
	a.ro.dir = argv[optind + 1];
	if (strcmp(sub, "init") == 0) {
		if (repo_init(&a.ro, &a.init, &e) < 0)
			return fail("repo init", &e);
		printf("made repository %s (keys in %s%s)\n", a.ro.dir, a.ro.keys ? a.ro.keys : a.ro.dir,
		       a.ro.keys ? "" : ".keys");
		return 0;
	}
	if (strcmp(sub, "status") == 0) {
		cJSON *st;
		char *s;

		if (repo_status(&a.ro, &st, &e) < 0)
			return fail("repo status", &e);
		if (a.json) {
			s = cJSON_Print(st);
			printf("%s\n", s ? s : "{}");
			free(s);
		} else
			print_status(st);
		cJSON_Delete(st);
		return 0;
	}
	if (strcmp(sub, "refresh") == 0) {
		bool done;

		if (repo_refresh(&a.ro, a.force, &done, &e) < 0)
			return fail("repo refresh", &e);
		printf("%s\n", done ? "re-signed snapshot and timestamp" : "nothing to do: snapshot "
			       "and timestamp are good for more than half their lifetime");
		return 0;
	}
	if (strcmp(sub, "rotate") == 0) {
		if (!a.have_role)
			return usage_error("repo rotate", "--role is required", NULL);
		if (repo_rotate(&a.ro, a.role, &e) < 0)
			return fail("repo rotate", &e);
		printf("rotated the %s keys; the new root is %s/root.json\n",
		       a.role == TUF_SNAPSHOT || a.role == TUF_TIMESTAMP ? "online"
									  : tuf_role_names[a.role],
		       a.ro.dir);
		return 0;
	}
	return usage_error("repo", "unknown subcommand", sub);
}

int cmd_publish(int argc, char **argv)
{
	struct args a = {0};
	struct err e = {{0}};
	int rc = parse_args("publish", argc, argv, &a), n;

	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc - optind < 1)
		return usage_error("publish", "expected REPO", NULL);
	if (!a.pub.channel)
		return usage_error("publish", "--channel is required", NULL);
	a.ro.dir = argv[optind];
	n = argc - optind - 1;
	if (a.ops > 1 || (a.ops && n > 0))
		return usage_error("publish", "--pause, --resume and --revoke go alone, without "
					      "bundles", NULL);
	if (a.ops) {
		if (repo_channel_set(&a.ro, a.pub.channel, a.op, a.revoke, &e) < 0)
			return fail("publish", &e);
		printf("channel %s: %s\n", a.pub.channel,
		       a.op == REPO_PAUSE ? "paused" : a.op == REPO_RESUME ? "resumed" : "revoked");
		return 0;
	}
	if (n == 0)
		return usage_error("publish", "expected at least one BUNDLE", NULL);
	if (repo_publish(&a.ro, &a.pub, (const char *const *)argv + optind + 1, n, &e) < 0)
		return fail("publish", &e);
	printf("published %d bundle%s to channel %s of %s\n", n, n == 1 ? "" : "s", a.pub.channel,
	       a.ro.dir);
	return 0;
}
