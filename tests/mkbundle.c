/* mkbundle: an update bundle from a build's slot files, for tests and benchmarks of
 * stele-update with profiles that have no kernel (stele build writes bundles only for
 * bootable images).
 *
 * usage: mkbundle OUT.bundle MANIFEST.json MANIFEST.sig SLOT.verity ROOTFS.ext4 */
#include <stdio.h>

#include "builder/outputs/bundlewrite.h"

int main(int argc, char **argv)
{
	struct err e;

	if (argc != 6) {
		fprintf(stderr, "usage: mkbundle OUT.bundle MANIFEST.json MANIFEST.sig SLOT.verity "
		                "ROOTFS.ext4\n");
		return 2;
	}
	if (bundle_write(argv[1], argv[2], argv[3], argv[4], argv[5], &e) < 0) {
		fprintf(stderr, "mkbundle: %s\n", e.msg);
		return 1;
	}
	return 0;
}
