#!/bin/bash
# Keys, signatures and `stele verify`: keygen's files and modes, reproducible signed outputs,
# openssl cms -verify and veritysetup verify accept what stele wrote, and a byte flipped in
# the rootfs, the tree, the superblock, the header, the manifest or the signature makes
# `stele verify` fail and name what failed.
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || skip_all "openssl missing"
command -v veritysetup >/dev/null || skip_all "veritysetup missing"
cd "$work" || exit 1

run "$STELE" keygen keys
is "stele keygen" "$rc" 0
is "ca.key is 0600" "$(stat -c %a keys/ca.key)" 600
is "signing.key is 0600" "$(stat -c %a keys/signing.key)" 600
is "signing.crt is 0644" "$(stat -c %a keys/signing.crt)" 644
check "the signing certificate chains to the CA" -- \
	openssl verify -CAfile keys/ca.crt keys/signing.crt
check "the key is RSA-3072" -- bash -c "openssl pkey -in keys/signing.key -noout -text | grep -q '3072 bit'"
sum=$(cat keys/* | sha256sum)
run "$STELE" keygen keys
is "keygen into a directory with keys: exit 1" "$rc" 1
has "keygen refuses to overwrite" "$err" "never overwrites"
is "the existing keys are untouched" "$(cat keys/* | sha256sum)" "$sum"
run "$STELE" keygen other --type ecdsa-p256
is "keygen --type ecdsa-p256" "$rc" 0
run "$STELE" keygen bad --type dsa
is "keygen --type dsa: exit 2" "$rc" 2

"$TOOLS/mkfixture" fixture.tar expect.txt >/dev/null
printf '%s\n' '{"product": "fixture", "version": "1", "rollback_index": 7, "base": {"tar": "fixture.tar"}, "kernel": {"cmdline": "quiet"}, "secure_boot": false, "files": [{"dst": "/boot/vmlinuz-0.0-test", "content": "not a kernel"}]}' >profile.json
run "$STELE" build profile.json -o a --keys keys -q
is "signed build" "$rc" 0
run "$STELE" build profile.json -o b --keys keys -q
for f in rootfs.ext4 verity manifest.json manifest.sig; do
	check "$f: byte-identical across builds (RSA)" -- cmp "a/fixture-1.$f" "b/fixture-1.$f"
done
check "openssl cms -verify accepts the signature" -- openssl cms -verify -binary -inform DER \
	-in a/fixture-1.manifest.sig -content a/fixture-1.manifest.json -CAfile keys/ca.crt -out /dev/null
! openssl cms -verify -binary -inform DER -in a/fixture-1.manifest.sig \
	-content a/fixture-1.manifest.json -CAfile other/ca.crt -out /dev/null 2>/dev/null
ok $? "openssl cms -verify rejects it against another CA"
mf() { sed -n "s/.*\"$1\":[[:space:]]*\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" a/fixture-1.manifest.json | head -1; }
root=$(mf root_hash)
offset=$(mf hash_offset)
is "manifest: hash_offset" "$offset" 4096
is "manifest: rollback_index" "$(mf rollback_index)" 7
is "manifest: product" "$(mf product)" fixture
is "manifest: cmdline" "$(mf cmdline)" quiet
is "manifest: rootfs sha256" "$(mf sha256 | head -1)" "$(sha256sum a/fixture-1.rootfs.ext4 | cut -d' ' -f1)"
has "manifest: the tar input with its sha256" "$(cat a/fixture-1.manifest.json)" "$(sha256sum fixture.tar | cut -d' ' -f1)"
check "veritysetup verify ROOTFS VERITY ROOT_HASH --hash-offset passes" -- \
	veritysetup verify a/fixture-1.rootfs.ext4 a/fixture-1.verity "$root" --hash-offset="$offset"
run "$STELE" verify a/fixture-1.verity a/fixture-1.rootfs.ext4 --trust keys/ca.crt
is "stele verify: exit 0" "$rc" 0
has "stele verify names the signer" "$out" "signed by"
run "$STELE" verify a/fixture-1.verity --trust keys/ca.crt
is "stele verify finds the rootfs beside the .verity" "$rc" 0
run "$STELE" verify a/fixture-1.verity --trust keys/ca.crt --json
has "stele verify --json" "$out" '"ok":	true'
run "$STELE" verify a/fixture-1.verity --trust other/ca.crt
is "untrusted signer: exit 1" "$rc" 1
has "untrusted signer: the signature check fails" "$out" "FAIL signature"

# where each region of the verity image lies, from its header (little-endian u64s)
u64() { od -An -t u8 -j "$2" -N 8 "$1" | tr -d ' '; }
v=a/fixture-1.verity
manifest_off=$(u64 $v 32)
sig_off=$(u64 $v 48)
flip() { # flip FILE OFFSET: invert one byte
	local b
	b=$(od -An -t u1 -j "$2" -N 1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 0xff)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
tampered() { # tampered DESC FILE OFFSET EXPECTED-FAILURE
	rm -rf t && cp -r a t
	flip "t/fixture-1.$2" "$3"
	run "$STELE" verify t/fixture-1.verity t/fixture-1.rootfs.ext4 --trust keys/ca.crt
	is "$1: exit 1" "$rc" 1
	has "$1: says what failed" "$out" "$4"
}
tampered "rootfs byte in block 0" rootfs.ext4 1100 "FAIL data block 0"
tampered "rootfs byte in block 2000" rootfs.ext4 $((2000 * 4096 + 7)) "FAIL data block 2000"
blocks=$(($(stat -c %s a/fixture-1.rootfs.ext4) / 4096))
tampered "rootfs byte in the last block" rootfs.ext4 $((blocks * 4096 - 1)) \
	"FAIL data block $((blocks - 1))"
# the tree follows the superblock's block: top level first (one block here), then level 0
tampered "hash tree byte (top level)" verity $((8192 + 1)) "FAIL root hash"
tampered "hash tree byte (level 0)" verity $((12288 + 100)) "FAIL hash tree block 3"
tampered "verity superblock byte" verity $((4096 + 80)) "FAIL verity superblock"
tampered "header byte" verity 20 "FAIL header"
tampered "manifest byte" verity $((manifest_off + 40)) "FAIL signature"
tampered "signature byte" verity $((sig_off + 300)) "FAIL signature"
tampered "last signature byte" verity $((sig_off + $(u64 $v 56) - 1)) "FAIL signature"
rm -rf t && cp -r a t
truncate -s 8192 t/fixture-1.verity
run "$STELE" verify t/fixture-1.verity t/fixture-1.rootfs.ext4 --trust keys/ca.crt
is "truncated verity image: exit 1" "$rc" 1
has "truncated verity image: the header says so" "$out" "runs past the end"
run "$STELE" verify fixture.tar --trust keys/ca.crt
is "not a slot: exit 2" "$rc" 2

# ECDSA: verifiable, but randomized signatures (documented)
run "$STELE" build profile.json -o e1 --keys other -q
is "ECDSA-signed build" "$rc" 0
run "$STELE" verify e1/fixture-1.verity --trust other/ca.crt
is "ECDSA-signed slot verifies" "$rc" 0
run "$STELE" build profile.json -o e2 --keys other -q
check "ECDSA builds: the rootfs is still reproducible" -- cmp e1/fixture-1.rootfs.ext4 e2/fixture-1.rootfs.ext4
check "ECDSA builds: the manifest is still reproducible" -- cmp e1/fixture-1.manifest.json e2/fixture-1.manifest.json
! cmp -s e1/fixture-1.manifest.sig e2/fixture-1.manifest.sig
ok $? "ECDSA builds: the signature is randomized (documented)"

# without keys: development keys, created once, with a loud warning
run env STELE_DEV_KEYS="$work/dev" "$STELE" build profile.json -o d -q
is "build without keys" "$rc" 0
has "warns about development keys" "$err" "WARNING"
check "development keys were created" -- test -f dev/signing.key
run "$STELE" verify d/fixture-1.verity --trust dev/ca.crt
is "a dev-signed slot verifies against the dev CA" "$rc" 0
finish
