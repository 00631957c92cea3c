/*
 * service.c: endpoints served by a listening modem socket.
 *
 * tcp-listener: AT+QIOPEN "TCP LISTENER" on local_port; every
 * +QIURC: "incoming" goes to the owner (admit.c), which makes it a
 * bridge to the forward target.
 *
 * udp-service: AT+QIOPEN "UDP SERVICE" on local_port; every remote
 * (ip, port) gets its own local UDP socket connected to the forward
 * target, so the local server sees one peer per remote and its answers
 * go back with AT+QISEND=id,n,"ip",port.  Mappings expire after
 * idle_timeout; at most SVC_UDP_MAP_MAX exist (least recently used goes).
 *
 * Both are (re)opened whenever the modem is ready and a slot is free
 * (admit.c decides, svc_wants_slot() says whether they need one): after
 * a modem re-init they come back by themselves.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bg96d/conf.h"
#include "bg96d/errors.h"
#include "bg96d/evtimer.h"
#include "bg96d/log.h"
#include "bg96d/msock.h"
#include "bg96d/service.h"
#include "bg96d/timeouts.h"
#include "bg96d/util.h"


struct udpmap {
	struct svc		*svc;
	struct msock_peer	 peer;
	int			 fd;		/* connected to forward */
	struct event		*ev;
	long long		 last_used;
	bool			 in_use;
};

struct dgram {
	struct msock_peer	 dest;
	size_t			 len;
	uint8_t			 data[MSOCK_SEND_MAX];
};

struct svc {
	const struct conf_endpoint *conf;	/* the endpoint's */
	const struct svc_ops	*ops;		/* the owner (admit.c) */
	void			*arg;
	struct event_base	*base;
	struct msock		*ms;
	bool			 opening;
	long long		 retry_at;
	struct event		*timer;		/* retry, mapping expiry */
	struct udpmap		 maps[SVC_UDP_MAP_MAX];
	struct dgram		 q[SVC_UDP_QUEUE_MAX];
	int			 qhead, qcount;
	bool			 paused;	/* mappings not read: queue full */
};

static const struct msock_ops svc_ops;
static void	svc_map_read_cb(evutil_socket_t, short, void *);
static void	svc_pause(struct svc *, bool);

static void
svc_map_free(struct udpmap *m)
{
	if (!m->in_use)
		return;
	event_free(m->ev);
	close(m->fd);
	m->in_use = false;
	log_debug("%s: mapping for %s:%d expired", m->svc->conf->name,
	    m->peer.ip, m->peer.port);
}

/* Expire idle mappings; re-arm for the next one. */
static void
svc_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct svc	*sv = arg;
	long long	 now = now_ms(), next = -1, idle;
	int		 i;

	idle = sv->conf->idle_timeout * 1000LL;
	for (i = 0; i < SVC_UDP_MAP_MAX; i++) {
		struct udpmap	*m = &sv->maps[i];

		if (!m->in_use || idle == 0)
			continue;
		if (now - m->last_used >= idle)
			svc_map_free(m);
		else if (next == -1 || m->last_used + idle < next)
			next = m->last_used + idle;
	}
	if (sv->ms == NULL && !sv->opening && now >= sv->retry_at)
		sv->ops->retry(sv->arg);
	else if (sv->ms == NULL && !sv->opening &&
	    (next == -1 || sv->retry_at < next))
		next = sv->retry_at;
	if (next != -1)
		evtimer_add_ms(sv->timer, next - now);
}

struct svc *
svc_new(struct event_base *base, const struct conf_endpoint *conf,
    const struct svc_ops *ops, void *arg)
{
	struct svc	*sv = xcalloc(1, sizeof(*sv));
	int		 i;

	sv->conf = conf;
	sv->ops = ops;
	sv->arg = arg;
	sv->base = base;
	sv->timer = evtimer_new(base, svc_timer_cb, sv);
	for (i = 0; i < SVC_UDP_MAP_MAX; i++)
		sv->maps[i].svc = sv;
	return sv;
}

