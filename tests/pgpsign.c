/* pgpsign KEY.pem FILE OUT: GRUB's OpenPGP detached signature of FILE by KEY, the way
 * `stele build` makes it (builder/secureboot.h). For the Secure Boot scenario that must get a
 * kernel image past GRUB's check so that only the firmware's check can refuse it. */
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>

#include "builder/fileutil.h"
#include "builder/secureboot.h"

int main(int argc, char **argv)
{
	struct err e = {{0}};
	EVP_PKEY *k = NULL;
	uint8_t *sig;
	size_t len;
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: pgpsign KEY.pem FILE OUT\n");
		return 2;
	}
	f = fopen(argv[1], "r");
	if (f)
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	if (f)
		fclose(f);
	if (!k) {
		fprintf(stderr, "pgpsign: %s: no private key\n", argv[1]);
		return 1;
	}
	if (sb_pgp_sign_file(argv[2], k, 1704067200, &sig, &len, &e) < 0 ||
	    file_write(argv[3], sig, len, &e) < 0) {
		fprintf(stderr, "pgpsign: %s\n", e.msg);
		return 1;
	}
	free(sig);
	EVP_PKEY_free(k);
	return 0;
}
