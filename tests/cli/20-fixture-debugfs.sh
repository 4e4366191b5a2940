#!/bin/bash
# Build an image from a tar fixture holding every entry type, then check each entry with debugfs:
# an ext4 reader that shares no code with stele, so the two cannot agree on the same mistake.
#
# env: STELE  the stele binary
#      TOOLS  directory holding the built mkfixture
#      FIXTURE_FORMATS  tar formats to try (default: "pax gnu ustar")
# Emits TAP; exits 77 when debugfs is missing.
set -u
export LC_ALL=C # byte semantics for ${#target}, sort and awk, whatever the caller's locale

if ! command -v debugfs >/dev/null 2>&1 || ! command -v e2fsck >/dev/null 2>&1; then
	echo "1..0 # SKIP debugfs or e2fsck not found"
	exit 77
fi
if [ -z "${STELE:-}" ] || [ -z "${TOOLS:-}" ]; then
	echo "Bail out! STELE and TOOLS must be set"
	exit 1
fi
# The build runs from inside the work dir, so relative paths must be made absolute first.
case $STELE in */*) STELE=$(cd "$(dirname "$STELE")" && pwd)/$(basename "$STELE") ;; esac
TOOLS=$(cd "$TOOLS" && pwd) || exit 1

readonly SPARSE_PATH=/var/lib/sparse.img
readonly SPARSE_MAX_SECTORS=128 # 64 KiB of 8 MiB: only the two 4 KiB edges hold data

work=$(mktemp -d "${TMPDIR:-/tmp}/stele-fixture.XXXXXX") || exit 1
tap_n=0
tap_failed=0
problems=()

# --- TAP -----------------------------------------------------------------------------------

# problem MESSAGE: record why the check being assembled fails.
problem() {
	problems+=("$1")
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] || problem "$1: got '$2', want '$3'"
}

# report DESC: one TAP line for every problem recorded since the last report.
report() {
	tap_n=$((tap_n + 1))
	if [ ${#problems[@]} -eq 0 ]; then
		echo "ok $tap_n - $1"
	else
		echo "not ok $tap_n - $1"
		printf '#   %s\n' "${problems[@]}"
		tap_failed=$((tap_failed + 1))
	fi
	problems=()
}

# log_problems FILE: the tail of a tool's log, shown under the check's "not ok" line.
log_problems() {
	local line
	while IFS= read -r line; do
		problem "| $line"
	done < <(tail -n 20 "$1")
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

# --- building -------------------------------------------------------------------------------

# make_fixture DIR FORMAT
make_fixture() {
	local status=0
	"$TOOLS/mkfixture" "$1/fixture.tar" "$1/expect.txt" --format "$2" >"$1/mkfixture.log" 2>&1 ||
		status=1
	if [ "$status" -ne 0 ]; then
		problem "mkfixture failed"
		log_problems "$1/mkfixture.log"
	fi
	report "[$2] mkfixture writes the fixture"
	[ "$status" -eq 0 ] && expect_os_release "$1/expect.txt"
	return "$status"
}

# expect_os_release EXPECT: stele stamps IMAGE_ID and IMAGE_VERSION into /etc/os-release and,
# as the fixture has none, writes this one (see docs/profiles.md).
expect_os_release() {
	local content sum
	content=$(printf 'NAME="fixture"\nID=stele\nPRETTY_NAME="fixture 1"\nIMAGE_ID=fixture\nIMAGE_VERSION=1\n_')
	content=${content%_}
	sum=$(printf '%s' "$content" | sha256sum | cut -d' ' -f1)
	printf '/etc/os-release\treg\t0644\t0\t0\t%s\t%s\t-\n' "${#content}" "$sum" >>"$1"
	sort -o "$1" "$1"
}

# build_image DIR FORMAT: stele runs from DIR since profile paths are relative to the profile.
build_image() {
	printf '%s\n' '{"product": "fixture", "version": "1", "base": {"tar": "fixture.tar"}}' \
		>"$1/profile.json"
	if ! (cd "$1" && "$STELE" build profile.json -o out) >"$1/build.log" 2>&1; then
		problem "stele build failed, see $1/build.log"
		log_problems "$1/build.log"
	elif [ ! -f "$1/out/fixture-1.rootfs.ext4" ]; then
		problem "no out/fixture-1.rootfs.ext4"
	fi
	report "[$2] stele build profile.json -o out"
	[ -f "$1/out/fixture-1.rootfs.ext4" ]
}

# fsck_image IMG FORMAT
fsck_image() {
	if ! e2fsck -fn "$1" >"$1.fsck.log" 2>&1; then
		problem "e2fsck -fn found problems"
		log_problems "$1.fsck.log"
	fi
	report "[$2] e2fsck -fn is clean"
}

# --- querying the image ---------------------------------------------------------------------
# Every question goes into one debugfs command file: one process instead of hundreds. With -f,
# debugfs echoes "debugfs: COMMAND" before each answer, which is where the answers are split.

declare -a exp_path exp_type exp_mode exp_uid exp_gid exp_size exp_sha exp_target
declare -A sec_stat sec_ls sec_ea_list
declare -A child_count subdir_count link_group_size xattr_names
n_cmds=0

# add_cmd COMMAND: queue it; its answer will land in section $n_cmds.
add_cmd() {
	n_cmds=$((n_cmds + 1))
	printf '%s\n' "$1" >>"$cmd_file"
}

# read_expectations FILE: load the lines and derive directory and link counts from them.
read_expectations() {
	local i=0 path type mode uid gid size sha target parent
	while IFS=$'\t' read -r -u 3 path type mode uid gid size sha target; do
		exp_path[i]=$path exp_type[i]=$type exp_mode[i]=$mode exp_uid[i]=$uid
		exp_gid[i]=$gid exp_size[i]=$size exp_sha[i]=$sha exp_target[i]=$target
		parent=${path%/*}
		parent=${parent:-/}
		child_count[$parent]=$((${child_count[$parent]:-0} + 1))
		[ "$type" = dir ] && subdir_count[$parent]=$((${subdir_count[$parent]:-0} + 1))
		i=$((i + 1))
	done 3<"$1"
	local group member
	while read -r -u 3 group; do
		for member in $group; do
			link_group_size[$member]=$(wc -w <<<"$group")
		done
	done 3<"$1.links"
	local name value
	while IFS=$'\t' read -r -u 3 path name value; do
		xattr_names[$path]="${xattr_names[$path]:-}$name "
	done 3<"$1.xattrs"
}

# queue_queries DIR: stat, ea_list and (by type) ls or dump per entry, ea_get per xattr.
# Only stat, ls and ea_list answers are looked up by section; dump and ea_get write files.
queue_queries() {
	local i path name value
	for i in "${!exp_path[@]}"; do
		path=${exp_path[i]}
		add_cmd "stat \"$path\"" && sec_stat[$i]=$n_cmds
		add_cmd "ea_list \"$path\"" && sec_ea_list[$i]=$n_cmds
		case ${exp_type[i]} in
		dir) add_cmd "ls -p \"$path\"" && sec_ls[$i]=$n_cmds ;;
		reg | symlink) add_cmd "dump \"$path\" \"$1/dump/$i\"" ;;
		esac
	done
	add_cmd 'stat /' && sec_stat[root]=$n_cmds
	add_cmd 'ls -p /' && sec_ls[root]=$n_cmds
	add_cmd 'stat /lost+found' && sec_stat[lost+found]=$n_cmds
	i=0
	while IFS=$'\t' read -r -u 3 path name value; do
		add_cmd "ea_get -f \"$1/xattr/$i\" \"$path\" $name"
		i=$((i + 1))
	done 3<"$1/expect.txt.xattrs"
}

# run_queries DIR IMG FORMAT: run the command file and split stdout into DIR/sec/N.
run_queries() {
	mkdir -p "$1/sec" "$1/dump" "$1/xattr"
	debugfs -f "$cmd_file" "$2" >"$1/debugfs.out" 2>"$1/debugfs.err"
	awk -v dir="$1/sec" '
		/^debugfs: / { if (f) close(f); f = dir "/" ++n; printf "" > f; next }
		f { print > f }
	' "$1/debugfs.out"
	expect_eq "answers" "$(find "$1/sec" -type f | wc -l)" "$n_cmds"
	report "[$3] debugfs ran all $n_cmds queries"
}

# parse_stat FILE: debugfs "stat" output as TAB-separated
# inode type mode uid gid size links blockcount device fast_link_target ("-" when absent).
parse_stat() {
	awk '
		BEGIN {
			split("regular reg directory dir symlink symlink FIFO fifo socket sock", m, " ")
			for (i = 1; i < 10; i += 2) types[m[i]] = m[i + 1]
			types["character special"] = "chr"; types["block special"] = "blk"
			ino = type = mode = uid = gid = size = links = blocks = dev = fast = "-"
		}
		# Inode: 13   Type: regular    Mode:  04755   Flags: 0x80000
		/^Inode: / {
			ino = $2; t = $0; sub(/.*Type: /, "", t); sub(/ +Mode:.*/, "", t)
			type = (t in types) ? types[t] : t
			mode = $0; sub(/.*Mode: +/, "", mode); sub(/ .*/, "", mode)
		}
		# User:  1000   Group:  1000   Project:     0   Size: 16
		/^User: / {
			for (i = 1; i < NF; i++) {
				if ($i == "User:") uid = $(i + 1)
				if ($i == "Group:") gid = $(i + 1)
				if ($i == "Size:") size = $(i + 1)
			}
		}
		# Links: 2   Blockcount: 8
		/^Links: / { links = $2; blocks = $4 }
		# [(New-style) ]Device major/minor number: 254:00 (hex fe:00), decimal then hex
		/Device major\/minor number: / {
			d = $0; sub(/.*number: /, "", d); sub(/ .*/, "", d); split(d, mm, ":")
			dev = (mm[1] + 0) "," (mm[2] + 0)
		}
		# Fast link dest: "usr/lib"
		/^Fast link dest: "/ { fast = $0; sub(/^Fast link dest: "/, "", fast); sub(/"$/, "", fast) }
		END { printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ino, type, mode, uid, gid, size, links, blocks, dev, fast }
	' "$1"
}

