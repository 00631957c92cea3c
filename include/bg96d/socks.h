/*
 * socks.h: the SOCKS5 endpoint (RFC 1928), <socket_dir>/socks.sock.
 * No authentication, CONNECT only; IPv4, IPv6 and domain names, which go
 * to the modem unresolved after validation.
 */
#ifndef BG96D_SOCKS_H
#define BG96D_SOCKS_H

struct endpoint;

/* Reply codes (RFC 1928 section 6). */
#define SOCKS_REP_SUCCESS	0x00
#define SOCKS_REP_FAILURE	0x01	/* general failure, no slot in time */
#define SOCKS_REP_NETWORK	0x03	/* network unreachable: no context */
#define SOCKS_REP_HOST		0x04	/* host unreachable: DNS (565), bad name */
#define SOCKS_REP_REFUSED	0x05	/* connection refused (566) */
#define SOCKS_REP_TTL		0x06	/* TTL expired: no +QIOPEN in time */
#define SOCKS_REP_COMMAND	0x07	/* command not supported */
#define SOCKS_REP_ATYP		0x08	/* address type not supported */

/* Bounds on the handshake (bytes, ms). */
#define SOCKS_HANDSHAKE_MAX	(2 + 255 + 4 + 1 + 255 + 2)

/* A client connected to socks.sock: read its handshake. */
void	socks_accept(struct endpoint *, int fd);

#endif
