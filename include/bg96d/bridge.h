/*
 * bridge.h: one local client paired with one modem socket, bytes both
 * ways with backpressure (DESIGN.md section 4).
 */
#ifndef BG96D_BRIDGE_H
#define BG96D_BRIDGE_H

struct endpoint;
struct epset;
struct bridge;

/* Take an accepted client fd; it waits in the set's queue for a slot. */
struct bridge	*bridge_new(struct endpoint *, int fd);
/* Dequeue the first waiting client that may start now and start it;
 * returns 0 when none could. */
int		 bridge_serve_one(struct epset *);
/* Close the client now (shutdown, endpoint removed). */
void		 bridge_abort(struct bridge *, const char *why);

#endif
