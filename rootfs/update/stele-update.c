/* stele-update: installs update bundles into the slot that is not running, checks the
 * health of a new slot after it boots and commits or reverts it, and shows and changes the
 * boot state by hand. Exit status: 0 done, 1 failed or refused, 2 bad usage. The commands
 * live in rootfs/update-*.c; this file is the command line. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "ctx.h"
#include "health.h"
#include "install.h"
#include "journal.h"
#include "mark.h"
#include "poll.h"
#include "status.h"

enum {
	F_JSON = 1 << 0,
	F_DOWNGRADE = 1 << 1,
	F_REBOOT = 1 << 2,
	F_COMMIT = 1 << 3,
	F_ONCE = 1 << 4,
};

struct args {
	unsigned flags;
	const char *pos; /* the one positional argument, if any */
};

struct cmd {
	const char *name, *synopsis, *help;
	unsigned flags; /* the options it takes */
	int min_pos, max_pos;
	int (*run)(struct update_ctx *c, const struct args *a, struct err *e);
};

static int run_status(struct update_ctx *c, const struct args *a, struct err *e)
{
	return update_status(c, a->flags & F_JSON, e);
}

static int run_install(struct update_ctx *c, const struct args *a, struct err *e)
{
	const struct install_opts o = {.path = a->pos,
				       .allow_downgrade = a->flags & F_DOWNGRADE,
				       .reboot = a->flags & F_REBOOT};

	return update_install(c, &o, e);
}

static int run_health(struct update_ctx *c, const struct args *a, struct err *e)
{
	const struct health_opts o = {.commit = a->flags & F_COMMIT};

	return update_health(c, &o, e);
}

static int run_mark_good(struct update_ctx *c, const struct args *a, struct err *e)
{
	(void)a;
	return update_mark_good(c, e);
}

static int run_mark_bad(struct update_ctx *c, const struct args *a, struct err *e)
{
	return update_mark_bad(c, a->pos ? a->pos[0] : 0, e);
}

static int run_rollback(struct update_ctx *c, const struct args *a, struct err *e)
{
	return update_rollback(c, a->flags & F_REBOOT, e);
}

static int run_poll(struct update_ctx *c, const struct args *a, struct err *e)
{
	const struct poll_opts o = {.once = a->flags & F_ONCE,
				    .config = c->update_json,
				    .root = c->tuf_root,
				    .machine_id = c->machine_id,
				    .metrics = c->metrics,
				    .now = c->now};

	return update_poll(c, &o, e);
}

static int run_log(struct update_ctx *c, const struct args *a, struct err *e)
{
	if (!c->data_dir)
		return err_set(e, ENOENT, "test mode: no data directory given (--data DIR)");
	return journal_print(c->data_dir, a->flags & F_JSON, stdout, e);
}

