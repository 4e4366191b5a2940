#!/bin/bash
# files[].src copies regular files, directories and symlinks: a device node (/dev/zero), a
# FIFO or a socket in an overlay is refused, naming it, and so is any source on /proc or /sys
# (its files would become empty); the dir base still copies a FIFO as a FIFO. debugfs checks
# what the good build holds.
. "$(dirname "$0")/lib.sh"
command -v debugfs >/dev/null || skip_all "debugfs missing"
cd "$work" || exit 1
mkdir -p tree/etc ov
echo hello >tree/etc/motd
echo over >ov/file
ln -s file ov/link
build() { # build NAME FILES-JSON: a dir base with those files entries, rootfs only
	printf '{ "product": "x", "version": "1", "base": { "dir": "tree" }, "files": %s }\n' \
		"$2" >"$1.json"
	run timeout 60 "$STELE" build "$1.json" -o "out-$1" --rootfs-only -q
}
build good '[{ "src": "ov/", "dst": "/opt/ov" }]'
is "an overlay of a file and a symlink: exit 0" "$rc" 0
check "the overlay's file is in the image" -- \
	bash -c "debugfs -R 'cat /opt/ov/file' out-good/x-1.rootfs.ext4 2>/dev/null | grep -qx over"

build zero '[{ "src": "/dev/zero", "dst": "/zero" }]'
is "files[].src /dev/zero: the build fails (exit 1)" "$rc" 1
has "files[].src /dev/zero: says what it is" "$err" "/dev/zero: is a character device; files[].src copies regular files"
check "files[].src /dev/zero: nothing written" -- no_outputs out-zero
mkfifo ov/fifo
build fifo '[{ "src": "ov/", "dst": "/opt/ov" }]'
is "an overlay holding a FIFO: the build fails (exit 1)" "$rc" 1
has "an overlay holding a FIFO: names it" "$err" "ov/fifo: is a FIFO"
rm ov/fifo
build proc '[{ "src": "/proc/version", "dst": "/version" }]'
is "files[].src /proc/version: the build fails (exit 1)" "$rc" 1
has "files[].src /proc/version: says why" "$err" "/proc/version: on the kernel's proc file system"
build sys '[{ "src": "/sys/kernel/", "dst": "/k" }]'
is "files[].src /sys/kernel/: the build fails (exit 1)" "$rc" 1
has "files[].src /sys/kernel/: says why" "$err" "on the kernel's sysfs file system"

mkfifo tree/etc/initctl
build base '[]'
is "the dir base may hold a FIFO: exit 0" "$rc" 0
check "the dir base's FIFO is a FIFO in the image" -- \
	bash -c "debugfs -R 'stat /etc/initctl' out-base/x-1.rootfs.ext4 2>/dev/null | grep -q 'Type: FIFO'"
finish
