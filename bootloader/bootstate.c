#include "bootstate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/contract.h"
#include "lib/io.h"

#define HEADER_LEN (sizeof(BOOTSTATE_HEADER) - 1)
#define MESSAGE_LEN (sizeof(BOOTSTATE_MESSAGE) - 1)

_Static_assert(HEADER_LEN + MESSAGE_LEN < BOOTSTATE_ATOMIC_SIZE, "header fits the first sector");
_Static_assert(BOOTSTATE_ATOMIC_SIZE <= BOOTSTATE_SIZE, "atomic part inside the block");

enum stele_kind { VAR_ORDER, VAR_STATE, VAR_TRIES };

/* stele's own variables, in the canonical order bootstate_format() writes them. */
static const struct stele_var {
	const char *name;
	enum stele_kind kind;
	size_t slot;
} stele_vars[] = {
	{CONTRACT_VAR_ORDER, VAR_ORDER, 0},
	{CONTRACT_VAR_A_STATE, VAR_STATE, 0},
	{CONTRACT_VAR_A_TRIES, VAR_TRIES, 0},
	{CONTRACT_VAR_B_STATE, VAR_STATE, 1},
	{CONTRACT_VAR_B_TRIES, VAR_TRIES, 1},
};
#define N_STELE_VARS (sizeof(stele_vars) / sizeof(stele_vars[0]))

static const char *const state_names[] = {
	[BOOTSTATE_GOOD] = CONTRACT_STATE_GOOD,
	[BOOTSTATE_TRIAL] = CONTRACT_STATE_TRIAL,
	[BOOTSTATE_BAD] = CONTRACT_STATE_BAD,
};

const char *bootstate_state_name(enum bootstate_state state)
{
	if ((unsigned)state >= sizeof(state_names) / sizeof(state_names[0]))
		return NULL;
	return state_names[state];
}

int bootstate_state_parse(const char *name, enum bootstate_state *ret_state)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (name && strcmp(name, state_names[i]) == 0) {
			*ret_state = (enum bootstate_state)i;
			return 0;
		}
	return -EINVAL;
}

int bootstate_slot_index(char slot)
{
	if (slot == 'a')
		return 0;
	if (slot == 'b')
		return 1;
	return -EINVAL;
}

char bootstate_slot_name(size_t index)
{
	return index < BOOTSTATE_SLOTS ? (char)('a' + index) : '\0';
}

void bootstate_init(struct bootstate *s, unsigned tries)
{
	memset(s, 0, sizeof(*s));
	s->order[0] = 'a';
	s->order[1] = 'b';
	s->n_order = 2;
	s->slots[0] = (struct bootstate_slot){.state = BOOTSTATE_GOOD, .tries = tries};
	s->slots[1] = (struct bootstate_slot){.state = BOOTSTATE_BAD, .tries = 0};
}

/* grub.cfg's stele_decrement: 15..2 count down, anything else becomes 0. */
static unsigned grub_decrement(unsigned tries)
{
	return tries >= 2 && tries <= BOOTSTATE_TRIES_MAX ? tries - 1 : 0;
}

/* grub.cfg's stele_try: not bad, tries left (non-empty and not "0"), one spent and saved. */
static bool grub_try(struct bootstate *s, size_t i)
{
	struct bootstate_slot *slot = &s->slots[i];

	if (slot->state == BOOTSTATE_BAD || slot->tries == 0)
		return false;
	slot->tries = grub_decrement(slot->tries);
	return true;
}

