#!/bin/bash
# Benchmark: the Debian appliance (profiles/debian.json: mmdebstrap + systemd + OpenSSH + the
# cloud kernel) built by stele, cold (no mmdebstrap cache) and warm (cached tree), against:
#   (a) the floor, mmdebstrap alone for the same package set (a tar on stdout);
#   (b) the scripted pipeline: mmdebstrap to a directory, mkfs.ext4 -d, veritysetup format,
#       mkfs.vfat + mcopy, mkfs.ext4 for data, sfdisk, dd;
#   (c) genimage 16 + veritysetup format on the same tree, when genimage is installed;
#   (d) mkosi 14, when installed: reported as it ends (on these hosts it loop-mounts its ESP
#       and the kernel has no vfat).
# mmdebstrap downloads the packages on every run of its own; stele's cold run does too.
# Usage: bench/debian.sh [STELE] [RUNS]
set -eu
STELE=${1:-build/stele}
RUNS=${2:-1}
top=$(cd "$(dirname "$0")/.." && pwd)
STELE=$(cd "$(dirname "$STELE")" && pwd)/$(basename "$STELE")
work=${BENCH_WORK:-$top/bench/work}/debian
mkdir -p "$work"
[ -d "$work/keys" ] || "$STELE" keygen "$work/keys" >/dev/null
pkgs=$(python3 -c "import json;print(','.join(json.load(open('$top/profiles/debian.json'))['base']['mmdebstrap']['include']))")

now() { date +%s.%N; }
best() {
	local b="" t0 t
	for _ in $(seq "$RUNS"); do
		t0=$(now)
		"$@" >/dev/null 2>&1 || { echo "failed"; return; }
		t=$(echo "$(now) - $t0" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
	done
	echo "$b"
}
stele_cold() { rm -rf "$work/cache" "$work/out"; "$STELE" build "$top/profiles/debian.json" -o "$work/out" --keys "$work/keys" --cache "$work/cache" -q; }
stele_warm() { rm -rf "$work/out"; "$STELE" build "$top/profiles/debian.json" -o "$work/out" --keys "$work/keys" --cache "$work/cache" -q; }
floor() { mmdebstrap --quiet --variant=minbase --include="$pkgs" bookworm - >/dev/null; }
tree() { rm -rf "$work/tree"; mmdebstrap --quiet --variant=minbase --include="$pkgs" bookworm "$work/tree"; }
pipeline() {
	local p=$work/pipe slot=1024
	rm -rf "$p" && mkdir -p "$p/esp/EFI/BOOT" "$p/esp/EFI/stele"
	tree
	local size=$(($(du -sm "$work/tree" | cut -f1) * 12 / 10 + 16))
	truncate -s "${size}M" "$p/rootfs.img"
	mkfs.ext4 -q -F -b 4096 -O ^has_journal -d "$work/tree" "$p/rootfs.img"
	veritysetup format "$p/rootfs.img" "$p/verity.img" >/dev/null
	cp "$top/build/BOOTX64.EFI" "$p/esp/EFI/BOOT/"
	head -c 1024 /dev/zero | tr '\0' '#' >"$p/esp/EFI/stele/grubenv"
	truncate -s 64M "$p/esp.img"
	mkfs.vfat -F 32 "$p/esp.img" >/dev/null
	mcopy -i "$p/esp.img" -s "$p/esp/EFI" ::/
	truncate -s 512M "$p/data.img"
	mkfs.ext4 -q -F "$p/data.img"
	truncate -s $((64 + 2 * slot + 2 * 10 + 512 + 2))M "$p/disk.img"
	printf 'label: gpt\nsize=64M, name=esp\nsize=%sM, name=root_a\nsize=10M, name=verity_a\nsize=%sM, name=root_b\nsize=10M, name=verity_b\nsize=512M, name=data\n' \
		$slot $slot | sfdisk -q "$p/disk.img"
	dd if="$p/esp.img" of="$p/disk.img" bs=1M seek=1 conv=notrunc,sparse status=none
	dd if="$p/rootfs.img" of="$p/disk.img" bs=1M seek=65 conv=notrunc,sparse status=none
	dd if="$p/verity.img" of="$p/disk.img" bs=1M seek=$((65 + slot)) conv=notrunc,sparse status=none
	dd if="$p/data.img" of="$p/disk.img" bs=1M seek=$((65 + 2 * slot + 20)) conv=notrunc,sparse status=none
}
genimage_run() {
	local g=$work/genimage
	rm -rf "$g" && mkdir -p "$g/tmp" "$g/out" "$g/in"
	tree
	cat >"$g/genimage.cfg" <<CFG
image rootfs.ext4 { ext4 { use-mke2fs = true extraargs = "-b 4096 -O ^has_journal" } size = 1024M mountpoint = "/" }
image data.ext4 { ext4 { use-mke2fs = true } size = 512M mountpoint = "/nonexistent-data" }
image disk.img {
	hdimage { partition-table-type = "gpt" }
	partition root_a { image = "rootfs.ext4" }
	partition root_b { image = "rootfs.ext4" }
	partition data { image = "data.ext4" }
}
CFG
	mkdir -p "$work/tree/nonexistent-data"
	genimage --rootpath "$work/tree" --tmppath "$g/tmp" --inputpath "$g/in" \
		--outputpath "$g/out" --config "$g/genimage.cfg"
	veritysetup format "$g/out/rootfs.ext4" "$g/out/verity.img" >/dev/null
}

ratio() { [ "$1" = failed ] || [ "$2" = failed ] && echo "-" || echo "$1 / $2" | bc -l | xargs printf '%.2f'; }
echo "best of $RUNS (wall seconds); stele also makes the initramfs, signs, and writes the bundle"
c=$(best stele_cold); w=$(best stele_warm); f=$(best floor); p=$(best pipeline)
printf '%-44s %8s s\n' "stele build, cold (runs mmdebstrap)" "$c" "stele build, warm (cached tree)" "$w" \
	"(a) mmdebstrap alone (tar to /dev/null)" "$f" "(b) mmdebstrap + mkfs/veritysetup/sfdisk/dd" "$p"
printf 'ratios: cold/(a) %s   warm/(a) %s   cold/(b) %s\n' "$(ratio "$c" "$f")" "$(ratio "$w" "$f")" "$(ratio "$c" "$p")"
if command -v genimage >/dev/null; then
	g=$(best genimage_run)
	printf '%-44s %8s s   ratio stele cold/(c) %s\n' "(c) mmdebstrap + genimage + veritysetup" "$g" "$(ratio "$c" "$g")"
else
	echo "(c) genimage: not installed (apt-get install genimage)"
fi
if command -v mkosi >/dev/null; then
	rm -rf "$work/mkosi" && mkdir -p "$work/mkosi"
	printf '[Distribution]\nDistribution=debian\nRelease=bookworm\n[Output]\nFormat=gpt_ext4\nBootable=yes\n[Packages]\nPackages=%s\n' \
		"${pkgs//,/ }" >"$work/mkosi/mkosi.default"
	if (cd "$work/mkosi" && timeout 1800 mkosi build >"$work/mkosi/log" 2>&1); then
		echo "(d) mkosi 14: built (see $work/mkosi/log for its time)"
	else
		echo "(d) mkosi 14: failed: $(grep -m1 -iE 'error|unknown filesystem' "$work/mkosi/log" || tail -n 1 "$work/mkosi/log")"
	fi
else
	echo "(d) mkosi: not installed (apt-get install mkosi)"
fi
