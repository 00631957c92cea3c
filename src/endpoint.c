/*
 * endpoint.c: socket files for the configured endpoints, accepting
 * clients, and serving the wait queue when slots and the modem allow.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bg96d/at.h"
#include "bg96d/bridge.h"
#include "bg96d/conf.h"
#include "bg96d/endpoint.h"
#include "bg96d/errors.h"
#include "bg96d/log.h"
#include "bg96d/modem.h"
#include "bg96d/msock.h"
#include "bg96d/service.h"
#include "bg96d/socks.h"
#include "bg96d/timeouts.h"
#include "bg96d/usock.h"
#include "bg96d/util.h"


static void	endpoint_accept_cb(evutil_socket_t, short, void *);

struct epset *
epset_new(struct event_base *base, struct modem *m, struct msockset *ms)
{
	struct epset	*set = xcalloc(1, sizeof(*set));

	set->base = base;
	set->modem = m;
	set->msocks = ms;
	TAILQ_INIT(&set->endpoints);
	TAILQ_INIT(&set->waitq);
	return set;
}

static void
endpoint_close_listener(struct endpoint *ep)
{
	if (ep->ev != NULL) {
		event_free(ep->ev);
		ep->ev = NULL;
	}
	if (ep->pause != NULL) {
		event_free(ep->pause);
		ep->pause = NULL;
	}
	if (ep->fd != -1) {
		close(ep->fd);
		unlink(ep->path);
		ep->fd = -1;
	}
}

static void
endpoint_free(struct endpoint *ep)
{
	struct bridge	*b;

	endpoint_close_listener(ep);
	while ((b = TAILQ_FIRST(&ep->bridges)) != NULL)
		bridge_abort(b, "endpoint removed");
	socks_abort_all(ep);
	svc_free(ep->svc);
	TAILQ_REMOVE(&ep->set->endpoints, ep, entry);
	free(ep);
}

/* Same socket, same meaning: an unchanged endpoint keeps its clients. */
static bool
endpoint_same(const struct conf_endpoint *a, const struct conf_endpoint *b)
{
	return a->type == b->type && strcmp(a->host, b->host) == 0 &&
	    a->port == b->port && a->local_port == b->local_port &&
	    a->access_mode == b->access_mode &&
	    a->socket_mode == b->socket_mode &&
	    memcmp(&a->forward, &b->forward, sizeof(a->forward)) == 0;
}

/*
 * Keep, re-create or create the endpoint for ce.  Returns 0, -1 with
 * err, or 1 if another instance answers on its socket file.
 */
static int
endpoint_make(struct epset *set, const struct conf_endpoint *ce,
    bool is_socks, int gid, char *err, size_t errlen)
{
	const struct conf	*c = set->conf;
	struct endpoint		*ep;
	char			 path[sizeof(ep->path)];
	int			 fd, mode;

	if (snprintf(path, sizeof(path), "%s/%s.sock", c->daemon.socket_dir,
	    ce->name) >= (int)sizeof(path)) {
		snprintf(err, errlen, "%s: socket path too long", ce->name);
		return -1;
	}
	TAILQ_FOREACH(ep, &set->endpoints, entry)
		if (strcmp(ep->conf.name, ce->name) == 0 &&
		    ep->is_socks == is_socks)
			break;
	if (ep != NULL && endpoint_same(&ep->conf, ce) &&
	    (ep->svc != NULL || strcmp(ep->path, path) == 0)) {
		ep->removed = false;
		ep->conf = *ce;		/* limits and timeouts may change */
		return 0;
	}
	if (ep != NULL)
		endpoint_free(ep);	/* changed: re-create */
	ep = xcalloc(1, sizeof(*ep));
	ep->set = set;
	ep->conf = *ce;
	ep->fd = -1;
	ep->is_socks = is_socks;
	TAILQ_INIT(&ep->bridges);
	TAILQ_INIT(&ep->handshakes);
	if (ce->type == CONF_EP_TCP_LISTENER ||
	    ce->type == CONF_EP_UDP_SERVICE) {
		/* No socket file: the modem listens. */
		ep->svc = svc_new(ep);
		TAILQ_INSERT_TAIL(&set->endpoints, ep, entry);
		if (ce->forward.kind == CONF_FWD_UNIX)
			log_info("%s: %s on modem port %d, forwarding to "
			    "unix:%s", ce->name, conf_ep_type_name(ce->type),
			    ce->local_port, ce->forward.path);
		else
			log_info("%s: %s on modem port %d, forwarding to "
			    "%s:%s:%d", ce->name, conf_ep_type_name(ce->type),
			    ce->local_port, ce->forward.kind == CONF_FWD_TCP ?
			    "tcp" : "udp", ce->forward.host, ce->forward.port);
		return 0;
	}
	strlcpy(ep->path, path, sizeof(ep->path));
	mode = ce->socket_mode != -1 ? ce->socket_mode : c->daemon.socket_mode;
	fd = usock_listen(ep->path, ce->type == CONF_EP_UDP ? SOCK_SEQPACKET :
	    SOCK_STREAM, mode, gid, err, errlen);
	if (fd < 0) {
		free(ep);
		return fd == ERR_INSTANCE ? 1 : -1;
	}
	ep->fd = fd;
	ep->ev = event_new(set->base, fd, EV_READ | EV_PERSIST,
	    endpoint_accept_cb, ep);
	event_add(ep->ev, NULL);
	TAILQ_INSERT_TAIL(&set->endpoints, ep, entry);
	log_info("%s: listening on %s", ce->name, ep->path);
	return 0;
}

