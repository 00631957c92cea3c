/*
 * socksproto.c: parse a SOCKS5 greeting and CONNECT request (RFC 1928
 * sections 3 and 4).  Pure: see socksproto.h.
 */
#include <sys/socket.h>
#include <arpa/inet.h>

#include <string.h>

#include "bg96d/conf.h"
#include "bg96d/socksproto.h"

enum socks_parse
socks_parse_greeting(const uint8_t *buf, size_t len, size_t *used,
    const char **why)
{
	size_t	 n;

	*used = 0;
	if (len < 2)
		return SOCKS_MORE;
	if (buf[0] != 5) {
		*why = "not SOCKS version 5";
		return SOCKS_BAD;
	}
	n = buf[1];
	if (len < 2 + n)
		return SOCKS_MORE;
	*used = 2 + n;
	if (memchr(buf + 2, 0x00, n) == NULL) {
		*why = "no acceptable authentication method";
		return SOCKS_BAD;
	}
	return SOCKS_DONE;
}

enum socks_parse
socks_parse_request(const uint8_t *buf, size_t len, size_t *used,
    struct socks_request *req, int *rep, const char **why)
{
	size_t	 need, n;

	*used = 0;
	if (len < 4)
		return SOCKS_MORE;
	if (buf[0] != 5) {
		*rep = SOCKS_REP_FAILURE;
		*why = "bad request version";
		return SOCKS_BAD;
	}
	switch (buf[3]) {
	case 1:
		need = 4 + 4 + 2;
		break;
	case 4:
		need = 4 + 16 + 2;
		break;
	case 3:
		if (len < 5)
			return SOCKS_MORE;
		need = 4 + 1 + buf[4] + 2;
		break;
	default:
		*rep = SOCKS_REP_ATYP;
		*why = "address type not supported";
		return SOCKS_BAD;
	}
	if (len < need)
		return SOCKS_MORE;
	*used = need;
	if (buf[1] != 1) {
		*rep = SOCKS_REP_COMMAND;
		*why = buf[1] == 2 ? "BIND not supported" : buf[1] == 3 ?
		    "UDP ASSOCIATE not supported" : "unknown command";
		return SOCKS_BAD;
	}
	req->port = (uint16_t)(buf[need - 2] << 8 | buf[need - 1]);
	switch (buf[3]) {
	case 1:
		inet_ntop(AF_INET, buf + 4, req->host, sizeof(req->host));
		break;
	case 4:
		inet_ntop(AF_INET6, buf + 4, req->host, sizeof(req->host));
		break;
	default:
		/* The name goes into AT+QIOPEN: letters, digits, '-', '.'. */
		n = buf[4];
		if (n == 0 || n > CONF_HOST_MAX ||
		    memchr(buf + 5, '\0', n) != NULL) {
			*rep = SOCKS_REP_HOST;
			*why = "invalid host name";
			return SOCKS_BAD;
		}
		memcpy(req->host, buf + 5, n);
		req->host[n] = '\0';
		if (!conf_host_ok(req->host) ||
		    !conf_at_string_ok(req->host)) {
			*rep = SOCKS_REP_HOST;
			*why = "invalid host name";
			return SOCKS_BAD;
		}
		break;
	}
	if (req->port == 0) {
		*rep = SOCKS_REP_FAILURE;
		*why = "port 0";
		return SOCKS_BAD;
	}
	return SOCKS_DONE;
}

size_t
socks_encode_reply(uint8_t out[SOCKS_REPLY_LEN], int rep)
{
	memset(out, 0, SOCKS_REPLY_LEN);
	out[0] = 5;
	out[1] = (uint8_t)rep;
	out[3] = 1;		/* ATYP IPv4: 0.0.0.0:0 */
	return SOCKS_REPLY_LEN;
}
