#include "image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootloader/bootstate.h"
#include "lib/contract.h"
#include "lib/gpt.h"
#include "disk.h"
#include "esp.h"
#include "ext4.h"
#include "builder/fileutil.h"
#include "builder/size.h"
#include "builder/tree.h"

#define MIB (1ULL << 20)

static uint64_t round_up(uint64_t v, uint64_t to)
{
	return (v + to - 1) / to * to;
}

int image_layout(const struct profile *p, uint64_t rootfs_size, uint64_t verity_size,
		 struct image_layout *l, struct err *e)
{
	l->esp = p->layout.esp_size;
	/* a slot must hold later, bigger versions too: 1.5x this one unless the profile says */
	l->slot = p->layout.slot_size ? p->layout.slot_size
				      : round_up(rootfs_size + rootfs_size / 2, 16 * MIB);
	/* the tree of a full slot (1/127 of it for sha256) plus header, manifest, signature */
	l->verity = p->layout.verity_size ? p->layout.verity_size
					  : round_up(l->slot / 64 + 2 * MIB, MIB);
	l->data = p->layout.data_size;
	if (l->esp % MIB || l->slot % MIB || l->verity % MIB || l->data % MIB)
		return err_set(e, EINVAL, "%s: layout: sizes must be multiples of 1 MiB", p->file);
	if (l->esp < PROFILE_ESP_MIN) /* profile_load checks these already; defaults too */
		return err_set(e, EINVAL, "%s: layout.esp_size: FAT32 needs at least 34M", p->file);
	if (rootfs_size > l->slot)
		return err_set(e, ENOSPC, "%s: layout.slot_size: the rootfs (%llu MiB) does not fit "
					  "a slot of %llu MiB", p->file,
			       (unsigned long long)(round_up(rootfs_size, MIB) / MIB),
			       (unsigned long long)(l->slot / MIB));
	if (verity_size > l->verity)
		return err_set(e, ENOSPC, "%s: layout.verity_size: the verity image (%llu KiB) does "
					  "not fit %llu MiB", p->file,
			       (unsigned long long)(verity_size >> 10),
			       (unsigned long long)(l->verity / MIB));
	if (l->data < PROFILE_DATA_MIN)
		return err_set(e, EINVAL, "%s: layout.data_size: at least 16M", p->file);
	return 0;
}

static void sub_seed(const uint8_t seed[SHA256_LEN], const char *what, uint8_t out[SHA256_LEN])
{
	struct sha256_ctx *c = sha256_new();

	sha256_update(c, seed, SHA256_LEN);
	sha256_update(c, what, strlen(what) + 1);
	sha256_final(c, out);
}

static int make_esp(const struct image_in *in, const char *path, uint64_t size, struct err *e)
{
	struct bootstate bs;
	char env[BOOTSTATE_SIZE];
	uint8_t s[SHA256_LEN];
	uint32_t volid;
	int r;

	bootstate_init(&bs, in->p->health.tries);
	r = bootstate_format(&bs, env, e);
	if (r < 0)
		return r;
	sub_seed(in->seed, "esp", s);
	volid = (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3];
	return esp_make(path, size, &in->esp, env, volid, in->epoch, e);
}

static int make_data(const struct image_in *in, const char *path, uint64_t size, struct err *e)
{
	uint8_t seed[SHA256_LEN];
	int r;

	sub_seed(in->seed, "data", seed);
	r = ext4_write_data(path, size, seed, in->epoch, e);
	return r < 0 ? err_prefix(e, r, "the data partition") : 0;
}

/* The partitions of the disk in order, typed for the slot's architecture. */
static int image_parts(const struct image_in *in, const struct image_layout *l,
		       const char *esp, const char *data, struct disk_part parts[6], struct err *e)
{
	const struct contract_arch *a = contract_arch_find(in->p->arch);

	if (!a) /* profile_load accepts only the architectures of contract.h */
		return err_set(e, EINVAL, "%s: arch: \"%s\" has no partition types", in->p->file,
			       in->p->arch);
	const struct disk_part v[] = {
		{gpt_part_labels[GPT_PART_ESP], CONTRACT_TYPE_ESP, l->esp, esp},
		{gpt_part_labels[GPT_PART_ROOT_A], a->root_type, l->slot, NULL},
		{gpt_part_labels[GPT_PART_VERITY_A], a->verity_type, l->verity, in->verity},
		{gpt_part_labels[GPT_PART_ROOT_B], a->root_type, l->slot, NULL},
		{gpt_part_labels[GPT_PART_VERITY_B], a->verity_type, l->verity, NULL},
		{gpt_part_labels[GPT_PART_DATA], CONTRACT_TYPE_VAR, l->data, data},
	};

	memcpy(parts, v, sizeof(v));
	return 0;
}

int image_create(const struct image_in *in, struct image_disk *ret, struct err *e)
{
	struct disk_part parts[6];
	struct stat rs;
	int r;

	ret->fd = -1;
	if (stat(in->rootfs, &rs) < 0)
		return err_sys(e, errno, "%s", in->rootfs);
	r = image_layout(in->p, (uint64_t)rs.st_size, 0, &ret->l, e);
	if (r < 0)
		return r;
	r = image_parts(in, &ret->l, NULL, NULL, parts, e);
	if (r < 0)
		return r;
	return disk_create(in->img, parts, 6, in->seed, &ret->d, &ret->fd, e);
}

uint64_t image_slot_offset(const struct image_disk *d)
{
	return d->d.start[GPT_PART_ROOT_A];
}

void image_disk_close(struct image_disk *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

int image_finish(const struct image_in *in, struct image_disk *d, struct err *e)
{
	struct stat rs, vs;
	struct image_layout l;
	struct disk_part parts[6];
	const char *tmpdir = getenv("TMPDIR");
	char dir[4096], esp[4200], data[4200];
	int r;

	if (stat(in->rootfs, &rs) < 0 || stat(in->verity, &vs) < 0)
		return err_sys(e, errno, "the slot's files");
	r = image_layout(in->p, (uint64_t)rs.st_size, (uint64_t)vs.st_size, &l, e);
	if (r < 0)
		return r;
	snprintf(dir, sizeof(dir), "%s/stele-image-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(dir))
		return err_sys(e, errno, "creating a temporary directory");
	snprintf(esp, sizeof(esp), "%s/esp.img", dir);
	snprintf(data, sizeof(data), "%s/data.ext4", dir);
	r = make_esp(in, esp, l.esp, e);
	if (r == 0)
		r = make_data(in, data, l.data, e);
	if (r == 0)
		r = image_parts(in, &l, esp, data, parts, e);
	if (r == 0)
		r = disk_fill(d->fd, parts, 6, &d->d, e);
	unlink(esp);
	unlink(data);
	rmdir(dir);
	image_disk_close(d);
	return r;
}
