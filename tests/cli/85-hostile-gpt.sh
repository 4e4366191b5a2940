#!/bin/bash
# Hostile partition tables: a disk image is built once, then tests/gptedit changes one
# entry of a copy (in both entry arrays, with every CRC fixed, so the table looks valid):
# entries at 2^55 sectors plus a real start (they wrap when multiplied by 512), overlaps of
# every kind, an entry past the end, one that ends before it starts. `stele verify` must fail
# naming the partitions; `stele state` (reading and --set) must refuse and leave the file
# byte for byte as it was; stele-update (test mode, the image given as --disk) must refuse
# status, install and mark-bad before touching anything. Also: a truncated image, a 1-byte
# file, /dev/zero.
. "$(dirname "$0")/lib.sh"
apt-cache show --no-all-versions busybox-static linux-image-cloud-amd64 >/dev/null 2>&1 ||
	skip_all "no apt lists for the minimal profile"
[ -x "$TOOLS/gptedit" ] || skip_all "no gptedit in $TOOLS"
[ -x "$TOOLS/stele-update" ] || skip_all "no stele-update in $TOOLS"
for t in sfdisk mcopy grub-editenv; do
	command -v $t >/dev/null || skip_all "$t missing"
done
cd "$work" || exit 1
"$STELE" keygen keys >/dev/null
cat >p.json <<JSON
{ "extends": "$TOP/profiles/minimal.json", "outputs": ["raw", "bundle"],
  "layout": { "esp_size": "40M", "slot_size": "160M", "data_size": "16M" } }
JSON
run "$STELE" build p.json -o a --keys keys -q
is "build a disk image" "$rc" 0
[ "$rc" = 0 ] || echo "$err" | sed 's/^/# /'
img=a/minimal-1.0.0.img
bundle=a/minimal-1.0.0.bundle
run "$STELE" verify "$img" --trust keys/ca.crt
is "the image as built verifies" "$rc" 0
run "$STELE" state "$img"
is "the image as built: stele state reads it" "$rc" 0
# a path with "@@" in it (mtools' IMAGE@@OFFSET separator) is still the image's path
mkdir -p 'at@@1048576'
ln -s "$work/$img" 'at@@1048576/x.img'
run "$STELE" state 'at@@1048576/x.img' --set STELE_A_TRIES=2
is "an image path with @@: stele state --set: exit 0" "$rc" 0
has "an image path with @@: the new state" "$out" "slot a: good, 2 tries left"
run "$STELE" verify 'at@@1048576/x.img' --trust keys/ca.crt
is "an image path with @@: stele verify: exit 0" "$rc" 0
run "$STELE" state "$img" --set STELE_A_TRIES=3

