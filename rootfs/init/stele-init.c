/* stele-init: the initramfs /init of a stele image. It finds the slot GRUB booted, verifies
 * its signed manifest, maps its root through dm-verity, mounts it with the data partition and
 * switches root into it. Any failure prints one line and reboots, so GRUB's try counting moves
 * on to the other slot. The steps, in order, are the table at the bottom; see README.md. */
#include <errno.h>
#include "lib/io.h"
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "lib/contract.h"
#include "lib/err.h"
#include "cmdline.h"
#include "slotfind.h"
#include "console.h"
#include "credentials.h"
#include "dm.h"
#include "grow.h"
#include "modules.h"
#include "rootfs/common/partitions.h"
#include "rootfs/common/slotcheck.h"
#include "sysroot.h"
#include "lib/policy.h"
#include "rootfs/common/watchdog.h"
#include "rootfs/common/util.h"

#define ROLLBACK_PATH SYSROOT_DATA_MNT CONTRACT_DATA_ROLLBACK
#define DM_FALLBACK_NODE "/dev/stele-root"
#define REAL_INIT "/sbin/init"
#define DEBUG_SHELL "/bin/sh"
/* beyond the health window: the time from here until `stele-update health` runs */
#define WATCHDOG_SLACK 60

enum { PART_ROOT, PART_VERITY, PART_DATA, PART_COUNT };

struct init {
	char *const *argv;
	char cmdline[8192];
	struct boot_opts opts;
	struct partition parts[PART_COUNT];
	struct slot_info slot;
	char dm_node[64];
};

