#!/bin/bash
# A slot whose manifest was altered (the signature no longer matches) is refused by stele-init.
. "$(dirname "$0")/lib.sh"
img=$(fresh_image manifest)
verity_a=$(part_start "$img" verity_a)
manifest_off=$(od -An -t u8 -j $((verity_a + 32)) -N 8 "$img" | tr -d ' ')
flip "$img" $((verity_a + manifest_off + 30))
boot "$img" manifest
wait_for "stele-init: FAILED"
ok $? "stele-init fails"
grep -aE "stele-init: FAILED" "$serial" | grep -aqi "signature"
ok $? "and names the signature"
! grep -aq "stele: ready" "$serial"
ok $? "the appliance did not come up"
finish
