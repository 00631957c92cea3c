/*
 * socks.c: the SOCKS5 handshake (RFC 1928).  Bytes are read with bounds
 * and a deadline; a malformed or slow handshake is closed and never
 * reaches the modem.  Once the request is understood the connection is
 * handed to the owner (socks_ops.request: admission), whose bridge sends
 * the reply when the modem connection opens (or the error code when it
 * cannot).
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "bg96d/conf.h"
#include "bg96d/log.h"
#include "bg96d/socks.h"
#include "bg96d/timeouts.h"
#include "bg96d/util.h"

enum socks_phase {
	SOCKS_GREETING,		/* VER NMETHODS METHODS */
	SOCKS_REQUEST,		/* VER CMD RSV ATYP DST.ADDR DST.PORT */
};

struct socks_hs {
	TAILQ_ENTRY(socks_hs)	 entry;		/* s->handshakes */
	struct socks		*s;
	struct bufferevent	*bev;
	enum socks_phase	 phase;
	bool			 closing;	/* reply queued, then close */
};

struct socks {
	struct event_base	*base;
	const char		*name;		/* the endpoint's, for the log */
	const struct socks_ops	*ops;		/* the owner (admission) */
	void			*arg;
	TAILQ_HEAD(, socks_hs)	 handshakes;
	int			 nhandshakes;
};

static void	socks_read_cb(struct bufferevent *, void *);
static void	socks_event_cb(struct bufferevent *, short, void *);

/* Forget the handshake; the caller frees or hands over h->bev. */
static void
socks_unlink(struct socks_hs *h)
{
	TAILQ_REMOVE(&h->s->handshakes, h, entry);
	h->s->nhandshakes--;
}

static void
socks_hs_free(struct socks_hs *h)
{
	socks_unlink(h);
	bufferevent_free(h->bev);
	free(h);
}

struct socks *
socks_new(struct event_base *base, const char *name,
    const struct socks_ops *ops, void *arg)
{
	struct socks	*s = xcalloc(1, sizeof(*s));

	s->base = base;
	s->name = name;
	s->ops = ops;
	s->arg = arg;
	TAILQ_INIT(&s->handshakes);
	return s;
}

void
socks_free(struct socks *s)
{
	struct socks_hs	*h;

	if (s == NULL)
		return;
	while ((h = TAILQ_FIRST(&s->handshakes)) != NULL)
		socks_hs_free(h);
	free(s);
}

/* Queue bytes, then close once they are written. */
static void
socks_refuse(struct socks_hs *h, const uint8_t *msg, size_t len,
    const char *why)
{
	log_info("%s: handshake refused: %s", h->s->name, why);
	h->s->ops->refused(h->s->arg);
	h->closing = true;
	bufferevent_disable(h->bev, EV_READ);
	bufferevent_write(h->bev, msg, len);
}

static void
socks_reply(struct socks_hs *h, int rep, const char *why)
{
	uint8_t	 r[SOCKS_REPLY_LEN];

	socks_refuse(h, r, socks_encode_reply(r, rep), why);
}

static void
socks_write_cb(struct bufferevent *bev, void *arg)
{
	struct socks_hs	*h = arg;

	if (h->closing)
		socks_hs_free(h);
}

void
socks_accept(struct socks *s, int fd)
{
	struct socks_hs	*h;
	struct timeval	 tv = { SOCKS_HANDSHAKE_MS / 1000,
			    (SOCKS_HANDSHAKE_MS % 1000) * 1000 };

	if (s->nhandshakes >= SOCKS_HANDSHAKES_MAX) {
		log_warnx("%s: too many handshakes under way; refusing one",
		    s->name);
		s->ops->refused(s->arg);
		close(fd);
		return;
	}
	h = xcalloc(1, sizeof(*h));
	TAILQ_INSERT_TAIL(&s->handshakes, h, entry);
	s->nhandshakes++;
	h->s = s;
	h->phase = SOCKS_GREETING;
	h->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
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
		log_info("%s: handshake too slow; closed", h->s->name);
	socks_hs_free(h);
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
	/* The rest (and the socket) now belongs to the owner. */
	bufferevent_set_timeouts(h->bev, NULL, NULL);
	socks_unlink(h);
	h->s->ops->request(h->s->arg, h->bev, &req);
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
		log_info("%s: handshake too long; closed", h->s->name);
		socks_hs_free(h);
	}
}