static void __attribute__((noreturn)) fail(const char *what, const struct err *e)
{
	console_log("FAILED: %s: %s", what, e->msg);
	if (console_debug() && access(DEBUG_SHELL, X_OK) == 0) {
		console_log("stele.debug: starting %s instead of rebooting", DEBUG_SHELL);
		console_stdio();
		execl(DEBUG_SHELL, "sh", (char *)NULL);
		console_log("executing %s: %s", DEBUG_SHELL, strerror(errno));
	}
	if (getpid() != 1) {
		console_log("not PID 1: exiting instead of rebooting");
		_exit(1);
	}
	console_log("rebooting in 3 seconds");
	sleep(3);
	sync();
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

static int mount_api(const char *type, const char *dir, unsigned long flags, const char *opts,
		     struct err *e)
{
	int rc = util_mkdir(dir, 0755, e);

	if (rc == 0 && mount(type, dir, type, flags, opts) < 0 && errno != EBUSY)
		rc = err_sys(e, errno, "mounting %s on %s", type, dir);
	return rc;
}

static int step_api_fs(struct init *in, struct err *e)
{
	int rc;

	(void)in;
	if (getpid() != 1)
		return err_set(e, EPERM, "stele-init runs as PID 1 in an initramfs, not here");
	rc = mount_api("devtmpfs", "/dev", MS_NOSUID, "mode=0755", e);
	if (rc == 0)
		rc = mount_api("proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, e);
	if (rc == 0)
		rc = mount_api("sysfs", "/sys", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, e);
	console_open();
	return rc;
}

static int step_cmdline(struct init *in, struct err *e)
{
	int rc = io_read_text("/proc/cmdline", in->cmdline, sizeof(in->cmdline), NULL, e);

	if (rc < 0)
		return rc;
	console_set_debug(cmdline_flag(in->cmdline, "stele.debug"));
	console_dbg("kernel command line: %s", in->cmdline);
	return cmdline_parse(in->cmdline, &in->opts, e);
}

static int step_modules(struct init *in, struct err *e)
{
	unsigned n = 0;
	int rc = modules_load_list(CONTRACT_INITRD_MODULES, &n, e);

	(void)in;
	if (rc == 0)
		console_dbg("%u kernel modules from %s", n, CONTRACT_INITRD_MODULES);
	return rc;
}

static int step_partitions(struct init *in, struct err *e)
{
	int rc = 0;

	if (!in->opts.slot) { /* a Secure Boot kernel image: the same in both slots */
		rc = slotfind_by_hash(in->opts.root_hash, CONTRACT_INITRD_TRUST,
				      in->opts.timeout * 1000u, &in->opts.slot, &in->opts.trial, e);
		if (rc < 0)
			return rc;
		console_log("slot %c holds root hash %.16s...%s", in->opts.slot,
			    in->opts.root_hash, in->opts.trial ? ", a trial" : "");
	}
	bool a = in->opts.slot == 'a';
	const char *labels[PART_COUNT] = {
		gpt_part_labels[a ? GPT_PART_ROOT_A : GPT_PART_ROOT_B],
		gpt_part_labels[a ? GPT_PART_VERITY_A : GPT_PART_VERITY_B],
		gpt_part_labels[GPT_PART_DATA],
	};

	/* partitions_find also checks the disk's partition table (lib/gpt.h) */
	rc = partitions_find(labels, PART_COUNT, in->opts.timeout * 1000u, in->parts, e);
	for (int i = 0; rc == 0 && i < PART_COUNT; i++)
		console_dbg("%s is %s", in->parts[i].label, in->parts[i].node);
	return rc;
}

/* A data partition that cannot grow still mounts: the image works at its built size, and
 * the next boot tries again. */
static int step_data(struct init *in, struct err *e)
{
	struct err g = {{0}};
	int rc;

	if (grow_data_partition(&in->parts[PART_DATA], &g) < 0)
		console_log("data: not grown: %s", g.msg);
	rc = sysroot_mount_data(in->parts[PART_DATA].node, SYSROOT_DATA_MNT, e);
	if (rc == 0 && grow_data_fs(&in->parts[PART_DATA], SYSROOT_DATA_MNT, &g) < 0)
		console_log("data: filesystem not grown: %s", g.msg);
	return rc;
}

static int check_device(const struct manifest *m, struct err *e)
{
	char product[128];
	struct utsname u;
	int rc;

	rc = io_read_text(CONTRACT_INITRD_PRODUCT, product, sizeof(product), NULL, e);
	if (rc < 0)
		return rc;
	io_chomp(product);
	if (uname(&u) < 0)
		return err_sys(e, errno, "uname");
	rc = slotcheck_compat(m, product, u.machine, e);
	return rc < 0 ? rc : slotcheck_rollback(m, ROLLBACK_PATH, e);
}

static int step_verify(struct init *in, struct err *e)
{
	const char *node = in->parts[PART_VERITY].node;
	int rc;

	rc = slotcheck_read(node, CONTRACT_INITRD_TRUST, &in->slot, e);
	/* the signed command line's root hash, when it has one, is the only one to mount */
	if (rc == 0 && in->opts.root_hash[0] &&
	    strcmp(in->slot.m.verity.root_hash, in->opts.root_hash) != 0)
		rc = err_set(e, EPERM, "its root hash %.64s is not the kernel image's %.64s",
			     in->slot.m.verity.root_hash, in->opts.root_hash);
	if (rc == 0)
		rc = check_device(&in->slot.m, e);
	if (rc < 0)
		return err_prefix(e, rc, "slot %c", in->opts.slot);
	console_dbg("signed by %s: %s %s, rollback index %llu", in->slot.signer,
		    in->slot.m.product, in->slot.m.version,
		    (unsigned long long)in->slot.m.rollback_index);
	return 0;
}

/* A trial boot runs under the watchdog: it stays armed across switch_root (closed without
 * the magic 'V') until `stele-update health --commit` stops it, so a hang ends in a reset and
 * GRUB's try counting moves on. Without a watchdog, or with one that refuses, the trial still
 * boots (a panic or a failed check still falls back), so this step never fails the boot. */
static int step_watchdog(struct init *in, struct err *e)
{
	struct policy p;
	unsigned timeout;
	int rc;

	if (!in->opts.trial)
		return 0;
	policy_init(&p);
	rc = policy_read_slot(in->parts[PART_VERITY].node, &in->slot.header, &p, e);
	if (rc < 0)
		console_log("trial: health policy unreadable (%s), window %u s", e->msg, p.window);
	timeout = p.window + WATCHDOG_SLACK;
	rc = watchdog_arm(WATCHDOG_PATH, timeout, e);
	if (rc == -ENOENT)
		console_log("trial boot without a watchdog (no %s)", WATCHDOG_PATH);
	else if (rc < 0)
		console_log("trial boot without a watchdog: %s", e->msg);
	else
		console_log("trial boot: watchdog armed, %u s", timeout);
	return 0;
}

static int verity_target(struct init *in, struct dm_target *ret, struct err *e)
{
	const struct manifest *m = &in->slot.m;
	struct dm_verity_args a = {
		.data_dev = in->parts[PART_ROOT].dev, .hash_dev = in->parts[PART_VERITY].dev,
		.data_block_size = m->verity.data_block_size,
		.hash_block_size = m->verity.hash_block_size,
		.data_blocks = m->verity.data_blocks, .algorithm = m->verity.algorithm,
		.root_hash = m->verity.root_hash, .salt = m->verity.salt,
		.mode = in->opts.verity_mode,
	};
	uint64_t root_size;
	int fd, rc;

	fd = open(in->parts[PART_ROOT].node, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "%s", in->parts[PART_ROOT].node);
	rc = blockdev_size(fd, in->parts[PART_ROOT].node, &root_size, e);
	close(fd);
	if (rc == 0)
		rc = slotcheck_geometry(&in->slot, root_size, &a.hash_start_block, e);
	return rc < 0 ? rc : dm_verity_target(&a, ret, e);
}

static int step_verity(struct init *in, struct err *e)
{
	char name[32], uuid[64];
	struct dm_target t;
	dev_t dev;
	int rc;

	snprintf(name, sizeof(name), "stele-root-%c", in->opts.slot);
	snprintf(uuid, sizeof(uuid), "STELE-%c-%.32s", in->opts.slot, in->slot.m.verity.root_hash);
	rc = verity_target(in, &t, e);
	if (rc < 0)
		return rc;
	console_dbg("table: 0 %llu %s %s", (unsigned long long)t.sectors, t.type, t.params);
	rc = dm_create(name, uuid, &t, &dev, e);
	if (rc == 0)
		rc = dm_node(dev, DM_FALLBACK_NODE, in->dm_node, sizeof(in->dm_node), e);
	return rc;
}

/* Secrets come at boot, never in an image: the disk's own (`stele provision`, on data) and
 * what the hypervisor passes (SMBIOS type 11) go to the new root's /run (tmpfs); of two of
 * one name the disk's wins. None is no error; a malformed one is left out with a warning,
 * and so is a failure to keep them: the system boots either way. */
static void import_credentials(void)
{
	static const struct {
		const char *what, *from;
		int (*import)(const char *, const char *, unsigned *, unsigned *, struct err *);
	} sources[] = {
		{"from the data partition", SYSROOT_DATA_MNT CONTRACT_DATA_CREDENTIALS,
		 credentials_import_dir},
		{"from the hypervisor", CONTRACT_DMI_ENTRIES, credentials_import},
	};

	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		struct err e = {{0}};
		unsigned n = 0, skipped = 0;

		if (sources[i].import(sources[i].from, SYSROOT_DIR, &n, &skipped, &e) < 0)
			console_log("WARNING: credentials %s: %s", sources[i].what, e.msg);
		if (skipped)
			console_log("WARNING: %u malformed credential%s %s left out", skipped,
				    skipped == 1 ? "" : "s", sources[i].what);
		if (n)
			console_log("%u credential%s %s in " CONTRACT_RUN_CREDSTORE, n,
				    n == 1 ? "" : "s", sources[i].what);
	}
}

static int step_sysroot(struct init *in, struct err *e)
{
	int rc = sysroot_mount_root(in->dm_node, SYSROOT_DIR, e);

	if (rc == 0)
		rc = sysroot_mount_tmpfs(SYSROOT_DIR, e);
	if (rc == 0)
		import_credentials(); /* data is still at SYSROOT_DATA_MNT */
	return rc < 0 ? rc : sysroot_attach_data(SYSROOT_DIR, SYSROOT_DATA_MNT, e);
}

static int step_record(struct init *in, struct err *e)
{
	const struct boot_record b = {
		.slot = in->opts.slot, .version = in->slot.m.version,
		.product = in->slot.m.product, .root_hash = in->slot.m.verity.root_hash,
		.rollback_index = in->slot.m.rollback_index, .trial = in->opts.trial,
	};

	return sysroot_write_boot_record(SYSROOT_DIR, &b, e);
}

static int step_switch(struct init *in, struct err *e)
{
	console_log("slot %c verified, version %s, root hash %s", in->opts.slot,
		    in->slot.m.version, in->slot.m.verity.root_hash);
	return sysroot_switch(SYSROOT_DIR, REAL_INIT, in->argv, e);
}

static const struct step {
	const char *what;
	int (*run)(struct init *in, struct err *e);
} steps[] = {
	{"mounting /dev, /proc and /sys", step_api_fs},
	{"reading the kernel command line", step_cmdline},
	{"loading kernel modules", step_modules},
	{"finding the partitions", step_partitions},
	{"mounting the data partition", step_data},
	{"verifying the slot", step_verify},
	{"arming the watchdog", step_watchdog},
	{"setting up dm-verity", step_verity},
	{"mounting the root", step_sysroot},
	{"writing " CONTRACT_BOOT_JSON, step_record},
	{"switching root", step_switch},
};

int main(int argc, char *argv[])
{
	static struct init in; /* PID 1 for the whole boot; the manifest is large for a stack */
	struct err e = {{0}};

	(void)argc;
	in.argv = argv;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (steps[i].run(&in, &e) < 0)
			fail(steps[i].what, &e);
	err_set(&e, EINVAL, "%s returned", REAL_INIT);
	fail("switching root", &e);
}
