#include "slot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/slot.h"

static bool has_magic(const char *node)
{
	char magic[8];
	int fd = open(node, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO: no wait */
	bool yes;

	if (fd < 0)
		return true; /* let slotcheck_read say why */
	yes = pread(fd, magic, sizeof(magic), 0) != (ssize_t)sizeof(magic) ||
	      memcmp(magic, SLOT_MAGIC, sizeof(magic)) == 0;
	close(fd);
	return yes;
}

int update_slot_read(struct update_ctx *c, char slot, struct update_slot *ret, struct err *e)
{
	const char *node;
	struct err ve = {{0}};
	int rc;

	rc = update_part_path(c, update_slot_part(slot, true), &node, e);
	if (rc < 0)
		return rc;
	if (strlen(node) >= sizeof(ret->node))
		return err_set(e, ENAMETOOLONG, "%s: path too long", node);
	memset(ret, 0, sizeof(*ret));
	strcpy(ret->node, node);
	if (!has_magic(node)) {
		ret->kind = UPDATE_SLOT_EMPTY;
		return 0;
	}
	if (slotcheck_read(node, c->trust_path, &ret->info, &ve) < 0) {
		ret->kind = UPDATE_SLOT_INVALID;
		snprintf(ret->error, sizeof(ret->error), "%s", ve.msg);
		return 0;
	}
	ret->kind = UPDATE_SLOT_VALID;
	return 0;
}

int update_manifest_params(const struct manifest *m, struct verity_params *ret,
			   struct verity_layout *ret_layout, uint8_t ret_root[VERITY_MAX_DIGEST],
			   struct err *e)
{
	struct verity_params p;
	struct verity_layout l;
	uint8_t root[VERITY_MAX_DIGEST];
	size_t root_len;
	int rc;

	rc = manifest_verity_params(m, &p, e);
	if (rc == 0)
		rc = verity_layout(&p, &l, e);
	if (rc < 0)
		return err_prefix(e, rc, "manifest: verity parameters");
	if (verity_hex_decode(m->verity.root_hash, root, sizeof(root), &root_len) < 0 ||
	    root_len != l.digest_size)
		return err_set(e, EINVAL, "manifest: verity.root_hash: expected %u bytes of hex",
			       l.digest_size);
	*ret = p;
	*ret_layout = l;
	memcpy(ret_root, root, root_len);
	return 0;
}
