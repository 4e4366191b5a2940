#!/bin/bash
# Bad input gets a clear error and a scriptable exit status, and loses nothing: no partial or
# temporary output, and a previous good output in the same directory stays as it was.
. "$(dirname "$0")/lib.sh"
command -v tar >/dev/null || skip_all "tar missing"

cd "$work" || exit 1
"$TOOLS/mkfixture" fixture.tar expect.txt >/dev/null
printf 'hello\n' >f
profile() { # profile NAME JSON
	printf '%s\n' "$2" >"$1"
}

# profile errors: exit 2, the file and the JSON path named, nothing written
profile bad1.json '{"product": "x", "version": "1", "base": {"tar": "fixture.tar"}, "layout": {"slot_size": "12Q"}}'
run "$STELE" build bad1.json -o out-bad1
is "bad size: exit 2" "$rc" 2
has "bad size: file and JSON path named" "$err" 'bad1.json: layout.slot_size: expected a size such as "512M"'
check "bad size: nothing written" -- test ! -e out-bad1
profile bad2.json '{"product": "x", "version": "1", "base": {"tar": "fixture.tar"}, "files": [{"dst": "/a", "content": "x", "mode": "0999"}]}'
run "$STELE" build bad2.json -o out-bad2
is "bad mode: exit 2" "$rc" 2
has "bad mode: path named" "$err" 'bad2.json: files[0].mode: expected an octal mode'
profile bad3.json '{"product": "x", "version": "1", "base": {"tar": "missing.tar"}}'
run "$STELE" build bad3.json -o out-bad3
is "missing input file: exit 2" "$rc" 2
has "missing input file: named" "$err" "bad3.json: base.tar:"
has "missing input file: cause" "$err" "No such file or directory"
profile bad4.json '{"product": "x", "version": "1", "base": {"tar": "fixture.tar"}, "colour": "red"}'
run "$STELE" build bad4.json -o out-bad4
is "unknown key: exit 2" "$rc" 2
has "unknown key: named" "$err" "bad4.json: colour: unknown key"
profile bad5.json '{"product": "x", "version": 1, "base": {"tar": "fixture.tar"}}'
run "$STELE" build bad5.json -o out-bad5
has "wrong type: named" "$err" "bad5.json: version: expected a string"
profile bad6.json '{"product": "x",
  "version": "1" "base": {}}'
run "$STELE" build bad6.json -o out-bad6
is "invalid JSON: exit 2" "$rc" 2
has "invalid JSON: line and column" "$err" "bad6.json:2:"
run "$STELE" build nowhere.json -o out-bad7
is "missing profile: exit 2" "$rc" 2
has "missing profile: named" "$err" "nowhere.json"
# one rule for symlink targets, in the overlay as in a tar: relative ones stay inside
profile bad8.json '{"product": "x", "version": "1", "base": {"tar": "fixture.tar"}, "files": [{"dst": "/a/b", "symlink": "../../../etc"}]}'
run "$STELE" build bad8.json -o out-bad8
is "overlay symlink climbing above the root: exit 2" "$rc" 2
has "overlay symlink climbing above the root: named" "$err" 'bad8.json: files[0].symlink: symlink to "../../../etc" escapes the root'
check "no output directory for any bad profile" -- bash -c '! ls -d out-bad* 2>/dev/null'

# a good build, kept to prove failed builds leave it alone
profile good.json '{"product": "fixture", "version": "1", "base": {"tar": "fixture.tar"}}'
run "$STELE" build good.json -o out -q
is "good build" "$rc" 0
cp out/fixture-1.rootfs.ext4 keep.ext4

# build-time failures: exit 1, no partial output, the old output untouched
fails_cleanly() { # fails_cleanly DESC EXPECTED-MESSAGE PROFILE-JSON
	profile fail.json "$3"
	run "$STELE" build fail.json -o out -q
	is "$1: exit 1" "$rc" 1
	has "$1: says why" "$err" "$2"
	check "$1: no temporary files left" -- bash -c '[ -z "$(ls -A out | grep -v "^fixture-1\.[a-z.0-9]*$")" ]'
	check "$1: previous output untouched" -- cmp out/fixture-1.rootfs.ext4 keep.ext4
}
tar -P --transform 's,^f$,../../evil,' -cf dotdot.tar f 2>/dev/null
fails_cleanly "tar with .." 'entry "../../evil": ".." is not allowed' \
	'{"product": "fixture", "version": "1", "base": {"tar": "dotdot.tar"}}'
