/*
 * socks.c: the SOCKS5 handshake (RFC 1928).  Bytes are read with bounds
 * and a deadline; a malformed or slow handshake is closed and never
 * reaches the modem.  Once the request is understood the connection is
 * handed to bridge.c, which sends the reply when the modem connection
 * opens (or the error code when it cannot).
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "bg96d/bridge.h"
#include "bg96d/conf.h"
#include "bg96d/endpoint.h"
#include "bg96d/log.h"
#include "bg96d/socks.h"
#include "bg96d/timeouts.h"
#include "bg96d/util.h"

enum socks_phase {
	SOCKS_GREETING,		/* VER NMETHODS METHODS */
	SOCKS_REQUEST,		/* VER CMD RSV ATYP DST.ADDR DST.PORT */
};

struct socks_hs {
	TAILQ_ENTRY(socks_hs)	 entry;		/* ep->handshakes */
	struct endpoint		*ep;
	struct bufferevent	*bev;
	enum socks_phase	 phase;
	bool			 closing;	/* reply queued, then close */
};

static void	socks_read_cb(struct bufferevent *, void *);
static void	socks_event_cb(struct bufferevent *, short, void *);

/* Forget the handshake; the caller frees or hands over h->bev. */
static void
socks_unlink(struct socks_hs *h)
{
	TAILQ_REMOVE(&h->ep->handshakes, h, entry);
	h->ep->nhandshakes--;
}

static void
socks_free(struct socks_hs *h)
{
	socks_unlink(h);
	bufferevent_free(h->bev);
	free(h);
}

void
socks_abort_all(struct endpoint *ep)
{
	struct socks_hs	*h;

	while ((h = TAILQ_FIRST(&ep->handshakes)) != NULL)
		socks_free(h);
}

/* Queue bytes, then close once they are written. */
static void
socks_refuse(struct socks_hs *h, const uint8_t *msg, size_t len,
    const char *why)
{
	log_info("%s: handshake refused: %s", h->ep->conf.name, why);
	h->ep->refused++;
	h->closing = true;
	bufferevent_disable(h->bev, EV_READ);
	bufferevent_write(h->bev, msg, len);
}

static void
socks_reply(struct socks_hs *h, int rep, const char *why)
{
	uint8_t	 r[10] = { 5, 0, 0, 1, 0, 0, 0, 0, 0, 0 };

	r[1] = (uint8_t)rep;
	socks_refuse(h, r, sizeof(r), why);
}

static void
socks_write_cb(struct bufferevent *bev, void *arg)
{
	struct socks_hs	*h = arg;

	if (h->closing)
		socks_free(h);
}

void
socks_accept(struct endpoint *ep, int fd)
{
	struct socks_hs	*h;
	struct timeval	 tv = { SOCKS_HANDSHAKE_MS / 1000,
			    (SOCKS_HANDSHAKE_MS % 1000) * 1000 };

	if (ep->nhandshakes >= SOCKS_HANDSHAKES_MAX) {
		log_warnx("%s: too many handshakes under way; refusing one",
		    ep->conf.name);
		ep->refused++;
		close(fd);
		return;
	}
	h = xcalloc(1, sizeof(*h));
	TAILQ_INSERT_TAIL(&ep->handshakes, h, entry);
	ep->nhandshakes++;
	h->ep = ep;
	h->phase = SOCKS_GREETING;
	h->bev = bufferevent_socket_new(ep->set->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(h->bev, socks_read_cb, socks_write_cb,
	    socks_event_cb, h);
	bufferevent_setwatermark(h->bev, EV_READ, 0, SOCKS_HANDSHAKE_MAX);
	bufferevent_set_timeouts(h->bev, &tv, &tv);
	bufferevent_enable(h->bev, EV_READ | EV_WRITE);
}

static void
socks_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct socks_hs	*h = arg;

	if (what & BEV_EVENT_TIMEOUT)
		log_info("%s: handshake too slow; closed", h->ep->conf.name);
	socks_free(h);
}

/* Greeting: only "no authentication" (0x00) is offered. */
static int
socks_greeting(struct socks_hs *h, struct evbuffer *in)
{
	static const uint8_t	 ok[2] = { 5, 0 }, none[2] = { 5, 0xff };
	size_t			 len, used;
	const uint8_t		*buf;
	const char		*why;

	len = evbuffer_get_length(in);
	if (len > SOCKS_GREETING_MAX)
		len = SOCKS_GREETING_MAX;
	buf = evbuffer_pullup(in, len);
	switch (socks_parse_greeting(buf, len, &used, &why)) {
	case SOCKS_MORE:
		return 0;
	case SOCKS_BAD:
		socks_refuse(h, none, sizeof(none), why);
		return -1;
	case SOCKS_DONE:
		break;
	}
	evbuffer_drain(in, used);
	bufferevent_write(h->bev, ok, sizeof(ok));
	h->phase = SOCKS_REQUEST;
	return 1;
}

/* Request: CONNECT to an IPv4, IPv6 or domain-name destination. */
static int
socks_request(struct socks_hs *h, struct evbuffer *in)
{
	struct socks_request	 req;
	size_t			 len, used;
	const uint8_t		*buf;
	const char		*why;
	int			 rep;

	len = evbuffer_get_length(in);
	if (len > SOCKS_REQUEST_MAX)
		len = SOCKS_REQUEST_MAX;
	buf = evbuffer_pullup(in, len);
	switch (socks_parse_request(buf, len, &used, &req, &rep, &why)) {
	case SOCKS_MORE:
		return 0;
	case SOCKS_BAD:
		socks_reply(h, rep, why);
		return -1;
	case SOCKS_DONE:
		break;
	}
	evbuffer_drain(in, used);
	/* The rest (and the socket) now belongs to a bridge. */
	bufferevent_set_timeouts(h->bev, NULL, NULL);
	socks_unlink(h);
	bridge_new_socks(h->ep, h->bev, req.host, req.port);
	free(h);
	return -1;
}

static void
socks_read_cb(struct bufferevent *bev, void *arg)
{
	struct socks_hs	*h = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	int		 r;

	if (h->closing) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	do {
		if (h->phase == SOCKS_GREETING)
			r = socks_greeting(h, in);
		else
			r = socks_request(h, in);
	} while (r == 1);
	if (r == 0 && evbuffer_get_length(in) >= SOCKS_HANDSHAKE_MAX) {
		log_info("%s: handshake too long; closed", h->ep->conf.name);
		socks_free(h);
	}
}
