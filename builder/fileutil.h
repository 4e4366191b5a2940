/* Small file helpers for the host tool: bounded reads, full writes, and staged outputs that
 * appear under their final names only when the whole build succeeded. */
#ifndef STELE_FILEUTIL_H
#define STELE_FILEUTIL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

int file_read_all(const char *path, size_t max, char **ret, size_t *ret_len, struct err *e);
int write_all(int fd, const void *buf, size_t len);
/* Creates or replaces path (mode 0644) with buf. */
int file_write(const char *path, const void *buf, size_t len, struct err *e);
int mkdir_p(const char *path, struct err *e);

/* Runs argv (no shell) in directory cwd (NULL: ours), capturing at most max bytes of stdout
 * into *ret_out (NUL-terminated) when ret_out is set. stderr is captured into the error on
 * failure. Returns 0 when the program exited 0. */
int run_capture(char *const argv[], const char *cwd, size_t max, char **ret_out, struct err *e);
/* The same, and *ret_len (when set) is the number of bytes captured (stdout may hold NULs). */
int run_capture_len(char *const argv[], const char *cwd, size_t max, char **ret_out,
		    size_t *ret_len, struct err *e);

#define STAGE_MAX 32
#define STAGE_MAX_DEPTH 16

/* Outputs of one build: each is written to a hidden temporary name in the output directory,
 * and stage_commit fsyncs and renames them all; stage_abort (or a signal) unlinks them,
 * removes the output directories stage_init created (a directory that existed is left as it
 * was) and the build's scratch directory. */
struct stage {
	char *dir;
	char *tmp[STAGE_MAX];
	char *final[STAGE_MAX];
	int n;
	char *created[STAGE_MAX_DEPTH]; /* directories made by stage_init, deepest first */
	int ncreated;
	char *scratch;     /* private directory for intermediate files, $TMPDIR while staged */
	char *old_tmpdir;  /* $TMPDIR before (NULL: unset) */
	int has_old_tmpdir;
};

/* Creates dir (and missing parents) and a scratch directory stele-build-XXXXXX under $TMPDIR
 * (default /tmp), which becomes $TMPDIR for this process and the programs it runs until
 * stage_free, so every intermediate file of the build lives where a failure or a signal
 * removes it. */
int stage_init(struct stage *s, const char *dir, struct err *e);
/* Reserves a temporary path for the output named name; returns its index. */
int stage_add(struct stage *s, const char *name, const char **ret_tmp, struct err *e);
int stage_commit(struct stage *s, struct err *e);
void stage_abort(struct stage *s);
/* Removes the scratch directory, restores $TMPDIR and frees s. */
void stage_free(struct stage *s);
/* What is removed if the process is killed (SIGINT, SIGTERM, SIGHUP) while a build runs: the
 * watched stage's files, as stage_abort removes them, and the directories registered outside
 * it (a download directory in the package cache), at most CLEANUP_MAX at a time (register
 * fails with -ENOSPC beyond). The command layer owns the one struct cleanup of the process
 * and the signal handler that calls cleanup_run (a handler can reach nothing else); the
 * builder only fills it. Every function takes c NULL as "nobody cleans up". */
#define CLEANUP_MAX 4
struct cleanup {
	struct stage *volatile stage;
	char paths[CLEANUP_MAX][4096];
	volatile sig_atomic_t used[CLEANUP_MAX];
};
void cleanup_watch(struct cleanup *c, struct stage *s); /* s NULL: stop watching */
int cleanup_register(struct cleanup *c, const char *path);
void cleanup_unregister(struct cleanup *c, const char *path);
/* Removes what c holds, with system calls only (safe in a signal handler). */
void cleanup_run(struct cleanup *c);
/* Removes path and everything below it, with system calls only (safe in a signal handler);
 * symlinks are removed, never followed. */
void remove_tree(const char *path);

#endif
