#!/bin/bash
# Benchmark: populate an ext4 image from the same tree (a mmdebstrap minbase bookworm tree)
# with `stele build` (dir base) and with `mkfs.ext4 -d`, same size, same block size, no
# journal. Prints both times (best of N runs, wall clock) and the ratio stele/mkfs.
# Usage: bench/rootfs.sh [STELE] [RUNS]   (needs root for mmdebstrap's root mode)
set -eu
STELE=${1:-build/stele}
RUNS=${2:-5}
top=$(cd "$(dirname "$0")/.." && pwd)
STELE=$(cd "$(dirname "$STELE")" && pwd)/$(basename "$STELE")
work=${BENCH_WORK:-$top/bench/work}
tree=$work/minbase
mkdir -p "$work"

if [ ! -d "$tree/usr" ]; then
	echo "bench: mmdebstrap --variant=minbase bookworm $tree (once; cached)" >&2
	rm -rf "$tree"
	mmdebstrap --quiet --variant=minbase bookworm "$tree" >&2
fi
cat >"$work/profile.json" <<JSON
{ "product": "bench", "version": "1", "base": { "dir": "$tree", "keep_owner": true } }
JSON

now() { date +%s.%N; }
best() { # best CMD...: best wall time of RUNS runs
	local b="" t0 t1 t
	for _ in $(seq "$RUNS"); do
		sync
		t0=$(now)
		"$@" >/dev/null 2>&1
		t1=$(now)
		t=$(echo "$t1 - $t0" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
	done
	echo "$b"
}

rm -rf "$work/out"
"$STELE" build "$work/profile.json" -o "$work/out" -q --rootfs-only
img=$work/out/bench-1.rootfs.ext4
size=$(stat -c %s "$img")
files=$(find "$tree" | wc -l)
bytes=$(du -sb "$tree" | cut -f1)

stele_run() { rm -f "$img"; "$STELE" build "$work/profile.json" -o "$work/out" -q --rootfs-only; }
mkfs_run() {
	rm -f "$work/mkfs.img"
	truncate -s "$size" "$work/mkfs.img"
	mkfs.ext4 -q -F -b 4096 -O ^has_journal,^resize_inode -d "$tree" "$work/mkfs.img"
}
t_stele=$(best stele_run)
t_mkfs=$(best mkfs_run)
e2fsck -fn "$img" >/dev/null
printf 'tree: %s entries, %s MiB; image %s MiB; best of %s runs\n' "$files" \
	"$((bytes >> 20))" "$((size >> 20))" "$RUNS"
printf 'stele build --rootfs-only %5.3f s\n' "$t_stele"
printf 'mkfs.ext4 -d             %6.3f s\n' "$t_mkfs"
printf 'ratio stele/mkfs.ext4    %6.3f (target: <= 1.0)\n' "$(echo "$t_stele / $t_mkfs" | bc -l)"
