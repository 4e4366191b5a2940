#!/bin/bash
# Building needs no root: a build run as an unprivileged user gives the same bytes as one run
# as root (ownership comes from the tree model, never from chown on the host).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root to compare a root build with an unprivileged one"
command -v setpriv >/dev/null || skip_all "setpriv (util-linux) missing"
# the unprivileged user must be able to reach the binary
setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$STELE" ||
	skip_all "$STELE is not reachable by uid 65534"

(cd "$work" && "$TOOLS/mkfixture" fixture.tar expect.txt >/dev/null)
mkdir -p "$work/overlay/etc"
printf 'root-owned in the image\n' >"$work/overlay/etc/secret"
cat >"$work/profile.json" <<'JSON'
{
  "product": "fixture", "version": "1",
  "base": { "tar": "fixture.tar" },
  "files": [ { "src": "overlay/", "dst": "/" },
             { "dst": "/etc/owned", "content": "x\n", "owner": "1000:1000" } ]
}
JSON
chmod -R a+rX "$work"
mkdir -p "$work/user-out" "$work/user-tmp"
chown 65534:65534 "$work/user-out" "$work/user-tmp"

run "$STELE" build "$work/profile.json" -o "$work/root-out" -q
is "build as root" "$rc" 0
run setpriv --reuid=65534 --regid=65534 --clear-groups env TMPDIR="$work/user-tmp" \
	HOME="$work/user-tmp" "$STELE" build "$work/profile.json" -o "$work/user-out" -q
is "build as uid 65534" "$rc" 0
[ "$rc" = 0 ] || echo "$err" | sed 's/^/# /'
check "root and unprivileged builds are byte-identical" -- \
	cmp "$work/root-out/fixture-1.rootfs.ext4" "$work/user-out/fixture-1.rootfs.ext4"
run bash -c "debugfs -R 'stat /etc/secret' '$work/user-out/fixture-1.rootfs.ext4' 2>/dev/null"
has "files of the unprivileged build are owned by root in the image" "$out" "User:     0   Group:     0"
run bash -c "debugfs -R 'stat /dev/null' '$work/user-out/fixture-1.rootfs.ext4' 2>/dev/null"
has "device nodes without root" "$out" "character special"
finish