tar -P --transform 's,^f$,/etc/evil,' -cf abs.tar f 2>/dev/null
fails_cleanly "tar with an absolute path" "absolute path in archive" \
	'{"product": "fixture", "version": "1", "base": {"tar": "abs.tar"}}'
ln -s ../../../etc escape
tar -cf escape.tar escape
fails_cleanly "tar with an escaping symlink" "escapes the root" \
	'{"product": "fixture", "version": "1", "base": {"tar": "escape.tar"}}'
head -c 3000000 fixture.tar >truncated.tar
fails_cleanly "truncated tar" "truncated.tar" \
	'{"product": "fixture", "version": "1", "base": {"tar": "truncated.tar"}}'
head -c 100000 /dev/urandom >garbage.tar
fails_cleanly "garbage tar" "garbage.tar" \
	'{"product": "fixture", "version": "1", "base": {"tar": "garbage.tar"}}'
fails_cleanly "fixed rootfs size too small" "does not fit in the rootfs of 4 MiB (rootfs.size)" \
	'{"product": "fixture", "version": "1", "base": {"tar": "fixture.tar"}, "rootfs": {"size": "4M"}}'
fails_cleanly "overlay below a symlink loop" "/loop: symlink loop" \
	'{"product": "fixture", "version": "1", "base": {"tar": "fixture.tar"}, "files": [{"dst": "/loop", "symlink": "loop"}, {"dst": "/loop/x", "content": "y"}]}'
fails_cleanly "overlay below a file" "is not a directory" \
	'{"product": "fixture", "version": "1", "base": {"tar": "fixture.tar"}, "files": [{"dst": "/etc/hostname", "content": "x"}, {"dst": "/etc/hostname/x", "content": "y"}]}'

# a 1 TiB sparse file in a 10 KiB tar (every sparse format GNU tar writes): refused at once,
# by its size, whether rootfs.size is fixed or not; timeout turns a regression into a failure
truncate -s 1T hole
tar --sparse --format=gnu -cf sparse-gnu.tar hole
for v in 0.0 0.1 1.0; do
	tar --sparse --format=pax --sparse-version=$v -cf sparse-pax$v.tar hole
done
rm -f hole
for f in sparse-gnu sparse-pax0.0 sparse-pax0.1 sparse-pax1.0; do
	profile fail.json '{"product": "fixture", "version": "1", "base": {"tar": "'$f'.tar"}, "rootfs": {"size": "64M"}}'
	start=$SECONDS
	run timeout 60 "$STELE" build fail.json -o out -q
	is "$f: 1 TiB sparse entry, rootfs.size 64M: exit 1 (not 124, a timeout)" "$rc" 1
	has "$f: the message names the entry and its size" "$err" 'entry "hole": a file of 1099511627776 bytes'
	has "$f: and the rootfs size" "$err" "does not fit in the rootfs of 64 MiB (rootfs.size)"
	check "$f: refused within 10 s" -- test $((SECONDS - start)) -le 10
	profile fail.json '{"product": "fixture", "version": "1", "base": {"tar": "'$f'.tar"}}'
	run timeout 60 "$STELE" build fail.json -o out -q
	is "$f: 1 TiB sparse entry, rootfs sized to the content: exit 1" "$rc" 1
	has "$f: the message names the file" "$err" "the largest: /hole, 1099511627776 bytes"
done
# the same rule for a host file: a 1 TiB sparse files[].src is refused before it is read
truncate -s 1T hole
profile fail.json '{"product": "fixture", "version": "1", "base": {"tar": "fixture.tar"}, "files": [{"src": "hole", "dst": "/var/hole"}]}'
run timeout 60 "$STELE" build fail.json -o out -q
is "1 TiB sparse host file in files[]: exit 1 (not 124, a timeout)" "$rc" 1
has "1 TiB sparse host file in files[]: named with its size" "$err" "the largest: /var/hole, 1099511627776 bytes"
rm -f hole
check "sparse tars: no temporary files left" -- bash -c '[ -z "$(ls -A out | grep -v "^fixture-1\.[a-z.0-9]*$")" ]'
check "sparse tars: previous output untouched" -- cmp out/fixture-1.rootfs.ext4 keep.ext4

# malformed pax extended headers, which libarchive would skip with a warning, and a NUL that
# would cut a name: refused, naming the entry (bytes written by python3, GNU tar refuses them)
if command -v python3 >/dev/null; then
	python3 - <<'PY'
