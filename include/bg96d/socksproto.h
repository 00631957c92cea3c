/*
 * socksproto.h: the SOCKS5 handshake as pure functions over bytes
 * (RFC 1928, no authentication, CONNECT only).  No I/O, no globals, no
 * allocation: socks.c feeds them what a client has sent so far, the fuzz
 * harness feeds them anything.  buf may be NULL when len is 0.
 */
#ifndef BG96D_SOCKSPROTO_H
#define BG96D_SOCKSPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "bg96d/conf.h"

/* Reply codes (RFC 1928 section 6). */
#define SOCKS_REP_SUCCESS	0x00
#define SOCKS_REP_FAILURE	0x01	/* general failure, no slot in time */
#define SOCKS_REP_NETWORK	0x03	/* network unreachable: no context */
#define SOCKS_REP_HOST		0x04	/* host unreachable: DNS (565), bad name */
#define SOCKS_REP_REFUSED	0x05	/* connection refused (566) */
#define SOCKS_REP_TTL		0x06	/* TTL expired: no +QIOPEN in time */
#define SOCKS_REP_COMMAND	0x07	/* command not supported */
#define SOCKS_REP_ATYP		0x08	/* address type not supported */

/* The longest greeting and request (bytes). */
#define SOCKS_GREETING_MAX	(2 + 255)
#define SOCKS_REQUEST_MAX	(4 + 1 + 255 + 2)
#define SOCKS_HANDSHAKE_MAX	(SOCKS_GREETING_MAX + SOCKS_REQUEST_MAX)
/* A reply to a request (bytes). */
#define SOCKS_REPLY_LEN		10

enum socks_parse {
	SOCKS_MORE = 0,		/* incomplete: wait for more bytes */
	SOCKS_DONE,		/* understood; *used bytes consumed */
	SOCKS_BAD,		/* refuse: send the reply, then close */
};

/* A CONNECT request that may go to the modem. */
struct socks_request {
	char		 host[CONF_HOST_MAX + 1];	/* IP literal or name */
	uint16_t	 port;				/* never 0 */
};

/*
 * VER NMETHODS METHODS.  SOCKS_DONE when "no authentication" (0x00) is
 * offered; SOCKS_BAD (reply 05 FF) otherwise, with *why set.
 */
enum socks_parse socks_parse_greeting(const uint8_t *buf, size_t len,
		    size_t *used, const char **why);

/*
 * VER CMD RSV ATYP DST.ADDR DST.PORT.  SOCKS_DONE fills *req: the host
 * passed conf_host_ok() and conf_at_string_ok(), so it can be quoted in
 * an AT command as is.  SOCKS_BAD sets *rep (the reply code) and *why.
 */
enum socks_parse socks_parse_request(const uint8_t *buf, size_t len,
		    size_t *used, struct socks_request *req, int *rep,
		    const char **why);

/*
 * The reply to a request (RFC 1928 section 6): VER REP RSV, and an IPv4
 * BND.ADDR and BND.PORT of zero (the modem's end is not known to
 * bg96d).  Fills out and returns its length, SOCKS_REPLY_LEN.
 */
size_t		 socks_encode_reply(uint8_t out[SOCKS_REPLY_LEN], int rep);

#endif
