#!/bin/bash
# stele-update poll on the host, in test mode, against a repository that stele publishes and
# lighttpd serves on 127.0.0.1, through tests/faultproxy (which cuts, stalls, corrupts and
# refuses as told): the waves let exactly the device in the first share install, the other at
# the next wave; the install streams over HTTP into slot b byte for byte; a cut download
# resumes with a Range request and lands intact; corrupted, substituted, endless, stalled,
# refused (404, 500) and oversized downloads install nothing; rollback and tampered metadata
# are refused; pause stops installs; revoking the running release sends the device back to
# its good other slot; the bandwidth cap holds; journal, poll.json, status --json and the
# metrics say what happened.
. "$(dirname "$0")/lib.sh"
UPD=$TOOLS/stele-update
[ -x "$UPD" ] || skip_all "no stele-update in $TOOLS"
[ -x "$TOOLS/mkbundle" ] && [ -x "$TOOLS/faultproxy" ] || skip_all "no mkbundle or faultproxy"
command -v lighttpd >/dev/null || skip_all "lighttpd missing (make deps installs it)"
command -v grub-editenv curl >/dev/null || skip_all "grub-editenv or curl missing"
cd "$work" || exit 1

"$STELE" keygen keys >/dev/null
mkdir -p tree/etc
for v in 1.0.0 2.0.0; do
	head -c 2M /dev/urandom >tree/etc/blob
	echo "release $v" >tree/etc/motd
	printf '{ "product": "app", "version": "%s", "rollback_index": %s, "base": { "dir": "tree" }, "rootfs": { "size": "8M" } }\n' \
		$v "${v%%.*}" >p.json
	"$STELE" build p.json -o out --keys keys -q || echo "# build $v failed"
	o=out/app-$v
	"$TOOLS/mkbundle" app-$v.bundle $o.manifest.json $o.manifest.sig $o.verity $o.rootfs.ext4
done
roothash() { grep -o '"root_hash"[^,]*' "out/app-$1.manifest.json" | head -1 | grep -o '[0-9a-f]\{64\}'; }
rh1=$(roothash 1.0.0) rh2=$(roothash 2.0.0)
t0=2027-01-15T08:00:00Z
T0=$(date -d $t0 +%s)
"$STELE" repo init repo --now $t0 >/dev/null
"$STELE" publish repo app-1.0.0.bundle --channel stable --now $t0 >/dev/null
"$STELE" publish repo app-2.0.0.bundle --channel stable --waves 10@0,100@1d --now $t0 >/dev/null

# lighttpd on a free port of 127.0.0.1, the fault proxy in front of it
for try in 1 2 3 4 5 6 7 8; do
	P=$((20000 + RANDOM % 30000))
	cat >l.conf <<EOF
server.document-root = "$work/repo"
server.bind = "127.0.0.1"
server.port = $P
server.pid-file = "$work/l.pid"
server.errorlog = "$work/l.err"
mimetype.assign = ( "" => "application/octet-stream" )
server.stat-cache-engine = "disable"
EOF
	lighttpd -D -f l.conf >l.out 2>&1 &
	lpid=$!
	sleep 0.5
	curl -sf -o /dev/null "http://127.0.0.1:$P/timestamp.json" && break
	kill $lpid 2>/dev/null
	lpid=
done
[ -n "$lpid" ] || skip_all "lighttpd did not start on 127.0.0.1 ($(cat l.err l.out 2>/dev/null | tail -1))"
echo pass >mode
"$TOOLS/faultproxy" 0 $P mode plog >pport &
ppid=$!
trap 'kill $lpid $ppid 2>/dev/null' EXIT
sleep 0.3
Q=$(head -1 pport)
check "lighttpd and the fault proxy serve the repository on 127.0.0.1" -- \
	curl -sf -o /dev/null "http://127.0.0.1:$Q/timestamp.json"