static const struct cmd cmds[] = {
	{"status", "[--json]",
	 "Shows the running slot, STELE_ORDER, each slot's state, tries left and contents\n"
	 "(version, product, rollback index, root hash from its verity partition, signature\n"
	 "verified), and what is pending.\n",
	 F_JSON, 0, 0, run_status},
	{"install", "FILE|- [--allow-downgrade] [--reboot]",
	 "Installs an update bundle (a regular file, a block device, or - for stdin, e.g. a\n"
	 "pipe; a FIFO, directory or character device given by name is refused) into the slot\n"
	 "that is not running. The signature, product, arch, rollback index and sizes are\n"
	 "checked first, then the whole hash tree; nothing is written unless they pass. A file\n"
	 "must end where the bundle does; on stdin, bytes after it fail the install before the\n"
	 "slot becomes a trial. The target is marked bad while it is written, every block is\n"
	 "checked against the signed tree before it is written and read back after; only then\n"
	 "does it become `trial`, first in order.\n"
	 "  --allow-downgrade  accept a lower rollback index than the running version's\n"
	 "  --reboot           reboot into the new slot when done\n",
	 F_DOWNGRADE | F_REBOOT, 1, 1, run_install},
	{"health", "[--commit]",
	 "Runs the health checks of " CONTRACT_SLOT_HEALTH_JSON " and " CONTRACT_SLOT_HEALTH_DIR
	 " within the\n"
	 "window, keeping the watchdog alive during a trial. With --commit: on a trial, all\n"
	 "passing commits the slot (good, tries reset, minimum rollback index raised, watchdog\n"
	 "stopped) and any failing marks it bad and reboots into the other slot; on a normal\n"
	 "boot, passing resets the slot's tries. Also journals when the other slot used up its\n"
	 "tries (a failed update is marked bad).\n",
	 F_COMMIT, 0, 0, run_health},
	{"mark-good", "",
	 "Commits the running slot without running the checks: good, tries reset.\n",
	 0, 0, 0, run_mark_good},
	{"mark-bad", "[SLOT]",
	 "Marks SLOT (a or b; default: the running one) bad, unless the other is bad too.\n",
	 0, 0, 1, run_mark_bad},
	{"rollback", "[--reboot]",
	 "Makes the other slot, if it is good, boot next.\n"
	 "  --reboot  reboot into it\n",
	 F_REBOOT, 0, 0, run_rollback},
	{"poll", "[--once]",
	 "Updates this device from its repository (" CONTRACT_SLOT_UPDATE_JSON ", built from\n"
	 "the profile's \"update\"): the TUF client workflow from the root built into the\n"
	 "image (" CONTRACT_SLOT_TUF_ROOT "), then the newest release of the channel that\n"
	 "this device may take now (its share of the fleet from its machine id, the waves,\n"
	 "the maintenance window, the inhibit file), streamed from the repository into the\n"
	 "other slot and installed as `install` does, then a reboot as the profile says. A\n"
	 "running release the channel revoked sends the device back to its other slot when\n"
	 "that is good. Every decision goes to the journal and " CONTRACT_RUN_METRICS ".\n"
	 "Without --once it checks forever, every interval with jitter, backing off after\n"
	 "failures.\n"
	 "  --once  check once; exit 0 when the check worked (whatever it decided)\n",
	 F_ONCE, 0, 0, run_poll},
	{"log", "[--json]",
	 "Prints the update journal (data/stele/journal): one JSON object per event and\n"
	 "line; with --json, one JSON array.\n",
	 F_JSON, 0, 0, run_log},
};

enum {
	O_HELP = 'h',
	O_JSON = 256,
	O_DOWNGRADE,
	O_REBOOT,
	O_COMMIT,
	O_STATE,
	O_TRUST,
	O_ESP,
	O_SBDB,
	O_BOOTED,
	O_TROOT,
	O_TVERITY,
	O_PART,
	O_DATA,
	O_HJSON,
	O_HDIR,
	O_WDOG,
	O_DISK,
	O_ONCE,
	O_UPDATE_JSON,
	O_TUF_ROOT,
	O_MACHINE_ID,
	O_METRICS,
	O_NOW,
};

struct opt {
	struct option o;
	unsigned flag; /* 0: taken by every command */
};

static const struct opt opts[] = {
	{{"help", no_argument, NULL, O_HELP}, 0},
	{{"json", no_argument, NULL, O_JSON}, F_JSON},
	{{"allow-downgrade", no_argument, NULL, O_DOWNGRADE}, F_DOWNGRADE},
	{{"reboot", no_argument, NULL, O_REBOOT}, F_REBOOT},
	{{"commit", no_argument, NULL, O_COMMIT}, F_COMMIT},
	{{"state", required_argument, NULL, O_STATE}, 0},
	{{"trust", required_argument, NULL, O_TRUST}, 0},
	{{"esp", required_argument, NULL, O_ESP}, 0},
	{{"secure-boot-db", required_argument, NULL, O_SBDB}, 0},
	{{"booted-json", required_argument, NULL, O_BOOTED}, 0},
	{{"target-root", required_argument, NULL, O_TROOT}, 0},
	{{"target-verity", required_argument, NULL, O_TVERITY}, 0},
	{{"part", required_argument, NULL, O_PART}, 0},
	{{"data", required_argument, NULL, O_DATA}, 0},
	{{"health-json", required_argument, NULL, O_HJSON}, 0},
	{{"health-dir", required_argument, NULL, O_HDIR}, 0},
	{{"watchdog", required_argument, NULL, O_WDOG}, 0},
	{{"disk", required_argument, NULL, O_DISK}, 0},
	{{"once", no_argument, NULL, O_ONCE}, F_ONCE},
	{{"update-json", required_argument, NULL, O_UPDATE_JSON}, 0},
	{{"tuf-root", required_argument, NULL, O_TUF_ROOT}, 0},
	{{"machine-id", required_argument, NULL, O_MACHINE_ID}, 0},
	{{"metrics", required_argument, NULL, O_METRICS}, 0},
	{{"now", required_argument, NULL, O_NOW}, 0},
};
#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