void bootstate_choose(struct bootstate *s, unsigned loadable, struct bootstate_choice *ret)
{
	*ret = (struct bootstate_choice){'\0', false, false};
	for (size_t k = 0; k < s->n_order && k < BOOTSTATE_SLOTS; k++) {
		int i = bootstate_slot_index(s->order[k]);

		if (i < 0 || !grub_try(s, (size_t)i))
			continue;
		if (loadable & (1u << i)) { /* stele_boot: booted, or "could not be loaded" */
			*ret = (struct bootstate_choice){s->order[k],
							 s->slots[i].state == BOOTSTATE_TRIAL, false};
			return;
		}
	}
	/* "no slot left to try": "retrying the good slots", as they are, no try spent */
	for (size_t k = 0; k < s->n_order && k < BOOTSTATE_SLOTS; k++) {
		int i = bootstate_slot_index(s->order[k]);

		if (i >= 0 && s->slots[i].state == BOOTSTATE_GOOD && (loadable & (1u << i))) {
			*ret = (struct bootstate_choice){s->order[k], false, true};
			return;
		}
	}
}

/* A printable, bounded copy of a value for error messages. */
static const char *shown(const char *v, char *buf, size_t size)
{
	size_t n = 0;

	for (; *v && n + 4 < size; v++)
		buf[n++] = (*v >= 0x20 && *v < 0x7f) ? *v : '?';
	if (*v)
		buf[n++] = '.', buf[n++] = '.', buf[n++] = '.';
	buf[n] = '\0';
	return buf;
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static bool valid_name(const char *name, size_t len)
{
	if (len == 0 || len > BOOTSTATE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_name_char(name[i]))
			return false;
	return true;
}

static const struct stele_var *find_stele_var(const char *name)
{
	for (size_t i = 0; i < N_STELE_VARS; i++)
		if (strcmp(stele_vars[i].name, name) == 0)
			return &stele_vars[i];
	return NULL;
}

/* "a b", "b a", "a" or "b": slots separated by single spaces, each at most once. */
static int parse_order(const char *v, struct bootstate *s, struct err *e)
{
	char sh[48];
	bool seen[BOOTSTATE_SLOTS] = {false};
	size_t n = 0;

	if (!*v)
		return err_set(e, EINVAL, CONTRACT_VAR_ORDER " is empty");
	for (const char *p = v;; p += 2) {
		int idx = bootstate_slot_index(p[0]);

		if (idx < 0 || (p[1] != ' ' && p[1] != '\0') || n == BOOTSTATE_SLOTS)
			return err_set(e, EINVAL,
				       CONTRACT_VAR_ORDER "=\"%s\": expected slots a and b separated by "
				       "single "
				       "spaces",
				       shown(v, sh, sizeof(sh)));
		if (seen[idx])
			return err_set(e, EINVAL, CONTRACT_VAR_ORDER "=\"%s\": slot %c listed twice",
				       shown(v, sh, sizeof(sh)), p[0]);
		seen[idx] = true;
		s->order[n++] = p[0];
		if (p[1] == '\0')
			break;
	}
	s->n_order = n;
	return 0;
}

/* Canonical decimal 0..15: no sign, no leading zero, no spaces. */
static int parse_tries(const char *name, const char *v, unsigned *ret, struct err *e)
{
	char sh[48];
	unsigned n = 0;
	size_t len = strlen(v);

	if (len == 0 || len > 2 || (len == 2 && v[0] == '0'))
		goto bad;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			goto bad;
		n = n * 10 + (unsigned)(v[i] - '0');
	}
	if (n > BOOTSTATE_TRIES_MAX)
		goto bad;
	*ret = n;
	return 0;
bad:
	return err_set(e, EINVAL, "%s=\"%s\": expected a number from 0 to %d", name,
		       shown(v, sh, sizeof(sh)), BOOTSTATE_TRIES_MAX);
}

static int apply_stele_var(const struct stele_var *sv, const char *v, struct bootstate *s,
			   struct err *e)
{
	char sh[48];

