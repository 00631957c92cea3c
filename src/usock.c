/*
 * usock.c: listening Unix socket files (see usock.h).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bg96d/errors.h"
#include "bg96d/evtimer.h"
#include "bg96d/log.h"
#include "bg96d/timeouts.h"
#include "bg96d/usock.h"
#include "bg96d/util.h"

void
usock_init(struct usock *u)
{
	memset(u, 0, sizeof(*u));
	u->fd = -1;
}

/* The socket file, listening: fd, -1 or ERR_INSTANCE with err. */
static int
usock_make(const char *path, int type, int mode, int gid, char *err,
    size_t errlen)
{
	struct sockaddr_un	 sun;
	mode_t			 old;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	/* A socket file that still answers belongs to a running instance. */
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(fd);
		snprintf(err, errlen, "%s: another bg96d answers there", path);
		return ERR_INSTANCE;
	}
	close(fd);
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "%s: unlink: %s", path, strerror(errno));
		return -1;
	}
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		snprintf(err, errlen, "%s: bind: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if ((gid != -1 && chown(path, (uid_t)-1, (gid_t)gid) == -1) ||
	    chmod(path, (mode_t)mode) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (listen(fd, 16) == -1) {
		snprintf(err, errlen, "%s: listen: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

int
usock_listen(struct usock *u, struct event_base *base, const char *path,
    int type, int mode, int gid, void (*cb)(int, short, void *), void *arg,
    char *err, size_t errlen)
{
	int	 fd;

	if (strlen(path) >= sizeof(u->path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	if ((fd = usock_make(path, type, mode, gid, err, errlen)) < 0)
		return fd;
	usock_init(u);
	u->fd = fd;
	strlcpy(u->path, path, sizeof(u->path));
	u->ev = event_new(base, fd, EV_READ | EV_PERSIST, cb, arg);
	event_add(u->ev, NULL);
	return 0;
}

/* The pause is over: listen again. */
static void
usock_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	event_add(arg, NULL);
}

int
usock_accept(struct usock *u, const char *who)
{
	int	 fd;

	fd = accept4(u->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd != -1)
		return fd;
	/*
	 * Out of descriptors: the pending connection stays in the backlog
	 * and would wake us at once, again and again.  Stop listening for
	 * a while instead; other errors (the client went away) are its own.
	 */
	if (errno == EMFILE || errno == ENFILE) {
		log_warn("%s: accept", who);
		event_del(u->ev);
		if (u->pause == NULL)
			u->pause = evtimer_new(event_get_base(u->ev),
			    usock_resume_cb, u->ev);
		evtimer_add_ms(u->pause, ACCEPT_PAUSE_MS);
	}
	return -1;
}

bool
usock_close(struct usock *u)
{
	bool	 was = u->fd != -1;

	if (u->pause != NULL)
		event_free(u->pause);
	if (u->ev != NULL)
		event_free(u->ev);
	if (was) {
		close(u->fd);
		if (unlink(u->path) == -1 && errno != ENOENT)
			log_warn("unlink %s", u->path);
	}
	usock_init(u);
	return was;
}

void
usock_file_init(struct usock_file *f, const char *who)
{
	usock_init(&f->ls);
	f->who = who;
	f->mode = 0;
	f->gid = -1;
}

void
usock_file_close(struct usock_file *f)
{
	char	 path[sizeof(f->ls.path)];

	strlcpy(path, f->ls.path, sizeof(path));
	if (usock_close(&f->ls))
		log_info("%s: %s removed", f->who, path);
}

int
usock_file_apply(struct usock_file *f, struct event_base *base, bool enable,
    const char *dir, const char *name, int mode, int gid,
    void (*cb)(int, short, void *), void *arg, char *err, size_t errlen)
{
	char		 path[sizeof(f->ls.path)];
	struct usock	 nls;
	int		 r;

	if (!enable) {
		usock_file_close(f);
		return 0;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		snprintf(err, errlen, "%s/%s: path too long", dir, name);
		return -1;
	}
	if (f->ls.fd != -1 && strcmp(path, f->ls.path) == 0) {
		/* Same file: only its mode or group may change. */
		if ((gid != -1 && gid != f->gid &&
		    chown(path, (uid_t)-1, (gid_t)gid) == -1) ||
		    (mode != f->mode && chmod(path, (mode_t)mode) == -1)) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		f->mode = mode;
		f->gid = gid;
		return 0;
	}
	/* A new file first, so a failure keeps the old one working. */
	if ((r = usock_listen(&nls, base, path, SOCK_STREAM, mode, gid, cb,
	    arg, err, errlen)) != 0)
		return r;
	usock_file_close(f);
	f->ls = nls;
	f->mode = mode;
	f->gid = gid;
	log_info("%s: listening on %s", f->who, path);
	return 0;
}
