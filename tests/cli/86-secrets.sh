#!/bin/bash
# Secrets refused at build: each kind of secret (twelve) in a file overlay, in a tar base and
# inside a .deb (local_debs) fails the build with exit 1, naming the path in the image, where it came
# from, the offset and the rule, and writes nothing; a secrets.allow entry (path, rule,
# reason) lets exactly that file through and the signed manifest records it; an entry of
# another rule does not; an entry that matches nothing is a warning.
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || skip_all "openssl missing"
command -v ssh-keygen >/dev/null || skip_all "ssh-keygen missing"
cd "$work" || exit 1
mkdir -p tree/etc sec
echo hello >tree/etc/motd

# one file per kind (the tokens are made up, of each issuer's documented shape)
ssh-keygen -q -t ed25519 -N '' -C test -f sec/id_ed25519
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -outform DER -out sec/ec.der 2>/dev/null
openssl genpkey -algorithm ed25519 -out sec/tls.key 2>/dev/null
openssl req -x509 -new -key sec/tls.key -subj /CN=t -days 1 -out sec/cert.pem 2>/dev/null
openssl pkcs12 -export -inkey sec/tls.key -in sec/cert.pem -passout pass:x -out sec/store.p12 2>/dev/null
printf 'REGION=eu\nAWS_SECRET_ACCESS_KEY=Zx9Tq2Lm8Rv4Wn6Yp1Ks3Hd5Fg7Jc0Bv/Nm+Qw8E\n' >sec/app.env
printf '[default]\naws_access_key_id = AKIAZ3MSJV7VN2QJ4WXY\n' >sec/credentials
printf 'token: ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8\n' >sec/gh.yml
printf 'PRIVATE-TOKEN: glpat-Ab3De6Gh9Jk2Mn5Pq8St\n' >sec/gl.txt
printf 'hook=https://hooks.slack.com/services/T01ABCDEF/B02GHIJKL/AbCdEfGhIjKlMnOpQrStUvWx\n' >sec/slack.conf
printf '{"type": "service_account", "private_key_id": "0123456789abcdef0123456789abcdef01234567"}\n' >sec/sa.json
printf 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c\n' >sec/jwt.txt
printf 'ls\nmysql -p hunter2\n' >sec/history
# look-alikes that are no secret
openssl pkey -in sec/tls.key -pubout -out sec/pub.pem 2>/dev/null
printf 'db_password=hunter2\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n' >sec/harmless.conf

build() { # build NAME BASE-JSON FILES-JSON [MORE-JSON]: rootfs only
	printf '{ "product": "x", "version": "1", "base": %s, "files": %s %s }\n' \
		"$2" "$3" "${4:-}" >"$1.json"
	run timeout 120 "$STELE" build "$1.json" -o "out-$1" --rootfs-only -q
}
f() { printf '{ "src": "sec/%s", "dst": "%s" }' "$1" "$2"; }

