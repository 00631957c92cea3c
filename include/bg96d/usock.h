/*
 * usock.h: listening Unix socket files, for the endpoints and the
 * control socket: making the file (refusing to take it from a running
 * instance) and accepting with a pause when descriptors run out.
 */
#ifndef BG96D_USOCK_H
#define BG96D_USOCK_H

#include <stddef.h>

struct event;

/*
 * Make a Unix socket file at path with mode and group (gid -1: keep),
 * listening, non-blocking.  Returns the fd, -1 with err, or ERR_INSTANCE
 * (errors.h) with err if a live socket is already there: another bg96d.
 */
int	 usock_listen(const char *path, int type, int mode, int gid,
	    char *err, size_t errlen) __attribute__((nonnull(1, 5)));

/*
 * Accept one client on lfd (ev: its persistent read event).  Returns the
 * new non-blocking fd, or -1.  On EMFILE/ENFILE, who (a log prefix) logs
 * it and ev stops for ACCEPT_PAUSE_MS, then goes on; *pause is the timer
 * that resumes it, made on first use.  The owner frees *pause before or
 * with ev.
 */
int	 usock_accept(int lfd, struct event *ev, struct event **pause,
	    const char *who);

#endif