	switch (sv->kind) {
	case VAR_ORDER:
		return parse_order(v, s, e);
	case VAR_STATE:
		if (bootstate_state_parse(v, &s->slots[sv->slot].state) < 0)
			return err_set(e, EINVAL, "%s=\"%s\": expected good, trial or bad",
				       sv->name, shown(v, sh, sizeof(sh)));
		return 0;
	case VAR_TRIES:
		return parse_tries(sv->name, v, &s->slots[sv->slot].tries, e);
	}
	return err_set(e, EINVAL, "%s: internal error", sv->name);
}

int bootstate_set(struct bootstate *s, const char *name, const char *value, struct err *e)
{
	const struct stele_var *sv = find_stele_var(name);
	struct bootstate t = *s;
	char sh[48];
	int r;

	if (!sv)
		return err_set(e, EINVAL,
			       "unknown variable %s (" CONTRACT_VAR_ORDER ", " CONTRACT_VAR_A_STATE
			       ", " CONTRACT_VAR_A_TRIES ", " CONTRACT_VAR_B_STATE " or "
			       CONTRACT_VAR_B_TRIES ")",
			       shown(name, sh, sizeof(sh)));
	/* the same value parsers as a block read from disk: one definition of a valid value */
	r = apply_stele_var(sv, value, &t, e);
	if (r == 0)
		r = bootstate_validate(&t, e);
	if (r < 0)
		return r;
	*s = t;
	return 0;
}

/* Parsing state beyond the struct itself: which of stele's variables were seen. */
struct parse_ctx {
	struct bootstate s;
	bool seen[N_STELE_VARS];
};

static int apply_var(struct parse_ctx *c, const struct bootstate_var *v, struct err *e)
{
	const struct stele_var *sv = find_stele_var(v->name);

	if (sv) {
		size_t i = (size_t)(sv - stele_vars);

		if (c->seen[i])
			return err_set(e, EINVAL, "variable %s appears twice", v->name);
		c->seen[i] = true;
		return apply_stele_var(sv, v->value, &c->s, e);
	}
	if (strncmp(v->name, CONTRACT_VAR_PREFIX, strlen(CONTRACT_VAR_PREFIX)) == 0)
		return err_set(e, EINVAL, "unknown stele variable %s", v->name);
	for (size_t i = 0; i < c->s.n_vars; i++)
		if (strcmp(c->s.vars[i].name, v->name) == 0)
			return err_set(e, EINVAL, "variable %s appears twice", v->name);
	if (c->s.n_vars == BOOTSTATE_VARS_MAX)
		return err_set(e, EINVAL, "more than %d variables besides " CONTRACT_VAR_PREFIX "* (at %s)",
			       BOOTSTATE_VARS_MAX, v->name);
	c->s.vars[c->s.n_vars++] = *v;
	return 0;
}

/* Finds the unescaped '\n' that ends the value starting at buf[pos]; GRUB's find_next_line. */
static int value_end(const char *buf, size_t len, size_t pos, size_t *ret_end)
{
	while (pos < len) {
		if (buf[pos] == '\n') {
			*ret_end = pos;
			return 0;
		}
		pos += buf[pos] == '\\' ? 2 : 1;
	}
	return -EINVAL;
}

/* Reads one name=value line at *pos into v and moves *pos past its '\n'. */
static int parse_line(const char *buf, size_t len, size_t *pos, struct bootstate_var *v,
		      struct err *e)
{
	size_t start = *pos, eq = start, end, n = 0;

