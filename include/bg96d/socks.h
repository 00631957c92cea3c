/*
 * socks.h: the SOCKS5 endpoint (RFC 1928), <socket_dir>/socks.sock.
 * No authentication, CONNECT only; IPv4, IPv6 and domain names, which go
 * to the modem unresolved after validation.
 */
#ifndef BG96D_SOCKS_H
#define BG96D_SOCKS_H

#include "bg96d/socksproto.h"

struct endpoint;

/*
 * Handshakes under way at once on socks.sock; a client over the limit is
 * closed at once.  With the 10 s deadline this bounds the descriptors
 * that clients who never finish can hold.
 */
#define SOCKS_HANDSHAKES_MAX	32

/* A client connected to socks.sock: read its handshake. */
void	socks_accept(struct endpoint *, int fd);
/* Close every handshake under way (the endpoint is going away). */
void	socks_abort_all(struct endpoint *);

#endif
