#include "fetch.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/io.h"

/* libcurl is loaded when a poll needs it, not linked: an image carries it (and the TLS,
 * LDAP and Kerberos libraries it pulls in) only when its profile has "update". */
static struct {
	void *lib;
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
} cu;

static int load_curl(struct err *e)
{
	if (cu.lib)
		return 0;
	cu.lib = dlopen(FETCH_LIBCURL, RTLD_NOW | RTLD_LOCAL);
	if (!cu.lib)
		return err_set(e, ENOENT, "%s: %s (an image carries it when its profile has "
			       "\"update\")", FETCH_LIBCURL, dlerror());
	*(void **)&cu.global_init = dlsym(cu.lib, "curl_global_init");
	*(void **)&cu.easy_init = dlsym(cu.lib, "curl_easy_init");
	*(void **)&cu.easy_setopt = dlsym(cu.lib, "curl_easy_setopt");
	*(void **)&cu.easy_perform = dlsym(cu.lib, "curl_easy_perform");
	*(void **)&cu.easy_getinfo = dlsym(cu.lib, "curl_easy_getinfo");
	*(void **)&cu.easy_cleanup = dlsym(cu.lib, "curl_easy_cleanup");
	*(void **)&cu.easy_strerror = dlsym(cu.lib, "curl_easy_strerror");
	if (!cu.global_init || !cu.easy_init || !cu.easy_setopt || !cu.easy_perform ||
	    !cu.easy_getinfo || !cu.easy_cleanup || !cu.easy_strerror) {
		dlclose(cu.lib);
		cu.lib = NULL;
		return err_set(e, ENOENT, "%s: not the libcurl stele-update needs", FETCH_LIBCURL);
	}
	cu.global_init(CURL_GLOBAL_DEFAULT);
	return 0;
}

int fetch_init(struct fetch *f, const struct fetch_opts *o, struct err *e)
{
	memset(f, 0, sizeof(*f));
	f->o = *o;
	return load_curl(e);
}

static int url_of(const struct fetch *f, const char *path, char *out, size_t n,
		  struct err *e)
{
	size_t l = strlen(f->o.base_url);
	const char *sep = l && f->o.base_url[l - 1] == '/' ? "" : "/";

	if ((size_t)snprintf(out, n, "%s%s%s", f->o.base_url, sep, path) >= n)
		return err_set(e, ENAMETOOLONG, "%s: URL too long", path);
	return 0;
}

static CURL *easy(const struct fetch *f, const char *url, char *errbuf)
{
	CURL *c = cu.easy_init();

	if (!c)
		return NULL;
	cu.easy_setopt(c, CURLOPT_URL, url);
	cu.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cu.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	cu.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	cu.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, f->o.connect_timeout ? f->o.connect_timeout : 30);
	cu.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	cu.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, f->o.stall_timeout ? f->o.stall_timeout : 60);
	cu.easy_setopt(c, CURLOPT_USERAGENT, "stele-update");
	if (f->o.ca_file)
		cu.easy_setopt(c, CURLOPT_CAINFO, f->o.ca_file);
	return c;
}

/* --- small files ------------------------------------------------------------------------ */

struct membuf {
	char *p;
	size_t len, max;
	bool over;
};

static size_t mem_write(char *data, size_t size, size_t n, void *userdata)
{
	struct membuf *m = userdata;
	size_t len = size * n;
	char *p;

	if (len > m->max - m->len) {
		m->over = true;
		return 0; /* ends the transfer: endless data stops at the limit */
	}
	p = realloc(m->p, m->len + len + 1);
	if (!p)
		return 0;
	memcpy(p + m->len, data, len);
	m->p = p;
	m->len += len;
	m->p[m->len] = '\0';
	return len;
}

static int http_status(CURL *c, const char *path, long *ret, struct err *e)
{
	long code = 0;

	cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	*ret = code;
	if (code == 404 || code == 403)
		return err_set(e, ENOENT, "%s: HTTP %ld", path, code);
	if (code < 200 || code > 299)
		return err_set(e, EIO, "%s: HTTP %ld", path, code);
	return 0;
}

