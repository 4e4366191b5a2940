#!/bin/bash
# stele-update install on the host, in its test mode (files stand in for the partitions and
# the boot state), under the sanitizers: a good bundle lands byte for byte over partitions
# full of garbage (runs of zeros really zeroed), read from a file, a pipe, into tmpfs and
# into loop devices; a bundle with a flipped rootfs byte (in data, and where the bundle had a
# hole) is refused mid-stream and the slot stays bad; a disk that stores other bytes than it
# was given is caught by the read-back; an install stopped dead at each fault point leaves
# the slot unbootable, and the next install completes; bytes after the rootfs (file, pipe),
# a nonzero padding byte, a FIFO, a directory or /dev/zero are refused, slot b left bad.
. "$(dirname "$0")/lib.sh"
UPD=$TOOLS/stele-update
[ -x "$UPD" ] || skip_all "no stele-update in $TOOLS"
[ -x "$TOOLS/mkbundle" ] || skip_all "no mkbundle in $TOOLS"
command -v grub-editenv >/dev/null || skip_all "grub-editenv missing"
cd "$work" || exit 1

"$STELE" keygen keys >/dev/null
mkdir -p tree/etc tree/usr/lib
echo hello >tree/etc/motd
head -c 3M /dev/urandom >tree/usr/lib/blob
head -c 700K /dev/urandom >tree/usr/lib/blob2
cat >p.json <<'JSON'
{ "product": "upd", "version": "2", "rollback_index": 1,
  "base": { "dir": "tree" }, "rootfs": { "size": "40M" } }
JSON
run "$STELE" build p.json -o out --keys keys -q
is "build the slot" "$rc" 0
o=out/upd-2
"$TOOLS/mkbundle" b.bundle $o.manifest.json $o.manifest.sig $o.verity $o.rootfs.ext4
img=$o.rootfs.ext4
size=$(stat -c %s $img)
vsize=$(stat -c %s $o.verity)
rootfs_off=$(($(stat -c %s b.bundle) - size))
check "the bundle is sparse (its holes are skipped, not read)" -- \
	test "$(du -k b.bundle | cut -f1)" -lt $((size / 1024 / 2))

# newdev DIR: partitions full of 0xa5 bytes, a boot state with a good and b bad
newdev() {
	local d=$1 p
	rm -rf "$d"
	mkdir -p "$d/data"
	for p in root_a root_b; do head -c 48M /dev/zero | tr '\0' '\245' >"$d/$p"; done
	for p in verity_a verity_b; do head -c 4M /dev/zero | tr '\0' '\245' >"$d/$p"; done
	grub-editenv "$d/grubenv" create
	grub-editenv "$d/grubenv" set STELE_ORDER="a b" STELE_A_STATE=good STELE_A_TRIES=3 \
		STELE_B_STATE=bad STELE_B_TRIES=0
	echo '{"slot": "a", "version": "1", "product": "upd", "root_hash": "00", "rollback_index": 0, "trial": false}' >"$d/boot.json"
	echo '{"window": 60, "tries": 3, "checks": []}' >"$d/health.json"
}
# upd DIR ARGS...: stele-update in test mode on DIR ($RB, $VB: other slot b partitions)
upd() {
	local d=$1
	shift
	"$UPD" "$@" --state "$d/grubenv" --trust keys/ca.crt --booted-json "$d/boot.json" \
		--part root_a="$d/root_a" --part verity_a="$d/verity_a" \
		--part root_b="${RB:-$d/root_b}" --part verity_b="${VB:-$d/verity_b}" \
		--data "$d/data" --health-json "$d/health.json"
}
state_b() { grub-editenv "$1/grubenv" list | sed -n 's/^STELE_B_STATE=//p'; }
# landed WHAT DIR [ROOT VERITY]: slot b holds the image byte for byte, and is on trial
landed() {
	local d=$2 root=${3:-$2/root_b} verity=${4:-$2/verity_b}
	check "$1: slot b's rootfs is the image, byte for byte" -- cmp -n "$size" "$img" "$root"
	check "$1: slot b's verity partition is the slot's verity image" -- \
		cmp -n "$vsize" $o.verity "$verity"
	is "$1: slot b is on trial" "$(state_b "$d")" trial
	check "$1: slot b is first in the boot order" -- \
		bash -c "grub-editenv '$d/grubenv' list | grep -qx 'STELE_ORDER=b a'"
}

