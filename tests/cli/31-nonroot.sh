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
"$STELE" keygen "$work/keys" >/dev/null
chmod -R a+rX "$work"
mkdir -p "$work/user-out" "$work/user-tmp"
cp -r "$work/keys" "$work/user-keys" # the same keys, readable by the unprivileged user
chown -R 65534:65534 "$work/user-out" "$work/user-tmp" "$work/user-keys"

run "$STELE" build "$work/profile.json" -o "$work/root-out" -q --keys "$work/keys"
is "build as root" "$rc" 0
run setpriv --reuid=65534 --regid=65534 --clear-groups env TMPDIR="$work/user-tmp" \
	HOME="$work/user-tmp" "$STELE" build "$work/profile.json" -o "$work/user-out" -q \
	--keys "$work/user-keys"
is "build as uid 65534" "$rc" 0
[ "$rc" = 0 ] || echo "$err" | sed 's/^/# /'
for f in rootfs.ext4 verity manifest.json manifest.sig; do
	check "root and unprivileged builds: $f byte-identical" -- \
		cmp "$work/root-out/fixture-1.$f" "$work/user-out/fixture-1.$f"
done
run bash -c "debugfs -R 'stat /etc/secret' '$work/user-out/fixture-1.rootfs.ext4' 2>/dev/null"
has "files of the unprivileged build are owned by root in the image" "$out" "User:     0   Group:     0"
run bash -c "debugfs -R 'stat /dev/null' '$work/user-out/fixture-1.rootfs.ext4' 2>/dev/null"
has "device nodes without root" "$out" "character special"
finish
