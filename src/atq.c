/*
 * atq.c: the AT command queue on the serial line.
 *
 * One command is in flight at a time (the modem's AT interpreter is
 * serial, ref. section 11.20).  Explicit commands (bring-up, open,
 * close, control) wait in a FIFO; socket traffic (QISEND, QIRD) is pulled
 * from the slot table's pump just in time, so the next data command goes
 * out in the same write that follows the previous final result.
 *
 * The queue is also the router of what the modem writes: final results
 * to the command in flight, socket URCs and push payloads to the slot
 * table (atq_set_sockets), the other URCs to the modem layer; and it
 * owns the line: command mode, lent to one socket (data mode), or
 * escaping back.  Periodic low-priority jobs get the line only when it
 * is free.
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "bg96d/at.h"
#include "bg96d/atq.h"
#include "bg96d/cmdfam.h"
#include "bg96d/evtimer.h"
#include "bg96d/log.h"
#include "bg96d/mline.h"
#include "bg96d/util.h"

/* Phases of the command in flight. */
enum {
	PHASE_QUEUED,
	PHASE_WAIT_PROMPT,	/* QISEND written, waiting for "> " */
	PHASE_WAIT_FINAL,	/* waiting for the final result */
};

/* Consecutive failed probes after a timeout before giving up. */
#define ATQ_PROBE_TRIES	3

/* A periodic low-priority job (atq_job_add). */
struct atq_job {
	struct atq		*q;
	struct atq_job		*next;
	struct event		*ev;
	int			 period_ms;
	struct atq_job_ops	 ops;
	void			*arg;
	long long		 due;		/* its next turn (now_ms) */
	unsigned int		 gen;		/* atq_jobs_owed() pass served */
	bool			 owed;		/* a turn skipped for a
						 * yielding borrower */
	bool			 running;	/* in its callbacks */
	bool			 dead;		/* deleted while running */
};

/*
 * What the modem writes to end data mode (ref. 5.11): "NO CARRIER" (the
 * remote closed), the "OK" to our "+++", and a restart's URCs (ref.
 * 2.1): a modem that rebooted is in command mode, and only these tell.
 */
static const struct atq_result_text {
	const char	*text;
	const char	*why;		/* atq_borrower_ops.returned */
	const char	*urc;		/* then routed as this URC */
	bool		 after_esc;	/* only after "+++" */
} atq_data_results[] = {
	{ "\r\nNO CARRIER\r\n", "NO CARRIER", NULL, false },
	{ "\r\nOK\r\n", "escaped", NULL, true },
	{ "\r\nRDY\r\n", "reset", "RDY", false },
	{ "\r\nPOWERED DOWN\r\n", "reset", "POWERED DOWN", false },
};
#define ATQ_HELD_MAX	(sizeof("\r\nPOWERED DOWN\r\n") - 1)

struct atq {
	struct event_base	*base;
	struct atq_ops		 ops;
	void			*arg;
	struct atq_sockets_ops	 socks;		/* the slot table */
	void			*socks_arg;
	bool			 socks_ready;	/* the pump may be asked */
	enum atq_line		 line;		/* who owns the line */
	int			 line_id;	/* borrower's slot, or -1 */
	struct atq_borrower_ops	 borrower;
	void			*borrower_arg;
	struct event		*esc_timer;	/* guard times, escape answer */
	bool			 esc_sent;	/* "+++" written */
	bool			 rx_held;	/* atq_line_hold(): not reading */
	bool			 drain_owed;	/* borrower waits for drained() */
	/*
	 * An escape got no OK: the modem may still be in data mode, where
	 * any command reaches the remote.  The next attach escapes first,
	 * "blind" (no borrower; no OK just means command mode already).
	 */
	bool			 data_suspect;
	bool			 esc_blind;
	long long		 last_tx;	/* last raw write (guard time) */
	int			 line_Bps;	/* bytes/s of the line, 0: unknown */
	double			 tx_end_ms;	/* when the bytes written so far
						 * are through the line, at
						 * line_Bps */
	struct event		*hold_timer;	/* held bytes are payload */
	/* [modem] dcd: DCD (TIOCM_CD) watched in data mode (AT&C1). */
	bool			 dcd;
	struct event		*dcd_timer;
	uint8_t			 held[ATQ_HELD_MAX];	/* maybe a result */
	size_t			 nheld;
	uint8_t			 rawbuf[16384 + ATQ_HELD_MAX];
	struct atq_job		*jobs;
	unsigned int		 jobs_gen;	/* atq_jobs_owed() passes */
	int			 fd;		/* -1: detached */
	struct event		*rev, *wev;	/* read (persistent), write */
	struct event		*lost_ev;	/* report a write error later */
	char			 lost_why[128];
	struct evbuffer		*out;		/* not yet written */
	uint8_t			 inbuf[16384];
	struct at_parser	 parser;
	struct atq_cmd		*head, *tail;	/* FIFO of explicit commands */
	struct atq_cmd		*cur;		/* in flight */
	bool			 cur_cancelled;
	bool			 last_was_pump;
	int			 probes_failed;
	int			 in_read;	/* re-entrancy guard */
	bool			 detach_pending;
	struct event		*timer;
	struct event		*lfwait;	/* a final result's LF is late */
	struct event		*settle;	/* waiting for a quiet line */
	bool			 settling;
	bool			 resync;	/* a command timed out: answers
						 * may lag behind their commands */
	long long		 settle_until;	/* hard limit */
	int			 tmo_ms[TMO__COUNT];
	struct atq_stats	 stats;
};

static void	atq_read_cb(evutil_socket_t, short, void *);
static void	atq_write_cb(evutil_socket_t, short, void *);
static void	atq_lost_cb(evutil_socket_t, short, void *);
static void	atq_flush(struct atq *);
static void	atq_timer_cb(evutil_socket_t, short, void *);
static void	atq_start_next(struct atq *);
static void	atq_want_line(struct atq *);
static void	atq_jobs_owed(struct atq *);
static void	atq_dcd_cb(evutil_socket_t, short, void *);
static void	atq_settle_cb(evutil_socket_t, short, void *);
static void	atq_settle(struct atq *);
static void	atq_complete(struct atq *, enum atq_result,
		    const struct at_event *);
