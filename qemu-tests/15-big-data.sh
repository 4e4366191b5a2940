#!/bin/bash
# A data partition of the size real appliances have (1 GiB: eight block groups, mke2fs's inode
# ratio) mounts read-write under the kernel: /var on it takes 300 MiB and 20000 files, and the
# kernel reports no ext4 error. (A writer bug once made any ext4 of 272 MiB or more fail its
# group descriptor checksums and refuse a read-write mount.)
. "$(dirname "$0")/lib.sh"
img=$(fresh_from upd/big-data/minimal-1.0.0.img big-data)
boot "$img" big-data
wait_for "stele: ready slot=a version=1.0.0"
ok $? "an image with a 1 GiB data partition boots to ready"
send "cd /var && dd if=/dev/urandom of=fill bs=1M count=300 2>/dev/null && mkdir many && cd many && i=0 && while [ \$i -lt 20000 ]; do : > f\$i; i=\$((i+1)); done && cd / && sync && echo fill-done \$(ls /var/many | wc -l) \$(grep -c ' /var ext4 rw' /proc/mounts)"
wait_for "^fill-done 20000 1" 600
ok $? "/var on the data partition (ext4, rw) took 300 MiB and 20000 files"
send "echo ext4-errors=\$(dmesg | grep -c 'EXT4-fs error')"
wait_for "^ext4-errors=[0-9]" 60
since_boot | grep -aq "^ext4-errors=0"
ok $? "dmesg holds no ext4 error"
! since_boot | grep -aqE '^\[ *[0-9.]+\] EXT4-fs (error|warning)'
ok $? "no ext4 error or warning on the console"
finish
