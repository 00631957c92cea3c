/*
 * stack.h: the modem, its socket slots and the endpoints, wired
 * together once.  The command queue (atq) owns the serial line and
 * routes what comes in: socket URCs, push payloads and the "next data
 * command" pull go straight between the queue and the slot table
 * (msockset_new registers it, atq_set_sockets); the modem layer gets
 * the other URCs and opens the slots' pull in MODEM_READY only.  What
 * passes here: the modem's state (ready: serve the endpoints' waiting
 * clients; down: every slot goes), a freed slot (serve the next waiting
 * client) and a +QIOPEN error that suggests a lost PDP context.
 * bg96d's main() and the scripted-modem tests build the same stack.
 */
#ifndef BG96D_STACK_H
#define BG96D_STACK_H

#include "bg96d/modem.h"

struct event_base;
struct conf;
struct msockset;
struct epset;

struct stack_ops {
	/* The modem became ready (after the endpoints were served). */
	void	(*ready)(void *);
	/* The modem's state changed. */
	void	(*state_changed)(void *, enum modem_state, const char *why);
};

struct stack {
	struct modem		*modem;
	struct msockset		*msocks;
	struct epset		*eps;		/* NULL once stopping */
	struct stack_ops	 ops;
	void			*arg;
};

/* Build the stack for conf (not started: modem_start(st->modem)). */
struct stack	*stack_new(struct event_base *, const struct conf *,
		    const struct stack_ops *, void *arg);
/* Free everything still there (the endpoints may be gone already). */
void		 stack_free(struct stack *);

#endif
