#include "uki.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/contract.h"
#include "lib/hash.h"
#include "builder/fileutil.h"
#include "builder/secureboot.h"
#include "builder/tree.h"
#include "output.h"

static const char *const var_names[KEYS_SB_COUNT] = {"PK", "KEK", "db"};

int uki_stage(struct build_ctx *b, struct err *e)
{
	struct uki_files *f = &b->files.sb;
	char suffix[32];
	int r = output_stage_file(b, "efi", &f->uki, e);

	if (r == 0)
		r = output_stage_file(b, "efi" CONTRACT_ESP_UKI_SIG, &f->uki_sig, e);
	if (r == 0)
		r = output_stage_file(b, "ovmf-vars.fd", &f->vars, e);
	for (int i = 0; r == 0 && i < KEYS_SB_COUNT; i++) {
		snprintf(suffix, sizeof(suffix), "%s.esl", var_names[i]);
		r = output_stage_file(b, suffix, &f->esl[i], e);
		snprintf(suffix, sizeof(suffix), "%s.auth", var_names[i]);
		if (r == 0)
			r = output_stage_file(b, suffix, &f->auth[i], e);
	}
	return r;
}

/* A file of the tree (symlinks followed) copied to path, for the programs that read it. */
static int tree_extract(struct tree *t, const char *name, const char *path, struct err *e)
{
	struct tree_node *n = tree_resolve(t, name);
	struct tree_reader rd;
	char *buf;
	int r;

	if (!n || n->inode->type != TREE_REG)
		return err_set(e, ENOENT, "%s: not a regular file in the tree", name);
	if (n->inode->size > ESP_FILE_MAX)
		return err_set(e, EFBIG, "%s: larger than %u MiB", name, ESP_FILE_MAX >> 20);
	buf = malloc(n->inode->size ? n->inode->size : 1);
	if (!buf)
		return err_set(e, ENOMEM, "out of memory");
	r = tree_reader_open(t, n->inode, &rd, e);
	if (r == 0) {
		r = tree_reader_pread(&rd, buf, n->inode->size, 0, e);
		tree_reader_close(&rd);
	}
	if (r == 0)
		r = file_write(path, buf, n->inode->size, e);
	free(buf);
	return r;
}

static int load_pem(const char *key_path, const char *cert_path, EVP_PKEY **k, X509 **c,
		    struct err *e)
{
	FILE *f = key_path ? fopen(key_path, "re") : NULL;

	if (key_path) {
		*k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
		if (f)
			fclose(f);
		if (!*k) {
			ERR_clear_error();
			return err_set(e, EINVAL, "%s: not a PEM private key", key_path);
		}
	}
	f = fopen(cert_path, "re");
	*c = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	if (!*c) {
		ERR_clear_error();
		return err_set(e, EINVAL, "%s: not a PEM certificate", cert_path);
	}
	return 0;
}

static int write_buf(const char *path, uint8_t *buf, size_t len, struct err *e)
{
	int r = file_write(path, buf, len, e);

	free(buf);
	return r;
}

/* The kernel image of the slot: made, Authenticode-signed, and signed for GRUB. */
static int make_uki(struct build_ctx *b, const struct sb_keys *k, EVP_PKEY *db,
		    struct err *e)
{
	const char *tmp = getenv("TMPDIR"); /* the build's scratch directory */
	char kernel[4096], initrd[4096], raw[4096], cmdline[2048], osrel[512];
	struct sb_uki_in in = {.stub = SB_STUB, .kernel = kernel, .initrd = initrd,
			       .cmdline = cmdline, .osrel = osrel,
			       .uname = b->art->kernel_version, .epoch = b->o->epoch};
	uint8_t *sig;
	size_t sig_len;
	int r;

	snprintf(kernel, sizeof(kernel), "%s/uki-vmlinuz", tmp ? tmp : "/tmp");
	snprintf(initrd, sizeof(initrd), "%s/uki-initrd", tmp ? tmp : "/tmp");
	snprintf(raw, sizeof(raw), "%s/uki-unsigned.efi", tmp ? tmp : "/tmp");
	if ((size_t)snprintf(cmdline, sizeof(cmdline), "%s=%s panic=10 ro %s",
			     CONTRACT_CMDLINE_ROOTHASH, b->art->slot.root_hash,
			     b->p->cmdline) >= sizeof(cmdline))
		return err_set(e, E2BIG, "%s: kernel.cmdline: too long", b->p->file);
	snprintf(osrel, sizeof(osrel), "ID=%s\nVERSION_ID=%s\n", b->p->product, b->p->version);
	r = tree_extract(b->tree, CONTRACT_SLOT_KERNEL, kernel, e);
	if (r == 0)
		r = tree_extract(b->tree, CONTRACT_SLOT_INITRD, initrd, e);
	if (r == 0)
		r = sb_uki_make(&in, raw, e);
	if (r == 0)
		r = sb_sign_pe(raw, b->files.sb.uki, k->key[KEYS_SB_DB], k->cert[KEYS_SB_DB],
			       b->o->epoch, e);
	if (r == 0)
		r = sb_pgp_sign_file(b->files.sb.uki, db, b->o->epoch, &sig, &sig_len, e);
	if (r == 0)
		r = write_buf(b->files.sb.uki_sig, sig, sig_len, e);
	unlink(kernel);
	unlink(initrd);
	unlink(raw);
	return r;
}

