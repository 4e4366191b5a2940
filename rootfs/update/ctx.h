/* What every stele-update command works on: the running slot (/run/stele/boot.json, written
 * by stele-init), the partitions found by PARTLABEL, the boot state on the ESP and the data
 * partition. The testing options replace each of them with a file, so the commands can run
 * on a host; in that test mode nothing is mounted, rebooted or looked up with libblkid, and
 * /dev/watchdog is never opened. */
#ifndef STELE_UPDATE_CTX_H
#define STELE_UPDATE_CTX_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/contract.h"
#include "lib/err.h"
#include "rootfs/common/partitions.h"

#define UPDATE_ESP_DIR CONTRACT_RUN_DIR "/esp" /* where stele-update mounts the ESP */

/* lib/gpt.h's partitions, so gpt_part_labels[] names them */
enum update_part {
	UPDATE_PART_ESP = GPT_PART_ESP,
	UPDATE_PART_ROOT_A = GPT_PART_ROOT_A,
	UPDATE_PART_VERITY_A = GPT_PART_VERITY_A,
	UPDATE_PART_ROOT_B = GPT_PART_ROOT_B,
	UPDATE_PART_VERITY_B = GPT_PART_VERITY_B,
	UPDATE_PART_DATA = GPT_PART_DATA,
	UPDATE_PART_COUNT = GPT_PART_COUNT
};

/* /run/stele/boot.json */
struct update_boot {
	char slot;
	char version[65], product[65], root_hash[129];
	uint64_t rollback_index;
	bool trial;
};

struct update_ctx {
	/* set by update_ctx_init, replaced by the testing options */
	const char *state_path; /* NULL: EFI/stele/grubenv on the ESP, mounted when needed */
	const char *trust_path, *boot_json, *health_json, *health_dir;
	const char *sb_db_path; /* the running image's Secure Boot db certificate (absent: the
				 * device boots without Secure Boot) */
	const char *esp_dir;    /* test mode: a directory standing for the mounted ESP */
	const char *data_dir;      /* NULL: no journal, no rollback index (test mode) */
	const char *watchdog_path; /* NULL: none */
	const char *part[UPDATE_PART_COUNT];
	const char *target_root, *target_verity; /* the slot that is not booted */
	const char *disk; /* test mode: a disk image whose partition table is checked */
	/* poll (test mode): its config, root, machine id, metrics file and clock */
	const char *update_json, *tuf_root, *machine_id, *metrics;
	int64_t now;
	bool test_mode;
	bool progress; /* stderr is a terminal */

	/* loaded on demand */
	bool have_boot, have_parts, esp_mounted, esp_rw;
	struct update_boot boot;
	struct partition found[UPDATE_PART_COUNT];
	char esp_state[PATH_MAX];
};

void update_ctx_init(struct update_ctx *c);
/* Unmounts the ESP if this process mounted it. */
void update_ctx_close(struct update_ctx *c);

/* The label of a partition ("verity_b"). */
const char *update_part_label(enum update_part p);
/* The partition of a slot: root (verity false) or verity. */
enum update_part update_slot_part(char slot, bool verity);
/* Checks the partition table before a command touches the disk (lib/gpt.h: partitions
 * inside the disk, none overlapping, each label once): on the device, that of the disk the
 * partitions are found on (partitions_find); in test mode, that of --disk, if given. */
int update_disk_check(struct update_ctx *c, struct err *e) __attribute__((warn_unused_result));
/* Its device node (or the file standing in for it). */
int update_part_path(struct update_ctx *c, enum update_part p, const char **ret, struct err *e);
/* The running slot, from boot.json. */
int update_booted(struct update_ctx *c, const struct update_boot **ret, struct err *e);

char update_other_slot(char slot);
/* dir + name into buf, or -ENAMETOOLONG. */
int update_join(char *buf, size_t size, const char *dir, const char *name, struct err *e);
/* Appends to the journal; a failure is only a warning on stderr (the journal records what
 * happened, it must not stop it). */
struct journal_event;
void update_journal(struct update_ctx *c, const struct journal_event *ev);
/* sync() and reboot(RB_AUTOBOOT); in test mode it only says so and returns 0. */
int update_reboot(struct update_ctx *c, struct err *e);

#endif
