#!/bin/bash
# The default profile (busybox-static + linux-image-cloud-amd64 from Debian's archive): built
# with and without naming it, byte-identical, fsck-clean, with the kernel at /boot/vmlinuz.
. "$(dirname "$0")/lib.sh"
apt-cache show --no-all-versions busybox-static linux-image-cloud-amd64 >/dev/null 2>&1 ||
	skip_all "apt lists lack busybox-static or linux-image-cloud-amd64 (apt-get update?)"

img=minimal-1.0.0.rootfs.ext4
run "$STELE" build -o "$work/default"
is "stele build with no profile builds the built-in minimal profile" "$rc" 0
[ "$rc" = 0 ] || echo "$err" | sed 's/^/# /'
has "progress names the packages" "$err" "deb busybox-static"
has "the kernel metapackage is followed" "$err" "is a metapackage: adding linux-image-"
run bash -c "cd '$work' && '$STELE' build '$TOP/profiles/minimal.json' -o named -q --json"
is "stele build profiles/minimal.json" "$rc" 0
has "--json reports the rootfs" "$out" "\"rootfs\":"
has "--json lists inputs with sha256" "$out" "\"sha256\":"
check "built-in and named minimal profiles give identical bytes" -- \
	cmp "$work/default/$img" "$work/named/$img"
run e2fsck -fn "$work/default/$img"
is "e2fsck -fn clean" "$rc" 0

dbg() { debugfs -R "$1" "$work/default/$img" 2>/dev/null; }
kernel=$(dbg "ls -p /boot" | awk -F/ '$6 ~ /^vmlinuz-/ { print $6 }')
[ -n "$kernel" ]
ok $? "a versioned kernel in /boot ($kernel)"
ino() { dbg "stat $1" | sed -n 's/^Inode: \([0-9]*\).*/\1/p'; }
is "/boot/vmlinuz is a hard link to it" "$(ino /boot/vmlinuz)" "$(ino "/boot/$kernel")"
has "/sbin/init is executable" "$(dbg 'stat /sbin/init')" "Mode:  0755"
has "/bin/busybox is there" "$(dbg 'stat /bin/busybox')" "Type: regular"
has "/bin/sh -> busybox" "$(dbg 'stat /bin/sh')" 'Fast link dest: "busybox"'
ver=${kernel#vmlinuz-}
has "dm-verity module shipped" "$(dbg "ls -p /lib/modules/$ver/kernel/drivers/md")" "dm-verity.ko"
has "virtio_blk module shipped" "$(dbg "ls -p /lib/modules/$ver/kernel/drivers/block")" "virtio_blk.ko"
has "os-release has IMAGE_ID" "$(dbg 'cat /etc/os-release')" "IMAGE_ID=minimal"
has "os-release has IMAGE_VERSION" "$(dbg 'cat /etc/os-release')" "IMAGE_VERSION=1.0.0"
has "the minimal profile offers the console shell" "$(dbg 'stat /etc/stele/console-shell')" "Type: regular"
run "$STELE" build "$TOP/profiles/minimal.json" -o "$work/tester" -q --rootfs-only
check "--rootfs-only keeps the marker (it is part of the tree)" -- bash -c \
	"debugfs -R 'stat /etc/stele/console-shell' '$work/tester/$img' 2>/dev/null | grep -q Type:"
printf '{ "extends": "%s/profiles/minimal.json", "console_shell": false }\n' "$TOP" >"$work/prod.json"
run "$STELE" build "$work/prod.json" -o "$work/prod" -q --rootfs-only
is "a production profile (console_shell false) builds" "$rc" 0
! debugfs -R "stat /etc/stele/console-shell" "$work/prod/$img" 2>/dev/null | grep -q "Type:"
ok $? "and has no console shell marker"
has "tmp is sticky" "$(dbg "stat /tmp")" "Mode:  01777"
finish
