/*
 * bridge.c: one local client <-> one modem socket.
 *
 * Three kinds of local side:
 * - a stream client of a tcp endpoint (bufferevent);
 * - a SOCK_SEQPACKET client of a udp endpoint: one message is one
 *   datagram each way (bounded rings of messages);
 * - for a tcp-listener, a connection bg96d makes to the forward target
 *   for a connection the modem accepted (bufferevent connecting).
 *
 * Memory is bounded both ways: the client's bytes wait in the input
 * (reading stops at BRIDGE_UP_HIGH), the network's in the output (no
 * AT+QIRD while it holds BRIDGE_DOWN_HIGH or more), so a slow reader
 * closes the modem's TCP window and a fast writer waits for the modem's
 * send buffer.  In direct-push mode the modem does not wait: a client
 * that falls BRIDGE_PUSH_MAX behind is disconnected (documented).
 *
 * A bridge ends in one place, bridge_free(), once both halves are done:
 * the client has every byte it is owed, and the slot is released.
 *
 * When a bridge may take a slot is not decided here: admit.c owns the
 * wait queue, the quotas and the counters, and hears from a bridge
 * through bridge_ops.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "bg96d/bridge.h"
#include "bg96d/conf.h"
#include "bg96d/errors.h"
#include "bg96d/events.h"
#include "bg96d/evtimer.h"
#include "bg96d/log.h"
#include "bg96d/msock.h"
#include "bg96d/socksproto.h"
#include "bg96d/timeouts.h"
#include "bg96d/util.h"

#define BRIDGE_UP_HIGH		(16 * 1024)
#define BRIDGE_DOWN_HIGH	(32 * 1024)
#define BRIDGE_DOWN_LOW		(16 * 1024)
/* Direct push has no backpressure: this much unread, and we give up. */
#define BRIDGE_PUSH_MAX		(256 * 1024)
/* Datagram rings (messages). */
#define BRIDGE_DGRAM_UP		4
#define BRIDGE_DGRAM_DOWN	16

enum bridge_state {
	BRIDGE_WAITING,		/* in the queue for a slot / modem */
	BRIDGE_OPENING,		/* AT+QIOPEN in progress */
	BRIDGE_OPEN,
	BRIDGE_FLUSHING,	/* modem side done: hand over, then close */
};

static const char *bridge_state_names[] = {
	[BRIDGE_WAITING] = "waiting",
	[BRIDGE_OPENING] = "opening",
	[BRIDGE_OPEN] = "open",
	[BRIDGE_FLUSHING] = "flushing",
};

struct dmsg {
	size_t		 len;
	uint8_t		 data[MSOCK_READ_MAX];
};

struct dring {
	struct dmsg	*m;
	int		 head, count, cap;
};

struct bridge {
	const struct conf_endpoint *conf;	/* the endpoint's */
	const struct bridge_ops	*ops;		/* the owner (admit.c) */
	void			*arg;
	bool			 dgram;		/* udp endpoint: SEQPACKET */
	bool			 incoming;	/* tcp-listener connection */
	struct bufferevent	*bev;		/* stream kinds */
	int			 fd;		/* dgram kind */
	struct event		*rev, *wev;	/* dgram kind */
	struct dring		 up, down;	/* dgram kind */
	struct msock		*ms;
	enum bridge_state	 state;		/* only bridge_set_state() */
	bool			 lingering;	/* client gone, bytes unsent */
	bool			 client_gone;	/* client fully closed */
	struct event		*timer;		/* connect / idle / flush */
	struct event		*hup;		/* half-closed: full close? */
	long long		 deadline;	/* connect deadline */
	bool			 traffic;	/* since the last idle tick */
	int			 quiet_ticks;	/* idle ticks without traffic */
	bool			 read_paused;	/* client input buffer full */
	unsigned long		 serial;
	const char		*flush_why;	/* why the modem side ended */
	char			 why[64];	/* a flush_why made up here */
	char			 host[CONF_HOST_MAX + 1];	/* destination */
	int			 port;
	bool			 socks;		/* SOCKS5 reply still owed */
	struct events_conn	 ev;		/* events.sock: bytes, age */
};

