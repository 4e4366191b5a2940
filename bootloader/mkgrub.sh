#!/bin/sh
# Builds BOOTX64.EFI: GRUB for x86_64 UEFI with every module stele's script needs and the A/B
# script in a memdisk (like grub-mkstandalone, but reproducible: the memdisk tar has fixed
# owners, modes and times). Usage: mkgrub.sh grub.cfg OUT.EFI [PUBKEY]
# With PUBKEY (an OpenPGP public key, as `stele build` writes it for Secure Boot) GRUB checks
# every file it loads against a detached .sig by that key (check_signatures=enforce), boots
# each slot's signed kernel image from the ESP with chainloader, so the firmware checks its
# Authenticode signature too, and is built without shim (the db key signs it directly).
set -eu
cfg=$1
out=$2
pubkey=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/root/boot/grub"
cp "$cfg" "$tmp/root/boot/grub/grub.cfg"
tar --format=ustar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
	--mode=u=rw,go=r -C "$tmp/root" -cf "$tmp/memdisk.tar" boot
cat >"$tmp/early.cfg" <<'CFG'
set root=(memdisk)
set prefix=(memdisk)/boot/grub
CFG
set --
if [ -n "$pubkey" ]; then
	echo 'set stele_uki=1' >>"$tmp/early.cfg"
	set -- --disable-shim-lock --pubkey "$pubkey" chain pgp gcry_sha256 gcry_rsa
fi
grub-mkimage -O x86_64-efi -p '(memdisk)/boot/grub' -c "$tmp/early.cfg" -m "$tmp/memdisk.tar" \
	-o "$out.tmp" \
	memdisk tar part_gpt part_msdos fat ext2 normal linux boot loadenv regexp test echo \
	sleep reboot halt configfile search efi_gop efi_uga all_video gzio true "$@"
mv "$out.tmp" "$out"
