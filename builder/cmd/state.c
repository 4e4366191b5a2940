/* `stele state IMAGE [--set NAME=VALUE]...`: shows or edits the boot state of a disk image
 * (the GRUB environment block on its ESP), for testers. Reading and writing go through the
 * boot-state codec, so a bad value is refused before anything is written. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootloader/bootstate.h"
#include "lib/input.h"
#include "commands.h"
#include "builder/outputs/esp.h"

#define MAX_SETS 16

void cmd_state_help(FILE *f)
{
	fprintf(f,
		"Usage: stele state IMAGE [--set NAME=VALUE]... [--json]\n"
		"\n"
		"Prints the boot state of a disk image (EFI/stele/grubenv on its ESP): the slot\n"
		"order and each slot's state and tries left. --set changes STELE_ORDER (exactly\n"
		"\"a b\", \"b a\", \"a\" or \"b\"), STELE_A_STATE / STELE_B_STATE (good, trial, bad)\n"
		"or STELE_A_TRIES / STELE_B_TRIES (0..15, plain decimal). Any other name or value\n"
		"is refused (exit 2) and the image is left untouched. IMAGE must be a regular file\n"
		"or a block device.\n");
}

/* NAME=VALUE through the codec's own value parsers (bootstate_set): a value the block could
 * not hold is refused, never reshaped. */
static int apply_set(struct bootstate *s, const char *assign, struct err *e)
{
	const char *eq = strchr(assign, '=');
	char name[BOOTSTATE_NAME_MAX + 1];
	int r;

	if (!eq || eq == assign || (size_t)(eq - assign) >= sizeof(name))
		return err_set(e, EINVAL, "--set %.80s%s: expected NAME=VALUE", assign,
			       strlen(assign) > 80 ? "..." : "");
	snprintf(name, sizeof(name), "%.*s", (int)(eq - assign), assign);
	r = bootstate_set(s, name, eq + 1, e);
	return r < 0 ? err_prefix(e, r, "--set") : 0;
}

/* A FIFO would block the tools that read the image, /dev/zero never ends: refused first. */
static int check_image(const char *path, struct err *e)
{
	int fd, r = input_open(path, O_RDONLY, INPUT_REG | INPUT_BLK, "a disk image", &fd, NULL, e);

	if (r == 0)
		close(fd);
	return r;
}

static void print_state(const struct bootstate *s, bool json)
{
	if (json) {
		printf("{\"order\": \"");
		for (size_t i = 0; i < s->n_order; i++)
			printf("%s%c", i ? " " : "", s->order[i]);
		printf("\"");
		for (size_t i = 0; i < 2; i++)
			printf(", \"%c\": {\"state\": \"%s\", \"tries\": %u}", bootstate_slot_name(i),
			       bootstate_state_name(s->slots[i].state), s->slots[i].tries);
		printf("}\n");
		return;
	}
	printf("order:");
	for (size_t i = 0; i < s->n_order; i++)
		printf(" %c", s->order[i]);
	printf("\n");
	for (size_t i = 0; i < 2; i++)
		printf("slot %c: %s, %u tries left\n", bootstate_slot_name(i),
		       bootstate_state_name(s->slots[i].state), s->slots[i].tries);
}

int cmd_state(int argc, char **argv)
{
	static const struct option opts[] = {
		{"set", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *sets[MAX_SETS];
	int nsets = 0, c;
	bool json = false;
	char spec[4200], env[BOOTSTATE_SIZE];
	struct bootstate s;
	struct err e = {{0}};

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (nsets == MAX_SETS)
				return fprintf(stderr, "stele state: too many --set\n"), EXIT_USAGE;
			sets[nsets++] = optarg;
			break;
		case 'j': json = true; break;
		case 'h': cmd_state_help(stdout); return 0;
		default: cmd_state_help(stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return fprintf(stderr, "stele state: expected one IMAGE\n"), EXIT_USAGE;
	if (check_image(argv[optind], &e) < 0) {
		fprintf(stderr, "stele state: %s\n", e.msg);
		return EXIT_USAGE;
	}
	if (esp_image_spec(argv[optind], spec, sizeof(spec), &e) < 0 ||
	    esp_read_env(spec, env, &e) < 0 ||
	    bootstate_parse(env, BOOTSTATE_SIZE, &s, &e) < 0) {
		fprintf(stderr, "stele state: %s\n", e.msg);
		return 1;
	}
	for (int i = 0; i < nsets; i++) {
		if (apply_set(&s, sets[i], &e) < 0) {
			fprintf(stderr, "stele state: %s\n", e.msg);
			return EXIT_USAGE;
		}
	}
	if (nsets && (bootstate_format(&s, env, &e) < 0 || esp_write_env(spec, env, &e) < 0)) {
		fprintf(stderr, "stele state: %s\n", e.msg);
		return 1;
	}
	print_state(&s, json);
	return 0;
}
