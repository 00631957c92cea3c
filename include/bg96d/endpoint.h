/*
 * endpoint.h: the socket files of [endpoint NAME] sections, and the
 * queue of clients waiting for a modem slot.
 */
#ifndef BG96D_ENDPOINT_H
#define BG96D_ENDPOINT_H

#include <sys/queue.h>
#include <stdbool.h>

#include "bg96d/conf.h"

struct event_base;
struct event;
struct modem;
struct msockset;
struct bridge;
struct svc;

TAILQ_HEAD(bridgeq, bridge);
struct socks_hs;
TAILQ_HEAD(socks_hsq, socks_hs);

struct endpoint {
	TAILQ_ENTRY(endpoint)	 entry;
	struct epset		*set;
	struct conf_endpoint	 conf;
	char			 path[108];	/* socket file */
	int			 fd;		/* listening socket, -1 if none */
	struct svc		*svc;		/* tcp-listener, udp-service */
	struct event		*ev;
	struct event		*pause;		/* accept paused (EMFILE) */
	bool			 removed;	/* gone from the config (SIGHUP) */
	bool			 is_socks;	/* socks.sock: SOCKS5 handshake */
	int			 active;	/* clients holding a slot */
	struct bridgeq		 bridges;	/* every client of this endpoint */
	struct socks_hsq	 handshakes;	/* socks.sock: SOCKS5 under way */
	int			 nhandshakes;
	unsigned long long	 accepted, refused, failed;
	unsigned long long	 linger_expired;	/* last bytes dropped */
};

struct epset {
	struct event_base	*base;
	struct modem		*modem;
	struct msockset		*msocks;
	const struct conf	*conf;
	TAILQ_HEAD(, endpoint)	 endpoints;
	struct bridgeq		 waitq;		/* clients waiting for a slot */
	int			 nwaiting;
	bool			 stopping;
};

/* Clients that may wait for a slot at once, over all endpoints. */
#define EPSET_WAIT_MAX	64

struct epset	*epset_new(struct event_base *, struct modem *,
		    struct msockset *);
/*
 * Bind the socket files of conf's endpoints (new ones), close those no
 * longer configured; unchanged endpoints keep their clients.  Returns
 * 0, or -1 with err set when a socket file cannot be made (at start:
 * fatal), or 1 if another instance answers on one of them.
 */
int		 epset_apply(struct epset *, const struct conf *, char *err,
		    size_t errlen);
/* Start waiting clients while slots are free and the modem is ready. */
void		 epset_serve(struct epset *);
/* Close every client and listener, remove the socket files. */
void		 epset_free(struct epset *);
/* Number of bridged clients (all endpoints). */
int		 epset_clients(const struct epset *);

/* What the control socket shows of one endpoint. */
struct endpoint_info {
	const char		*name;
	enum conf_ep_type	 type;
	const char		*socket;	/* socket file, "" if none */
	int			 active;	/* clients holding a slot */
	unsigned long long	 accepted, refused, failed;
	unsigned long long	 linger_expired;
};
/* Fill out[CONF_MAX_ENDPOINTS + 1] (configured endpoints, config
 * order); returns their number.  The strings live until the next
 * epset_apply(). */
int		 epset_info(const struct epset *, struct endpoint_info *out);
/* Clients waiting for a slot, over all endpoints. */
int		 epset_waiting(const struct epset *);

#endif
