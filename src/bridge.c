/*
 * bridge.c: one local stream client <-> one modem TCP socket.
 *
 * Memory is bounded both ways: the client's bytes wait in the
 * bufferevent's input (read stops at BRIDGE_UP_HIGH), the network's
 * bytes in its output (no AT+QIRD while it holds more than
 * BRIDGE_DOWN_HIGH), so a slow reader closes the modem's TCP window and
 * a fast writer waits for the modem's send buffer.
 *
 * A bridge is freed in one place, bridge_free(), once both halves are
 * done: the client has had every byte it is owed, and the slot is
 * released (or was never had).
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
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
#include "bg96d/modem.h"
#include "bg96d/msock.h"
#include "bg96d/timeouts.h"
#include "bg96d/util.h"

#define BRIDGE_UP_HIGH		(16 * 1024)
#define BRIDGE_DOWN_HIGH	(32 * 1024)
#define BRIDGE_DOWN_LOW		(16 * 1024)
/* How long a closing bridge may take to hand its last bytes over. */
#define BRIDGE_FLUSH_MS		5000

enum bridge_state {
	BRIDGE_WAITING,		/* in the queue for a slot / modem */
	BRIDGE_OPENING,		/* AT+QIOPEN in progress */
	BRIDGE_OPEN,
	BRIDGE_FLUSHING,	/* remote side done: hand over, then close */
};

struct bridge {
	TAILQ_ENTRY(bridge)	 qentry;	/* set->waitq */
	TAILQ_ENTRY(bridge)	 eentry;	/* ep->bridges */
	struct endpoint		*ep;
	struct bufferevent	*bev;
	struct msock		*ms;
	enum bridge_state	 state;
	bool			 queued;
	bool			 holds_slot;	/* counted in ep->active */
	bool			 client_eof;	/* client sent EOF */
	bool			 client_gone;	/* client fully closed */
	struct event		*timer;		/* connect / idle / flush */
	struct event		*hup;		/* half-closed: full close? */
	long long		 deadline;	/* connect deadline */
	long long		 last_traffic;
	unsigned long		 serial;
};

static const struct msock_ops bridge_msock_ops;
static void	bridge_free(struct bridge *, const char *why);
static void	bridge_maybe_finish(struct bridge *);

static void
bridge_arm(struct bridge *b, long long ms)
{
	struct timeval	 tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(b->timer, &tv);
}

static void
bridge_dequeue(struct bridge *b)
{
	if (!b->queued)
		return;
	TAILQ_REMOVE(&b->ep->set->waitq, b, qentry);
	b->ep->set->nwaiting--;
	b->queued = false;
}

/* The one place a bridge ends. */
static void
bridge_free(struct bridge *b, const char *why)
{
	struct endpoint	*ep = b->ep;

	log_info("%s: client %lu closed (%s)", ep->conf.name, b->serial, why);
	bridge_dequeue(b);
	TAILQ_REMOVE(&ep->bridges, b, eentry);
	if (b->ms != NULL)
		msock_close(b->ms);
	if (b->holds_slot)
		ep->active--;
	bufferevent_free(b->bev);
	event_free(b->timer);
	event_free(b->hup);
	free(b);
	/* A slot or an endpoint quota may have become free. */
	if (!ep->set->stopping)
		epset_serve(ep->set);
}

void
bridge_abort(struct bridge *b, const char *why)
{
	bridge_free(b, why);
}

/* True if the client closed both directions (not just SHUT_WR). */
static bool
bridge_client_hung_up(struct bridge *b)
{
	struct pollfd	 pfd;

	pfd.fd = bufferevent_getfd(b->bev);
	pfd.events = POLLOUT;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR));
}

/*
 * Close once nothing is left to do: the client is gone or fully served,
 * and its bytes have reached the modem.
 */
static void
bridge_maybe_finish(struct bridge *b)
{
	size_t	 in = evbuffer_get_length(bufferevent_get_input(b->bev));
	size_t	 out = evbuffer_get_length(bufferevent_get_output(b->bev));

	switch (b->state) {
	case BRIDGE_WAITING:
	case BRIDGE_OPENING:
		if (b->client_gone)
			bridge_free(b, "client left before the connection "
			    "opened");
		return;
	case BRIDGE_OPEN:
		/* Local close: send what is pending, then QICLOSE. */
		if (b->client_gone && in == 0 && !msock_sending(b->ms))
			bridge_free(b, "client closed");
		return;
	case BRIDGE_FLUSHING:
		if (out == 0 || b->client_gone)
			bridge_free(b, "remote closed");
		return;
	}
}

