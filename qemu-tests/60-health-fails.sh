#!/bin/bash
# The new image's health check fails: the slot is marked bad and the device reboots into the
# old slot; the journal says why.
. "$(dirname "$0")/lib.sh"
img=$(fresh_from upd/v1/minimal-1.0.0.img health)
boot "$img" health --disk "$WORK/upd/health-fails/minimal-2.1.0.bundle"
wait_for "stele: ready slot=a version=1.0.0"
ok $? "v1 boots on slot a"
send "stele-update install /dev/vdb --reboot"
rebase
wait_for "stele-init: slot b verified, version 2.1.0" 240
ok $? "the trial of slot b starts"
wait_for "health check always-fails failed" 120
ok $? "the failing check is named"
wait_for "stele: ready slot=a version=1.0.0" 120
ok $? "back on slot a, v1"
send "stele-update log"
wait_for '"event": *"revert".*always-fails' 30
ok $? "the journal records the revert and why"
stop
"$STELE" state "$img" --json | grep -q '"b": {"state": "bad"'
ok $? "slot b is bad"
finish
