/* `stele state IMAGE [--set NAME=VALUE]...`: shows or edits the boot state of a disk image
 * (the GRUB environment block on its ESP), for testers. Reading and writing go through the
 * boot-state codec, so a bad value is refused before anything is written. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../bootloader/bootstate.h"
#include "commands.h"
#include "esp.h"

#define MAX_SETS 16

void cmd_state_help(FILE *f)
{
	fprintf(f,
		"Usage: stele state IMAGE [--set NAME=VALUE]... [--json]\n"
		"\n"
		"Prints the boot state of a disk image (EFI/stele/grubenv on its ESP): the slot\n"
		"order and each slot's state and tries left. --set changes STELE_ORDER (\"a b\",\n"
		"\"b a\", \"a\"), STELE_A_STATE / STELE_B_STATE (good, trial, bad) or\n"
		"STELE_A_TRIES / STELE_B_TRIES (0..15); the result is validated before writing.\n");
}

static int apply_set(struct bootstate *s, const char *assign, struct err *e)
{
	const char *eq = strchr(assign, '=');
	char name[32];
	int slot;

	if (!eq || (size_t)(eq - assign) >= sizeof(name))
		return err_set(e, EINVAL, "--set %s: expected NAME=VALUE", assign);
	snprintf(name, sizeof(name), "%.*s", (int)(eq - assign), assign);
	if (strcmp(name, "STELE_ORDER") == 0) {
		s->n_order = 0;
		for (const char *p = eq + 1; *p; p++)
			if (*p != ' ' && s->n_order < 2)
				s->order[s->n_order++] = *p;
		return bootstate_validate(s, e);
	}
	if (strlen(name) != 13 || strncmp(name, "STELE_", 6) != 0 ||
	    (slot = bootstate_slot_index((char)(name[6] | 0x20))) < 0)
		return err_set(e, EINVAL, "--set: unknown variable %s", name);
	if (strcmp(name + 7, "_STATE") == 0) {
		if (bootstate_state_parse(eq + 1, &s->slots[slot].state) < 0)
			return err_set(e, EINVAL, "--set %s: good, trial or bad", name);
	} else if (strcmp(name + 7, "_TRIES") == 0) {
		char *end;
		long v = strtol(eq + 1, &end, 10);
		if (*end || end == eq + 1 || v < 0 || v > 15)
			return err_set(e, EINVAL, "--set %s: 0..15", name);
		s->slots[slot].tries = (unsigned)v;
	} else {
		return err_set(e, EINVAL, "--set: unknown variable %s", name);
	}
	return bootstate_validate(s, e);
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
