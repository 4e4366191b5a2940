#!/bin/bash
# Builds every libFuzzer target listed in tests/fuzz/targets with clang and runs each for
# FUZZ_SECONDS (default 6: make check runs each briefly) on a copy of its committed corpus. TAP; exit 77 when clang or
# libFuzzer is missing.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${FUZZ_SECONDS:-6}
out=${1:-$top/build/fuzz}
command -v clang >/dev/null || { echo "1..0 # SKIP clang missing"; exit 77; }
mkdir -p "$out"
flags=$(pkg-config --cflags --libs libcjson libcrypto libarchive liblzma ext2fs com_err fdisk blkid libguestfs)
n=0 failed=0
while read -r name srcs; do
	case $name in '' | '#'*) continue ;; esac
	n=$((n + 1))
	# shellcheck disable=SC2086
	if ! (cd "$top" && clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
		-D_FILE_OFFSET_BITS=64 -I"$top/build/gen" -o "$out/fuzz-$name" \
		"tests/fuzz/fuzz-$name.c" $srcs $flags -lpthread) >"$out/build-$name.log" 2>&1; then
		if grep -q "fuzzer" "$out/build-$name.log" && ! grep -q "error:" "$out/build-$name.log"; then
			echo "1..0 # SKIP clang cannot link libFuzzer (libclang-rt missing)"
			exit 77
		fi
		echo "not ok $n - building fuzz-$name"
		sed 's/^/# /' "$out/build-$name.log" | tail -30
		failed=$((failed + 1))
		continue
	fi
	work=$(mktemp -d "${TMPDIR:-/tmp}/stele-fuzz-$name.XXXXXX")
	corpus=$top/tests/fuzz/corpus/$name
	[ -d "$corpus" ] || corpus=
	# no private key is committed: the secrets target's key seeds are made here, each after
	# the byte that picks the piece size
	if [ "$name" = secrets ] && command -v openssl >/dev/null; then
		mkdir -p "$work/seeds"
		openssl genpkey -algorithm ed25519 -out "$work/k.pem" 2>/dev/null &&
			openssl pkey -in "$work/k.pem" -outform DER -out "$work/k.der" 2>/dev/null
		for f in k.pem k.der; do
			[ -s "$work/$f" ] && { printf '\005'; cat "$work/$f"; } >"$work/seeds/$f"
		done
		rm -f "$work/k.pem" "$work/k.der"
		corpus="$corpus $work/seeds"
	fi
	# the authenticode target's seed: the PKCS#7 signature sbsign makes over systemd's stub
	# with a key made here (input byte 0: a signature for the small PE the target builds)
	stub=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
	if [ "$name" = authenticode ] && [ -r $stub ] && command -v sbsign objdump >/dev/null; then
		mkdir -p "$work/seeds"
		if openssl req -new -x509 -newkey rsa:2048 -nodes -subj /CN=fuzz -days 3 \
			-keyout "$work/k" -out "$work/c" 2>/dev/null &&
			sbsign --key "$work/k" --cert "$work/c" --output "$work/s.efi" $stub >/dev/null 2>&1; then
			read -r _ _ off len _ < <(objdump -p "$work/s.efi" | grep 'Security Directory')
			{ printf '\000'; tail -c +$((16#$off + 9)) "$work/s.efi" | head -c $((16#$len - 8)); } \
				>"$work/seeds/pkcs7"
		fi
		rm -f "$work/k" "$work/c" "$work/s.efi"
		corpus="$corpus $work/seeds"
	fi
	"$out/fuzz-$name" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$work/" "$work" $corpus >"$work/log" 2>&1
	# (unquoted $corpus: the committed corpus and the made seeds, if any)
	rc=$?
	runs=$(grep -o 'Done [0-9]* runs' "$work/log" | grep -o '[0-9]*')
	if [ "$rc" -eq 0 ]; then
		echo "ok $n - fuzz-$name: ${runs:-?} runs in ${secs} s, no crash, leak or undefined behaviour"
		rm -rf "$work"
	else
		echo "not ok $n - fuzz-$name found a problem (artifacts in $work)"
		tail -40 "$work/log" | sed 's/^/# /'
		failed=$((failed + 1))
	fi
done <"$top/tests/fuzz/targets"
echo "1..$n"
[ "$failed" -eq 0 ]