static const char test_help[] =
	"Testing options (run on files instead of the device; nothing is mounted or rebooted,\n"
	"no partition is looked up, /dev/watchdog is left alone):\n"
	"  --state FILE          the boot state block (instead of the ESP's " CONTRACT_ESP_GRUBENV ")\n"
	"  --trust FILE          CA certificates (instead of " CONTRACT_SLOT_TRUST ")\n"
	"  --esp DIR             the mounted ESP, where a Secure Boot slot's kernel image goes\n"
	"  --secure-boot-db FILE the db certificate of a Secure Boot device (instead of\n"
	"                        " CONTRACT_SLOT_SB_DB "; absent: the device boots without)\n"
	"  --booted-json FILE    the running slot (instead of " CONTRACT_BOOT_JSON ")\n"
	"  --target-root FILE    root partition of the slot that is not running\n"
	"  --target-verity FILE  verity partition of the slot that is not running\n"
	"  --part LABEL=FILE     any partition: root_a, verity_a, root_b, verity_b, or esp (a\n"
	"                        vfat device mounted at " UPDATE_ESP_DIR " when --state is not given)\n"
	"  --data DIR            the data partition (journal, minimum rollback index)\n"
	"  --health-json FILE    the health policy (instead of " CONTRACT_SLOT_HEALTH_JSON ")\n"
	"  --health-dir DIR      health check programs (instead of " CONTRACT_SLOT_HEALTH_DIR ")\n"
	"  --watchdog FILE       the watchdog device\n"
	"  --disk IMAGE          a disk image whose partition table is checked as the device's\n"
	"                        is before any command touches the disk (the partitions\n"
	"                        themselves still come from --part)\n"
	"  --update-json FILE    poll: how to update (instead of " CONTRACT_SLOT_UPDATE_JSON ")\n"
	"  --tuf-root FILE       poll: the repository root trusted (instead of the image's)\n"
	"  --machine-id ID       poll: the machine id its share of the fleet comes from\n"
	"  --metrics FILE        poll: where the metrics go (none in test mode otherwise)\n"
	"  --now SECONDS         poll: the time (seconds since 1970)\n"
	"Fault injection (tests): STELE_UPDATE_FAULT=pause:POINT stops an install at POINT\n"
	"(verity, rootfs, synced, uki, state) until it is killed; STELE_UPDATE_FAULT=corrupt:rootfs\n"
	"flips a byte of the target after writing it, as a failing disk would.\n";

