#!/bin/bash
# A disk whose GPT has root_b over the second half of root_a (both entry arrays and every
# CRC fixed, so the table looks valid; the kernel creates overlapping partitions without a
# word): GRUB still loads slot A, but stele-init refuses the disk, naming both partitions,
# and never comes up on it.
. "$(dirname "$0")/lib.sh"
GPTEDIT=${GPTEDIT:-$(dirname "$0")/../build/asan/gptedit}
img=$(fresh_image overlap)
a=$("$GPTEDIT" "$img" root_a show)
first=${a% *} last=${a#* }
half=$(((last - first + 1) / 2))
"$GPTEDIT" "$img" root_b start=$((first + half)) end=$((last + half))
ok $? "root_b moved over the second half of root_a (sectors $((first + half))..$((last + half)))"
boot "$img" overlap
wait_for "FAILED: finding the partitions: the partition table of /dev/[a-z0-9]+: partition 4 \(root_b, sectors [0-9]+\.\.[0-9]+\) overlaps partition 2 \(root_a"
ok $? "stele-init refuses the disk, naming root_b and root_a"
! since_boot | grep -aq "stele: ready"
ok $? "the appliance did not come up on the disk"
stop
finish
