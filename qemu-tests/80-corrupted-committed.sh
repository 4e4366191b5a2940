#!/bin/bash
# A committed slot whose rootfs is later corrupted on disk: dm-verity stops every boot of it,
# and after its tries the other slot boots instead of a reboot loop.
. "$(dirname "$0")/lib.sh"
img=$(fresh_from upd/v1/minimal-1.0.0.img corrupt)
boot "$img" corrupt --disk "$WORK/upd/v2/minimal-2.0.0.bundle"
wait_for "stele: ready slot=a version=1.0.0"
send "stele-update install /dev/vdb --reboot"
rebase
wait_for "stele: ready slot=b version=2.0.0" 240
ok $? "v2 committed and up on slot b"
stop
block=$(debugfs -R "bmap /sbin/init 0" "$WORK/upd/v2/minimal-2.0.0.rootfs.ext4" 2>/dev/null)
root_b=$(part_start "$img" root_b)
flip "$img" $((root_b + block * 4096 + 10))
boot "$img" corrupt
wait_for "device-mapper: verity: .*data block $block is corrupted" 120
ok $? "dm-verity catches the corrupted block of the committed slot"
wait_for "stele: ready slot=a version=1.0.0" 300
ok $? "after slot b's tries, slot a boots (no reboot loop)"
send "stele-update log"
wait_for '"event": *"exhausted-tries".*stopped booting' 30
ok $? "the journal records that a good slot stopped booting"
stop
finish
