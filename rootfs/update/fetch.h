/* HTTP(S) for `stele-update poll`, with libcurl: whole small files for the TUF client (each
 * with a size limit, a total timeout, 404 as "no such file"), and a bundle streamed into a
 * pipe that the installer reads, resumed with Range requests after a dropped connection,
 * under a bandwidth cap and a stall timeout. The streamed bundle's last byte is held back
 * until the length and sha256 the signed targets metadata gives have matched, so an
 * installer reading the pipe never sees a complete bundle that is not the one published.
 * Proxies come from the environment (http_proxy, https_proxy, no_proxy), CAs from the system
 * or a pinned file. */
#ifndef STELE_UPDATE_FETCH_H
#define STELE_UPDATE_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/hash.h"

struct fetch_opts {
	const char *base_url;      /* the repository: http://host:port/path */
	const char *ca_file;       /* NULL: the system's CAs */
	long connect_timeout;      /* seconds */
	long stall_timeout;        /* seconds under 1 KiB/s that count as a stall */
	long file_timeout;         /* seconds a metadata file may take in all */
	int64_t max_rate;          /* bytes per second for bundles; 0: no cap */
	int retries;               /* resumptions of a bundle after a cut */
	/* called after a cut, before the next attempt (the journal, tests) */
	void (*on_retry)(void *userdata, uint64_t have, uint64_t length, int attempt,
			 const char *why);
	void *userdata;
};

struct fetch {
	struct fetch_opts o;
	unsigned requests;         /* HTTP requests made */
	uint64_t bytes;            /* body bytes received */
};

#define FETCH_LIBCURL "libcurl.so.4" /* loaded at the first poll (dlopen) */

/* Fails when libcurl is not there (an image built without "update"). */
int fetch_init(struct fetch *f, const struct fetch_opts *o, struct err *e)
	__attribute__((warn_unused_result));

/* A lib/tufclient.h fetcher: path under the base URL, at most max bytes (exactly max when
 * exact). -ENOENT for 404 or 403, -EFBIG past max, -EIO for other failures. */
int fetch_file(void *ctx, const char *path, size_t max, bool exact, char **ret,
	       size_t *ret_len, struct err *e);

/* Streams path, which must be length bytes with this sha256, into fd. */
int fetch_stream(struct fetch *f, const char *path, uint64_t length,
		 const uint8_t sha256[SHA256_LEN], int fd, struct err *e)
	__attribute__((warn_unused_result));

#endif