static const struct msock_ops bridge_msock_ops;
static void	bridge_free(struct bridge *, const char *why);
static void	bridge_wait(struct bridge *);
static void	bridge_maybe_finish(struct bridge *);

static void
bridge_arm(struct bridge *b, long long ms)
{
	evtimer_add_ms(b->timer, ms);
}

/* The only writer of b->state; logs "old -> new (why)". */
static void
bridge_set_state(struct bridge *b, enum bridge_state new, const char *why)
{
	if (b->state != new)
		log_debug("%s: client %lu: %s -> %s (%s)", b->conf->name,
		    b->serial, bridge_state_names[b->state],
		    bridge_state_names[new], why);
	b->state = new;
}

/* Bytes (stream) or messages (dgram) waiting for the client. */
static size_t
bridge_down_len(struct bridge *b)
{
	if (b->dgram)
		return (size_t)b->down.count;
	return evbuffer_get_length(bufferevent_get_output(b->bev));
}

/* Bytes (stream) or messages (dgram) from the client not yet taken. */
static size_t
bridge_up_len(struct bridge *b)
{
	if (b->dgram)
		return (size_t)b->up.count;
	return evbuffer_get_length(bufferevent_get_input(b->bev));
}

/* Forget what the client sent that can no longer be delivered. */
static void
bridge_discard_up(struct bridge *b)
{
	if (b->dgram) {
		b->up.count = 0;
		return;
	}
	evbuffer_drain(bufferevent_get_input(b->bev),
	    evbuffer_get_length(bufferevent_get_input(b->bev)));
}

/* The one place a bridge ends. */
static void
bridge_free(struct bridge *b, const char *why)
{
	const struct bridge_ops	*ops = b->ops;
	void			*arg = b->arg;

	log_info("%s: client %lu closed (%s)", b->conf->name, b->serial, why);
	events_conn_closed(&b->ev, b->conf->name, b->serial, b->host, b->port,
	    why);
	if (b->ms != NULL)
		msock_close(b->ms);
	if (b->bev != NULL)
		bufferevent_free(b->bev);
	if (b->rev != NULL)
		event_free(b->rev);
	if (b->wev != NULL)
		event_free(b->wev);
	if (b->dgram)
		close(b->fd);
	free(b->up.m);
	free(b->down.m);
	event_free(b->timer);
	event_free(b->hup);
	free(b);
	/* A slot or an endpoint quota may have become free. */
	ops->closed(arg);
}

/* A SOCKS client is owed one reply (RFC 1928 section 6). */
static void
bridge_socks_reply(struct bridge *b, int rep)
{
	uint8_t	 reply[SOCKS_REPLY_LEN];

	b->socks = false;
	bufferevent_write(b->bev, reply, socks_encode_reply(reply, rep));
}

/*
 * End a bridge that never opened.  A SOCKS client is owed a reply with
 * the code for err first; it goes out before the close.
 */
