/*
 * endpoint.c: socket files for the configured endpoints and accepting
 * their clients.  What happens to a client next is admission's decision
 * (admit.c); a socks.sock client does its handshake first (socks.c).
 */
#include <sys/queue.h>
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

#include "bg96d/admit.h"
#include "bg96d/at.h"
#include "bg96d/conf.h"
#include "bg96d/endpoint.h"
#include "bg96d/errors.h"
#include "bg96d/log.h"
#include "bg96d/socks.h"
#include "bg96d/timeouts.h"
#include "bg96d/usock.h"
#include "bg96d/util.h"

struct endpoint {
	TAILQ_ENTRY(endpoint)	 entry;
	struct epset		*set;
	struct conf_endpoint	 conf;
	struct usock		 ls;		/* socket file (not for a
						 * modem-side listener) */
	bool			 removed;	/* gone from the config (SIGHUP) */
	bool			 is_socks;	/* socks.sock: SOCKS5 handshake */
	struct admit_ep		*adm;		/* its clients and counters */
	struct socks		*socks;		/* socks.sock: handshakes */
};

struct epset {
	struct event_base	*base;
	const struct conf	*conf;
	TAILQ_HEAD(, endpoint)	 endpoints;
	struct admit		*adm;		/* the wait queue, the quotas */
};

static void	endpoint_accept_cb(evutil_socket_t, short, void *);

struct epset *
epset_new(struct event_base *base, struct modem *m, struct msockset *ms)
{
	struct epset	*set = xcalloc(1, sizeof(*set));

	set->base = base;
	set->adm = admit_new(base, m, ms);
	TAILQ_INIT(&set->endpoints);
	return set;
}

static void
endpoint_free(struct endpoint *ep)
{
	usock_close(&ep->ls);
	admit_ep_free(ep->adm);
	socks_free(ep->socks);
	TAILQ_REMOVE(&ep->set->endpoints, ep, entry);
	free(ep);
}

/* No socket file: the modem listens (service.c). */
static bool
endpoint_modem_listens(const struct conf_endpoint *ce)
{
	return ce->type == CONF_EP_TCP_LISTENER ||
	    ce->type == CONF_EP_UDP_SERVICE;
}

/* socks.c's outcome goes to admission. */
static void
endpoint_socks_refused(void *arg)
{
	struct endpoint	*ep = arg;

	admit_ep_refused(ep->adm);
}

static void
endpoint_socks_request(void *arg, struct bufferevent *bev,
    const struct socks_request *req)
{
	struct endpoint	*ep = arg;

	admit_socks(ep->adm, bev, req);
}

static const struct socks_ops endpoint_socks_ops = {
	.refused = endpoint_socks_refused,
	.request = endpoint_socks_request,
};

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
 * err, or ERR_INSTANCE if another instance answers on its socket file.
 */
static int
endpoint_make(struct epset *set, const struct conf_endpoint *ce,
    bool is_socks, int gid, char *err, size_t errlen)
{
	const struct conf	*c = set->conf;
	struct endpoint		*ep;
	char			 path[sizeof(ep->ls.path)];
	int			 r, mode;

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
	    (endpoint_modem_listens(ce) || strcmp(ep->ls.path, path) == 0)) {
		ep->removed = false;
		admit_ep_suspend(ep->adm, false);
		ep->conf = *ce;		/* limits and timeouts may change */
		return 0;
	}
	if (ep != NULL)
		endpoint_free(ep);	/* changed: re-create */
	ep = xcalloc(1, sizeof(*ep));
	ep->set = set;
	ep->conf = *ce;
	usock_init(&ep->ls);
	ep->is_socks = is_socks;
	if (endpoint_modem_listens(ce)) {
		ep->adm = admit_ep_new(set->adm, &ep->conf);
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
	mode = ce->socket_mode != -1 ? ce->socket_mode : c->daemon.socket_mode;
	if ((r = usock_listen(&ep->ls, set->base, path,
	    ce->type == CONF_EP_UDP ? SOCK_SEQPACKET : SOCK_STREAM, mode, gid,
	    endpoint_accept_cb, ep, err, errlen)) != 0) {
		free(ep);
		return r;
	}
	ep->adm = admit_ep_new(set->adm, &ep->conf);
	if (is_socks)
		ep->socks = socks_new(set->base, ep->conf.name,
		    &endpoint_socks_ops, ep);
	TAILQ_INSERT_TAIL(&set->endpoints, ep, entry);
	log_info("%s: listening on %s", ce->name, ep->ls.path);
	return 0;
}

int
epset_apply(struct epset *set, const struct conf *c, char *err,
    size_t errlen)
{
	struct endpoint	*ep, *next;
	int		 i, gid = -1, r, ret = 0;

	set->conf = c;
	admit_set_conf(set->adm, c);
	if (c->daemon.socket_group[0] != '\0' &&
	    (gid = group_lookup(c->daemon.socket_group)) == -1) {
		snprintf(err, errlen, "socket_group %s: no such group",
		    c->daemon.socket_group);
		return -1;
	}
	TAILQ_FOREACH(ep, &set->endpoints, entry) {
		ep->removed = true;
		admit_ep_suspend(ep->adm, true);
	}
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

	if ((fd = usock_accept(&ep->ls, ep->conf.name)) == -1)
		return;
	if (epset_stopping(ep->set)) {
		close(fd);
		return;
	}
	if (ep->is_socks)
		socks_accept(ep->socks, fd);
	else
		admit_client(ep->adm, fd);
}

void
epset_serve(struct epset *set)
{
	admit_serve(set->adm);
}

void
epset_stop(struct epset *set)
{
	admit_stop(set->adm);
}

bool
epset_stopping(const struct epset *set)
{
	return admit_stopping(set->adm);
}

int
epset_clients(const struct epset *set)
{
	return admit_clients(set->adm);
}

void
epset_free(struct epset *set)
{
	struct endpoint	*ep;

	if (set == NULL)
		return;
	admit_stop(set->adm);
	while ((ep = TAILQ_FIRST(&set->endpoints)) != NULL)
		endpoint_free(ep);
	admit_free(set->adm);
	free(set);
}

int
epset_info(const struct epset *set, struct endpoint_info *out)
{
	const struct endpoint		*ep;
	const struct admit_counters	*cnt;
	int				 n = 0;

	TAILQ_FOREACH(ep, &set->endpoints, entry) {
		if (ep->removed || n > CONF_MAX_ENDPOINTS)
			continue;
		cnt = admit_ep_counters(ep->adm);
		out[n].name = ep->conf.name;
		out[n].type = ep->conf.type;
		out[n].socket = ep->ls.fd != -1 ? ep->ls.path : "";
		out[n].active = cnt->active;
		out[n].accepted = cnt->accepted;
		out[n].refused = cnt->refused;
		out[n].failed = cnt->failed;
		out[n].linger_expired = cnt->linger_expired;
		n++;
	}
	return n;
}

int
epset_waiting(const struct epset *set)
{
	return admit_waiting(set->adm);
}

void
epset_wait_stats(const struct epset *set, unsigned long long *n,
    unsigned long long *ms)
{
	admit_wait_stats(set->adm, n, ms);
}