int fetch_file(void *ctx, const char *path, size_t max, bool exact, char **ret,
	       size_t *ret_len, struct err *e)
{
	struct fetch *f = ctx;
	char url[2048], errbuf[CURL_ERROR_SIZE] = "";
	struct membuf m = {.max = max};
	CURLcode cc;
	long code;
	CURL *c;
	int rc = url_of(f, path, url, sizeof(url), e);

	if (rc < 0)
		return rc;
	c = easy(f, url, errbuf);
	if (!c)
		return err_set(e, ENOMEM, "out of memory");
	cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, mem_write);
	cu.easy_setopt(c, CURLOPT_WRITEDATA, &m);
	cu.easy_setopt(c, CURLOPT_TIMEOUT, f->o.file_timeout ? f->o.file_timeout : 60);
	f->requests++;
	cc = cu.easy_perform(c);
	f->bytes += m.len;
	if (m.over)
		rc = err_set(e, EFBIG, "%s: more than %zu bytes (the limit for it)", path, max);
	else if (cc != CURLE_OK)
		rc = err_set(e, EIO, "%s: %s", path, errbuf[0] ? errbuf : cu.easy_strerror(cc));
	else
		rc = http_status(c, path, &code, e);
	if (rc == 0 && exact && m.len != max)
		rc = err_set(e, EIO, "%s: %zu bytes, %zu expected", path, m.len, max);
	if (rc == 0 && !m.p && !(m.p = calloc(1, 1)))
		rc = err_set(e, ENOMEM, "out of memory");
	cu.easy_cleanup(c);
	if (rc < 0) {
		free(m.p);
		return rc;
	}
	*ret = m.p;
	*ret_len = m.len;
	return 0;
}

/* --- a bundle, streamed ------------------------------------------------------------------ */

struct stream {
	CURL *c;
	int fd;
	uint64_t have, length, skip; /* skip: bytes a 200 reply repeats before where we are */
	struct sha256_ctx *sha;
	uint8_t last;                /* the final byte, held back */
	bool checked, bad_status, over, write_failed;
	long code;
};

static bool write_all(int fd, const void *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p = (const uint8_t *)p + w;
		n -= (size_t)w;
	}
	return true;
}

static size_t stream_write(char *data, size_t size, size_t n, void *userdata)
{
	struct stream *s = userdata;
	size_t len = size * n, took = len;

	if (!s->checked) {
		cu.easy_getinfo(s->c, CURLINFO_RESPONSE_CODE, &s->code);
		s->checked = true;
		if (s->code == 200)
			s->skip = s->have; /* the server ignored the Range: what we have comes again */
		else if (s->code != 206 || s->have == 0) {
			s->bad_status = !(s->code == 206 && s->have == 0);
			if (s->bad_status)
				return 0;
		}
	}
	if (s->skip) {
		size_t k = len < s->skip ? len : (size_t)s->skip;

		s->skip -= k;
		data += k;
		len -= k;
	}
	if (len > s->length - s->have) {
		s->over = true; /* more than the signed length: stop reading */
		return 0;
	}
	sha256_update(s->sha, data, len);
	s->have += len;
	/* every byte but the very last goes to the installer now */
	if (s->have == s->length && len > 0)
		s->last = (uint8_t)data[--len];
	if (!write_all(s->fd, data, len)) {
		s->write_failed = true; /* the installer stopped reading: it refused */
		return 0;
	}
	return took;
}

