#!/bin/bash
# Runs every benchmark against the optimised build in $1.
set -eu
B=${1:-build}
dir=$(dirname "$0")
echo "== ext4 population: stele vs mkfs.ext4 -d"
"$dir/rootfs.sh" "$B/stele"
echo "== dm-verity: stele verity vs veritysetup format"
"$dir/verity.sh" "$B/stele"
echo "== boot time to stele: ready (QEMU)"
"$dir/boot.sh" "$B/stele"
echo "== full build: stele vs the scripted pipeline"
"$dir/build.sh" "$B/stele"
echo "== install throughput: stele-update vs dd"
"$dir/install.sh" "$B"
echo "== install to committed, under QEMU"
"$dir/update.sh" "$B/stele"
echo "== the Debian appliance: stele vs mmdebstrap alone, the pipeline, genimage, mkosi"
"$dir/debian.sh" "$B/stele"
echo "== fleet: a poll with nothing new, install over HTTP vs from a file, 1000 devices"
"$dir/fleet.sh" "$B"
