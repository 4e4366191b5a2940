#!/bin/bash
# Runs every test: the C unit tests (TAP) and the CLI tests (shell, TAP; exit 77 = skipped),
# all against the sanitizer build in $1. Ends with "N passed, N failed".
set -u
A=${1:-build/asan}
top=$(cd "$(dirname "$0")/.." && pwd)
A=$(cd "$A" && pwd)
export STELE="$A/stele" TOOLS="$A" TOP="$top"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
log=$(mktemp -d "${TMPDIR:-/tmp}/stele-tests.XXXXXX")
passed=0 failed=0 skipped=0 broken=()

run_one() {
	local name=$1 out=$log/$(basename "$1").tap rc p f
	shift
	local t0=$SECONDS
	"$@" >"$out" 2>&1
	rc=$?
	secs=$((SECONDS - t0))
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^not ok ' "$out")
	if [ "$rc" -eq 77 ]; then
		skipped=$((skipped + 1))
		printf '%-40s skipped: %s\n' "$name" "$(grep -m1 SKIP "$out" | sed 's/.*SKIP *//')"
		return
	fi
	# a crash or a sanitizer report after the last TAP line is a failure too
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	printf '%-40s %4d passed, %d failed  (%d s)\n' "$name" "$p" "$f" "$secs"
	if [ "$f" -ne 0 ]; then
		broken+=("$name")
		grep -E '^not ok|^#' "$out" | head -40 | sed 's/^/    /'
		[ "$rc" -ne 0 ] && tail -30 "$out" | sed 's/^/    | /'
	fi
}

for t in "$A"/test-*; do
	[ -x "$t" ] && run_one "unit/$(basename "$t")" "$t"
done
for t in "$top"/tests/cli/[0-9]*.sh; do
	run_one "cli/$(basename "$t" .sh)" bash "$t"
done
run_one "fuzz" "$top/tests/fuzz/run.sh" "$top/build/fuzz"
if [ "${STELE_QEMU_TESTS:-1}" != 0 ] && [ -x "$top/qemu-tests/run.sh" ]; then
	run_one "qemu-tests" "$top/qemu-tests/run.sh"
fi

echo
[ "${#broken[@]}" -gt 0 ] && echo "failing: ${broken[*]} (logs in $log)"
[ "$skipped" -gt 0 ] && echo "$skipped test scripts skipped"
[ "${#broken[@]}" -eq 0 ] && rm -rf "$log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