static void	atq_handle(struct atq *, const struct at_event *);
static void	atq_lfwait_cb(evutil_socket_t, short, void *);
static void	atq_probe_done(void *, enum atq_result, const struct at_event *);
static void	atq_esc_cb(evutil_socket_t, short, void *);
static void	atq_hold_cb(evutil_socket_t, short, void *);
static void	atq_line_return(struct atq *, const char *, bool);
static size_t	atq_data_in(struct atq *, const uint8_t *, size_t);

static const int tmo_default_ms[TMO__COUNT] = {
	[TMO_PROBE] = TMO_DEF_PROBE_MS,
	[TMO_COMMAND] = TMO_DEF_COMMAND * 1000,
	[TMO_CPIN] = TMO_DEF_CPIN * 1000,
	[TMO_CFUN] = TMO_DEF_CFUN * 1000,
	[TMO_QIACT] = TMO_DEF_QIACT * 1000,
	[TMO_QIDEACT] = TMO_DEF_QIDEACT * 1000,
	[TMO_QIOPEN] = TMO_DEF_QIOPEN_OK * 1000,
	[TMO_QIOPEN_CONNECT] = TMO_DEF_QIOPEN_URC * 1000,
	[TMO_QICLOSE] = TMO_DEF_QICLOSE * 1000,
	[TMO_PROMPT] = TMO_DEF_PROMPT * 1000,
	[TMO_SEND] = TMO_DEF_SEND * 1000,
	[TMO_QIRD] = TMO_DEF_QIRD * 1000,
	[TMO_QPING] = TMO_DEF_QPING * 1000,
	[TMO_QNTP] = TMO_DEF_QNTP * 1000,
};

struct atq *
atq_new(struct event_base *base, const struct atq_ops *ops, void *arg)
{
	struct atq	*q = xcalloc(1, sizeof(*q));

	q->base = base;
	q->ops = *ops;
	q->arg = arg;
	q->timer = evtimer_new(base, atq_timer_cb, q);
	q->settle = evtimer_new(base, atq_settle_cb, q);
	q->lfwait = evtimer_new(base, atq_lfwait_cb, q);
	q->lost_ev = evtimer_new(base, atq_lost_cb, q);
	q->esc_timer = evtimer_new(base, atq_esc_cb, q);
	q->hold_timer = evtimer_new(base, atq_hold_cb, q);
	q->dcd_timer = evtimer_new(base, atq_dcd_cb, q);
	q->out = evbuffer_new();
	q->fd = -1;
	q->line = ATQ_LINE_COMMAND;
	q->line_id = -1;
	q->socks_ready = true;
	memcpy(q->tmo_ms, tmo_default_ms, sizeof(q->tmo_ms));
	at_parser_init(&q->parser);
	return q;
}

void
atq_free(struct atq *q)
{
	if (q == NULL)
		return;
	atq_detach(q);
	while (q->jobs != NULL) {
		q->jobs->running = false;
		atq_job_del(q->jobs);
	}
	event_free(q->timer);
	event_free(q->settle);
	event_free(q->lfwait);
	event_free(q->lost_ev);
	event_free(q->esc_timer);
	event_free(q->hold_timer);
	event_free(q->dcd_timer);
	evbuffer_free(q->out);
	free(q);
}

void
atq_set_timeout(struct atq *q, enum tmo_kind k, int ms)
{
	q->tmo_ms[k] = ms;
}

/*
 * A fresh framer for a line whose past is unknown: after a daemon
 * restart, a reset or a line loss the modem may still hold sockets in
 * direct-push mode, whose payloads must never be read as modem lines
 * (a peer could send "\r\nRDY\r\n").  So every slot counts as push
 * until the modem layer learns better (AT+QISTATE at bring-up) or a
 * slot is opened here.  A buffer-mode "recv",id,len URC taken for a
 * push header costs one resynchronisation; the other mistake would let
 * a remote peer write modem lines.
 */
static void
atq_parser_reset(struct atq *q)
{
	int	 id;

	evtimer_del(q->lfwait);
	at_parser_init(&q->parser);
	for (id = 0; id < AT_NSLOTS; id++)
		at_parser_set_push(&q->parser, id, true);
}

void
atq_attach(struct atq *q, int fd)
{
	atq_detach(q);
	q->fd = fd;
	q->rev = event_new(q->base, fd, EV_READ | EV_PERSIST, atq_read_cb, q);
	q->wev = event_new(q->base, fd, EV_WRITE, atq_write_cb, q);
	event_add(q->rev, NULL);
	evbuffer_drain(q->out, evbuffer_get_length(q->out));
	atq_parser_reset(q);
	q->probes_failed = 0;
	q->resync = false;
	/* Answers to a previous user of the line may still be coming. */
	atq_settle(q);
	if (q->data_suspect) {
		q->data_suspect = false;
		log_info("modem: it may still be in data mode: escaping "
		    "before any command");
		q->line = ATQ_LINE_ESCAPING;
		q->line_id = -1;
		q->esc_sent = false;
		q->esc_blind = true;
		q->last_tx = now_ms();
		evtimer_add_ms(q->esc_timer, ESCAPE_GUARD_MS + 1);
	}
}

/*
 * Send nothing until the line has been quiet for SETTLE_QUIET_MS (at
 * most SETTLE_MAX_MS): late answers to a command that timed out, or to
 * a previous run, are absorbed instead of being taken for the answer to
 * the next command.
 */
static void
atq_settle(struct atq *q)
{
	if (!q->settling)
		q->settle_until = now_ms() + SETTLE_MAX_MS;
	q->settling = true;
	evtimer_add_ms(q->settle, SETTLE_QUIET_MS);
}

void
atq_resync(struct atq *q)
{
	if (q->fd != -1)
		atq_settle(q);
}

static void
atq_settle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atq	*q = arg;

	q->settling = false;
	atq_start_next(q);
}

bool
atq_attached(const struct atq *q)
{
	return q->fd != -1;
}

bool
atq_idle(const struct atq *q)
{
	return q->cur == NULL && q->head == NULL;
}

void
atq_abort_all(struct atq *q)
{
	struct atq_cmd	*c;

	if (q->line != ATQ_LINE_COMMAND)
		atq_line_return(q, "reset", false);
	if (q->cur != NULL)
		atq_complete(q, ATQ_RES_ABORTED, NULL);
	while ((c = q->head) != NULL) {
		q->head = c->next;
		if (q->head == NULL)
			q->tail = NULL;
		if (c->on_done != NULL)
			c->on_done(c->arg, ATQ_RES_ABORTED, NULL);
		atq_cmd_free(c);
	}
	evtimer_del(q->timer);
	atq_parser_reset(q);
}

