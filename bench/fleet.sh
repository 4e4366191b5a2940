#!/bin/bash
# Benchmark: fleet updates from a static repository (docs/fleet.md), served by nginx on
# 127.0.0.1 (lighttpd when nginx is missing), with its access log counting every request and
# every byte on the wire (headers included: nginx's $bytes_sent).
#   1. A poll with nothing new: requests, bytes on the wire and CPU time of one
#      `stele-update poll --once` (median of RUNS) on a device that is up to date.
#      Targets: one request for timestamp.json, under 2 KiB, under 20 ms of CPU.
#   2. An install streamed over HTTP on loopback (`poll`) against `install FILE` of the same
#      bundle into the same partitions (best of RUNS each). Target: at most 1.1x.
#   3. CLIENTS simulated devices (the same client code in a host loop, each with its own
#      machine id and TUF store) polling one server: requests and bytes per device and for
#      the cycle, which must not depend on the device (static files: no per-client work).
# stele-update runs in its test mode (files for the partitions). Usage:
#   bench/fleet.sh [BUILD_DIR] [RUNS] [CLIENTS]
set -eu
B=${1:-build}
RUNS=${2:-5}
CLIENTS=${3:-1000}
top=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "$B" && pwd)
work=${BENCH_WORK:-$top/bench/work}/fleet
rm -rf "$work"
mkdir -p "$work"
cd "$work"
gcc -std=gnu11 -D_GNU_SOURCE -I"$top" -o mkbundle "$top/tests/mkbundle.c" \
	"$top/builder/outputs/bundlewrite.c" "$top/builder/outputs/pass.c" "$top/builder/fileutil.c" \
	"$top/lib/bundle.c" "$top/lib/hash.c" "$top/lib/verity.c" "$top/lib/io.c" "$top/lib/input.c" \
	"$top/lib/err.c" -lcrypto -lcjson -lpthread
"$B/stele" keygen keys >/dev/null
mkdir -p tree/usr/lib
head -c 200M /dev/urandom >tree/usr/lib/blob # a dense 256 MiB rootfs: the install's worst case
for v in 1.0.0 2.0.0; do
	echo "$v" >tree/usr/lib/version
	printf '{ "product": "bench", "version": "%s", "rollback_index": %s, "base": { "dir": "tree" }, "rootfs": { "size": "256M" } }\n' \
		$v "${v%%.*}" >p.json
	"$B/stele" build p.json -o out --keys keys -q
	o=out/bench-$v
	./mkbundle bench-$v.bundle $o.manifest.json $o.manifest.sig $o.verity $o.rootfs.ext4
done
rh() { grep -o '"root_hash"[^,]*' "out/bench-$1.manifest.json" | head -1 | grep -o '[0-9a-f]\{64\}'; }
"$B/stele" repo init repo >/dev/null
"$B/stele" publish repo bench-1.0.0.bundle bench-2.0.0.bundle --channel stable >/dev/null

port=$((20000 + RANDOM % 30000))
if command -v nginx >/dev/null; then
	server=nginx
	mkdir -p ngx/tmp
	cat >ngx/nginx.conf <<EOF
worker_processes 1;
pid $work/ngx/nginx.pid;
error_log $work/ngx/error.log;
daemon off;
events { worker_connections 1024; }
http {
	log_format fleet '\$request_uri \$status \$bytes_sent';
	access_log $work/ngx/access.log fleet;
	client_body_temp_path $work/ngx/tmp; proxy_temp_path $work/ngx/tmp;
	fastcgi_temp_path $work/ngx/tmp; uwsgi_temp_path $work/ngx/tmp; scgi_temp_path $work/ngx/tmp;
	server { listen 127.0.0.1:$port; root $work/repo; }
}
EOF
	nginx -c "$work/ngx/nginx.conf" &
	spid=$!
	log=ngx/access.log
else
	server=lighttpd
	cat >l.conf <<EOF
server.document-root = "$work/repo"
server.bind = "127.0.0.1"
server.port = $port
server.stat-cache-engine = "disable"
server.modules = ("mod_accesslog")
accesslog.filename = "$work/access.log"
accesslog.format = "%U %>s %O"
EOF
	lighttpd -D -f l.conf &
	spid=$!
	log=access.log
fi
trap 'kill $spid 2>/dev/null' EXIT
sleep 1
echo "{\"url\": \"http://127.0.0.1:$port\", \"channel\": \"stable\"}" >update.json

