#include "slotcheck.h"
#include "lib/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/rollback.h"
#include "lib/sign.h"
#include "lib/verity.h"
#include "partitions.h"
#include "util.h"

static int read_header(int fd, const char *node, struct slot_header *ret, struct err *e)
{
	uint8_t buf[SLOT_HEADER_SIZE];
	uint64_t size;
	int rc;

	rc = blockdev_size(fd, node, &size, e);
	if (rc == 0)
		rc = io_pread_full(fd, buf, sizeof(buf), 0, "the slot header", e);
	if (rc == 0)
		rc = slot_header_decode(buf, sizeof(buf), size, ret, e);
	return rc;
}

int slotcheck_verify_signature(const char *trust_path, const void *manifest, size_t mlen,
			       const uint8_t *sig, size_t slen, char *signer, size_t signer_len,
			       struct err *e)
{
	const struct sign_verify_opts opts = {.no_time_check = true};
	struct sign_trust *t = NULL;
	int rc;

	rc = sign_trust_load(&trust_path, 1, &t, e);
	if (rc < 0)
		return rc;
	rc = sign_verify(t, manifest, mlen, sig, slen, &opts, signer, signer_len, e);
	sign_trust_free(t);
	return rc;
}

static int read_signed(int fd, const char *trust_path, struct slot_info *s, struct err *e)
{
	const struct slot_header *h = &s->header;
	char *manifest = malloc(h->manifest_size + 1);
	uint8_t *sig = malloc(h->signature_size);
	int rc;

	rc = manifest && sig ? 0 : err_set(e, ENOMEM, "out of memory");
	if (rc == 0)
		rc = io_pread_full(fd, manifest, h->manifest_size, h->manifest_offset, "the manifest", e);
	if (rc == 0)
		rc = io_pread_full(fd, sig, h->signature_size, h->signature_offset, "the signature", e);
	if (rc == 0)
		rc = slotcheck_verify_signature(trust_path, manifest, h->manifest_size, sig, h->signature_size,
			    s->signer, sizeof(s->signer), e);
	if (rc == 0)
		rc = manifest_parse(manifest, h->manifest_size, &s->m, e);
	free(manifest);
	free(sig);
	return rc;
}

int slotcheck_read(const char *verity_node, const char *trust_path, struct slot_info *ret,
		   struct err *e)
{
	struct slot_info s;
	int fd, rc;

	memset(&s, 0, sizeof(s));
	fd = open(verity_node, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO: no wait */
	if (fd < 0)
		return err_sys(e, errno, "%s", verity_node);
	rc = read_header(fd, verity_node, &s.header, e);
	if (rc == 0 && s.header.verity_size >= VERITY_SB_SIZE) /* inside: header_decode bounds it */
		rc = io_pread_full(fd, s.superblock, VERITY_SB_SIZE, s.header.verity_offset,
				   "the verity superblock", e);
	if (rc == 0)
		rc = read_signed(fd, trust_path, &s, e);
	close(fd);
	if (rc < 0)
		return err_prefix(e, rc, "%s", verity_node);
	*ret = s;
	return 0;
}

int slotcheck_compat(const struct manifest *m, const char *product, const char *machine,
		     struct err *e)
{
	if (strcmp(m->product, product) != 0)
		return err_set(e, EPERM, "the slot holds product \"%s\", this device runs \"%s\"",
			       m->product, product);
	if (strcmp(m->arch, machine) != 0)
		return err_set(e, EPERM, "the slot is built for %s, this machine is %s", m->arch,
			       machine);
	return 0;
}

int slotcheck_rollback(const struct manifest *m, const char *min_path, struct err *e)
{
	uint64_t min;
	int rc;

	rc = rollback_read(min_path, &min, e);
	return rc < 0 ? rc : rollback_check(m, min, e);
}

int slotcheck_geometry(const struct slot_info *s, uint64_t root_size, uint64_t *ret_hash_start,
		       struct err *e)
{
	const struct slot_header *h = &s->header;
	struct verity_params p;
	struct verity_layout l;
	int rc;

	rc = manifest_verity_params(&s->m, &p, e);
	if (rc == 0)
		rc = verity_layout(&p, &l, e);
	if (rc < 0)
		return err_prefix(e, rc, "verity parameters");
	rc = slot_check_geometry(h, &p, &l, s->m.rootfs_size, root_size, e);
	if (rc == 0) /* as stele verify and stele-update check it */
		rc = slot_check_superblock(s->superblock, &p, NULL, e);
	if (rc < 0)
		return rc;
	*ret_hash_start = l.tree_offset / p.hash_block_size;
	return 0;
}
