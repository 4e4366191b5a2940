#!/bin/bash
# Updates under Secure Boot, on the host (stele-update's test mode, a directory standing for
# the ESP): a Secure Boot build's bundle is format 2 and carries the slot's kernel image and
# GRUB signature, byte for byte the build's .efi and .efi.sig, which `stele verify` checks
# (and --secure-boot-db checks the Authenticode signer); installed on a Secure Boot device the
# image lands as EFI/stele/b.efi(.sig), nothing left under a temporary name, slot a's image
# untouched; a bundle whose kernel image another db key signed, a bundle without one, a
# kernel image changed by one byte, a manifest naming an image the bundle lacks are refused
# before anything is written (slot b's partitions, its state and the ESP unchanged); a cut
# while the image is written leaves slot b bad and the next install completes; a device
# without Secure Boot takes the same bundle and leaves its ESP alone.
. "$(dirname "$0")/lib.sh"
UPD=$TOOLS/stele-update
[ -x "$UPD" ] || skip_all "no stele-update in $TOOLS"
[ -x "$TOOLS/mkbundle" ] || skip_all "no mkbundle in $TOOLS"
apt-cache show --no-all-versions busybox-static linux-image-cloud-amd64 >/dev/null 2>&1 ||
	skip_all "no apt lists for the minimal profile"
for t in sbsign sbverify grub-editenv objcopy; do
	command -v $t >/dev/null || skip_all "$t missing"
done
[ -r /usr/lib/systemd/boot/efi/linuxx64.efi.stub ] || skip_all "systemd-boot-efi missing"
cd "$work" || exit 1

"$STELE" keygen keys >/dev/null
"$STELE" keygen other >/dev/null
# the product's manifest key with another product's Secure Boot keys
mkdir foreign && cp keys/ca.* keys/signing.* foreign/ && cp other/sb-* foreign/
cat >sb.json <<JSON
{ "extends": "$TOP/profiles/minimal.json", "outputs": ["bundle"],
  "layout": { "slot_size": "192M", "data_size": "64M" } }
JSON
cat >plain.json <<JSON
{ "extends": "$TOP/profiles/minimal.json", "outputs": ["bundle"], "secure_boot": false,
  "layout": { "slot_size": "192M", "data_size": "64M" } }
JSON
run "$STELE" build sb.json -o g --keys keys -q
is "a build of the minimal profile (Secure Boot by default) with a bundle: exit 0" "$rc" 0
[ "$rc" = 0 ] || { echo "$err" | sed 's/^/# /'; finish; }
run "$STELE" build sb.json -o f --keys foreign -q
is "the same, its kernel image signed by another product's db: exit 0" "$rc" 0
run "$STELE" build plain.json -o p --keys keys -q
is "a build without Secure Boot: exit 0" "$rc" 0
s=g/minimal-1.0.0

is "the bundle is format 2" "$(od -An -tu4 -j8 -N4 $s.bundle | tr -d ' ')" 2
is "a bundle without Secure Boot stays format 1" \
	"$(od -An -tu4 -j8 -N4 p/minimal-1.0.0.bundle | tr -d ' ')" 1
# the parts, from the header's sizes (lib/bundle.h)
hdr() { od -An -tu8 -j"$1" -N8 $s.bundle | tr -d ' '; }
pad() { echo $((($1 + 4095) / 4096 * 4096)); }
msize=$(hdr 16) ssize=$(hdr 24) vsize=$(hdr 32) usize=$(hdr 48) gsize=$(hdr 56)
uoff=$((4096 + $(pad "$msize") + $(pad "$ssize") + $(pad "$vsize")))
is "the header's kernel image size is the .efi's" "$usize" "$(stat -c %s $s.efi)"
check "the bundle carries the .efi byte for byte, after the verity image" -- \
	cmp -n "$usize" $s.efi <(tail -c +$((uoff + 1)) $s.bundle)
check "... and then the .efi.sig" -- \
	cmp -n "$gsize" $s.efi.sig <(tail -c +$((uoff + $(pad "$usize") + 1)) $s.bundle)
has "the signed manifest names the image's sha256" "$(cat $s.manifest.json)" "$(sha256sum $s.efi | cut -c1-64)"
check "sbverify: the bundled image is signed by db" -- sbverify --cert keys/sb-db.crt $s.efi

run "$STELE" verify --trust keys/ca.crt --secure-boot-db keys/sb-db.crt $s.bundle
is "stele verify --secure-boot-db: exit 0" "$rc" 0
has "... the kernel image checked" "$out" "ok   kernel image: sha256 as signed, Authenticode signed by"
run "$STELE" verify --trust keys/ca.crt --secure-boot-db keys/sb-db.crt f/minimal-1.0.0.bundle
is "stele verify: the image signed by another db: exit 1" "$rc" 1
has "... naming its signer" "$out" "FAIL kernel image: Authenticode: signed by"
cp $s.bundle t.bundle
printf 'X' | dd of=t.bundle bs=1 seek=$((uoff + 5000)) conv=notrunc 2>/dev/null
run "$STELE" verify --trust keys/ca.crt t.bundle
is "stele verify: one byte of the kernel image changed: exit 1" "$rc" 1
has "... the image differs from the signed one" "$out" "FAIL kernel image: differs from the one the manifest names"

