/* Unit tests of the builder-device contract (lib/contract.h): the one place that cannot
 * include it, bootloader/grub.cfg, spells the same names, paths and partition numbers; the
 * partition names and numbers agree with lib/gpt.h's order; the architecture table is
 * complete and well formed; the health bounds fit what GRUB can count. A change to one side
 * alone fails here. (tests/test-bootstate.c checks grub.cfg's try ladder and state words.) */
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootloader/bootstate.h"
#include "lib/contract.h"
#include "lib/gpt.h"
#include "tap.h"

static char *read_grub_cfg(void)
{
	const char *top = getenv("TOP");
	char path[PATH_MAX], *cfg = NULL;
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/bootloader/grub.cfg", top && *top ? top : ".");
	fd = open(path, O_RDONLY);
	if (fd >= 0 && fstat(fd, &st) == 0 && (cfg = calloc(1, (size_t)st.st_size + 1)) &&
	    read(fd, cfg, (size_t)st.st_size) != st.st_size) {
		free(cfg);
		cfg = NULL;
	}
	if (fd >= 0)
		close(fd);
	ok(cfg != NULL, "read %s", path);
	return cfg;
}

/* grub.cfg contains the text made from fmt. */
__attribute__((format(printf, 2, 3))) static void cfg_has(const char *cfg, const char *fmt, ...)
{
	char want[512], shown[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	snprintf(shown, sizeof(shown), "%s", want);
	for (char *c = shown; *c; c++) /* one TAP line */
		if (*c == '\n')
			*c = '$';
	if (!ok(cfg && strstr(cfg, want) != NULL, "grub.cfg has: %s", shown))
		printf("#   not found in bootloader/grub.cfg\n");
}

static void test_grub_cfg(void)
{
	char *cfg = read_grub_cfg();

	if (!cfg)
		return;
	/* the boot state: its file on the ESP, its variables */
	cfg_has(cfg, "gpt%d)/%s\"", CONTRACT_PARTNO_ESP, CONTRACT_ESP_GRUBENV);
	cfg_has(cfg, "load_env --skip-sig --file \"$stele_env\" %s %s %s %s %s; then",
		CONTRACT_VAR_ORDER,
		CONTRACT_VAR_A_STATE, CONTRACT_VAR_A_TRIES, CONTRACT_VAR_B_STATE,
		CONTRACT_VAR_B_TRIES);
	cfg_has(cfg, "save_env --file \"$stele_env\" %s\n", CONTRACT_VAR_A_TRIES);
	cfg_has(cfg, "save_env --file \"$stele_env\" %s\n", CONTRACT_VAR_B_TRIES);
	cfg_has(cfg, "for stele_s in $%s; do", CONTRACT_VAR_ORDER);
	/* inside the slot: the command line's block and variable, kernel, initramfs */
	cfg_has(cfg, "load_env --file \"$stele_root%s\" %s\n", CONTRACT_SLOT_BOOT_ENV,
		CONTRACT_ENV_CMDLINE);
	cfg_has(cfg, "linux \"$stele_root%s\" %s=$1 $stele_trial", CONTRACT_SLOT_KERNEL,
		CONTRACT_CMDLINE_SLOT);
	cfg_has(cfg, " $%s\n", CONTRACT_ENV_CMDLINE);
	cfg_has(cfg, "initrd \"$stele_root%s\"\n", CONTRACT_SLOT_INITRD);
	cfg_has(cfg, "set stele_trial=\"%s=1\"", CONTRACT_CMDLINE_TRIAL);
	/* which partitions hold each slot's root */
	cfg_has(cfg, "stele_try a %d \"$%s\" \"$%s\"", CONTRACT_PARTNO_ROOT_A, CONTRACT_VAR_A_STATE,
		CONTRACT_VAR_A_TRIES);
	cfg_has(cfg, "stele_try b %d \"$%s\" \"$%s\"", CONTRACT_PARTNO_ROOT_B, CONTRACT_VAR_B_STATE,
		CONTRACT_VAR_B_TRIES);
	/* Secure Boot: each slot's kernel image on the ESP, as the build and stele-init name it */
	{
		size_t n = strlen(CONTRACT_ESP_UKI_A) - strlen("a.efi");

		ok(strcmp(CONTRACT_ESP_UKI_A + n, "a.efi") == 0 &&
			   strncmp(CONTRACT_ESP_UKI_B, CONTRACT_ESP_UKI_A, n) == 0 &&
			   strcmp(CONTRACT_ESP_UKI_B + n, "b.efi") == 0,
		   "the slots' kernel images differ only in the slot's name");
		cfg_has(cfg, "set root=\"($stele_disk,gpt%d)\"", CONTRACT_PARTNO_ESP);
		cfg_has(cfg, "chainloader \"/%.*s$1.efi\"", (int)n, CONTRACT_ESP_UKI_A);
	}
	cfg_has(cfg, "stele_boot a %d %s", CONTRACT_PARTNO_ROOT_A, CONTRACT_STATE_GOOD);
	cfg_has(cfg, "stele_boot b %d %s", CONTRACT_PARTNO_ROOT_B, CONTRACT_STATE_GOOD);
	free(cfg);
}

/* The labels in lib/gpt.h's table are the contract's, in disk order, and the partition
 * numbers grub.cfg uses are those positions. */
static void test_partitions(void)
{
	static const char *const labels[] = {CONTRACT_LABEL_ESP,    CONTRACT_LABEL_ROOT_A,
					     CONTRACT_LABEL_VERITY_A, CONTRACT_LABEL_ROOT_B,
					     CONTRACT_LABEL_VERITY_B, CONTRACT_LABEL_DATA};

	is_int(GPT_PART_COUNT, 6, "six partitions");
	for (int i = 0; i < GPT_PART_COUNT && i < 6; i++)
		is_str(gpt_part_labels[i], labels[i], "partition %d is %s", i + 1, labels[i]);
	is_int(CONTRACT_PARTNO_ESP, GPT_PART_ESP + 1, "ESP partition number");
	is_int(CONTRACT_PARTNO_ROOT_A, GPT_PART_ROOT_A + 1, "root_a partition number");
	is_int(CONTRACT_PARTNO_ROOT_B, GPT_PART_ROOT_B + 1, "root_b partition number");
}

static int guid_ok(const char *g)
{
	if (!g || strlen(g) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? g[i] != '-' : !(isxdigit((unsigned char)g[i]) &&
					   !islower((unsigned char)g[i])))
			return 0;
	}
	return 1;
}