void
bridge_fail(struct bridge *b, int err, const char *why)
{
	if (!b->socks || b->client_gone) {
		bridge_free(b, why);
		return;
	}
	bridge_socks_reply(b, err_info(err)->socks_rep);
	b->ops->released(b->arg);
	b->ms = NULL;
	bridge_set_state(b, BRIDGE_FLUSHING, why);
	b->flush_why = why;
	bridge_discard_up(b);
	bridge_arm(b, BRIDGE_FLUSH_MS);
	bridge_maybe_finish(b);
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

	pfd.fd = b->dgram ? b->fd : bufferevent_getfd(b->bev);
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
	switch (b->state) {
	case BRIDGE_WAITING:
	case BRIDGE_OPENING:
		/*
		 * A client that wrote and closed before the connection
		 * opened still has its bytes delivered (connect_timeout
		 * bounds the wait); one that wrote nothing is done.
		 */
		if (b->client_gone && bridge_up_len(b) == 0)
			bridge_free(b, "client left before the connection "
			    "opened");
		return;
	case BRIDGE_OPEN:
		/* Local close: send what is pending, then QICLOSE. */
		if (!b->client_gone)
			return;
		if (bridge_up_len(b) == 0 && !msock_sending(b->ms)) {
			bridge_free(b, "client closed");
			return;
		}
		/*
		 * A remote that stops reading would hold the slot forever
		 * (SEND FAIL, retried): the last bytes may go on as long as
		 * the modem takes a chunk every LINGER_MAX_MS; then they are
		 * dropped and counted.
		 */
		if (!b->lingering) {
			b->lingering = true;
			bridge_arm(b, LINGER_MAX_MS);
		}
		return;
	case BRIDGE_FLUSHING:
		if (bridge_down_len(b) == 0 || b->client_gone)
			bridge_free(b, b->flush_why);
		return;
	}
}

/* The client sent something (or EOF): move it on. */
static void
bridge_client_input(struct bridge *b)
{
	b->traffic = true;
	if (b->state == BRIDGE_OPEN)
		msock_kick(b->ms);
	else if (b->state == BRIDGE_FLUSHING)	/* modem side gone */
		bridge_discard_up(b);
}

/* The client took bytes: maybe read more from the modem, or finish. */
static void
bridge_client_output(struct bridge *b)
{
	if (b->state == BRIDGE_OPEN)
		msock_kick(b->ms);
	else if (b->state == BRIDGE_FLUSHING)
		bridge_maybe_finish(b);
}

static void
bridge_read_cb(struct bufferevent *bev, void *arg)
{
	struct bridge	*b = arg;

	/*
	 * Stop reading at BRIDGE_UP_HIGH ourselves: libevent 2.1's read
	 * watermark re-runs this callback in a loop while the buffer stays
	 * full.  bridge_next_chunk() resumes reading.
	 */
	if (evbuffer_get_length(bufferevent_get_input(bev)) >=
	    BRIDGE_UP_HIGH) {
		bufferevent_disable(bev, EV_READ);
		b->read_paused = true;
	}
	bridge_client_input(b);
}

static void
bridge_write_cb(struct bufferevent *bev, void *arg)
{
	bridge_client_output(arg);
}

static void
bridge_hup_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bridge	*b = arg;

	if (bridge_client_hung_up(b)) {
		b->client_gone = true;
		bridge_maybe_finish(b);
		return;
	}
	evtimer_add_ms(b->hup, HALFCLOSE_CHECK_MS);
}

static void
bridge_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct bridge	*b = arg;

	if (what & BEV_EVENT_CONNECTED) {
		log_debug("%s: client %lu: forward target connected",
		    b->conf->name, b->serial);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		/*
		 * EOF: a half-close (SHUT_WR) or a full close.  A Unix
		 * client tells them apart (POLLHUP); a TCP forward target
		 * does not, and a modem socket cannot be half-closed, so
		 * its EOF ends the connection.
		 */
		if (b->incoming || bridge_client_hung_up(b))
			b->client_gone = true;
		else {
			log_debug("%s: client %lu half-closed",
			    b->conf->name, b->serial);
			evtimer_del(b->hup);
			bridge_hup_cb(-1, 0, b);
			if (b->client_gone)
				return;
		}
	} else if (what & BEV_EVENT_ERROR) {
		/* The client left while we wrote, or a connect failed. */
		if (b->incoming && !b->client_gone)
			log_warnx("%s: forward target: %s", b->conf->name,
			    evutil_socket_error_to_string(
			    EVUTIL_SOCKET_ERROR()));
		b->client_gone = true;
		evbuffer_drain(bufferevent_get_output(bev),
		    evbuffer_get_length(bufferevent_get_output(bev)));
		bufferevent_disable(bev, EV_READ | EV_WRITE);
	}
	if (b->state == BRIDGE_OPEN)
		msock_kick(b->ms);
	bridge_maybe_finish(b);
}

