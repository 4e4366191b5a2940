#!/bin/bash
# The minimal image written to a larger disk (8 GiB): on the first boot stele-init moves the
# backup GPT to the end and grows the data partition to fill the disk, then its ext4 online;
# /var then has the room. sfdisk finds the new table valid; the next boot changes nothing.
. "$(dirname "$0")/lib.sh"
img=$(fresh_image grow)
built=$(stat -c %s "$img")
truncate -s 8G "$img"
boot "$img" grow
wait_for "stele: ready slot=a version=1.0.0"
ok $? "the image on an 8 GiB disk boots to ready"
since_boot | grep -aq "data: the disk is larger than the image: partition 6 grown"
ok $? "stele-init grew the data partition (image of $((built >> 20)) MiB)"
since_boot | grep -aq "data: growing its ext4"
ok $? "and its filesystem"
send "echo var-kib:\$(df -k /var | awk 'NR==2 { print \$2 }')"
wait_for "var-kib:[0-9]" 60
kib=$(since_boot | grep -ao "var-kib:[0-9]*" | tail -n 1 | cut -d: -f2)
[ "${kib:-0}" -gt $((6 * 1024 * 1024)) ]
ok $? "/var (on data) has more than 6 GiB ($((${kib:-0} >> 20)) GiB)"
! since_boot | grep -aqE '^\[ *[0-9.]+\] EXT4-fs (error|warning)'
ok $? "no ext4 error or warning"
stop
out=$(sfdisk --verify "$img" 2>&1)
case $out in *"No errors detected"*) ok 0 "sfdisk --verify: the moved GPT is valid" ;;
*) ok 1 "sfdisk --verify: the moved GPT is valid"; echo "$out" | sed 's/^/#   /' ;; esac
end=$(sfdisk -d "$img" | sed -n 's/.*start= *\([0-9]*\), size= *\([0-9]*\).*name="data".*/\1 \2/p')
set -- $end
[ $(( ($1 + $2) * 512 )) -gt $(( (8 << 30) - (2 << 20) )) ]
ok $? "the data partition ends within 2 MiB of the disk's end"
boot "$img" grow
wait_for "stele: ready slot=a version=1.0.0"
ok $? "the next boot comes up"
! since_boot | grep -aq "data: the disk is larger"
ok $? "and grows nothing"
finish
