#!/bin/bash
# stele repo and stele publish: a repository made, releases published into channels with
# waves, paused, resumed and revoked, refreshed, every key rotated; each step read back by
# the TUF reference client for JavaScript (tuf-js, tests/tuf/oracle.mjs), which must trust
# and download the same bundles (bytes compared) and refuse a tampered repository. Bad input
# (a second version with other bytes, a bad bundle among good ones, bad channels and waves,
# no repository, missing keys) fails with the file named and nothing written.
. "$(dirname "$0")/lib.sh"
[ -x "$TOOLS/mkbundle" ] || skip_all "no mkbundle in $TOOLS"
NPM=$TOP/build/npm/node_modules
oracle_ok=1
command -v node >/dev/null && [ -d "$NPM/tuf-js" ] || oracle_ok=0
cd "$work" || exit 1

"$STELE" keygen keys >/dev/null
mkdir -p tree/etc
for v in 1.0.0 2.0.0 3.0.0; do
	echo "release $v" >tree/etc/motd
	printf '{ "product": "app", "version": "%s", "rollback_index": %s, "base": { "dir": "tree" }, "rootfs": { "size": "8M" } }\n' \
		$v "${v%%.*}" >p.json
	"$STELE" build p.json -o out --keys keys -q || echo "# build $v failed"
	o=out/app-$v
	"$TOOLS/mkbundle" app-$v.bundle $o.manifest.json $o.manifest.sig $o.verity $o.rootfs.ext4
done