static void
bridge_read_cb(struct bufferevent *bev, void *arg)
{
	struct bridge	*b = arg;

	b->last_traffic = now_ms();
	if (b->state == BRIDGE_OPEN)
		msock_kick(b->ms);
	else if (b->state == BRIDGE_FLUSHING)	/* peer gone: discard */
		evbuffer_drain(bufferevent_get_input(bev),
		    evbuffer_get_length(bufferevent_get_input(bev)));
}

static void
bridge_write_cb(struct bufferevent *bev, void *arg)
{
	struct bridge	*b = arg;

	if (b->state == BRIDGE_OPEN)
		msock_kick(b->ms);
	else if (b->state == BRIDGE_FLUSHING)
		bridge_maybe_finish(b);
}

static void
bridge_hup_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bridge	*b = arg;
	struct timeval	 tv = { HALFCLOSE_CHECK_MS / 1000,
			    (HALFCLOSE_CHECK_MS % 1000) * 1000 };

	if (bridge_client_hung_up(b)) {
		b->client_gone = true;
		bridge_maybe_finish(b);
		return;
	}
	evtimer_add(b->hup, &tv);
}

static void
bridge_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct bridge	*b = arg;

	if (what & BEV_EVENT_EOF) {
		/* EOF: a half-close (SHUT_WR) or a full close. */
		b->client_eof = true;
		if (bridge_client_hung_up(b))
			b->client_gone = true;
		else {
			log_debug("%s: client %lu half-closed",
			    b->ep->conf.name, b->serial);
			bridge_hup_cb(-1, 0, b);
			if (b->client_gone)
				return;
		}
	} else if (what & BEV_EVENT_ERROR) {
		/* Writing to a client that left, or a read error. */
		b->client_gone = true;
		b->client_eof = true;
		evbuffer_drain(bufferevent_get_output(bev),
		    evbuffer_get_length(bufferevent_get_output(bev)));
		bufferevent_disable(bev, EV_READ | EV_WRITE);
	}
	if (b->state == BRIDGE_OPEN)
		msock_kick(b->ms);
	bridge_maybe_finish(b);
}

static void
bridge_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bridge	*b = arg;
	int		 idle = b->ep->conf.idle_timeout;

	switch (b->state) {
	case BRIDGE_WAITING:
		b->ep->failed++;
		bridge_free(b, modem_state(b->ep->set->modem) != MODEM_READY ?
		    "modem not ready within connect_timeout" :
		    "no free modem slot within connect_timeout");
		return;
	case BRIDGE_OPENING:
		return;		/* the slot's own deadline decides */
	case BRIDGE_OPEN:
		if (idle > 0 && now_ms() - b->last_traffic >= idle * 1000LL) {
			bridge_free(b, "idle timeout");
			return;
		}
		if (idle > 0)
			bridge_arm(b, b->last_traffic + idle * 1000LL -
			    now_ms());
		return;
	case BRIDGE_FLUSHING:
		bridge_free(b, "client did not take the last bytes");
		return;
	}
}

