#!/bin/bash
# Benchmark: a full `stele build` (rootfs, dm-verity, signed manifest, ESP, GPT disk) against
# the pipeline a user would script for the same layout: mkfs.ext4 -d, veritysetup format,
# mkfs.vfat + mcopy, mkfs.ext4 (data), sfdisk, dd. Two trees: the minimal profile's (busybox
# and the Debian cloud kernel, unpacked) and a mmdebstrap minbase bookworm tree plus that
# kernel. Prints best-of-RUNS wall times and the ratio. Usage: bench/build.sh [STELE] [RUNS]
set -eu
STELE=${1:-build/stele}
RUNS=${2:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
STELE=$(cd "$(dirname "$STELE")" && pwd)/$(basename "$STELE")
work=${BENCH_WORK:-$top/bench/work}/build
mkdir -p "$work"
[ -d "$work/keys" ] || "$STELE" keygen "$work/keys" >/dev/null
"$top/bench/rootfs.sh" "$STELE" 1 >/dev/null # makes the minbase tree once
minbase=${BENCH_WORK:-$top/bench/work}/minbase

# the minimal profile's tree on disk, for the pipeline (stele reads the .debs itself)
if [ ! -d "$work/minimal-tree/boot" ]; then
	"$STELE" build "$top/profiles/minimal.json" -o "$work/warm" --keys "$work/keys" -q
	mkdir -p "$work/minimal-tree"
	for d in ~/.cache/stele/busybox-static_*.deb ~/.cache/stele/linux-image-6*.deb; do
		dpkg-deb -x "$d" "$work/minimal-tree"
	done
	ln -sf busybox "$work/minimal-tree/bin/sh"
	mkdir -p "$work/kernel-tree" && dpkg-deb -x ~/.cache/stele/linux-image-6*.deb "$work/kernel-tree"
fi
cat >"$work/minbase.json" <<JSON
{ "product": "minbase", "version": "1", "base": { "dir": "$minbase", "keep_owner": true },
  "files": [ { "src": "$work/kernel-tree/", "dst": "/" } ],
  "kernel": { "modules": ["virtio_pci", "virtio_blk", "dm-verity"], "cmdline": "console=ttyS0" },
  "layout": { "slot_size": "512M" }, "outputs": ["raw"] }
JSON

now() { date +%s.%N; }
best() {
	local b="" t0 t
	for _ in $(seq "$RUNS"); do
		t0=$(now)
		"$@" >/dev/null 2>&1
		t=$(echo "$(now) - $t0" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
	done
	echo "$b"
}

stele_build() { # stele_build PROFILE
	rm -rf "$work/out"
	"$STELE" build "$1" -o "$work/out" --keys "$work/keys" -q
}

# the scripted equivalent: same partition sizes as stele's image
pipeline() { # pipeline TREE SLOT_MIB
	local tree=$1 slot=$2 p=$work/pipe
	rm -rf "$p" && mkdir -p "$p/esp/EFI/BOOT" "$p/esp/EFI/stele"
	local size=$(($(du -sm "$tree" | cut -f1) * 12 / 10 + 16))
	truncate -s "${size}M" "$p/rootfs.img"
	mkfs.ext4 -q -F -b 4096 -O ^has_journal -d "$tree" "$p/rootfs.img"
	veritysetup format "$p/rootfs.img" "$p/verity.img" >/dev/null
	cp "$top/build/BOOTX64.EFI" "$p/esp/EFI/BOOT/"
	head -c 1024 /dev/zero | tr '\0' '#' >"$p/esp/EFI/stele/grubenv"
	truncate -s 64M "$p/esp.img"
	mkfs.vfat -F 32 "$p/esp.img" >/dev/null
	mcopy -i "$p/esp.img" -s "$p/esp/EFI" ::/
	truncate -s 128M "$p/data.img"
	mkfs.ext4 -q -F "$p/data.img"
	truncate -s $((64 + 2 * slot + 2 * 10 + 128 + 2))M "$p/disk.img"
	sfdisk -q "$p/disk.img" <<SF
label: gpt
size=64M, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp
size=${slot}M, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=root_a
size=10M, type=2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5, name=verity_a
size=${slot}M, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=root_b
size=10M, type=2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5, name=verity_b
size=128M, type=4D21B016-B534-45C2-A9FB-5C16E091FD2D, name=data
SF
	dd if="$p/esp.img" of="$p/disk.img" bs=1M seek=1 conv=notrunc,sparse status=none
	dd if="$p/rootfs.img" of="$p/disk.img" bs=1M seek=65 conv=notrunc,sparse status=none
	dd if="$p/verity.img" of="$p/disk.img" bs=1M seek=$((65 + slot)) conv=notrunc,sparse status=none
	dd if="$p/data.img" of="$p/disk.img" bs=1M seek=$((65 + 2 * slot + 20)) conv=notrunc,sparse status=none
}

report() { # report NAME STELE PIPELINE
	printf '%-30s stele %6.2f s   pipeline %6.2f s   ratio stele/pipeline %5.2f\n' "$1" "$2" "$3" \
		"$(echo "$2 / $3" | bc -l)"
}
# the secret scan's share of a build: the seconds the build reports for it (best of RUNS)
# over the best build time (target: under 5%)
scan_share() { # scan_share PROFILE STELE_SECONDS
	local b="" line t
	for _ in $(seq "$RUNS"); do
		rm -rf "$work/out"
		line=$("$STELE" build "$1" -o "$work/out" --keys "$work/keys" 2>&1 | grep 'secrets: ')
		t=$(sed -E 's/.* in ([0-9.]+) s.*/\1/' <<<"$line")
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
	done
	printf '%-30s secret scan %s (%.3f s), %4.1f%% of the build\n' "" \
		"$(sed -E 's/.*secrets: ([0-9.]+ MB).*/\1/' <<<"$line")" "$b" "$(echo "100 * $b / $2" | bc -l)"
}
echo "best of $RUNS; stele also makes the initramfs, signs, and packs the data partition with a journal"
# the pipeline has to unpack the packages too (as root, to keep owners)
minimal_pipeline() {
	rm -rf "$work/mt" && mkdir -p "$work/mt"
	for d in ~/.cache/stele/busybox-static_*.deb ~/.cache/stele/linux-image-6*.deb; do
		dpkg-deb -x "$d" "$work/mt"
	done
	ln -sf busybox "$work/mt/bin/sh"
	pipeline "$work/mt" 512
}
t=$(best stele_build "$top/profiles/minimal.json")
report "minimal profile (debs)" "$t" "$(best minimal_pipeline)"
scan_share "$top/profiles/minimal.json" "$t"
mkdir -p "$work/minbase-tree"
if [ ! -d "$work/minbase-tree/usr" ]; then
	cp -a "$minbase/." "$work/minbase-tree/"
	cp -a "$work/kernel-tree/boot/." "$work/minbase-tree/boot/"
	cp -a "$work/kernel-tree/lib/." "$work/minbase-tree/usr/lib/" # merged /usr
fi
t=$(best stele_build "$work/minbase.json")
report "mmdebstrap minbase + kernel" "$t" "$(best pipeline "$work/minbase-tree" 512)"
scan_share "$work/minbase.json" "$t"
