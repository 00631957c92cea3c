/*
 * service.h: endpoints served by a listening modem socket:
 * "TCP LISTENER" (each accepted connection relayed to a local forward
 * target) and "UDP SERVICE" (each remote peer mapped to its own local UDP
 * socket connected to the forward target).
 */
#ifndef BG96D_SERVICE_H
#define BG96D_SERVICE_H

struct endpoint;
struct svc;

/* Bound on remote peers one UDP SERVICE maps at once (LRU eviction). */
#define SVC_UDP_MAP_MAX		64
/* Datagrams from local servers waiting for AT+QISEND, per service. */
#define SVC_UDP_QUEUE_MAX	16

struct svc	*svc_new(struct endpoint *);
/* Open the modem socket if it is not open (modem ready, slot free). */
void		 svc_serve(struct svc *);
/* Close the modem socket (AT+QICLOSE) and every relayed connection. */
void		 svc_free(struct svc *);

#endif
