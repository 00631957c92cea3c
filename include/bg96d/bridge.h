/*
 * bridge.h: one local client paired with one modem socket, bytes both
 * ways with backpressure (DESIGN.md section 4).
 */
#ifndef BG96D_BRIDGE_H
#define BG96D_BRIDGE_H

struct endpoint;
struct epset;
struct bridge;
struct msock;
struct msock_peer;
struct bufferevent;

/* Take an accepted client fd; it waits in the set's queue for a slot. */
struct bridge	*bridge_new(struct endpoint *, int fd);
/*
 * A tcp-listener's modem socket accepted a connection on ms: connect to
 * the endpoint's forward target and bridge the two.
 */
void		 bridge_new_incoming(struct endpoint *, struct msock *ms,
		    const struct msock_peer *from);
/*
 * A SOCKS5 client asked for host:port (validated); bev holds its socket
 * (and any bytes it already sent after the request).  The reply is
 * sent when the modem connection opens or fails.
 */
void		 bridge_new_socks(struct endpoint *, struct bufferevent *bev,
		    const char *host, int port);
/* Dequeue the first waiting client that may start now and start it;
 * returns 0 when none could. */
int		 bridge_serve_one(struct epset *);
/* Close the client now (shutdown, endpoint removed). */
void		 bridge_abort(struct bridge *, const char *why);

#endif