void
atq_detach(struct atq *q)
{
	if (q->in_read) {
		q->detach_pending = true;
		if (q->fd != -1) {
			event_del(q->rev);
			event_del(q->wev);
		}
		return;
	}
	if (q->fd != -1) {
		event_free(q->rev);
		event_free(q->wev);
		q->rev = q->wev = NULL;
		q->fd = -1;
	}
	/* Dropped while lent (a reset, recovery): it may still be lent. */
	if (q->line != ATQ_LINE_COMMAND)
		q->data_suspect = true;
	evtimer_del(q->lost_ev);
	evbuffer_drain(q->out, evbuffer_get_length(q->out));
	q->detach_pending = false;
	q->settling = false;
	evtimer_del(q->settle);
	evtimer_del(q->lfwait);
	atq_abort_all(q);
}

struct atq_cmd *
atq_cmd_new(enum tmo_kind kind, const char *fmt, ...)
{
	struct atq_cmd	*c = xcalloc(1, sizeof(*c));
	va_list		 ap;
	int		 n;

	c->kind = kind;
	va_start(ap, fmt);
	n = vasprintf(&c->text, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	c->textlen = (size_t)n;
	return c;
}

void
atq_cmd_set_data(struct atq_cmd *c, const void *data, size_t len)
{
	free(c->data);
	c->data = xmalloc(len);
	memcpy(c->data, data, len);
	c->datalen = len;
}

void
atq_cmd_free(struct atq_cmd *c)
{
	if (c == NULL)
		return;
	free(c->text);
	free(c->data);
	free(c);
}

void
atq_submit(struct atq *q, struct atq_cmd *c, bool urgent)
{
	c->next = NULL;
	c->phase = PHASE_QUEUED;
	if (urgent) {
		c->next = q->head;
		q->head = c;
		if (q->tail == NULL)
			q->tail = c;
	} else {
		if (q->tail != NULL)
			q->tail->next = c;
		else
			q->head = c;
		q->tail = c;
	}
	atq_want_line(q);
	atq_start_next(q);
}

/* Something waits for command mode: a borrower that yields escapes. */
static void
atq_want_line(struct atq *q)
{
	if (q->line == ATQ_LINE_DATA && q->borrower.wanted != NULL)
		q->borrower.wanted(q->borrower_arg);
}

void
atq_kick(struct atq *q)
{
	atq_start_next(q);
}

void
atq_cancel(struct atq *q, struct atq_cmd *c)
{
	struct atq_cmd	**pp;

	if (c == q->cur) {
		c->on_line = NULL;
		c->on_payload = NULL;
		c->on_done = NULL;
		c->arg = NULL;
		return;
	}
	for (pp = &q->head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp != c)
			continue;
		*pp = c->next;
		if (q->tail == c) {
			struct atq_cmd	*t;

			q->tail = NULL;
			for (t = q->head; t != NULL; t = t->next)
				q->tail = t;
		}
		atq_cmd_free(c);
		return;
	}
}

const struct atq_stats *
atq_stats(const struct atq *q)
{
	return &q->stats;
}

/* Write text + "\r" for c and arm its deadline. */
static void
atq_send(struct atq *q, struct atq_cmd *c)
{
	char		 esc[128];

	q->cur = c;
	if (log_getlevel() >= LOG_TRACE)
		log_trace("AT> %s", log_escape(esc, sizeof(esc), c->text,
		    c->textlen));
	evbuffer_add(q->out, c->text, c->textlen);
	evbuffer_add(q->out, "\r", 1);
	atq_flush(q);
	q->stats.commands++;
	q->stats.bytes_out += c->textlen + 1;
	c->phase = c->data != NULL ? PHASE_WAIT_PROMPT : PHASE_WAIT_FINAL;
	c->pushed = 0;
	c->grace_ms = 0;
	evtimer_add_ms(q->timer,
	    q->tmo_ms[c->phase == PHASE_WAIT_PROMPT ? TMO_PROMPT : c->kind]);
}

/* May the slot table's pump be asked? */
static bool
atq_pumping(const struct atq *q)
{
	return q->socks.pump != NULL && q->socks_ready;
}

/* Pick the next command: FIFO and pump take turns when both have work. */
static void
atq_start_next(struct atq *q)
{
	struct atq_cmd	*c = NULL;

	if (q->cur != NULL || q->fd == -1 || q->detach_pending ||
	    q->settling || q->line != ATQ_LINE_COMMAND)
		return;
	if (q->head != NULL && (q->head->urgent || q->last_was_pump ||
	    !atq_pumping(q))) {
		c = q->head;
		q->last_was_pump = false;
	} else {
		if (atq_pumping(q))
			c = q->socks.pump(q->socks_arg);
		if (c != NULL)
			q->last_was_pump = true;
		else if (q->head != NULL) {
			c = q->head;
			q->last_was_pump = false;
		}
	}
	if (c == NULL)
		return;
	if (c == q->head) {
		q->head = c->next;
		if (q->head == NULL)
			q->tail = NULL;
		c->next = NULL;
	}
	atq_send(q, c);
}

/*
 * "CONNECT" that no borrower takes (its command was cancelled, or it
 * came after the command's deadline): the modem is in data mode, where
 * any command would reach the remote.  Escape first.
 */
static void
atq_escape_orphan(struct atq *q, bool blind)
{
	if (q->fd == -1 || q->detach_pending || q->line != ATQ_LINE_COMMAND)
		return;
	if (blind)
		log_warnx("modem: the modem may be in data mode; escaping");
	else
		log_warnx("modem: CONNECT that nobody takes; leaving data "
		    "mode");
	q->esc_blind = blind;
	q->line = ATQ_LINE_ESCAPING;
	q->line_id = -1;
	q->esc_sent = false;
	q->nheld = 0;
	q->last_tx = now_ms();
	evtimer_add_ms(q->esc_timer, ESCAPE_GUARD_MS + 1);
}

