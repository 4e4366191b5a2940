#!/bin/bash
# A byte of /sbin/init flipped on disk: the kernel's dm-verity refuses the block when init
# runs, says so on the console, and the appliance never comes up.
. "$(dirname "$0")/lib.sh"
img=$(fresh_image verity)
block=$(debugfs -R "bmap /sbin/init 0" "$WORK/minimal.rootfs.ext4" 2>/dev/null)
root_a=$(part_start "$img" root_a)
[ -n "$block" ] && [ -n "$root_a" ]
ok $? "found /sbin/init at block $block of root_a (at byte $root_a)"
flip "$img" $((root_a + block * 4096 + 10))
boot "$img" verity
wait_for "device-mapper: verity: .*data block $block is corrupted"
ok $? "dm-verity reports data block $block corrupted"
! grep -aq "stele: ready" "$serial"
ok $? "the appliance did not come up on the corrupted block"
stop
tries=$("$STELE" state "$img" --json | sed -n 's/.*"a": {"state": "good", "tries": \([0-9]*\)}.*/\1/p')
[ -n "$tries" ] && [ "$tries" -lt 3 ]
ok $? "the failed boots spent slot a's tries (saved by GRUB before booting): $tries left"
finish
