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

/*
 * A daemon socket file that a reload may move, re-mode or switch off
 * (control.sock, events.sock): who names it in the log ("control").
 */
struct usock_file {
	struct usock	 ls;
	const char	*who;
	int		 mode;		/* as made */
	int		 gid;		/* as made, -1: kept */
};

void	 usock_file_init(struct usock_file *, const char *who);
/*
 * Apply a configuration: enable false removes the file; a file at
 * dir/name already is only re-moded and re-owned; another path is made
 * first, then the old one removed (a failure keeps the old one).
 * Returns 0, or -1 / ERR_INSTANCE with err.
 */
int	 usock_file_apply(struct usock_file *, struct event_base *,
	    bool enable, const char *dir, const char *name, int mode, int gid,
	    void (*cb)(int, short, void *), void *arg, char *err,
	    size_t errlen);
/* Stop listening and remove the file (logged). */
void	 usock_file_close(struct usock_file *);

#endif
