#!/bin/bash
# Benchmark: time from QEMU start to "stele: ready" for the minimal image, split into
# firmware (OVMF until GRUB speaks), GRUB (until the kernel's first line), kernel (until it
# runs /init), stele-init (until the slot is verified and mounted) and the appliance's init.
# Phase boundaries are when each marker first appears on the serial console (polled every
# 50 ms). Usage: bench/boot.sh [STELE] [RUNS]
set -eu
STELE=${1:-build/stele}
RUNS=${2:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
STELE=$(cd "$(dirname "$STELE")" && pwd)/$(basename "$STELE")
work=${BENCH_WORK:-$top/bench/work}/boot
mkdir -p "$work"
[ -d "$work/keys" ] || "$STELE" keygen "$work/keys" >/dev/null
"$STELE" build "$top/profiles/minimal.json" -o "$work/out" --keys "$work/keys" -q
img=$work/out/minimal-1.0.0.img
accel=${STELE_ACCEL:-$("$STELE" run --print-accel)}
markers=("Welcome to GRUB" "Linux version" "Run /init as init process" "stele-init: slot a verified" "stele: ready slot=a")
names=(firmware GRUB kernel stele-init "appliance init")

now() { date +%s.%N; }
one_run() { # prints the five phase boundaries (seconds since QEMU start)
	local log=$work/serial.log t0 i=0 t
	: >"$log"
	STELE_ACCEL=$accel "$STELE" run "$img" --console --snapshot </dev/null >"$log" 2>&1 &
	local pid=$!
	t0=$(now)
	local seen=()
	while [ $i -lt ${#markers[@]} ]; do
		if grep -aq "${markers[$i]}" "$log"; then
			t=$(echo "$(now) - $t0" | bc -l)
			seen+=("$t")
			i=$((i + 1))
			continue
		fi
		if [ "$(echo "$(now) - $t0 > 180" | bc)" = 1 ]; then
			echo "bench: timed out waiting for '${markers[$i]}'" >&2
			break
		fi
		sleep 0.05
	done
	pkill -P "$pid" 2>/dev/null || true
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	echo "${seen[*]}"
}

echo "minimal image, $accel, $RUNS runs (seconds from QEMU start; phase = time since the previous marker)"
all=()
for r in $(seq "$RUNS"); do
	line=$(one_run)
	all+=("$line")
	echo "run $r: $line"
done
# median of each boundary, then phases
for k in 0 1 2 3 4; do
	med[$k]=$(for l in "${all[@]}"; do echo "$l" | cut -d' ' -f$((k + 1)); done | sort -n |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
done
prev=0
for k in 0 1 2 3 4; do
	printf '%-16s %6.2f s (%4.1f%%)\n' "${names[$k]}" "$(echo "${med[$k]} - $prev" | bc -l)" \
		"$(echo "(${med[$k]} - $prev) * 100 / ${med[4]}" | bc -l)"
	prev=${med[$k]}
done
printf '%-16s %6.2f s\n' "total to ready" "${med[4]}"
