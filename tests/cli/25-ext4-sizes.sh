#!/bin/bash
# ext4 at the sizes real appliances have, through the CLI: fixed rootfs sizes across block-group
# boundaries (tests/test-ext4.c goes to 4 GiB; one group is 128 MiB; a size that leaves a whole group unused once wrote a stale
# descriptor checksum), checked by e2fsck -fn and by `stele verify`'s structure check; a disk
# image's data partition of 1 GiB, checked by e2fsck and for mke2fs's inode count.
. "$(dirname "$0")/lib.sh"
command -v e2fsck >/dev/null || skip_all "e2fsck missing"
cd "$work" || exit 1
"$STELE" keygen keys >/dev/null
mkdir -p tree/etc tree/usr/bin
echo appliance >tree/etc/hostname
printf '#!/bin/sh\necho hi\n' >tree/usr/bin/app

for size in 16M 129M 257M 300M 1G; do
	cat >p.json <<JSON
{ "product": "sizes", "version": "1", "base": { "dir": "tree" }, "rootfs": { "size": "$size" } }
JSON
	rm -rf out
	run "$STELE" build p.json -o out --keys keys -q
	is "rootfs.size $size: builds" "$rc" 0
	run e2fsck -fn out/sizes-1.rootfs.ext4
	is "rootfs.size $size: e2fsck -fn clean" "$rc" 0
	[ "$rc" = 0 ] || echo "$out" | head -5 | sed 's/^/# /'
	run "$STELE" verify out/sizes-1.verity --trust keys/ca.crt
	has "rootfs.size $size: stele verify checks the ext4 structure" "$out" "ok   ext4 structure"
done

# A group descriptor's checksum broken after signing (offline tampering or a bad writer):
# verify names the group; the other checks fail too, as the bytes changed.
cp out/sizes-1.rootfs.ext4 bad.ext4
printf '\x01' | dd of=bad.ext4 bs=1 seek=$((4096 + 64 + 0x12)) conv=notrunc 2>/dev/null
run "$STELE" verify out/sizes-1.verity bad.ext4 --trust keys/ca.crt
is "a damaged group descriptor: verify exits 1" "$rc" 1
has "a damaged group descriptor: the group is named" "$out" "FAIL ext4 structure: group 1: descriptor checksum"

apt-cache show --no-all-versions busybox-static linux-image-cloud-amd64 >/dev/null 2>&1 ||
	{ echo "# no apt lists: the data partition part is skipped"; finish; }
cat >d.json <<JSON
{ "extends": "$TOP/profiles/minimal.json", "outputs": ["raw"],
  "layout": { "esp_size": "64M", "slot_size": "256M", "data_size": "1G" } }
JSON
run "$STELE" build d.json -o d --keys keys -q
is "a disk image with a 1 GiB data partition builds" "$rc" 0
img=d/minimal-1.0.0.img
line=$(sfdisk -d "$img" 2>/dev/null | grep 'name="data"')
start=$(echo "$line" | sed -n 's/.*start= *\([0-9]*\).*/\1/p')
size=$(echo "$line" | sed -n 's/.*size= *\([0-9]*\).*/\1/p')
dd if="$img" of=data.ext4 bs=512 skip="${start:-0}" count="${size:-0}" conv=sparse 2>/dev/null
run e2fsck -fn data.ext4
is "the data partition: e2fsck -fn clean" "$rc" 0
inodes=$(dumpe2fs -h data.ext4 2>/dev/null | awk -F: '/^Inode count/ { gsub(/ /, "", $2); print $2 }')
check "the data partition has mke2fs's inodes for 1 GiB (65536, got ${inodes:-none})" -- \
	test "${inodes:-0}" -ge 65536
check "the data partition has a journal" -- \
	sh -c "dumpe2fs -h data.ext4 2>/dev/null | grep -q has_journal"
finish