/* SEQPACKET client readable: one message is one datagram. */
static void
bridge_dgram_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bridge	*b = arg;
	struct dmsg	*m;
	uint8_t		 buf[MSOCK_SEND_MAX + 1];
	ssize_t		 n;

	while (b->up.count < b->up.cap) {
		n = recv(fd, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			/*
			 * EOF.  A zero-length message reads the same on a
			 * SEQPACKET socket, and AT+QISEND cannot send one
			 * anyway: both end the client's session.
			 */
			event_del(b->rev);
			b->client_gone = true;
			bridge_client_input(b);
			bridge_maybe_finish(b);
			return;
		}
		if ((size_t)n > MSOCK_SEND_MAX) {
			log_warnx("%s: client %lu sent a %zd-byte datagram; "
			    "the modem sends at most %d: closing it",
			    b->conf->name, b->serial, n, MSOCK_SEND_MAX);
			b->ops->failed(b->arg);
			bridge_free(b, "datagram too large");
			return;
		}
		m = &b->up.m[(b->up.head + b->up.count) % b->up.cap];
		memcpy(m->data, buf, (size_t)n);
		m->len = (size_t)n;
		b->up.count++;
		bridge_client_input(b);
	}
	event_del(b->rev);	/* full: resume when a datagram is sent */
}

static void
bridge_dgram_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bridge	*b = arg;
	struct dmsg	*m;
	ssize_t		 n;

	while (b->down.count > 0) {
		m = &b->down.m[b->down.head];
		n = send(fd, m->data, m->len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			event_add(b->wev, NULL);
			return;
		}
		if (n == -1) {
			b->client_gone = true;
			b->down.count = 0;
			bridge_maybe_finish(b);
			return;
		}
		b->down.head = (b->down.head + 1) % b->down.cap;
		b->down.count--;
	}
	bridge_client_output(b);
}

static void
bridge_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bridge	*b = arg;
	int		 idle = b->conf->idle_timeout;

	switch (b->state) {
	case BRIDGE_WAITING:
		b->ops->expired(b->arg);	/* it calls bridge_fail() */
		return;
	case BRIDGE_OPENING:
		return;		/* the slot's own deadline decides */
	case BRIDGE_OPEN:
		if (b->lingering) {
			b->ops->linger_expired(b->arg);
			log_warnx("%s: client %lu: the remote took none of the "
			    "last %zu bytes in %d s: dropping them",
			    b->conf->name, b->serial, bridge_up_len(b),
			    LINGER_MAX_MS / 1000);
			bridge_free(b, "remote did not take the last bytes");
			return;
		}
		/*
		 * The idle timer ticks four times per idle_timeout; a flag,
		 * not a clock read, marks traffic on the hot path.
		 */
		if (idle <= 0)
			return;
		b->quiet_ticks = b->traffic ? 0 : b->quiet_ticks + 1;
		b->traffic = false;
		if (b->quiet_ticks >= IDLE_TICKS) {
			bridge_free(b, "idle timeout");
			return;
		}
		bridge_arm(b, idle * 1000LL / IDLE_TICKS);
		return;
	case BRIDGE_FLUSHING:
		bridge_free(b, "client did not take the last bytes");
		return;
	}
}

/* Common part of every kind of bridge. */
static struct bridge *
bridge_alloc(struct event_base *base, const struct conf_endpoint *conf,
    const struct bridge_ops *ops, void *arg)
{
	static unsigned long	 serial;
	struct bridge		*b = xcalloc(1, sizeof(*b));

	b->conf = conf;
	b->ops = ops;
	b->arg = arg;
	b->fd = -1;
	b->serial = ++serial;
	b->timer = evtimer_new(base, bridge_timer_cb, b);
	b->hup = evtimer_new(base, bridge_hup_cb, b);
	b->traffic = true;
	return b;
}

