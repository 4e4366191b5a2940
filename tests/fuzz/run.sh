#!/bin/bash
# Builds the libFuzzer target with clang and runs it for FUZZ_SECONDS (default 60) on a copy
# of the committed corpus. TAP; exit 77 when clang or libFuzzer is missing.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${FUZZ_SECONDS:-60}
out=${1:-$top/build/fuzz}
command -v clang >/dev/null || { echo "1..0 # SKIP clang missing"; exit 77; }
mkdir -p "$out"
flags=$(pkg-config --cflags --libs libcjson libcrypto)
if ! clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -o "$out/fuzz-slot" \
	"$top/tests/fuzz/fuzz-slot.c" "$top/lib/slot.c" "$top/lib/manifest.c" \
	"$top/lib/verity.c" "$top/lib/hash.c" "$top/lib/err.c" $flags -lpthread \
	>"$out/build.log" 2>&1; then
	if grep -q "fuzzer" "$out/build.log"; then
		echo "1..0 # SKIP clang cannot link libFuzzer (libclang-rt missing)"
		exit 77
	fi
	echo "not ok 1 - building the fuzzer"
	sed 's/^/# /' "$out/build.log"
	echo "1..1"
	exit 1
fi
echo "ok 1 - fuzz-slot builds with clang -fsanitize=fuzzer,address,undefined"
work=$(mktemp -d "${TMPDIR:-/tmp}/stele-fuzz.XXXXXX")
"$out/fuzz-slot" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
	-artifact_prefix="$work/" "$work" "$top/tests/fuzz/corpus" >"$work/log" 2>&1
rc=$?
runs=$(grep -o 'Done [0-9]* runs' "$work/log" | grep -o '[0-9]*')
if [ "$rc" -eq 0 ]; then
	echo "ok 2 - fuzz-slot: ${runs:-?} runs in ${secs} s, no crash, leak or undefined behaviour"
	rm -rf "$work"
else
	echo "not ok 2 - fuzz-slot found a problem (artifacts in $work)"
	tail -40 "$work/log" | sed 's/^/# /'
fi
echo "1..2"
[ "$rc" -eq 0 ]
