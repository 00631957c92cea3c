/*
 * service.h: endpoints served by a listening modem socket:
 * "TCP LISTENER" (each accepted connection relayed to a local forward
 * target) and "UDP SERVICE" (each remote peer mapped to its own local UDP
 * socket connected to the forward target).
 *
 * When the socket is opened is admission's decision (admit.c): it asks
 * svc_wants_slot() and calls svc_open().
 */
#ifndef BG96D_SERVICE_H
#define BG96D_SERVICE_H

#include <stdbool.h>

struct conf_endpoint;
struct event_base;
struct msock;
struct msock_peer;
struct msockset;
struct svc;

/* Bound on remote peers one UDP SERVICE maps at once (LRU eviction). */
#define SVC_UDP_MAP_MAX		64
/* Datagrams from local servers waiting for AT+QISEND, per service. */
#define SVC_UDP_QUEUE_MAX	16

/* What a service tells its owner; each gets the owner's arg. */
struct svc_ops {
	/* The retry interval after a failed open passed. */
	void	(*retry)(void *);
	/* The modem would not open the socket (counted as failed). */
	void	(*failed)(void *);
	/*
	 * TCP LISTENER: the modem accepted a connection on ms (see
	 * msock_ops.incoming: take it or msock_close() it).
	 */
	void	(*incoming)(void *, struct msock *ms,
		    const struct msock_peer *from);
};

/* conf must outlive the service. */
struct svc	*svc_new(struct event_base *, const struct conf_endpoint *,
		    const struct svc_ops *, void *arg);
/* True if the modem socket is down and may be opened again now. */
bool		 svc_wants_slot(const struct svc *);
/* Open the modem socket on a free slot (AT+QIOPEN). */
void		 svc_open(struct svc *, struct msockset *, int timeout_ms);
/* Close the modem socket (AT+QICLOSE) and every relayed connection. */
void		 svc_free(struct svc *);

#endif
