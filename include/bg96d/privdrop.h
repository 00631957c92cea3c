/*
 * privdrop.h: when started as root with [daemon] user set, give up root
 * for good after the serial port and socket files are open.
 */
#ifndef BG96D_PRIVDROP_H
#define BG96D_PRIVDROP_H

#include <stddef.h>

/*
 * Look up user; hand socket_dir (and the socket files in it) to that
 * user; initgroups() so supplementary groups such as dialout stay (the
 * tty can be reopened after an unplug); setresgid(); setresuid(); then
 * verify that root cannot be regained.  Returns 0, or -1 with err set.
 * Does nothing (returns 0) when user is empty.  When not running as root
 * and user is set, it is an error unless user is already the current user.
 */
int	privdrop(const char *user, const char *socket_dir, char *err,
	    size_t errlen);

#endif
