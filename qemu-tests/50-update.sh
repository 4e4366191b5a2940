#!/bin/bash
# Update A->B with the v2 bundle from a second virtual disk: install, reboot into a trial of
# B, health passes, committed; then B->A with v3 (ping-pong).
# The same machine gets secrets at boot, never in an image: `stele provision` puts one on its
# data partition, `stele run --secret` passes two through SMBIOS type 11 (one binary);
# stele-init puts all three in /run/credstore (tmpfs, 0700, files 0400) and
# /run/stele/credentials; they are there again after the update; no byte of the
# hypervisor's is on the disk, none of either in the images, the rootfs or the bundle.
# (Malformed ones: tests/test-credential.c.)
. "$(dirname "$0")/lib.sh"
U=$WORK/upd
img=$(fresh_from upd/v1/minimal-1.0.0.img update)
secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf 'token-%s' "$secret" >"$WORK/app-token"
printf 'disk-%s' "$secret" >"$WORK/disk-token"
head -c 3000 /dev/urandom >"$WORK/blob"

# answers after a marker the typed line cannot match ("KEY=" then a letter or digit)
ask() { # ask KEY COMMAND
	local before
	before=$(since_boot | grep -ac "^$1=[0-9a-zA-Z]")
	send "echo $1=\$($2)"
	for ((i = 0; i < 300; i++)); do
		[ "$(since_boot | grep -ac "^$1=[0-9a-zA-Z]")" -gt "$before" ] && break
		sleep 0.1
	done
	since_boot | grep -a "^$1=" | tail -n 1 | cut -d= -f2- | tr -d '\r'
}

"$STELE" provision "$img" --secret disk-token="$WORK/disk-token" >/dev/null 2>&1
ok $? "stele provision put a secret on this disk's data partition"
boot "$img" update --disk "$U/v2/minimal-2.0.0.bundle" \
	--secret app-token="$WORK/app-token" --secret blob="$WORK/blob"
wait_for "stele: ready slot=a version=1.0.0"
ok $? "v1 boots on slot a"
grep -aq "stele-init: 2 credentials from the hypervisor in /run/credstore" <(since_boot)
ok $? "stele-init took two secrets from the hypervisor"
grep -aq "stele-init: 1 credential from the data partition in /run/credstore" <(since_boot)
ok $? "and the provisioned one from the data partition"
[ "$(ask tok "cat /run/stele/credentials/app-token")" = "token-$secret" ]
ok $? "a program reads the hypervisor's at /run/stele/credentials/app-token"
[ "$(ask disk "cat /run/stele/credentials/disk-token")" = "disk-$secret" ]
ok $? "and the provisioned one"
[ "$(ask blob "sha256sum /run/credstore/blob | cut -c1-64")" = "$(sha256sum "$WORK/blob" | cut -c1-64)" ]
ok $? "a binary one arrives byte for byte in /run/credstore"
[ "$(ask perm "stat -c %a:%u /run/credstore /run/credstore/app-token | tr '\n' ,")" = "700:0,400:0," ]
ok $? "the store is 0700 root, the file 0400 root"
[ "$(ask fs "stat -f -c %T /run/credstore")" = tmpfs ]
ok $? "on tmpfs"
send "stele-update install /dev/vdb --reboot"
rebase
wait_for "stele-init: slot b verified, version 2.0.0" 240
ok $? "after the install, slot b (v2) boots"
grep -aq "stele: booting slot b (trial)" "$serial"
ok $? "as a trial"
wait_for "stele-update: committed slot b version 2.0.0"
ok $? "health passed: committed"
wait_for "stele: ready slot=b version=2.0.0"
ok $? "v2 is up on slot b"
st=$(status_json)
echo "# status: $st"
echo "$st" | grep -q '"booted": *"b"'
ok $? "status --json: booted b"
echo "$st" | grep -qE '"b": *\{[^}]*"state": *"good"[^}]*"version": *"2.0.0"'
ok $? "status --json: b good, v2"
echo "$st" | grep -qE '"a": *\{[^}]*"state": *"good"[^}]*"version": *"1.0.0"'
ok $? "status --json: a good, v1"
[ "$(ask tok "cat /run/stele/credentials/app-token")" = "token-$secret" ]
ok $? "the hypervisor's secret is there again on v2"
[ "$(ask disk "cat /run/stele/credentials/disk-token")" = "disk-$secret" ]
ok $? "so is the provisioned one (data is kept)"
stop
for f in "$U/v1/minimal-1.0.0.img" "$U/v1/minimal-1.0.0.rootfs.ext4" \
	"$U/v2/minimal-2.0.0.bundle" "$WORK/minimal.img"; do
	! grep -qaF "$secret" "$f"
	ok $? "no byte of the secrets in $(basename "$f")"
done
! grep -qaF "token-$secret" "$img"
ok $? "no byte of the hypervisor's secret on the booted disk"

boot "$img" update --disk "$U/v3/minimal-3.0.0.bundle"
wait_for "stele: ready slot=b version=2.0.0"
ok $? "v2 boots again on slot b"
send "stele-update install /dev/vdb --reboot"
rebase
wait_for "stele-update: committed slot a version 3.0.0" 240
ok $? "v3 installed into slot a and committed"
wait_for "stele: ready slot=a version=3.0.0"
ok $? "v3 is up on slot a (ping-pong)"
send "stele-update log"
wait_for '"event": *"commit".*3.0.0' 30
ok $? "the journal records the commit of v3"
stop
[ "$("$STELE" state "$img" --json)" = '{"order": "a b", "a": {"state": "good", "tries": 3}, "b": {"state": "good", "tries": 3}}' ]
ok $? "boot state: a first, both good with full tries"
finish
