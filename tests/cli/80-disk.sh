#!/bin/bash
# The bootable disk image, checked by independent tools: sfdisk (verify, layout), libblkid
# (every PARTLABEL), fsck.vfat and mdir (the ESP), grub-editenv (the boot state), qemu-img
# check (qcow2, vmdk, vhdx); and two builds are byte-identical.
. "$(dirname "$0")/lib.sh"
apt-cache show --no-all-versions busybox-static linux-image-cloud-amd64 >/dev/null 2>&1 ||
	skip_all "no apt lists for the minimal profile"
for t in sfdisk blkid fsck.vfat mdir mcopy grub-editenv qemu-img; do
	command -v $t >/dev/null || skip_all "$t missing"
done
cd "$work" || exit 1
"$STELE" keygen keys >/dev/null
cat >p.json <<JSON
{ "extends": "$TOP/profiles/minimal.json", "outputs": ["raw", "qcow2", "vmdk", "vhdx", "bundle"],
  "layout": { "esp_size": "64M", "slot_size": "256M", "data_size": "64M" } }
JSON
run "$STELE" build p.json -o a --keys keys -q
is "build a bootable image with qcow2" "$rc" 0
[ "$rc" = 0 ] || echo "$err" | sed 's/^/# /'
img=a/minimal-1.0.0.img
run "$STELE" build p.json -o b --keys keys -q
check "two builds give byte-identical .img" -- cmp "$img" b/minimal-1.0.0.img
check "two builds give byte-identical .qcow2" -- cmp a/minimal-1.0.0.qcow2 b/minimal-1.0.0.qcow2
check "two builds give byte-identical .vmdk" -- cmp a/minimal-1.0.0.vmdk b/minimal-1.0.0.vmdk
check "two builds give byte-identical .vhdx" -- cmp a/minimal-1.0.0.vhdx b/minimal-1.0.0.vhdx
check "two builds give byte-identical .bundle" -- cmp a/minimal-1.0.0.bundle b/minimal-1.0.0.bundle
run "$STELE" verify a/minimal-1.0.0.bundle --trust keys/ca.crt
is "stele verify on the bundle: exit 0" "$rc" 0
has "stele verify on the bundle: every block" "$out" "ok   hash tree and data"
cp --sparse=always a/minimal-1.0.0.bundle t.bundle
rootfs_off=$(($(stat -c %s t.bundle) - $(stat -c %s a/minimal-1.0.0.rootfs.ext4)))
printf 'X' | dd of=t.bundle bs=1 seek=$((rootfs_off + 4096 * 7 + 1)) conv=notrunc 2>/dev/null
run "$STELE" verify t.bundle --trust keys/ca.crt
is "a flipped rootfs byte in the bundle: exit 1" "$rc" 1
has "a flipped rootfs byte in the bundle: the block is named" "$out" "FAIL data block 7"
truncate -s 10000 t.bundle
run "$STELE" verify t.bundle --trust keys/ca.crt
has "a truncated bundle: the header check says so" "$out" "FAIL bundle header: bundle: truncated"
check "the raw image is sparse" -- test "$(du -k "$img" | cut -f1)" -lt $(($(stat -c %s "$img") / 1024 / 2))