static void usage(FILE *f)
{
	fprintf(f, "Usage: stele-update COMMAND [OPTIONS]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].synopsis);
	fprintf(f,
		"\n`stele-update COMMAND --help` describes one. Exit status: 0 done, 1 failed "
		"or refused, 2 bad usage.\n\n%s",
		test_help);
}

static void cmd_help(const struct cmd *c)
{
	printf("Usage: stele-update %s %s\n\n%s\n%s", c->name, c->synopsis, c->help, test_help);
}

static int bad_usage(const struct cmd *c, const char *fmt, const char *arg)
{
	fprintf(stderr, "stele-update%s%s: ", c ? " " : "", c ? c->name : "");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'stele-update %s%s--help'.\n", c ? c->name : "", c ? " " : "");
	return 2;
}

static int set_part(struct update_ctx *ctx, const char *arg)
{
	const char *eq = strchr(arg, '=');

	for (int p = 0; eq && p < UPDATE_PART_COUNT; p++) {
		const char *label = update_part_label(p);
		if (strlen(label) == (size_t)(eq - arg) && strncmp(arg, label, eq - arg) == 0 &&
		    eq[1]) {
			ctx->part[p] = eq + 1;
			return 0;
		}
	}
	return -EINVAL;
}

/* A testing option: into ctx, and test mode on. */
static int set_test(struct update_ctx *ctx, int id, const char *arg, bool *data_given)
{
	ctx->test_mode = true;
	switch (id) {
	case O_STATE:
		ctx->state_path = arg;
		break;
	case O_TRUST:
		ctx->trust_path = arg;
		break;
	case O_ESP:
		ctx->esp_dir = arg;
		break;
	case O_SBDB:
		ctx->sb_db_path = arg;
		break;
	case O_BOOTED:
		ctx->boot_json = arg;
		break;
	case O_TROOT:
		ctx->target_root = arg;
		break;
	case O_TVERITY:
		ctx->target_verity = arg;
		break;
	case O_PART:
		return set_part(ctx, arg);
	case O_DATA:
		ctx->data_dir = arg;
		*data_given = true;
		break;
	case O_HJSON:
		ctx->health_json = arg;
		break;
	case O_HDIR:
		ctx->health_dir = arg;
		break;
	case O_WDOG:
		ctx->watchdog_path = arg;
		break;
	case O_DISK:
		ctx->disk = arg;
		break;
	case O_UPDATE_JSON:
		ctx->update_json = arg;
		break;
	case O_TUF_ROOT:
		ctx->tuf_root = arg;
		break;
	case O_MACHINE_ID:
		ctx->machine_id = arg;
		break;
	case O_METRICS:
		ctx->metrics = arg;
		break;
	case O_NOW: {
		char *end;

		ctx->now = strtoll(arg, &end, 10);
		if (*end || ctx->now <= 0)
			return -EINVAL;
		break;
	}
	}
	return 0;
}

static const struct cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

/* 0 to run, 1 when --help was shown, 2 for bad usage. */
static int parse(const struct cmd *c, int argc, char **argv, struct update_ctx *ctx, struct args *a)
{
	struct option longopts[N_OPTS + 1];
	bool data_given = false, wdog_given = false;
	size_t n = 0;
	int id, npos;

	for (size_t i = 0; i < N_OPTS; i++)
		if (!opts[i].flag || (opts[i].flag & c->flags))
			longopts[n++] = opts[i].o;
	memset(&longopts[n], 0, sizeof(longopts[n]));
	opterr = 0;
	optind = 1;
	while ((id = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (id == O_HELP) {
			cmd_help(c);
			return 1;
		}
		if (id == '?')
			return bad_usage(c, "unknown option %s", argv[optind - 1]);
		if (id == ':')
			return bad_usage(c, "%s needs a value", argv[optind - 1]);
		if (id == O_JSON || id == O_DOWNGRADE || id == O_REBOOT || id == O_COMMIT ||
		    id == O_ONCE)
			a->flags |= id == O_JSON        ? F_JSON
				    : id == O_DOWNGRADE ? F_DOWNGRADE
				    : id == O_REBOOT    ? F_REBOOT
				    : id == O_ONCE      ? F_ONCE
							: F_COMMIT;
		else if (set_test(ctx, id, optarg, &data_given) < 0)
			return bad_usage(c,
					 id == O_NOW ? "--now wants seconds since 1970, not %s"
						     : "--part wants LABEL=FILE with a slot partition's "
						       "label, not %s",
					 optarg);
		wdog_given |= id == O_WDOG;
	}
	npos = argc - optind;
	if (npos < c->min_pos || npos > c->max_pos)
		return bad_usage(c, "%s",
				 npos < c->min_pos ? "missing argument" : "too many arguments");
	a->pos = npos ? argv[optind] : NULL;
	if (c->run == run_mark_bad && a->pos && strcmp(a->pos, "a") && strcmp(a->pos, "b"))
		return bad_usage(c, "SLOT is a or b, not %s", a->pos);
	if (ctx->test_mode && !data_given)
		ctx->data_dir = NULL;
	if (ctx->test_mode && !wdog_given)
		ctx->watchdog_path = NULL;
	return 0;
}

int main(int argc, char **argv)
{
	struct update_ctx ctx;
	struct args a = {0};
	struct err e = {{0}};
	const struct cmd *c;
	int rc;

	if (argc < 2)
		return usage(stderr), 2;
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return usage(stdout), 0;
	c = find_cmd(argv[1]);
	if (!c)
		return bad_usage(NULL, "unknown command %s", argv[1]);
	update_ctx_init(&ctx);
	rc = parse(c, argc - 1, argv + 1, &ctx, &a);
	if (rc)
		return rc == 1 ? 0 : rc;
	/* every command but log reads or writes the disk: its partition table first */
	rc = c->run == run_log ? 0 : update_disk_check(&ctx, &e);
	if (rc < 0)
		err_prefix(&e, rc, "refusing to touch the disk");
	else
		rc = c->run(&ctx, &a, &e);
	update_ctx_close(&ctx);
	fflush(stdout);
	if (rc < 0)
		fprintf(stderr, "stele-update: %s\n", e.msg);
	return rc == 0 ? 0 : 1;
}