	while (eq < len && buf[eq] != '=' && buf[eq] != '\n')
		eq++;
	if (eq == len || buf[eq] != '=')
		return err_set(e, EINVAL, "line at offset %zu is not name=value (no '=')", start);
	if (!valid_name(buf + start, eq - start))
		return err_set(e, EINVAL,
			       "line at offset %zu: variable name is not 1 to %d of [A-Za-z0-9_]",
			       start, BOOTSTATE_NAME_MAX);
	memcpy(v->name, buf + start, eq - start);
	v->name[eq - start] = '\0';
	if (value_end(buf, len, eq + 1, &end) < 0)
		return err_set(e, EINVAL, "variable %s: no newline before the end of the block",
			       v->name);
	for (size_t i = eq + 1; i < end; i++) {
		if (buf[i] == '\\') {
			i++;
			if (buf[i] != '\\' && buf[i] != '\n')
				return err_set(e, EINVAL,
					       "variable %s: invalid escape at offset %zu (GRUB "
					       "only escapes '\\' and newline)",
					       v->name, i - 1);
		}
		if (n == BOOTSTATE_VALUE_MAX)
			return err_set(e, EINVAL, "variable %s: value longer than %d bytes",
				       v->name, BOOTSTATE_VALUE_MAX);
		v->value[n++] = buf[i];
	}
	v->value[n] = '\0';
	*pos = end + 1;
	return 0;
}

int bootstate_parse(const char *buf, size_t len, struct bootstate *ret, struct err *e)
{
	struct parse_ctx c;
	struct bootstate_var v;
	const char *nul;
	size_t pos;
	int r;

	if (len != BOOTSTATE_SIZE)
		return err_set(e, EINVAL, "boot state block is %zu bytes, not %d", len,
			       BOOTSTATE_SIZE);
	if (memcmp(buf, BOOTSTATE_HEADER, HEADER_LEN) != 0)
		return err_set(e, EINVAL, "not a GRUB environment block (bad header)");
	nul = memchr(buf, '\0', len);
	if (nul)
		return err_set(e, EINVAL,
			       "boot state block: NUL byte at offset %zu; a GRUB environment "
			       "block is padded with '#'",
			       (size_t)(nul - buf));

	memset(&c, 0, sizeof(c));
	pos = HEADER_LEN;
	if (memcmp(buf + pos, BOOTSTATE_MESSAGE, MESSAGE_LEN) == 0)
		pos += MESSAGE_LEN;
	while (pos < len && buf[pos] != '#') {
		r = parse_line(buf, len, &pos, &v, e);
		if (r < 0)
			return r;
		r = apply_var(&c, &v, e);
		if (r < 0)
			return r;
	}
	for (size_t i = pos; i < len; i++)
		if (buf[i] != '#')
			return err_set(e, EINVAL,
				       "byte 0x%02x at offset %zu: only '#' padding may follow the "
				       "variables (padding starts at %zu)",
				       (unsigned char)buf[i], i, pos);
	for (size_t i = 0; i < N_STELE_VARS; i++)
		if (!c.seen[i])
			return err_set(e, EINVAL, "variable %s is missing", stele_vars[i].name);
	*ret = c.s;
	return 0;
}

static int validate_order(const struct bootstate *s, struct err *e)
{
	bool seen[BOOTSTATE_SLOTS] = {false};

	if (s->n_order < 1 || s->n_order > BOOTSTATE_SLOTS)
		return err_set(e, EINVAL, CONTRACT_VAR_ORDER ": %zu slots, expected 1 or 2", s->n_order);
	for (size_t i = 0; i < s->n_order; i++) {
		int idx = bootstate_slot_index(s->order[i]);

		if (idx < 0)
			return err_set(e, EINVAL, CONTRACT_VAR_ORDER ": invalid slot 0x%02x",
				       (unsigned char)s->order[i]);
		if (seen[idx])
			return err_set(e, EINVAL, CONTRACT_VAR_ORDER ": slot %c listed twice",
				       s->order[i]);
		seen[idx] = true;
	}
	return 0;
}

