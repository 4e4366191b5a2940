#!/bin/bash
# Secure Boot, enforcing (OVMF's secboot firmware with the store the build wrote: the
# product's PK, KEK and db): the image boots through its signed GRUB and slot a's signed
# kernel image; a flipped byte in the kernel, the initramfs or the command line of that image,
# or in GRUB, is refused before it runs, and so is an image whose GRUB check passes but whose
# Authenticode signature is gone, and an image of another product's keys. An update A->B
# under Secure Boot commits; a bundle whose kernel image another db signed is refused first.
. "$(dirname "$0")/lib.sh"
PGPSIGN=${PGPSIGN:-$(dirname "$0")/../build/asan/pgpsign}
sb=$WORK/upd/sb
vars=$sb/minimal-1.0.0.ovmf-vars.fd
command -v sbattach >/dev/null && [ -x "$PGPSIGN" ] && [ -r "$vars" ] ||
	{ echo "1..0 # SKIP sbsigntool, build/asan/pgpsign or the Secure Boot image missing"; exit 77; }

img=$(fresh_from upd/sb/minimal-1.0.0.img sb-good)
boot "$img" sb-good --secure-boot --vars "$vars"
wait_for "stele: ready slot=a version=1.0.0"
ok $? "boots under Secure Boot to 'stele: ready slot=a version=1.0.0'"
grep -aq "secureboot: Secure boot enabled" "$serial"
ok $? "the kernel reports Secure Boot enabled (the firmware enforces it)"
grep -aq "stele: booting slot a (good), signed" "$serial"
ok $? "GRUB chainloaded slot a's signed kernel image"
root=$(sed -n 's/.*"root_hash":[[:space:]]*"\([0-9a-f]*\)".*/\1/p' "$sb/minimal-1.0.0.manifest.json")
grep -aq "Command line: stele.roothash=$root " "$serial"
ok $? "the kernel's command line is the image's own, with the slot's root hash"
grep -aqE "stele-init: slot a holds root hash ${root:0:16}" "$serial" &&
	grep -aq "stele-init: slot a verified, version 1.0.0, root hash $root" "$serial"
ok $? "stele-init found slot a by that root hash and verified it"
stop
state=$("$STELE" state "$img" --json)
[ "$state" = '{"order": "a b", "a": {"state": "good", "tries": 3}, "b": {"state": "bad", "tries": 0}}' ]
ok $? "a healthy boot reset the try GRUB spent (a: good, 3 tries)"

esp_spec() { echo "$1@@$(part_start "$1" esp)"; }
# refused NAME IMAGE DESC PATTERN: boots IMAGE; PATTERN (what the refusal prints) must come and
# no line of the kernel's stub ever
refused() {
	boot "$2" "$1" --secure-boot --vars "$vars"
	wait_for "$4" 120
	local seen=$?
	sleep 1
	[ "$seen" = 0 ] && [ "$(count 'EFI stub|Linux version|stele-init')" = 0 ]
	ok $? "$3"
	stop
}
# tamper IMAGE SLOT SECTION: slot SLOT's kernel image (a copy of slot a's) with one byte of
# SECTION inverted; "unsigned": without its Authenticode signature, and GRUB's OpenPGP
# signature remade by the right key, so that only the firmware's check can refuse it
tamper() {
	local t=$1 f=$WORK/tamper.efi off
	mcopy -o -n -i "$(esp_spec "$t")" ::/EFI/stele/a.efi "$f"
	if [ "$3" = unsigned ]; then
		sbattach --remove "$f" >/dev/null 2>&1
		"$PGPSIGN" "$WORK/keys/sb-db.key" "$f" "$f.sig"
	else
		mcopy -o -n -i "$(esp_spec "$t")" ::/EFI/stele/a.efi.sig "$f.sig"
		off=$(objdump -h "$f" | awk -v s="$3" '$2 == s { print strtonum("0x" $6); exit }')
		flip "$f" $((off + 16))
	fi
	mcopy -o -n -i "$(esp_spec "$t")" "$f" "::/EFI/stele/$2.efi"
	mcopy -o -n -i "$(esp_spec "$t")" "$f.sig" "::/EFI/stele/$2.efi.sig"
	rm -f "$f" "$f.sig"
}
# two tampered slots per boot, both good with tries: GRUB must refuse each, nothing runs
both_tampered() { # NAME SECTION-A SECTION-B DESC-A DESC-B WHO-REFUSED-B
	local t
	t=$(fresh_from upd/sb/minimal-1.0.0.img "$1")
	tamper "$t" a "$2"
	tamper "$t" b "$3"
	"$STELE" state "$t" --set STELE_B_STATE=good --set STELE_B_TRIES=3 >/dev/null
	refused "$1" "$t" "$4 and $5" "stele: nothing bootable"
	grep -aq "stele: slot a could not be loaded" "$serial" &&
		grep -aq "stele: slot b could not be loaded" "$serial"
	ok $? "... GRUB tried both slots and loaded neither"
	[ "$(count 'error: bad signature')" -ge 1 ]
	ok $? "... GRUB's check refused slot a ('bad signature')"
	[ "$(count "$6")" -ge 1 ]
	ok $? "... and slot b: '$6'"
	rm -f "$t"
}
both_tampered sb-tamper1 .linux .initrd "a flipped byte in the kernel (slot a) is refused" \
	"one in the initramfs (slot b), by GRUB's signature check; nothing runs" "error: bad signature"
