/*
 * admit.c: admission.  The one place that decides whether a client may
 * have a modem slot now, and counts what each endpoint admitted,
 * refused and lost.
 *
 * A client of a tcp, udp or SOCKS endpoint waits in one queue, over all
 * endpoints, in arrival order.  admit_serve() runs whenever a slot may
 * have come free (a bridge ended, the slot table freed one, the modem
 * became ready, the configuration changed): listening modem sockets
 * (tcp-listener, udp-service) are opened first, since they are part of
 * the setup; then waiting clients are started in order, skipping those
 * whose endpoint is at max_connections.  A connection a tcp-listener
 * accepted is admitted at once or refused (max_connections).
 *
 * Bridges and services report back through their ops tables; they never
 * call in here, so this module sits above them.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <unistd.h>

#include <event2/bufferevent.h>

#include "bg96d/admit.h"
#include "bg96d/bridge.h"
#include "bg96d/conf.h"
#include "bg96d/errors.h"
#include "bg96d/log.h"
#include "bg96d/modem.h"
#include "bg96d/msock.h"
#include "bg96d/service.h"
#include "bg96d/socksproto.h"
#include "bg96d/util.h"

/* One client as admission sees it: queued, holding a slot, or neither. */
struct client {
	TAILQ_ENTRY(client)	 qentry;	/* adm->waitq */
	TAILQ_ENTRY(client)	 eentry;	/* aep->clients */
	struct admit_ep		*aep;
	struct bridge		*b;
	bool			 queued;
	bool			 holds_slot;	/* counted in active */
	long long		 queued_at;	/* now_ms() it was queued */
};
TAILQ_HEAD(clientq, client);

struct admit_ep {
	TAILQ_ENTRY(admit_ep)	 entry;		/* adm->eps */
	struct admit		*adm;
	const struct conf_endpoint *conf;
	struct svc		*svc;		/* tcp-listener, udp-service */
	bool			 suspended;	/* leaving the config */
	struct clientq		 clients;	/* every client, any state */
	struct admit_counters	 cnt;
};

struct admit {
	struct event_base	*base;
	struct modem		*modem;
	struct msockset		*msocks;
	const struct conf	*conf;
	TAILQ_HEAD(, admit_ep)	 eps;		/* config order */
	struct clientq		 waitq;		/* clients waiting for a slot */
	int			 nwaiting;
	/* Clients that left the queue, and their time in it. */
	unsigned long long	 waits, wait_ms;
	bool			 stopping;
};

static const struct bridge_ops	admit_bridge_ops;
static const struct svc_ops	admit_svc_ops;

struct admit *
admit_new(struct event_base *base, struct modem *m, struct msockset *ms)
{
	struct admit	*adm = xcalloc(1, sizeof(*adm));

	adm->base = base;
	adm->modem = m;
	adm->msocks = ms;
	TAILQ_INIT(&adm->eps);
	TAILQ_INIT(&adm->waitq);
	return adm;
}

void
admit_free(struct admit *adm)
{
	struct admit_ep	*aep;

	if (adm == NULL)
		return;
	adm->stopping = true;
	while ((aep = TAILQ_FIRST(&adm->eps)) != NULL)
		admit_ep_free(aep);
	free(adm);
}

void
admit_set_conf(struct admit *adm, const struct conf *c)
{
	adm->conf = c;
}

void
admit_stop(struct admit *adm)
{
	adm->stopping = true;
}

bool
admit_stopping(const struct admit *adm)
{
	return adm->stopping;
}

int
admit_waiting(const struct admit *adm)
{
	return adm->nwaiting;
}

void
admit_wait_stats(const struct admit *adm, unsigned long long *n,
    unsigned long long *ms)
{
	*n = adm->waits;
	*ms = adm->wait_ms;
}

int
admit_clients(const struct admit *adm)
{
	const struct admit_ep	*aep;
	int			 n = 0;

	TAILQ_FOREACH(aep, &adm->eps, entry)
		n += aep->cnt.active;
	return n;
}

/*
 * May anything open a modem socket now?  Not while a transparent
 * connection holds the serial line or is about to (its AT+QIOPEN waits
 * for CONNECT): nothing else can be written to the modem then, so a
 * client of any endpoint waits in the queue (connect_timeout) until it
 * ends.  One transparent connection at a time follows.
 */