bool
svc_wants_slot(const struct svc *sv)
{
	return sv->ms == NULL && !sv->opening && now_ms() >= sv->retry_at;
}

void
svc_open(struct svc *sv, struct msockset *msocks, int timeout_ms)
{
	bool	 udp = sv->conf->type == CONF_EP_UDP_SERVICE;

	sv->ms = msock_open(msocks,
	    udp ? MSOCK_UDP_SERVICE : MSOCK_TCP_LISTENER, "127.0.0.1", 0,
	    sv->conf->local_port, sv->conf->access_mode == CONF_ACCESS_PUSH,
	    timeout_ms, &svc_ops, sv);
	if (sv->ms == NULL)
		return;
	msock_set_label(sv->ms, sv->conf->name);
	sv->opening = true;
}

void
svc_free(struct svc *sv)
{
	int	 i;

	if (sv == NULL)
		return;
	if (sv->ms != NULL)
		msock_close(sv->ms);
	for (i = 0; i < SVC_UDP_MAP_MAX; i++)
		svc_map_free(&sv->maps[i]);
	event_free(sv->timer);
	free(sv);
}

static void
svc_opened(void *arg, int err)
{
	struct svc	*sv = arg;

	sv->opening = false;
	if (err != 0) {
		log_warnx("%s: modem could not listen on port %d (%s, %d); "
		    "retrying", sv->conf->name, sv->conf->local_port,
		    err_info(err)->text, err);
		sv->ms = NULL;
		sv->ops->failed(sv->arg);
		sv->retry_at = now_ms() + SVC_RETRY_MS;
		evtimer_add_ms(sv->timer, SVC_RETRY_MS);
		return;
	}
	log_info("%s: modem listens on port %d (%s, slot %d)",
	    sv->conf->name, sv->conf->local_port,
	    sv->conf->type == CONF_EP_UDP_SERVICE ? "UDP SERVICE" :
	    "TCP LISTENER", msock_id(sv->ms));
}

static void
svc_gone(void *arg, const char *why)
{
	struct svc	*sv = arg;

	log_info("%s: modem socket lost (%s); reopened when the modem is "
	    "ready", sv->conf->name, why);
	sv->ms = NULL;
	sv->opening = false;
	/*
	 * The queued replies cannot go out any more; the mappings were
	 * paused only because that queue was full.  Read them again, or
	 * the local server's replies would never be read after the
	 * service reopens.
	 */
	sv->qcount = 0;
	svc_pause(sv, false);
}

static void
svc_incoming(void *arg, struct msock *ms, const struct msock_peer *from)
{
	struct svc	*sv = arg;

	sv->ops->incoming(sv->arg, ms, from);
}

/* A local UDP socket connected to the forward target, for one peer. */
static struct udpmap *
svc_map_get(struct svc *sv, const char *ip, int port)
{
	struct sockaddr_in	 sin;
	struct udpmap		*m, *lru = NULL, *free_m = NULL;
	const struct conf_forward *f = &sv->conf->forward;
	int			 i, fd;

	for (i = 0; i < SVC_UDP_MAP_MAX; i++) {
		m = &sv->maps[i];
		if (!m->in_use) {
			if (free_m == NULL)
				free_m = m;
			continue;
		}
		if (m->peer.port == port && strcmp(m->peer.ip, ip) == 0)
			return m;
		if (lru == NULL || m->last_used < lru->last_used)
			lru = m;
	}
	if (free_m == NULL) {
		log_info("%s: %d peers mapped: dropping the least recently "
		    "used (%s:%d)", sv->conf->name, SVC_UDP_MAP_MAX,
		    lru->peer.ip, lru->peer.port);
		svc_map_free(lru);
		free_m = lru;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)f->port);
	inet_pton(AF_INET, f->host, &sin.sin_addr);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sin,
	    sizeof(sin)) == -1) {
		log_warn("%s: local UDP socket", sv->conf->name);
		if (fd != -1)
			close(fd);
		return NULL;
	}
	m = free_m;
	m->in_use = true;
	m->fd = fd;
	strlcpy(m->peer.ip, ip, sizeof(m->peer.ip));
	m->peer.port = port;
	m->last_used = now_ms();
	m->ev = event_new(sv->base, fd, EV_READ | EV_PERSIST,
	    svc_map_read_cb, m);
	if (!sv->paused)
		event_add(m->ev, NULL);
	log_debug("%s: new peer %s:%d", sv->conf->name, ip, port);
	if (sv->conf->idle_timeout > 0 && !evtimer_pending(sv->timer, NULL))
		evtimer_add_ms(sv->timer, sv->conf->idle_timeout * 1000LL);
	return m;
}