both_tampered sb-tamper2 .cmdline unsigned "a flipped byte in the command line (slot a) is refused" \
	"an image GRUB accepts but without Authenticode signature (slot b) by the firmware" \
	"error: cannot load image"

t=$(fresh_from upd/sb/minimal-1.0.0.img sb-grub)
mcopy -n -i "$(esp_spec "$t")" ::/EFI/BOOT/BOOTX64.EFI "$WORK/sb-grub.efi"
off=$(objdump -h "$WORK/sb-grub.efi" | awk '$2 == ".text" { print strtonum("0x" $6); exit }')
flip "$WORK/sb-grub.efi" $((off + 64))
mcopy -o -n -i "$(esp_spec "$t")" "$WORK/sb-grub.efi" ::/EFI/BOOT/BOOTX64.EFI
refused sb-grub "$t" "a flipped byte in GRUB is refused by the firmware, nothing runs" "Access Denied"
! grep -aq "Welcome to GRUB" "$serial"
ok $? "... and GRUB never started"
rm -f "$t" "$WORK/sb-grub.efi"

t=$(fresh_from upd/sb-foreign.img sb-foreign)
refused sb-foreign "$t" "an image signed by another product's keys does not boot with this product's store" "Access Denied"
rm -f "$t"

# updates: a bundle whose kernel image another product's db signed is refused before anything
# is written; this product's v2 installs; with its image tampered slot a boots; installed
# again it boots on trial through its own signed image and commits
root_b() { # the sha256 of slot b's root partition
	dd if="$1" bs=1M skip=$(($(part_start "$1" root_b) / 1048576)) count=192 status=none |
		sha256sum | cut -c1-64
}
t=$(fresh_from upd/sb/minimal-1.0.0.img sb-update)
before=$(root_b "$t")
boot "$t" sb-update --secure-boot --vars "$vars" --disk "$WORK/upd/sb2-foreign-uki.bundle"
wait_for "stele: ready slot=a version=1.0.0"
send "stele-update install /dev/vdb"
wait_for "not by a certificate of the Secure Boot db" 120
ok $? "stele-update refuses a bundle whose kernel image another db signed"
grep -aq "stele-update: refusing /dev/vdb: the kernel image (checked against /etc/stele/secure-boot-db.crt)" "$serial"
ok $? "... before writing: it names the device's db certificate"
stop
[ "$(root_b "$t")" = "$before" ] && ! mdir -i "$(esp_spec "$t")" ::/EFI/stele/b.efi >/dev/null 2>&1 &&
	"$STELE" state "$t" --json | grep -q '"b": {"state": "bad", "tries": 0}'
ok $? "... slot b's partition, its boot state and the ESP are unchanged"
boot "$t" sb-update --secure-boot --vars "$vars" --disk "$WORK/upd/sb2/minimal-2.0.0.bundle"
wait_for "stele: ready slot=a version=1.0.0"
send "stele-update install /dev/vdb"
wait_for "stele-update: installed minimal 2.0.0 into slot b" 240
ok $? "this product's v2 installs into slot b"
stop
# slot b's new kernel image with a byte of its kernel flipped: GRUB refuses it, slot a boots
mcopy -o -n -i "$(esp_spec "$t")" ::/EFI/stele/b.efi "$WORK/b.efi"
cmp -s "$WORK/b.efi" "$WORK/upd/sb2/minimal-2.0.0.efi"
ok $? "... its kernel image is on the ESP as EFI/stele/b.efi"
off=$(objdump -h "$WORK/b.efi" | awk '$2 == ".linux" { print strtonum("0x" $6); exit }')
flip "$WORK/b.efi" $((off + 4096))
mcopy -o -n -i "$(esp_spec "$t")" "$WORK/b.efi" ::/EFI/stele/b.efi
rm -f "$WORK/b.efi"
boot "$t" sb-update --secure-boot --vars "$vars"
wait_for "stele: ready slot=a version=1.0.0"
ok $? "with slot b's image tampered the other slot boots (a, v1)"
grep -aq "stele: slot b could not be loaded" <(since_boot) && [ "$(count 'error: bad signature')" -ge 1 ] &&
	[ "$(count 'stele-init: slot b')" = 0 ]
ok $? "... GRUB refused slot b ('bad signature') and nothing of it ran"
stop
boot "$t" sb-update --secure-boot --vars "$vars" --disk "$WORK/upd/sb2/minimal-2.0.0.bundle"
wait_for "stele: ready slot=a version=1.0.0"
send "stele-update install /dev/vdb --reboot"
rebase
wait_for "stele: booting slot b \(trial\), signed" 240
ok $? "after the install GRUB chainloads slot b's own signed kernel image, on trial"
root2=$(sed -n 's/.*"root_hash":[[:space:]]*"\([0-9a-f]*\)".*/\1/p' "$WORK/upd/sb2/minimal-2.0.0.manifest.json")
wait_for "stele-init: slot b verified, version 2.0.0, root hash $root2"
ok $? "stele-init found slot b by the root hash in that image and verified it"
wait_for "stele-update: committed slot b version 2.0.0"
ok $? "health passed: committed"
wait_for "stele: ready slot=b version=2.0.0"
ok $? "v2 is up on slot b, under Secure Boot"
stop
"$STELE" state "$t" --json | grep -q '"order": "b a".*"b": {"state": "good", "tries": 3}'
ok $? "the boot state: b first, good"
rm -f "$t"
finish