# ls_count FILE: entries in a debugfs "ls -p" listing, without "." and "..".
ls_count() {
	awk -F/ '/^\/[0-9]+\// && $6 != "." && $6 != ".." { n++ } END { print n + 0 }' "$1"
}

# ea_names FILE: the sorted xattr names in debugfs "ea_list" output, space-terminated.
ea_names() {
	# "  user.comment (5) = "hello"": system.data only marks inline data, not a real xattr.
	awk '/^  [^ ]+ \([0-9]+\) = / && $1 != "system.data" { print $1 }' "$1" | sort |
		tr '\n' ' '
}

hex_of() {
	od -An -v -tx1 "$1" 2>/dev/null | tr -d ' \n'
}

sha256_of() {
	sha256sum "$1" 2>/dev/null | cut -d' ' -f1
}

# --- checking -------------------------------------------------------------------------------

# check_entry DIR INDEX: every property of one expectation line against debugfs' answers.
check_entry() {
	local dir=$1 i=$2 path=${exp_path[$2]} type=${exp_type[$2]}
	local ino itype imode iuid igid isize ilinks idev ifast
	IFS=$'\t' read -r ino itype imode iuid igid isize ilinks _ idev ifast \
		< <(parse_stat "$dir/sec/${sec_stat[$i]}")
	if [ "$ino" = - ]; then
		problem "not found: $(grep -F "$path:" "$dir/debugfs.err" | head -n 1)"
		return
	fi
	expect_eq type "$itype" "$type"
	expect_eq mode "$(printf '%04o' "$((8#$imode))")" "${exp_mode[i]}"
	expect_eq uid "$iuid" "${exp_uid[i]}"
	expect_eq gid "$igid" "${exp_gid[i]}"
	expect_eq xattrs "$(ea_names "$dir/sec/${sec_ea_list[$i]}")" \
		"$(tr ' ' '\n' <<<"${xattr_names[$path]:-}" | sed '/^$/d' | sort | tr '\n' ' ')"
	case $type in
	reg) check_regular "$dir" "$i" "$isize" "$ilinks" ;;
	dir) check_directory "$dir/sec/${sec_ls[$i]}" "$path" "$ilinks" 0 ;;
	symlink) check_symlink "$dir" "$i" "$isize" "$ifast" "$ilinks" ;;
	chr | blk) expect_eq device "$idev" "${exp_target[i]}" ;;
	esac
	[ "$type" = reg ] || [ "$type" = dir ] || expect_eq links "$ilinks" 1
}

