#!/bin/bash
# Benchmark: installing a bundle into a partition with `stele-update install` (signature and
# tree checked first, every block checked against the tree before it is written, synced,
# read back from the device and compared) against `dd` of the same rootfs image to the same
# partition (conv=fsync), and, for the sparse image, `bmaptool copy` (writes the mapped
# blocks only and checks their sha256; it leaves the rest of the partition as it was).
# Two rootfs images of 512 MiB: "sparse" (Debian minbase, 179 MiB used, the rest free: what
# stele builds with headroom) and "dense" (440 MiB of random data: the worst case). Two
# kinds of partition: preallocated files, and loop devices over them (when losetup works)
# in direct-I/O mode, so that they behave like a disk (a buffered loop device turns every
# request into a buffered write into its backing file's page cache).
# stele-update runs in its test mode (--part/--state/...). Prints best-of-RUNS times and
# the ratio dd/stele (>= 1: stele is faster; target >= 0.9).
# Usage: bench/install.sh [BUILD_DIR] [RUNS]
set -eu
B=${1:-build}
RUNS=${2:-5}
top=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "$B" && pwd)
work=${BENCH_WORK:-$top/bench/work}/install
mkdir -p "$work"
[ -d "$work/keys" ] || "$B/stele" keygen "$work/keys" >/dev/null
"$top/bench/rootfs.sh" "$B/stele" 1 >/dev/null # the minbase tree
if ! command -v bmaptool >/dev/null && [ "$(id -u)" = 0 ]; then
	apt-get install -y -qq bmap-tools >/dev/null 2>&1 || true
fi

# a non-bootable profile gets no bundle by itself: assemble it from the slot's files
gcc -std=gnu11 -D_GNU_SOURCE -I"$top" -o "$work/mkbundle" "$top/tests/mkbundle.c" \
	"$top/builder/outputs/bundlewrite.c" "$top/builder/fileutil.c" "$top/lib/bundle.c" "$top/lib/hash.c" \
	"$top/lib/input.c" "$top/lib/err.c" -lcrypto

# make_bundle NAME BASE_DIR: builds a 512 MiB rootfs of BASE_DIR and its bundle
make_bundle() {
	local name=$1 base=$2 o
	cat >"$work/$name.json" <<JSON
{ "product": "bench", "version": "2", "rollback_index": 1,
  "base": { "dir": "$base", "keep_owner": true }, "rootfs": { "size": "512M" } }
JSON
	rm -rf "$work/$name.out"
	"$B/stele" build "$work/$name.json" -o "$work/$name.out" --keys "$work/keys" -q
	o=$work/$name.out/bench-2
	rm -f "$work/$name.bundle"
	"$work/mkbundle" "$work/$name.bundle" "$o.manifest.json" "$o.manifest.sig" "$o.verity" \
		"$o.rootfs.ext4"
}
make_bundle sparse "${BENCH_WORK:-$top/bench/work}/minbase"
if [ ! -f "$work/dense.tree/blob" ]; then
	mkdir -p "$work/dense.tree"
	head -c 440M /dev/urandom >"$work/dense.tree/blob"
fi
make_bundle dense "$work/dense.tree"

d=$work/dev
loops=()
detach() {
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
	loops=()
}
trap detach EXIT
# setup KIND: fresh partitions (files, or loop devices over them) and boot state; sets
# root_b and verity_b
setup() {
	detach
	rm -rf "$d" && mkdir -p "$d/data"
	for p in root_a root_b; do fallocate -l 600M "$d/$p"; done
	for p in verity_a verity_b; do fallocate -l 16M "$d/$p"; done
	root_b=$d/root_b verity_b=$d/verity_b
	if [ "$1" = loop ]; then
		root_b=$(losetup -f --show --direct-io=on "$d/root_b")
		loops+=("$root_b")
		verity_b=$(losetup -f --show --direct-io=on "$d/verity_b")
		loops+=("$verity_b")
	fi
	grub-editenv "$d/grubenv" create
	grub-editenv "$d/grubenv" set STELE_ORDER="a b" STELE_A_STATE=good STELE_A_TRIES=3 \
		STELE_B_STATE=bad STELE_B_TRIES=0
	echo '{"slot": "a", "version": "1", "product": "bench", "root_hash": "00", "rollback_index": 0, "trial": false}' >"$d/boot.json"
	echo '{"window": 60, "tries": 3, "checks": []}' >"$d/health.json"
}
now() { date +%s.%N; }
# best KIND CMD...: the best of RUNS times of CMD, each on fresh partitions
best() {
	local kind=$1 b="" t0 t
	shift
	for _ in $(seq "$RUNS"); do
		setup "$kind"
		sync
		t0=$(now)
		"$@" >/dev/null 2>&1
		t=$(echo "$(now) - $t0" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
	done
	echo "$b"
}
stele_install() { # BUNDLE
	"$B/stele-update" install "$1" --state "$d/grubenv" --trust "$work/keys/ca.crt" \
		--booted-json "$d/boot.json" --part root_a="$d/root_a" --part verity_a="$d/verity_a" \
		--part root_b="$root_b" --part verity_b="$verity_b" --data "$d/data" \
		--health-json "$d/health.json"
}
dd_install() { # IMAGE
	dd if="$1" of="$root_b" bs=1M conv=notrunc,fsync status=none
}
bmap_install() { # IMAGE
	bmaptool -q copy --bmap "$1.bmap" "$1" "$root_b"
}

kinds=(file)
if [ "$(id -u)" = 0 ] && l=$(losetup -f 2>/dev/null) && [ -n "$l" ]; then kinds+=(loop); fi
printf 'rootfs 512 MiB; best of %s; bundle and image in the page cache; ratio = dd time / stele time\n' "$RUNS"
for name in sparse dense; do
	img=$work/$name.out/bench-2.rootfs.ext4
	used=$(($(stat -c %b "$img") * 512 >> 20))
	if command -v bmaptool >/dev/null && [ "$name" = sparse ]; then
		bmaptool -q create -o "$img.bmap" "$img"
	fi
	for kind in "${kinds[@]}"; do
		setup "$kind"
		stele_install "$work/$name.bundle" >/dev/null
		grep -q 'STELE_B_STATE=trial' "$d/grubenv" ||
			{ echo "bench: the install did not complete" >&2; exit 1; }
		cmp -n "$(stat -c %s "$img")" "$img" "$root_b" ||
			{ echo "bench: the installed slot differs from the image" >&2; exit 1; }
		ts=$(best "$kind" stele_install "$work/$name.bundle")
		td=$(best "$kind" dd_install "$img")
		printf '%-6s (%3d MiB of data) on a %-4s  stele-update %5.3f s  dd %5.3f s  ratio %.2f' \
			"$name" "$used" "$kind" "$ts" "$td" "$(echo "$td / $ts" | bc -l)"
		if [ -f "$img.bmap" ] && [ "$name" = sparse ]; then
			tb=$(best "$kind" bmap_install "$img")
			printf '  bmaptool %5.3f s  ratio %.2f' "$tb" "$(echo "$tb / $ts" | bc -l)"
		fi
		printf '\n'
	done
done
echo "target: ratio >= 0.9 against dd"