/* True if ip is an IPv4 or IPv6 literal (it goes into AT+QISEND). */
static bool
svc_ip_ok(const char *ip)
{
	unsigned char	 buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, ip, buf) == 1 ||
	    inet_pton(AF_INET6, ip, buf) == 1;
}

static void
svc_received(void *arg, const uint8_t *data, size_t len, const char *ip,
    int port)
{
	struct svc	*sv = arg;
	struct udpmap	*m;

	if (ip == NULL || !svc_ip_ok(ip) || port <= 0 || port > 65535) {
		log_warnx("%s: datagram without a valid sender dropped",
		    sv->conf->name);
		return;
	}
	if ((m = svc_map_get(sv, ip, port)) == NULL)
		return;
	m->last_used = now_ms();
	if (send(m->fd, data, len, MSG_DONTWAIT) == -1)
		log_debug("%s: forward target: %s", sv->conf->name,
		    strerror(errno));	/* UDP: the local server is down */
}

static void
svc_pause(struct svc *sv, bool pause)
{
	int	 i;

	if (sv->paused == pause)
		return;
	sv->paused = pause;
	for (i = 0; i < SVC_UDP_MAP_MAX; i++)
		if (sv->maps[i].in_use) {
			if (pause)
				event_del(sv->maps[i].ev);
			else
				event_add(sv->maps[i].ev, NULL);
		}
}

/* The local server answered a peer: queue it for AT+QISEND. */
static void
svc_map_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct udpmap	*m = arg;
	struct svc	*sv = m->svc;
	struct dgram	*d;
	uint8_t		 buf[MSOCK_SEND_MAX + 1];
	ssize_t		 n;

	while (sv->qcount < SVC_UDP_QUEUE_MAX) {
		n = recv(fd, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);
		if (n == -1)
			return;		/* EAGAIN, or ICMP refusal: nothing */
		m->last_used = now_ms();
		if (n == 0)
			continue;	/* AT+QISEND cannot send empty ones */
		if ((size_t)n > MSOCK_SEND_MAX) {
			log_warnx("%s: local server sent a %zd-byte datagram; "
			    "the modem sends at most %d: dropped",
			    sv->conf->name, n, MSOCK_SEND_MAX);
			continue;
		}
		if (sv->ms == NULL)
			continue;	/* modem socket down: nowhere to go */
		d = &sv->q[(sv->qhead + sv->qcount) % SVC_UDP_QUEUE_MAX];
		d->dest = m->peer;
		d->len = (size_t)n;
		memcpy(d->data, buf, (size_t)n);
		sv->qcount++;
		msock_kick(sv->ms);
	}
	svc_pause(sv, true);
}

static size_t
svc_next_chunk(void *arg, uint8_t *buf, size_t max, struct msock_peer *dest)
{
	struct svc	*sv = arg;
	struct dgram	*d;

	if (sv->qcount == 0)
		return 0;
	d = &sv->q[sv->qhead];
	sv->qhead = (sv->qhead + 1) % SVC_UDP_QUEUE_MAX;
	sv->qcount--;
	*dest = d->dest;
	memcpy(buf, d->data, d->len);
	svc_pause(sv, false);
	return d->len;
}

static bool
svc_can_receive(void *arg)
{
	return true;	/* datagrams go straight to a local socket */
}

static const struct msock_ops svc_ops = {
	.opened = svc_opened,
	.received = svc_received,
	.can_receive = svc_can_receive,
	.next_chunk = svc_next_chunk,
	.gone = svc_gone,
	.incoming = svc_incoming,
};