/* GRUB with the product's OpenPGP key in, signed by db, into the scratch directory. */
static int make_grub(struct build_ctx *b, const struct sb_keys *k, EVP_PKEY *db,
		     struct err *e)
{
	const char *tmp = getenv("TMPDIR");
	char script[4096], cfg[4096], pub[4096], raw[4096];
	char *argv[] = {"sh", script, cfg, raw, pub, NULL};
	uint8_t *key;
	size_t len;
	int r = build_libexec("mkgrub.sh", script, sizeof(script), e);

	if (r == 0)
		r = build_libexec("grub.cfg", cfg, sizeof(cfg), e);
	snprintf(pub, sizeof(pub), "%s/grub-pubkey.gpg", tmp ? tmp : "/tmp");
	snprintf(raw, sizeof(raw), "%s/grub-unsigned.efi", tmp ? tmp : "/tmp");
	snprintf(b->sb_grub, sizeof(b->sb_grub), "%s/BOOTX64.EFI", tmp ? tmp : "/tmp");
	if (r == 0)
		r = sb_pgp_pubkey(db, b->o->epoch, &key, &len, e);
	if (r == 0)
		r = write_buf(pub, key, len, e);
	if (r == 0) {
		r = run_capture(argv, NULL, 1 << 16, NULL, e);
		if (r < 0)
			err_prefix(e, r, "building GRUB (grub-mkimage)");
	}
	if (r == 0)
		r = sb_sign_pe(raw, b->sb_grub, k->key[KEYS_SB_DB], k->cert[KEYS_SB_DB],
			       b->o->epoch, e);
	unlink(pub);
	unlink(raw);
	return r;
}

/* EFI signature lists, their signed updates (PK and KEK by PK, db by KEK: what each
 * variable's owner signs) and the OVMF store with the three set. */
static int make_enrollment(struct build_ctx *b, const struct sb_keys *k, struct err *e)
{
	const struct uki_files *f = &b->files.sb;
	static const int signer[KEYS_SB_COUNT] = {KEYS_SB_PK, KEYS_SB_PK, KEYS_SB_KEK};
	uint8_t *esl[KEYS_SB_COUNT] = {0}, owner[16], dg[SHA256_LEN];
	size_t esl_len[KEYS_SB_COUNT];
	char stamp[32], guid[40];
	time_t t = (time_t)b->o->epoch;
	struct tm tm;
	int r = 0;

	/* the owner GUID: from the product, the same in every build */
	sha256_buf(b->p->product, strlen(b->p->product), dg);
	memcpy(owner, dg, 16);
	owner[7] = (owner[7] & 0x0f) | 0x40;
	owner[8] = (owner[8] & 0x3f) | 0x80;
	snprintf(guid, sizeof(guid), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", owner[3], owner[2], owner[1], owner[0], owner[5],
		 owner[4], owner[7], owner[6], owner[8], owner[9], owner[10], owner[11],
		 owner[12], owner[13], owner[14], owner[15]);
	if (!gmtime_r(&t, &tm) || !strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm))
		return err_set(e, EINVAL, "SOURCE_DATE_EPOCH %lld: no date", (long long)t);
	for (int i = 0; r == 0 && i < KEYS_SB_COUNT; i++) {
		X509 *c = NULL;

		r = load_pem(NULL, k->cert[i], NULL, &c, e);
		if (r == 0)
			r = sb_esl(c, owner, &esl[i], &esl_len[i], e);
		X509_free(c);
		if (r == 0)
			r = file_write(f->esl[i], esl[i], esl_len[i], e);
		if (r == 0) {
			char *argv[] = {"sign-efi-sig-list", "-t", stamp, "-g", guid, "-k",
					(char *)k->key[signer[i]], "-c",
					(char *)k->cert[signer[i]], (char *)var_names[i],
					(char *)f->esl[i], (char *)f->auth[i], NULL};
			r = run_capture(argv, NULL, 1 << 16, NULL, e);
			if (r < 0)
				err_prefix(e, r, "signing the %s update (sign-efi-sig-list)",
					   var_names[i]);
			/* public, like the lists (sign-efi-sig-list makes it 0600) */
			else if (chmod(f->auth[i], 0644) < 0)
				r = err_sys(e, errno, "%s", f->auth[i]);
		}
	}
	if (r == 0)
		r = sb_ovmf_vars(SB_OVMF_VARS_TEMPLATE, (const uint8_t **)esl, esl_len,
				 b->o->epoch, f->vars, e);
	for (int i = 0; i < KEYS_SB_COUNT; i++)
		free(esl[i]);
	return r;
}

int uki_write(struct build_ctx *b, struct err *e)
{
	struct sb_keys k;
	EVP_PKEY *db = NULL;
	X509 *dbc = NULL;
	int r = sb_keys_find(b->sb_dir, &k, e);

	if (r == 0) {
		reportf(b->report, BUILD_PROGRESS, "Secure Boot: signing the kernel image and "
			"GRUB with %s", k.cert[KEYS_SB_DB]);
		r = load_pem(k.key[KEYS_SB_DB], k.cert[KEYS_SB_DB], &db, &dbc, e);
	}
	if (r == 0)
		r = make_uki(b, &k, db, e);
	if (r == 0)
		r = make_grub(b, &k, db, e);
	if (r == 0)
		r = make_enrollment(b, &k, e);
	EVP_PKEY_free(db);
	X509_free(dbc);
	return r < 0 ? err_prefix(e, r, "Secure Boot") : 0;
}
