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
serials="" # the serial logs of this scenario

ok() { # ok STATUS DESC
	local s=$1
	shift
	tap_n=$((tap_n + 1))
	if [ "$s" -eq 0 ]; then
		echo "ok $tap_n - $*"
		# the long waits, to see the margin a slower machine has
		[ "$last_wait_s" -ge 30 ] && echo "#   waited $last_wait_s s"
	else
		echo "not ok $tap_n - $*"
		tap_failed=$((tap_failed + 1))
		if [ -n "$serial" ] && [ -f "$serial" ]; then
			echo "#   serial log kept: $serial"
			# the first failure of a scenario shows the console's last lines (CI keeps
			# only what the run printed)
			if [ "$tap_failed" = 1 ]; then
				echo "#   last wait: $last_wait_s s for '$last_wait'; the console's last 40 lines:"
				tail -n 40 "$serial" | tr -d '\r' | cut -c1-200 | sed 's/^/#   | /'
			fi
		fi
	fi
	last_wait_s=0
}

# fresh_image NAME: a private copy of the minimal image (sparse), printed path
fresh_image() {
	cp --sparse=always "$WORK/minimal.img" "$WORK/$1.img"
	echo "$WORK/$1.img"
}

# boot IMAGE NAME [stele run options]: starts QEMU in the background; the serial console
# goes to $serial (appended to, so a scenario can boot the same machine again) and `send`
# types into it.
boot() {
	local img=$1 name=$2
	shift 2
	serial="$WORK/$name.serial.log"
	case " $serials " in *" $serial "*) ;; *) serials="$serials $serial" ;; esac
	touch "$serial"
	mark=$(wc -l <"$serial")
	rm -f "$WORK/$name.in"
	mkfifo "$WORK/$name.in"
	"$STELE" run "$img" --console "$@" <"$WORK/$name.in" >>"$serial" 2>&1 &
	qemu_pid=$!
	exec 7>"$WORK/$name.in"
	boot_started=$(date +%s.%N)
}

# rebase: from now on, wait_for and count only look at what comes next (after a reboot the
# guest prints the same markers again)
rebase() {
	mark=$(wc -l <"$serial")
}

# send LINE: types a line on the guest's serial console
send() {
	printf '%s\n' "$*" >&7
}

# since_boot: the serial log since the last `boot`
since_boot() {
	tail -n +$((mark + 1)) "$serial"
}

# wait_for PATTERN [TIMEOUT]: waits until the serial log matches (grep -E); 0 when it did
# (last_wait and last_wait_s: the pattern and the seconds it took, for a failure's report)
last_wait="" last_wait_s=0
wait_for() {
	local pattern=$1 timeout=${2:-$BOOT_TIMEOUT} start=$SECONDS rc=1 i
	last_wait=$pattern
	for ((i = 0; i < timeout * 10; i++)); do
		since_boot | grep -aqE "$pattern" && { rc=0; break; }
		if ! kill -0 "$qemu_pid" 2>/dev/null; then
			since_boot | grep -aqE "$pattern" && rc=0
			break
		fi
		sleep 0.1
	done
	last_wait_s=$((SECONDS - start))
	return $rc
}

# count PATTERN: how many lines of the serial log since the last boot match
count() {
	since_boot | grep -acE "$1"
}

stop() {
	[ -n "$qemu_pid" ] || return 0
	exec 7>&- 2>/dev/null
	pkill -KILL -P "$qemu_pid" 2>/dev/null # QEMU, as a power cut; stele run then cleans up
	for _ in $(seq 50); do # until stele has exited (a zombie until we wait for it)
		case $(awk '{print $3}' "/proc/$qemu_pid/stat" 2>/dev/null) in '' | Z) break ;; esac
		sleep 0.1
	done
	kill -KILL "$qemu_pid" 2>/dev/null
	wait "$qemu_pid" 2>/dev/null
	qemu_pid=""
}

# fresh_from SRC NAME: a private sparse copy of an image the run built
fresh_from() {
	cp --sparse=always "$WORK/$1" "$WORK/$2.img"
	echo "$WORK/$2.img"
}

# status_json: asks the guest for `stele-update status --json` and prints the JSON line
status_json() {
	local before
	before=$(since_boot | grep -ac '^{"booted"')
	send "stele-update status --json"
	for ((i = 0; i < 300; i++)); do
		[ "$(since_boot | grep -ac '^{"booted"')" -gt "$before" ] && break
		sleep 0.1
	done
	since_boot | grep -a '^{"booted"' | tail -n 1 | tr -d '\r'
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
		# only this scenario's: a failed one before it keeps its logs
		[ -n "$serials" ] && rm -f $serials
		return 0
	fi
	return 1
}
