/*
 * stack.c: modem -> slot table -> endpoints, wired once at start-up.
 * Nothing here is on the per-byte path: the slot table registers with
 * the modem's queue itself (msockset_new), and these functions run on
 * the modem's state changes and on freed slots only.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bg96d/endpoint.h"
#include "bg96d/errors.h"
#include "bg96d/modem.h"
#include "bg96d/msock.h"
#include "bg96d/stack.h"
#include "bg96d/util.h"

static void
st_ready(void *arg)
{
	struct stack	*st = arg;

	if (st->eps == NULL || epset_stopping(st->eps))
		return;		/* the endpoints are gone already */
	epset_serve(st->eps);
	if (st->ops.ready != NULL)
		st->ops.ready(st->arg);
}

static void
st_state(void *arg, enum modem_state s, const char *why)
{
	struct stack	*st = arg;

	if (st->ops.state_changed != NULL)
		st->ops.state_changed(st->arg, s, why);
}

static void
st_down(void *arg, const char *why)
{
	struct stack	*st = arg;

	msockset_down(st->msocks, why);
}

static bool
st_slot_owned(void *arg, int id)
{
	struct stack	*st = arg;

	return msockset_owned(st->msocks, id);
}

static void
st_slot_freed(void *arg)
{
	struct stack	*st = arg;

	if (st->eps != NULL && !epset_stopping(st->eps))
		epset_serve(st->eps);
}

static void
st_context_suspect(void *arg, int err)
{
	struct stack	*st = arg;
	char		 why[96];

	snprintf(why, sizeof(why), "+QIOPEN error %d (%s)", err,
	    err_info(err)->text);
	modem_check_context(st->modem, why);
}

struct stack *
stack_new(struct event_base *base, const struct conf *conf,
    const struct stack_ops *ops, void *arg)
{
	static const struct modem_ops mops = {
		.ready = st_ready,
		.down = st_down,
		.slot_owned = st_slot_owned,
		.state_changed = st_state,
	};
	static const struct msockset_ops sops = {
		.slot_freed = st_slot_freed,
		.context_suspect = st_context_suspect,
	};
	struct stack	*st = xcalloc(1, sizeof(*st));

	if (ops != NULL)
		st->ops = *ops;
	st->arg = arg;
	st->modem = modem_new(base, conf, &mops, st);
	st->msocks = msockset_new(base, modem_atq(st->modem),
	    conf->modem.context_id, &sops, st);
	msockset_set_reenter(st->msocks, conf->modem.transparent_reenter *
	    1000);
	st->eps = epset_new(base, st->modem, st->msocks);
	return st;
}

void
stack_free(struct stack *st)
{
	if (st == NULL)
		return;
	if (st->eps != NULL)
		epset_free(st->eps);
	st->eps = NULL;
	/* The modem first: its queue aborts commands into the slots. */
	modem_free(st->modem);
	msockset_free(st->msocks);
	free(st);
}
