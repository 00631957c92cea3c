/*
 * ctlat.h: the control socket's "at" request (DESIGN.md section 5): one
 * allowlisted command through the modem's queue, its info lines and
 * final result as the reply.
 */
#ifndef BG96D_CTLAT_H
#define BG96D_CTLAT_H

#include <jansson.h>

struct atq;
struct ctl_req;
struct ctlat;

/*
 * Start the "at" request r on q.  Returns the request in flight: once
 * the modem has answered, done(arg, reply) gets the reply (the callee's
 * to free) and the request is gone.  Returns NULL with *reply set when
 * it is answered at once (refused, or no modem).
 */
struct ctlat	*ctlat_start(struct atq *q, const struct ctl_req *r,
		    void (*done)(void *, json_t *), void *arg,
		    json_t **reply);
/* The requester goes away: done is not called. */
void		 ctlat_cancel(struct ctlat *);

#endif
