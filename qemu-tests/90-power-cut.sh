#!/bin/bash
# Power cut: QEMU killed at exact points of an install, reached with stele-update's fault
# points (STELE_UPDATE_FAULT=pause:POINT, rootfs/update/fault.h): halfway through the verity
# image (the tree), halfway through the rootfs blocks, after everything is written and read
# back but before the state flip, and inside the state write that flips the slot to trial
# (written, not yet synced). After each cut a good slot comes up, `status` is truthful (the
# target is not bootable, or, if the flip reached the disk, it is the committed new
# version), and the install can be run again to completion.
. "$(dirname "$0")/lib.sh"
img=$(fresh_from upd/v1/minimal-1.0.0.img power)
bundle=$WORK/upd/v2/minimal-2.0.0.bundle
for point in verity rootfs synced state; do
	boot "$img" power --disk "$bundle"
	wait_for "stele: ready slot=a version=1.0.0"
	ok $? "cut at $point: slot a up before the install"
	send "STELE_UPDATE_FAULT=pause:$point stele-update install /dev/vdb"
	rebase
	wait_for "stele-update: fault: paused at $point" 240
	ok $? "cut at $point: the install stops at $point"
	stop # the power cut
	boot "$img" power --disk "$bundle"
	wait_for "stele: ready slot=[ab]" 240
	ok $? "cut at $point: a good slot comes up after the cut"
	st=$(status_json)
	echo "# status: $st"
	if [ "$point" != state ]; then
		{ echo "$st" | grep -qE '"booted": *"a"' &&
			echo "$st" | grep -qE '"b": *\{[^}]*"state": *"bad"'; }
		ok $? "cut at $point: slot a runs, slot b is bad"
	else
		# the flip either stayed in the page cache (b bad) or reached the disk (b was
		# booted on trial and committed): never a half-written b that boots
		{ echo "$st" | grep -qE '"booted": *"a"' &&
			echo "$st" | grep -qE '"b": *\{[^}]*"state": *"bad"'; } ||
			{ echo "$st" | grep -qE '"booted": *"b"' &&
				echo "$st" | grep -qE '"b": *\{[^}]*"state": *"good"[^}]*"2.0.0"'; }
		ok $? "cut at $point: status is truthful"
	fi
	stop
	if echo "$st" | grep -qE '"booted": *"b"'; then
		"$STELE" state "$img" --set STELE_ORDER="a b" --set STELE_B_STATE=bad >/dev/null # start over
	fi
done
boot "$img" power --disk "$bundle"
wait_for "stele: ready slot=a version=1.0.0"
send "stele-update install /dev/vdb --reboot"
rebase
wait_for "stele: ready slot=b version=2.0.0" 240
ok $? "after the cuts, the install runs to completion and v2 is committed"
stop
finish