# check_regular DIR INDEX SIZE LINKS
check_regular() {
	local path=${exp_path[$2]}
	expect_eq size "$3" "${exp_size[$2]}"
	expect_eq links "$4" "${link_group_size[$path]:-1}"
	expect_eq sha256 "$(sha256_of "$1/dump/$2")" "${exp_sha[$2]}"
}

# check_directory LS_FILE PATH LINKS EXTRA: EXTRA counts entries the fixture does not list.
check_directory() {
	local subdirs=$((${subdir_count[$2]:-0} + $4))
	expect_eq entries "$(ls_count "$1")" "$((${child_count[$2]:-0} + $4))"
	expect_eq links "$3" "$((2 + subdirs))"
}

# check_symlink DIR INDEX SIZE FAST_TARGET LINKS: short targets live in the inode ("fast"),
# long ones in a data block that "dump" reads.
check_symlink() {
	local want=${exp_target[$2]} got=$4
	[ "$got" = - ] && got=$(cat "$1/dump/$2" 2>/dev/null)
	expect_eq target "$got" "$want"
	expect_eq size "$3" "${#want}"
}

# check_root DIR: the root holds exactly the fixture's top level, plus lost+found if present.
check_root() {
	local ino links extra=0
	IFS=$'\t' read -r ino _ _ _ _ _ _ _ _ _ < <(parse_stat "$1/sec/${sec_stat[lost+found]}")
	[ "$ino" != - ] && extra=1
	IFS=$'\t' read -r _ _ _ _ _ _ links _ _ _ < <(parse_stat "$1/sec/${sec_stat[root]}")
	check_directory "$1/sec/${sec_ls[root]}" / "$links" "$extra"
}