def header(name, size, typ):
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b'0000644\0'; h[108:116] = b'0000000\0'; h[116:124] = b'0000000\0'
    h[124:136] = b'%011o\0' % size
    h[136:148] = b'00000000000\0'
    h[156:157] = typ
    h[257:263] = b'ustar\0'; h[263:265] = b'00'
    h[148:156] = b' ' * 8
    h[148:156] = b'%06o\0 ' % sum(h)
    return bytes(h)
def pad(b):
    return b + b'\0' * (-len(b) % 512)
cases = {
    'len-max': b'18446744073709551615 path=x\n', 'len-big': b'999999999 path=x\n',
    'len-zero': b'0 path=x\n', 'len-neg': b'-5 path=x\n', 'no-newline': b'11 path=abc',
    'size-neg': b'11 size=-5\n', 'nul-path': b'17 path=evil\0abc\n',
}
for name, rec in cases.items():
    data = (header(b'PaxHeaders/victim', len(rec), b'x') + pad(rec) +
            header(b'victim', 5, b'0') + pad(b'hello') + b'\0' * 1024)
    open('pax-' + name + '.tar', 'wb').write(data)
PY
	# GNU tar's archives of a tree with long names, hard links and a sparse file in 12 pieces
	# (old GNU sparse extension blocks, pax sparse maps) import; with a bad pax header after
	# them, it is found: the check followed every header
	mkdir -p cx/"$(printf 'l%.0s' $(seq 150))"/"$(printf 'm%.0s' $(seq 150))"
	echo x >cx/f
	ln cx/f cx/"$(printf 'l%.0s' $(seq 150))"/hard
	ln -s "$(printf '../%.0s' $(seq 1))f" cx/sym
	for i in $(seq 0 11); do printf 'data%d' "$i" | dd of=cx/sparse bs=1 seek=$((i * 65536)) conv=notrunc 2>/dev/null; done
	for fmt in gnu pax0.0 pax1.0; do
		case $fmt in
		gnu) tar --sparse --format=gnu -cf cx-$fmt.tar cx ;;
		*) tar --sparse --format=pax --sparse-version=${fmt#pax} -cf cx-$fmt.tar cx ;;
		esac
		profile cx.json '{"product": "cx", "version": "1", "base": {"tar": "cx-'$fmt'.tar"}}'
		run "$STELE" build cx.json --rootfs-only -o out-cx-$fmt -q
		is "GNU tar $fmt archive of long names, hard links, 12-piece sparse file: imports" "$rc" 0
		python3 -c '
import sys
a = open(sys.argv[1], "rb").read()
while a.endswith(b"\0" * 512):
    a = a[:-512]
open(sys.argv[3], "wb").write(a + open(sys.argv[2], "rb").read())' cx-$fmt.tar pax-no-newline.tar cx-$fmt-bad.tar
		fails_cleanly "a bad pax header after GNU tar's $fmt entries" 'entry "victim": pax header: record 1' \
			'{"product": "fixture", "version": "1", "base": {"tar": "cx-'$fmt'-bad.tar"}}'
	done
	for c in len-max len-big len-zero len-neg no-newline size-neg nul-path; do
		want='entry "victim": pax header: record 1'
		[ $c = nul-path ] && want='NUL byte inside the value of "path"'
		fails_cleanly "pax header $c" "$want" \
			'{"product": "fixture", "version": "1", "base": {"tar": "pax-'$c'.tar"}}'
	done
fi

# a fixed size that fits is honoured exactly
profile sized.json '{"product": "fixture", "version": "1", "base": {"tar": "fixture.tar"}, "rootfs": {"size": "64M"}}'
run "$STELE" build sized.json -o out-sized -q
is "fixed size build" "$rc" 0
is "fixed size is honoured" "$(stat -c %s out-sized/fixture-1.rootfs.ext4 2>/dev/null)" 67108864

# killed mid-build: no temporary files remain
head -c 300000000 /dev/urandom >big.bin
profile big.json '{"product": "fixture", "version": "1", "base": {"tar": "fixture.tar"}, "files": [{"src": "big.bin", "dst": "/big"}]}'
"$STELE" build big.json -o out-kill -q 2>/dev/null &
pid=$!
for _ in $(seq 50); do
	ls -A out-kill 2>/dev/null | grep -q stele-tmp && break
	sleep 0.05
done
kill -TERM "$pid" 2>/dev/null
wait "$pid"
check "SIGTERM while writing leaves no temporary file" -- bash -c '[ -z "$(ls -A out-kill 2>/dev/null | grep stele-tmp)" ]'
finish
