#!/bin/bash
# Hostile inputs of stele state and stele verify: --set values the boot state cannot hold
# refused with the image left byte-identical; a bundle with a byte after its rootfs, a
# nonzero reserved header byte or a nonzero padding byte fails verify; a NUL-padded boot
# state block is named as such; a FIFO, a directory or /dev/zero is refused at once (under
# `timeout 20`, so a regression fails instead of hanging).
. "$(dirname "$0")/lib.sh"
apt-cache show --no-all-versions busybox-static linux-image-cloud-amd64 >/dev/null 2>&1 ||
	skip_all "no apt lists for the minimal profile"
for t in sfdisk mcopy grub-editenv xxd sha256sum; do
	command -v $t >/dev/null || skip_all "$t missing"
done
cd "$work" || exit 1
"$STELE" keygen keys >/dev/null
cat >p.json <<JSON
{ "extends": "$TOP/profiles/minimal.json", "outputs": ["raw", "bundle"],
  "layout": { "esp_size": "64M", "slot_size": "256M", "data_size": "64M" } }
JSON
run "$STELE" build p.json -o a --keys keys -q
is "build a bootable image and its bundle" "$rc" 0
[ "$rc" = 0 ] || { echo "$err" | sed 's/^/# /'; finish; }
img=a/minimal-1.0.0.img
bundle=a/minimal-1.0.0.bundle

# --set: every value the block could not hold is refused, and nothing is written
cp --sparse=always "$img" t.img
for set in "STELE_ORDER=abx" "STELE_ORDER=b a junk" "STELE_ORDER=a a" "STELE_ORDER=ab" \
	"STELE_ORDER= a" "STELE_ORDER=" "STELE_A_STATE=Good" "STELE_B_STATE=good " \
	"STELE_A_TRIES=16" "STELE_A_TRIES=03" "STELE_A_TRIES=-1" "STELE_B_TRIES=3x" \
	"STELE_C_STATE=good" "saved_entry=0" "=a" "STELE_ORDER"; do
	run "$STELE" state t.img --set "$set"
	is "state --set '$set': exit 2" "$rc" 2
	check "state --set '$set': the image is byte-identical" -- cmp t.img "$img"
done
run "$STELE" state t.img --set "STELE_ORDER=abx"
has "state --set STELE_ORDER=abx: names the value" "$err" 'STELE_ORDER="abx"'
run "$STELE" state t.img --set "STELE_C_STATE=good"
has "state --set STELE_C_STATE: unknown variable" "$err" "unknown variable STELE_C_STATE"
run "$STELE" state t.img --set "STELE_B_STATE=good" --set "STELE_ORDER=b a junk"
is "a good --set and a bad one: exit 2" "$rc" 2
check "a good --set and a bad one: nothing written" -- cmp t.img "$img"
run "$STELE" state t.img --set "STELE_ORDER=b" --json
has "state --set STELE_ORDER=b (valid) is written" "$out" '"order": "b"'

# a NUL-padded 1024-byte block: what is wrong, not "not 1024 bytes"
cp --sparse=always "$img" n.img
esp=$(($(sfdisk -J n.img | awk '/"start":/ { gsub(/[^0-9]/, "", $2); print $2; exit }') * 512))
mcopy -n -i "n.img@@$esp" ::/EFI/stele/grubenv env
body=$(LC_ALL=C sed -n '/^#\{20,\}/q; p' env | wc -c)
{ head -c "$body" env; head -c $((1024 - body)) /dev/zero; } >nul.env
is "the NUL-padded block is 1024 bytes" "$(stat -c %s nul.env)" 1024
mcopy -o -n -i "n.img@@$esp" nul.env ::/EFI/stele/grubenv
run "$STELE" state n.img
is "state on a NUL-padded boot state: exit 1" "$rc" 1
has "state on a NUL-padded boot state: says so" "$err" "NUL byte at offset $body; a GRUB environment block is padded with '#'"

# the bundle: its format defines every byte
cp --sparse=always "$bundle" t.bundle
printf 'X' >>t.bundle
run "$STELE" verify t.bundle --trust keys/ca.crt
is "verify: a bundle with a byte after the rootfs: exit 1" "$rc" 1
has "verify: a trailing byte: says so" "$out" "FAIL bundle header: bundle: 1 bytes after the end of the rootfs"
cp --sparse=always "$bundle" t.bundle
printf '\001' | dd of=t.bundle bs=1 seek=70 conv=notrunc 2>/dev/null
head -c 80 t.bundle | sha256sum | cut -c1-64 | xxd -r -p |
	dd of=t.bundle bs=1 seek=80 conv=notrunc 2>/dev/null
