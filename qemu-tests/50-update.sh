#!/bin/bash
# Update A->B with the v2 bundle from a second virtual disk: install, reboot into a trial of
# B, health passes, committed; then B->A with v3 (ping-pong).
. "$(dirname "$0")/lib.sh"
U=$WORK/upd
img=$(fresh_from upd/v1/minimal-1.0.0.img update)

boot "$img" update --disk "$U/v2/minimal-2.0.0.bundle"
wait_for "stele: ready slot=a version=1.0.0"
ok $? "v1 boots on slot a"
send "stele-update install /dev/vdb --reboot"
rebase
wait_for "stele-init: slot b verified, version 2.0.0" 240
ok $? "after the install, slot b (v2) boots"
grep -aq "stele: booting slot b (trial)" "$serial"
ok $? "as a trial"
wait_for "stele-update: committed slot b version 2.0.0"
ok $? "health passed: committed"
wait_for "stele: ready slot=b version=2.0.0"
ok $? "v2 is up on slot b"
st=$(status_json)
echo "# status: $st"
echo "$st" | grep -q '"booted": *"b"'
ok $? "status --json: booted b"
echo "$st" | grep -qE '"b": *\{[^}]*"state": *"good"[^}]*"version": *"2.0.0"'
ok $? "status --json: b good, v2"
echo "$st" | grep -qE '"a": *\{[^}]*"state": *"good"[^}]*"version": *"1.0.0"'
ok $? "status --json: a good, v1"
stop

boot "$img" update --disk "$U/v3/minimal-3.0.0.bundle"
wait_for "stele: ready slot=b version=2.0.0"
ok $? "v2 boots again on slot b"
send "stele-update install /dev/vdb --reboot"
rebase
wait_for "stele-update: committed slot a version 3.0.0" 240
ok $? "v3 installed into slot a and committed"
wait_for "stele: ready slot=a version=3.0.0"
ok $? "v3 is up on slot a (ping-pong)"
send "stele-update log"
wait_for '"event": *"commit".*3.0.0' 30
ok $? "the journal records the commit of v3"
stop
[ "$("$STELE" state "$img" --json)" = '{"order": "a b", "a": {"state": "good", "tries": 3}, "b": {"state": "good", "tries": 3}}' ]
ok $? "boot state: a first, both good with full tries"
finish
