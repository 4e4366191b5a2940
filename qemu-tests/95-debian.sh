#!/bin/bash
# The Debian appliance (profiles/debian.json: mmdebstrap, systemd, networkd, OpenSSH) on real
# boots: zero failed units and the ready marker; no SSH host key in the image, a different one
# on each disk made from it, kept across an update; an update v1->v2 committed by
# stele-health.service; an update whose unit fails its health check reverts by itself; an
# update that hangs in userspace (multi-user.target never reached) reverts through the
# watchdog stele-init armed. /var: what v2 adds appears, what the device wrote stays.
. "$(dirname "$0")/lib.sh"
U=$WORK/upd
T=${DEBIAN_TIMEOUT:-300}

# an unanchored marker the echoed command line cannot match: "key:" then a digit or SHA256
ask() { # ask KEY COMMAND: prints what the guest answered after "KEY:"
	local before
	before=$(since_boot | grep -ac "$1:[0-9A-Za-z]")
	send "echo $1:\$($2)"
	for ((i = 0; i < 300; i++)); do
		[ "$(since_boot | grep -ac "$1:[0-9A-Za-z]")" -gt "$before" ] && break
		sleep 0.1
	done
	since_boot | grep -ao "$1:[0-9A-Za-z+/=:_-]*" | tail -n 1 | cut -d: -f2-
}
# the console shell answers (after a reboot its prompt can come before or after the ready
# line, and a prompt from before the reboot may still be in the window): the answer to an
# arithmetic the typed line cannot contain
shell_sync() {
	local n=$RANDOM
	for _ in $(seq 60); do
		send "echo sync-\$(($n + 1))"
		wait_for "sync-$((n + 1))" 2 && return 0
	done
	return 1
}
hostkey="ssh-keygen -lf /var/lib/stele/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f2"

debugfs -R 'ls /etc/ssh' "$U/debian-v1/debian-1.0.0.rootfs.ext4" 2>/dev/null | grep -q ssh_host_
[ $? -ne 0 ]
ok $? "the image holds no SSH host key (openssh-server's postinst made some; the build removed them)"

# a free port on the host's loopback for `stele run --ssh`
port=
for _ in $(seq 20); do
	p=$((20000 + RANDOM % 20000))
	ss -ltn 2>/dev/null | grep -q ":$p " || { port=$p; break; }
done
img=$(fresh_from upd/debian-v1/debian-1.0.0.img debian-one)
head -c 32 /dev/urandom >"$WORK/app-token"
token_sum=$(sha256sum <"$WORK/app-token" | cut -c1-16)
boot "$img" debian-one --disk "$U/debian-v2/debian-2.0.0.bundle" --ssh "$port" \
	--secret app-token="$WORK/app-token"
wait_for "stele: ready slot=a version=1.0.0" "$T"
ok $? "the Debian image boots to 'stele: ready slot=a version=1.0.0' (stele-health.service)"
grep -aq "secret-seen: $token_sum in /run/credentials/stele-test-secret.service" <(since_boot)
ok $? "a unit with LoadCredential=app-token read the secret stele run passed (SMBIOS)"
shell_sync
grep -aq "systemd\[1\]" "$serial"
ok $? "under systemd"
is_zero=$(ask failed-units "systemctl --failed --no-legend | wc -l")
[ "$is_zero" = 0 ]
ok $? "no failed units (got '$is_zero')"
[ "$(ask running "systemctl is-system-running")" = running ]
ok $? "systemctl is-system-running: running"
[ "$(ask rootro "findmnt -no OPTIONS / | cut -d, -f1")" = ro ]
ok $? "the root is mounted read-only"
key1=$(ask hostkey "$hostkey")
[ -n "$key1" ]
ok $? "a host key was made on first boot ($key1)"
if command -v ssh-keyscan >/dev/null; then
	for _ in $(seq 30); do
		scanned=$(ssh-keyscan -T 5 -p "$port" -t ed25519 127.0.0.1 2>/dev/null | ssh-keygen -lf - 2>/dev/null | cut -d' ' -f2)
		[ -n "$scanned" ] && break
		sleep 2
	done
	[ -n "$scanned" ] && [ "$scanned" = "$key1" ]
	ok $? "sshd answers on 127.0.0.1:$port (stele run --ssh, networkd DHCP) with that host key"