run "$STELE" verify t.bundle --trust keys/ca.crt
is "verify: a nonzero reserved header byte (checksum resealed): exit 1" "$rc" 1
has "verify: a reserved byte: named" "$out" "reserved header field: byte 0x01 at offset 70"
cp --sparse=always "$bundle" t.bundle
printf '\001' | dd of=t.bundle bs=1 seek=4000 conv=notrunc 2>/dev/null
run "$STELE" verify t.bundle --trust keys/ca.crt
is "verify: a nonzero byte in the header block after the checksum: exit 1" "$rc" 1
msize=$(stat -c %s a/minimal-1.0.0.manifest.json)
cp --sparse=always "$bundle" t.bundle
printf 'X' | dd of=t.bundle bs=1 seek=$((4096 + msize)) conv=notrunc 2>/dev/null
run "$STELE" verify t.bundle --trust keys/ca.crt
is "verify: a nonzero padding byte after the manifest: exit 1" "$rc" 1
has "verify: a padding byte: named" "$out" "manifest padding: byte 0x58 at offset $((4096 + msize))"
run "$STELE" verify "$bundle" --trust keys/ca.crt
is "verify: the untouched bundle still passes" "$rc" 0

# not a disk image or bundle: refused at once, named with what it is
mkfifo fifo
mkdir adir
for f in fifo adir /dev/zero; do
	case $f in fifo) kind="a FIFO" ;; adir) kind="a directory" ;; *) kind="a character device" ;; esac
	run timeout 20 "$STELE" verify "$f" --trust keys/ca.crt
	is "verify $f: exit 2 (not a hang: 124)" "$rc" 2
	has "verify $f: says what it is" "$err" "$f: is $kind, not a disk image, bundle, verity image or ext4 rootfs"
	run timeout 20 "$STELE" verify a/minimal-1.0.0.verity "$f" --trust keys/ca.crt
	is "verify VERITY $f: exit 2" "$rc" 2
	run timeout 20 "$STELE" state "$f"
	is "state $f: exit 2 (not a hang: 124)" "$rc" 2
	has "state $f: says what it is" "$err" "$f: is $kind, not a disk image"
done
# every other path a command reads: a FIFO is refused, never waited on
run timeout 20 "$STELE" verify "$bundle" --trust fifo
is "verify --trust FIFO: exit 2" "$rc" 2
has "verify --trust FIFO: says so" "$err" "fifo: is a FIFO, not a PEM certificate file"
run timeout 20 "$STELE" build fifo -o x
is "build FIFO: exit 2" "$rc" 2
has "build FIFO: says so" "$err" "fifo: is a FIFO, not a regular file"
run timeout 20 "$STELE" verity fifo h.verity
is "verity FIFO (data): exit 2" "$rc" 2
run timeout 20 "$STELE" verity a/minimal-1.0.0.rootfs.ext4 fifo
is "verity DATA FIFO (hash output): exit 2" "$rc" 2
has "verity DATA FIFO: says so" "$err" "fifo: is a FIFO, not a hash file or block device"
run timeout 20 "$STELE" run fifo --dry-run
is "run FIFO: exit 2" "$rc" 2
run timeout 20 "$STELE" run /dev/zero --dry-run
has "run /dev/zero: says what it is" "$err" "/dev/zero: is a character device, not a disk image"
run "$STELE" verify p.json --trust keys/ca.crt
is "verify on a file of no known kind: exit 2" "$rc" 2
has "verify on a file of no known kind: lists what it takes" "$err" "not a disk image, bundle, verity image or ext4 rootfs"

# packages: a name apt does not know, a version it does not have (policy, then show NAME=VER)
for spec in no-such-package-zz dash=0.0-not-a-version; do
	cat >debs.json <<JSON
{ "product": "x", "version": "1", "base": { "debs": ["busybox-static", "$spec"] },
  "outputs": ["raw"] }
JSON
	run "$STELE" build debs.json -o debs-out --keys keys -q
	is "debs: $spec: exit 1" "$rc" 1
	has "debs: $spec: the error names the package" "$err" "${spec%%=*}"
	check "debs: $spec: nothing written" -- test ! -e debs-out
done
has "debs: a version apt does not have: said so" "$err" "gave no Package, Version"
finish
