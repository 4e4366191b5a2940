#!/bin/bash
# The minimal image boots slot A to the appliance, verified, and the boot spent one try.
. "$(dirname "$0")/lib.sh"
img=$(fresh_image first-boot)
boot "$img" first-boot
wait_for "stele: ready slot=a version=1.0.0"
ok $? "boots to 'stele: ready slot=a version=1.0.0'"
grep -aqE "stele-init: slot a verified, version 1.0.0, root hash [0-9a-f]{64}" "$serial"
ok $? "stele-init verified slot a and named its root hash"
root=$(sed -n 's/.*"root_hash":[[:space:]]*"\([0-9a-f]*\)".*/\1/p' "$WORK/out/minimal-1.0.0.manifest.json")
grep -aq "root hash $root" "$serial"
ok $? "the root hash on the console is the manifest's"
grep -aq "stele: booting slot a (good)" "$serial"
ok $? "GRUB chose slot a"
grep -aq "stele-update: healthy" "$serial"
ok $? "the health checks passed at boot"
stop
state=$("$STELE" state "$img" --json)
[ "$state" = '{"order": "a b", "a": {"state": "good", "tries": 3}, "b": {"state": "bad", "tries": 0}}' ]
ok $? "a healthy boot reset the try GRUB spent (a: good, 3 tries)"
finish
