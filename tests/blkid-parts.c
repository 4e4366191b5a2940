/* Test tool: lists the partitions libblkid finds in a disk image file, one per line:
 * "number name type-uuid start-sector size-sectors". An independent reader of stele's GPT
 * (stele writes it with libfdisk; the device finds partitions with libblkid). */
#include <blkid/blkid.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	blkid_probe pr;
	blkid_partlist ls;
	int n;

	if (argc != 2) {
		fprintf(stderr, "usage: blkid-parts IMAGE\n");
		return 2;
	}
	pr = blkid_new_probe_from_filename(argv[1]);
	if (!pr) {
		perror(argv[1]);
		return 1;
	}
	blkid_probe_enable_partitions(pr, 1);
	ls = blkid_probe_get_partitions(pr);
	if (!ls) {
		fprintf(stderr, "%s: no partition table\n", argv[1]);
		return 1;
	}
	n = blkid_partlist_numof_partitions(ls);
	for (int i = 0; i < n; i++) {
		blkid_partition p = blkid_partlist_get_partition(ls, i);
		const char *name = blkid_partition_get_name(p), *type = blkid_partition_get_type_string(p);

		printf("%d %s %s %lld %lld\n", blkid_partition_get_partno(p), name ? name : "-",
		       type ? type : "-", (long long)blkid_partition_get_start(p),
		       (long long)blkid_partition_get_size(p));
	}
	blkid_free_probe(pr);
	return 0;
}
