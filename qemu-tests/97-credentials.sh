#!/bin/bash
# Secrets given at boot, never in an image: `stele run --secret` passes a credential through
# SMBIOS type 11; stele-init puts it in /run/credstore (tmpfs, 0700, the file 0400) and
# /run/stele/credentials; the service reads it; no byte of it is on the disk image, the
# slot, the bundle or a rebuild; it is there again after an update (the hypervisor passes
# it at every boot). `stele provision` puts one on this disk's data partition: it arrives
# the same way and stays across the update. (Malformed ones: tests/test-credential.c.)
. "$(dirname "$0")/lib.sh"
U=$WORK/upd
img=$(fresh_from upd/v1/minimal-1.0.0.img credentials)
secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf 'token-%s' "$secret" >"$WORK/app-token"
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

printf 'disk-%s' "$secret" >"$WORK/disk-token"
"$STELE" provision "$img" --secret disk-token="$WORK/disk-token" >/dev/null 2>&1
ok $? "stele provision put a secret on this disk's data partition"
boot "$img" credentials --secret app-token="$WORK/app-token" --secret blob="$WORK/blob" \
	--disk "$U/v2/minimal-2.0.0.bundle"
wait_for "stele: ready slot=a version=1.0.0"
ok $? "v1 boots with two secrets"
grep -aq "stele-init: 2 credentials from the hypervisor in /run/credstore" <(since_boot)
ok $? "stele-init took both from the hypervisor"
grep -aq "stele-init: 1 credential from the data partition in /run/credstore" <(since_boot)
ok $? "and the provisioned one from the data partition"
[ "$(ask disk "cat /run/stele/credentials/disk-token")" = "disk-$secret" ]
ok $? "a program reads the provisioned secret"
[ "$(ask tok "cat /run/stele/credentials/app-token")" = "token-$secret" ]
ok $? "a program in the image reads it at /run/stele/credentials/app-token"
[ "$(ask blob "sha256sum /run/credstore/blob | cut -c1-64")" = "$(sha256sum "$WORK/blob" | cut -c1-64)" ]
ok $? "a binary one arrives byte for byte in /run/credstore"
[ "$(ask perm "stat -c %a:%u /run/credstore /run/credstore/app-token | tr '\n' ,")" = "700:0,400:0," ]
ok $? "the store is 0700 root, the file 0400 root"
[ "$(ask fs "stat -f -c %T /run/credstore")" = tmpfs ]
ok $? "on tmpfs"
send "stele-update install /dev/vdb --reboot"
rebase
wait_for "stele: ready slot=b version=2.0.0" 300
ok $? "after an update, v2 is up"
[ "$(ask tok "cat /run/stele/credentials/app-token")" = "token-$secret" ]
ok $? "the secret is there again on v2"
[ "$(ask disk "cat /run/stele/credentials/disk-token")" = "disk-$secret" ]
ok $? "so is the provisioned one (data is kept)"
stop
for f in "$U/v1/minimal-1.0.0.img" "$U/v1/minimal-1.0.0.rootfs.ext4" \
	"$U/v2/minimal-2.0.0.bundle" "$WORK/minimal.img"; do
	if grep -qaF "$secret" "$f"; then
		ok 1 "no byte of the secret in $(basename "$f")"
	else
		ok 0 "no byte of the secret in $(basename "$f")"
	fi
done
# the booted disk: the provisioned secret only on data, the hypervisor's nowhere
grep -qaF "token-$secret" "$img"
[ $? -ne 0 ]
ok $? "no byte of the hypervisor's secret on the booted disk"

finish