/* The command in flight has ended: report, free, start the next. */
static void
atq_complete(struct atq *q, enum atq_result res, const struct at_event *ev)
{
	struct atq_cmd	*c = q->cur;

	q->cur = NULL;
	evtimer_del(q->timer);
	if (res == ATQ_RES_ERROR)
		q->stats.errors++;
	if (res == ATQ_RES_TIMEOUT)
		q->resync = true;
	else if (q->resync && ev != NULL) {
		/*
		 * The first answer after a timeout may belong to an older
		 * command (a modem that stalled answers its backlog at
		 * once): nothing more goes out until the line is quiet.
		 */
		q->resync = false;
		atq_settle(q);
	}
	if (c->on_done != NULL)
		c->on_done(c->arg, res, ev);
	atq_cmd_free(c);
	if (ev != NULL && ev->final == AT_FINAL_CONNECT)
		atq_escape_orphan(q, false);
	if (res != ATQ_RES_ABORTED)
		atq_start_next(q);
}

static enum atq_result
atq_result_of(enum at_final f)
{
	switch (f) {
	case AT_FINAL_OK:
	case AT_FINAL_SEND_OK:
	case AT_FINAL_CONNECT:
		return ATQ_RES_OK;
	case AT_FINAL_SEND_FAIL:
		return ATQ_RES_SEND_FAIL;
	case AT_FINAL_NONE:
	case AT_FINAL_ERROR:
	case AT_FINAL_CME_ERROR:
	case AT_FINAL_CMS_ERROR:
	case AT_FINAL_NO_CARRIER:
		return ATQ_RES_ERROR;
	}
	return ATQ_RES_ERROR;
}

/*
 * Can this final result end c in its phase?  AT+QISEND=id,n answers
 * "> " or an error, then SEND OK, SEND FAIL or an error (ref. 5.5): a
 * bare OK there is the late answer of an earlier command, as SEND OK is
 * for any other command.  Taking it would shift every later answer by
 * one, and the next command would become the payload the modem waits
 * for.
 */
static bool
atq_final_fits(const struct atq_cmd *c, enum at_final f)
{
	bool	 is_err = f == AT_FINAL_ERROR || f == AT_FINAL_CME_ERROR ||
		    f == AT_FINAL_CMS_ERROR;

	if (c->data == NULL)
		return f != AT_FINAL_SEND_OK && f != AT_FINAL_SEND_FAIL;
	if (c->phase == PHASE_WAIT_PROMPT)
		return is_err;
	return is_err || f == AT_FINAL_SEND_OK || f == AT_FINAL_SEND_FAIL;
}

/*
 * After a timeout the line is resynchronised by a probe whose answer
 * cannot be mistaken: "+CMEE: <n>" then OK.  Finals before that line are
 * late answers to earlier commands (the modem answers in order).
 */
static struct atq_cmd *
atq_sync_probe(struct atq *q)
{
	struct atq_cmd	*c = atq_cmd_new(TMO_PROBE, "AT+CMEE?");

	c->prefix = "+CMEE:";
	c->need_line = true;
	c->on_done = atq_probe_done;
	c->arg = q;
	c->urgent = true;
	return c;
}

/* Probe result after a timeout: the modem answered, or did not. */
static void
atq_probe_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct atq	*q = arg;

	if (res == ATQ_RES_OK) {
		q->probes_failed = 0;	/* atq_complete() settles the line */
		return;
	}
	if (res == ATQ_RES_ABORTED)
		return;
	if (++q->probes_failed < ATQ_PROBE_TRIES) {
		atq_submit(q, atq_sync_probe(q), true);
		return;
	}
	log_warnx("modem: no answer to %d probes", q->probes_failed);
	q->probes_failed = 0;
	if (q->ops.unresponsive != NULL)
		q->ops.unresponsive(q->arg);
}

/*
 * Pushed payloads (direct push mode, ref. 5.2) that came while c waited
 * took the line: the modem's answer queues behind them, so c's deadline
 * moves by their line time (at [modem] baud, or 115200 if unknown), up
 * to PUSH_GRACE_MAX_MS in all.  True if the deadline moved.
 */
static bool
atq_push_grace(struct atq *q, struct atq_cmd *c)
{
	long long	 owed;
	int		 Bps = q->line_Bps > 0 ? q->line_Bps : 115200 / 10;

	owed = (long long)c->pushed * 1000 / Bps;
	if (owed > PUSH_GRACE_MAX_MS)
		owed = PUSH_GRACE_MAX_MS;
	if (owed <= c->grace_ms)
		return false;
	log_debug("modem: %zu pushed bytes took the line meanwhile; %s may "
	    "answer %lld ms later", c->pushed, c->text, owed - c->grace_ms);
	evtimer_add_ms(q->timer, owed - c->grace_ms);
	c->grace_ms = owed;
	return true;
}

static void
atq_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atq	*q = arg;
	struct atq_cmd	*c = q->cur, *p;
	char		 esc[128];
	bool		 probe;

	if (c == NULL)
		return;
	if (atq_push_grace(q, c))
		return;
	if (c->phase == PHASE_WAIT_PROMPT && !c->prompt_late) {
		/*
		 * The modem may still send "> " and then take the next n
		 * bytes as payload, whatever they are (ref. 5.5): a probe
		 * now would reach the remote as data.  Write nothing, keep
		 * the payload for a late prompt, and wait longer.
		 */
		c->prompt_late = true;
		q->stats.late_prompts++;
		log_warnx("modem: no \"> \" for %s within %d ms; waiting up "
		    "to %d s more, writing nothing", log_escape(esc,
		    sizeof(esc), c->text, c->textlen), q->tmo_ms[TMO_PROMPT],
		    PROMPT_LATE_MAX_MS / 1000);
		evtimer_add_ms(q->timer, PROMPT_LATE_MAX_MS);
		return;
	}
	q->stats.timeouts++;
	probe = c->kind == TMO_PROBE;
	log_warnx("modem: %s timed out (%s)",
	    log_escape(esc, sizeof(esc), c->text, c->textlen),
	    c->phase == PHASE_WAIT_PROMPT ? "no prompt" : "no final result");
	/*
	 * Probe the modem before anything else goes out: the probe is
	 * queued first and flagged, so neither the FIFO nor the pump gets
	 * in before it (a timed-out QISEND's payload is not sent either;
	 * the probe resynchronises).
	 */
	if (!probe) {
		p = atq_sync_probe(q);
		p->next = q->head;
		q->head = p;
		if (q->tail == NULL)
			q->tail = p;
	}
	/*
	 * A command that may answer CONNECT (AT+QISWTMD=id,2, a
	 * transparent AT+QIOPEN) and is only late would put the modem in
	 * data mode, where the probe would reach the remote: escape first,
	 * blind (no OK: it was in command mode), then probe.
	 */
	if (c->may_connect)
		atq_escape_orphan(q, true);
	atq_complete(q, ATQ_RES_TIMEOUT, NULL);
}