static void
bridge_stream_setup(struct bridge *b, struct event_base *base, int fd)
{
	b->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(b->bev, bridge_read_cb, bridge_write_cb,
	    bridge_event_cb, b);
	bufferevent_setwatermark(b->bev, EV_WRITE, BRIDGE_DOWN_LOW, 0);
	bufferevent_enable(b->bev, EV_READ | EV_WRITE);
}

struct bridge *
bridge_new(struct event_base *base, const struct conf_endpoint *conf, int fd,
    const struct bridge_ops *ops, void *arg)
{
	struct bridge	*b;

	b = bridge_alloc(base, conf, ops, arg);
	strlcpy(b->host, conf->host, sizeof(b->host));
	b->port = conf->port;
	if (conf->type == CONF_EP_UDP) {
		b->dgram = true;
		b->fd = fd;
		b->up.cap = BRIDGE_DGRAM_UP;
		b->up.m = xcalloc((size_t)b->up.cap, sizeof(*b->up.m));
		b->down.cap = BRIDGE_DGRAM_DOWN;
		b->down.m = xcalloc((size_t)b->down.cap, sizeof(*b->down.m));
		b->rev = event_new(base, fd, EV_READ | EV_PERSIST,
		    bridge_dgram_read_cb, b);
		b->wev = event_new(base, fd, EV_WRITE,
		    bridge_dgram_write_cb, b);
		event_add(b->rev, NULL);
	} else
		bridge_stream_setup(b, base, fd);
	bridge_wait(b);
	return b;
}

/* A new bridge waits for bridge_start(), until connect_timeout. */
static void
bridge_wait(struct bridge *b)
{
	bridge_set_state(b, BRIDGE_WAITING, "waiting for a slot");
	b->deadline = now_ms() + b->conf->connect_timeout * 1000LL;
	bridge_arm(b, b->conf->connect_timeout * 1000LL);
	log_info("%s: client %lu connected", b->conf->name, b->serial);
}

struct bridge *
bridge_new_socks(struct event_base *base, const struct conf_endpoint *conf,
    struct bufferevent *bev, const char *host, int port,
    const struct bridge_ops *ops, void *arg)
{
	struct bridge	*b;

	b = bridge_alloc(base, conf, ops, arg);
	strlcpy(b->host, host, sizeof(b->host));
	b->port = port;
	b->socks = true;
	b->bev = bev;
	bufferevent_setwatermark(b->bev, EV_READ, 0, 0);	/* handshake's */
	bufferevent_setcb(b->bev, bridge_read_cb, bridge_write_cb,
	    bridge_event_cb, b);
	bufferevent_setwatermark(b->bev, EV_WRITE, BRIDGE_DOWN_LOW, 0);
	bufferevent_enable(b->bev, EV_READ | EV_WRITE);
	log_info("%s: client %lu asks for %s:%d", conf->name, b->serial,
	    host, port);
	bridge_wait(b);
	return b;
}

/* Address of a tcp-listener's forward target. */
static socklen_t
bridge_forward_addr(const struct conf_forward *f, struct sockaddr_storage *ss)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	switch (f->kind) {
	case CONF_FWD_UNIX:
		sun->sun_family = AF_UNIX;
		strlcpy(sun->sun_path, f->path, sizeof(sun->sun_path));
		return sizeof(*sun);
	case CONF_FWD_TCP:
	case CONF_FWD_UDP:
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)f->port);
		inet_pton(AF_INET, f->host, &sin->sin_addr);
		return sizeof(*sin);
	case CONF_FWD_NONE:
		break;
	}
	return 0;
}

