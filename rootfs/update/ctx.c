#include "ctx.h"
#include "lib/io.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "rootfs/common/watchdog.h"
#include "rootfs/common/util.h"

#define labels gpt_part_labels /* indexed alike: see enum update_part */

void update_ctx_init(struct update_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->trust_path = CONTRACT_SLOT_TRUST;
	c->sb_db_path = CONTRACT_SLOT_SB_DB;
	c->boot_json = CONTRACT_BOOT_JSON;
	c->data_dir = CONTRACT_DATA_DIR;
	c->health_json = CONTRACT_SLOT_HEALTH_JSON;
	c->health_dir = CONTRACT_SLOT_HEALTH_DIR;
	c->watchdog_path = WATCHDOG_PATH;
	c->progress = isatty(STDERR_FILENO);
}

void update_ctx_close(struct update_ctx *c)
{
	if (c->esp_mounted && umount2(UPDATE_ESP_DIR, 0) == 0)
		c->esp_mounted = false;
}

const char *update_part_label(enum update_part p)
{
	return p < UPDATE_PART_COUNT ? labels[p] : "?";
}

enum update_part update_slot_part(char slot, bool verity)
{
	if (slot == 'a')
		return verity ? UPDATE_PART_VERITY_A : UPDATE_PART_ROOT_A;
	return verity ? UPDATE_PART_VERITY_B : UPDATE_PART_ROOT_B;
}

char update_other_slot(char slot)
{
	return slot == 'a' ? 'b' : 'a';
}

int update_join(char *buf, size_t size, const char *dir, const char *name, struct err *e)
{
	if ((size_t)snprintf(buf, size, "%s%s", dir, name) >= size)
		return err_set(e, ENAMETOOLONG, "path too long: %s%s", dir, name);
	return 0;
}

/* A second disk with stele labels (an installer stick) must not be mistaken for this one:
 * the data partition found must be the one mounted at the data directory. */
static int check_same_disk(struct update_ctx *c, struct err *e)
{
	const struct partition *d = &c->found[UPDATE_PART_DATA];
	struct stat data, root;

	if (!c->data_dir || stat(c->data_dir, &data) < 0 || stat("/", &root) < 0 ||
	    data.st_dev == root.st_dev)
		return 0; /* not mounted: nothing to compare with */
	if (data.st_dev != d->dev)
		return err_set(e, ENODEV,
			       "the partition labelled data on %s is not the one "
			       "mounted at %s (another stele disk is attached?)",
			       d->node, c->data_dir);
	return 0;
}

static int find_parts(struct update_ctx *c, struct err *e)
{
	const char *order[UPDATE_PART_COUNT];
	struct partition got[UPDATE_PART_COUNT];
	size_t n = 0;
	int rc;

	/* data first: partitions_find takes the others from the disk of the first */
	order[n++] = labels[UPDATE_PART_DATA];
	for (int i = 0; i < UPDATE_PART_COUNT; i++)
		if (i != UPDATE_PART_DATA)
			order[n++] = labels[i];
	rc = partitions_find(order, n, 0, got, e);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		for (int p = 0; p < UPDATE_PART_COUNT; p++)
			if (strcmp(got[i].label, labels[p]) == 0)
				c->found[p] = got[i];
	c->have_parts = true;
	return check_same_disk(c, e);
}

int update_disk_check(struct update_ctx *c, struct err *e)
{
	if (c->test_mode)
		return c->disk ? partitions_check_table(c->disk, NULL, e) : 0;
	return c->have_parts ? 0 : find_parts(c, e);
}

int update_part_path(struct update_ctx *c, enum update_part p, const char **ret, struct err *e)
{
	int rc;

	if (c->part[p]) {
		*ret = c->part[p];
		return 0;
	}
	if (c->test_mode)
		return err_set(e, ENOENT, "test mode: no file given for %s (--part %s=FILE)",
			       labels[p], labels[p]);
	if (!c->have_parts) {
		rc = find_parts(c, e);
		if (rc < 0)
			return rc;
	}
	*ret = c->found[p].node;
	return 0;
}

static int json_str(const cJSON *o, const char *key, char *out, size_t size, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(v) || strlen(v->valuestring) >= size)
		return err_set(e, EINVAL, "%s: expected a string of at most %zu bytes", key,
			       size - 1);
	strcpy(out, v->valuestring);
	return 0;
}

static int parse_boot(const char *text, struct update_boot *b, struct err *e)
{
	cJSON *doc = cJSON_Parse(text);
	const cJSON *v;
	char slot[4];
	int rc;

	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return err_set(e, EINVAL, "not a JSON object");
	}
	rc = json_str(doc, "slot", slot, sizeof(slot), e);
	if (rc == 0 && strcmp(slot, "a") != 0 && strcmp(slot, "b") != 0)
		rc = err_set(e, EINVAL, "slot: expected \"a\" or \"b\"");
	b->slot = slot[0];
	if (rc == 0)
		rc = json_str(doc, "version", b->version, sizeof(b->version), e);
	if (rc == 0)
		rc = json_str(doc, "product", b->product, sizeof(b->product), e);
	if (rc == 0)
		rc = json_str(doc, "root_hash", b->root_hash, sizeof(b->root_hash), e);
	v = cJSON_GetObjectItemCaseSensitive(doc, "rollback_index");
	if (rc == 0 && (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 0x1p53 ||
			v->valuedouble != (double)(uint64_t)v->valuedouble))
		rc = err_set(e, EINVAL, "rollback_index: expected a non-negative integer");
	if (rc == 0)
		b->rollback_index = (uint64_t)v->valuedouble;
	v = cJSON_GetObjectItemCaseSensitive(doc, "trial");
	if (rc == 0 && v && !cJSON_IsBool(v))
		rc = err_set(e, EINVAL, "trial: expected true or false");
	b->trial = cJSON_IsTrue(v);
	cJSON_Delete(doc);
	return rc;
}

/* --target-root/--target-verity name the slot that is not booted, known only now. */
static void apply_target(struct update_ctx *c)
{
	char t = update_other_slot(c->boot.slot);

	if (c->target_root && !c->part[update_slot_part(t, false)])
		c->part[update_slot_part(t, false)] = c->target_root;
	if (c->target_verity && !c->part[update_slot_part(t, true)])
		c->part[update_slot_part(t, true)] = c->target_verity;
}

int update_booted(struct update_ctx *c, const struct update_boot **ret, struct err *e)
{
	char text[16384];
	struct update_boot b;
	int rc;

	if (!c->have_boot) {
		memset(&b, 0, sizeof(b));
		rc = io_read_text(c->boot_json, text, sizeof(text), NULL, e);
		if (rc == 0 && (rc = parse_boot(text, &b, e)) < 0)
			err_prefix(e, rc, "%s", c->boot_json);
		if (rc < 0)
			return err_prefix(e, rc, "which slot is running");
		c->boot = b;
		c->have_boot = true;
		apply_target(c);
	}
	*ret = &c->boot;
	return 0;
}

void update_journal(struct update_ctx *c, const struct journal_event *ev)
{
	struct err e = {{0}};

	if (c->data_dir && journal_append(c->data_dir, ev, &e) < 0)
		fprintf(stderr, "stele-update: warning: journal: %s\n", e.msg);
}

int update_reboot(struct update_ctx *c, struct err *e)
{
	sync();
	if (c->test_mode) {
		printf("stele-update: test mode: not rebooting\n");
		return 0;
	}
	fflush(NULL);
	if (reboot(RB_AUTOBOOT) < 0)
		return err_sys(e, errno, "reboot");
	return 0;
}