/*
 * A URC to its owner: socket URCs to the slot table, the rest (RDY,
 * +CxREG, and "pdpdeact", a +QIURC that is about the PDP context, not
 * a socket) to the modem layer.
 */
static void
atq_route_urc(struct atq *q, const char *line)
{
	struct mline	 ml;
	bool		 sock;

	sock = cmdfam_of_urc(line) != NULL &&
	    mline_parse(line, &ml) != MLINE_PDPDEACT;
	if (sock && q->socks.urc != NULL)
		q->socks.urc(q->socks_arg, line);
	else if (!sock && q->ops.urc != NULL)
		q->ops.urc(q->arg, line);
}

/* Route one framer event. */
static void
atq_handle(struct atq *q, const struct at_event *ev)
{
	struct atq_cmd	*c = q->cur;
	char		 esc[256];

	if (log_getlevel() >= LOG_TRACE && ev->type != AT_EV_NONE)
		log_trace("AT< %s%s", ev->type == AT_EV_PROMPT ? "> " :
		    log_escape(esc, sizeof(esc), ev->line, ev->line_len),
		    ev->type == AT_EV_PAYLOAD ? " <payload>" : "");
	switch (ev->type) {
	case AT_EV_NONE:
		return;
	case AT_EV_LINE:
		if (c != NULL && c->prefix != NULL &&
		    strncmp(ev->line, c->prefix, strlen(c->prefix)) == 0) {
			c->line_seen = true;
			if (c->on_line != NULL)
				c->on_line(c->arg, ev->line);
			return;
		}
		if (at_is_urc(ev->line)) {
			atq_route_urc(q, ev->line);
			return;
		}
		if (c != NULL) {
			/*
			 * Echo of the command: echo is on, so the modem
			 * restarted since ATE0 (ref. 11.8), even if its RDY
			 * was lost.  The owner of the line decides.
			 */
			if (ev->line_len == c->textlen &&
			    strncasecmp(ev->line, c->text, c->textlen) == 0) {
				q->stats.echoes++;
				if (q->ops.echo != NULL)
					q->ops.echo(q->arg, c->text);
				return;
			}
			if (c->on_line != NULL) {
				c->on_line(c->arg, ev->line);
				return;
			}
		}
		q->stats.unexpected++;
		log_info("modem: unexpected line \"%s\"",
		    log_escape(esc, sizeof(esc), ev->line, ev->line_len));
		return;
	case AT_EV_FINAL:
		if (c == NULL || c->phase == PHASE_QUEUED) {
			q->stats.unexpected++;
			if (ev->final == AT_FINAL_CONNECT)
				atq_escape_orphan(q, false);
			if (q->settling) {
				log_debug("modem: late final result \"%s\" "
				    "absorbed", log_escape(esc, sizeof(esc),
				    ev->line, ev->line_len));
				return;
			}
			log_info("modem: unexpected final result \"%s\"",
			    log_escape(esc, sizeof(esc), ev->line,
			    ev->line_len));
			return;
		}
		if (!atq_final_fits(c, ev->final) ||
		    (c->need_line && !c->line_seen)) {
			q->stats.unexpected++;
			q->stats.late_answers++;
			log_info("modem: \"%s\" is a late answer, not %s's",
			    log_escape(esc, sizeof(esc), ev->line,
			    ev->line_len), c->text);
			if (ev->final == AT_FINAL_CONNECT)
				atq_escape_orphan(q, false);
			return;
		}
		atq_complete(q, atq_result_of(ev->final), ev);
		return;
	case AT_EV_PROMPT:
		if (c == NULL || c->phase != PHASE_WAIT_PROMPT) {
			q->stats.unexpected++;
			log_info("modem: unexpected \"> \" prompt");
			return;
		}
		if (c->prompt_late)
			log_info("modem: the late \"> \" came; sending the "
			    "payload");
		evbuffer_add(q->out, c->data, c->datalen);
		atq_flush(q);
		q->stats.bytes_out += c->datalen;
		c->phase = PHASE_WAIT_FINAL;
		evtimer_add_ms(q->timer, q->tmo_ms[c->kind]);
		return;
	case AT_EV_PAYLOAD:
		if (cmdfam_of_push(ev->line) != NULL) {
			/* Header, CRLF, payload, CRLF: line time c waits. */
			if (c != NULL && c->phase != PHASE_QUEUED)
				c->pushed += ev->line_len + ev->data_len + 6;
			if (q->socks.urc_payload != NULL)
				q->socks.urc_payload(q->socks_arg, ev);
			return;
		}
		if (c != NULL && c->on_payload != NULL) {
			c->on_payload(c->arg, ev);
			return;
		}
		q->stats.unexpected++;
		log_warnx("modem: %zu payload bytes nobody asked for (%s)",
		    ev->data_len, log_escape(esc, sizeof(esc), ev->line,
		    ev->line_len));
		return;
	case AT_EV_OVERLONG:
		q->stats.overlong++;
		log_warnx("modem: overlong line dropped: \"%s\"",
		    log_escape(esc, 80, ev->line, ev->line_len));
		return;
	case AT_EV_BADLEN:
		q->stats.unexpected++;
		log_warnx("modem: bad payload length in \"%s\"",
		    log_escape(esc, sizeof(esc), ev->line, ev->line_len));
		return;
	}
}

/*
 * Write what is pending, now.  Inside the read callback this waits for
 * the end of the batch, so a final result and the next command cost one
 * read and one write.  A write error is reported from the loop, never
 * from under the caller.
 */
