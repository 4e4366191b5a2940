/* mkbundle: an update bundle from a build's slot files, for tests and benchmarks of
 * stele-update with profiles that have no kernel (stele build writes bundles only for
 * bootable images).
 *
 * usage: mkbundle OUT.bundle MANIFEST.json MANIFEST.sig SLOT.verity ROOTFS.ext4 [UKI.efi UKI.sig]
 * (with the last two: format 2, a Secure Boot slot's kernel image and its signature) */
#include <stdio.h>
#include <stdlib.h>

#include "builder/fileutil.h"
#include "builder/outputs/bundlewrite.h"

int main(int argc, char **argv)
{
	struct bundle_in in = {0};
	char *manifest = NULL, *sig = NULL;
	struct err e;
	int r;

	if (argc != 6 && argc != 8) {
		fprintf(stderr, "usage: mkbundle OUT.bundle MANIFEST.json MANIFEST.sig SLOT.verity "
		                "ROOTFS.ext4 [UKI.efi UKI.sig]\n");
		return 2;
	}
	if (argc == 8) {
		in.uki = argv[6];
		in.uki_sig = argv[7];
	}
	r = file_read_all(argv[2], 1 << 30, &manifest, &in.manifest_len, &e);
	if (r == 0)
		r = file_read_all(argv[3], 1 << 30, &sig, &in.signature_len, &e);
	in.manifest = manifest;
	in.signature = (const uint8_t *)sig;
	in.verity = argv[4];
	in.rootfs = argv[5];
	if (r == 0)
		r = bundle_write(argv[1], &in, &e);
	free(manifest);
	free(sig);
	if (r < 0) {
		fprintf(stderr, "mkbundle: %s\n", e.msg);
		return 1;
	}
	return 0;
}
