#!/bin/bash
# Benchmark: `stele verity` vs `veritysetup format` on 1 GiB of random data and on 1 GiB that is
# mostly zeros, same salt and UUID; the hash files must be identical. Prints times (best of
# RUNS, warm page cache) and the speed-up veritysetup/stele.
# Usage: bench/verity.sh [STELE] [RUNS] [MIB]
set -eu
STELE=${1:-build/stele}
RUNS=${2:-3}
MIB=${3:-1024}
top=$(cd "$(dirname "$0")/.." && pwd)
work=${BENCH_WORK:-$top/bench/work}
mkdir -p "$work"
salt=5a1750a1f00dfeedc0ffee0123456789abcdef0123456789abcdef0123456789
uuid=0b7c0e0a-2f4d-4c1e-9a6b-3d2e1f0a9b8c

now() { date +%s.%N; }
best() {
	local b="" t0 t1 t
	for _ in $(seq "$RUNS"); do
		t0=$(now)
		"$@" >/dev/null
		t1=$(now)
		t=$(echo "$t1 - $t0" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
	done
	echo "$b"
}
one() { # one NAME FILE
	local ts tv
	ts=$(best "$STELE" verity "$2" "$work/stele.hash" --salt "$salt" --uuid "$uuid")
	tv=$(best veritysetup format "$2" "$work/vs.hash" --salt "$salt" --uuid "$uuid")
	cmp "$work/stele.hash" "$work/vs.hash"
	printf '%-22s stele %6.3f s   veritysetup %6.3f s   speed-up %5.2fx   (identical output)\n' \
		"$1" "$ts" "$tv" "$(echo "$tv / $ts" | bc -l)"
}

if [ ! -f "$work/random-$MIB.img" ]; then
	head -c $((MIB << 20)) /dev/urandom >"$work/random-$MIB.img"
fi
if [ ! -f "$work/zeros-$MIB.img" ]; then
	truncate -s $((MIB << 20)) "$work/zeros-$MIB.img"
	# 1% of the blocks hold data
	head -c $((MIB << 20 / 100)) /dev/urandom | dd of="$work/zeros-$MIB.img" conv=notrunc \
		bs=1M seek=$((MIB / 3)) 2>/dev/null
fi
cat "$work/random-$MIB.img" "$work/zeros-$MIB.img" >/dev/null # warm the page cache
echo "$(nproc) cores, $MIB MiB, best of $RUNS"
one "random data" "$work/random-$MIB.img"
one "mostly zeros" "$work/zeros-$MIB.img"
