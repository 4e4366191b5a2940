/* The builder-device contract: every value the builder (`stele build`, `stele verify`,
 * `stele state`) and the device programs (stele-init, stele-update) must agree on, defined
 * once. A value written twice drifts; change one here and both sides follow.
 *
 * The one other place that must agree, and cannot include this header, is the GRUB script
 * bootloader/grub.cfg: it names the boot-state variables (CONTRACT_VAR_*), the boot-state
 * file (CONTRACT_ESP_GRUBENV), the slot's boot files (CONTRACT_SLOT_BOOT_*), the variable of
 * CONTRACT_SLOT_BOOT_ENV (CONTRACT_ENV_CMDLINE), the kernel parameters stele-init reads
 * (CONTRACT_CMDLINE_*) and the partition numbers (CONTRACT_PARTNO_*). tests/test-contract.c
 * checks grub.cfg against these. */
#ifndef STELE_LIB_CONTRACT_H
#define STELE_LIB_CONTRACT_H

#include <stddef.h>

/* The GPT partition names (PARTLABEL), in disk order (lib/gpt.h enum gpt_part). */
#define CONTRACT_LABEL_ESP "esp"
#define CONTRACT_LABEL_ROOT_A "root_a"
#define CONTRACT_LABEL_VERITY_A "verity_a"
#define CONTRACT_LABEL_ROOT_B "root_b"
#define CONTRACT_LABEL_VERITY_B "verity_b"
#define CONTRACT_LABEL_DATA "data"
/* Their partition numbers, which grub.cfg uses as (hdN,gptN): the builder writes them in
 * this order. */
#define CONTRACT_PARTNO_ESP 1
#define CONTRACT_PARTNO_ROOT_A 2
#define CONTRACT_PARTNO_ROOT_B 4

/* GPT partition type GUIDs, from the UAPI Discoverable Partitions Specification. */
#define CONTRACT_TYPE_ESP "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
#define CONTRACT_TYPE_VAR "4D21B016-B534-45C2-A9FB-5C16E091FD2D"
#define CONTRACT_TYPE_LINUX "0FC63DAF-8483-4772-8E79-3D69D8477DE4" /* generic Linux data */

/* The architectures a slot may be built for: the profile's and manifest's "arch", uname's
 * machine on the device, and the root and root-verity partition types of each. */
#define CONTRACT_ARCH_X86_64 "x86_64"
#define CONTRACT_ARCH_ARM64 "aarch64"
#define CONTRACT_ARCH_DEFAULT CONTRACT_ARCH_X86_64

struct contract_arch {
	const char *name;
	const char *root_type, *verity_type;
};

/* Every architecture, then a NULL name. */
extern const struct contract_arch contract_arches[];
/* The entry for name, or NULL for an architecture stele does not know. */
const struct contract_arch *contract_arch_find(const char *name);

/* Inside the initramfs (written by builder/initramfs.c, read by stele-init). */
#define CONTRACT_INITRD_INIT "/init"
#define CONTRACT_INITRD_TRUST "/etc/stele/trust.pem"
#define CONTRACT_INITRD_PRODUCT "/etc/stele/product"
#define CONTRACT_INITRD_MODULES "/etc/stele/modules"
#define CONTRACT_INITRD_SYSROOT "/sysroot" /* where stele-init mounts the slot's root */

/* Inside a slot's root file system (written by builder/build.c, read by GRUB and
 * stele-update). */
#define CONTRACT_SLOT_KERNEL "/boot/vmlinuz"
#define CONTRACT_SLOT_INITRD "/boot/initrd.img"
#define CONTRACT_SLOT_BOOT_ENV "/boot/stele.env" /* a GRUB environment block */
#define CONTRACT_ENV_CMDLINE "stele_cmdline"      /* its one variable */
#define CONTRACT_SLOT_TRUST "/etc/stele/trust.pem"
/* with Secure Boot: the db certificate whose signature a bundle's kernel image must carry */
#define CONTRACT_SLOT_SB_DB "/etc/stele/secure-boot-db.crt"
#define CONTRACT_SLOT_HEALTH_JSON "/etc/stele/health.json"
#define CONTRACT_SLOT_HEALTH_DIR "/etc/stele/health.d"
/* Fleet updates (lib/updatecfg.h): how the device polls, and the repository root it trusts */
#define CONTRACT_SLOT_UPDATE_JSON "/etc/stele/update.json"
#define CONTRACT_SLOT_TUF_ROOT "/etc/stele/tuf-root.json"
#define CONTRACT_SLOT_UPDATER "/usr/bin/stele-update"
/* "yes" when the profile asks for console_shell, for the image's init to look for */
#define CONTRACT_SLOT_CONSOLE_SHELL "/etc/stele/console-shell"

/* The files of one slot as `stele build` writes them, NAME.SUFFIX ("minimal-1.0.0.verity");
 * `stele verify` finds the rootfs beside the verity image by them. */
#define CONTRACT_OUT_ROOTFS "rootfs.ext4"
#define CONTRACT_OUT_VERITY "verity"
#define CONTRACT_OUT_MANIFEST "manifest.json"
#define CONTRACT_OUT_SIGNATURE "manifest.sig"

