#!/bin/bash
# stele provision IMG --secret NAME=FILE: the secrets land on the data partition only
# (data:/stele/credentials, 0700, files 0600, root), e2fsck finds the filesystem clean, a
# second run replaces a secret; bad names, missing or oversized files, a bundle and a data
# filesystem that needs its journal replayed are refused with the image byte-identical.
. "$(dirname "$0")/lib.sh"
command -v debugfs >/dev/null && command -v e2fsck >/dev/null || skip_all "e2fsprogs missing"
apt-cache show --no-all-versions busybox-static linux-image-cloud-amd64 >/dev/null 2>&1 ||
	skip_all "no apt lists for the minimal profile"
cd "$work" || exit 1
"$STELE" keygen keys >/dev/null 2>&1
"$STELE" build "$TOP/profiles/minimal.json" -o out --keys keys -q
ok $? "the minimal image built"
img=out/minimal-1.0.0.img
secret="provisioned-$RANDOM$RANDOM$RANDOM"
printf '%s' "$secret" >token
head -c 500 /dev/urandom >blob
data_off=$(sfdisk --json "$img" | python3 -c "import json,sys
p = json.load(sys.stdin)['partitiontable']['partitions']
print([x['start'] for x in p if x.get('name') == 'data'][0] * 512)")
data() { # the data partition as a file
	dd if="$img" of=data.ext4 bs=1M skip=$((data_off / 1048576)) status=none
}

run "$STELE" provision "$img" --secret app-token=token --secret blob=blob
is "provision: exit 0" "$rc" 0
has "provision: says what it did" "$err" "2 secrets on the data partition of $img"
data
check "provision: e2fsck finds the data filesystem clean" -- e2fsck -fn data.ext4
is "provision: the secret" "$(debugfs -R 'cat /stele/credentials/app-token' data.ext4 2>/dev/null)" "$secret"
check "provision: a binary one byte for byte" -- bash -c \
	"debugfs -R 'dump /stele/credentials/blob blob.out' data.ext4 2>/dev/null && cmp blob blob.out"
has "provision: the file is 0600 root" "$(debugfs -R 'stat /stele/credentials/app-token' data.ext4 2>/dev/null)" "Mode:  0600"
has "provision: the directory is 0700" "$(debugfs -R 'stat /stele/credentials' data.ext4 2>/dev/null)" "Mode:  0700"
check "provision: the secret is only inside the data partition" -- python3 -c "
import sys
b = open('$img', 'rb').read()
i = b.find(b'$secret')
assert i >= $data_off and b.find(b'$secret', i + 1) == -1, i"
id=0123456789abcdef0123456789abcdef
run "$STELE" provision "$img" --machine-id $id
is "provision --machine-id: exit 0" "$rc" 0
data
is "the machine id is on data, as /etc/machine-id holds one" \
	"$(debugfs -R 'cat /stele/machine-id' data.ext4 2>/dev/null)" "$id"
has "read-only" "$(debugfs -R 'stat /stele/machine-id' data.ext4 2>/dev/null)" "Mode:  0444"
is "the secrets stay" "$(debugfs -R 'cat /stele/credentials/app-token' data.ext4 2>/dev/null)" "$secret"
check "e2fsck clean" -- e2fsck -fn data.ext4
run "$STELE" provision "$img" --machine-id fedcba9876543210fedcba9876543210
data
is "a second --machine-id replaces it" "$(debugfs -R 'cat /stele/machine-id' data.ext4 2>/dev/null)" \
	fedcba9876543210fedcba9876543210
cp "$img" before.img
for bad in 0123 0123456789ABCDEF0123456789ABCDEF 00000000000000000000000000000000 \
	0123456789abcdef0123456789abcdeg; do
	run "$STELE" provision "$img" --machine-id $bad
	is "--machine-id $bad is refused" "$rc" 2
done
check "nothing written by them" -- cmp before.img "$img"
printf 'second-%s' "$secret" >token2
run "$STELE" provision "$img" --secret app-token=token2
is "provision again: exit 0" "$rc" 0
data
is "provision again: the secret is replaced" "$(debugfs -R 'cat /stele/credentials/app-token' data.ext4 2>/dev/null)" "second-$secret"
check "provision again: e2fsck clean" -- e2fsck -fn data.ext4
check "provision again: blob is still there" -- bash -c \
	"debugfs -R 'ls /stele/credentials' data.ext4 2>/dev/null | grep -q blob"
check "provision again: the old secret's bytes are gone from the image, free blocks too" -- \
	bash -c "! grep -qaF '$secret' <(sed 's/second-$secret//g' '$img')"

cp --sparse=always "$img" before.img
run "$STELE" provision "$img" --secret ../x=token
is "a name with a slash: exit 2" "$rc" 2
has "a name with a slash: says so" "$err" "not a credential name"
run "$STELE" provision "$img" --secret x=missing
is "a missing file: exit 2" "$rc" 2
head -c 40000 /dev/zero >big
run "$STELE" provision "$img" --secret a=token --secret b=big
is "one file over 32 KiB: exit 2" "$rc" 2
has "over 32 KiB: says so" "$err" "larger than 32768 bytes"
check "refused: the image is unchanged (the good secret before it was not written)" -- cmp "$img" before.img
# a name that is a directory on data: refused before anything is written (the good one first)
data
debugfs -w -R "mkdir /stele/credentials/adir" data.ext4 >/dev/null 2>&1
dd if=data.ext4 of="$img" bs=1M seek=$((data_off / 1048576)) conv=notrunc,sparse status=none
cp --sparse=always "$img" before.img
run "$STELE" provision "$img" --secret a=token --secret adir=token
is "a secret whose name is a directory on data: exit 2" "$rc" 2
has "a directory: says so" "$err" "/stele/credentials/adir exists and is not a regular file"
check "a directory: the image is unchanged" -- cmp "$img" before.img
run "$STELE" provision out/minimal-1.0.0.bundle --secret a=token
is "a bundle: exit 2" "$rc" 2
has "a bundle: names it" "$err" "minimal-1.0.0.bundle"
run "$STELE" provision "$img"
is "no --secret: exit 2" "$rc" 2
# a data filesystem that was not cleanly unmounted
data
debugfs -w -R "feature needs_recovery" data.ext4 >/dev/null 2>&1
dd if=data.ext4 of="$img" bs=1M seek=$((data_off / 1048576)) conv=notrunc,sparse status=none
cp --sparse=always "$img" dirty.img
run "$STELE" provision "$img" --secret a=token
is "a journal to replay: exit 2" "$rc" 2
has "a journal to replay: says why" "$err" "was not cleanly unmounted"
check "a journal to replay: the image is unchanged" -- cmp "$img" dirty.img
run "$STELE" provision --help
has "--help" "$out" "Usage: stele provision IMAGE [--secret NAME=FILE]... [--machine-id ID]"
finish
