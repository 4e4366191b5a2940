#!/bin/bash
# Benchmark: time from QEMU start to "stele: ready" for the minimal image, split into
# firmware (OVMF until GRUB speaks), GRUB (until the kernel's first line), kernel (until it
# runs /init), stele-init (until the slot is verified and mounted) and the appliance's init.
# Phase boundaries are when each marker first appears on the serial console (polled every
# 50 ms). Then the same image with "secure_boot" booted with Secure Boot enforcing (`stele run
# --secure-boot`), and the build time signing adds (median of RUNS builds each).
# Usage: bench/boot.sh [STELE] [RUNS]
set -eu
STELE=${1:-build/stele}
RUNS=${2:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
STELE=$(cd "$(dirname "$STELE")" && pwd)/$(basename "$STELE")
work=${BENCH_WORK:-$top/bench/work}/boot
mkdir -p "$work"
[ -d "$work/keys" ] || "$STELE" keygen "$work/keys" >/dev/null
[ -e "$work/keys/sb-db.key" ] || "$STELE" keygen "$work/keys" --secure-boot >/dev/null
printf '{ "extends": "%s/profiles/minimal.json", "secure_boot": true }\n' "$top" >"$work/sb.json"
printf '{ "extends": "%s/profiles/minimal.json", "secure_boot": false }\n' "$top" >"$work/plain.json"
build_time() { # build_time PROFILE OUT: seconds of one build
	local t0
	t0=$(date +%s.%N)
	rm -rf "$2"
	"$STELE" build "$1" -o "$2" --keys "$work/keys" -q
	echo "$(date +%s.%N) - $t0" | bc -l
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
b_plain=$(for r in $(seq "$RUNS"); do build_time "$work/plain.json" "$work/out"; done | median)
b_sb=$(for r in $(seq "$RUNS"); do build_time "$work/sb.json" "$work/out-sb"; done | median)
img=$work/out/minimal-1.0.0.img
accel=${STELE_ACCEL:-$("$STELE" run --print-accel)}
markers=("Welcome to GRUB" "Linux version" "Run /init as init process" "stele-init: slot a verified" "stele: ready slot=a")
names=(firmware GRUB kernel stele-init "appliance init")

now() { date +%s.%N; }
one_run() { # prints the five phase boundaries (seconds since QEMU start)
	local log=$work/serial.log t0 i=0 t
	: >"$log"
	STELE_ACCEL=$accel "$STELE" run "$img" --console --snapshot ${run_args:-} </dev/null >"$log" 2>&1 &
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

report() { # report LABEL: boots $img RUNS times, prints the phases; total in $total
echo "$1, $accel, $RUNS runs (seconds from QEMU start; phase = time since the previous marker)"
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
total=${med[4]}
}
report "minimal image"
t_plain=$total
img=$work/out-sb/minimal-1.0.0.img run_args=--secure-boot
report "minimal image, Secure Boot enforcing (signed GRUB, signed kernel image)"
t_sb=$total
printf 'boot to ready: %.2f s plain, %.2f s Secure Boot: ratio %.2f\n' "$t_plain" "$t_sb" \
	"$(echo "$t_sb / $t_plain" | bc -l)"
printf 'build (median of %d): %.2f s plain, %.2f s with secure_boot: +%.2f s, ratio %.2f\n' \
	"$RUNS" "$b_plain" "$b_sb" "$(echo "$b_sb - $b_plain" | bc -l)" "$(echo "$b_sb / $b_plain" | bc -l)"