static bool
admit_slot_free(const struct admit *adm)
{
	return modem_state(adm->modem) == MODEM_READY &&
	    !msockset_line_busy(adm->msocks) &&
	    msockset_free_slots(adm->msocks) > 0;
}

static long long
admit_qiopen_ms(const struct admit *adm)
{
	return adm->conf->timeouts.qiopen * 1000LL;
}

/* A listening modem socket that is down is opened again. */
static void
admit_serve_svc(struct admit_ep *aep)
{
	struct admit	*adm = aep->adm;

	if (aep->svc == NULL || !svc_wants_slot(aep->svc) ||
	    !admit_slot_free(adm))
		return;
	svc_open(aep->svc, adm->msocks, (int)admit_qiopen_ms(adm));
}

static void
client_enqueue(struct client *c, bool head)
{
	struct admit	*adm = c->aep->adm;

	if (head)
		TAILQ_INSERT_HEAD(&adm->waitq, c, qentry);
	else
		TAILQ_INSERT_TAIL(&adm->waitq, c, qentry);
	adm->nwaiting++;
	c->queued = true;
	c->queued_at = now_ms();
}

static void
client_dequeue(struct client *c)
{
	if (!c->queued)
		return;
	TAILQ_REMOVE(&c->aep->adm->waitq, c, qentry);
	c->aep->adm->nwaiting--;
	c->aep->adm->waits++;
	c->aep->adm->wait_ms += (unsigned long long)(now_ms() - c->queued_at);
	c->queued = false;
}

static void
client_take_slot(struct client *c)
{
	c->holds_slot = true;
	c->aep->cnt.active++;
}

static void
client_release_slot(struct client *c)
{
	if (!c->holds_slot)
		return;
	c->holds_slot = false;
	c->aep->cnt.active--;
}

/* Start the first waiting client that may start now; 0 if none could. */
static int
admit_serve_one(struct admit *adm)
{
	struct client	*c;

	if (!admit_slot_free(adm))
		return 0;
	TAILQ_FOREACH(c, &adm->waitq, qentry) {
		if (c->aep->cnt.active >= c->aep->conf->max_connections ||
		    c->aep->suspended)
			continue;
		if (bridge_start(c->b, adm->msocks, admit_qiopen_ms(adm)) == -1)
			return 0;	/* cannot happen: a free slot was counted */
		client_dequeue(c);
		client_take_slot(c);
		return 1;
	}
	return 0;
}

void
admit_serve(struct admit *adm)
{
	struct admit_ep	*aep;

	if (adm->stopping)
		return;
	/* Listening modem sockets first: they are part of the setup. */
	TAILQ_FOREACH(aep, &adm->eps, entry)
		admit_serve_svc(aep);
	while (!adm->stopping && admit_serve_one(adm))
		;
}

struct admit_ep *
admit_ep_new(struct admit *adm, const struct conf_endpoint *conf)
{
	struct admit_ep	*aep = xcalloc(1, sizeof(*aep));

	aep->adm = adm;
	aep->conf = conf;
	TAILQ_INIT(&aep->clients);
	if (conf->type == CONF_EP_TCP_LISTENER ||
	    conf->type == CONF_EP_UDP_SERVICE)
		aep->svc = svc_new(adm->base, conf, &admit_svc_ops, aep);
	TAILQ_INSERT_TAIL(&adm->eps, aep, entry);
	return aep;
}

void
admit_ep_free(struct admit_ep *aep)
{
	struct client	*c;

	if (aep == NULL)
		return;
	aep->suspended = true;	/* none of its clients may start now */
	while ((c = TAILQ_FIRST(&aep->clients)) != NULL)
		bridge_abort(c->b, "endpoint removed");
	svc_free(aep->svc);
	TAILQ_REMOVE(&aep->adm->eps, aep, entry);
	free(aep);
}

void
admit_ep_suspend(struct admit_ep *aep, bool suspended)
{
	aep->suspended = suspended;
}

const struct admit_counters *
admit_ep_counters(const struct admit_ep *aep)
{
	return &aep->cnt;
}

void
admit_ep_refused(struct admit_ep *aep)
{
	aep->cnt.refused++;
}

/* Room in the queue for one more?  If not, the client is refused. */
static bool
admit_room(struct admit_ep *aep)
{
	if (aep->adm->nwaiting < ADMIT_WAIT_MAX)
		return true;
	log_warnx("%s: too many clients waiting; refusing one",
	    aep->conf->name);
	aep->cnt.refused++;
	return false;
}

