/* stele-init's console: every line goes to /dev/console (stderr until that is open, or when it
 * cannot be), prefixed "stele-init: ", in one write so kernel messages do not split it. Debug
 * lines only appear with stele.debug on the kernel command line. */
#ifndef STELE_INIT_CONSOLE_H
#define STELE_INIT_CONSOLE_H

#include <stdbool.h>

/* Opens /dev/console; also puts it on fds 0-2 when they are closed (the kernel leaves them
 * closed when the initramfs has no /dev/console), so /sbin/init and a debug shell get a
 * terminal. */
void console_open(void);
/* Points fds 0-2 at the console (for the debug shell). */
void console_stdio(void);
void console_set_debug(bool on);
bool console_debug(void);
void console_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void console_dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
