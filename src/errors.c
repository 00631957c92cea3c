/*
 * errors.c: the error table (errors.h).  Quectel's texts are the
 * reference's (bg96-at-reference.md section 9); the SOCKS replies are
 * RFC 1928's, as README.md documents them for socks.sock.
 */
#include <stddef.h>

#include "bg96d/errors.h"
#include "bg96d/socksproto.h"

#define Q(c, t, rep)	{ c, #c, t, rep, RETRY_NO, false }

static const struct err_info errtab[] = {
	{ ERR_OK, "ERR_OK", "success", SOCKS_REP_SUCCESS, RETRY_NO, false },
	{ ERR_OPEN_TIMEOUT, "ERR_OPEN_TIMEOUT", "connect timed out",
	    SOCKS_REP_TTL, RETRY_NO, false },
	{ ERR_MODEM, "ERR_MODEM", "modem failed", SOCKS_REP_NETWORK,
	    RETRY_MODEM, false },
	{ ERR_INSTANCE, "ERR_INSTANCE", "another instance is running",
	    SOCKS_REP_FAILURE, RETRY_NO, false },
	{ ERR_NO_SLOT, "ERR_NO_SLOT", "no modem slot in time",
	    SOCKS_REP_FAILURE, RETRY_NO, false },
	{ ERR_NOT_READY, "ERR_NOT_READY", "modem not ready",
	    SOCKS_REP_NETWORK, RETRY_NO, false },
	Q(QERR_UNKNOWN, "unknown error", SOCKS_REP_FAILURE),
	Q(QERR_BLOCKED, "operation blocked", SOCKS_REP_FAILURE),
	Q(QERR_INVALID_PARAM, "invalid parameters", SOCKS_REP_FAILURE),
	Q(QERR_NO_MEMORY, "memory not enough", SOCKS_REP_FAILURE),
	Q(QERR_SOCKET_CREATE, "create socket failed", SOCKS_REP_FAILURE),
	Q(QERR_NOT_SUPPORTED, "operation not supported", SOCKS_REP_FAILURE),
	Q(QERR_BIND, "socket bind failed", SOCKS_REP_FAILURE),
	Q(QERR_LISTEN, "socket listen failed", SOCKS_REP_FAILURE),
	Q(QERR_WRITE, "socket write failed", SOCKS_REP_FAILURE),
	Q(QERR_READ, "socket read failed", SOCKS_REP_FAILURE),
	Q(QERR_ACCEPT, "socket accept failed", SOCKS_REP_FAILURE),
	{ QERR_PDP_OPEN, "QERR_PDP_OPEN", "no PDP context",
	    SOCKS_REP_NETWORK, RETRY_NO, true },
	Q(QERR_PDP_CLOSE, "close PDP context failed", SOCKS_REP_FAILURE),
	{ QERR_ID_IN_USE, "QERR_ID_IN_USE", "socket identity in use",
	    SOCKS_REP_FAILURE, RETRY_CLOSE_SLOT, false },
	Q(QERR_DNS_BUSY, "DNS busy", SOCKS_REP_FAILURE),
	Q(QERR_DNS_PARSE, "DNS", SOCKS_REP_HOST),
	Q(QERR_CONNECT, "refused or unreachable", SOCKS_REP_REFUSED),
	Q(QERR_CLOSED, "socket has been closed", SOCKS_REP_FAILURE),
	Q(QERR_BUSY, "operation busy", SOCKS_REP_FAILURE),
	Q(QERR_TIMEOUT, "operation timeout", SOCKS_REP_FAILURE),
	{ QERR_PDP_BROKEN, "QERR_PDP_BROKEN", "no PDP context",
	    SOCKS_REP_NETWORK, RETRY_NO, true },
	Q(QERR_CANCEL_SEND, "cancel send", SOCKS_REP_FAILURE),
	Q(QERR_NOT_ALLOWED, "operation not allowed", SOCKS_REP_FAILURE),
	Q(QERR_APN_NOT_CONFIGURED, "APN not configured", SOCKS_REP_FAILURE),
	Q(QERR_PORT_BUSY, "port busy", SOCKS_REP_FAILURE),
};

static const struct err_info unknown = {
	0, "ERR_UNKNOWN", "modem error", SOCKS_REP_FAILURE, RETRY_NO, false
};

const struct err_info *
err_info(int code)
{
	size_t	 i;

	for (i = 0; i < sizeof(errtab) / sizeof(errtab[0]); i++)
		if (errtab[i].code == code)
			return &errtab[i];
	return &unknown;
}
