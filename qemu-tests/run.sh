#!/bin/bash
# Boots real images in QEMU (TCG unless a probe proves KVM works): builds the minimal image
# once with fresh keys, then runs every scenario (NN-*.sh). TAP; exit 77 when QEMU, OVMF or
# Debian's package lists are missing.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
export STELE=${STELE_QEMU:-$top/build/stele}
export WORK=${QEMU_TESTS_WORK:-$top/build/qemu-tests}
command -v qemu-system-x86_64 >/dev/null || { echo "1..0 # SKIP qemu-system-x86 missing"; exit 77; }
[ -r /usr/share/OVMF/OVMF_CODE_4M.fd ] || { echo "1..0 # SKIP ovmf missing"; exit 77; }
apt-cache show --no-all-versions busybox-static linux-image-cloud-amd64 >/dev/null 2>&1 ||
	{ echo "1..0 # SKIP no apt lists for the minimal profile"; exit 77; }

# one probe for the whole run (KVM hangs on some hosts; TCG then)
export STELE_ACCEL=${STELE_ACCEL:-$("$STELE" run --print-accel)}
echo "# accelerator: $STELE_ACCEL"
rm -rf "$WORK"
mkdir -p "$WORK"
"$STELE" keygen "$WORK/keys" >/dev/null
if ! "$STELE" build "$top/qemu-tests/profiles/unsigned.json" -o "$WORK/out" --keys "$WORK/keys" -q \
	>"$WORK/build.log" 2>&1; then
	echo "not ok 1 - building the minimal image"
	sed 's/^/# /' "$WORK/build.log"
	echo "1..1"
	exit 1
fi
mv "$WORK/out/minimal-1.0.0.img" "$WORK/minimal.img"
cp "$WORK/out/minimal-1.0.0.rootfs.ext4" "$WORK/minimal.rootfs.ext4"

# the update scenarios' images and bundles (qemu-tests/profiles), and one signed by a CA
# the devices do not trust
"$STELE" keygen "$WORK/other-keys" >/dev/null
build_set() { # build_set PROFILE KEYS
	"$STELE" build "$top/qemu-tests/profiles/$1.json" -o "$WORK/upd/$1" --keys "$2" -q \
		>>"$WORK/build.log" 2>&1 || {
		echo "not ok 1 - building qemu-tests/profiles/$1.json"
		sed 's/^/# /' "$WORK/build.log"
		echo "1..1"
		exit 1
	}
}
for p in v1 v2 v3 health-fails panics hangs other-product other-arch big-data; do
	build_set "$p" "$WORK/keys"
done
# the Debian appliance (mmdebstrap runs once; the others come from its cache)
for p in debian-v1 debian-v2 debian-health-fails debian-hangs; do
	build_set "$p" "$WORK/keys"
done
build_set v2 "$WORK/other-keys" && mv "$WORK/upd/v2/minimal-2.0.0.bundle" "$WORK/upd/untrusted.bundle"
build_set v2 "$WORK/keys"
# Secure Boot: the image of another product's keys, then this product's
build_set sb "$WORK/other-keys" && mv "$WORK/upd/sb/minimal-1.0.0.img" "$WORK/upd/sb-foreign.img"
build_set sb "$WORK/keys"
# its update, and the same with the kernel image signed by another product's db (the manifest
# by this product's key)
mkdir -p "$WORK/foreign-sb-keys"
cp "$WORK"/keys/ca.* "$WORK"/keys/signing.* "$WORK"/other-keys/sb-* "$WORK/foreign-sb-keys/"
build_set sb2 "$WORK/foreign-sb-keys" &&
	mv "$WORK/upd/sb2/minimal-2.0.0.bundle" "$WORK/upd/sb2-foreign-uki.bundle"
build_set sb2 "$WORK/keys"

failed=0
n=0
for t in "$top"/qemu-tests/[0-9]*.sh; do
	name=$(basename "$t" .sh)
	# QEMU_TESTS_ONLY="15 50": only the scenarios whose names start so (while working on one)
	if [ -n "${QEMU_TESTS_ONLY:-}" ]; then
		want=0
		for o in $QEMU_TESTS_ONLY; do case $name in "$o"*) want=1 ;; esac; done
		[ "$want" = 1 ] || continue
	fi
	# renumber each scenario's TAP lines into one stream
	while IFS= read -r line; do
		case $line in
		"ok "* | "not ok "*)
			n=$((n + 1))
			status=${line%% [0-9]*}
			desc=${line#* [0-9]* - }
			echo "$status $n - $name: $desc"
			[ "$status" = "not ok" ] && failed=$((failed + 1))
			;;
		1..*) ;;
		*) echo "$line" ;;
		esac
	done < <(bash "$t" 2>&1)
done
echo "1..$n"
[ "$failed" -eq 0 ] && rm -rf "$WORK"
[ "$failed" -eq 0 ]
