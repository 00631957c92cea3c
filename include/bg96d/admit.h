/*
 * admit.h: admission, the one owner of "may this client have a modem
 * slot now?".
 *
 * It keeps the queue of clients waiting for a slot (over all
 * endpoints), each endpoint's quota (max_connections) and counters, and
 * opens a slot for a waiting client (tcp, udp, SOCKS) or a listening
 * modem socket (tcp-listener, udp-service) when the modem is ready and a
 * slot is free.  Bridges (bridge.c) and services (service.c) are its
 * leaves: it creates them and they report back through ops tables.
 */
#ifndef BG96D_ADMIT_H
#define BG96D_ADMIT_H

#include <stdbool.h>

struct admit;
struct admit_ep;
struct bufferevent;
struct conf;
struct conf_endpoint;
struct event_base;
struct modem;
struct msockset;
struct socks_request;

/* Clients that may wait for a slot at once, over all endpoints. */
#define ADMIT_WAIT_MAX	64

/* What one endpoint has admitted, refused, lost. */
struct admit_counters {
	int			 active;	/* clients holding a slot */
	unsigned long long	 accepted, refused, failed;
	unsigned long long	 linger_expired;	/* last bytes dropped */
};

struct admit	*admit_new(struct event_base *, struct modem *,
		    struct msockset *);
/* Close every endpoint's clients first (admit_ep_free). */
void		 admit_free(struct admit *);
/* The configuration whose [timeouts] apply to new opens. */
void		 admit_set_conf(struct admit *, const struct conf *);
/* Open slots for whoever may have one now. */
void		 admit_serve(struct admit *);
/* Shutting down: open nothing any more. */
void		 admit_stop(struct admit *);
bool		 admit_stopping(const struct admit *);
/* Clients waiting for a slot, over all endpoints. */
int		 admit_waiting(const struct admit *);
/* Clients that left the wait queue, and their time in it summed. */
void		 admit_wait_stats(const struct admit *, unsigned long long *n,
		    unsigned long long *ms);
/* Clients holding a slot, over all endpoints. */
int		 admit_clients(const struct admit *);

/*
 * An endpoint's admission: its quota, counters and clients; for a
 * tcp-listener or udp-service also its listening modem socket.  conf
 * must outlive it; it is read as it is (a reload changes limits).
 */
struct admit_ep	*admit_ep_new(struct admit *, const struct conf_endpoint *);
/* Close its clients and its modem socket. */
void		 admit_ep_free(struct admit_ep *);
/* Leaving the configuration: start none of its waiting clients. */
void		 admit_ep_suspend(struct admit_ep *, bool);
const struct admit_counters *admit_ep_counters(const struct admit_ep *);

/* A client of a tcp or udp endpoint's socket file: queue it. */
void		 admit_client(struct admit_ep *, int fd);
/* A SOCKS5 client's request, handshake done: queue it (bev is taken). */
void		 admit_socks(struct admit_ep *, struct bufferevent *bev,
		    const struct socks_request *);
/* A client was refused before it could ask (SOCKS handshake). */
void		 admit_ep_refused(struct admit_ep *);

#endif
