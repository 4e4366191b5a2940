#include "gptread.h"

#include <errno.h>
#include <libfdisk/libfdisk.h>
#include <stdio.h>
#include <string.h>

int gpt_read(const char *path, struct gpt_part *parts, int *nparts, struct err *e)
{
	struct fdisk_context *cxt = fdisk_new_context();
	struct fdisk_table *tb = NULL;
	struct fdisk_iter *it = NULL;
	struct fdisk_partition *pa;
	unsigned long ssz;
	int r, n = 0;

	if (!cxt)
		return err_set(e, ENOMEM, "out of memory");
	fdisk_disable_dialogs(cxt, 1);
	r = fdisk_assign_device(cxt, path, 1);
	if (r < 0) {
		r = err_sys(e, r, "%s", path);
		goto out;
	}
	if (!fdisk_is_labeltype(cxt, FDISK_DISKLABEL_GPT)) {
		r = err_set(e, EINVAL, "%s: no GPT", path);
		goto out;
	}
	ssz = fdisk_get_sector_size(cxt);
	it = fdisk_new_iter(FDISK_ITER_FORWARD);
	if (!it || fdisk_get_partitions(cxt, &tb) < 0) {
		r = err_set(e, EIO, "%s: cannot read the partitions", path);
		goto out;
	}
	while (fdisk_table_next_partition(tb, it, &pa) == 0 && n < GPT_MAX_PARTS) {
		const char *name = fdisk_partition_get_name(pa);
		struct fdisk_parttype *t = fdisk_partition_get_type(pa);

		snprintf(parts[n].name, sizeof(parts[n].name), "%s", name ? name : "");
		snprintf(parts[n].type, sizeof(parts[n].type), "%s",
			 t ? fdisk_parttype_get_string(t) : "");
		parts[n].start = (uint64_t)fdisk_partition_get_start(pa) * ssz;
		parts[n].size = (uint64_t)fdisk_partition_get_size(pa) * ssz;
		n++;
	}
	*nparts = n;
out:
	fdisk_free_iter(it);
	fdisk_unref_table(tb);
	fdisk_unref_context(cxt);
	return r < 0 ? r : 0;
}

const struct gpt_part *gpt_find(const struct gpt_part *parts, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(parts[i].name, name) == 0)
			return &parts[i];
	return NULL;
}
