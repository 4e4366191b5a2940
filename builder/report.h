/* How the builder tells its caller what it is doing: one callback taking a kind and a line of
 * text (no "stele: " prefix, no newline). Builder code prints nothing itself; the command
 * layer decides what reaches stderr. */
#ifndef STELE_REPORT_H
#define STELE_REPORT_H

enum build_event {
	BUILD_PROGRESS, /* what the build is doing (`stele build -q` hides it) */
	BUILD_WARNING,  /* something the user must know (never hidden) */
};

struct reporter {
	void (*report)(void *opaque, enum build_event kind, const char *msg);
	void *opaque;
};

/* Formats and passes one message to r; nothing when r or its callback is NULL. */
void reportf(const struct reporter *r, enum build_event kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
