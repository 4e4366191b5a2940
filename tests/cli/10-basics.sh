#!/bin/bash
# The command line: help on every command, version, exit statuses scripts rely on.
. "$(dirname "$0")/lib.sh"

run "$STELE" --help
is "stele --help exits 0" "$rc" 0
has "stele --help lists build" "$out" "build"
for cmd in build version help; do
	run "$STELE" "$cmd" --help
	is "stele $cmd --help exits 0" "$rc" 0
	has "stele $cmd --help prints usage" "$out" "Usage: stele $cmd"
done
run "$STELE" version
has "stele version prints the version" "$out" "stele $(cat "$TOP/VERSION")"
run "$STELE"
is "no command: exit 2" "$rc" 2
run "$STELE" frobnicate
is "unknown command: exit 2" "$rc" 2
has "unknown command is named" "$err" "frobnicate"
run "$STELE" build --bogus-flag
is "unknown option: exit 2" "$rc" 2
run "$STELE" build a.json b.json
is "two profiles: exit 2" "$rc" 2
run env SOURCE_DATE_EPOCH=yesterday "$STELE" build "$work/none.json" -o "$work/out"
is "bad SOURCE_DATE_EPOCH: exit 2" "$rc" 2
has "bad SOURCE_DATE_EPOCH is named" "$err" "SOURCE_DATE_EPOCH"
finish