# --- the kinds, in a file overlay ---
build overlay '{ "dir": "tree" }' "[$(f id_ed25519 /etc/ssl/private/server.key), $(f ec.der /etc/k.der),
	$(f store.p12 /etc/store.p12), $(f app.env /etc/app.env), $(f credentials /root/.aws/credentials),
	$(f gh.yml /etc/ci/gh.yml), $(f gl.txt /etc/gl.txt), $(f slack.conf /etc/slack.conf),
	$(f sa.json /etc/gcp/sa.json), $(f jwt.txt /etc/jwt.txt), $(f history /root/.bash_history),
	$(f pub.pem /etc/pub.pem), $(f harmless.conf /etc/harmless.conf), $(f cert.pem /etc/cert.pem),
	{ \"dst\": \"/srv/app/.git/HEAD\", \"content\": \"ref: refs/heads/main\\n\" }]"
is "a secret in a file overlay: the build fails (exit 1)" "$rc" 1
for want in "/etc/ssl/private/server.key: private-key-pem" "/etc/k.der: private-key-der" \
	"/etc/store.p12: pkcs12" "/etc/app.env: aws-secret-access-key" \
	"/root/.aws/credentials: aws-access-key-id" "/etc/ci/gh.yml: github-token" \
	"/etc/gl.txt: gitlab-token" "/etc/slack.conf: slack-token" \
	"/etc/gcp/sa.json: gcp-service-account" "/etc/jwt.txt: jwt" \
	"/root/.bash_history: shell-history" "/srv/app/.git: git-directory"; do
	has "overlay: found ${want%%:*} (${want##*: })" "$err" "secret: $want"
done
is "overlay: twelve secrets, no look-alike (public key, certificate, password=, AWS's example)" \
	"$(grep -c '^stele: WARNING: secret: ' <<<"$err")" 12
has "overlay: the host file it came from" "$err" \
	"/etc/ssl/private/server.key: private-key-pem (a PEM or OpenSSH private key) at byte 0, from $work/sec/id_ed25519"
has "overlay: the offset of a secret inside a file" "$err" "/etc/app.env: aws-secret-access-key (an AWS secret access key) at byte 10,"
has "overlay: the profile entry of a content file" "$err" "/srv/app/.git: git-directory (a .git directory) at byte 0, from overlay.json: files[14]"
has "overlay: the error names the first, the count and the way out" "$err" \
	"build failed: secret in the tree: /etc/app.env: aws-secret-access-key"
has "overlay: ... and secrets.allow" "$err" "(12 in all, each listed above)"
check "overlay: nothing written" -- no_outputs out-overlay

# --- a tar base ---
mkdir -p tarroot/etc tarroot/root/.ssh tarroot/opt/app/.git
cp sec/id_ed25519 tarroot/root/.ssh/id_ed25519
echo 'x' >tarroot/opt/app/.git/HEAD
echo hello >tarroot/etc/motd
# every kind, each under its own name, and the look-alikes
kinds="ec.der:private-key-der store.p12:pkcs12 app.env:aws-secret-access-key
credentials:aws-access-key-id gh.yml:github-token gl.txt:gitlab-token slack.conf:slack-token
sa.json:gcp-service-account jwt.txt:jwt"
mkdir -p tarroot/srv/kinds tarroot/root
for k in $kinds; do cp "sec/${k%%:*}" "tarroot/srv/kinds/${k%%:*}"; done
cp sec/history tarroot/root/.bash_history
cp sec/pub.pem sec/cert.pem sec/harmless.conf tarroot/srv/kinds/
tar -C tarroot -cf base.tar .
build tar '{ "tar": "base.tar" }' '[]'
is "a secret in a tar base: the build fails (exit 1)" "$rc" 1
has "tar base: the key, from the archive" "$err" \
	"/root/.ssh/id_ed25519: private-key-pem (a PEM or OpenSSH private key) at byte 0, from $work/base.tar"
has "tar base: the .git directory" "$err" "/opt/app/.git: git-directory"
for k in $kinds; do
	has "tar base: ${k##*:}" "$err" "/srv/kinds/${k%%:*}: ${k##*:}"
done
has "tar base: the shell history" "$err" "/root/.bash_history: shell-history"
is "tar base: twelve secrets, no look-alike" "$(grep -c '^stele: WARNING: secret: ' <<<"$err")" 12
check "tar base: nothing written" -- no_outputs out-tar

# a base with dpkg's file lists: the hit names the package that shipped the file (merged /usr:
# dpkg lists /lib/... for /usr/lib/...)
mkdir -p dp/var/lib/dpkg/info dp/usr/lib/app dp/etc
cp sec/id_ed25519 dp/usr/lib/app/test.key
printf '/.\n/lib\n/lib/app\n/lib/app/test.key\n' >dp/var/lib/dpkg/info/python3.11-app:amd64.list
printf '/.\n/etc\n' >dp/var/lib/dpkg/info/base-files.list
tar -C dp -cf dp.tar .
build dpkg '{ "tar": "dp.tar" }' '[]'
is "a key shipped by a package of a tar base: exit 1" "$rc" 1
has "dpkg: the package that shipped it" "$err" \
	"/usr/lib/app/test.key: private-key-pem (a PEM or OpenSSH private key) at byte 0, from package python3.11-app ($work/dp.tar)"

# --- per-machine identity package scripts make: reported, replaced, not failed ---
mkdir -p sd/etc/ssl/private sd/etc/ssl/certs sd/usr/lib/systemd
cp sec/tls.key sd/etc/ssl/private/ssl-cert-snakeoil.key
cp sec/cert.pem sd/etc/ssl/certs/ssl-cert-snakeoil.pem
printf '#!/bin/sh\n' >sd/usr/lib/systemd/systemd
tar -C sd -cf sd.tar .
build snakeoil '{ "tar": "sd.tar" }' '[]'
run timeout 120 "$STELE" build snakeoil.json -o out-snakeoil --rootfs-only
is "ssl-cert's snakeoil key in a systemd tree: the build succeeds" "$rc" 0
has "snakeoil: reported" "$err" "replaced ssl-cert's snakeoil key and certificate (package scripts made them; each machine makes its own on first boot, on data)"
img=out-snakeoil/x-1.rootfs.ext4
check "snakeoil: the key is a symlink to the machine's own, on data" -- \
	bash -c "debugfs -R 'stat /etc/ssl/private/ssl-cert-snakeoil.key' $img 2>/dev/null | grep -q 'Fast link dest: \"/var/lib/stele/ssl/ssl-cert-snakeoil.key\"'"
check "snakeoil: so is the certificate" -- \
	bash -c "debugfs -R 'stat /etc/ssl/certs/ssl-cert-snakeoil.pem' $img 2>/dev/null | grep -q 'Fast link dest: \"/var/lib/stele/ssl/ssl-cert-snakeoil.pem\"'"
check "snakeoil: the unit that makes them is enabled" -- \
	bash -c "debugfs -R 'stat /etc/systemd/system/multi-user.target.wants/stele-ssl-snakeoil.service' $img 2>/dev/null | grep -q 'stele-ssl-snakeoil.service'"
rm sd/usr/lib/systemd/systemd
tar -C sd -cf sd2.tar .
build snakeoil2 '{ "tar": "sd2.tar" }' '[]'
run timeout 120 "$STELE" build snakeoil2.json -o out-snakeoil2 --rootfs-only
is "the snakeoil key in a tree without systemd: the build succeeds" "$rc" 0
has "snakeoil without systemd: removed, and says why" "$err" "removed ssl-cert's snakeoil key and certificate"
check "snakeoil without systemd: neither file is in the image" -- bash -c \
	"! debugfs -R 'stat /etc/ssl/private/ssl-cert-snakeoil.key' out-snakeoil2/x-1.rootfs.ext4 2>&1 | grep -q Type"

# --- inside a .deb (the product's own package, local_debs) ---
if command -v dpkg-deb >/dev/null &&
	apt-cache show --no-all-versions busybox-static >/dev/null 2>&1; then
	mkdir -p pkg/DEBIAN pkg/opt/app
	printf 'Package: stele-test-app\nVersion: 1.2-3\nArchitecture: amd64\nMaintainer: t <t@t>\nDescription: t\n' \
		>pkg/DEBIAN/control
	cp sec/gh.yml pkg/opt/app/deploy.yml
	mkdir -p pkg/opt/app/kinds pkg/opt/app/.git
	for k in $kinds; do cp "sec/${k%%:*}" "pkg/opt/app/kinds/${k%%:*}"; done
	cp sec/id_ed25519 pkg/opt/app/kinds/id_ed25519
	cp sec/history pkg/opt/app/.bash_history
	cp sec/pub.pem sec/cert.pem sec/harmless.conf pkg/opt/app/kinds/
	echo x >pkg/opt/app/.git/HEAD
	dpkg-deb -Zgzip --root-owner-group --build pkg app.deb >/dev/null
	build deb '{ "debs": ["busybox-static"], "local_debs": ["app.deb"] }' '[]'
	is "a secret inside a .deb: the build fails (exit 1)" "$rc" 1
	has "deb: the path, rule and package" "$err" \
		"/opt/app/deploy.yml: github-token (a GitHub token) at byte 7, from package stele-test-app 1.2-3 ($work/app.deb)"
	for k in $kinds id_ed25519:private-key-pem; do
		has "deb: ${k##*:}" "$err" "/opt/app/kinds/${k%%:*}: ${k##*:}"
	done
	has "deb: the shell history" "$err" "/opt/app/.bash_history: shell-history"
	has "deb: the .git directory" "$err" "/opt/app/.git: git-directory (a .git directory) at byte 0, from package stele-test-app"
	is "deb: thirteen secrets (twelve kinds and the token), no look-alike" \
		"$(grep -c '^stele: WARNING: secret: ' <<<"$err")" 13
	check "deb: nothing written" -- no_outputs out-deb
	rm -rf pkg/opt/app/kinds pkg/opt/app/.git pkg/opt/app/.bash_history
	cp sec/harmless.conf pkg/opt/app/deploy.yml
	dpkg-deb -Zxz --root-owner-group --build pkg app2.deb >/dev/null
	build deb2 '{ "debs": ["busybox-static"], "local_debs": ["app2.deb"] }' '[]'
	is "a .deb without secrets (xz control): it builds" "$rc" 0
	check "deb: its file is in the image" -- \
		bash -c "debugfs -R 'cat /opt/app/deploy.yml' out-deb2/x-1.rootfs.ext4 2>/dev/null | grep -q hunter2"
	printf 'not a deb' >bad.deb
	build deb3 '{ "debs": ["busybox-static"], "local_debs": ["bad.deb"] }' '[]'
	is "local_debs: a file that is no .deb fails (exit 1)" "$rc" 1
	has "local_debs: ... naming it" "$err" "$work/bad.deb"
	build deb4 '{ "debs": ["busybox-static"], "local_debs": ["app.tar"] }' '[]'
	is "local_debs: a name without .deb is refused (exit 2)" "$rc" 2
	has "local_debs: ... naming the field" "$err" "base.local_debs[0]: expected the path of a .deb file"
else
	ok 0 "# SKIP dpkg-deb or apt lists for busybox-static missing"
fi

# --- secrets.allow ---
allow='"secrets": { "allow": [ { "path": "/etc/ssl/private/*.key", "rule": "private-key-pem",
	"reason": "the demo key, published with the product" },
	{ "path": "/etc/unused", "rule": "jwt", "reason": "left over" } ] }'
