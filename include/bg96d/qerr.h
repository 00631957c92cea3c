/*
 * qerr.h: the BG96's TCP/IP result codes (bg96-at-reference.md
 * section 9), as <err> of +QIOPEN and +CME ERROR: <n> with AT+CMEE=1.
 */
#ifndef BG96D_QERR_H
#define BG96D_QERR_H

#include <stdbool.h>

enum qerr {
	QERR_OK = 0,
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
	QERR_PDP_OPEN = 561,		/* open PDP context failed */
	QERR_PDP_CLOSE = 562,
	QERR_ID_IN_USE = 563,		/* stale slot: QICLOSE, retry */
	QERR_DNS_BUSY = 564,
	QERR_DNS_PARSE = 565,
	QERR_CONNECT = 566,
	QERR_CLOSED = 567,
	QERR_BUSY = 568,
	QERR_TIMEOUT = 569,
	QERR_PDP_BROKEN = 570,		/* PDP context broken down */
	QERR_CANCEL_SEND = 571,
	QERR_NOT_ALLOWED = 572,
	QERR_APN_NOT_CONFIGURED = 573,
	QERR_PORT_BUSY = 574,
};

/* Does err say the PDP context is gone (a pdpdeact may be missed)? */
static inline bool
qerr_context_lost(int err)
{
	return err == QERR_PDP_OPEN || err == QERR_PDP_BROKEN;
}

#endif