# oracle NAME [TARGET]: tuf-js over repo/ from the first root, with its own store NAME
oracle() {
	TUF_JS_DIR=$NPM node "$TOP/tests/tuf/oracle.mjs" repo repo/1.root.json "o-$1" ${2:+"$2"} \
		>"o-$1.out" 2>&1
	rc=$?
	out=$(cat "o-$1.out")
}
oracle_has() { # oracle_has DESC NAME TARGET WANT
	if [ $oracle_ok = 0 ]; then
		echo "ok $((tap_n + 1)) - $1 # SKIP no node or tuf-js (make deps installs it)"
		tap_n=$((tap_n + 1))
		return
	fi
	oracle "$2" "$3"
	has "$1" "$out" "$4"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
now=2027-01-15T08:00:00Z

run "$STELE" repo --help
is "repo --help exits 0" "$rc" 0
has "repo --help names the subcommands" "$out" "rotate"
run "$STELE" publish --help
has "publish --help names --waves" "$out" "--waves"
run "$STELE" publish nowhere app-1.0.0.bundle --channel stable
is "publish to no repository fails" "$rc" 1
has "and says what is missing" "$err" "nowhere/root.json: missing"

run "$STELE" repo init repo --now $now
is "repo init" "$rc" 0
check "root.json is 1.root.json" -- cmp repo/root.json repo/1.root.json
is "the keys are outside the repository, 0600" "$(stat -c %a repo.keys/targets-*.key)" 600
is "three root keys by default" "$(ls repo.keys/root-*.key | wc -l)" 3
check "no key in the served directory" -- test -z "$(grep -rl 'PRIVATE KEY' repo)"
run "$STELE" repo init repo
is "init over a repository is refused" "$rc" 1
has "naming it" "$err" "repo/root.json: already exists"
oracle_has "tuf-js trusts the empty repository" init "" "refresh ok"

run "$STELE" publish repo app-1.0.0.bundle --channel stable --now $now
is "publish 1.0.0 to stable" "$rc" 0
h1=$(sha app-1.0.0.bundle)
check "the bundle is stored by its hash" -- cmp app-1.0.0.bundle repo/targets/$h1.app-1.0.0.bundle
oracle_has "tuf-js downloads 1.0.0 with the same bytes" a app-1.0.0.bundle "$h1"
has "and sees its channel" "$out" '"stable":{"paused":false'
has "product, version and rollback index" "$out" '"product":"app","rollback_index":1'

run "$STELE" publish repo app-2.0.0.bundle --channel stable --waves 10@0,50@6h,100@1d \
	--min-from 1.0.0 --now 2027-01-16T08:00:00Z
is "publish 2.0.0 in three waves" "$rc" 0
run "$STELE" repo status repo --json --now 2027-01-16T09:00:00Z
is "status --json" "$rc" 0
is "2.0.0 is open to 10% an hour in" \
	"$(echo "$out" | grep -A6 '"version":	"2.0.0"' | grep percent_now | tr -dc 0-9)" 10
has "its next wave is 50% at 14:00" "$out" '"at":	"2027-01-16T14:00:00Z"'
run "$STELE" repo status repo --now 2027-01-17T09:00:00Z
has "a day later it is open to all" "$out" "2.0.0            rollback 2   100% of the fleet"
oracle_has "tuf-js downloads 2.0.0" b app-2.0.0.bundle "$(sha app-2.0.0.bundle)"
has "with its waves" "$out" '"waves":[{"at":"2027-01-16T08:00:00Z","percent":10}'
has "and min_from" "$out" '"min_from":"1.0.0"'

# bad input: nothing written
snap() { (cd repo && find . -type f | sort | xargs sha256sum) >"$1"; }
snap before
cp app-3.0.0.bundle other-2.0.0.bundle
printf 'x' | dd of=other-2.0.0.bundle bs=1 seek=9000 conv=notrunc 2>/dev/null
"$TOOLS/mkbundle" bad.bundle out/app-3.0.0.manifest.json out/app-3.0.0.manifest.sig \
	out/app-3.0.0.verity out/app-3.0.0.rootfs.ext4
printf 'X' | dd of=bad.bundle bs=1 seek=20 conv=notrunc 2>/dev/null
run "$STELE" publish repo app-3.0.0.bundle bad.bundle --channel stable
is "a bad bundle among good ones fails" "$rc" 1
has "naming it" "$err" "bad.bundle"
echo "another 2.0.0" >tree/etc/motd
printf '{ "product": "app", "version": "2.0.0", "rollback_index": 2, "base": { "dir": "tree" }, "rootfs": { "size": "8M" } }\n' >p2.json
"$STELE" build p2.json -o out2 --keys keys -q
"$TOOLS/mkbundle" again-2.0.0.bundle out2/app-2.0.0.manifest.json out2/app-2.0.0.manifest.sig \
	out2/app-2.0.0.verity out2/app-2.0.0.rootfs.ext4
run "$STELE" publish repo again-2.0.0.bundle --channel beta
is "a version already published with other bytes fails" "$rc" 1
has "saying a release is immutable" "$err" "already published with other bytes"
run "$STELE" publish repo app-2.0.0.bundle --channel stable
is "the same release twice in a channel fails" "$rc" 1
has "saying so" "$err" "already in channel stable"
run "$STELE" publish repo app-3.0.0.bundle --channel Stable
is "a bad channel name is refused" "$rc" 1
run "$STELE" publish repo app-3.0.0.bundle --channel beta --waves 50@0,10@1h
is "waves that shrink are refused" "$rc" 1
has "saying why" "$err" "reach further"
run "$STELE" publish repo app-3.0.0.bundle --channel beta --waves 10@soon
is "a malformed wave is refused" "$rc" 1
run "$STELE" publish repo --channel stable --revoke 9.9.9
is "revoking a version the channel lacks fails" "$rc" 1
has "naming it" "$err" "channel stable has no release 9.9.9"
run "$STELE" publish repo app-3.0.0.bundle --channel stable --pause
is "bundles with --pause are bad usage" "$rc" 2
snap after
check "none of that wrote a byte" -- cmp before after
check "nor left a temporary file" -- test -z "$(find repo -name '*.tmp')"

run "$STELE" publish repo app-2.0.0.bundle --channel beta --now 2027-01-16T08:00:00Z
is "one bundle in two channels" "$rc" 0
is "stored once" "$(ls repo/targets | wc -l)" 2
run "$STELE" publish repo --channel stable --pause
is "pause stable" "$rc" 0
run "$STELE" repo status repo
has "status shows it paused" "$out" "PAUSED"
run "$STELE" publish repo app-3.0.0.bundle --channel stable --now 2027-01-18T08:00:00Z
is "a release published into a paused channel" "$rc" 0
run "$STELE" repo status repo --json
is "is paused too" "$(echo "$out" | grep -c '"paused":	true')" 3
run "$STELE" publish repo --channel stable --resume
run "$STELE" repo status repo --json
is "resume clears every release of the channel" "$(echo "$out" | grep -c '"paused":	true')" 0
run "$STELE" publish repo --channel stable --revoke 2.0.0
is "revoke 2.0.0 in stable" "$rc" 0
run "$STELE" repo status repo --json
is "2.0.0 is revoked in stable only" "$(echo "$out" | grep -c '"revoked":	true')" 1
oracle_has "tuf-js sees the revocation" c app-2.0.0.bundle '"revoked":true'

# refresh and expiry
run "$STELE" repo refresh repo
has "refresh right after publishing has nothing to do" "$out" "nothing to do"
ts=$(grep -o '"version":[0-9]*}}$' repo/timestamp.json)
run "$STELE" repo refresh repo --now "$(($(date +%s) + 5 * 86400))"
has "five days later refresh re-signs" "$out" "re-signed"
check "timestamp.json is under 2 KiB" -- test "$(stat -c %s repo/timestamp.json)" -lt 2048

# rotations: each read back by tuf-js from root 1
for role in online targets root; do
	run "$STELE" repo rotate repo --role $role
	is "rotate the $role key" "$rc" 0
done
is "the root chain is 1..4" "$(ls repo/*.root.json | wc -l)" 4
is "the old keys are retired" "$(ls repo.keys/retired | wc -l)" 5
oracle_has "tuf-js walks the rotations from root 1" d app-3.0.0.bundle "$(sha app-3.0.0.bundle)"
mkdir -p offline && mv repo.keys/root-*.key offline/
run "$STELE" publish repo app-1.0.0.bundle --channel beta
is "publishing needs no root key (they are offline)" "$rc" 0
run "$STELE" repo rotate repo --role targets
is "a rotation needs them" "$rc" 1
has "and says so" "$err" "offline must be brought back"
mv offline/* repo.keys/

# a profile's "update" section: the device's config and the repository root in the image
cat >pu.json <<'JSON'
{ "product": "app", "version": "9.0.0", "base": { "dir": "tree" }, "rootfs": { "size": "40M" },
  "update": { "url": "http://127.0.0.1:8080/repo", "channel": "stable", "root": "repo/1.root.json",
              "interval": "6h", "window": "02:00-04:00", "reboot": "window", "max_size": "1G",
              "max_rate": "10M", "inhibit": "/run/stele/no-updates" } }
JSON
run "$STELE" build pu.json -o outu --keys keys -q
is "a build with \"update\"" "$rc" 0
debugfs -R "dump /etc/stele/update.json upd.json" outu/app-9.0.0.rootfs.ext4 2>/dev/null
debugfs -R "dump /etc/stele/tuf-root.json root.json" outu/app-9.0.0.rootfs.ext4 2>/dev/null
check "the image trusts the repository's root" -- cmp root.json repo/1.root.json
has "update.json: the url" "$(cat upd.json)" '"url":	"http://127.0.0.1:8080/repo"'
has "update.json: the interval in seconds" "$(cat upd.json)" '"interval":	21600'
has "update.json: the window in seconds after midnight" "$(cat upd.json)" '"start":	7200'
has "update.json: max_rate in bytes" "$(cat upd.json)" '"max_rate":	10485760'
check "libcurl (which poll loads) is in the image that updates itself" -- \
	bash -c "debugfs -R 'stat /lib/x86_64-linux-gnu/libcurl.so.4' outu/app-9.0.0.rootfs.ext4 2>/dev/null | grep -q Size"
check "and not in one without \"update\"" -- \
	bash -c "! debugfs -R 'stat /lib/x86_64-linux-gnu/libcurl.so.4' out/app-1.0.0.rootfs.ext4 2>&1 | grep -q Size"
bad_update() { # bad_update DESC SED WANT
	sed "$2" pu.json >bad.json
	run "$STELE" build bad.json -o outb --keys keys -q
	ok $((rc == 0)) "$1 is refused (exit $rc)"
	has "$1: the field is named" "$err" "$3"
	check "$1: nothing written" -- test ! -e outb/app-9.0.0.rootfs.ext4
}
bad_update "an ftp url" 's|http://127|ftp://127|' "update.url"
bad_update "an upper-case channel" 's|"stable"|"Stable"|' "update.channel"
bad_update "a window of 25 hours" 's|02:00-04:00|02:00-25:00|' "update.window"
bad_update "an interval of 1s" 's|"6h"|"1s"|' "update.interval"
bad_update "a reboot policy of later" 's|"window", "max|"later", "max|' "update.reboot"
bad_update "a root that is not a TUF root" 's|repo/1.root.json|pu.json|' "update.root"
bad_update "an unknown key" 's|"inhibit"|"inhibited"|' "update.inhibited"

# tuf-js refuses what stele's client refuses
n=$(grep -o '"version":[0-9]*' repo/timestamp.json | tail -1 | tr -dc 0-9)
tv=$(ls repo/*.targets.json | sed 's/.*\/\([0-9]*\)\.targets.json/\1/' | sort -n | tail -1)
cp repo/$tv.targets.json keep
sed -i 's/"percent":100/"percent":99/' repo/$tv.targets.json
if [ $oracle_ok = 1 ]; then
	oracle e app-1.0.0.bundle
	ok $((rc == 1 ? 0 : 1)) "tuf-js refuses a targets file changed after signing"
	has "naming the cause" "$out" "refused"
else
	oracle_has "tuf-js refuses a changed targets file" e "" x
	oracle_has "naming the cause" e "" x
fi
cp keep repo/$tv.targets.json
finish