build allowed '{ "dir": "tree" }' "[$(f id_ed25519 /etc/ssl/private/server.key)]" ", $allow"
is "an allowed secret: the build succeeds" "$rc" 0
build allowed-v '{ "dir": "tree" }' "[$(f id_ed25519 /etc/ssl/private/server.key)]" ", $allow"
run timeout 120 "$STELE" build allowed-v.json -o out-allowed-v2 --rootfs-only
has "allowed: the build says which entry let it through" "$err" \
	"secret allowed by secrets.allow[0]: /etc/ssl/private/server.key: private-key-pem"
has "allowed: an entry that matched nothing is a warning" "$err" \
	"WARNING: allowed-v.json: secrets.allow[1] (/etc/unused, jwt) matched nothing"
build other-rule '{ "dir": "tree" }' "[$(f id_ed25519 /etc/ssl/private/server.key), $(f ec.der /etc/ssl/private/b.key)]" ", $allow"
is "an entry allows its rule only: a DER key at an allowed path fails" "$rc" 1
has "other rule: names the DER key" "$err" "/etc/ssl/private/b.key: private-key-der"
has "other rule: one refused" "$err" "(1 in all)"

# the signed manifest records the entry and what it let in (a full build)
if apt-cache show --no-all-versions busybox-static >/dev/null 2>&1; then
	"$STELE" keygen keys >/dev/null 2>&1
	build full '{ "debs": ["busybox-static"] }' "[$(f id_ed25519 /etc/ssl/private/server.key)]" ", $allow"
	run timeout 120 "$STELE" build full.json -o out-full --keys keys -q
	is "a full build with an allowed secret: exit 0" "$rc" 0
	m=out-full/x-1.manifest.json
	check "the manifest records the entry, its reason and the file" -- python3 -c "
import json, sys
p = json.load(open('$m'))['provenance']
a = p['secrets_allowed']
assert a[0] == {'path': '/etc/ssl/private/*.key', 'rule': 'private-key-pem',
	'reason': 'the demo key, published with the product',
	'files': ['/etc/ssl/private/server.key']}, a
assert a[1]['files'] == [], a
assert p['secrets_known'] == [], p"
	check "... and the manifest is the one signed" -- "$STELE" verify out-full/x-1.verity --trust keys/ca.crt
else
	ok 0 "# SKIP apt lists for busybox-static missing"
fi
finish