newdev d1
run upd d1 install b.bundle
is "install from a file: exit 0" "$rc" 0
[ "$rc" = 0 ] || echo "$err" | sed 's/^/# /'
has "install: says what it installed" "$out" "installed upd 2 into slot b"
landed "from a file" d1
check "the journal has the install and the trial" -- \
	bash -c "grep -q '\"event\": *\"install\"' d1/data/stele/journal && grep -q '\"event\": *\"trial\"' d1/data/stele/journal"

newdev d2
run upd d2 install - < <(cat b.bundle)
is "install from a pipe: exit 0" "$rc" 0
landed "from a pipe" d2
rm -rf d2 # the partitions are not sparse: ~100 MiB a device

shm_free=$(df -k --output=avail /dev/shm 2>/dev/null | tail -n 1)
if [ -d /dev/shm ] && [ -w /dev/shm ] && [ "${shm_free:-0}" -gt $((256 * 1024)) ]; then
	shm=$(mktemp -d /dev/shm/stele-upd.XXXXXX)
	newdev "$shm/d"
	run upd "$shm/d" install b.bundle
	is "install into tmpfs (no O_DIRECT or ZERO_RANGE there): exit 0" "$rc" 0
	landed "into tmpfs" "$shm/d"
	rm -rf "$shm"
else
	echo "# /dev/shm missing or small: tmpfs not tried"
fi

newdev d3
RB="" VB=""
if [ "$(id -u)" = 0 ] && RB=$(losetup -f --show d3/root_b 2>/dev/null) &&
	VB=$(losetup -f --show d3/verity_b 2>/dev/null) && [ -b "$RB" ] && [ -b "$VB" ]; then
	run upd d3 install b.bundle
	is "install into loop devices (BLKZEROOUT, O_DIRECT): exit 0" "$rc" 0
	[ "$rc" = 0 ] || echo "$err" | sed 's/^/# /'
	landed "into loop devices" d3 "$RB" "$VB"
	losetup -d "$RB" "$VB"
	unset RB VB
else
	[ -b "$RB" ] && losetup -d "$RB"
	unset RB VB
	echo "# no loop devices here: the block device path is left to qemu-tests"
fi
rm -rf d3

# refused WHAT DIR: exit 1, slot b still bad, slot a still first, the journal says why
refused() {
	is "$1: exit 1" "$rc" 1
	is "$1: slot b stays bad" "$(state_b "$2")" bad
	check "$1: slot a is still first" -- \
		bash -c "grub-editenv '$2/grubenv' list | grep -qx 'STELE_ORDER=a b'"
	check "$1: the journal says why the slot is bad" -- \
		grep -q '"event": *"mark-bad"' "$2/data/stele/journal"
}
cp --sparse=always b.bundle data.bundle
printf 'X' | dd of=data.bundle bs=1 seek=$((rootfs_off + 1030)) conv=notrunc 2>/dev/null
newdev d4
run upd d4 install data.bundle
refused "a flipped byte in the rootfs's superblock" d4
has "a flipped rootfs byte: block 0 named" "$err" "rootfs block 0 (byte 0 of the bundle's rootfs) does not match the signed hash tree"
rm -rf d4 data.bundle

last=$((size / 4096 - 3))
cp --sparse=always b.bundle hole.bundle
printf 'X' | dd of=hole.bundle bs=1 seek=$((rootfs_off + last * 4096 + 5)) conv=notrunc 2>/dev/null
newdev d5
run upd d5 install hole.bundle
refused "a byte written where the bundle had a hole" d5
has "a byte in a hole: its block named" "$err" "rootfs block $last "
rm -rf d5 hole.bundle

newdev d9
run upd d9 install - < <(head -c $((rootfs_off + size / 2 + 123)) b.bundle)
refused "a bundle cut in the middle of the rootfs (from a pipe)" d9
has "a cut bundle: says where the input ended" "$err" "truncated: the input ends at byte $((rootfs_off + size / 2 + 123)), in the rootfs"
rm -rf d9

