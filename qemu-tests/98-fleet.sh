#!/bin/bash
# A fleet on real boots: three VMs of one image with "update", each with its own machine id
# (stele provision --machine-id), poll a repository that stele publishes and lighttpd serves
# on the host's 127.0.0.1, through tests/faultproxy. Each guest reaches it only as
# 10.0.2.100:80 (QEMU user networking, restrict=on, one guestfwd to that port; no other
# address). v2 published into a paused channel: nobody installs. Resumed, with waves of 10%
# now and everyone a minute later: exactly the VM in the first tenth of the fleet takes v2
# (its download cut once and resumed) while the others wait; at the second wave they take
# it; all three commit. v2 revoked: each goes back to v1 by itself.
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/.." && pwd)
proxy=$top/build/asan/faultproxy
command -v lighttpd >/dev/null || { echo "1..0 # SKIP lighttpd missing"; exit 0; }
[ -x "$proxy" ] || { echo "1..0 # SKIP no $proxy (make check builds it)"; exit 0; }
F=$WORK/fleet
rm -rf "$F"
mkdir -p "$F"

# machine ids in the first tenth of the fleet and well beyond it (lib/rollout.h's share)
share_below() { # share_below ID PERMILLE
	local h
	h=$(printf 'stele-rollout:minimal:%s' "$1" | sha256sum | cut -c1-13)
	[ $((16#$h)) -lt $((2 ** 52 / 1000 * $2)) ]
}
ids=()
for i in $(seq 1 2000); do
	id=$(printf '%032x' $((i * 7919)))
	if [ ${#ids[@]} = 0 ]; then share_below "$id" 80 && ids+=("$id")
	elif ! share_below "$id" 300; then ids+=("$id"); fi
	[ ${#ids[@]} = 3 ] && break
done

# the repository, served by lighttpd, with the fault proxy in front
"$STELE" repo init "$F/repo" >/dev/null
for try in 1 2 3 4 5 6 7 8; do
	P=$((20000 + RANDOM % 30000))
	cat >"$F/l.conf" <<EOF
server.document-root = "$F/repo"
server.bind = "127.0.0.1"
server.port = $P
server.stat-cache-engine = "disable"
mimetype.assign = ( "" => "application/octet-stream" )
EOF
	lighttpd -D -f "$F/l.conf" >"$F/l.out" 2>&1 &
	lpid=$!
	sleep 0.5
	curl -sf -o /dev/null "http://127.0.0.1:$P/timestamp.json" && break
	kill $lpid 2>/dev/null
	lpid=
done
echo pass >"$F/mode"
"$proxy" 0 "$P" "$F/mode" "$F/plog" >"$F/pport" &
ppid=$!
sleep 0.3
Q=$(head -1 "$F/pport")

# the images: v1 and v2 of a minimal appliance with a network card and "update"
for v in 1 2; do
	cat >"$F/v$v.json" <<EOF
{ "extends": "$top/qemu-tests/profiles/v1.json", "version": "$v.0.0",
  "kernel": { "modules": ["virtio_pci", "virtio_blk", "virtio_scsi", "sd_mod", "nvme", "dm-verity",
              "vfat", "nls_cp437", "nls_ascii", "softdog", "virtio_net"] },
  "files": [ { "dst": "/etc/stele/init.d/10-network", "mode": "0755",
               "content": "#!/bin/busybox sh\nbusybox ip link set lo up\nbusybox ip link set eth0 up\nbusybox ip addr add 10.0.2.15/24 dev eth0\nbusybox ip route add default via 10.0.2.2\n" } ],
  "update": { "url": "http://10.0.2.100", "channel": "stable", "root": "$F/repo/root.json",
              "interval": "10s", "timeout": 20, "retries": 5 } }
EOF
	"$STELE" build "$F/v$v.json" -o "$F/out" --keys "$WORK/keys" -q >>"$F/build.log" 2>&1
done
[ -f "$F/out/minimal-2.0.0.bundle" ]
ok $? "v1 and v2 built with \"update\""
"$STELE" publish "$F/repo" "$F/out/minimal-1.0.0.bundle" --channel stable >/dev/null
ok $? "v1 published to stable"

declare -a pid log
vm_boot() { # vm_boot N: a private copy of v1 with machine id N
	local n=$1 img=$F/vm$n.img
	cp --sparse=always "$F/out/minimal-1.0.0.img" "$img"
	"$STELE" provision "$img" --machine-id "${ids[$n]}" >/dev/null 2>&1
	log[$n]=$F/vm$n.serial.log
	: >"${log[$n]}"
	"$STELE" run "$img" --console --memory 512 --repo-port "$Q" </dev/null >>"${log[$n]}" 2>&1 &
	pid[$n]=$!
}
vm_wait() { # vm_wait N PATTERN [TIMEOUT] [MIN-COUNT]: the pattern appears (MIN-COUNT times)
	local n=$1 pat=$2 t=${3:-300} min=${4:-1} i
	for ((i = 0; i < t * 5; i++)); do
		[ "$(grep -acE "$pat" "${log[$n]}")" -ge "$min" ] && return 0
		sleep 0.2
	done
	echo "#   vm$n: no '$pat' in $t s; its console's last lines:"
	tail -n 15 "${log[$n]}" | tr -d '\r' | cut -c1-200 | sed 's/^/#   | /'
	return 1
}
vm_stop() {
	for n in 0 1 2; do
		[ -n "${pid[$n]:-}" ] || continue
		pkill -KILL -P "${pid[$n]}" 2>/dev/null
		kill -KILL "${pid[$n]}" 2>/dev/null
		wait "${pid[$n]}" 2>/dev/null
		pid[$n]=""
	done
	kill $lpid $ppid 2>/dev/null
	wait $lpid $ppid 2>/dev/null
}
trap vm_stop EXIT

for n in 0 1 2; do vm_boot $n; done
for n in 0 1 2; do
	vm_wait $n "stele: ready slot=a version=1.0.0" 400
	ok $? "vm$n boots v1"
done
for n in 0 1 2; do
	vm_wait $n "poll: version 1.0.0 is the newest of channel stable" 120
	ok $? "vm$n reaches the repository through 10.0.2.100 and is up to date"
done

# v2 into a paused channel
"$STELE" publish "$F/repo" --channel stable --pause >/dev/null
"$STELE" publish "$F/repo" "$F/out/minimal-2.0.0.bundle" --channel stable --waves 10@0,100@90s >/dev/null
ok $? "v2 published, paused, in waves of 10% now and all in 90 s"
for n in 0 1 2; do
	vm_wait $n "poll: channel stable is paused" 60
	ok $? "vm$n: paused, no install"
done
echo "cut-once 2000000 if .bundle" >"$F/mode"
"$STELE" publish "$F/repo" --channel stable --resume >/dev/null
vm_wait 0 "poll: share 0\.0[0-9], version 2.0.0 is open to 10% of the fleet: installing" 60
ok $? "vm0, in the first tenth of the fleet, installs v2"
for n in 1 2; do
	vm_wait $n "poll: share 0\.[3-9][0-9], version 2.0.0 is open to 10% of the fleet now, to this share from" 60
	ok $? "vm$n waits for the next wave"
done
vm_wait 0 "poll: download cut at" 120
ok $? "vm0's download was cut"
vm_wait 0 "stele-update: committed slot b version 2.0.0" 400
ok $? "vm0 resumed it, rebooted into v2 and committed it"
for n in 1 2; do
	vm_wait $n "stele-update: committed slot b version 2.0.0" 500
	ok $? "vm$n took v2 and committed it"
	grep -aq "version 2.0.0 is open to 100% of the fleet: installing" "${log[$n]}" &&
		! grep -aq "version 2.0.0 is open to 10% of the fleet: installing" "${log[$n]}"
	ok $? "vm$n installed at the second wave, not the first"
done
grep -q "bytes=" "$F/plog"
ok $? "the cut download resumed with a Range request"

# pull-back
"$STELE" publish "$F/repo" --channel stable --revoke 2.0.0 >/dev/null
for n in 0 1 2; do
	vm_wait $n "poll: version 2.0.0 is revoked in channel stable: back to the other slot's version 1.0.0" 120
	ok $? "vm$n sees v2 revoked and goes back by itself"
done
for n in 0 1 2; do
	vm_wait $n "stele: ready slot=a version=1.0.0" 300 2
	ok $? "vm$n runs v1 again"
done
! grep -aE "^[^ ]* [^ ]* " "$F/plog" | awk '{print $1}' | grep -qvE '^/([0-9]+\.(root|snapshot|targets)\.json|timestamp\.json|targets/[0-9a-f]{64}\.minimal-[0-9.]+\.bundle)$'
ok $? "the guests asked the host for repository files only"
vm_stop
finish && rm -rf "$F"