static void
atq_flush(struct atq *q)
{
	int	 n;

	if (q->fd == -1 || q->in_read || evbuffer_get_length(q->out) == 0)
		return;
	n = evbuffer_write(q->out, q->fd);
	if (n > 0 && q->line_Bps > 0) {
		/* A pty drains at once: the UART would take this long. */
		if (q->tx_end_ms < (double)now_ms())
			q->tx_end_ms = (double)now_ms();
		q->tx_end_ms += n * 1000.0 / q->line_Bps;
	}
	if (n == -1 && errno != EAGAIN && errno != EINTR) {
		snprintf(q->lost_why, sizeof(q->lost_why), "write: %s",
		    strerror(errno));
		evtimer_add_ms(q->lost_ev, 0);
		return;
	}
	/*
	 * A borrower that was told to wait hears drained() from the write
	 * callback, even when this write took everything.
	 */
	if (evbuffer_get_length(q->out) > 0 ||
	    (q->drain_owed && q->line == ATQ_LINE_DATA))
		event_add(q->wev, NULL);
}

static void
atq_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atq	*q = arg;

	atq_flush(q);
	/* Data mode: the borrower may write again (atq_line_pending). */
	if (q->line == ATQ_LINE_DATA && q->drain_owed &&
	    evbuffer_get_length(q->out) == 0) {
		q->drain_owed = false;
		if (q->borrower.drained != NULL)
			q->borrower.drained(q->borrower_arg);
	}
}

static void
atq_lost_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atq	*q = arg;

	if (q->fd != -1 && q->ops.lost != NULL)
		q->ops.lost(q->arg, q->lost_why);
}

/* One read per wakeup, fed to the framer; then one write. */
static void
atq_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atq	*q = arg;
	struct at_event	 ev;
	const uint8_t	*p;
	ssize_t		 len;
	size_t		 n;

	len = read(fd, q->inbuf, sizeof(q->inbuf));
	if (len <= 0) {
		if (len == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		/* EOF or EIO: the modem (or its pty) is gone. */
		if (q->ops.lost != NULL)
			q->ops.lost(q->arg, len == 0 ? "end of file" :
			    strerror(errno));
		return;
	}
	if (q->settling && now_ms() < q->settle_until)
		atq_settle(q);		/* not quiet yet */
	q->in_read++;
	p = q->inbuf;
	while (!q->detach_pending && len > 0) {
		if (q->line != ATQ_LINE_COMMAND) {
			/* Lent: raw payload, up to a result that ends it. */
			n = atq_data_in(q, p, (size_t)len);
			q->stats.bytes_in += n;
			p += n;
			len -= (ssize_t)n;
			continue;
		}
		n = at_parse(&q->parser, p, (size_t)len, &ev);
		q->stats.bytes_in += n;
		p += n;
		len -= (ssize_t)n;
		if (ev.type != AT_EV_NONE)
			atq_handle(q, &ev);
	}
	q->in_read--;
	if (q->detach_pending && q->in_read == 0) {
		atq_detach(q);
		return;
	}
	if (at_final_pending(&q->parser))
		evtimer_add_ms(q->lfwait, FINAL_LF_WAIT_MS);
	else
		evtimer_del(q->lfwait);
	atq_flush(q);
}

/* A final result ended by CR and no LF within FINAL_LF_WAIT_MS. */
static void
atq_lfwait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atq	*q = arg;
	struct at_event	 ev;

	if (!at_flush(&q->parser, &ev))
		return;
	q->stats.cr_finals++;
	log_debug("modem: final result \"%s\" ended by CR alone",
	    ev.line);
	q->in_read++;
	atq_handle(q, &ev);
	q->in_read--;
	if (q->detach_pending && q->in_read == 0)
		atq_detach(q);
	else
		atq_flush(q);
}

void
atq_set_push(struct atq *q, int id, bool push)
{
	at_parser_set_push(&q->parser, id, push);
}

void
atq_set_sockets(struct atq *q, const struct atq_sockets_ops *ops, void *arg)
{
	if (ops != NULL)
		q->socks = *ops;
	else
		memset(&q->socks, 0, sizeof(q->socks));
	q->socks_arg = arg;
}

void
atq_sockets_ready(struct atq *q, bool ready)
{
	q->socks_ready = ready;
}

/* ---- Line ownership (transparent mode, ref. 5.11) ---- */

enum atq_line
atq_line_owner(const struct atq *q, int *id)
{
	if (id != NULL)
		*id = q->line_id;
	return q->line;
}

bool
atq_line_free(const struct atq *q)
{
	return q->fd != -1 && q->line == ATQ_LINE_COMMAND && atq_idle(q);
}

bool
atq_line_yields(const struct atq *q)
{
	return q->line != ATQ_LINE_COMMAND && q->borrower.wanted != NULL;
}

bool
atq_lend_line(struct atq *q, int id, const struct atq_borrower_ops *ops,
    void *arg)
{
	if (q->fd == -1 || q->detach_pending || q->line != ATQ_LINE_COMMAND ||
	    q->cur != NULL)
		return false;
	q->line = ATQ_LINE_DATA;
	q->line_id = id;
	q->stats.data_since = now_ms();
	q->borrower = *ops;
	q->borrower_arg = arg;
	q->esc_sent = false;
	q->drain_owed = false;
	q->nheld = 0;
	q->last_tx = now_ms();
	log_debug("modem: line lent to socket %d (data mode)", id);
	if (q->dcd)
		evtimer_add_ms(q->dcd_timer, DCD_POLL_MS);
	return true;
}

void
atq_set_dcd(struct atq *q, bool on)
{
	q->dcd = on;
	if (!on)
		evtimer_del(q->dcd_timer);
}

/*
 * With AT&C1 the modem drops DCD when the data connection ends (ref.
 * 3.12): in data mode that is the remote's close or the network's loss,
 * told by the line itself even if "NO CARRIER" is lost.  A port that
 * cannot report its modem lines (a pty, some adapters) is not watched.
 */
static void
atq_dcd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atq	*q = arg;
	int		 st, n = 0;

	if (!q->dcd || q->fd == -1 || q->line != ATQ_LINE_DATA)
		return;
	if (ioctl(q->fd, TIOCMGET, &st) == -1) {
		log_info("modem: [modem] dcd = yes, but the port cannot "
		    "report DCD (%s); not watched", strerror(errno));
		q->dcd = false;
		return;
	}
	/*
	 * What the modem wrote before the drop (payload, then "NO
	 * CARRIER") is read first: DCD only stands in for a lost result.
	 */
	if ((st & TIOCM_CD) || q->nheld > 0 ||
	    (ioctl(q->fd, FIONREAD, &n) == 0 && n > 0)) {
		evtimer_add_ms(q->dcd_timer, DCD_POLL_MS);
		return;
	}
	atq_carrier_lost(q);
}