struct bridge *
bridge_new_incoming(struct event_base *base, const struct conf_endpoint *conf,
    struct msock *ms, const struct msock_peer *from,
    const struct bridge_ops *ops, void *arg)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	struct bridge		*b;

	b = bridge_alloc(base, conf, ops, arg);
	b->incoming = true;
	b->ms = ms;
	bridge_set_state(b, BRIDGE_OPEN, "incoming connection");
	log_info("%s: client %lu: %s:%d connected on slot %d",
	    conf->name, b->serial, from->ip, from->port, msock_id(ms));
	events_conn_opened(&b->ev, conf->name, b->serial, msock_id(ms),
	    from->ip, from->port);
	bridge_stream_setup(b, base, -1);
	msock_set_owner(ms, &bridge_msock_ops, b);
	msock_set_label(ms, conf->name);
	len = bridge_forward_addr(&conf->forward, &ss);
	if (bufferevent_socket_connect(b->bev, (struct sockaddr *)&ss,
	    (int)len) == -1) {
		log_warnx("%s: cannot reach the forward target", conf->name);
		b->ops->failed(b->arg);
		bridge_free(b, "forward target refused");
		return NULL;
	}
	if (conf->idle_timeout > 0)
		bridge_arm(b, conf->idle_timeout * 1000LL / IDLE_TICKS);
	return b;
}

int
bridge_start(struct bridge *b, struct msockset *msocks, long long qiopen_ms)
{
	long long	 left = b->deadline - now_ms();
	long long	 tmo = qiopen_ms;

	if (left < tmo)
		tmo = left;
	b->ms = msock_open(msocks, b->dgram ? MSOCK_UDP : MSOCK_TCP, b->host,
	    b->port, b->conf->local_port,
	    (int)b->conf->access_mode, (int)tmo,
	    &bridge_msock_ops, b);
	if (b->ms == NULL)
		return -1;
	msock_set_label(b->ms, b->conf->name);
	bridge_set_state(b, BRIDGE_OPENING, "slot taken");
	evtimer_del(b->timer);
	return 0;
}

/* msock callbacks */

static void
bridge_opened(void *arg, int err)
{
	struct bridge		*b = arg;
	const struct err_info	*ei = err_info(err);
	int			 idle = b->conf->idle_timeout;

	if (ei->retry == RETRY_MODEM && now_ms() < b->deadline) {
		/* Not the destination's fault: wait for the modem again. */
		log_info("%s: client %lu: modem failed while connecting; "
		    "waiting for it", b->conf->name, b->serial);
		b->ms = NULL;
		bridge_set_state(b, BRIDGE_WAITING,
		    "modem failed while connecting");
		bridge_arm(b, b->deadline - now_ms());
		b->ops->requeue(b->arg);
		return;
	}
	if (err != ERR_OK) {
		b->ms = NULL;	/* the slot layer closes it */
		b->ops->failed(b->arg);
		/* The daemon's own codes say it all; the modem's get theirs. */
		if (err < 0)
			strlcpy(b->why, ei->text, sizeof(b->why));
		else
			snprintf(b->why, sizeof(b->why), "connect failed: %s "
			    "(%d)", ei->text, err);
		bridge_fail(b, err, b->why);
		return;
	}
	if (b->socks)
		bridge_socks_reply(b, SOCKS_REP_SUCCESS);
	bridge_set_state(b, BRIDGE_OPEN, "connected");
	b->traffic = true;
	log_info("%s: client %lu connected to %s:%d on slot %d",
	    b->conf->name, b->serial, b->host, b->port, msock_id(b->ms));
	events_conn_opened(&b->ev, b->conf->name, b->serial, msock_id(b->ms),
	    b->host, b->port);
	if (idle > 0)
		bridge_arm(b, idle * 1000LL / IDLE_TICKS);
	if (b->client_gone)
		bridge_maybe_finish(b);
}