/* The ESP (paths from its root, no leading slash). */
#define CONTRACT_ESP_LOADER "EFI/BOOT/BOOTX64.EFI"
#define CONTRACT_ESP_GRUBENV "EFI/stele/grubenv" /* the boot state (bootloader/bootstate.h) */
/* With Secure Boot, each slot's signed kernel image and GRUB's OpenPGP signature of it. */
#define CONTRACT_ESP_UKI_A "EFI/stele/a.efi"
#define CONTRACT_ESP_UKI_B "EFI/stele/b.efi"
#define CONTRACT_ESP_UKI_SIG ".sig"

/* The running device: what stele-init leaves for stele-update. */
#define CONTRACT_RUN_DIR "/run/stele"
#define CONTRACT_BOOT_JSON CONTRACT_RUN_DIR "/boot.json"
#define CONTRACT_RUN_METRICS CONTRACT_RUN_DIR "/metrics.prom" /* node_exporter textfile */
/* Credentials (secrets given at boot, never in an image): stele-init writes the ones the
 * hypervisor passes into systemd's credential store on tmpfs, where LoadCredential=NAME finds
 * them; busybox images read them at CONTRACT_RUN_CREDENTIALS (a symlink to it). */
#define CONTRACT_RUN_CREDSTORE "/run/credstore"
#define CONTRACT_RUN_CREDENTIALS CONTRACT_RUN_DIR "/credentials"
#define CONTRACT_DMI_ENTRIES "/sys/firmware/dmi/entries" /* SMBIOS type 11: "11-N/raw" */
#define CONTRACT_DATA_DIR "/data" /* the data partition, in the switched root */
/* The machine's own ssl-cert snakeoil pair, on data through /var (as
 * rootfs/systemd/ssl-snakeoil writes it) */
#define CONTRACT_VAR_SNAKEOIL_DIR "/var/lib/stele/ssl"
/* On the data partition (paths from its root). */
#define CONTRACT_DATA_STELE_DIR "/stele"
#define CONTRACT_DATA_ROLLBACK CONTRACT_DATA_STELE_DIR "/min_rollback_index"
#define CONTRACT_DATA_JOURNAL CONTRACT_DATA_STELE_DIR "/journal"
#define CONTRACT_DATA_MACHINE_ID CONTRACT_DATA_STELE_DIR "/machine-id"
/* `stele-update poll`: the TUF metadata it trusts, and its last check */
#define CONTRACT_DATA_TUF CONTRACT_DATA_STELE_DIR "/tuf"
#define CONTRACT_DATA_POLL CONTRACT_DATA_STELE_DIR "/poll.json"
/* `stele provision --secret`: one disk's own credentials (0700 directory, 0600 files, root),
 * which stele-init copies to CONTRACT_RUN_CREDSTORE at every boot */
#define CONTRACT_DATA_CREDENTIALS CONTRACT_DATA_STELE_DIR "/credentials"

/* Kernel parameters: stele.slot and stele.trial come from grub.cfg, stele.debug and
 * stele.timeout from the user. */
#define CONTRACT_CMDLINE_SLOT "stele.slot"
#define CONTRACT_CMDLINE_TRIAL "stele.trial"
/* With Secure Boot the command line is the UKI's own, signed, the same in either slot: it
 * names the root hash, and stele-init finds the slot that holds it (rootfs/README.md). */
#define CONTRACT_CMDLINE_ROOTHASH "stele.roothash"

/* The boot state: a GRUB environment block of these variables (bootloader/bootstate.h). */
#define CONTRACT_ENV_HEADER "# GRUB Environment Block\n"
#define CONTRACT_VAR_PREFIX "STELE_"
#define CONTRACT_VAR_ORDER "STELE_ORDER"
#define CONTRACT_VAR_A_STATE "STELE_A_STATE"
#define CONTRACT_VAR_A_TRIES "STELE_A_TRIES"
#define CONTRACT_VAR_B_STATE "STELE_B_STATE"
#define CONTRACT_VAR_B_TRIES "STELE_B_TRIES"
#define CONTRACT_STATE_GOOD "good" /* the values of CONTRACT_VAR_?_STATE */
#define CONTRACT_STATE_TRIAL "trial"
#define CONTRACT_STATE_BAD "bad"
#define CONTRACT_TRIES_MAX 15 /* boots a slot may have left */

/* The health policy (lib/policy.h): its defaults and bounds, as the profile gives them and
 * the device reads them. */
#define POLICY_DEFAULT_WINDOW 120 /* seconds */
#define POLICY_DEFAULT_TRIES 3
#define POLICY_DEFAULT_TIMEOUT 30 /* a check without "timeout", and every health.d program */
#define POLICY_MIN_WINDOW 1
#define POLICY_MAX_WINDOW 86400
#define POLICY_MIN_TRIES 1
#define POLICY_MAX_TRIES CONTRACT_TRIES_MAX
#define POLICY_MIN_TIMEOUT 1
#define POLICY_MAX_TIMEOUT 3600
#define POLICY_MAX_CHECKS 32

#endif