void
atq_carrier_lost(struct atq *q)
{
	if (q->line != ATQ_LINE_DATA)
		return;
	log_warnx("modem: DCD dropped in data mode: the connection ended");
	/* Its "NO CARRIER" may still come: not an answer to what follows. */
	atq_settle(q);
	atq_line_return(q, "NO CARRIER", true);
}

void
atq_line_write(struct atq *q, const void *data, size_t len)
{
	if (q->line != ATQ_LINE_DATA || len == 0)
		return;
	evbuffer_add(q->out, data, len);
	q->stats.bytes_out += len;
	q->last_tx = now_ms();
	atq_flush(q);
	if (evbuffer_get_length(q->out) > 0)
		q->drain_owed = true;
}

/*
 * Backpressure downstream: a borrower whose client does not read stops
 * the reading of the line; the tty's buffer fills, then RTS/CTS (or
 * the modem's buffer and the remote's TCP window) take the pressure.
 */
void
atq_line_hold(struct atq *q, bool hold)
{
	/* Escaping: the OK to "+++" must be read, whatever the client. */
	if (q->fd == -1 || q->detach_pending || q->rx_held == hold ||
	    (hold && q->line != ATQ_LINE_DATA))
		return;
	q->rx_held = hold;
	if (hold)
		event_del(q->rev);
	else
		event_add(q->rev, NULL);
}

size_t
atq_line_pending(const struct atq *q)
{
	return evbuffer_get_length(q->out);
}

/*
 * Escape: ESCAPE_GUARD_MS with nothing written, "+++", then
 * ESCAPE_GUARD_MS of silence before the modem answers OK (ref. 5.11).
 * Commands submitted meanwhile wait for command mode.
 */
void
atq_reclaim_line(struct atq *q)
{
	if (q->line != ATQ_LINE_DATA)
		return;
	q->line = ATQ_LINE_ESCAPING;
	q->esc_sent = false;
	if (q->rx_held) {	/* the OK must be read */
		q->rx_held = false;
		event_add(q->rev, NULL);
	}
	log_debug("modem: taking the line back from socket %d", q->line_id);
	evtimer_add_ms(q->esc_timer, q->last_tx + ESCAPE_GUARD_MS - now_ms());
}

/*
 * Bytes written that may not be through the line yet: what the port
 * says it holds (TIOCOUTQ), and, since a port may not know (a pty says
 * 0, a USB adapter has its own buffer), what the line rate says.
 */
static bool
atq_tty_queued(const struct atq *q)
{
	int	 n = 0;

	if (q->line_Bps > 0 && q->tx_end_ms > (double)now_ms())
		return true;
	return q->fd != -1 && ioctl(q->fd, TIOCOUTQ, &n) == 0 && n > 0;
}

void
atq_set_line_rate(struct atq *q, int baud)
{
	q->line_Bps = baud / 10;	/* 8N1: ten bit times a byte */
}

static void
atq_esc_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atq	*q = arg;

	if (q->line != ATQ_LINE_ESCAPING)
		return;
	if (!q->esc_sent) {
		if (evbuffer_get_length(q->out) > 0 || atq_tty_queued(q)) {
			/*
			 * The borrower's last bytes are still going out: the
			 * guard time counts from when they reach the line.
			 */
			q->last_tx = now_ms();
			evtimer_add_ms(q->esc_timer, ESCAPE_DRAIN_POLL_MS);
			return;
		}
		/* The last byte left the line at the later of the two. */
		if (q->line_Bps > 0 && q->tx_end_ms > (double)q->last_tx)
			q->last_tx = (long long)q->tx_end_ms + 1;
		if (now_ms() - q->last_tx <= ESCAPE_GUARD_MS) {
			/*
			 * The loop's cached time can fire a timer a little
			 * early, and now_ms() counts whole milliseconds:
			 * the guard time is a minimum, so wait it out.
			 */
			evtimer_add_ms(q->esc_timer, q->last_tx +
			    ESCAPE_GUARD_MS + 1 - now_ms());
			return;
		}
		log_trace("AT> +++");
		evbuffer_add(q->out, "+++", 3);
		q->stats.bytes_out += 3;
		q->esc_sent = true;
		q->last_tx = now_ms();
		atq_flush(q);
		/* OK comes after the second guard time, as any answer. */
		evtimer_add_ms(q->esc_timer, ESCAPE_GUARD_MS +
		    q->tmo_ms[TMO_COMMAND]);
		return;
	}
	if (q->esc_blind) {
		/* In command mode already, or silent: the probe tells. */
		log_info("modem: no OK to \"+++\": not in data mode");
		atq_line_return(q, "reset", true);
		return;
	}
	q->stats.timeouts++;
	log_warnx("modem: no OK to \"+++\" within %d ms",
	    ESCAPE_GUARD_MS + q->tmo_ms[TMO_COMMAND]);
	q->data_suspect = true;
	atq_line_return(q, "reset", false);
	if (q->ops.unresponsive != NULL)
		q->ops.unresponsive(q->arg);
}

/*
 * The line is back in command mode: tell the borrower, then (resume)
 * the commands that waited go out.
 */
static void
atq_line_return(struct atq *q, const char *why, bool resume)
{
	struct atq_borrower_ops	 ops = q->borrower;
	void			*arg = q->borrower_arg;

	log_debug("modem: line back in command mode (%s)", why);
	if (q->stats.data_since > 0)
		q->stats.data_ms += (unsigned long long)(now_ms() -
		    q->stats.data_since);
	q->stats.data_since = 0;
	q->line = ATQ_LINE_COMMAND;
	q->line_id = -1;
	q->esc_sent = false;
	q->esc_blind = false;
	q->drain_owed = false;
	q->nheld = 0;
	memset(&q->borrower, 0, sizeof(q->borrower));
	q->borrower_arg = NULL;
	evtimer_del(q->esc_timer);
	evtimer_del(q->hold_timer);
	evtimer_del(q->dcd_timer);
	if (q->rx_held) {
		q->rx_held = false;
		if (q->fd != -1 && !q->detach_pending)
			event_add(q->rev, NULL);
	}
	if (ops.returned != NULL)
		ops.returned(arg, why);
	if (ops.wanted != NULL && resume)
		atq_jobs_owed(q);
	if (resume)
		atq_start_next(q);
}