static void
bridge_received(void *arg, const uint8_t *data, size_t len, const char *ip,
    int port)
{
	struct bridge	*b = arg;
	struct dmsg	*m;

	b->traffic = true;
	b->ev.bytes_down += len;
	if (b->client_gone)
		return;		/* nobody to give it to */
	if (!b->dgram) {
		bufferevent_write(b->bev, data, len);
		if (bridge_down_len(b) > BRIDGE_PUSH_MAX) {
			/* Only direct push gets here: QIRD waits. */
			log_warnx("%s: client %lu does not read and the modem "
			    "pushes without backpressure: closing it",
			    b->conf->name, b->serial);
			b->ops->failed(b->arg);
			bridge_free(b, "client too slow for direct push");
		}
		return;
	}
	if (b->down.count == b->down.cap) {
		/* Direct push, ring full: a datagram is lost; say so. */
		log_warnx("%s: client %lu does not read: datagram of %zu "
		    "bytes dropped", b->conf->name, b->serial, len);
		b->ops->failed(b->arg);
		return;
	}
	m = &b->down.m[(b->down.head + b->down.count) % b->down.cap];
	if (len > sizeof(m->data))
		len = sizeof(m->data);
	memcpy(m->data, data, len);
	m->len = len;
	b->down.count++;
	bridge_dgram_write_cb(b->fd, EV_WRITE, b);
}

static bool
bridge_can_receive(void *arg)
{
	struct bridge	*b = arg;

	if (b->client_gone)
		return true;	/* drain and discard */
	if (b->dgram)
		return b->down.count < b->down.cap;
	return bridge_down_len(b) < BRIDGE_DOWN_HIGH;
}

static size_t
bridge_next_chunk(void *arg, uint8_t *buf, size_t max,
    struct msock_peer *dest)
{
	struct bridge	*b = arg;
	struct dmsg	*m;
	int		 n;

	if (b->dgram) {
		if (b->up.count == 0)
			return 0;
		m = &b->up.m[b->up.head];
		b->up.head = (b->up.head + 1) % b->up.cap;
		b->up.count--;
		if (!b->client_gone)
			event_add(b->rev, NULL);
		b->traffic = true;
		memcpy(buf, m->data, m->len);	/* len <= MSOCK_SEND_MAX */
		b->ev.bytes_up += m->len;
		return m->len;
	}
	n = evbuffer_remove(bufferevent_get_input(b->bev), buf, max);
	if (n > 0)
		b->traffic = true;
	b->ev.bytes_up += n > 0 ? (size_t)n : 0;
	if (b->read_paused && evbuffer_get_length(
	    bufferevent_get_input(b->bev)) < BRIDGE_UP_HIGH) {
		b->read_paused = false;
		bufferevent_enable(b->bev, EV_READ);
	}
	return n > 0 ? (size_t)n : 0;
}

static void
bridge_sent(void *arg)
{
	struct bridge	*b = arg;

	if (b->lingering)
		bridge_arm(b, LINGER_MAX_MS);	/* progress: wait again */
	if (b->client_gone)
		bridge_maybe_finish(b);
}

static void
bridge_peer_closed(void *arg)
{
	struct bridge	*b = arg;

	/* Every byte is read: deliver, then close the client. */
	bridge_set_state(b, BRIDGE_FLUSHING, "remote closed");
	b->flush_why = "remote closed";
	msock_close(b->ms);
	b->ms = NULL;
	bridge_arm(b, BRIDGE_FLUSH_MS);
	bridge_discard_up(b);
	bridge_maybe_finish(b);
}

static void
bridge_gone(void *arg, const char *why)
{
	struct bridge	*b = arg;

	log_info("%s: client %lu: modem connection lost (%s)",
	    b->conf->name, b->serial, why);
	b->ms = NULL;
	b->ops->failed(b->arg);
	/* What already arrived is still delivered, then EOF. */
	bridge_set_state(b, BRIDGE_FLUSHING, why);
	b->flush_why = "modem connection lost";
	bridge_arm(b, BRIDGE_FLUSH_MS);
	bridge_discard_up(b);
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
