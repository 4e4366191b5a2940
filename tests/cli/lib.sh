# Helpers for the CLI tests: TAP output, a scratch directory, and runners that capture exit
# status and stderr. Source it; call `finish` at the end.
set -u
export LC_ALL=C
: "${STELE:?STELE must point at the stele binary}"
: "${TOOLS:?TOOLS must point at the directory of test tools}"
STELE=$(cd "$(dirname "$STELE")" && pwd)/$(basename "$STELE")
TOOLS=$(cd "$TOOLS" && pwd)
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
work=$(mktemp -d "${TMPDIR:-/tmp}/stele-cli.XXXXXX")
chmod 755 "$work"
tap_n=0
tap_failed=0

ok() { # ok COND-EXIT-STATUS DESC...
	local status=$1
	shift
	tap_n=$((tap_n + 1))
	if [ "$status" -eq 0 ]; then
		echo "ok $tap_n - $*"
	else
		echo "not ok $tap_n - $*"
		tap_failed=$((tap_failed + 1))
	fi
}

check() { # check DESC -- COMMAND...: ok when COMMAND succeeds
	local desc=$1
	shift
	[ "$1" = -- ] && shift
	"$@" >/dev/null 2>&1
	ok $? "$desc"
}

# run COMMAND...: runs it, sets $rc, $out (stdout) and $err (stderr).
run() {
	"$@" >"$work/.out" 2>"$work/.err"
	rc=$?
	out=$(cat "$work/.out")
	err=$(cat "$work/.err")
}

has() { # has DESC HAYSTACK NEEDLE
	case $2 in
	*"$3"*) ok 0 "$1" ;;
	*)
		ok 1 "$1"
		echo "#   \"$2\" does not contain \"$3\""
		;;
	esac
}

is() { # is DESC GOT WANT
	if [ "$2" = "$3" ]; then
		ok 0 "$1"
	else
		ok 1 "$1"
		echo "#   got \"$2\", want \"$3\""
	fi
}

skip_all() {
	echo "1..0 # SKIP $*"
	rm -rf "$work"
	exit 77
}

finish() {
	echo "1..$tap_n"
	if [ "$tap_failed" -eq 0 ]; then
		rm -rf "$work"
		exit 0
	fi
	echo "# kept $work"
	exit 1
}

# no_outputs DIR: nothing but directories in DIR (no partial or hidden temporary files)
no_outputs() {
	[ -z "$(find "$1" -type f 2>/dev/null)" ]
}