int
epset_apply(struct epset *set, const struct conf *c, char *err,
    size_t errlen)
{
	struct endpoint	*ep, *next;
	int		 i, gid = -1, r, ret = 0;

	set->conf = c;
	if (c->daemon.socket_group[0] != '\0' &&
	    (gid = group_lookup(c->daemon.socket_group)) == -1) {
		snprintf(err, errlen, "socket_group %s: no such group",
		    c->daemon.socket_group);
		return -1;
	}
	TAILQ_FOREACH(ep, &set->endpoints, entry)
		ep->removed = true;
	/* A socket that cannot be made is reported; the others go on. */
	for (i = 0; i < c->n_endpoints; i++)
		if ((r = endpoint_make(set, &c->endpoints[i], false, gid, err,
		    errlen)) != 0 && ret == 0)
			ret = r;
	if (c->socks.enable) {
		struct conf_endpoint	 ce;

		/* socks.sock: a tcp endpoint whose destination varies. */
		memset(&ce, 0, sizeof(ce));
		strlcpy(ce.name, "socks", sizeof(ce.name));
		ce.type = CONF_EP_TCP;
		ce.access_mode = CONF_ACCESS_BUFFER;
		ce.max_connections = AT_NSLOTS;
		ce.connect_timeout = c->socks.connect_timeout;
		ce.socket_mode = -1;
		if ((r = endpoint_make(set, &ce, true, gid, err,
		    errlen)) != 0 && ret == 0)
			ret = r;
	}
	for (ep = TAILQ_FIRST(&set->endpoints); ep != NULL; ep = next) {
		next = TAILQ_NEXT(ep, entry);
		if (ep->removed) {
			log_info("%s: endpoint removed", ep->conf.name);
			endpoint_free(ep);
		}
	}
	epset_serve(set);
	return ret;
}

static void
endpoint_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct endpoint	*ep = arg;
	int		 fd;

	if ((fd = usock_accept(lfd, ep->ev, &ep->pause, ep->conf.name)) == -1)
		return;
	if (ep->set->stopping) {
		close(fd);
		return;
	}
	if (ep->is_socks)
		socks_accept(ep, fd);
	else
		bridge_new(ep, fd);
}

void
epset_serve(struct epset *set)
{
	struct endpoint	*ep;

	if (set->stopping)
		return;
	/* Listening modem sockets first: they are part of the setup. */
	TAILQ_FOREACH(ep, &set->endpoints, entry)
		if (ep->svc != NULL)
			svc_serve(ep->svc);
	while (!set->stopping && bridge_serve_one(set))
		;
}

int
epset_clients(const struct epset *set)
{
	const struct endpoint	*ep;
	int			 n = 0;

	TAILQ_FOREACH(ep, &set->endpoints, entry)
		n += ep->active;
	return n;
}

void
epset_free(struct epset *set)
{
	struct endpoint	*ep;

	if (set == NULL)
		return;
	set->stopping = true;
	while ((ep = TAILQ_FIRST(&set->endpoints)) != NULL)
		endpoint_free(ep);
	free(set);
}

int
epset_info(const struct epset *set, struct endpoint_info *out)
{
	const struct endpoint	*ep;
	int			 n = 0;

	TAILQ_FOREACH(ep, &set->endpoints, entry) {
		if (ep->removed || n > CONF_MAX_ENDPOINTS)
			continue;
		out[n].name = ep->conf.name;
		out[n].type = ep->conf.type;
		out[n].socket = ep->fd != -1 ? ep->path : "";
		out[n].active = ep->active;
		out[n].accepted = ep->accepted;
		out[n].refused = ep->refused;
		out[n].failed = ep->failed;
		out[n].linger_expired = ep->linger_expired;
		n++;
	}
	return n;
}

int
epset_waiting(const struct epset *set)
{
	return set->nwaiting;
}
