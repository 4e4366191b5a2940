#!/bin/bash
# stele diff OLD NEW: two releases built from host trees that differ in every way a file can
# (added, removed, content, mode, owner, symlink target, type) and in version; the text and
# the JSON name each change and nothing else; the same release twice, a bundle against its
# own disk image: no difference, exit 0; a changed local package shows under packages;
# hostile inputs (not an image, truncated, a FIFO, a damaged ext4, a directory loop made
# with debugfs) exit 2 naming the file.
. "$(dirname "$0")/lib.sh"
command -v debugfs >/dev/null || skip_all "debugfs missing"
cd "$work" || exit 1
"$STELE" keygen keys >/dev/null 2>&1
mkdir -p t1/etc t1/usr/bin t1/var/x t2/etc t2/usr/bin t2/opt
echo hello >t1/etc/motd
echo hello >t2/etc/motd
printf 'v1\n' >t1/etc/app.conf
printf 'version two\n' >t2/etc/app.conf
echo tool >t1/usr/bin/tool && chmod 755 t1/usr/bin/tool
echo tool >t2/usr/bin/tool && chmod 700 t2/usr/bin/tool
echo gone >t1/etc/old.txt
echo new >t2/opt/new.txt
ln -s motd t1/etc/link
ln -s app.conf t2/etc/link
echo file >t1/var/x/thing
mkdir -p t2/var/x/thing
echo owned >t1/etc/owned
echo owned >t2/etc/owned
profile() { # profile NAME TREE VERSION [EXTRA-JSON]
	printf '{ "product": "p", "version": "%s", "base": { "dir": "%s" }, "files": [ { "dst": "/etc/owned", "src": "%s/etc/owned", "owner": "%s" } ] %s }\n' \
		"$3" "$2" "$2" "${5:-0:0}" "${4:-}" >"$1.json"
}
profile v1 t1 1.0
profile v2 t2 2.0 ', "rollback_index": 3' 1000:1000
"$STELE" build v1.json -o o1 --keys keys -q && "$STELE" build v2.json -o o2 --keys keys -q &&
	"$STELE" build v1.json -o o1b --keys keys -q
ok $? "three releases built"

run "$STELE" diff o1/p-1.0.verity o1b/p-1.0.verity
is "the same release built twice: exit 0" "$rc" 0
has "... and no difference" "$out" "files: 0 added, 0 removed, 0 changed"
run "$STELE" diff o1/p-1.0.verity o2/p-2.0.verity
is "two releases: exit 1" "$rc" 1
has "text: the version" "$out" 'version: "1.0" -> "2.0"'
has "text: the rollback index" "$out" "rollback_index: 0 -> 3"
has "text: an added file" "$out" "+ /opt/new.txt  reg 4 bytes"
has "text: a removed file" "$out" "- /etc/old.txt  reg 5 bytes"
has "text: new content" "$out" "~ /etc/app.conf  content, 3 bytes -> 12 bytes"
has "text: a mode" "$out" "~ /usr/bin/tool  mode 0755 -> 0700"
has "text: an owner" "$out" "~ /etc/owned  owner 0:0 -> 1000:1000"
has "text: a symlink target" "$out" "~ /etc/link  target motd -> app.conf"
has "text: a type" "$out" "~ /var/x/thing  type reg -> dir; mode 0644 -> 0755"
has "text: os-release carries the version" "$out" "~ /etc/os-release  content"
has "text: the counts" "$out" "files: 2 added, 1 removed, 6 changed; +7 bytes"
has "text: the dir bases are inputs" "$out" "+ dir $work/t2"
run "$STELE" diff o1/p-1.0.verity o2/p-2.0.verity --json
is "--json: exit 1" "$rc" 1
printf '%s\n' "$out" >d.json
check "--json: exactly these changes" -- python3 -c "
import json
d = json.load(open('d.json'))
f = d['files']
assert [x['path'] for x in f['added']] == ['/opt', '/opt/new.txt'], f['added']
assert [x['path'] for x in f['removed']] == ['/etc/old.txt'], f['removed']
ch = {x['path']: x['changes'] for x in f['changed']}
assert ch == {'/etc/app.conf': ['content'], '/etc/link': ['target'], '/etc/owned': ['owner'],
	'/etc/os-release': ['content'], '/usr/bin/tool': ['mode'], '/var/x/thing': ['type', 'mode']}, ch
