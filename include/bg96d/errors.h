/*
 * errors.h: one table of the error codes bg96d compares, logs or maps:
 * the BG96's TCP/IP result codes (bg96-at-reference.md section 9, the
 * <err> of +QIOPEN and of +CME ERROR: <n> with AT+CMEE=1) and the
 * daemon's own (negative), with what each means to the rest of the
 * daemon.  Code that compares a code uses these names; code that logs
 * one prints err_info()->name and ->text; the SOCKS reply for a failed
 * open comes from err_info()->socks_rep.  Both socket command families
 * (cmdfam.h) answer with these codes.
 */
#ifndef BG96D_ERRORS_H
#define BG96D_ERRORS_H

#include <stdbool.h>
#include <stdint.h>

enum bg96_err {
	ERR_OK = 0,

	/* The daemon's own. */
	ERR_OPEN_TIMEOUT = -1,	/* no +QIOPEN before connect_timeout */
	ERR_MODEM = -2,		/* the modem failed (timeout, reboot, line) */
	ERR_INSTANCE = -3,	/* another bg96d answers on a socket file */
	ERR_NO_SLOT = -4,	/* no modem slot came free in time */
	ERR_NOT_READY = -5,	/* the modem is not ready (no context) */

	/* Quectel's (reference section 9). */
	QERR_UNKNOWN = 550,
	QERR_BLOCKED = 551,
	QERR_INVALID_PARAM = 552,
	QERR_NO_MEMORY = 553,
	QERR_SOCKET_CREATE = 554,
	QERR_NOT_SUPPORTED = 555,
	QERR_BIND = 556,
	QERR_LISTEN = 557,
	QERR_WRITE = 558,
	QERR_READ = 559,
	QERR_ACCEPT = 560,
	QERR_PDP_OPEN = 561,
	QERR_PDP_CLOSE = 562,
	QERR_ID_IN_USE = 563,
	QERR_DNS_BUSY = 564,
	QERR_DNS_PARSE = 565,
	QERR_CONNECT = 566,
	QERR_CLOSED = 567,
	QERR_BUSY = 568,
	QERR_TIMEOUT = 569,
	QERR_PDP_BROKEN = 570,
	QERR_CANCEL_SEND = 571,
	QERR_NOT_ALLOWED = 572,
	QERR_APN_NOT_CONFIGURED = 573,
	QERR_PORT_BUSY = 574,
};

/* What may be done about a failed open. */
enum err_retry {
	RETRY_NO,		/* tell the client */
	RETRY_MODEM,		/* not the destination's fault: wait for the
				 * modem and open again (until the deadline) */
	RETRY_CLOSE_SLOT,	/* a stale slot: AT+QICLOSE it, open once more */
};

struct err_info {
	int		 code;
	const char	*name;		/* "QERR_DNS_PARSE", "ERR_MODEM" */
	const char	*text;		/* "DNS failed": what a log says */
	uint8_t		 socks_rep;	/* RFC 1928 REP for a failed CONNECT */
	enum err_retry	 retry;
	bool		 context_lost;	/* the PDP context may be gone: check
					 * it, a pdpdeact may have been missed */
};

/*
 * The entry for code, never NULL.  An unknown code gets one generic entry
 * ("ERR_UNKNOWN", "modem error", .code 0): a log prints the code itself
 * next to ->name.
 */
const struct err_info	*err_info(int code);
static inline bool
err_context_lost(int code)
{
	return err_info(code)->context_lost;
}

#endif
