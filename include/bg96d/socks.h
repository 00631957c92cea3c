/*
 * socks.h: the SOCKS5 endpoint (RFC 1928), <socket_dir>/socks.sock.
 * No authentication, CONNECT only; IPv4, IPv6 and domain names, which go
 * to the modem unresolved after validation.
 */
#ifndef BG96D_SOCKS_H
#define BG96D_SOCKS_H

#include "bg96d/socksproto.h"

struct bufferevent;
struct event_base;
struct socks;

/*
 * Handshakes under way at once on socks.sock; a client over the limit is
 * closed at once.  With the 10 s deadline this bounds the descriptors
 * that clients who never finish can hold.
 */
#define SOCKS_HANDSHAKES_MAX	32

/* Where a handshake's outcome goes; each gets the owner's arg. */
struct socks_ops {
	/* A client was refused (bad or too many handshakes). */
	void	(*refused)(void *);
	/* A valid request: bev (the client) now belongs to the callee. */
	void	(*request)(void *, struct bufferevent *bev,
		    const struct socks_request *);
};

/* The handshakes of one socks.sock; name is for the log. */
struct socks	*socks_new(struct event_base *, const char *name,
		    const struct socks_ops *, void *arg);
/* A client connected to socks.sock: read its handshake. */
void		 socks_accept(struct socks *, int fd);
/* Close every handshake under way (the endpoint is going away). */
void		 socks_free(struct socks *);

#endif