static int validate_var(const struct bootstate *s, size_t i, struct err *e)
{
	const struct bootstate_var *v = &s->vars[i];
	size_t nlen = strnlen(v->name, sizeof(v->name));
	char sh[48];

	if (nlen == sizeof(v->name) || !valid_name(v->name, nlen))
		return err_set(e, EINVAL,
			       "variable %zu: name \"%s\" is not 1 to %d of [A-Za-z0-9_]", i,
			       nlen == sizeof(v->name) ? "(unterminated)"
						       : shown(v->name, sh, sizeof(sh)),
			       BOOTSTATE_NAME_MAX);
	if (strncmp(v->name, CONTRACT_VAR_PREFIX, strlen(CONTRACT_VAR_PREFIX)) == 0)
		return err_set(e, EINVAL, "variable %s: " CONTRACT_VAR_PREFIX " names are reserved", v->name);
	if (strnlen(v->value, sizeof(v->value)) == sizeof(v->value))
		return err_set(e, EINVAL, "variable %s: value longer than %d bytes", v->name,
			       BOOTSTATE_VALUE_MAX);
	for (size_t j = 0; j < i; j++)
		if (strcmp(s->vars[j].name, v->name) == 0)
			return err_set(e, EINVAL, "variable %s appears twice", v->name);
	return 0;
}

int bootstate_validate(const struct bootstate *s, struct err *e)
{
	int r = validate_order(s, e);

	if (r < 0)
		return r;
	for (size_t i = 0; i < BOOTSTATE_SLOTS; i++) {
		const char *state = i == 0 ? CONTRACT_VAR_A_STATE : CONTRACT_VAR_B_STATE;
		const char *tries = i == 0 ? CONTRACT_VAR_A_TRIES : CONTRACT_VAR_B_TRIES;

		if (!bootstate_state_name(s->slots[i].state))
			return err_set(e, EINVAL, "%s: invalid state %d", state,
				       (int)s->slots[i].state);
		if (s->slots[i].tries > BOOTSTATE_TRIES_MAX)
			return err_set(e, EINVAL, "%s=%u: expected 0 to %d", tries,
				       s->slots[i].tries, BOOTSTATE_TRIES_MAX);
	}
	if (s->n_vars > BOOTSTATE_VARS_MAX)
		return err_set(e, EINVAL, "%zu variables besides " CONTRACT_VAR_PREFIX "*, at most %d", s->n_vars,
			       BOOTSTATE_VARS_MAX);
	for (size_t i = 0; i < s->n_vars; i++) {
		r = validate_var(s, i, e);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Appends to a block; counts past the end so the caller can report the size needed. */
struct writer {
	char *buf;
	size_t pos;
};

static void put(struct writer *w, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++, w->pos++)
		if (w->pos < BOOTSTATE_SIZE)
			w->buf[w->pos] = p[i];
}

static void put_str(struct writer *w, const char *p)
{
	put(w, p, strlen(p));
}

static void put_var(struct writer *w, const char *name, const char *value)
{
	put_str(w, name);
	put(w, "=", 1);
	for (const char *p = value; *p; p++) {
		if (*p == '\\' || *p == '\n')
			put(w, "\\", 1);
		put(w, p, 1);
	}
	put(w, "\n", 1);
}

static void stele_value(const struct bootstate *s, const struct stele_var *sv, char *buf,
			size_t size)
{
	const struct bootstate_slot *slot = &s->slots[sv->slot];
	size_t n = 0;

	switch (sv->kind) {
	case VAR_ORDER:
		for (size_t i = 0; i < s->n_order && n + 2 < size; i++) {
			if (i)
				buf[n++] = ' ';
			buf[n++] = s->order[i];
		}
		buf[n] = '\0';
		return;
	case VAR_STATE:
		snprintf(buf, size, "%s", bootstate_state_name(slot->state));
		return;
	case VAR_TRIES:
		snprintf(buf, size, "%u", slot->tries);
		return;
	}
	buf[0] = '\0';
}

int bootstate_format(const struct bootstate *s, char out[BOOTSTATE_SIZE], struct err *e)
{
	char block[BOOTSTATE_SIZE], value[16];
	struct writer w = {.buf = block, .pos = 0};
	int r = bootstate_validate(s, e);

	if (r < 0)
		return r;
	memset(block, '#', sizeof(block));
	put_str(&w, BOOTSTATE_HEADER);
	put_str(&w, BOOTSTATE_MESSAGE);
	for (size_t i = 0; i < N_STELE_VARS; i++) {
		stele_value(s, &stele_vars[i], value, sizeof(value));
		put_var(&w, stele_vars[i].name, value);
	}
	for (size_t i = 0; i < s->n_vars; i++)
		put_var(&w, s->vars[i].name, s->vars[i].value);
	if (w.pos > BOOTSTATE_ATOMIC_SIZE)
		return err_set(e, ENOSPC,
			       "the variables take %zu bytes, more than the first %d-byte sector "
			       "of the block",
			       w.pos, BOOTSTATE_ATOMIC_SIZE);
	memcpy(out, block, sizeof(block));
	return 0;
}

static int check_file(int fd, const char *path, const char *what, struct err *e)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return err_sys(e, errno, "%s: stat", path);
	if (!S_ISREG(st.st_mode))
		return err_set(e, EINVAL, "%s: not a regular file (%s)", path,
			       S_ISFIFO(st.st_mode)  ? "a FIFO"
			       : S_ISDIR(st.st_mode) ? "a directory"
			       : S_ISCHR(st.st_mode) ? "a character device"
			       : S_ISBLK(st.st_mode) ? "a block device"
						     : "a special file");
	if (st.st_size != BOOTSTATE_SIZE)
		return err_set(e, EINVAL, "%s: %s: file is %lld bytes, not %d", path, what,
			       (long long)st.st_size, BOOTSTATE_SIZE);
	return 0;
}