assert f['size_change'] == 7, f['size_change']
m = {x['field']: (x['old'], x['new']) for x in d['manifest']}
assert m['version'] == ('1.0', '2.0') and m['rollback_index'] == (0, 3), m
assert d['identical'] is False
p = d['packages']
assert [x['name'] for x in p['added']] == ['$work/t2'] and [x['name'] for x in p['removed']] == ['$work/t1'] and p['changed'] == [], p
"

# packages, through local_debs (the busybox package from Debian's archive beside it)
if command -v dpkg-deb >/dev/null && apt-cache show --no-all-versions busybox-static >/dev/null 2>&1; then
	for v in 1.0 1.1; do
		mkdir -p "pkg$v/DEBIAN" "pkg$v/opt/app"
		printf 'Package: app\nVersion: %s\nArchitecture: amd64\nMaintainer: t <t@t>\nDescription: t\n' "$v" \
			>"pkg$v/DEBIAN/control"
		echo "app $v" >"pkg$v/opt/app/VERSION"
		dpkg-deb --root-owner-group --build "pkg$v" "app-$v.deb" >/dev/null
		printf '{ "product": "q", "version": "%s", "base": { "debs": ["busybox-static"], "local_debs": ["app-%s.deb"] } }\n' \
			"$v" "$v" >"q$v.json"
		"$STELE" build "q$v.json" -o "oq$v" --keys keys -q
	done
	run "$STELE" diff oq1.0/q-1.0.verity oq1.1/q-1.1.verity
	is "a new version of a local package: exit 1" "$rc" 1
	has "packages: the package at its new version" "$out" "~ deb app 1.0 -> 1.1"
	has "packages: one changed" "$out" "packages: 0 added, 0 removed, 1 changed"
	has "packages: its file" "$out" "~ /opt/app/VERSION  content"
else
	ok 0 "# SKIP dpkg-deb or apt lists for busybox-static missing"
fi

# a bundle against the disk image of the same build (the minimal profile has a kernel)
if apt-cache show --no-all-versions busybox-static linux-image-cloud-amd64 >/dev/null 2>&1; then
	"$STELE" build "$TOP/profiles/minimal.json" -o om --keys keys -q
	run "$STELE" diff om/minimal-1.0.0.img om/minimal-1.0.0.bundle
	is "a disk image and the bundle of one build: exit 0" "$rc" 0
else
	ok 0 "# SKIP apt lists for the minimal profile missing"
fi

# hostile inputs
run "$STELE" diff v1.json o1/p-1.0.verity
is "not an image: exit 2" "$rc" 2
has "not an image: names it" "$err" "v1.json: not a disk image, bundle or verity image"
head -c 3000 o1/p-1.0.verity >cut.verity
run "$STELE" diff cut.verity o1/p-1.0.verity
is "a truncated verity image: exit 2" "$rc" 2
has "truncated: names it" "$err" "cut.verity"
mkfifo fifo
run timeout 20 "$STELE" diff fifo o1/p-1.0.verity
is "a FIFO: exit 2 (not a hang)" "$rc" 2
has "a FIFO: says so" "$err" "fifo: is a FIFO"
mkdir -p bad && cp o1/p-1.0.verity bad/p.verity && cp o1/p-1.0.rootfs.ext4 bad/p.rootfs.ext4
dd if=/dev/zero of=bad/p.rootfs.ext4 bs=1024 seek=1 count=1 conv=notrunc status=none
run "$STELE" diff bad/p.verity o1/p-1.0.verity
is "a rootfs with its superblock zeroed: exit 2" "$rc" 2
has "zeroed superblock: names the file" "$err" "bad/p.rootfs.ext4: the rootfs at byte 0 is no ext4"
mkdir -p loop && cp o1/p-1.0.verity loop/p.verity && cp o1/p-1.0.rootfs.ext4 loop/p.rootfs.ext4
debugfs -w -R "link /etc /etc/usr-again" loop/p.rootfs.ext4 >/dev/null 2>&1
debugfs -w -R "link / /var/x/root-again" loop/p.rootfs.ext4 >/dev/null 2>&1
run timeout 60 "$STELE" diff loop/p.verity o1/p-1.0.verity
is "a directory linked into itself (debugfs): exit 2, no endless walk" "$rc" 2
has "directory loop: says so" "$err" "a directory linked twice (a loop)"
run "$STELE" diff o1/p-1.0.verity
is "one argument: exit 2" "$rc" 2
run "$STELE" diff --help
is "--help: exit 0" "$rc" 0
has "--help: the exit statuses" "$out" "Exit status: 0 no difference, 1 differences, 2 bad usage"
finish
