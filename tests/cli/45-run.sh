#!/bin/bash
# `stele run` with a fake QEMU (found first in PATH): the private copy of the UEFI variable
# store exists while QEMU runs and is gone after it exits, whether it exits by itself, fails,
# or stele is killed; QEMU's exit status is stele's.
. "$(dirname "$0")/lib.sh"
[ -r /usr/share/OVMF/OVMF_CODE_4M.fd ] && [ -r /usr/share/OVMF/OVMF_VARS_4M.fd ] ||
	skip_all "ovmf missing"

cd "$work" || exit 1
mkdir bin tmp
# the fake QEMU notes its pflash vars file and whether it exists, then exits with $FAKE_RC
# (or sleeps with FAKE_SLEEP)
cat >bin/qemu-system-x86_64 <<'EOS'
#!/bin/bash
echo "$@" >"$FAKE_LOG.argv"
: >"$FAKE_LOG.smbios"
for a in "$@"; do
	case $a in
	*unit=1,file=*) vars=${a##*file=} ;;
	type=11,path=*) cat "${a#type=11,path=}" >>"$FAKE_LOG.smbios" && echo >>"$FAKE_LOG.smbios" ;;
	esac
done
echo "$vars" >"$FAKE_LOG"
[ -s "$vars" ] && echo present >>"$FAKE_LOG"
[ -n "${FAKE_SLEEP:-}" ] && exec sleep "$FAKE_SLEEP"
exit "${FAKE_RC:-0}"
EOS
chmod +x bin/qemu-system-x86_64
truncate -s 1M disk.img
export PATH=$work/bin:$PATH STELE_ACCEL=tcg TMPDIR=$work/tmp FAKE_LOG=$work/log

run "$STELE" run disk.img --console
is "run: exit status of QEMU" "$rc" 0
has "run: QEMU got a vars file" "$(sed -n 1p log)" "$work/tmp/"
is "run: the vars file existed while QEMU ran" "$(sed -n 2p log)" present
check "run: nothing left in TMPDIR after QEMU exited" -- bash -c '[ -z "$(ls -A tmp)" ]'

FAKE_RC=3 run "$STELE" run disk.img --console
is "run: QEMU failing: its status" "$rc" 3
check "run: QEMU failing: nothing left in TMPDIR" -- bash -c '[ -z "$(ls -A tmp)" ]'

# (not SIGINT: a background job of a script starts with SIGINT ignored, and so would the fake
# QEMU; stele passes SIGINT on as it does the others)
for sig in TERM HUP; do
	FAKE_SLEEP=30 "$STELE" run disk.img --console >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		[ -s log ] && grep -q present log && break
		sleep 0.05
	done
	: >log
	kill -"$sig" "$pid"
	wait "$pid"
	rc=$?
	ok $((rc == 0)) "run: SIG$sig: stele exits with QEMU, non-zero (got $rc)"
	check "run: SIG$sig: nothing left in TMPDIR" -- bash -c '[ -z "$(ls -A tmp)" ]'
done

# --secret: a credential in SMBIOS type 11, read by QEMU from an inherited memfd
printf 'top-secret-%s' "$RANDOM$RANDOM" >secret
head -c 100 /dev/urandom >blob
run "$STELE" run disk.img --console --secret app-token=secret --secret blob=blob
is "--secret: exit status of QEMU" "$rc" 0
is "--secret: QEMU read the credential as systemd's SMBIOS string" "$(sed -n 1p log.smbios)" \
	"io.systemd.credential.binary:app-token=$(base64 -w0 <secret)"
is "--secret: a binary one in base64" "$(sed -n 2p log.smbios)" \
	"io.systemd.credential.binary:blob=$(base64 -w0 <blob)"
check "--secret: the secret is not on QEMU's command line" -- bash -c "! grep -qF '$(cat secret)' log.argv"
check "--secret: nothing left in TMPDIR" -- bash -c '[ -z "$(ls -A tmp)" ]'
run "$STELE" run disk.img --console --secret ../x=secret
is "--secret: a name with a slash: exit 2" "$rc" 2
has "--secret: ... says what a name is" "$err" "expected NAME=FILE, NAME of letters, digits"
run "$STELE" run disk.img --console --secret x=missing
is "--secret: a missing file: exit 2" "$rc" 2
has "--secret: ... naming it" "$err" "--secret x: missing"
head -c 40000 /dev/zero >big
run "$STELE" run disk.img --console --secret x=big
is "--secret: over 32 KiB: exit 2" "$rc" 2
has "--secret: ... says the limit" "$err" "larger than 32768 bytes"
check "--secret refused: nothing left in TMPDIR" -- bash -c '[ -z "$(ls -A tmp)" ]'
finish