static void test_arches(void)
{
	const char *fixed[] = {CONTRACT_TYPE_ESP, CONTRACT_TYPE_VAR, CONTRACT_TYPE_LINUX};
	const char *seen[16];
	size_t n = 0;

	for (size_t i = 0; i < 3; i++)
		seen[n++] = fixed[i];
	for (const struct contract_arch *a = contract_arches; a->name; a++) {
		ok(guid_ok(a->root_type), "%s root type is an upper-case GUID", a->name);
		ok(guid_ok(a->verity_type), "%s verity type is an upper-case GUID", a->name);
		ok(contract_arch_find(a->name) == a, "contract_arch_find(\"%s\")", a->name);
		if (n + 2 <= sizeof(seen) / sizeof(seen[0])) {
			seen[n++] = a->root_type;
			seen[n++] = a->verity_type;
		}
	}
	for (size_t i = 0; i < 3; i++)
		ok(guid_ok(fixed[i]), "%s is an upper-case GUID", fixed[i]);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			ok(strcmp(seen[i], seen[j]) != 0, "types %zu and %zu differ", i, j);
	/* the UAPI Discoverable Partitions values */
	is_str(contract_arch_find(CONTRACT_ARCH_X86_64)->root_type,
	       "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", "x86-64 root");
	is_str(contract_arch_find(CONTRACT_ARCH_X86_64)->verity_type,
	       "2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5", "x86-64 root verity");
	is_str(contract_arch_find(CONTRACT_ARCH_ARM64)->root_type,
	       "B921B045-1DF0-41C3-AF44-4C6F280D3FAE", "arm64 root");
	is_str(contract_arch_find(CONTRACT_ARCH_ARM64)->verity_type,
	       "DF3300CE-D69F-4C92-978C-9BFB0F38D820", "arm64 root verity");
	ok(contract_arch_find(CONTRACT_ARCH_DEFAULT) != NULL, "the default architecture is known");
	ok(contract_arch_find("riscv64") == NULL, "an unknown architecture");
	ok(contract_arch_find("x86_64 ") == NULL, "no prefix match");
	ok(contract_arch_find("") == NULL, "empty name");
	ok(contract_arch_find(NULL) == NULL, "NULL name");
}

/* The boot-state block stele writes names the contract's variables, which grub.cfg reads. */
static void test_bootstate_names(void)
{
	struct bootstate s;
	char env[BOOTSTATE_SIZE + 1] = {0};
	const char *vars[] = {CONTRACT_VAR_ORDER "=", CONTRACT_VAR_A_STATE "=" CONTRACT_STATE_GOOD,
			      CONTRACT_VAR_A_TRIES "=", CONTRACT_VAR_B_STATE "=" CONTRACT_STATE_BAD,
			      CONTRACT_VAR_B_TRIES "="};

	bootstate_init(&s, POLICY_DEFAULT_TRIES);
	is_int(bootstate_format(&s, env, NULL), 0, "a fresh disk's boot state");
	ok(strncmp(env, CONTRACT_ENV_HEADER, strlen(CONTRACT_ENV_HEADER)) == 0, "GRUB's header");
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		has_str(env, vars[i], "the block sets %s", vars[i]);
}

static void test_bounds(void)
{
	ok(POLICY_MIN_TRIES >= 1 && POLICY_MAX_TRIES <= CONTRACT_TRIES_MAX,
	   "tries %d..%d within what grub.cfg counts down (%d)", POLICY_MIN_TRIES,
	   POLICY_MAX_TRIES, CONTRACT_TRIES_MAX);
	ok(POLICY_DEFAULT_TRIES >= POLICY_MIN_TRIES && POLICY_DEFAULT_TRIES <= POLICY_MAX_TRIES,
	   "default tries in bounds");
	ok(POLICY_DEFAULT_WINDOW >= POLICY_MIN_WINDOW && POLICY_DEFAULT_WINDOW <= POLICY_MAX_WINDOW,
	   "default window in bounds");
	ok(POLICY_DEFAULT_TIMEOUT >= POLICY_MIN_TIMEOUT &&
		   POLICY_DEFAULT_TIMEOUT <= POLICY_MAX_TIMEOUT,
	   "default check timeout in bounds");
	ok(strncmp(CONTRACT_VAR_ORDER, CONTRACT_VAR_PREFIX, strlen(CONTRACT_VAR_PREFIX)) == 0 &&
		   strncmp(CONTRACT_VAR_B_TRIES, CONTRACT_VAR_PREFIX,
			   strlen(CONTRACT_VAR_PREFIX)) == 0,
	   "every boot-state variable has the prefix");
}

int main(void)
{
	test_grub_cfg();
	test_partitions();
	test_arches();
	test_bootstate_names();
	test_bounds();
	return tap_done();
}