struct bridge *
bridge_new(struct endpoint *ep, int fd)
{
	static unsigned long	 serial;
	struct epset		*set = ep->set;
	struct bridge		*b;

	if (set->nwaiting >= EPSET_WAIT_MAX) {
		log_warnx("%s: too many clients waiting; refusing one",
		    ep->conf.name);
		ep->refused++;
		close(fd);
		return NULL;
	}
	b = xcalloc(1, sizeof(*b));
	b->ep = ep;
	b->serial = ++serial;
	b->bev = bufferevent_socket_new(set->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(b->bev, bridge_read_cb, bridge_write_cb,
	    bridge_event_cb, b);
	bufferevent_setwatermark(b->bev, EV_READ, 0, BRIDGE_UP_HIGH);
	bufferevent_setwatermark(b->bev, EV_WRITE, BRIDGE_DOWN_LOW, 0);
	bufferevent_enable(b->bev, EV_READ | EV_WRITE);
	b->timer = evtimer_new(set->base, bridge_timer_cb, b);
	b->hup = evtimer_new(set->base, bridge_hup_cb, b);
	b->state = BRIDGE_WAITING;
	b->deadline = now_ms() + ep->conf.connect_timeout * 1000LL;
	b->last_traffic = now_ms();
	TAILQ_INSERT_TAIL(&ep->bridges, b, eentry);
	TAILQ_INSERT_TAIL(&set->waitq, b, qentry);
	set->nwaiting++;
	b->queued = true;
	ep->accepted++;
	bridge_arm(b, ep->conf.connect_timeout * 1000LL);
	log_info("%s: client %lu connected", ep->conf.name, b->serial);
	epset_serve(set);
	return b;
}

/* Start b now: take a slot and open the modem connection. */
static void
bridge_start(struct bridge *b)
{
	struct endpoint	*ep = b->ep;
	const struct conf *c = ep->set->conf;
	long long	 left = b->deadline - now_ms();
	long long	 tmo = c->timeouts.qiopen * 1000LL;

	if (left < tmo)
		tmo = left;
	bridge_dequeue(b);
	b->ms = msock_open(ep->set->msocks, MSOCK_TCP, ep->conf.host,
	    ep->conf.port, ep->conf.local_port,
	    ep->conf.access_mode == CONF_ACCESS_PUSH, (int)tmo,
	    &bridge_msock_ops, b);
	b->holds_slot = true;
	ep->active++;
	b->state = BRIDGE_OPENING;
	evtimer_del(b->timer);
}

int
bridge_serve_one(struct epset *set)
{
	struct bridge	*b;

	if (modem_state(set->modem) != MODEM_READY ||
	    msockset_free_slots(set->msocks) == 0)
		return 0;
	TAILQ_FOREACH(b, &set->waitq, qentry) {
		if (b->ep->active >= b->ep->conf.max_connections ||
		    b->ep->removed)
			continue;
		bridge_start(b);
		return 1;
	}
	return 0;
}

/* msock callbacks */

static void
bridge_opened(void *arg, int err)
{
	struct bridge	*b = arg;
	int		 idle = b->ep->conf.idle_timeout;

	if (err != 0) {
		char	 why[64];

		b->ms = NULL;	/* the slot layer closes it */
		b->ep->failed++;
		if (err == -1)
			snprintf(why, sizeof(why), "connect timed out");
		else
			snprintf(why, sizeof(why), "connect failed: error %d",
			    err);
		bridge_free(b, why);
		return;
	}
	b->state = BRIDGE_OPEN;
	b->last_traffic = now_ms();
	log_info("%s: client %lu connected to %s:%d on slot %d",
	    b->ep->conf.name, b->serial, b->ep->conf.host, b->ep->conf.port,
	    msock_id(b->ms));
	if (idle > 0)
		bridge_arm(b, idle * 1000LL);
	if (b->client_gone)
		bridge_maybe_finish(b);
}

static void
bridge_received(void *arg, const uint8_t *data, size_t len, const char *ip,
    int port)
{
	struct bridge	*b = arg;

	b->last_traffic = now_ms();
	if (b->client_gone)
		return;		/* nobody to give it to */
	bufferevent_write(b->bev, data, len);
}

static bool
bridge_can_receive(void *arg)
{
	struct bridge	*b = arg;

	return b->client_gone || evbuffer_get_length(
	    bufferevent_get_output(b->bev)) < BRIDGE_DOWN_HIGH;
}

static size_t
bridge_next_chunk(void *arg, uint8_t *buf, size_t max)
{
	struct bridge	*b = arg;
	int		 n;

	n = evbuffer_remove(bufferevent_get_input(b->bev), buf, max);
	if (n > 0)
		b->last_traffic = now_ms();
	return n > 0 ? (size_t)n : 0;
}

static void
bridge_sent(void *arg)
{
	struct bridge	*b = arg;

	if (b->client_gone)
		bridge_maybe_finish(b);
}

static void
bridge_peer_closed(void *arg)
{
	struct bridge	*b = arg;

	/* Every byte is read: deliver, then close the client. */
	b->state = BRIDGE_FLUSHING;
	msock_close(b->ms);
	b->ms = NULL;
	bridge_arm(b, BRIDGE_FLUSH_MS);
	evbuffer_drain(bufferevent_get_input(b->bev),
	    evbuffer_get_length(bufferevent_get_input(b->bev)));
	bridge_maybe_finish(b);
}

static void
bridge_gone(void *arg, const char *why)
{
	struct bridge	*b = arg;

	log_info("%s: client %lu: modem connection lost (%s)",
	    b->ep->conf.name, b->serial, why);
	b->ms = NULL;
	b->ep->failed++;
	/* What already arrived is still delivered, then EOF. */
	b->state = BRIDGE_FLUSHING;
	bridge_arm(b, BRIDGE_FLUSH_MS);
	bridge_maybe_finish(b);
}

static const struct msock_ops bridge_msock_ops = {
	.opened = bridge_opened,
	.received = bridge_received,
	.can_receive = bridge_can_receive,
	.next_chunk = bridge_next_chunk,
	.sent = bridge_sent,
	.peer_closed = bridge_peer_closed,
	.gone = bridge_gone,
};
