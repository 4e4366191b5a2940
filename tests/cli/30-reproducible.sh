#!/bin/bash
# Same profile and inputs => the same bytes, whatever the working directory, output
# directory, host mtimes or umask; SOURCE_DATE_EPOCH sets every timestamp.
. "$(dirname "$0")/lib.sh"
command -v e2fsck >/dev/null && command -v debugfs >/dev/null || skip_all "e2fsprogs missing"

img=fixture-1.rootfs.ext4
mkproject() { # mkproject DIR UMASK: a profile with a tar base and every kind of overlay
	mkdir -p "$1"
	(
		umask "$2"
		cd "$1" || exit 1
		"$TOOLS/mkfixture" fixture.tar expect.txt >/dev/null || exit 1
		mkdir -p overlay/etc/app overlay/usr/libexec
		printf 'key=value\n' >overlay/etc/app/app.conf
		printf '#!/bin/sh\necho hi\n' >overlay/usr/libexec/hello
		chmod +x overlay/usr/libexec/hello
		printf 'motd from a file\n' >motd
		cat >profile.json <<'JSON'
{
  "product": "fixture", "version": "1",
  "base": { "tar": "fixture.tar" },
  "files": [
    { "src": "overlay/", "dst": "/" },
    { "src": "motd", "dst": "/etc/motd", "owner": "0:0" },
    { "dst": "/etc/inline", "content": "inline\n", "mode": "0600", "owner": "12:34" },
    { "dst": "/usr/bin/sh2", "symlink": "busybox" },
    { "dst": "/srv/empty", "dir": true, "mode": "0750" }
  ]
}
JSON
	)
}

mkproject "$work/a" 022
mkproject "$work/b" 002
mkdir -p "$work/elsewhere"
run bash -c "cd '$work/a' && '$STELE' build profile.json -o '$work/out1' -q"
is "build from the profile's directory" "$rc" 0
[ "$rc" = 0 ] || echo "$err" | sed 's/^/# /'
run bash -c "cd '$work/elsewhere' && '$STELE' build ../a/profile.json -o out2 -q"
is "build from another directory" "$rc" 0
check "byte-identical from another working and output directory" -- \
	cmp "$work/out1/$img" "$work/elsewhere/out2/$img"
touch -d '2001-02-03' "$work/a/overlay/etc/app/app.conf" "$work/a/motd"
run "$STELE" build "$work/a/profile.json" -o "$work/out3" -q
check "host mtimes do not matter" -- cmp "$work/out1/$img" "$work/out3/$img"
run "$STELE" build "$work/b/profile.json" -o "$work/out4" -q
check "a project checked out under umask 002 gives the same bytes" -- \
	cmp "$work/out1/$img" "$work/out4/$img"
run "$STELE" build "$work/a/profile.json" -o "$work/only" -q --rootfs-only
is "--rootfs-only builds" "$rc" 0
is "--rootfs-only writes the ext4 image and nothing else" "$(ls "$work/only")" "$img"
check "--rootfs-only gives the same ext4 as a full build" -- cmp "$work/out1/$img" "$work/only/$img"
run e2fsck -fn "$work/out1/$img"
is "e2fsck -fn finds the image clean" "$rc" 0
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'

stat_of() { debugfs -R "stat $2" "$1" 2>/dev/null; }
st=$(stat_of "$work/out1/$img" /etc/inline)
has "inline file has its mode" "$st" "Mode:  0600"
has "inline file has its owner" "$st" "User:    12   Group:    34"
has "timestamps default to 2024-01-01 (SOURCE_DATE_EPOCH unset)" "$st" "mtime: 0x65920080"
st=$(stat_of "$work/out4/$img" /etc/app/app.conf)
has "overlay file from a umask 002 checkout is 0644" "$st" "Mode:  0644"
st=$(stat_of "$work/out1/$img" /usr/libexec/hello)
has "executable overlay file is 0755" "$st" "Mode:  0755"
st=$(stat_of "$work/out1/$img" /srv/empty)
has "overlay dir has its mode" "$st" "Mode:  0750"
has "overlay symlink is a symlink" "$(stat_of "$work/out1/$img" /usr/bin/sh2)" 'Fast link dest: "busybox"'
run bash -c "debugfs -R 'cat /etc/os-release' '$work/out1/$img' 2>/dev/null"
has "os-release has IMAGE_ID" "$out" "IMAGE_ID=fixture"
has "os-release has IMAGE_VERSION" "$out" "IMAGE_VERSION=1"

run env SOURCE_DATE_EPOCH=1800000000 "$STELE" build "$work/a/profile.json" -o "$work/out5" -q
is "build with SOURCE_DATE_EPOCH" "$rc" 0
! cmp -s "$work/out1/$img" "$work/out5/$img"
ok $? "another SOURCE_DATE_EPOCH gives other bytes"
has "SOURCE_DATE_EPOCH sets file times" "$(stat_of "$work/out5/$img" /etc/motd)" "mtime: 0x6b49d200"
run bash -c "dumpe2fs -h '$work/out5/$img' 2>/dev/null | grep -E '^(Filesystem created|Last write time):'"
has "SOURCE_DATE_EPOCH sets the superblock times" "$out" "Fri Jan 15 08:00:00 2027"
run env SOURCE_DATE_EPOCH=1800000000 "$STELE" build "$work/a/profile.json" -o "$work/out6" -q
check "same SOURCE_DATE_EPOCH twice: identical" -- cmp "$work/out5/$img" "$work/out6/$img"
uuid() { dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Filesystem UUID: *//p'; }
printf '\n' >>"$work/a/motd"
run "$STELE" build "$work/a/profile.json" -o "$work/out7" -q
[ "$(uuid "$work/out1/$img")" != "$(uuid "$work/out7/$img")" ]
ok $? "changed content gives another filesystem UUID"
finish
