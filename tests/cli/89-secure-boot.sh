#!/bin/bash
# Secure Boot outputs, checked by independent tools: sbverify (the kernel image and GRUB are
# Authenticode-signed by db and by nothing else), objdump and objcopy (the kernel image's
# sections hold the slot's kernel, initramfs and a command line with its root hash), gpg
# (GRUB's detached signature parses as an RSA/SHA-256 signature by the db key's id),
# efitools' sig-list-to-certs (the signature lists hold the certificates), mtools (the ESP
# has them); two builds are byte-identical; missing keys fail before anything is written.
. "$(dirname "$0")/lib.sh"
apt-cache show --no-all-versions busybox-static linux-image-cloud-amd64 >/dev/null 2>&1 ||
	skip_all "no apt lists for the minimal profile"
for t in sbverify sbsign objdump objcopy sig-list-to-certs sign-efi-sig-list mcopy debugfs gpg zstd cpio; do
	command -v $t >/dev/null || skip_all "$t missing"
done
[ -r /usr/lib/systemd/boot/efi/linuxx64.efi.stub ] || skip_all "systemd-boot-efi missing"
cd "$work" || exit 1

run "$STELE" keygen keys
is "keygen: exit 0" "$rc" 0
for k in sb-pk sb-kek sb-db; do
	is "keygen: $k.key is 0600" "$(stat -c %a keys/$k.key)" 600
	has "keygen: $k.crt is an RSA-2048 certificate" "$(openssl x509 -in keys/$k.crt -noout -text)" "Public-Key: (2048 bit)"
done
run "$STELE" keygen keys --secure-boot
is "keygen --secure-boot on a directory that has them: exit 1" "$rc" 1
has "... naming the file" "$err" "keys/sb-pk.key exists"
mkdir half && cp keys/sb-db.key half/
run "$STELE" keygen half
is "keygen into a directory with one Secure Boot key: exit 1, nothing written" "$rc:$(ls half)" "1:sb-db.key"
mkdir old && cp keys/ca.* keys/signing.* old/
run "$STELE" keygen old --secure-boot
is "keygen --secure-boot adds them to a key directory without them" "$rc:$(ls old | wc -l)" "0:10"

cat >p.json <<JSON
{ "extends": "$TOP/profiles/minimal.json", "secure_boot": true, "outputs": ["raw", "bundle"],
  "layout": { "slot_size": "256M", "data_size": "64M" } }
JSON
mkdir nosb && cp keys/ca.* keys/signing.* nosb/
run "$STELE" build p.json -o none --keys nosb -q
is "secure_boot without the Secure Boot keys: exit 1" "$rc" 1
has "... naming the missing key and the command that makes it" "$err" "no Secure Boot key sb-pk (.key and .crt): \`stele keygen --secure-boot nosb\`"
check "... and nothing written" -- test ! -e none/minimal-1.0.0.img
printf '{ "extends": "%s/profiles/minimal.json", "secure_boot": "yes" }\n' "$TOP" >bad.json
run "$STELE" build bad.json -o none --keys keys -q
is "secure_boot must be a boolean: exit 2" "$rc" 2
has "... naming the field" "$err" "secure_boot"
printf '{ "extends": "%s/profiles/minimal.json", "kernel": { "cmdline": "ro stele.roothash=00" } }\n' "$TOP" >rh.json
run "$STELE" build rh.json -o none --keys keys -q
is "kernel.cmdline with stele.roothash: exit 2" "$rc" 2
has "... the build sets it" "$err" "are set by the build and the boot manager"
run env SOURCE_DATE_EPOCH=2524608000 "$STELE" build p.json -o none --keys keys -q
is "secure_boot with a SOURCE_DATE_EPOCH in 2050: exit 1" "$rc" 1
has "... naming the range" "$err" "outside 1970 to 2049"
check "... and nothing written" -- test ! -e none/minimal-1.0.0.img

run "$STELE" build p.json -o a --keys keys -q
is "a Secure Boot build: exit 0" "$rc" 0
[ "$rc" = 0 ] || echo "$err" | sed 's/^/# /'
s=a/minimal-1.0.0
run "$STELE" build p.json -o b --keys keys -q
for f in img bundle efi efi.sig ovmf-vars.fd PK.esl KEK.esl db.esl PK.auth KEK.auth db.auth; do
	check "two builds give byte-identical .$f" -- cmp "$s.$f" "b/minimal-1.0.0.$f"
done

