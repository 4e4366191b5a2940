#include "cmdline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/contract.h"

#define WORD_MAX 1024

struct param {
	const char *name;
	/* value is NULL when the parameter has no "=" */
	int (*parse)(const char *value, struct boot_opts *o, struct err *e);
};

static int parse_bool(const char *name, const char *value, bool *out, struct err *e)
{
	static const char *const on[] = {"1", "yes", "true", "on"};
	static const char *const off[] = {"0", "no", "false", "off"};

	if (!value) {
		*out = true;
		return 0;
	}
	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		if (strcmp(value, on[i]) == 0)
			return *out = true, 0;
		if (strcmp(value, off[i]) == 0)
			return *out = false, 0;
	}
	return err_set(e, EINVAL, "%s=%s: expected 1 or 0", name, value);
}

static int parse_slot(const char *value, struct boot_opts *o, struct err *e)
{
	if (!value || (strcmp(value, "a") != 0 && strcmp(value, "b") != 0))
		return err_set(e, EINVAL, CONTRACT_CMDLINE_SLOT "=%s: expected a or b", value ? value : "");
	o->slot = value[0];
	return 0;
}

static int parse_roothash(const char *value, struct boot_opts *o, struct err *e)
{
	size_t n = value ? strlen(value) : 0;

	/* one only: the signed kernel image's; a second one (appended by whatever adds to the
	 * command line) must not replace it */
	if (o->root_hash[0])
		return err_set(e, EINVAL, CONTRACT_CMDLINE_ROOTHASH " given twice");
	if (n < 2 || n > CMDLINE_ROOT_HASH_MAX || n % 2 ||
	    strspn(value, "0123456789abcdef") != n)
		return err_set(e, EINVAL, CONTRACT_CMDLINE_ROOTHASH "=%.140s: expected 2 to %d "
				  "lowercase hex digits", value ? value : "", CMDLINE_ROOT_HASH_MAX);
	memcpy(o->root_hash, value, n + 1);
	return 0;
}

static int parse_debug(const char *value, struct boot_opts *o, struct err *e)
{
	return parse_bool("stele.debug", value, &o->debug, e);
}

static int parse_trial(const char *value, struct boot_opts *o, struct err *e)
{
	o->trial_given = true;
	return parse_bool(CONTRACT_CMDLINE_TRIAL, value, &o->trial, e);
}

static int parse_timeout(const char *value, struct boot_opts *o, struct err *e)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = value && value[0] >= '0' && value[0] <= '9' ? strtoul(value, &end, 10) : 0;
	if (!value || errno || v == 0 || v > CMDLINE_MAX_TIMEOUT || *end)
		return err_set(e, EINVAL, "stele.timeout=%s: expected seconds, 1 to %d",
			       value ? value : "", CMDLINE_MAX_TIMEOUT);
	o->timeout = (unsigned)v;
	return 0;
}

static int parse_verity(const char *value, struct boot_opts *o, struct err *e)
{
	static const struct {
		const char *name;
		enum dm_verity_mode mode;
	} modes[] = {
		{"restart", DM_VERITY_RESTART},
		{"panic", DM_VERITY_PANIC},
		{"eio", DM_VERITY_EIO},
	};

	for (size_t i = 0; value && i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(value, modes[i].name) == 0)
			return o->verity_mode = modes[i].mode, 0;
	return err_set(e, EINVAL, "stele.verity=%s: expected restart, panic or eio",
		       value ? value : "");
}

static const struct param params[] = {
	{CONTRACT_CMDLINE_SLOT, parse_slot},
	{CONTRACT_CMDLINE_ROOTHASH, parse_roothash},
	{"stele.debug", parse_debug},
	{CONTRACT_CMDLINE_TRIAL, parse_trial},
	{"stele.timeout", parse_timeout},
	{"stele.verity", parse_verity},
};

/* Copies the next word of *s into word (quotes removed) and advances *s; 0 at the end. */
static int next_word(const char **s, char word[WORD_MAX])
{
	const char *p = *s;
	bool quoted = false;
	size_t n = 0;

	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (!*p)
		return 0;
	for (; *p && (quoted || !strchr(" \t\n", *p)); p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (n < WORD_MAX - 1)
			word[n++] = *p;
	}
	word[n] = '\0';
	*s = p;
	return 1;
}

/* Calls fn for each stele.* word until fn fails; stops at "--". */
static int each_param(const char *cmdline,
		      int (*fn)(const char *key, const char *value, void *ud), void *ud)
{
	char word[WORD_MAX];
	int rc;

	while (next_word(&cmdline, word)) {
		char *eq = strchr(word, '=');

		if (strcmp(word, "--") == 0)
			break;
		if (strncmp(word, "stele.", 6) != 0)
			continue;
		if (eq)
			*eq = '\0';
		rc = fn(word, eq ? eq + 1 : NULL, ud);
		if (rc < 0)
			return rc;
	}
	return 0;
}

struct parse_ctx {
	struct boot_opts *o;
	struct err *e;
};

static int apply(const char *key, const char *value, void *ud)
{
	struct parse_ctx *c = ud;

	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		if (strcmp(key, params[i].name) == 0)
			return params[i].parse(value, c->o, c->e);
	return 0; /* newer or foreign stele.* options: not ours to refuse */
}

int cmdline_parse(const char *cmdline, struct boot_opts *ret, struct err *e)
{
	struct boot_opts o = {.timeout = CMDLINE_DEFAULT_TIMEOUT,
			      .verity_mode = DM_VERITY_RESTART};
	struct parse_ctx c = {&o, e};
	int rc;

	rc = each_param(cmdline, apply, &c);
	if (rc < 0)
		return rc;
	/* with a root hash the slot and the trial come from the disk, never from words that
	 * might have been added after the signed command line */
	if (o.root_hash[0] && (o.slot || o.trial_given))
		return err_set(e, EINVAL, CONTRACT_CMDLINE_ROOTHASH " with " CONTRACT_CMDLINE_SLOT
				  " or " CONTRACT_CMDLINE_TRIAL ": a signed kernel image names its "
				  "slot by the root hash alone");
	if (!o.slot && !o.root_hash[0])
		return err_set(e, EINVAL, "no " CONTRACT_CMDLINE_SLOT "= on the kernel command line "
					  "(the bootloader passes " CONTRACT_CMDLINE_SLOT "=a or b)");
	*ret = o;
	return 0;
}

struct flag_ctx {
	const char *name;
	bool on;
};

static int flag_match(const char *key, const char *value, void *ud)
{
	struct flag_ctx *c = ud;

	if (strcmp(key, c->name) == 0 && parse_bool(key, value, &c->on, NULL) < 0)
		c->on = false;
	return 0;
}

bool cmdline_flag(const char *cmdline, const char *name)
{
	struct flag_ctx c = {name, false};

	each_param(cmdline, flag_match, &c);
	return c.on;
}
