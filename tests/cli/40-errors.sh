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
# bad values found when the profile is loaded, not after the rootfs was built (issue 9):
# exit 2, the JSON path named, nothing written (no output directory, no scratch directory)
mkdir tmp
late_value() { # late_value DESC EXPECTED-MESSAGE JSON-FRAGMENT
	profile late.json "{\"product\": \"fixture\", \"version\": \"1\", \"base\": {\"tar\": \"fixture.tar\"}, $3}"
	TMPDIR=$work/tmp run "$STELE" build late.json -o out-late/sub -q
	is "$1: exit 2" "$rc" 2
	has "$1: says why, naming the JSON path" "$err" "$2"
	check "$1: nothing written" -- bash -c '[ ! -e out-late ] && [ -z "$(ls -A tmp)" ]'
}
late_value "cmdline with a newline" "late.json: kernel.cmdline: character 0x0a" \
	'"kernel": {"cmdline": "console=ttyS0\nquiet"}'
late_value "esp_size 1" "late.json: layout.esp_size: 1 bytes is below the minimum of 34 MiB" \
	'"layout": {"esp_size": 1}'
late_value "data_size 0" "late.json: layout.data_size: 0 bytes is below the minimum of 16 MiB" \
	'"layout": {"data_size": 0}'
late_value "slot_size not MiB-aligned" "late.json: layout.slot_size: 256.5 MiB is not a multiple of 1 MiB" \
	'"layout": {"slot_size": "262656K"}'
late_value "rootfs.size 8T" "late.json: rootfs.size: 8 TiB is above the maximum of 256 GiB" \
	'"rootfs": {"size": "8T"}'
late_value "rootfs.size 4096" "late.json: rootfs.size: 4 KiB is below the minimum of 1 MiB" \
	'"rootfs": {"size": "4096"}'
late_value "rootfs larger than its slot" "late.json: layout.slot_size: 64 MiB cannot hold rootfs.size (100 MiB)" \
	'"rootfs": {"size": "100M"}, "layout": {"slot_size": "64M"}'
late_value "health exec not absolute" "late.json: health.checks[0].exec: expected an absolute path" \
	'"health": {"checks": [{"name": "x", "exec": "check-x"}]}'
late_value "kernel module name" "late.json: kernel.modules[0]: expected a module name" \
	'"kernel": {"modules": ["../x"]}'
printf '{"product": "x", "version": "1", "base": {"tar": "fixture.tar"}, "files": %s%s}\n' \
	"$(printf '[%.0s' $(seq 40))" "$(printf ']%.0s' $(seq 40))" >deep.json
run "$STELE" build deep.json -o out-bad8
is "nesting too deep: exit 2" "$rc" 2
has "nesting too deep: said so, with where" "$err" "deep.json:1:"
has "nesting too deep: not \"invalid JSON\"" "$err" "nesting deeper than 32 levels"
# one rule for symlink targets, in the overlay as in a tar: relative ones stay inside
profile bad8s.json '{"product": "x", "version": "1", "base": {"tar": "fixture.tar"}, "files": [{"dst": "/a/b", "symlink": "../../../etc"}]}'
run "$STELE" build bad8s.json -o out-bad8s
is "overlay symlink climbing above the root: exit 2" "$rc" 2
has "overlay symlink climbing above the root: named" "$err" 'bad8s.json: files[0].symlink: symlink to "../../../etc" escapes the root'
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
fails_cleanly "fixed rootfs size too small: the size with its unit" "does not fit in the rootfs of 1.5 MiB (rootfs.size)" \
	'{"product": "fixture", "version": "1", "base": {"tar": "fixture.tar"}, "rootfs": {"size": "1536K"}}'

