/* stele-init's console: every line goes to each active console of the kernel (serial and
 * screen alike), else to /dev/console, else stderr; prefixed "stele-init: " and written in one
 * write so kernel messages do not split it. Debug lines only with stele.debug. */
#ifndef STELE_INIT_CONSOLE_H
#define STELE_INIT_CONSOLE_H

#include <stdbool.h>

/* Opens /dev/console and the consoles in /sys/class/tty/console/active (so /dev and /sys
 * must be mounted); puts /dev/console on fds 0-2 when they are closed (the kernel leaves them
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
