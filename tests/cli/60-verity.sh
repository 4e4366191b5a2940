#!/bin/bash
# stele verity against veritysetup (the independent oracle): byte-identical hash files and
# root hashes for the same salt and UUID, at every tree-level boundary, for each hash and
# with hash offsets; veritysetup verify accepts what stele wrote; pinned known answers.
. "$(dirname "$0")/lib.sh"
command -v veritysetup >/dev/null || skip_all "veritysetup (cryptsetup-bin) missing"

salt=5a1750a1f00dfeedc0ffee0123456789abcdef0123456789abcdef0123456789
uuid=0b7c0e0a-2f4d-4c1e-9a6b-3d2e1f0a9b8c
cd "$work" || exit 1
# deterministic pseudo-random data: sha256 counter blocks
mkdata() { # mkdata FILE BLOCKS
	openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f \
		-iv 00000000000000000000000000000000 -in /dev/zero 2>/dev/null |
		head -c $(($2 * 4096)) >"$1"
}
compare() { # compare BLOCKS HASH HASH-OFFSET SALT
	local n=$1 h=$2 off=$3 s=$4 ours theirs
	mkdata data "$n"
	rm -f ours.hash theirs.hash
	ours=$("$STELE" verity data ours.hash --salt "$s" --uuid "$uuid" --hash "$h" \
		--hash-offset "$off" 2>&1)
	theirs=$(veritysetup format data theirs.hash --salt "$s" --uuid "$uuid" --hash "$h" \
		--hash-offset "$off" | sed -n 's/^Root hash:[[:space:]]*//p')
	is "$n blocks, $h, offset $off: root hash as veritysetup's" "$ours" "$theirs"
	check "$n blocks, $h, offset $off: hash file byte-identical" -- cmp ours.hash theirs.hash
	check "$n blocks, $h, offset $off: veritysetup verify accepts it" -- \
		veritysetup verify data ours.hash "$ours" --hash-offset "$off"
}
for n in 1 2 127 128 129 16383 16384 16385; do
	compare "$n" sha256 0 "$salt"
done
for h in sha512 sha1; do
	for n in 1 63 64 65 129; do
		compare "$n" "$h" 0 "$salt"
	done
done
compare 300 sha256 4096 "$salt"
compare 300 sha256 1536 "$salt"
compare 129 sha256 0 -

# mostly zeros: the zero-block shortcut must not change a byte
head -c $((3000 * 4096)) /dev/zero >zeros
printf 'x' | dd of=zeros bs=1 seek=$((1777 * 4096 + 5)) conv=notrunc 2>/dev/null
rm -f ours.hash theirs.hash
ours=$("$STELE" verity zeros ours.hash --salt "$salt" --uuid "$uuid")
theirs=$(veritysetup format zeros theirs.hash --salt "$salt" --uuid "$uuid" |
	sed -n 's/^Root hash:[[:space:]]*//p')
is "mostly-zero data: root hash as veritysetup's" "$ours" "$theirs"
check "mostly-zero data: hash file byte-identical" -- cmp ours.hash theirs.hash
for t in 1 2 3; do
	rm -f t.hash
	is "$t thread(s) give the same root hash" "$("$STELE" verity data t.hash --salt "$salt" \
		--uuid "$uuid" --threads "$t")" "$("$STELE" verity data t2.hash --salt "$salt" \
		--uuid "$uuid" --threads 1)"
done

# pinned known answers (computed once with veritysetup 2.6.1; they must never change)
mkdata data 129
is "known answer: 129 blocks, sha256" \
	"$("$STELE" verity data kat.hash --salt "$salt" --uuid "$uuid")" \
	"${KAT_129:-$(cat "$TOP/tests/data/verity-kat-129.txt")}"
is "known answer: sha256 of the hash file" "$(sha256sum kat.hash | cut -d' ' -f1)" \
	"$(cat "$TOP/tests/data/verity-kat-129.hash.sha256")"

# a tree corrupted after the fact is caught by veritysetup (our tree is really checked)
rm -f c.hash
root=$("$STELE" verity data c.hash --salt "$salt" --uuid "$uuid")
printf '\xff' | dd of=c.hash bs=1 seek=$((4096 + 77)) conv=notrunc 2>/dev/null
! veritysetup verify data c.hash "$root" >/dev/null 2>&1
ok $? "veritysetup verify rejects a flipped tree byte"

run "$STELE" verity missing.img x.hash
is "missing data file: exit 2" "$rc" 2
run "$STELE" verity data x.hash --salt zz
is "bad salt: exit 2" "$rc" 2
run "$STELE" verity data x.hash --hash-offset 100
is "unaligned hash offset: exit 2" "$rc" 2
run "$STELE" verity data x.hash --hash md5
is "unknown hash: exit 2" "$rc" 2
has "unknown hash is named" "$err" "md5"
# more blocks asked for than DATA has: refused before HASHFILE is made, naming DATA
blocks=$(( $(stat -c %s data) / 4096 ))
run "$STELE" verity data y.hash --data-blocks $((blocks + 1))
is "--data-blocks beyond DATA: exit 2" "$rc" 2
has "--data-blocks beyond DATA: names DATA and both counts" "$err" \
	"data: $blocks blocks of 4096 bytes, --data-blocks asks for $((blocks + 1))"
ok "$([ ! -e y.hash ]; echo $?)" "--data-blocks beyond DATA: no hash file left behind"
# a failure while hashing removes a hash file it created, and leaves an existing one be
head -c 8192 data > short
run timeout 30 "$STELE" verity short z.hash --hash-offset 9223372036854775808
is "hash offset 2^63: exit 2" "$rc" 2
has "hash offset 2^63: too large, not \"not a multiple of 512\"" "$err" \
	"hash offset 9223372036854775808 too large"
run timeout 30 "$STELE" verity short z.hash --hash-offset 9223372036854775296
is "hash offset no file can have: exit 1" "$rc" 1
ok "$([ ! -e z.hash ]; echo $?)" "a failed run leaves no hash file it created"
printf 'keep' > k.hash
run timeout 30 "$STELE" verity short k.hash --hash-offset 9223372036854775296
is "an existing hash file after a failed run: still there" "$(cat k.hash)" "keep"
finish