run sfdisk --verify "$img"
is "sfdisk --verify" "$rc" 0
has "sfdisk --verify finds no errors" "$out" "No errors detected"
json=$(sfdisk --json "$img")
field() { # field N KEY: KEY of the Nth partition in sfdisk --json
	echo "$json" | awk -v n="$1" -v k="\"$2\":" '
		/"node":/ { i++ } i == n && $1 == k { gsub(/[",]/, "", $2); print $2; exit }'
}
names="esp root_a verity_a root_b verity_b data"
types="C12A7328-F81F-11D2-BA4B-00A0C93EC93B 4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709 2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5 4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709 2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5 4D21B016-B534-45C2-A9FB-5C16E091FD2D"
sizes="131072 524288 - 524288 - 131072" # sectors: 64M, 256M, (verity derived), 256M, -, 64M
i=0
for name in $names; do
	i=$((i + 1))
	is "partition $i is $name" "$(field $i name)" "$name"
	is "partition $i type" "$(field $i type)" "$(echo $types | cut -d' ' -f$i)"
	want=$(echo $sizes | cut -d' ' -f$i)
	[ "$want" = - ] || is "partition $i size from the layout" "$(field $i size)" "$want"
	is "partition $i is 1 MiB aligned" "$(($(field $i start) % 2048))" 0
done
is "label is gpt" "$(echo "$json" | sed -n 's/.*"label": "\(.*\)",/\1/p')" gpt

parts=$("$TOOLS/blkid-parts" "$img")
i=0
for name in $names; do
	i=$((i + 1))
	is "libblkid finds PARTLABEL $name as partition $i" \
		"$(echo "$parts" | awk -v n="$name" '$2 == n { print $1 }')" "$i"
done
esp_off=$(($(field 1 start) * 512))
dd if="$img" of=esp.img bs=1M skip=$((esp_off / 1048576)) count=64 2>/dev/null
check "blkid sees a FAT32 ESP" -- bash -c "blkid -p esp.img | grep -q 'TYPE=\"vfat\"'"
run fsck.vfat -n esp.img
is "fsck.vfat -n is clean" "$rc" 0
run mdir -i esp.img ::/EFI/BOOT
has "mdir sees EFI/BOOT/BOOTX64.EFI" "$out" "BOOTX64  EFI"
run mcopy -n -i esp.img ::/EFI/stele/grubenv grubenv
is "the boot state is on the ESP" "$rc" 0
run grub-editenv grubenv list
has "grub-editenv reads STELE_ORDER" "$out" "STELE_ORDER=a b"
has "grub-editenv reads slot a good" "$out" "STELE_A_STATE=good"
has "grub-editenv reads slot b bad" "$out" "STELE_B_STATE=bad"
is "the boot state is 1024 bytes" "$(stat -c %s grubenv)" 1024
run "$STELE" state "$img" --json
is "stele state reads it" "$out" '{"order": "a b", "a": {"state": "good", "tries": 3}, "b": {"state": "bad", "tries": 0}}'
data_off=$(($(field 6 start) * 512))
dd if="$img" of=data.img bs=1M skip=$((data_off / 1048576)) count=64 2>/dev/null
run e2fsck -fn data.img
is "the data partition is a clean ext4" "$rc" 0
check "the data partition has a journal" -- bash -c "dumpe2fs -h data.img 2>/dev/null | grep -q has_journal"
run qemu-img check a/minimal-1.0.0.qcow2
is "qemu-img check passes on the qcow2" "$rc" 0
check "qemu-img compare: qcow2 and raw hold the same disk" -- \
	qemu-img compare -f raw -F qcow2 "$img" a/minimal-1.0.0.qcow2
for f in vmdk vhdx; do
	run qemu-img check -f $f a/minimal-1.0.0.$f
	is "qemu-img check passes on the $f" "$rc" 0
	check "qemu-img compare: $f and raw hold the same disk" -- \
		qemu-img compare -f raw -F $f "$img" a/minimal-1.0.0.$f
	cp a/minimal-1.0.0.$f w.$f
	check "the $f takes a write (as a booted VM's disk does) and stays consistent" -- bash -c \
		"qemu-io -f $f -c 'write -P 0x5a 1M 64k' w.$f >/dev/null &&
		 qemu-img check -q -f $f w.$f &&
		 ! qemu-io -f $f -c 'read -P 0x5a 1M 64k' w.$f | grep -q 'verification failed'"
	run "$STELE" run a/minimal-1.0.0.$f --dry-run
	has "stele run opens the $f as $f" "$out" "format=$f"
done
check "the vmdk's extent names the file itself, not a temporary name" -- \
	grep -qa 'SPARSE "minimal-1.0.0.vmdk"' a/minimal-1.0.0.vmdk
check "the vmdk's CID is not qemu-img's random one (a plain conversion differs)" -- bash -c \
	"qemu-img convert -f raw -O vmdk '$img' plain.vmdk && ! cmp -s plain.vmdk a/minimal-1.0.0.vmdk"

run "$STELE" verify "$img" --trust keys/ca.crt
is "stele verify on the disk image: exit 0" "$rc" 0
has "stele verify: GPT" "$out" "ok   gpt"
has "stele verify: slot a checked block by block" "$out" "ok   slot a: hash tree and data"
has "stele verify: slot b reported empty" "$out" "slot b: contents: empty"
has "stele verify: boot state" "$out" "ok   boot state: order a b"
cp --sparse=always "$img" t.img
root_a=$(($(field 2 start) * 512))
printf 'X' | dd of=t.img bs=1 seek=$((root_a + 4096 * 100 + 5)) conv=notrunc 2>/dev/null
run "$STELE" verify t.img --trust keys/ca.crt
is "a flipped byte in slot a: exit 1" "$rc" 1
has "a flipped byte in slot a: the block is named" "$out" "FAIL slot a: data block 100"
cp --sparse=always "$img" t.img
"$STELE" state t.img --set STELE_B_STATE=good --set STELE_B_TRIES=3 >/dev/null
run "$STELE" verify t.img --trust keys/ca.crt
is "an empty slot marked good: exit 1" "$rc" 1
has "an empty slot marked good: the boot state check fails" "$out" "FAIL boot state: slot b is empty but marked good"

printf '%s\n' "{ \"extends\": \"$TOP/profiles/minimal.json\", \"layout\": { \"slot_size\": \"64M\" } }" >small.json
run "$STELE" build small.json -o c --keys keys -q
is "a slot too small for the rootfs: exit 1" "$rc" 1
has "a slot too small: says so" "$err" "does not fit"
check "a slot too small: nothing written" -- no_outputs c
# A manifest over a page moves the bundle's rootfs from where the build copied it while it
# hashed it: the bundle is laid out again and still verifies.
checks=$(for i in $(seq 30); do
	printf '{ "name": "check-with-a-long-name-%02d", "exec": "/usr/libexec/a-long-path-to-a-check-%02d" },' "$i" "$i"
done)
printf '{ "extends": "%s/profiles/minimal.json", "outputs": ["bundle"], "health": { "checks": [%s] } }\n' \
	"$TOP" "${checks%,}" >big.json
run "$STELE" build big.json -o big --keys keys -q
is "a manifest over a page: build" "$rc" 0
check "a manifest over a page: it is" -- test "$(stat -c %s big/minimal-1.0.0.manifest.json)" -gt 4096
run "$STELE" verify big/minimal-1.0.0.bundle --trust keys/ca.crt
is "a manifest over a page: the bundle verifies" "$rc" 0
check "a manifest over a page: the bundle ends in the rootfs" -- \
	cmp <(tail -c "$(stat -c %s big/minimal-1.0.0.rootfs.ext4)" big/minimal-1.0.0.bundle) \
	big/minimal-1.0.0.rootfs.ext4
finish