check "sbverify: the kernel image is signed by db" -- sbverify --cert keys/sb-db.crt "$s.efi"
check "sbverify: ... and not by KEK" -- bash -c "! sbverify --cert keys/sb-kek.crt $s.efi"
sections=$(objdump -h "$s.efi" | awk '$2 ~ /^\./ { printf "%s ", $2 }')
has "the kernel image has the UKI sections in order" "$sections" ".osrel .cmdline .uname .initrd .linux"
section() { objcopy -O binary --only-section="$1" "$s.efi" "$2"; }
section .cmdline cmdline.txt
root=$(sed -n 's/.*"root_hash":[[:space:]]*"\([0-9a-f]*\)".*/\1/p' "$s.manifest.json")
is "its command line names the slot's root hash and the profile's arguments" "$(cat cmdline.txt)" \
	"stele.roothash=$root panic=10 ro console=tty0 console=ttyS0"
section .linux linux.bin && debugfs -R "dump /boot/vmlinuz vmlinuz" "$s.rootfs.ext4" 2>/dev/null
check "its .linux is the slot's kernel" -- cmp linux.bin vmlinuz
section .initrd initrd.bin && debugfs -R "dump /boot/initrd.img initrd.img" "$s.rootfs.ext4" 2>/dev/null
check "its .initrd is the slot's initramfs" -- cmp initrd.bin initrd.img
has "the initramfs loads vfat (stele-init reads the boot state on the ESP)" \
	"$(zstd -dc initrd.img | cpio -i --to-stdout etc/stele/modules 2>/dev/null)" "vfat.ko"

packets=$(GNUPGHOME=$work/gnupg gpg --list-packets "$s.efi.sig" 2>&1)
has "gpg reads GRUB's signature: RSA, SHA-256, binary" "$packets" "digest algo 8"
has "... signature class 0x00" "$packets" "sigclass 0x00"
keyid=$(echo "$packets" | sed -n 's/.*keyid \([0-9A-F]*\).*/\1/p' | head -n 1)
[ ${#keyid} = 16 ]
ok $? "... with an issuer key id ($keyid)"

esp="$s.img@@1048576"
mcopy -n -i "$esp" ::/EFI/BOOT/BOOTX64.EFI grub.efi && mcopy -n -i "$esp" ::/EFI/stele/a.efi a.efi &&
	mcopy -n -i "$esp" ::/EFI/stele/a.efi.sig a.efi.sig
check "the ESP holds slot a's kernel image as built" -- cmp a.efi "$s.efi"
check "... and its signature" -- cmp a.efi.sig "$s.efi.sig"
check "sbverify: the ESP's GRUB is signed by db" -- sbverify --cert keys/sb-db.crt grub.efi
check "GRUB has the product's key in and no shim" -- bash -c "strings grub.efi | grep -q check_signatures"

for v in PK KEK db; do
	k=$(echo $v | tr A-Z a-z)
	rm -rf certs && mkdir certs && (cd certs && sig-list-to-certs "../$s.$v.esl" c >/dev/null 2>&1)
	openssl x509 -in keys/sb-$k.crt -outform DER -out want.der
	check "sig-list-to-certs: $v.esl holds sb-$k.crt" -- cmp certs/c-0.der want.der
	check "$v.auth ends with the same list (a signed update of it)" -- \
		bash -c "tail -c $(stat -c %s "$s.$v.esl") $s.$v.auth | cmp - $s.$v.esl"
done
is "the signed updates are readable by all, like the lists" "$(stat -c %a "$s.db.auth")" 644
is "the OVMF store is the template's size" "$(stat -c %s "$s.ovmf-vars.fd")" "$(stat -c %s /usr/share/OVMF/OVMF_VARS_4M.fd)"
check "... with the db certificate in it" -- bash -c "grep -c -F -f <(head -c 64 want.der | od -An -tx1 | tr -d ' \n') <(od -An -tx1 $s.ovmf-vars.fd | tr -d ' \n')"

run "$STELE" run "$s.img" --secure-boot --dry-run --accel tcg
has "stele run --secure-boot: the secboot firmware" "$out" "OVMF_CODE_4M.secboot.fd"
has "... with SMM" "$out" "-machine q35,smm=on"
has "... and a writable store only from SMM" "$out" "driver=cfi.pflash01,property=secure,value=on"
mv "$s.ovmf-vars.fd" elsewhere.fd
run "$STELE" run "$s.img" --secure-boot --dry-run --accel tcg
is "stele run --secure-boot without the store beside the image: exit 2" "$rc" 2
has "... naming it" "$err" "minimal-1.0.0.ovmf-vars.fd"
run "$STELE" run "$s.img" --secure-boot --vars elsewhere.fd --dry-run --accel tcg
is "... --vars FILE names another: exit 0" "$rc" 0
finish
