/*
 * events.h: the event stream, <socket_dir>/events.sock.
 *
 * Each subscriber gets one compact JSON object per line, as things
 * happen: {"ts":"2026-12-04T04:18:03.123Z","event":"state",...}.  The
 * events (README "Events" lists their members): hello (on connect: the
 * current state), state, registration, operator, pdp, recovery,
 * connection_opened, connection_closed, connection_failed, reload,
 * overflow.
 *
 * A subscriber never slows the daemon: its events wait in a queue of
 * EVENTS_QUEUE_MAX; when that is full, new events are dropped for it and
 * counted, and once it has read what was queued it gets
 * {"event":"overflow","dropped":N} and the stream goes on.  Writes are
 * non-blocking.  What a subscriber sends is read and thrown away; its
 * EOF closes it.  At most EVENTS_CLIENTS_MAX subscribers; one more gets
 * {"event":"error","error":"too many event subscribers"} and is closed.
 *
 * The hooks (events_state() ...) are called by the modules that see the
 * facts; they are no-ops until events_new() and cost a JSON build only
 * when someone listens.
 */
#ifndef BG96D_EVENTS_H
#define BG96D_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

struct conf;
struct event_base;
struct events;

#define EVENTS_QUEUE_MAX	256	/* events queued per subscriber */
#define EVENTS_CLIENTS_MAX	16	/* subscribers at once */

/* One event line, shared by every subscriber queue holding it. */
struct evmsg {
	int		 refs;
	size_t		 len;		/* with its "\n" */
	char		 data[];
};

/*
 * A subscriber's queue (pure: no I/O).  gap[i] is how many events were
 * dropped just before entry i; dropped counts those after the last one.
 */
struct evq {
	struct evmsg		*m[EVENTS_QUEUE_MAX];
	unsigned long long	 gap[EVENTS_QUEUE_MAX];
	size_t			 head, n;
	unsigned long long	 dropped;
	unsigned long long	 dropped_total;
};

struct evmsg	*evmsg_new(const char *, size_t);
void		 evmsg_unref(struct evmsg *);
void		 evq_init(struct evq *);
/* Queue m (taking a reference); false if full (counted as dropped). */
bool		 evq_push(struct evq *, struct evmsg *m);
/*
 * The oldest event (the caller owns its reference), *gap the events
 * dropped just before it; NULL if empty.
 */
struct evmsg	*evq_pop(struct evq *, unsigned long long *gap);
/* Dropped after the last queued event; zeroes it.  Call when empty. */
unsigned long long evq_take_dropped(struct evq *);
/* Drop every reference. */
void		 evq_clear(struct evq *);

/* The service (no socket yet); the hooks report to it from now on. */
struct events	*events_new(struct event_base *);
/*
 * Bind (or re-bind after SIGHUP) <socket_dir>/events.sock.  It follows
 * control.sock: present when [control] enable is yes, with [control]
 * mode and [daemon] socket_group.  Returns as control_apply().
 */
int		 events_apply(struct events *, const struct conf *, int gid,
		    char *err, size_t errlen);
/* Close every subscriber and the socket, remove the file; NULL-safe. */
void		 events_free(struct events *);
/* Subscribers connected now. */
int		 events_clients(const struct events *);

/* Hooks. */
void	 events_state(const char *state, const char *why);
/* Registration stat (27.007: 0..5, -1 unknown); only changes are sent. */
void	 events_registration(int stat);
/* Operator name ("" none); only changes are sent. */
void	 events_operator(const char *);
/* The PDP context cid is active with address ip. */
void	 events_pdp(int cid, const char *ip);
/* The modem layer recovers: action ("reopen", "restart" ...), why. */
void	 events_recovery(const char *action, const char *why);
void	 events_reload(const char *path, const char *error);

/*
 * One bridged client connection, as a member of its owner (bridge.c):
 * opened once its modem socket is open, closed when it ends.  A client
 * that ends without opening is reported as connection_failed (to
 * host:port, if host is not empty).
 */
struct events_conn {
	unsigned long long	 bytes_up, bytes_down;	/* the owner counts */
	long long		 opened_ms;	/* 0: never opened */
	int			 slot;
	char			 peer[300];	/* "host:port" */
};
void	 events_conn_opened(struct events_conn *, const char *endpoint,
	    unsigned long client, int slot, const char *host, int port);
void	 events_conn_closed(struct events_conn *, const char *endpoint,
	    unsigned long client, const char *host, int port,
	    const char *why);

#endif
