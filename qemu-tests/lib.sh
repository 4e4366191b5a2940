# qemu-tests harness: boots real images under QEMU (through `stele run`), reads markers from
# the serial console with timeouts, prints TAP. A failing check keeps the serial log.
# Scenarios source this file; run.sh provides STELE, WORK (a directory with the images and
# keys) and BOOT_TIMEOUT.
set -u
: "${STELE:?}" "${WORK:?}"
BOOT_TIMEOUT=${BOOT_TIMEOUT:-120}
tap_n=0
tap_failed=0
qemu_pid=""
serial=""

ok() { # ok STATUS DESC
	local s=$1
	shift
	tap_n=$((tap_n + 1))
	if [ "$s" -eq 0 ]; then
		echo "ok $tap_n - $*"
	else
		echo "not ok $tap_n - $*"
		tap_failed=$((tap_failed + 1))
		[ -n "$serial" ] && [ -f "$serial" ] && echo "#   serial log kept: $serial"
	fi
}

# fresh_image NAME: a private copy of the minimal image (sparse), printed path
fresh_image() {
	cp --sparse=always "$WORK/minimal.img" "$WORK/$1.img"
	echo "$WORK/$1.img"
}

# boot IMAGE NAME [stele run options]: starts QEMU in the background, serial to $serial
boot() {
	local img=$1 name=$2
	shift 2
	serial="$WORK/$name.serial.log"
	: >"$serial"
	"$STELE" run "$img" --console "$@" </dev/null >"$serial" 2>&1 &
	qemu_pid=$!
	boot_started=$(date +%s.%N)
}

# wait_for PATTERN [TIMEOUT]: waits until the serial log matches (grep -E); 0 when it did
wait_for() {
	local pattern=$1 timeout=${2:-$BOOT_TIMEOUT} i
	for ((i = 0; i < timeout * 10; i++)); do
		grep -aqE "$pattern" "$serial" 2>/dev/null && return 0
		kill -0 "$qemu_pid" 2>/dev/null || { grep -aqE "$pattern" "$serial"; return; }
		sleep 0.1
	done
	return 1
}

# count PATTERN: how many lines of the serial log match
count() {
	grep -acE "$1" "$serial" 2>/dev/null
}

stop() {
	[ -n "$qemu_pid" ] || return 0
	pkill -P "$qemu_pid" 2>/dev/null
	kill "$qemu_pid" 2>/dev/null
	wait "$qemu_pid" 2>/dev/null
	qemu_pid=""
}
trap stop EXIT

# flip IMAGE OFFSET: inverts one byte
flip() {
	local b
	b=$(od -An -t u1 -j "$2" -N 1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 0xff)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# part_start IMAGE LABEL: byte offset of a partition
part_start() {
	sfdisk --json "$1" | awk -v want="\"$2\"" '
		/"start":/ { gsub(/[^0-9]/, "", $2); start = $2 }
		/"name":/ { if ($2 == want) { print start * 512; exit } }'
}

finish() {
	stop
	echo "1..$tap_n"
	if [ "$tap_failed" -eq 0 ]; then
		rm -f "$WORK"/*.serial.log
		return 0
	fi
	return 1
}
