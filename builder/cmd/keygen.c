/* `stele keygen DIR`: a CA and a signing key and certificate issued by it. */
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "builder/keys.h"

void cmd_keygen_help(FILE *f)
{
	fprintf(f,
		"Usage: stele keygen DIR [--type rsa-3072|rsa-4096|ecdsa-p256] [--secure-boot]\n"
		"\n"
		"Writes DIR/ca.key and DIR/ca.crt (a CA, 20 years) and DIR/signing.key and\n"
		"DIR/signing.crt (a signing certificate issued by the CA, 10 years, key usage\n"
		"digitalSignature). Private keys are created 0600 and never overwritten: if any of\n"
		"the four files exists, nothing is written. RSA (the default, rsa-3072) gives\n"
		"deterministic signatures and so reproducible images; ECDSA signatures are\n"
		"randomized. Give DIR to `stele build --keys`; put ca.crt on devices.\n"
		"\n"
		"It also writes the Secure Boot keys DIR/sb-pk, sb-kek and sb-db (.key and .crt,\n"
		"RSA-2048, self-signed, 20 years): sb-db signs the boot manager and the slots'\n"
		"kernel images, sb-kek may change db, sb-pk owns the platform. A build with\n"
		"\"secure_boot\" writes what an operator enrolls (docs/boot.md).\n"
		"  --secure-boot  write only the Secure Boot keys, into a DIR that has the others\n");
}

int cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{"type", required_argument, NULL, 't'},
		{"secure-boot", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	enum key_type type = KEY_RSA3072;
	struct err e = {{0}};
	bool sb_only = false;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (keys_parse_type(optarg, &type) < 0) {
				fprintf(stderr, "stele keygen: --type: expected rsa-3072, rsa-4096 "
						"or ecdsa-p256\n");
				return EXIT_USAGE;
			}
			break;
		case 's':
			sb_only = true;
			break;
		case 'h':
			cmd_keygen_help(stdout);
			return 0;
		default:
			cmd_keygen_help(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "stele keygen: expected one directory\n");
		return EXIT_USAGE;
	}
	/* every file checked first, so that a refusal writes none */
	if (keys_secure_boot_absent(argv[optind], &e) < 0 ||
	    (!sb_only && keys_generate(argv[optind], type, &e) < 0) ||
	    keys_generate_secure_boot(argv[optind], &e) < 0) {
		fprintf(stderr, "stele keygen: %s\n", e.msg);
		return 1;
	}
	if (!sb_only)
		printf("%s/ca.crt\n%s/signing.crt\n", argv[optind], argv[optind]);
	for (int i = 0; i < KEYS_SB_COUNT; i++)
		printf("%s/%s.crt\n", argv[optind], keys_sb_names[i]);
	return 0;
}
