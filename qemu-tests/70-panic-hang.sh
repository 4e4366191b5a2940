#!/bin/bash
# The new image's init dies (kernel panic) or hangs (the watchdog resets the machine): the
# tries run out and the old slot boots with no help from userspace; the failure is recorded.
. "$(dirname "$0")/lib.sh"
img=$(fresh_from upd/v1/minimal-1.0.0.img panic)
boot "$img" panic --disk "$WORK/upd/panics/minimal-2.2.0.bundle"
wait_for "stele: ready slot=a version=1.0.0"
ok $? "v1 boots on slot a"
send "stele-update install /dev/vdb --reboot"
rebase
wait_for "Kernel panic" 240
ok $? "the new image panics"
wait_for "stele: ready slot=a version=1.0.0" 300
ok $? "after its tries ran out, slot a boots by itself"
[ "$(count 'stele: booting slot b')" -ge 2 ]
ok $? "slot b was tried as often as its tries allowed (2)"
send "stele-update log"
wait_for '"event": *"exhausted-tries"' 30
ok $? "the failed update is recorded at the next boot"
stop

img=$(fresh_from upd/v1/minimal-1.0.0.img hang)
boot "$img" hang --disk "$WORK/upd/hangs/minimal-2.3.0.bundle"
wait_for "stele: ready slot=a version=1.0.0"
ok $? "v1 boots on slot a"
send "stele-update install /dev/vdb --reboot"
rebase
wait_for "init: hanging" 240
ok $? "the new image hangs"
wait_for "stele: ready slot=a version=1.0.0" 300
ok $? "the watchdog reset it and slot a boots"
send "stele-update log"
wait_for '"event": *"exhausted-tries"' 30
ok $? "the failed update is recorded"
stop
finish