int bootstate_read(const char *path, struct bootstate *ret, struct err *e)
{
	char buf[BOOTSTATE_SIZE];
	int fd, r;

	/* O_NONBLOCK: a FIFO is refused by check_file, not waited on */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return err_sys(e, errno, "%s: open", path);
	r = check_file(fd, path, "not a boot state block", e);
	if (r == 0)
		r = io_pread_full(fd, buf, BOOTSTATE_SIZE, 0, path, e);
	close(fd);
	if (r < 0)
		return r;
	r = bootstate_parse(buf, sizeof(buf), ret, e);
	if (r < 0)
		return err_prefix(e, r, "%s", path);
	return 0;
}

int bootstate_write(const char *path, const struct bootstate *s, struct err *e)
{
	return bootstate_write_hooked(path, s, NULL, NULL, e);
}

int bootstate_write_hooked(const char *path, const struct bootstate *s,
			   void (*before_sync)(void *userdata), void *userdata, struct err *e)
{
	char block[BOOTSTATE_SIZE], back[BOOTSTATE_SIZE];
	int fd, r;

	r = bootstate_format(s, block, e);
	if (r < 0)
		return err_prefix(e, r, "%s", path);
	/* No O_CREAT, no O_TRUNC: the block is rewritten where it lies. */
	fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return err_sys(e, errno, "%s: open", path);
	r = check_file(fd, path, "refusing to write the boot state in place", e);
	if (r < 0)
		goto out;
	r = io_pwrite_full(fd, block, BOOTSTATE_SIZE, 0, path, e);
	if (r < 0)
		goto out;
	if (before_sync)
		before_sync(userdata);
	if (fsync(fd) < 0) {
		r = err_sys(e, errno, "%s: fsync", path);
		goto out;
	}
	/* The pages are clean now; dropping them makes the read-back come from the disk. */
	(void)posix_fadvise(fd, 0, BOOTSTATE_SIZE, POSIX_FADV_DONTNEED);
	r = io_pread_full(fd, back, BOOTSTATE_SIZE, 0, path, e);
	if (r < 0)
		goto out;
	if (memcmp(block, back, sizeof(block)) != 0)
		r = err_set(e, EIO, "%s: the block read back differs from what was written", path);
out:
	if (close(fd) < 0 && r == 0)
		r = err_sys(e, errno, "%s: close", path);
	return r;
}
