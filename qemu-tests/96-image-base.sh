#!/bin/bash
# The image base: a disk image made without stele (qemu-tests/mkimage-fixture.sh: busybox and
# the cloud kernel, / and /boot on two ext4 partitions mounted by UUID from its fstab,
# qcow2) imported through libguestfs (read-only, no root needed, one appliance launch),
# built into a stele image and booted: its own init runs on the verified slot, with the
# owners of its files and the kernel from its /boot partition.
. "$(dirname "$0")/lib.sh"
cache=${STELE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stele}
pkg-config --exists libguestfs 2>/dev/null || { ok 0 "# SKIP libguestfs missing"; finish; }
d=$WORK/image-base
mkdir -p "$d"
"$(dirname "$0")/mkimage-fixture.sh" "$cache" "$d/fixture.qcow2" >"$d/fixture.log" 2>&1
ok $? "a fixture disk image made by sfdisk, mkfs.ext4 and qemu-img"
cat >"$d/p.json" <<JSON
{ "product": "imported", "version": "1.0.0", "base": { "image": "$d/fixture.qcow2" },
  "kernel": { "modules": ["virtio_pci", "virtio_blk", "virtio_scsi", "sd_mod", "dm-verity",
                          "vfat", "nls_cp437", "nls_ascii", "softdog"],
              "cmdline": "console=tty0 console=ttyS0" },
  "layout": { "slot_size": "256M", "data_size": "64M" }, "outputs": ["raw"],
  "secure_boot": false }
JSON
"$STELE" build "$d/p.json" -o "$d/out" --keys "$WORK/keys" >"$d/build.log" 2>&1
rc=$?
ok $rc "stele builds it with the image base"
[ $rc -eq 0 ] || sed 's/^/#   /' "$d/build.log" | tail -5
grep -q "starting the libguestfs appliance" "$d/build.log"
ok $? "through libguestfs"
debugfs -R "cat /etc/fstab" "$d/out/imported-1.0.0.rootfs.ext4" 2>/dev/null | grep -q UUID=
[ $? -ne 0 ]
ok $? "the image's fstab (its own partitions by UUID) is not in the slot"
img=$(fresh_from image-base/out/imported-1.0.0.img imported)
boot "$img" imported
wait_for "imported: ready from an image 1234:5678"
ok $? "the imported system's init runs on the verified slot, owners kept"
grep -aq "stele-init: slot a verified, version 1.0.0" "$serial"
ok $? "stele-init verified it"
stop
finish
