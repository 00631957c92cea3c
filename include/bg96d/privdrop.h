/*
 * privdrop.h: when started as root with [daemon] user set, give up root
 * for good once the socket files are bound (and before the serial port is
 * first opened, so that it is always opened with the user's groups).
 */
#ifndef BG96D_PRIVDROP_H
#define BG96D_PRIVDROP_H

#include <stddef.h>

/*
 * Look up user; hand socket_dir (unless it is shared: sticky or writable
 * by all) and the socket files in it to that user, giving files that still
 * have root's group the user's group (socket_group stays); initgroups() so
 * supplementary groups such as dialout stay (the tty can be reopened after
 * an unplug); setresgid(); setresuid(); then verify that root cannot be
 * regained.  Returns 0, or -1 with err set (the caller logs it).
 * Does nothing (returns 0) when user is empty or is root.  When not
 * running as root and user is set, it is an error unless user is already
 * the current user.
 */
int	privdrop(const char *user, const char *socket_dir, char *err,
	    size_t errlen);

#endif
