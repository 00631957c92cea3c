/*
 * usock.h: listening Unix socket files, for the endpoints and the
 * control socket: making the file (refusing to take it from a running
 * instance) and accepting with a pause when descriptors run out.
 */
#ifndef BG96D_USOCK_H
#define BG96D_USOCK_H

#include <stdbool.h>
#include <stddef.h>

struct event;
struct event_base;

/* A listening socket file and its accept events. */
struct usock {
	int		 fd;		/* -1: not listening */
	char		 path[108];	/* the socket file */
	struct event	*ev;		/* readable: a client to accept */
	struct event	*pause;		/* accept paused (EMFILE) */
};

/* Not listening (fd -1). */
void	 usock_init(struct usock *);
/*
 * Make a Unix socket file at path with mode and group (gid -1: keep),
 * listening, non-blocking, and call cb(fd, what, arg) when a client
 * waits.  Returns 0, -1 with err, or ERR_INSTANCE (errors.h) with err if
 * a live socket is already there: another bg96d.  u is untouched on
 * failure.
 */
int	 usock_listen(struct usock *u, struct event_base *, const char *path,
	    int type, int mode, int gid, void (*cb)(int, short, void *),
	    void *arg, char *err, size_t errlen)
	    __attribute__((nonnull(1, 2, 3, 7, 9)));
/*
 * Accept one client.  Returns the new non-blocking fd, or -1.  On
 * EMFILE/ENFILE, who (a log prefix) logs it and accepting stops for
 * ACCEPT_PAUSE_MS, then goes on.
 */
int	 usock_accept(struct usock *, const char *who);
/* Stop listening, remove the socket file; false if it was not. */
bool	 usock_close(struct usock *);

#endif
