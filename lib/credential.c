#include "credential.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool credential_name_ok(const char *name, size_t len)
{
	if (len == 0 || len > CREDENTIAL_NAME_MAX || (len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

void credential_base64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);

		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

long credential_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
	size_t o = 0;

	if (n % 4)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;

		for (int k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0, pad++;
			} else if (pad || (v[k] = b64_value(in[i + k])) < 0) {
				return -1; /* a character after '=' or outside the alphabet */
			}
		}
		if ((pad == 2 && (v[1] & 0x0f)) || (pad == 1 && (v[2] & 0x03)))
			return -1; /* bits past the data: not the one encoding of it */
		uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
			     (uint32_t)v[3];
		if (o + 3 - (size_t)pad > cap)
			return -1;
		out[o++] = (uint8_t)(x >> 16);
		if (pad < 2)
			out[o++] = (uint8_t)(x >> 8);
		if (pad < 1)
			out[o++] = (uint8_t)x;
	}
	return (long)o;
}

static int one_string(const char *s, size_t len, credential_fn fn, void *userdata,
		      unsigned *skipped)
{
	static const size_t pl = sizeof(CREDENTIAL_PREFIX) - 1, bl = sizeof(CREDENTIAL_BINARY_PREFIX) - 1;
	bool binary = len >= bl && memcmp(s, CREDENTIAL_BINARY_PREFIX, bl) == 0;
	const char *name, *eq;
	uint8_t *value;
	long n;
	int r;

	if (!binary && !(len >= pl && memcmp(s, CREDENTIAL_PREFIX, pl) == 0))
		return 0; /* another OEM string */
	name = s + (binary ? bl : pl);
	eq = memchr(name, '=', len - (size_t)(name - s));
	if (!eq || !credential_name_ok(name, (size_t)(eq - name))) {
		(*skipped)++;
		return 0;
	}
	n = (long)(len - (size_t)(eq + 1 - s));
	if (!binary) {
		if ((size_t)n > CREDENTIAL_SIZE_MAX) {
			(*skipped)++;
			return 0;
		}
		char nm[CREDENTIAL_NAME_MAX + 1];

		memcpy(nm, name, (size_t)(eq - name));
		nm[eq - name] = '\0';
		return fn(nm, (const uint8_t *)eq + 1, (size_t)n, userdata);
	}
	value = malloc(CREDENTIAL_SIZE_MAX);
	if (!value)
		return -ENOMEM;
	n = credential_base64_decode(eq + 1, (size_t)n, value, CREDENTIAL_SIZE_MAX);
	if (n < 0) {
		(*skipped)++;
		r = 0;
	} else {
		char nm[CREDENTIAL_NAME_MAX + 1];

		memcpy(nm, name, (size_t)(eq - name));
		nm[eq - name] = '\0';
		r = fn(nm, value, (size_t)n, userdata);
	}
	explicit_bzero(value, CREDENTIAL_SIZE_MAX);
	free(value);
	return r;
}

int credential_smbios_parse(const uint8_t *raw, size_t len, credential_fn fn, void *userdata,
			    unsigned *ret_skipped, struct err *e)
{
	unsigned skipped = 0;
	size_t at;
	int r = 0;

	if (ret_skipped)
		*ret_skipped = 0;
	if (len < 5 || raw[0] != 11)
		return err_set(e, EINVAL, "not an SMBIOS type 11 structure");
	if (raw[1] < 5 || raw[1] > len)
		return err_set(e, EINVAL, "SMBIOS type 11: formatted length %u outside the %zu bytes",
			       raw[1], len);
	at = raw[1];
	for (unsigned i = 0; r == 0; i++) {
		const uint8_t *nul = at < len ? memchr(raw + at, '\0', len - at) : NULL;
		size_t n;

		if (!nul)
			return err_set(e, EINVAL, "SMBIOS type 11: string %u runs past the end", i);
		n = (size_t)(nul - (raw + at));
		if (n == 0)
			break; /* the empty string that ends the set (or none at all) */
		r = one_string((const char *)raw + at, n, fn, userdata, &skipped);
		at += n + 1;
	}
	if (ret_skipped)
		*ret_skipped = skipped;
	return r < 0 ? err_set(e, -r, "SMBIOS type 11: a credential could not be kept") : r;
}