/* Is held[0..n) the start of a result that ends data mode? */
static const struct atq_result_text *
atq_held_result(const struct atq *q, size_t n)
{
	const struct atq_result_text	*r;
	size_t				 i;

	for (i = 0; i < sizeof(atq_data_results) /
	    sizeof(atq_data_results[0]); i++) {
		r = &atq_data_results[i];
		if ((!r->after_esc || q->esc_sent) && n <= strlen(r->text) &&
		    memcmp(q->held, r->text, n) == 0)
			return r;
	}
	return NULL;
}

/*
 * Data mode: bytes from the modem are the socket's, except the results
 * of atq_data_results[].  Bytes that may start one of these are held
 * (for FINAL_LF_WAIT_MS at most: the modem writes a result in one go).
 * Returns how many bytes were taken; after a result the rest is
 * command mode's.
 */
static size_t
atq_data_in(struct atq *q, const uint8_t *p, size_t len)
{
	const struct atq_result_text	*res = NULL;
	size_t				 i, nout = 0;

	for (i = 0; i < len && res == NULL; i++) {
		q->held[q->nheld++] = p[i];
		while (q->nheld > 0 &&
		    (res = atq_held_result(q, q->nheld)) == NULL) {
			/* Not a result: the oldest held byte is payload. */
			q->rawbuf[nout++] = q->held[0];
			memmove(q->held, q->held + 1, --q->nheld);
		}
		if (res != NULL && q->nheld < strlen(res->text))
			res = NULL;	/* a result's start: hold on */
	}
	if (nout > 0 && q->borrower.data != NULL)
		q->borrower.data(q->borrower_arg, q->rawbuf, nout);
	if (res != NULL) {
		log_trace("AT< %s", res->urc != NULL ? res->urc :
		    res == &atq_data_results[0] ? "NO CARRIER" : "OK");
		atq_line_return(q, res->why, res->urc == NULL);
		if (res->urc != NULL)
			atq_route_urc(q, res->urc);
		return i;
	}
	if (q->nheld > 0)
		evtimer_add_ms(q->hold_timer, FINAL_LF_WAIT_MS);
	else
		evtimer_del(q->hold_timer);
	return i;
}

/* Held bytes that no result followed: they were payload. */
static void
atq_hold_cb(evutil_socket_t fd, short what, void *arg)
{
	struct atq	*q = arg;
	size_t		 n = q->nheld;

	if (q->line == ATQ_LINE_COMMAND || n == 0)
		return;
	memcpy(q->rawbuf, q->held, n);
	q->nheld = 0;
	if (q->borrower.data != NULL)
		q->borrower.data(q->borrower_arg, q->rawbuf, n);
}

/* ---- Periodic low-priority jobs ---- */

static void
atq_job_arm(struct atq_job *j, int ms)
{
	if (ms < 0)
		ms = 0;
	j->due = now_ms() + ms;
	evtimer_add_ms(j->ev, ms);
}

/*
 * One turn of job j: tick, then its command if the line is free (or,
 * queue_ok, queued behind the other jobs' commands after an escape).
 */
static void
atq_job_turn(struct atq_job *j, bool queue_ok)
{
	struct atq	*q = j->q;
	struct atq_cmd	*c;

	j->running = true;
	j->owed = false;
	atq_job_arm(j, j->period_ms);
	if (j->ops.tick != NULL)
		j->ops.tick(j->arg);
	if (!j->dead && j->ops.make != NULL && (queue_ok ||
	    atq_line_free(q)) && (c = j->ops.make(j->arg)) != NULL)
		atq_submit(q, c, false);
	else if (!j->dead && j->ops.make != NULL && atq_line_yields(q)) {
		/*
		 * The line is lent to a borrower that gives it back on
		 * demand (auto mode): a job that needs it asks for it;
		 * every owed job gets its turn once the line is back.
		 */
		j->owed = true;
		if (j->ops.escape)
			atq_want_line(q);
	}
	j->running = false;
	if (j->dead)
		atq_job_del(j);
}

static void
atq_job_cb(evutil_socket_t fd, short what, void *arg)
{
	atq_job_turn(arg, false);
}

/*
 * The line came back from a yielding borrower: the jobs that waited,
 * and those due within JOB_BATCH_MS, take their turn now, so that one
 * escape serves them all.
 */
static void
atq_jobs_owed(struct atq *q)
{
	struct atq_job	*j;
	long long	 now = now_ms();
	unsigned int	 gen = ++q->jobs_gen;

	/*
	 * A turn may delete jobs (a state change stops the radio poll) or
	 * lose the line: look again from the head after each one.
	 */
	for (;;) {
		if (q->fd == -1 || q->detach_pending ||
		    q->line != ATQ_LINE_COMMAND)
			return;
		for (j = q->jobs; j != NULL; j = j->next)
			if (!j->dead && j->gen != gen && j->ops.make != NULL &&
			    (j->owed || j->due - now <= JOB_BATCH_MS))
				break;
		if (j == NULL)
			return;
		j->gen = gen;
		atq_job_turn(j, true);
	}
}

long long
atq_job_due_ms(const struct atq *q)
{
	const struct atq_job	*j;
	long long		 now = now_ms(), min = -1, left;

	for (j = q->jobs; j != NULL; j = j->next) {
		if (j->dead || j->ops.make == NULL || !j->ops.escape)
			continue;
		left = j->owed || j->due < now ? 0 : j->due - now;
		if (min == -1 || left < min)
			min = left;
	}
	return min;
}

struct atq_job *
atq_job_add(struct atq *q, int period_ms, const struct atq_job_ops *ops,
    void *arg)
{
	struct atq_job	*j = xcalloc(1, sizeof(*j));

	j->q = q;
	j->period_ms = period_ms;
	j->ops = *ops;
	j->arg = arg;
	j->ev = evtimer_new(q->base, atq_job_cb, j);
	j->next = q->jobs;
	q->jobs = j;
	atq_job_arm(j, period_ms);
	return j;
}

void
atq_job_next(struct atq_job *j, int ms)
{
	if (!j->dead)
		atq_job_arm(j, ms);
}

void
atq_job_del(struct atq_job *j)
{
	struct atq_job	**pp;

	if (j == NULL)
		return;
	evtimer_del(j->ev);
	if (j->running) {
		j->dead = true;		/* atq_job_cb() frees it */
		return;
	}
	for (pp = &j->q->jobs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	}
	event_free(j->ev);
	free(j);
}
