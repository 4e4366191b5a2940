#!/bin/bash
# Power cut: QEMU killed at several points of an install (early, in the tree, in the blocks,
# at the end) -> on the next boot a good slot comes up, `status` is truthful (the target is
# not bootable), and the install can be run again to completion.
. "$(dirname "$0")/lib.sh"
img=$(fresh_from upd/v1/minimal-1.0.0.img power)
bundle=$WORK/upd/v2/minimal-2.0.0.bundle
for delay in 0.5 2 5 9; do
	boot "$img" power --disk "$bundle"
	wait_for "stele: ready slot=a version=1.0.0"
	ok $? "cut after ${delay}s: slot a up before the install"
	send "stele-update install /dev/vdb"
	rebase
	sleep "$delay"
	stop # the power cut
	boot "$img" power --disk "$bundle"
	wait_for "stele: ready slot=[ab]" 240
	ok $? "cut after ${delay}s: a good slot comes up after the cut"
	st=$(status_json)
	echo "# status: $st"
	# either the install never finished (a runs, b is not bootable) or it did (b is
	# committed v2): never a half-written b that boots
	{ echo "$st" | grep -qE '"booted": *"a"' && echo "$st" | grep -qE '"b": *\{[^}]*"state": *"bad"'; } ||
		{ echo "$st" | grep -qE '"booted": *"b"' && echo "$st" | grep -qE '"b": *\{[^}]*"state": *"good"[^}]*"2.0.0"'; }
	ok $? "cut after ${delay}s: status is truthful"
	if echo "$st" | grep -qE '"booted": *"b"'; then
		stop
		"$STELE" state "$img" --set STELE_ORDER="a b" --set STELE_B_STATE=bad >/dev/null # start over
		continue
	fi
	stop
done
boot "$img" power --disk "$bundle"
wait_for "stele: ready slot=a version=1.0.0"
send "stele-update install /dev/vdb --reboot"
rebase
wait_for "stele: ready slot=b version=2.0.0" 240
ok $? "after the cuts, the install runs to completion and v2 is committed"
stop
finish