static struct client *
client_new(struct admit_ep *aep)
{
	struct client	*c = xcalloc(1, sizeof(*c));

	c->aep = aep;
	TAILQ_INSERT_TAIL(&aep->clients, c, eentry);
	aep->cnt.accepted++;
	return c;
}

void
admit_client(struct admit_ep *aep, int fd)
{
	struct client	*c;

	if (!admit_room(aep)) {
		close(fd);
		return;
	}
	c = client_new(aep);
	client_enqueue(c, false);
	c->b = bridge_new(aep->adm->base, aep->conf, fd, &admit_bridge_ops,
	    c);
	admit_serve(aep->adm);
}

void
admit_socks(struct admit_ep *aep, struct bufferevent *bev,
    const struct socks_request *req)
{
	struct client	*c;
	uint8_t		 reply[SOCKS_REPLY_LEN];

	if (!admit_room(aep)) {
		bufferevent_write(bev, reply,
		    socks_encode_reply(reply, SOCKS_REP_FAILURE));
		bufferevent_free(bev);	/* best effort: the reply may go */
		return;
	}
	c = client_new(aep);
	client_enqueue(c, false);
	c->b = bridge_new_socks(aep->adm->base, aep->conf, bev, req->host,
	    req->port, &admit_bridge_ops, c);
	admit_serve(aep->adm);
}

/* bridge_ops: what a bridge tells admission. */

static void
admit_bridge_expired(void *arg)
{
	struct client	*c = arg;

	client_dequeue(c);
	c->aep->cnt.failed++;
	if (modem_state(c->aep->adm->modem) != MODEM_READY)
		bridge_fail(c->b, ERR_NOT_READY,
		    "modem not ready within connect_timeout");
	else
		bridge_fail(c->b, ERR_NO_SLOT,
		    "no free modem slot within connect_timeout");
}

static void
admit_bridge_requeue(void *arg)
{
	struct client	*c = arg;

	/* It waited longest: first in line again. */
	client_release_slot(c);
	client_enqueue(c, true);
}

static void
admit_bridge_released(void *arg)
{
	struct client	*c = arg;

	client_dequeue(c);
	client_release_slot(c);
}

static void
admit_bridge_failed(void *arg)
{
	struct client	*c = arg;

	c->aep->cnt.failed++;
}

static void
admit_bridge_linger_expired(void *arg)
{
	struct client	*c = arg;

	c->aep->cnt.linger_expired++;
}

static void
admit_bridge_closed(void *arg)
{
	struct client	*c = arg;
	struct admit	*adm = c->aep->adm;

	client_dequeue(c);
	client_release_slot(c);
	TAILQ_REMOVE(&c->aep->clients, c, eentry);
	free(c);
	/* A slot or an endpoint quota may have become free. */
	admit_serve(adm);
}

static const struct bridge_ops admit_bridge_ops = {
	.expired = admit_bridge_expired,
	.requeue = admit_bridge_requeue,
	.released = admit_bridge_released,
	.failed = admit_bridge_failed,
	.linger_expired = admit_bridge_linger_expired,
	.closed = admit_bridge_closed,
};

/* svc_ops: what a listening modem socket tells admission. */

static void
admit_svc_retry(void *arg)
{
	admit_serve_svc(arg);
}

static void
admit_svc_failed(void *arg)
{
	struct admit_ep	*aep = arg;

	aep->cnt.failed++;
}

/* A tcp-listener accepted a connection: bridge it, or refuse it. */
static void
admit_svc_incoming(void *arg, struct msock *ms, const struct msock_peer *from)
{
	struct admit_ep	*aep = arg;
	struct client	*c;
	struct bridge	*b;

	if (aep->cnt.active >= aep->conf->max_connections) {
		log_warnx("%s: max_connections (%d) reached: refusing %s:%d",
		    aep->conf->name, aep->conf->max_connections, from->ip,
		    from->port);
		aep->cnt.refused++;
		msock_close(ms);
		return;
	}
	c = client_new(aep);
	client_take_slot(c);
	b = bridge_new_incoming(aep->adm->base, aep->conf, ms, from,
	    &admit_bridge_ops, c);
	if (b != NULL)		/* else c is gone with it */
		c->b = b;
}

static const struct svc_ops admit_svc_ops = {
	.retry = admit_svc_retry,
	.failed = admit_svc_failed,
	.incoming = admit_svc_incoming,
};