else
	ok 0 "# SKIP ssh-keyscan missing"
fi
# ssl-cert's postinst made a snakeoil key; the build replaced it by a symlink to data
snake="openssl x509 -noout -fingerprint -sha256 -in /etc/ssl/certs/ssl-cert-snakeoil.pem | cut -d= -f2 | tr -d :"
snake1=$(ask snakeoil "$snake")
[ ${#snake1} = 64 ] && [ "$(ask snakekey "stat -L -c %a:%G /etc/ssl/private/ssl-cert-snakeoil.key")" = 640:ssl-cert ]
ok $? "ssl-cert's snakeoil certificate was made on first boot ($snake1), its key 0640 root:ssl-cert"
mid1=$(ask machineid "cat /etc/machine-id")
[ ${#mid1} = 32 ]
ok $? "a machine id of its own ($mid1)"
[ "$(ask journal "ls -d /var/log/journal/$mid1 | wc -l")" = 1 ]
ok $? "the journal is persistent, on data"

send "echo device > /var/lib/stele-test/shared"
send "stele-update install /dev/vdb --reboot"
rebase
wait_for "stele-init: slot b verified, version 2.0.0" "$T"
ok $? "after the install, slot b (v2) boots"
wait_for "stele-update: committed slot b version 2.0.0" "$T"
ok $? "stele-health.service committed the trial"
wait_for "stele: ready slot=b version=2.0.0" 60
ok $? "v2 is up on slot b"
shell_sync
[ "$(ask hostkey "$hostkey")" = "$key1" ]
ok $? "the host key survived the update"
[ "$(ask machineid "cat /etc/machine-id")" = "$mid1" ]
ok $? "the machine id survived the update"
[ "$(ask snakeoil "$snake")" = "$snake1" ]
ok $? "the snakeoil certificate survived the update"
grep -aq "secret-seen: $token_sum" <(since_boot)
ok $? "the unit read the secret again on v2"
[ "$(ask varnew "tr ' ' _ </var/lib/stele-test/v2-only")" = from_v2 ]
ok $? "a file v2 adds under /var appears on data after the update"
[ "$(ask varshared "cat /var/lib/stele-test/shared")" = device ]
ok $? "a /var file the device changed is kept, though v2 ships another"
stop

img=$(fresh_from upd/debian-v1/debian-1.0.0.img debian-two)
boot "$img" debian-two --disk "$U/debian-health-fails/debian-2.1.0.bundle" \
	--disk "$U/debian-hangs/debian-2.2.0.bundle"
wait_for "stele: ready slot=a version=1.0.0" "$T"
ok $? "a second disk of the same image boots"
shell_sync
key2=$(ask hostkey "$hostkey")
[ -n "$key2" ] && [ "$key2" != "$key1" ]
ok $? "with a host key of its own ($key2)"
[ "$(ask machineid "cat /etc/machine-id")" != "$mid1" ]
ok $? "and a machine id of its own"
snake2=$(ask snakeoil "$snake")
[ ${#snake2} = 64 ] && [ "$snake2" != "$snake1" ]
ok $? "and a snakeoil certificate of its own"

rebase
send "stele-update install /dev/vdb --reboot"
wait_for "stele-update: (writing|installed)" 120
ok $? "the install of 2.1.0 starts"
wait_for "stele-init: slot b verified, version 2.1.0" "$T"
ok $? "an update whose application fails: slot b boots on trial"
wait_for "health check app failed.*reverting to slot a" "$T"
ok $? "its unit check fails and it reverts"
wait_for "stele: ready slot=a version=1.0.0" "$T"
ok $? "slot a (v1) is back"
shell_sync

rebase
send "stele-update install /dev/vdc --reboot"
wait_for "stele-update: (writing|installed)" 120
ok $? "the install of 2.2.0 starts"
wait_for "userspace: hanging" "$T"
ok $? "an update that hangs in userspace boots on trial"
wait_for "stele: ready slot=a version=1.0.0" $((T + 200))
ok $? "the watchdog reset it and slot a (v1) is back"
grep -aq "stele: ready slot=b" <(since_boot)
[ $? -ne 0 ]
ok $? "the hung slot never became ready"
stop
finish
