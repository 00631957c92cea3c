/*
 * endpoint.h: the socket files of [endpoint NAME] sections.  Their
 * clients are admitted to modem slots by admit.c.
 */
#ifndef BG96D_ENDPOINT_H
#define BG96D_ENDPOINT_H

#include <stdbool.h>

#include "bg96d/conf.h"

struct event_base;
struct modem;
struct msockset;
/* The endpoints: opaque (endpoint.c). */
struct epset;

struct epset	*epset_new(struct event_base *, struct modem *,
		    struct msockset *);
/*
 * Bind the socket files of conf's endpoints (new ones), close those no
 * longer configured; unchanged endpoints keep their clients.  Returns
 * 0, or -1 with err set when a socket file cannot be made (at start:
 * fatal), or ERR_INSTANCE (errors.h) if another instance answers on one
 * of them.
 */
int		 epset_apply(struct epset *, const struct conf *, char *err,
		    size_t errlen);
/* Start waiting clients while slots are free and the modem is ready. */
void		 epset_serve(struct epset *);
/* Shutting down: accept and start nothing any more. */
void		 epset_stop(struct epset *);
bool		 epset_stopping(const struct epset *);
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
/* Clients that left the wait queue, and their time in it (ms) summed. */
void		 epset_wait_stats(const struct epset *, unsigned long long *n,
		    unsigned long long *ms);

#endif