# stele-update's test mode: files for the partitions and the boot state, the image as --disk
newdev() {
	rm -rf d
	mkdir d
	truncate -s 160M d/root_a d/root_b
	truncate -s 8M d/verity_a d/verity_b
	grub-editenv d/grubenv create
	grub-editenv d/grubenv set STELE_ORDER="a b" STELE_A_STATE=good STELE_A_TRIES=3 \
		STELE_B_STATE=bad STELE_B_TRIES=0
	echo '{"slot": "a", "version": "0.9", "product": "minimal", "root_hash": "00", "rollback_index": 0, "trial": false}' >d/boot.json
}
upd() { # upd IMAGE COMMAND...
	local disk=$1
	shift
	"$TOOLS/stele-update" "$@" --disk "$disk" --state d/grubenv --trust keys/ca.crt \
		--booted-json d/boot.json --part root_a=d/root_a --part verity_a=d/verity_a \
		--part root_b=d/root_b --part verity_b=d/verity_b
}
sums() { sha256sum d/* | sha256sum; }
newdev
run upd "$img" status
is "the image as built: stele-update status accepts its table" "$rc" 0
run upd "$img" mark-bad b
is "the image as built: stele-update mark-bad accepts its table" "$rc" 0
run upd "$img" install $bundle
is "the image as built: stele-update install accepts its table" "$rc" 0
[ "$rc" = 0 ] || echo "$err" | sed 's/^/# /'

ged() { "$TOOLS/gptedit" "$@" 2>/dev/null; }
first() { ged "$img" "$1" show | cut -d' ' -f1; }
last() { ged "$img" "$1" show | cut -d' ' -f2; }
W=$((1 << 55)) # sectors; times 512 is 2^64
disk_sectors=$(($(stat -c %s "$img") / 512))
slot=$(($(last root_a) - $(first root_a) + 1))
vsz=$(($(last verity_a) - $(first verity_a) + 1))
esp_sz=$(($(last esp) - $(first esp) + 1))
data_sz=$(($(last data) - $(first data) + 1))
half=$((slot / 2))

# hostile NAME WANT... -- EDIT...: applies each EDIT ("LABEL start=X end=Y") to a copy, then
# checks verify, state and state --set against it; WANT: fragments verify's output must name
hostile() {
	local name=$1 wants=() edit=() h=h.img
	shift
	while [ "$1" != -- ]; do wants+=("$1"); shift; done
	shift
	cp --sparse=always "$img" $h
	for edit in "$@"; do
		# shellcheck disable=SC2086 # each EDIT is LABEL and its fields
		"$TOOLS/gptedit" $h $edit || echo "# gptedit $edit failed"
	done
	cp --sparse=always $h before.img
	run "$STELE" verify $h --trust keys/ca.crt
	is "$name: stele verify exits 1" "$rc" 1
	for w in "${wants[@]}"; do
		has "$name: stele verify names $w" "$out" "$w"
	done
	case $out in
	*"slot a: "* | *"slot b: "*) ok 1 "$name: stele verify did not look into a slot" ;;
	*) ok 0 "$name: stele verify did not look into a slot" ;;
	esac
	run "$STELE" state $h
	is "$name: stele state refuses (exit 1)" "$rc" 1
	has "$name: stele state says what is wrong" "$err" "${wants[0]}"
	run "$STELE" state $h --set STELE_B_TRIES=2 --set STELE_ORDER="b a"
	is "$name: stele state --set refuses (exit 1)" "$rc" 1
	check "$name: stele state --set wrote nothing" -- cmp $h before.img
	newdev
	local sum=$(sums) cmd
	for cmd in status "install $bundle" "mark-bad b"; do
		# shellcheck disable=SC2086 # the command and its argument
		run upd $h $cmd
		is "$name: stele-update ${cmd%% *} refuses (exit 1)" "$rc" 1
		has "$name: stele-update ${cmd%% *} says why" "$err" \
			"refusing to touch the disk: the partition table of $h: "
	done
	is "$name: stele-update wrote nothing" "$(sums)" "$sum"
	check "$name: stele-update left the image alone" -- cmp $h before.img
	rm -f $h before.img
}

hostile "root_b and verity_b at 2^55 sectors plus slot a's starts" "partition 4 (root_b)" \
	"not inside the usable sectors" -- \
	"root_b start=$((W + $(first root_a))) end=$((W + $(last root_a)))" \
	"verity_b start=$((W + $(first verity_a))) end=$((W + $(last verity_a)))"
hostile "the ESP at 2^55 sectors plus its start" "partition 1 (esp)" -- \
	"esp start=$((W + $(first esp))) end=$((W + $(last esp)))"
hostile "root_b on root_a's sectors" "partition 4 (root_b" "overlaps partition 2 (root_a" -- \
	"root_b start=$(first root_a) end=$(last root_a)"
hostile "root_b over the second half of root_a" "partition 4 (root_b" \
	"overlaps partition 2 (root_a" -- \
	"root_b start=$(($(first root_a) + half)) end=$(($(first root_a) + half + slot - 1))"
hostile "data over root_b" "partition 6 (data" "overlaps partition 4 (root_b" -- \
	"data start=$(($(first root_b) + 2048)) end=$(($(first root_b) + 2048 + data_sz - 1))"
hostile "the ESP over root_a" "partition 2 (root_a" "overlaps partition 1 (esp" -- \
	"esp start=$(($(first root_a) - esp_sz + 2048)) end=$(($(first root_a) + 2047))"
hostile "verity_b past the end of the disk" "partition 5 (verity_b)" \
	"not inside the usable sectors" -- \
	"verity_b start=$((disk_sectors - 100)) end=$((disk_sectors - 101 + vsz))"
hostile "root_b ending before it starts" "partition 4 (root_b)" "no sectors" -- \
	"root_b start=$(last root_b) end=$(first root_b)"
hostile "verity_b ending at 2^64-1" "partition 5 (verity_b)" -- \
	"verity_b end=18446744073709551615"

# a truncated image: the primary GPT is intact, the backup is gone
cp --sparse=always "$img" t.img
truncate -s $(($(stat -c %s "$img") - 1048576)) t.img
run "$STELE" verify t.img --trust keys/ca.crt
is "a truncated image: stele verify exits 1" "$rc" 1
has "a truncated image: stele verify says so" "$out" \
	"backup GPT missing: the image is truncated ($(stat -c %s t.img) bytes, the GPT expects $(stat -c %s "$img"))"
run "$STELE" state t.img
is "a truncated image: stele state exits 1" "$rc" 1
has "a truncated image: stele state says so" "$err" "t.img: backup GPT missing: the image is truncated"

head -c 1 /dev/zero >one
run "$STELE" state one
is "a 1-byte file: stele state exits 1" "$rc" 1
has "a 1-byte file: a clear message naming the file" "$err" "one: not a disk image: 1 byte"
run "$STELE" state /dev/zero
# refused before a byte is read (a character device is never an image: bad input, exit 2)
is "/dev/zero: stele state exits 2" "$rc" 2
has "/dev/zero: a clear message" "$err" "/dev/zero: is a character device, not a disk image"
case $err in *LeakSanitizer*) ok 1 "/dev/zero: no leak" ;; *) ok 0 "/dev/zero: no leak" ;; esac
finish
