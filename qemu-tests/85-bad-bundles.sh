#!/bin/bash
# Bad bundles are refused with a clear message and a non-zero exit; where the check comes
# before writing, the inactive slot's partitions stay byte-for-byte unchanged; never is the
# slot marked bootable. The bundles sit on one extra disk, 1 MiB aligned, and are fed to
# `stele-update install -` through a pipe.
. "$(dirname "$0")/lib.sh"
U=$WORK/upd
img=$(fresh_from upd/v2/minimal-2.0.0.img bad)
disk=$WORK/bad-bundles.img
: >"$disk"
declare -A off size
add() { # add NAME FILE [BYTES]: append FILE (its first BYTES) at the next MiB
	local o=$(($(stat -c %s "$disk") / 1048576))
	off[$1]=$o
	size[$1]=${3:-$(stat -c %s "$2")}
	head -c "${size[$1]}" "$2" | dd of="$disk" bs=1M seek="$o" conv=notrunc 2>/dev/null
	truncate -s $(((o + (size[$1] + 1048575) / 1048576) * 1048576)) "$disk"
}
good=$U/v3/minimal-3.0.0.bundle
add untrusted "$U/untrusted.bundle"
add product "$U/other-product/other-2.0.0.bundle"
add arch "$U/other-arch/minimal-2.0.0.bundle"
add downgrade "$U/v1/minimal-1.0.0.bundle"
add cut-header "$good" 100
add cut-manifest "$good" 5000
add cut-verity "$good" 40000
head -c 1048576 /dev/urandom >"$WORK/garbage"
add garbage "$WORK/garbage"
# damaged after signing: a rootfs block, a tree block
rootfs_at=$(($(stat -c %s "$good") - $(stat -c %s "$U/v3/minimal-3.0.0.rootfs.ext4")))
cp "$good" "$WORK/bad-block.bundle"
flip "$WORK/bad-block.bundle" $((rootfs_at + 4096 * 3000 + 5))
cp "$good" "$WORK/bad-tree.bundle"
verity_at=$(od -An -t u8 -j 16 -N 8 "$good" | tr -d ' ') # manifest size
sig=$(od -An -t u8 -j 24 -N 8 "$good" | tr -d ' ')
vat=$((4096 + (verity_at + 4095) / 4096 * 4096 + (sig + 4095) / 4096 * 4096))
flip "$WORK/bad-tree.bundle" $((vat + 12288 + 77)) # a level-0 block of the tree
add bad-block "$WORK/bad-block.bundle"
add bad-tree "$WORK/bad-tree.bundle"
add cut-rootfs "$good" $((rootfs_at + 50 * 1048576))

boot "$img" bad --disk "$disk"
wait_for "stele: ready slot=a version=2.0.0"
ok $? "v2 boots on slot a"
send "sha256sum /dev/vda4 /dev/vda5 > /tmp/before; echo HASHED-BEFORE"
wait_for "^HASHED-BEFORE" 300
try() { # try NAME EXPECTED-MESSAGE
	send "dd if=/dev/vdb bs=1M skip=${off[$1]} 2>/dev/null | head -c ${size[$1]} | stele-update install -; echo \"RESULT $1 rc=\$?\""
	wait_for "^RESULT $1 rc=" 300
	since_boot | grep -aq "^RESULT $1 rc=1"
	ok $? "$1: refused with exit 1"
	since_boot | grep -aiqE "$2"
	ok $? "$1: says why ($2)"
}
try untrusted "certificate|signature"
try product "product"
try arch "arch"
try downgrade "rollback|downgrade"
try cut-header "truncated|short|header"
try cut-manifest "truncated|short"
try cut-verity "truncated|short"
try garbage "bad magic|not a stele bundle"
send "sha256sum /dev/vda4 /dev/vda5 | cmp - /tmp/before && echo UNCHANGED-OK || echo CHANGED"
wait_for "^(UNCHANGED-OK|CHANGED)" 300
since_boot | grep -aq "^UNCHANGED-OK"
ok $? "root_b and verity_b are byte-for-byte unchanged by the bundles refused before writing"
try bad-block "block"
try bad-tree "tree|root hash"
try cut-rootfs "truncated|short"
st=$(status_json)
echo "# status: $st"
echo "$st" | grep -qE '"b": *\{[^}]*"state": *"bad"'
ok $? "slot b was never marked bootable"
stop
[ "$("$STELE" state "$img" --json | grep -o '"order": "[a-z ]*"')" = '"order": "a b"' ]
ok $? "the boot order still starts with slot a"
finish
