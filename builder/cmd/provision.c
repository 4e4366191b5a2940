/* `stele provision IMAGE --secret NAME=FILE...`: one disk's secrets on its data partition
 * (builder/provision.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "builder/provision.h"
#include "commands.h"

#define MAX 64

void cmd_provision_help(FILE *f)
{
	fprintf(f,
		"Usage: stele provision IMAGE [--secret NAME=FILE]... [--machine-id ID]\n"
		"\n"
		"Writes secrets into one disk's data partition, never into a slot: a disk image\n"
		"about to be shipped or written to a machine (a regular file or a block device,\n"
		"not running). Each FILE (at most 32 KiB) becomes data:/stele/credentials/NAME,\n"
		"mode 0600, in a 0700 directory, owned by root; a secret of the same name is\n"
		"replaced. At every boot stele-init copies them to /run/credstore/NAME (tmpfs),\n"
		"where systemd's LoadCredential=NAME finds them, and /run/stele/credentials/NAME.\n"
		"They stay across updates (data is kept) and are in no image or bundle. NAME:\n"
		"letters, digits, '_', '.' and '-'. Every FILE is read and the data filesystem\n"
		"checked (clean, not in use) before anything is written.\n"
		"\n"
		"Exit status: 0 written, 1 the disk could not be written, 2 bad usage or input.\n"
		"\n"
		"Options:\n"
		"      --secret NAME=FILE  a secret (repeatable, up to 64)\n"
		"      --machine-id ID     the disk's machine id (32 lowercase hex digits): the\n"
		"                          one /etc/machine-id shows and `stele-update poll` takes\n"
		"                          its share of the fleet from (default: made at first boot)\n"
		"  -h, --help              this help\n");
}

int cmd_provision(int argc, char **argv)
{
	static const struct option opts[] = {
		{"secret", required_argument, NULL, 's'},
		{"machine-id", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct provision_secret s[MAX];
	char names[MAX][256];
	struct err e = {{0}};
	const char *machine_id = NULL;
	size_t n = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': {
			const char *eq = strchr(optarg, '=');

			if (n == MAX)
				return fprintf(stderr, "stele provision: at most %d --secret\n", MAX),
				       EXIT_USAGE;
			if (!eq || eq == optarg || (size_t)(eq - optarg) >= sizeof(names[0]) || !eq[1])
				return fprintf(stderr, "stele provision: --secret %.80s: expected "
						       "NAME=FILE\n", optarg), EXIT_USAGE;
			snprintf(names[n], sizeof(names[n]), "%.*s", (int)(eq - optarg), optarg);
			s[n].name = names[n];
			s[n].file = eq + 1;
			n++;
			break;
		}
		case 'm': machine_id = optarg; break;
		case 'h': cmd_provision_help(stdout); return 0;
		default: cmd_provision_help(stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind != 1 || (n == 0 && !machine_id))
		return fprintf(stderr, "stele provision: expected IMAGE and at least one --secret "
				       "or --machine-id\n"),
		       EXIT_USAGE;
	r = provision_disk(argv[optind], s, n, machine_id, &e);
	if (r < 0) {
		fprintf(stderr, "stele provision: %s\n", e.msg);
		return r == -EIO || r == -ENOSPC ? 1 : EXIT_USAGE;
	}
	fprintf(stderr, "stele provision: %zu secret%s%s on the data partition of %s\n", n,
		n == 1 ? "" : "s", machine_id ? " and the machine id" : "", argv[optind]);
	return 0;
}
