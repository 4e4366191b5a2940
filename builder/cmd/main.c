/* stele: the host tool. Thin: parse arguments, call the builder, report.
 * Exit status: 0 success, 1 the operation failed, 2 bad usage or a bad profile. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

struct command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
	void (*help)(FILE *f);
};

static const struct command *find_command(const char *name);

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
	{"build", "build an image from a profile", cmd_build, cmd_build_help},
	{"verify", "check a slot: signature, manifest, hash tree, every block", cmd_verify,
	 cmd_verify_help},
	{"verity", "compute a dm-verity hash tree (veritysetup format)", cmd_verity,
	 cmd_verity_help},
	{"keygen", "make a CA and a signing key", cmd_keygen, cmd_keygen_help},
	{"run", "boot an image in QEMU", cmd_run, cmd_run_help},
	{"state", "show or change the boot state of a disk image", cmd_state, cmd_state_help},
	{"provision", "put secrets on one disk's data partition", cmd_provision,
	 cmd_provision_help},
	{"diff", "what changed between two releases: manifest, packages, files", cmd_diff,
	 cmd_diff_help},
	{"repo", "make and keep an update repository (TUF): init, status, refresh, rotate",
	 cmd_repo, cmd_repo_help},
	{"publish", "add releases to a repository's channel; pause, resume, revoke",
	 cmd_publish, cmd_publish_help},
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
	    c->run != cmd_state && c->run != cmd_diff &&
	    c->run != cmd_provision) {
		c->help(stdout);
		return 0;
	}
	return c->run(argc - 1, argv + 1);
}
