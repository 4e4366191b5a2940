#!/bin/bash
# STELE_ORDER switched by the codec to a slot that is bad, or empty: slot A still boots.
. "$(dirname "$0")/lib.sh"
img=$(fresh_image order-bad)
"$STELE" state "$img" --set STELE_ORDER="b a" >/dev/null
boot "$img" order-bad
wait_for "stele: ready slot=a"
ok $? "order 'b a' with b bad: slot a boots"
! grep -aq "booting slot b" "$serial"
ok $? "GRUB did not try the bad slot"
stop

img=$(fresh_image order-empty)
"$STELE" state "$img" --set STELE_ORDER="b a" --set STELE_B_STATE=good --set STELE_B_TRIES=3 >/dev/null
boot "$img" order-empty
wait_for "stele: ready slot=a"
ok $? "order 'b a' with b empty but marked good: slot a boots"
grep -aq "stele: slot b could not be loaded" "$serial"
ok $? "GRUB says slot b could not be loaded"
stop
[ "$("$STELE" state "$img" --json)" = '{"order": "b a", "a": {"state": "good", "tries": 3}, "b": {"state": "good", "tries": 2}}' ]
ok $? "GRUB saved b's spent try (3->2); a's was reset by its healthy boot"
finish