cfg() { # cfg [EXTRA-JSON]: update.json
	echo "{\"url\": \"http://127.0.0.1:$Q\", \"channel\": \"stable\", \"retries\": 3, \"timeout\": 3${1:+, $1}}" >update.json
}
cfg
# newdev DIR [SLOT VERSION]: a device running VERSION (default 1.0.0) in slot a, b empty and bad
newdev() {
	local d=$1 p
	rm -rf "$d"
	mkdir -p "$d/data/stele"
	for p in root_a root_b; do head -c 12M /dev/zero | tr '\0' '\245' >"$d/$p"; done
	for p in verity_a verity_b; do head -c 1M /dev/zero | tr '\0' '\245' >"$d/$p"; done
	grub-editenv "$d/grubenv" create
	grub-editenv "$d/grubenv" set STELE_ORDER="a b" STELE_A_STATE=good STELE_A_TRIES=3 \
		STELE_B_STATE=bad STELE_B_TRIES=0
	echo "{\"slot\": \"a\", \"version\": \"1.0.0\", \"product\": \"app\", \"root_hash\": \"$rh1\", \"rollback_index\": 1, \"trial\": false}" >"$d/boot.json"
	echo '{"window": 60, "tries": 3, "checks": []}' >"$d/health.json"
}
upd() { # upd DIR ARGS...
	local d=$1
	shift
	"$UPD" "$@" --state "$d/grubenv" --trust keys/ca.crt --booted-json "$d/boot.json" \
		--part root_a="$d/root_a" --part verity_a="$d/verity_a" \
		--part root_b="$d/root_b" --part verity_b="$d/verity_b" \
		--data "$d/data" --health-json "$d/health.json" --update-json update.json \
		--tuf-root repo/1.root.json
}
poll() { # poll DIR MACHINE-ID SECONDS-AFTER-T0 [ARGS...]
	local d=$1 id=$2 at=$3
	shift 3
	run upd "$d" poll --once --machine-id "$id" --now $((T0 + at)) "$@"
}
state_b() { grub-editenv "$1/grubenv" list | sed -n 's/^STELE_B_STATE=//p'; }
landed() { # landed DESC DIR: slot b holds 2.0.0 byte for byte, on trial
	check "$1: slot b's rootfs is 2.0.0's, byte for byte" -- \
		cmp -n "$(stat -c %s out/app-2.0.0.rootfs.ext4)" out/app-2.0.0.rootfs.ext4 "$2/root_b"
	is "$1: slot b is on trial" "$(state_b "$2")" trial
}
untouched() { # untouched DESC DIR [written]: slot b still bad (and, unless "written", never written)
	is "$1: slot b stays bad" "$(state_b "$2")" bad
	[ "${3:-}" = written ] && return
	check "$1: slot b's rootfs was not written" -- \
		bash -c "head -c 4096 '$2/root_b' | tr -d '\245' | cmp -s - /dev/null"
}
# machine ids in the first tenth of the fleet and beyond it (lib/rollout.h's share)
share_below() { # share_below ID PERMILLE
	local h
	h=$(printf 'stele-rollout:app:%s' "$1" | sha256sum | cut -c1-13)
	[ $((16#$h)) -lt $((2 ** 52 / 1000 * $2)) ]
}
early="" late=""
for i in $(seq 1 500); do
	[ -z "$early" ] && share_below m$i 80 && early=m$i
	[ -z "$late" ] && ! share_below m$i 200 && late=m$i
	[ -n "$early" ] && [ -n "$late" ] && break
done

run "$UPD" poll --help
has "poll --help describes it" "$out" "share of the fleet"

# the first wave
newdev late
poll late $late 60
is "a device outside the first wave: exit 0" "$rc" 0
has "it says it waits, and until when" "$out" "to this share from 2027-01-16T08:00:00Z: waiting"
untouched "waiting" late
newdev early
: >plog
poll early $early 60 --metrics early/metrics.prom
is "the device in the first wave installs 2.0.0: exit 0" "$rc" 0
[ "$rc" = 0 ] || echo "$err" | sed 's/^/# /'
has "it says why" "$out" "version 2.0.0 is open to 10% of the fleet: installing"
landed "over HTTP" early
is "one request for the bundle" "$(grep -c '\.bundle' plog)" 1
check "the journal has the decision and the install" -- \
	bash -c "grep -q '\"event\":\"poll\"' early/data/stele/journal && grep -q '\"event\":\"install\"' early/data/stele/journal"
has "poll.json: the outcome" "$(cat early/data/stele/poll.json)" '"outcome":	"installed"'
has "metrics: the running version and root hash" "$(cat early/metrics.prom)" \
	"stele_info{product=\"app\",version=\"1.0.0\",root_hash=\"$rh1\",slot=\"a\",channel=\"stable\"} 1"
has "metrics: the last result" "$(cat early/metrics.prom)" 'result="installed"} 1'
run upd early status --json
has "status --json: the last check" "$out" '"poll":{"channel":"stable"'
poll early $early 120
has "polled again: the installed release waits for its reboot" "$out" "waiting for its reboot"
"$STELE" repo refresh repo --force --now 2027-01-15T20:00:00Z >/dev/null
: >plog
poll late $late 86400
is "a day later the second wave reaches the other device" "$rc" 0
landed "second wave" late
poll late $late 86460
is "a poll with nothing new: exit 0" "$rc" 0
is "a poll with nothing new makes 2 requests (N+1.root.json, timestamp.json)" \
	"$(tail -n +1 plog | tail -2 | grep -c -E '\.root\.json|timestamp\.json')" 2

# faults on the wire
newdev cut
echo "cut-once 3000000 if .bundle" >mode
: >plog
poll cut $early 60
is "a download cut after 3 MB: exit 0" "$rc" 0
has "it resumes and says so" "$out" "resuming from there"
has "with a Range request" "$(cat plog)" "bytes=2999"
landed "resumed" cut
check "the journal has the cut" -- grep -q '"event":"poll-retry"' cut/data/stele/journal

newdev whole
echo "cut-norange 3000000 if .bundle" >mode
: >plog
poll whole $early 60
is "a cut download from a server that ignores Range: exit 0" "$rc" 0
has "the resumed request got the whole file (200) and skipped what it had" "$(tail -1 plog)" \
	"bytes=2999"
landed "resumed from a 200" whole
echo pass >mode

fault() { # fault DESC MODE WANT-IN-ERR [written]: refused, slot b bad (and unwritten)
	local d=f$RANDOM
	newdev $d
	echo "$2" >mode
	poll $d $early 60
	is "$1: exit 1" "$rc" 1
	has "$1: says why" "$err" "$3"
	untouched "$1" $d "${4:-}"
	has "$1: poll.json says it failed" "$(cat $d/data/stele/poll.json)" "$3"
	rm -rf $d
	echo pass >mode
}
fault "a corrupted byte in the bundle" "corrupt 5000000 if .bundle" "does not match the signed hash tree" written
fault "the bundle cut at every attempt" "cut 1000000 if .bundle" "after 4 attempts" written
fault "the bundle refused (404)" "status 404 if .bundle" "HTTP 404"
fault "timestamp.json refused (500)" "status 500 if timestamp" "timestamp.json: HTTP 500"
fault "an endless timestamp.json" "endless if timestamp" "more than 16384 bytes"
fault "a stalled timestamp.json" "stall if timestamp" "timestamp.json"
fault "endless bytes instead of the bundle" "endless if .bundle" "not a stele bundle"
h2=$(sha256sum app-2.0.0.bundle | cut -d' ' -f1)
served=repo/targets/$h2.app-2.0.0.bundle
cp "$served" keep.bundle
cp app-1.0.0.bundle "$served" # a validly signed bundle, not the one the metadata names
fault "another signed bundle served in its place" pass "its sha256 is not the one the signed targets" written
{ cat keep.bundle; head -c 1M /dev/zero; } >"$served"
fault "the bundle with more bytes than the signed length" pass "more than the $(stat -c %s keep.bundle) bytes" written
cp keep.bundle "$served"
cfg '"max_size": 4194304'
fault "a bundle over max_size" pass "over this device's max_size"
cfg

# metadata attacks over HTTP
newdev meta
poll meta $late 60
ts=$(cat repo/timestamp.json)
"$STELE" repo refresh repo --force --now 2027-01-15T09:00:00Z >/dev/null
poll meta $late 3700
is "the device takes the refreshed timestamp" "$rc" 0
echo "$ts" >repo/timestamp.json
poll meta $late 3800
is "yesterday's timestamp replayed: exit 1" "$rc" 1
has "refused as a rollback" "$err" "rollback"
"$STELE" repo refresh repo --force --now 2027-01-15T10:00:00Z >/dev/null
tv=$(ls repo/*.targets.json | sed 's/.*\/\([0-9]*\)\.targets.json/\1/' | sort -n | tail -1)
cp repo/$tv.targets.json keep.json
sed -i 's/"percent":10}/"percent":100}/' repo/$tv.targets.json
newdev tamper
poll tamper $late 3900
is "targets changed to open the wave to all: exit 1" "$rc" 1
has "refused: the hash snapshot gives" "$err" "$tv.targets.json"
untouched "tampered targets" tamper
cp keep.json repo/$tv.targets.json
poll meta $late 200000 
is "long after the timestamp expired: exit 1" "$rc" 1
has "refused as a freeze" "$err" "expired"

# pause, resume, revoke
"$STELE" publish repo --channel stable --pause --now 2027-01-15T10:00:00Z >/dev/null
newdev paused
poll paused $early 3900
has "a paused channel: no install" "$out" "channel stable is paused"
untouched "paused" paused
"$STELE" publish repo --channel stable --resume --now 2027-01-15T10:00:00Z >/dev/null
# a device that committed 2.0.0 in slot b, with 1.0.0 good in slot a
newdev back
poll back $early 4000
grub-editenv back/grubenv set STELE_ORDER="b a" STELE_B_STATE=good STELE_B_TRIES=3
echo "{\"slot\": \"b\", \"version\": \"2.0.0\", \"product\": \"app\", \"root_hash\": \"$rh2\", \"rollback_index\": 2, \"trial\": false}" >back/boot.json
head -c 12M /dev/zero | tr '\0' '\245' >back/root_a
cp out/app-1.0.0.rootfs.ext4 back/root_a.img && dd if=back/root_a.img of=back/root_a conv=notrunc 2>/dev/null
cp out/app-1.0.0.verity back/verity_a
poll back $early 4100
has "running 2.0.0, nothing newer" "$out" "is the newest of channel stable"
"$STELE" publish repo --channel stable --revoke 2.0.0 --now 2027-01-15T11:00:00Z >/dev/null
poll back $early 7300
is "2.0.0 revoked: exit 0" "$rc" 0
has "the device goes back by itself" "$out" "version 2.0.0 is revoked in channel stable: back to the other slot's version 1.0.0"
is "slot b (2.0.0) is marked bad" "$(state_b back)" bad
check "slot a boots next" -- bash -c "grub-editenv back/grubenv list | grep -qx 'STELE_ORDER=a b'"
check "the journal has the pull-back" -- grep -q '"event":"pull-back"' back/data/stele/journal
newdev revoked
poll revoked $early 7400
has "a device on 1.0.0 does not take the revoked 2.0.0" "$out" "is the newest of channel stable"

# bandwidth cap: 2 MiB/s over an 8 MiB bundle
"$STELE" publish repo app-2.0.0.bundle --channel capped --now 2027-01-15T11:00:00Z >/dev/null
echo "{\"url\": \"http://127.0.0.1:$Q\", \"channel\": \"capped\", \"max_rate\": 2097152}" >update.json
newdev cap
start=$(date +%s.%N)
poll cap $early 14400
took=$(echo "$(date +%s.%N) - $start" | bc)
is "a capped install: exit 0" "$rc" 0
landed "capped" cap
check "the cap holds: 8 MiB at 2 MiB/s took at least 3 s (took ${took} s)" -- \
	test "$(echo "$took >= 3" | bc)" = 1
finish