int fetch_stream(struct fetch *f, const char *path, uint64_t length,
		 const uint8_t sha256[SHA256_LEN], int fd, struct err *e)
{
	char url[2048], errbuf[CURL_ERROR_SIZE], why[CURL_ERROR_SIZE + 64], range[32];
	struct stream s = {.fd = fd, .length = length, .sha = sha256_new()};
	uint8_t got[SHA256_LEN];
	int rc = url_of(f, path, url, sizeof(url), e), attempt;

	if (rc == 0 && !s.sha)
		rc = err_set(e, ENOMEM, "out of memory");
	if (rc == 0 && length == 0)
		rc = err_set(e, EINVAL, "%s: the targets metadata gives it no length", path);
	for (attempt = 0; rc == 0 && s.have < length; attempt++) {
		CURLcode cc;

		errbuf[0] = '\0';
		s.c = easy(f, url, errbuf);
		if (!s.c) {
			rc = err_set(e, ENOMEM, "out of memory");
			break;
		}
		s.checked = s.bad_status = false;
		s.skip = 0;
		cu.easy_setopt(s.c, CURLOPT_WRITEFUNCTION, stream_write);
		/* fewer, larger writes; but a capped download keeps curl's 16 KiB, with which its
		 * rate limit holds (a 512 KiB buffer let 8 MiB through at 30x the cap) */
		if (!f->o.max_rate)
			cu.easy_setopt(s.c, CURLOPT_BUFFERSIZE, 512L << 10);
		cu.easy_setopt(s.c, CURLOPT_WRITEDATA, &s);
		/* CURLOPT_RANGE, not RESUME_FROM: a server that ignores it answers 200 with the
		 * whole file, and stream_write skips what we have instead of failing */
		snprintf(range, sizeof(range), "%llu-", (unsigned long long)s.have);
		if (s.have)
			cu.easy_setopt(s.c, CURLOPT_RANGE, range);
		if (f->o.max_rate)
			cu.easy_setopt(s.c, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)f->o.max_rate);
		f->requests++;
		{
			uint64_t before = s.have;

			cc = cu.easy_perform(s.c);
			f->bytes += s.have - before;
		}
		if (s.over)
			rc = err_set(e, EFBIG, "%s: more than the %llu bytes the signed metadata gives",
				     path, (unsigned long long)length);
		else if (s.write_failed)
			rc = err_set(e, EPIPE, "%s: the installer stopped reading", path);
		else if (s.bad_status || (cc == CURLE_OK && s.code != 200 && s.code != 206)) {
			long code = s.code;

			if (!s.checked)
				cu.easy_getinfo(s.c, CURLINFO_RESPONSE_CODE, &code);
			snprintf(why, sizeof(why), "HTTP %ld", code);
			if (code == 404 || code == 403)
				rc = err_set(e, ENOENT, "%s: HTTP %ld", path, code);
		} else if (cc != CURLE_OK)
			snprintf(why, sizeof(why), "%s", errbuf[0] ? errbuf : cu.easy_strerror(cc));
		else if (s.have < length)
			snprintf(why, sizeof(why), "the response ended at byte %llu",
				 (unsigned long long)s.have);
		cu.easy_cleanup(s.c);
		s.c = NULL;
		if (rc < 0 || s.have >= length)
			break;
		if (attempt >= f->o.retries) {
			rc = err_set(e, EIO, "%s: %s, after %d attempts (%llu of %llu bytes)", path, why,
				     attempt + 1, (unsigned long long)s.have,
				     (unsigned long long)length);
			break;
		}
		if (f->o.on_retry)
			f->o.on_retry(f->o.userdata, s.have, length, attempt + 1, why);
		sleep(attempt < 4 ? 1u << attempt : 16u);
	}
	if (s.sha) {
		sha256_final(s.sha, got);
		s.sha = NULL;
	}
	if (rc == 0 && memcmp(got, sha256, SHA256_LEN) != 0)
		rc = err_set(e, EINVAL, "%s: its sha256 is not the one the signed targets metadata "
					"gives (arbitrary software): the last byte is withheld", path);
	if (rc == 0 && !write_all(fd, &s.last, 1))
		rc = err_set(e, EPIPE, "%s: the installer stopped reading", path);
	return rc;
}