# newdev DIR: slot a good and running, slot b bad, sparse partitions, an ESP with old images
newdev() {
	local d=$1 p
	rm -rf "$d"
	mkdir -p "$d/data" "$d/esp/EFI/stele"
	for p in root_a root_b; do truncate -s 160M "$d/$p"; done
	for p in verity_a verity_b; do head -c 4M /dev/zero | tr '\0' '\245' >"$d/$p"; done
	for p in a.efi a.efi.sig b.efi b.efi.sig; do echo "old $p" >"$d/esp/EFI/stele/$p"; done
	grub-editenv "$d/grubenv" create
	grub-editenv "$d/grubenv" set STELE_ORDER="a b" STELE_A_STATE=good STELE_A_TRIES=3 \
		STELE_B_STATE=bad STELE_B_TRIES=0
	echo '{"slot": "a", "version": "0.9", "product": "minimal", "root_hash": "00", "rollback_index": 0, "trial": false}' >"$d/boot.json"
	echo '{"window": 60, "tries": 3, "checks": []}' >"$d/health.json"
}
# upd DIR ARGS...: stele-update in test mode on DIR, a Secure Boot device unless NOSB is set
upd() {
	local d=$1
	shift
	"$UPD" "$@" --state "$d/grubenv" --trust keys/ca.crt --booted-json "$d/boot.json" \
		--part root_a="$d/root_a" --part verity_a="$d/verity_a" \
		--part root_b="$d/root_b" --part verity_b="$d/verity_b" \
		--data "$d/data" --health-json "$d/health.json" --esp "$d/esp" \
		--secure-boot-db "${NOSB:-keys/sb-db.crt}"
}
state_b() { grub-editenv "$1/grubenv" list | sed -n 's/^STELE_B_STATE=//p'; }
sums() { (cd "$1" && sha256sum root_b verity_b grubenv esp/EFI/stele/*); }

newdev d
run upd d install $s.bundle
is "install on a Secure Boot device: exit 0" "$rc" 0
[ "$rc" = 0 ] || echo "$err" | sed 's/^/# /'
check "EFI/stele/b.efi is the bundle's kernel image" -- cmp $s.efi d/esp/EFI/stele/b.efi
check "EFI/stele/b.efi.sig its GRUB signature" -- cmp $s.efi.sig d/esp/EFI/stele/b.efi.sig
is "slot a's image untouched" "$(cat d/esp/EFI/stele/a.efi d/esp/EFI/stele/a.efi.sig)" "old a.efi
old a.efi.sig"
is "nothing left under a temporary name" "$(ls d/esp/EFI/stele | grep -c new)" 0
is "slot b is on trial" "$(state_b d)" trial
check "slot b's rootfs is the image" -- cmp -n "$(stat -c %s $s.rootfs.ext4)" $s.rootfs.ext4 d/root_b

# refused before anything is written
refused() { # refused WHAT BUNDLE MESSAGE
	newdev r
	local before
	before=$(sums r)
	run upd r install "$2"
	is "$1: refused, exit 1" "$rc" 1
	has "$1: says why" "$err" "$3"
	is "$1: slot b's partitions, its state and the ESP unchanged" "$(sums r)" "$before"
}
refused "a kernel image signed by another product's db" f/minimal-1.0.0.bundle \
	"not by a certificate of the Secure Boot db"
refused "a bundle without a kernel image" p/minimal-1.0.0.bundle \
	"this device boots with Secure Boot and the bundle carries no signed kernel image"
refused "one byte of the kernel image changed" t.bundle "the kernel image's sha256 is"
"$TOOLS/mkbundle" nouki.bundle $s.manifest.json $s.manifest.sig $s.verity $s.rootfs.ext4
refused "a manifest naming a kernel image the bundle lacks" nouki.bundle \
	"the manifest names a kernel image, the bundle none"
"$TOOLS/mkbundle" sigswap.bundle $s.manifest.json $s.manifest.sig $s.verity $s.rootfs.ext4 \
	$s.efi f/minimal-1.0.0.efi.sig
refused "another GRUB signature in place of the image's" sigswap.bundle \
	"the kernel image signature's sha256 is"
NOSB=keys/ca.crt refused "a db certificate that did not sign it" $s.bundle \
	"not by a certificate of the Secure Boot db"
printf 'not a certificate\n' >junk.crt
NOSB=junk.crt refused "a db file that holds no certificate" $s.bundle "junk.crt: no PEM certificate"

# a cut while the image is written
newdev c
STELE_UPDATE_FAULT=pause:uki upd c install $s.bundle >c.out 2>c.err &
pid=$!
for _ in $(seq 600); do
	grep -q "fault: paused at uki" c.err && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done
check "pause:uki: the install stops with the image under its temporary name" -- \
	grep -q "fault: paused at uki" c.err
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
is "killed there: slot b is bad" "$(state_b c)" bad
check "... and its old image is gone (GRUB finds nothing to start)" -- test ! -e c/esp/EFI/stele/b.efi
run upd c install $s.bundle
is "the next install completes: exit 0" "$rc" 0
check "... b.efi is the new image" -- cmp $s.efi c/esp/EFI/stele/b.efi
is "... and no temporary file is left" "$(ls c/esp/EFI/stele | grep -c new)" 0

# a device without Secure Boot
newdev n
NOSB=n/no-such-db.crt run upd n install $s.bundle
is "a device without Secure Boot installs the bundle: exit 0" "$rc" 0
is "... and leaves its ESP alone" "$(cat n/esp/EFI/stele/b.efi)" "old b.efi"
finish
