#!/bin/bash
# mkimage-fixture.sh CACHE OUT.qcow2: a small Linux disk image made without stele: busybox and the
# Debian cloud kernel unpacked with dpkg-deb, / and /boot on two ext4 partitions of a GPT
# disk (mkfs.ext4 -d, sfdisk, dd), mounted by UUID from its fstab, converted to qcow2.
set -eu
cache=$1 out=$2
w=$(mktemp -d "${TMPDIR:-/tmp}/stele-imgfix.XXXXXX")
trap 'rm -rf "$w"' EXIT
mkdir -p "$w/root"
for d in "$cache"/busybox-static_*.deb "$cache"/linux-image-6*.deb; do dpkg-deb -x "$d" "$w/root"; done
mkdir -p "$w/root/"{proc,sys,dev,run,tmp,var,data,etc,sbin,root}
ln -sf busybox "$w/root/bin/sh"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$w/root/etc/passwd"
printf 'root:x:0:\n' >"$w/root/etc/group"
printf 'imported\n' >"$w/root/etc/hostname"
printf 'from an image\n' >"$w/root/etc/motd"
cat >"$w/root/sbin/init" <<'INIT'
#!/bin/busybox sh
bb=/bin/busybox
$bb mount -t proc proc /proc 2>/dev/null
. /etc/os-release 2>/dev/null
/usr/bin/stele-update health --commit
echo "imported: ready $($bb cat /etc/motd) $($bb stat -c %u:%g /etc/owned)"
while :; do $bb sleep 3600; done
INIT
chmod 755 "$w/root/sbin/init"
echo owned >"$w/root/etc/owned"
chown 1234:5678 "$w/root/etc/owned"
mv "$w/root/boot" "$w/boot"
mkdir "$w/root/boot"
ru=11111111-2222-4333-8444-555555555555 bu=66666666-7777-4888-9999-aaaaaaaaaaaa
printf 'UUID=%s / ext4 defaults 0 1\nUUID=%s /boot ext4 defaults 0 2\n' $ru $bu >"$w/root/etc/fstab"
truncate -s 200M "$w/root.img"; mkfs.ext4 -q -F -U $ru -d "$w/root" "$w/root.img"
truncate -s 64M "$w/boot.img"; mkfs.ext4 -q -F -U $bu -d "$w/boot" "$w/boot.img"
truncate -s 270M "$w/disk.img"
printf 'label: gpt\nstart=2048, size=64M, name=boot\nsize=200M, name=root\n' | sfdisk -q "$w/disk.img"
dd if="$w/boot.img" of="$w/disk.img" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$w/root.img" of="$w/disk.img" bs=1M seek=65 conv=notrunc,sparse status=none
qemu-img convert -O qcow2 "$w/disk.img" "$out"