# inode_of DIR PATH
inode_of() {
	local i
	for i in "${!exp_path[@]}"; do
		if [ "${exp_path[i]}" = "$2" ]; then
			parse_stat "$1/sec/${sec_stat[$i]}" | cut -f1
			return
		fi
	done
	echo "(not in expectations)"
}

# check_link_groups DIR FORMAT: every name of a hard-link group resolves to one inode.
check_link_groups() {
	local group member first ino
	while read -r -u 3 group; do
		first=
		for member in $group; do
			ino=$(inode_of "$1" "$member")
			first=${first:-$ino}
			expect_eq "inode of $member" "$ino" "$first"
		done
		[ "$first" = - ] && problem "group missing from the image"
		report "[$2] hard links share one inode: $group"
	done 3<"$1/expect.txt.links"
}

# check_xattr_values DIR FORMAT
check_xattr_values() {
	local i=0 path name value
	while IFS=$'\t' read -r -u 3 path name value; do
		expect_eq value "$(hex_of "$1/xattr/$i")" "$value"
		report "[$2] xattr $name on $path"
		i=$((i + 1))
	done 3<"$1/expect.txt.xattrs"
}

# check_sparse DIR FORMAT: zero blocks of the 8 MiB file must be holes, not allocated zeros.
check_sparse() {
	local i blocks
	for i in "${!exp_path[@]}"; do
		[ "${exp_path[i]}" = "$SPARSE_PATH" ] || continue
		IFS=$'\t' read -r _ _ _ _ _ _ _ blocks _ _ < <(parse_stat "$1/sec/${sec_stat[$i]}")
		if [ "$blocks" = - ] || [ "$blocks" -gt "$SPARSE_MAX_SECTORS" ]; then
			problem "Blockcount $blocks sectors, want at most $SPARSE_MAX_SECTORS"
		fi
		report "[$2] $SPARSE_PATH is sparse"
		return
	done
	problem "$SPARSE_PATH is not in the expectations"
	report "[$2] $SPARSE_PATH is sparse"
}

# check_format FORMAT: the whole pipeline for one tar flavour, in its own directory.
check_format() {
	local fmt=$1 dir=$work/$1 img i
	mkdir "$dir" || return
	make_fixture "$dir" "$fmt" || return
	build_image "$dir" "$fmt" || return
	img=$dir/out/fixture-1.rootfs.ext4
	fsck_image "$img" "$fmt"

	exp_path=() exp_type=() exp_mode=() exp_uid=() exp_gid=() exp_size=() exp_sha=()
	exp_target=() sec_stat=() sec_ls=() sec_ea_list=()
	child_count=() subdir_count=() link_group_size=() xattr_names=()
	cmd_file=$dir/debugfs.cmd n_cmds=0
	read_expectations "$dir/expect.txt"
	queue_queries "$dir"
	run_queries "$dir" "$img" "$fmt"

	for i in "${!exp_path[@]}"; do
		check_entry "$dir" "$i"
		report "[$fmt] ${exp_type[i]} ${exp_path[i]}"
	done
	check_root "$dir"
	report "[$fmt] / holds exactly the fixture's top level"
	check_link_groups "$dir" "$fmt"
	check_xattr_values "$dir" "$fmt"
	check_sparse "$dir" "$fmt"
}

for format in ${FIXTURE_FORMATS:-pax gnu ustar}; do
	check_format "$format"
done
finish