# a failed build removes the output directories it created, keeps one that existed as it was,
# and leaves no scratch files in $TMPDIR
profile small.json '{"product": "fixture", "version": "1", "base": {"tar": "fixture.tar"}, "rootfs": {"size": "4M"}}'
TMPDIR=$work/tmp run "$STELE" build small.json -o new/out/dir -q
is "failed build into a new directory: exit 1" "$rc" 1
check "failed build into a new directory: the directories it made are gone" -- test ! -e new
check "failed build: no scratch left in TMPDIR" -- bash -c '[ -z "$(ls -A tmp)" ]'
mkdir -p existing/out
touch -d @1000000000 existing/out
TMPDIR=$work/tmp run "$STELE" build small.json -o existing/out -q
is "failed build into an existing directory: exit 1" "$rc" 1
check "failed build into an existing directory: still there, empty" -- \
	bash -c '[ -d existing/out ] && [ -z "$(ls -A existing/out)" ]'
is "failed build into an existing directory: not even its time changed" \
	"$(stat -c %Y existing/out)" 1000000000
TMPDIR=$work/tmp run "$STELE" build good.json -o new2/out -q
is "good build into a new directory" "$rc" 0
check "good build: no scratch left in TMPDIR" -- bash -c '[ -z "$(ls -A tmp)" ]'
fails_cleanly "overlay below a file" "is not a directory" \
	'{"product": "fixture", "version": "1", "base": {"tar": "fixture.tar"}, "files": [{"dst": "/etc/hostname", "content": "x"}, {"dst": "/etc/hostname/x", "content": "y"}]}'

# a full disk (ENOSPC) mid-write: exit 1, nothing left (needs a small tmpfs: root only)
mkdir full
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=2M tmpfs full 2>/dev/null; then
	profile full.json '{"product": "fixture", "version": "1", "base": {"tar": "fixture.tar"}}'
	TMPDIR=$work/tmp run "$STELE" build full.json -o full/new/out -q
	is "disk full writing the rootfs: exit 1" "$rc" 1
	has "disk full writing the rootfs: says why" "$err" "short write"
	check "disk full writing the rootfs: nothing left, no directory, no scratch" -- \
		bash -c '[ -z "$(ls -A full)" ] && [ -z "$(ls -A tmp)" ]'
	TMPDIR=$work/full run "$STELE" build full.json -o out-full -q
	is "disk full in TMPDIR (the spool): exit 1" "$rc" 1
	has "disk full in TMPDIR (the spool): says why" "$err" "No space left on device"
	check "disk full in TMPDIR (the spool): nothing left" -- \
		bash -c '[ -z "$(ls -A full)" ] && [ ! -e out-full ]'
	umount full
else
	ok 0 "# SKIP disk full: cannot mount a tmpfs"
fi
fails_cleanly "overlay below a symlink loop" "/loop: symlink loop" \
	'{"product": "fixture", "version": "1", "base": {"tar": "fixture.tar"}, "files": [{"dst": "/loop", "symlink": "loop"}, {"dst": "/loop/x", "content": "y"}]}'

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
check "SIGTERM while writing: the output directory it made is gone" -- test ! -e out-kill
# killed early (the scratch directory and the output directory exist): both go
profile disk.json '{"product": "fixture", "version": "1", "base": {"tar": "fixture.tar"}, "files": [{"dst": "/boot/vmlinuz", "content": "not a kernel"}], "layout": {"data_size": "1G"}}'
for sig in TERM INT HUP; do
	TMPDIR=$work/tmp "$STELE" build disk.json -o out-kill2 -q --rootfs-only 2>/dev/null &
	pid=$!
	for _ in $(seq 100); do
		[ -n "$(ls -A tmp 2>/dev/null)" ] && break
		sleep 0.02
	done
	kill -"$sig" "$pid" 2>/dev/null
	wait "$pid"
	check "SIG$sig: no scratch directory left in TMPDIR" -- bash -c '[ -z "$(ls -A tmp)" ]'
	check "SIG$sig: no output directory left" -- test ! -e out-kill2
done
finish
