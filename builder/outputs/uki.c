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

#include "lib/bundle.h"
#include "lib/contract.h"
#include "lib/hash.h"
#include "lib/manifest.h"
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

/* name in the build's scratch directory ($TMPDIR), into buf (4096 bytes). */
static int scratch(char buf[4096], const char *name, struct err *e)
{
	const char *tmp = getenv("TMPDIR");

	if ((size_t)snprintf(buf, 4096, "%s/%s", tmp ? tmp : "/tmp", name) >= 4096)
		return err_set(e, ENAMETOOLONG, "TMPDIR %s: too long", tmp);
	return 0;
}

/* The kernel image of the slot whose dm-verity root hash is root_hash: made,
 * Authenticode-signed, and signed for GRUB. */
static int make_uki(struct build_ctx *b, const char *root_hash, const struct sb_keys *k,
		    EVP_PKEY *db, struct err *e)
{
	char kernel[4096], initrd[4096], raw[4096], cmdline[2048], osrel[512];
	struct sb_uki_in in = {.stub = SB_STUB, .kernel = kernel, .initrd = initrd,
			       .cmdline = cmdline, .osrel = osrel,
			       .uname = b->art->kernel_version, .epoch = b->o->epoch};
	uint8_t *sig;
	size_t sig_len;
	int r;

	if (scratch(kernel, "uki-vmlinuz", e) < 0 || scratch(initrd, "uki-initrd", e) < 0 ||
	    scratch(raw, "uki-unsigned.efi", e) < 0)
		return -ENAMETOOLONG;
	if ((size_t)snprintf(cmdline, sizeof(cmdline), "%s=%s panic=10 ro %s",
			     CONTRACT_CMDLINE_ROOTHASH, root_hash,
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
	char script[4096], cfg[4096], pub[4096] = "", raw[4096] = "";
	char *argv[] = {"sh", script, cfg, raw, pub, NULL};
	uint8_t *key;
	size_t len;
	int r = build_libexec("mkgrub.sh", script, sizeof(script), e);

	if (r == 0)
		r = build_libexec("grub.cfg", cfg, sizeof(cfg), e);
	if (r == 0 && (scratch(pub, "grub-pubkey.gpg", e) < 0 ||
		       scratch(raw, "grub-unsigned.efi", e) < 0 ||
		       scratch(b->sb_grub, "BOOTX64.EFI", e) < 0))
		r = -ENAMETOOLONG;
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

/* The db key, to sign with. */
static int load_db(struct build_ctx *b, struct sb_keys *k, EVP_PKEY **db, struct err *e)
{
	X509 *dbc = NULL;
	int r = sb_keys_find(b->sb_dir, k, e);

	if (r == 0)
		r = load_pem(k->key[KEYS_SB_DB], k->cert[KEYS_SB_DB], db, &dbc, e);
	X509_free(dbc);
	return r;
}

static int file_digest(const char *path, uint64_t *ret_size, char hex[SHA256_HEX_LEN],
		       struct err *e)
{
	uint8_t dg[SHA256_LEN];
	char *buf;
	size_t len;
	int r = file_read_all(path, BUNDLE_UKI_MAX, &buf, &len, e);

	if (r < 0)
		return r;
	sha256_buf(buf, len, dg);
	hex_encode(dg, SHA256_LEN, hex);
	*ret_size = len;
	free(buf);
	return 0;
}

int uki_begin(struct build_ctx *b, struct err *e)
{
	const EVP_MD *md = EVP_get_digestbyname(b->p->verity_hash);
	char placeholder[2 * EVP_MAX_MD_SIZE + 1];
	struct manifest_uki u;
	struct sb_keys k;
	EVP_PKEY *db = NULL;
	int r, n = md ? EVP_MD_get_size(md) : 32;

	if (!profile_wants(b->p, "bundle"))
		return 0;
	/* the bundle is laid out before the slot pass, which gives the root hash: the kernel
	 * image made with a root hash of the same length has the same size */
	memset(placeholder, '0', (size_t)n * 2);
	placeholder[n * 2] = '\0';
	r = load_db(b, &k, &db, e);
	if (r == 0)
		r = make_uki(b, placeholder, &k, db, e);
	if (r == 0)
		r = file_digest(b->files.sb.uki, &u.size, u.sha256, e);
	if (r == 0)
		r = file_digest(b->files.sb.uki_sig, &u.sig_size, u.sig_sha256, e);
	if (r == 0) {
		b->uki_guess = u.size;
		b->uki_sig_guess = u.sig_size;
	}
	EVP_PKEY_free(db);
	return r < 0 ? err_prefix(e, r, "Secure Boot") : 0;
}

int uki_slot(struct build_ctx *b, const char *root_hash, struct manifest_uki *ret,
	     struct err *e)
{
	struct sb_keys k;
	EVP_PKEY *db = NULL;
	int r = load_db(b, &k, &db, e);

	if (r == 0) {
		reportf(b->report, BUILD_PROGRESS, "Secure Boot: signing the kernel image with %s",
			k.cert[KEYS_SB_DB]);
		r = make_uki(b, root_hash, &k, db, e);
	}
	if (r == 0)
		r = file_digest(b->files.sb.uki, &ret->size, ret->sha256, e);
	if (r == 0)
		r = file_digest(b->files.sb.uki_sig, &ret->sig_size, ret->sig_sha256, e);
	EVP_PKEY_free(db);
	return r < 0 ? err_prefix(e, r, "Secure Boot") : 0;
}

int uki_write(struct build_ctx *b, struct err *e)
{
	struct sb_keys k;
	EVP_PKEY *db = NULL;
	int r = load_db(b, &k, &db, e);

	if (r == 0) {
		reportf(b->report, BUILD_PROGRESS, "Secure Boot: signing GRUB with %s",
			k.cert[KEYS_SB_DB]);
		r = make_grub(b, &k, db, e);
	}
	if (r == 0)
		r = make_enrollment(b, &k, e);
	EVP_PKEY_free(db);
	return r < 0 ? err_prefix(e, r, "Secure Boot") : 0;
}
