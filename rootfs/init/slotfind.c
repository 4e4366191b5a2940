#include "slotfind.h"

#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "bootloader/bootstate.h"
#include "lib/contract.h"
#include "lib/gpt.h"
#include "rootfs/common/partitions.h"
#include "rootfs/common/slotcheck.h"
#include "console.h"

enum { FIND_VERITY_A, FIND_VERITY_B, FIND_ESP, FIND_COUNT };

/* The boot state, read from the ESP mounted read-only for the moment it takes. */
static int read_state(const char *esp, struct bootstate *ret, struct err *e)
{
	int rc;

	if (mkdir(SLOTFIND_ESP_MNT, 0700) < 0 && errno != EEXIST)
		return err_sys(e, errno, "%s", SLOTFIND_ESP_MNT);
	if (mount(esp, SLOTFIND_ESP_MNT, "vfat", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "codepage=437,iocharset=ascii") < 0)
		return err_sys(e, errno, "mounting the ESP %s", esp);
	rc = bootstate_read(SLOTFIND_ESP_MNT "/" CONTRACT_ESP_GRUBENV, ret, e);
	umount(SLOTFIND_ESP_MNT);
	return rc;
}

int slotfind_by_hash(const char *root_hash, const char *trust_path, unsigned timeout_ms,
		     char *ret_slot, bool *ret_trial, struct err *e)
{
	const char *labels[FIND_COUNT] = {gpt_part_labels[GPT_PART_VERITY_A],
					  gpt_part_labels[GPT_PART_VERITY_B],
					  gpt_part_labels[GPT_PART_ESP]};
	struct partition parts[FIND_COUNT];
	static struct slot_info si; /* large: not on the stack */
	static struct bootstate bs;
	bool match[2] = {false, false}, have_state;
	struct err sub = {{0}};
	char slot = 0;
	int rc = partitions_find(labels, FIND_COUNT, timeout_ms, parts, e);

	if (rc < 0)
		return rc;
	for (int i = 0; i < 2; i++)
		match[i] = slotcheck_read(parts[i].node, trust_path, &si, &sub) == 0 &&
			   strcmp(si.m.verity.root_hash, root_hash) == 0;
	have_state = read_state(parts[FIND_ESP].node, &bs, &sub) == 0;
	if (!have_state)
		console_log("boot state unreadable (%s): not a trial", sub.msg);
	if (match[0] != match[1])
		slot = match[0] ? 'a' : 'b';
	for (size_t i = 0; !slot && match[0] && have_state && i < bs.n_order; i++)
		if (bs.slots[bootstate_slot_index(bs.order[i])].state != BOOTSTATE_BAD)
			slot = bs.order[i];
	if (!slot && match[0])
		slot = 'a';
	if (!slot)
		return err_set(e, ENOENT, "no slot holds root hash %.64s", root_hash);
	*ret_slot = slot;
	*ret_trial = have_state &&
		     bs.slots[bootstate_slot_index(slot)].state == BOOTSTATE_TRIAL;
	return 0;
}
