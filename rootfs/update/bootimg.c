#include "bootimg.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/authenticode.h"
#include "lib/contract.h"
#include "lib/io.h"
#include "fault.h"
#include "state.h"

#define SB_DB_MAX 8 /* certificates in the db file */

/* The PEM certificates of path; 0 of them when the file does not exist. */
static int load_db(const char *path, X509 **certs, size_t *ret_n, struct err *e)
{
	FILE *f = fopen(path, "re");
	size_t n = 0;
	X509 *x;

	*ret_n = 0;
	if (!f)
		return errno == ENOENT ? 0 : err_sys(e, errno, "%s", path);
	while (n < SB_DB_MAX && (x = PEM_read_X509(f, NULL, NULL, NULL)))
		certs[n++] = x;
	fclose(f);
	ERR_clear_error();
	if (n == 0)
		return err_set(e, EINVAL, "%s: no PEM certificate", path);
	*ret_n = n;
	return 0;
}

int update_bootimg_check(struct update_ctx *c, const struct update_bundle *b, bool *ret_write,
			 struct err *e)
{
	X509 *db[SB_DB_MAX];
	char signer[256];
	size_t n = 0;
	int rc = load_db(c->sb_db_path, db, &n, e);

	if (rc < 0)
		return rc;
	if (n == 0) { /* no Secure Boot here: GRUB boots the slot's /boot as before */
		*ret_write = false;
		return 0;
	}
	if (!b->uki)
		rc = err_set(e, EPERM, "this device boots with Secure Boot and the bundle carries no "
				       "signed kernel image (build it with \"secure_boot\": true)");
	else
		rc = authenticode_verify(b->uki, b->h.uki_size, db, n, signer, sizeof(signer), e);
	for (size_t i = 0; i < n; i++)
		X509_free(db[i]);
	if (rc < 0)
		return err_prefix(e, rc, "the kernel image (checked against %s)", c->sb_db_path);
	*ret_write = true;
	return 0;
}

/* dir/name, written under name.new first: created, written, fsync'd, renamed. */
static int write_file(int dirfd, const char *dir, const char *name, const uint8_t *buf,
		      size_t len, struct err *e)
{
	char tmp[64];
	int fd, rc;

	snprintf(tmp, sizeof(tmp), "%s.new", name);
	(void)unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return err_sys(e, errno, "creating %s/%s", dir, tmp);
	rc = io_pwrite_full(fd, buf, len, 0, tmp, e);
	if (rc == 0 && fsync(fd) < 0)
		rc = err_sys(e, errno, "fsync %s/%s", dir, tmp);
	close(fd);
	if (rc == 0)
		update_fault_pause("uki");
	if (rc == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		rc = err_sys(e, errno, "renaming %s/%s to %s", dir, tmp, name);
	if (rc < 0)
		(void)unlinkat(dirfd, tmp, 0);
	return rc;
}

int update_bootimg_write(struct update_ctx *c, char slot, const struct update_bundle *b,
			 struct err *e)
{
	const char *esp = NULL, *rel = slot == 'a' ? CONTRACT_ESP_UKI_A : CONTRACT_ESP_UKI_B;
	const char *base = strrchr(rel, '/') + 1;
	char dir[PATH_MAX], img[32], sig[40];
	int dirfd = -1, rc;

	snprintf(img, sizeof(img), "%s", base);
	snprintf(sig, sizeof(sig), "%s" CONTRACT_ESP_UKI_SIG, base);
	rc = update_esp_open(c, &esp, e);
	if (rc == 0 && (size_t)snprintf(dir, sizeof(dir), "%s/%.*s", esp, (int)(base - rel - 1),
					rel) >= sizeof(dir))
		rc = err_set(e, ENAMETOOLONG, "%s: name too long", esp);
	if (rc == 0 && (dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		rc = err_sys(e, errno, "%s", dir);
	/* the old pair first: a 64 MiB ESP has no room for three kernel images */
	if (rc == 0 && ((unlinkat(dirfd, sig, 0) < 0 && errno != ENOENT) ||
			(unlinkat(dirfd, img, 0) < 0 && errno != ENOENT)))
		rc = err_sys(e, errno, "removing slot %c's old kernel image from %s", slot, dir);
	if (rc == 0)
		rc = write_file(dirfd, dir, img, b->uki, b->h.uki_size, e);
	if (rc == 0)
		rc = write_file(dirfd, dir, sig, b->uki_sig, b->h.uki_sig_size, e);
	if (rc == 0 && fsync(dirfd) < 0)
		rc = err_sys(e, errno, "fsync %s", dir);
	if (dirfd >= 0)
		close(dirfd);
	update_esp_close(c);
	return rc < 0 ? err_prefix(e, rc, "writing slot %c's kernel image", slot) : 0;
}