# The format defines the whole file: a byte after the rootfs in a file is refused from the
# header, before anything is written; through a pipe it is found by reading past the end,
# after the rootfs and before the slot becomes a trial.
untouched() { # untouched WHAT DIR: slot b's partitions still hold the 0xa5 garbage
	check "$1: slot b's rootfs partition untouched" -- \
		cmp -n 1M "$2/root_b" <(head -c 1M /dev/zero | tr '\0' '\245')
	check "$1: slot b's verity partition untouched" -- \
		cmp -n 1M "$2/verity_b" <(head -c 1M /dev/zero | tr '\0' '\245')
	is "$1: slot b stays bad" "$(state_b "$2")" bad
}
cp --sparse=always b.bundle tail.bundle
printf 'X' >>tail.bundle
newdev d10
run upd d10 install tail.bundle
is "a bundle file with a byte after the rootfs: exit 1" "$rc" 1
has "a trailing byte in a file: says so" "$err" "1 bytes after the end of the rootfs"
untouched "a trailing byte in a file" d10
newdev d10
run upd d10 install - < <(cat tail.bundle)
refused "a bundle with a byte after the rootfs (from a pipe)" d10
has "a trailing byte through a pipe: says so" "$err" "bytes after the end of the bundle (at byte $(stat -c %s b.bundle)"
rm -rf d10 tail.bundle
msize=$(stat -c %s $o.manifest.json)
cp --sparse=always b.bundle pad.bundle
printf 'X' | dd of=pad.bundle bs=1 seek=$((4096 + msize + 3)) conv=notrunc 2>/dev/null
newdev d11
run upd d11 install - < <(cat pad.bundle)
is "a nonzero byte in the manifest's padding: exit 1" "$rc" 1
has "a nonzero padding byte: part and offset named" "$err" "manifest padding: byte 0x58 at offset $((4096 + msize + 3))"
untouched "a nonzero padding byte" d11
rm -f pad.bundle

# Not a bundle file or block device: refused at once (timeout: a regression fails, not hangs)
mkfifo fifo
mkdir -p adir
for f in fifo adir /dev/zero; do
	case $f in fifo) kind="a FIFO" ;; adir) kind="a directory" ;; *) kind="a character device" ;; esac
	run timeout 20 "$UPD" install "$f" --state d11/grubenv --trust keys/ca.crt \
		--booted-json d11/boot.json --part root_a=d11/root_a --part verity_a=d11/verity_a \
		--part root_b=d11/root_b --part verity_b=d11/verity_b --data d11/data \
		--health-json d11/health.json
	is "install $f: exit 1 (not a hang: 124)" "$rc" 1
	has "install $f: names it and what it is" "$err" "$f: is $kind, not a bundle file or block device"
done
untouched "install from a FIFO, a directory, /dev/zero" d11
run timeout 20 "$UPD" status --state d11/grubenv --trust keys/ca.crt \
	--booted-json d11/boot.json --part root_a=d11/root_a --part verity_a=d11/verity_a \
	--part root_b=d11/root_b --part verity_b=fifo --data d11/data --health-json d11/health.json
ok "$([ "$rc" != 124 ]; echo $?)" "status with a FIFO as verity_b: answers (exit $rc), does not hang"
run timeout 20 "$UPD" status --state fifo --trust keys/ca.crt --booted-json d11/boot.json \
	--data d11/data
is "status --state FIFO: exit 1" "$rc" 1
has "status --state FIFO: says what it is" "$err" "fifo: not a regular file (a FIFO)"
run timeout 20 "$UPD" status --state d11/grubenv --trust keys/ca.crt --booted-json fifo \
	--data d11/data
is "status --booted-json FIFO: exit 1" "$rc" 1
has "status --booted-json FIFO: says what it is" "$err" "fifo: is a FIFO"
rm -rf d11

newdev d6
STELE_UPDATE_FAULT=corrupt:rootfs run upd d6 install b.bundle
refused "a disk that stores another byte than it was given" d6
has "the read-back names the block" "$err" "read back: rootfs block"
has "the read-back says what happened" "$err" "is not what was written"
rm -rf d6

# stopped POINT: the install stopped dead at a fault point (SIGKILL), then redone
for point in verity rootfs synced state; do
	newdev d7
	STELE_UPDATE_FAULT=pause:$point upd d7 install b.bundle >d7.out 2>d7.err &
	pid=$!
	for _ in $(seq 300); do
		grep -q "fault: paused at $point" d7.err && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	check "pause:$point: the install stops at $point" -- grep -q "fault: paused at $point" d7.err
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	st=$(state_b d7)
	if [ "$point" = state ]; then
		# killed between the write and its fsync: either state, never a torn block
		check "killed in the state write: the block reads as old or new" -- \
			test "$st" = bad -o "$st" = trial
	else
		is "killed at $point: slot b is not bootable" "$st" bad
	fi
	run upd d7 install b.bundle
	is "after the kill at $point the install runs again: exit 0" "$rc" 0
	landed "redone after $point" d7
done

run upd d1 install b.bundle
is "installing over the running slot's trial partner again works" "$rc" 0
newdev d8
run upd d8 install b.bundle --bogus
is "an unknown option: exit 2" "$rc" 2
run "$UPD" install --help
is "install --help: exit 0" "$rc" 0
finish
