#!/bin/bash
# Benchmark: time from `stele-update install` on the device to the new slot committed `good`
# (install + reboot + trial boot + health), under QEMU, split at the markers on the serial
# console. Uses the qemu-tests images (qemu-tests/profiles/v1 and v2).
# Usage: bench/update.sh [STELE]
set -eu
STELE=${1:-build/stele}
top=$(cd "$(dirname "$0")/.." && pwd)
STELE=$(cd "$(dirname "$STELE")" && pwd)/$(basename "$STELE")
work=${BENCH_WORK:-$top/bench/work}/update
mkdir -p "$work"
[ -d "$work/keys" ] || "$STELE" keygen "$work/keys" >/dev/null
for p in v1 v2; do
	"$STELE" build "$top/qemu-tests/profiles/$p.json" -o "$work/$p" --keys "$work/keys" -q
done
img=$work/disk.img
cp --sparse=always "$work/v1/minimal-1.0.0.img" "$img"
export STELE_ACCEL=${STELE_ACCEL:-$("$STELE" run --print-accel)}
log=$work/serial.log
rm -f "$work/in" && mkfifo "$work/in"
"$STELE" run "$img" --console --disk "$work/v2/minimal-2.0.0.bundle" <"$work/in" >"$log" 2>&1 &
pid=$!
exec 7>"$work/in"
now() { date +%s.%N; }
wait_for() {
	for _ in $(seq 3000); do grep -aq "$1" "$log" && return 0; sleep 0.1; done
	echo "bench: timed out waiting for $1" >&2
	return 1
}
wait_for "stele: ready slot=a"
t0=$(now)
printf 'stele-update install /dev/vdb --reboot\n' >&7
marks=("reboot: Restarting" "booting slot b (trial)" "stele-init: slot b verified" "committed slot b")
names=("install (check, write, reread)" "reboot, firmware, GRUB" "kernel, stele-init" "init, health, commit")
prev=0
for i in 0 1 2 3; do
	wait_for "${marks[$i]}"
	t=$(echo "$(now) - $t0" | bc -l)
	printf '%-28s %6.2f s\n' "${names[$i]}" "$(echo "$t - $prev" | bc -l)"
	prev=$t
done
printf '%-28s %6.2f s (%s, bundle %d MiB)\n' "install to committed good" "$prev" "$STELE_ACCEL" \
	$(($(stat -c %s "$work/v2/minimal-2.0.0.bundle") >> 20))
kill -KILL "$pid" 2>/dev/null || true
pkill -KILL -P "$pid" 2>/dev/null || true