newdev() { # newdev DIR VERSION: a device running VERSION in slot a
	local d=$1
	rm -rf "$d"
	mkdir -p "$d/data/stele"
	truncate -s 272M "$d/root_a" "$d/root_b"
	truncate -s 8M "$d/verity_a" "$d/verity_b"
	grub-editenv "$d/grubenv" create
	grub-editenv "$d/grubenv" set STELE_ORDER="a b" STELE_A_STATE=good STELE_A_TRIES=3 \
		STELE_B_STATE=bad STELE_B_TRIES=0
	echo "{\"slot\": \"a\", \"version\": \"$2\", \"product\": \"bench\", \"root_hash\": \"$(rh "$2")\", \"rollback_index\": ${2%%.*}, \"trial\": false}" >"$d/boot.json"
	echo '{"window": 60, "tries": 3, "checks": []}' >"$d/health.json"
}
upd() { # upd DIR ARGS...
	local d=$1
	shift
	"$B/stele-update" "$@" --state "$d/grubenv" --trust keys/ca.crt --booted-json "$d/boot.json" \
		--part root_a="$d/root_a" --part verity_a="$d/verity_a" \
		--part root_b="$d/root_b" --part verity_b="$d/verity_b" \
		--data "$d/data" --health-json "$d/health.json" --update-json update.json \
		--tuf-root repo/1.root.json
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
best() { sort -n | head -1; }
reqs() { wc -l <"$log"; }
bytes() { awk '{ s += $3 } END { print s + 0 }' "$log"; }

echo "== $server on 127.0.0.1:$port; RUNS=$RUNS, CLIENTS=$CLIENTS"
# 1. nothing new
newdev idle 2.0.0
upd idle poll --once --machine-id idle >/dev/null # the first poll fills the store
cpu=()
for r in $(seq "$RUNS"); do
	: >"$log"
	t=$( { TIMEFORMAT='%U %S'; time upd idle poll --once --machine-id idle >/dev/null; } 2>&1)
	cpu+=("$(echo "$t" | awk '{ printf "%.1f", ($1 + $2) * 1000 }')")
	n_req=$(reqs) n_bytes=$(bytes)
done
printf 'poll, nothing new: %d requests (%s), %d bytes on the wire, CPU %s ms (median of %d)\n' \
	"$n_req" "$(awk '{ printf "%s %s; ", $1, $2 }' "$log")" "$n_bytes" \
	"$(printf '%s\n' "${cpu[@]}" | median)" "$RUNS"

# 2. streamed vs local (from the file, which skips the bundle's holes, and from a pipe, which
# reads every byte as a download must)
local_t=() pipe_t=() http_t=()
for r in $(seq "$RUNS"); do
	newdev dev 1.0.0
	sync
	t0=$(date +%s.%N)
	upd dev install bench-2.0.0.bundle >/dev/null
	local_t+=("$(echo "$(date +%s.%N) - $t0" | bc -l)")
	newdev dev 1.0.0
	sync
	t0=$(date +%s.%N)
	cat bench-2.0.0.bundle | upd dev install - >/dev/null
	pipe_t+=("$(echo "$(date +%s.%N) - $t0" | bc -l)")
	newdev dev 1.0.0
	sync
	: >"$log"
	t0=$(date +%s.%N)
	upd dev poll --once --machine-id m1 >/dev/null
	http_t+=("$(echo "$(date +%s.%N) - $t0" | bc -l)")
	grep -q STELE_B_STATE=trial <(grub-editenv dev/grubenv list) || { echo "the HTTP install failed"; exit 1; }
done
lt=$(printf '%s\n' "${local_t[@]}" | best) ht=$(printf '%s\n' "${http_t[@]}" | best)
pt=$(printf '%s\n' "${pipe_t[@]}" | best)
printf 'install of a %s MB bundle: %.2f s from a local file, %.2f s from a pipe, %.2f s streamed over HTTP (whole poll): ratio to the file %.2f (target <= 1.1), to the pipe %.2f\n' \
	"$(($(stat -c %s bench-2.0.0.bundle) / 1000000))" "$lt" "$pt" "$ht" "$(echo "$ht / $lt" | bc -l)" \
	"$(echo "$ht / $pt" | bc -l)"

# 3. a fleet of CLIENTS on 1.0.0 with a wave at 0%: every one checks, none downloads
"$B/stele" publish repo bench-2.0.0.bundle --channel wave --waves 1@1d >/dev/null
echo "{\"url\": \"http://127.0.0.1:$port\", \"channel\": \"wave\"}" >update.json
newdev fleet 1.0.0
: >"$log"
t0=$(date +%s.%N)
for i in $(seq "$CLIENTS"); do
	rm -rf fleet/data/stele/tuf
	upd fleet poll --once --machine-id "machine-$i" >/dev/null
done
t=$(echo "$(date +%s.%N) - $t0" | bc -l)
printf '%d devices, first poll each (no store): %d requests, %d bytes on the wire (%.1f requests and %d bytes per device; %.1f polls/s from one host loop)\n' \
	"$CLIENTS" "$(reqs)" "$(bytes)" "$(echo "$(reqs) / $CLIENTS" | bc -l)" "$(($(bytes) / CLIENTS))" \
	"$(echo "$CLIENTS / $t" | bc -l)"
printf 'distinct responses served: %d (the same files for every device: no per-client work)\n' \
	"$(awk '{ print $1, $2, $3 }' "$log" | sort -u | wc -l)"
: >"$log"
for i in $(seq "$CLIENTS"); do
	upd fleet poll --once --machine-id "machine-$i" >/dev/null
done
printf '%d devices, a second poll each (nothing new): %d requests, %d bytes on the wire\n' \
	"$CLIENTS" "$(reqs)" "$(bytes)"
