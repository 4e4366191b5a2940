/* "base": {"tar": "rootfs.tar.gz"}: a tar archive (ustar, GNU or pax, any compression
 * libarchive knows) read with libarchive; its sha256 is recorded as an input. */
#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/archive.h"
#include "source.h"

struct tar_cfg {
	char *path;
};

struct hashed_file {
	int fd;
	struct sha256_ctx *sha;
	char buf[1 << 16];
};

static const char *const tar_paths[] = {"tar", NULL};

static int tar_parse(const cJSON *base, const char *file, void **ret_cfg, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(base, "tar");
	struct tar_cfg *c;
	struct stat st;

	if (!cJSON_IsString(v))
		return err_set(e, EINVAL, "%s: base.tar: expected the path of a tar archive", file);
	if (stat(v->valuestring, &st) < 0)
		return err_sys(e, errno, "%s: base.tar: %s", file, v->valuestring);
	if (!S_ISREG(st.st_mode))
		return err_set(e, EINVAL, "%s: base.tar: %s is not a regular file", file,
			       v->valuestring);
	c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(v->valuestring))) {
		free(c);
		return err_set(e, ENOMEM, "out of memory");
	}
	*ret_cfg = c;
	return 0;
}

static la_ssize_t hashed_read(struct archive *a, void *userdata, const void **buf)
{
	struct hashed_file *h = userdata;
	ssize_t n;

	do
		n = read(h->fd, h->buf, sizeof(h->buf));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "read failed");
		return -1;
	}
	sha256_update(h->sha, h->buf, (size_t)n);
	*buf = h->buf;
	return n;
}

/* Hashes what libarchive did not need to read (padding after the end-of-archive blocks), so
 * the recorded sha256 is the file's. */
static int hash_rest(struct hashed_file *h, const char *path, struct err *e)
{
	ssize_t n;

	while ((n = read(h->fd, h->buf, sizeof(h->buf))) > 0)
		sha256_update(h->sha, h->buf, (size_t)n);
	return n < 0 ? err_sys(e, errno, "reading %s", path) : 0;
}

static int tar_compose(const void *cfg, struct tree *t, struct source_ctx *ctx, struct err *e)
{
	const struct tar_cfg *c = cfg;
	struct archive_import_stats st = {0};
	struct hashed_file *h = calloc(1, sizeof(*h));
	uint8_t digest[SHA256_LEN];
	const char *slash = strrchr(c->path, '/');
	int r;

	if (h)
		h->fd = -1;
	if (!h || !(h->sha = sha256_new())) {
		r = err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	h->fd = open(c->path, O_RDONLY | O_CLOEXEC);
	if (h->fd < 0) {
		r = err_sys(e, errno, "%s", c->path);
		goto out;
	}
	r = tree_set_origin(t, c->path, e);
	if (r == 0)
		r = archive_import_stream(t, hashed_read, h, c->path, ctx->rootfs_size, &st, e);
	if (r == 0)
		r = hash_rest(h, c->path, e);
	if (r < 0)
		goto out;
	sha256_final(h->sha, digest);
	h->sha = NULL;
	r = inputs_add(ctx->inputs, "tar", slash ? slash + 1 : c->path, "", digest, e);
	reportf(ctx->report, BUILD_PROGRESS, "tar %s: %llu entries, %llu bytes", c->path,
		(unsigned long long)st.entries, (unsigned long long)st.bytes);
out:
	if (h) {
		if (h->fd >= 0)
			close(h->fd);
		sha256_free(h->sha);
		free(h);
	}
	return r;
}

static void tar_free(void *cfg)
{
	struct tar_cfg *c = cfg;

	if (!c)
		return;
	free(c->path);
	free(c);
}

const struct source_handler source_tar = {
	.key = "tar",
	.path_keys = tar_paths,
	.parse = tar_parse,
	.compose = tar_compose,
	.free = tar_free,
};
