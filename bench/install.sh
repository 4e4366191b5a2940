#!/bin/bash
# Benchmark: installing a bundle into a partition with `stele-update install` (signature,
# tree and every block checked before writing, fsync, read back and checked again) against
# `dd` of the same rootfs image to the same partition (conv=fsync). Partitions are
# preallocated files; stele-update runs in its test mode (--part/--state/...), so no device
# is touched. Prints best-of-RUNS times and the throughput ratio stele/dd (target >= 0.9).
# Usage: bench/install.sh [BUILD_DIR] [RUNS]
set -eu
B=${1:-build}
RUNS=${2:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "$B" && pwd)
work=${BENCH_WORK:-$top/bench/work}/install
mkdir -p "$work"
[ -d "$work/keys" ] || "$B/stele" keygen "$work/keys" >/dev/null
"$top/bench/rootfs.sh" "$B/stele" 1 >/dev/null # the minbase tree
cat >"$work/p.json" <<JSON
{ "product": "bench", "version": "2", "rollback_index": 1,
  "base": { "dir": "${BENCH_WORK:-$top/bench/work}/minbase", "keep_owner": true },
  "rootfs": { "size": "512M" } }
JSON
rm -rf "$work/out"
"$B/stele" build "$work/p.json" -o "$work/out" --keys "$work/keys" -q
# a non-bootable profile gets no bundle by itself: assemble it from the slot's files
(cd "$top" && cat >"$work/mkbundle.c" <<'C'
#include "builder/bundlewrite.h"
#include <stdio.h>
int main(int c, char **v) { struct err e; if (c != 6) return 2;
  if (bundle_write(v[1], v[2], v[3], v[4], v[5], &e) < 0) { fprintf(stderr, "%s\n", e.msg); return 1; }
  return 0; }
C
)
gcc -std=gnu11 -D_GNU_SOURCE -I"$top" -o "$work/mkbundle" "$work/mkbundle.c" \
	"$top/builder/bundlewrite.c" "$top/builder/fileutil.c" "$top/lib/bundle.c" "$top/lib/hash.c" \
	"$top/lib/err.c" -lcrypto
o=$work/out/bench-2
rm -f "$work/b.bundle"
"$work/mkbundle" "$work/b.bundle" "$o.manifest.json" "$o.manifest.sig" "$o.verity" "$o.rootfs.ext4"
size=$(stat -c %s "$o.rootfs.ext4")

d=$work/dev
setup() {
	rm -rf "$d" && mkdir -p "$d/data"
	for p in root_a root_b; do fallocate -l 600M "$d/$p"; done
	for p in verity_a verity_b; do fallocate -l 16M "$d/$p"; done
	grub-editenv "$d/grubenv" create
	grub-editenv "$d/grubenv" set STELE_ORDER="a b" STELE_A_STATE=good STELE_A_TRIES=3 \
		STELE_B_STATE=bad STELE_B_TRIES=0
	echo '{"slot": "a", "version": "1", "product": "bench", "root_hash": "00", "rollback_index": 0, "trial": false}' >"$d/boot.json"
	echo '{"window": 60, "tries": 3, "checks": []}' >"$d/health.json"
}
now() { date +%s.%N; }
best() {
	local b="" t0 t
	for _ in $(seq "$RUNS"); do
		setup
		sync
		t0=$(now)
		"$@" >/dev/null 2>&1
		t=$(echo "$(now) - $t0" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
	done
	echo "$b"
}
stele_install() {
	"$B/stele-update" install "$work/b.bundle" --state "$d/grubenv" --trust "$work/keys/ca.crt" \
		--booted-json "$d/boot.json" --part root_a="$d/root_a" --part verity_a="$d/verity_a" \
		--part root_b="$d/root_b" --part verity_b="$d/verity_b" --data "$d/data" \
		--health-json "$d/health.json"
}
dd_install() {
	dd if="$o.rootfs.ext4" of="$d/root_b" bs=1M conv=notrunc,fsync status=none
}
setup
stele_install >/dev/null
grep -q 'STELE_B_STATE=trial' "$d/grubenv" || { echo "bench: the install did not complete" >&2; exit 1; }
ts=$(best stele_install)
td=$(best dd_install)
mib=$((size >> 20))
printf 'rootfs %d MiB, best of %s (warm page cache)\n' "$mib" "$RUNS"
printf 'stele-update install  %6.2f s  %6.0f MiB/s  (checks every block before and after writing)\n' "$ts" "$(echo "$mib / $ts" | bc -l)"
printf 'dd conv=fsync         %6.2f s  %6.0f MiB/s\n' "$td" "$(echo "$mib / $td" | bc -l)"
printf 'throughput ratio stele/dd %.2f (target >= 0.9)\n' "$(echo "$td / $ts" | bc -l)"
