/*
 * socks.h: the SOCKS5 endpoint (RFC 1928), <socket_dir>/socks.sock.
 * No authentication, CONNECT only; IPv4, IPv6 and domain names, which go
 * to the modem unresolved after validation.
 */
#ifndef BG96D_SOCKS_H
#define BG96D_SOCKS_H

#include "bg96d/socksproto.h"

struct endpoint;

/* A client connected to socks.sock: read its handshake. */
void	socks_accept(struct endpoint *, int fd);

#endif
