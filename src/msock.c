/*
 * msock.c: the modem's socket slots, their commands and their URCs.
 *
 * A slot has at most one command outstanding (QIOPEN, QISEND, QIRD,
 * QICLOSE or a counter query), so a slot's state never races its own
 * answers.  Data commands are built just in time by msockset_pump(),
 * round-robin over the slots: one command per slot per turn.  Every
 * command is spelled by the slot's command family (cmdfam.h): TCP/IP
 * (AT+QI*) for every slot so far.
 *
 * Buffer mode reading follows the re-arm rule of ref. section 5.7: the
 * recv URC comes once, so a slot keeps reading until AT+QIRD answers 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "bg96d/at.h"
#include "bg96d/atq.h"
#include "bg96d/cmdfam.h"
#include "bg96d/conf.h"
#include "bg96d/errors.h"
#include "bg96d/evtimer.h"
#include "bg96d/log.h"
#include "bg96d/mline.h"
#include "bg96d/msock.h"
#include "bg96d/timeouts.h"
#include "bg96d/util.h"

enum slot_state {
	SLOT_FREE,
	SLOT_OPENING,		/* AT+QIOPEN sent, waiting for +QIOPEN */
	SLOT_OPEN,
	SLOT_DRAINING,		/* owner gone: wait for unacked == 0 */
	SLOT_CLOSING,		/* AT+QICLOSE queued or in flight */
};

/* As the control socket shows them. */
static const char *slot_state_names[] = {
	[SLOT_FREE] = "free",
	[SLOT_OPENING] = "opening",
	[SLOT_OPEN] = "open",
	[SLOT_DRAINING] = "closing",
	[SLOT_CLOSING] = "closing",
};

/* As the log shows them. */
static const char *slot_state_log[] = {
	[SLOT_FREE] = "free",
	[SLOT_OPENING] = "opening",
	[SLOT_OPEN] = "open",
	[SLOT_DRAINING] = "draining",
	[SLOT_CLOSING] = "closing",
};


struct msock {
	struct msockset		*set;
	int			 id;
	enum slot_state		 state;		/* only slot_set_state() */
	enum msock_type		 type;
	const struct cmdfam	*fam;		/* its commands (not FREE) */
	bool			 push;
	bool			 transparent;	/* access mode 2 */
	/*
	 * access_mode = auto: buffer mode, switched to data mode while it
	 * is the only socket (slot_auto_ready); yielding: something else
	 * wants the line, the escape is under way and the socket stays
	 * open in buffer mode.
	 */
	bool			 auto_mode;
	bool			 yielding;
	/*
	 * Data mode (transparent, ref. 5.11): the line is lent to this
	 * slot.  Client bytes go raw through atq_line_write(); chunk holds
	 * '+' bytes that may not go yet, last_w is the time of the last
	 * write and plus_risk the '+' counts (slot_plus_ok).
	 */
	bool			 lent;
	bool			 reclaiming;	/* owner gone: escape, close */
	long long		 last_w;
	unsigned int		 plus_risk;
	const struct msock_ops	*ops;
	void			*owner;
	struct atq_cmd		*busy;		/* the one outstanding command */
	struct event		*timer;
	long long		 deadline;	/* QIOPEN wait / drain limit */
	/*
	 * Reading (ref. 5.7, 11.6): a recv URC sets rx_pending and bumps
	 * rx_gen.  A read that brings nothing clears rx_pending only if
	 * no URC (recv or closed) came after it was sent: a URC between
	 * "+QIRD: 0" and its OK announces new data, and the modem will
	 * not repeat it.
	 */
	bool			 rx_pending;
	unsigned int		 rx_gen;
	unsigned int		 rd_gen;	/* rx_gen when the read went out */
	bool			 rd_data;	/* the read in flight brought bytes */
	long long		 rx_checked;	/* last read or recv URC */
	bool			 remote_closed;	/* "closed" URC or send error */
	bool			 peer_told;
	bool			 prefer_read;
	bool			 retried_stale;	/* QERR_ID_IN_USE once */
	int			 backoff_ms;	/* SEND FAIL retry */
	bool			 backing_off;
	uint8_t			 chunk[MSOCK_SEND_MAX];
	size_t			 chunk_len;
	struct msock_peer	 chunk_dest;	/* UDP SERVICE datagrams */
	char			 label[33];
	char			 host[CONF_HOST_MAX + 1];
	int			 port, local_port;
	unsigned long long	 bytes_up, bytes_down;
	long long		 since;
};

struct msockset {
	struct atq		*atq;
	int			 ctx;
	struct msock		 slots[AT_NSLOTS];
	int			 rr;		/* round-robin cursor */
	bool			 tearing_down;	/* msockset_down() running */
	struct msockset_ops	 ops;
	void			*arg;
	struct msockset_counters counters;
	struct event		*rx_poll;	/* lost recv URC guard */
	int			 rx_poll_ms;
	/* access_mode = auto */
	struct event		*auto_timer;	/* look again (atq_kick) */
	int			 reenter_ms;	/* [modem] transparent_reenter */
	long long		 auto_not_before; /* no data mode before */
	struct msock_bytes	 retired[MSOCK_LABELS_MAX]; /* freed slots */
};

static void	slot_timer_cb(evutil_socket_t, short, void *);
static void	slot_qiclose(struct msock *);
static void	slot_drain_poll(struct msock *);
static void	slot_continue(struct msock *);
static void	slot_line_pump(struct msock *);
static void	slot_line_data(void *, const uint8_t *, size_t);
static void	slot_line_returned(void *, const char *);
static void	slot_line_drained(void *);
static void	slot_line_wanted(void *);

/* What the queue tells a slot that holds the line (transparent mode). */
static const struct atq_borrower_ops slot_borrower_ops = {
	.data = slot_line_data,
	.returned = slot_line_returned,
	.drained = slot_line_drained,
};
/* The same for access_mode = auto: it gives the line back on demand. */
static const struct atq_borrower_ops slot_auto_borrower_ops = {
	.data = slot_line_data,
	.returned = slot_line_returned,
	.drained = slot_line_drained,
	.wanted = slot_line_wanted,
};
static void	msockset_rx_poll_cb(evutil_socket_t, short, void *);
static void	msockset_auto_cb(evutil_socket_t, short, void *);
static void	msockset_urc(void *, const char *);
static void	msockset_urc_payload(void *, const struct at_event *);
static struct atq_cmd *msockset_pump(void *);

/* The queue hands the slots their URCs and asks them for commands. */
static const struct atq_sockets_ops msockset_atq_ops = {
	.urc = msockset_urc,
	.urc_payload = msockset_urc_payload,
	.pump = msockset_pump,
};

const char *
msock_type_name(enum msock_type t)
{
	switch (t) {
	case MSOCK_TCP:		return "TCP";
	case MSOCK_UDP:		return "UDP";
	case MSOCK_TCP_LISTENER: return "TCP LISTENER";
	case MSOCK_UDP_SERVICE:	return "UDP SERVICE";
	case MSOCK_TCP_INCOMING: return "TCP INCOMING";
	}
	return "?";
}

struct msockset *
msockset_new(struct event_base *base, struct atq *q, int context_id,
    const struct msockset_ops *ops, void *arg)
{
	struct msockset	*set = xcalloc(1, sizeof(*set));
	int		 i;

	set->atq = q;
	set->ctx = context_id;
	if (ops != NULL)
		set->ops = *ops;
	set->arg = arg;
	for (i = 0; i < AT_NSLOTS; i++) {
		set->slots[i].set = set;
		set->slots[i].id = i;
		set->slots[i].timer = evtimer_new(base, slot_timer_cb,
		    &set->slots[i]);
	}
	set->rx_poll = event_new(base, -1, EV_PERSIST, msockset_rx_poll_cb,
	    set);
	msockset_set_rx_poll(set, RX_POLL_MS);
	set->auto_timer = evtimer_new(base, msockset_auto_cb, set);
	set->reenter_ms = TRANSPARENT_REENTER_DEF * 1000;
	atq_set_sockets(q, &msockset_atq_ops, set);
	return set;
}

void
msockset_set_rx_poll(struct msockset *set, int ms)
{
	set->rx_poll_ms = ms;
	evtimer_add_ms(set->rx_poll, ms / 2);	/* persistent: every ms / 2 */
}

void
msockset_set_reenter(struct msockset *set, int ms)
{
	set->reenter_ms = ms;
}

void
msockset_set_context(struct msockset *set, int context_id)
{
	set->ctx = context_id;
}

void
msockset_free(struct msockset *set)
{
	int	 i;

	if (set == NULL)
		return;
	for (i = 0; i < AT_NSLOTS; i++)
		event_free(set->slots[i].timer);
	event_free(set->rx_poll);
	event_free(set->auto_timer);
	free(set);
}

static struct atq *
slot_atq(struct msock *s)
{
	return s->set->atq;
}

static void
slot_arm(struct msock *s, long long ms)
{
	evtimer_add_ms(s->timer, ms);
}

/* The only writer of s->state; logs "old -> new (why)". */
static void
slot_set_state(struct msock *s, enum slot_state new, const char *why)
{
	if (s->state != new)
		log_debug("slot %d: %s -> %s (%s)", s->id,
		    slot_state_log[s->state], slot_state_log[new], why);
	s->state = new;
	if (new == SLOT_FREE && s->set->reenter_ms >= 0) {
		/* Another socket went: a survivor in auto mode waits. */
		s->set->auto_not_before = now_ms() + s->set->reenter_ms;
		evtimer_add_ms(s->set->auto_timer, s->set->reenter_ms);
	}
}

/* A slot is freed: add its bytes to its label's (metrics). */
static void
slot_retire_bytes(struct msock *s)
{
	struct msock_bytes	*b;
	int			 i;

	for (i = 0; i < MSOCK_LABELS_MAX && s->label[0] != '\0'; i++) {
		b = &s->set->retired[i];
		if (b->label[0] == '\0')
			strlcpy(b->label, s->label, sizeof(b->label));
		if (strcmp(b->label, s->label) == 0) {
			b->up += s->bytes_up;
			b->down += s->bytes_down;
			return;
		}
	}
}

/* Back to free; tell whoever waits for a slot. */
static void
slot_release(struct msock *s, const char *why)
{
	struct msockset	*set = s->set;

	evtimer_del(s->timer);
	/* Free slots are in buffer mode until opened otherwise. */
	atq_set_push(slot_atq(s), s->id, false);
	slot_retire_bytes(s);
	slot_set_state(s, SLOT_FREE, why);
	s->ops = NULL;
	s->owner = NULL;
	s->busy = NULL;
	s->chunk_len = 0;
	s->label[0] = '\0';
	s->rx_pending = s->remote_closed = s->peer_told = false;
	s->lent = s->reclaiming = false;
	s->backing_off = false;
	s->backoff_ms = 0;
	if (set->ops.slot_freed != NULL && !set->tearing_down)
		set->ops.slot_freed(set->arg);
}

/* Tell the owner the socket is dead and forget it. */
static void
slot_gone(struct msock *s, const char *why)
{
	const struct msock_ops	*ops = s->ops;
	void			*owner = s->owner;

	s->ops = NULL;
	s->owner = NULL;
	if (ops != NULL && ops->gone != NULL)
		ops->gone(owner, why);
}

/* Tell the owner how its open ended and, on failure, forget it. */
static void
slot_tell_opened(struct msock *s, int err)
{
	const struct msock_ops	*ops = s->ops;
	void			*owner = s->owner;

	if (ops == NULL || ops->opened == NULL)
		return;
	if (err != 0) {
		s->ops = NULL;
		s->owner = NULL;
	}
	ops->opened(owner, err);
}

/*
 * The slot's command was aborted: the modem restarted or the line went
 * away, and its sockets with it.  Whatever the slot was doing is over.
 */
static void
slot_aborted(struct msock *s)
{
	s->busy = NULL;
	if (s->state == SLOT_FREE)
		return;
	if (s->state == SLOT_OPENING)
		slot_tell_opened(s, ERR_MODEM);
	else
		slot_gone(s, "modem went away");
	slot_release(s, "command aborted");
}

static void
slot_qiclose_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct msock	*s = arg;

	s->busy = NULL;
	if (res == ATQ_RES_ABORTED) {
		slot_aborted(s);
		return;
	}
	if (res != ATQ_RES_OK)
		log_warnx("slot %d: %s failed; freeing it anyway", s->id,
		    s->fam->close);
	slot_release(s, "closed");
}

/* Free the slot with AT+QICLOSE, now or when its command ends. */
static void
slot_qiclose(struct msock *s)
{
	struct atq_cmd	*c;
	char		 cmd[CMDFAM_CMD_MAX];

	evtimer_del(s->timer);
	if (s->state != SLOT_CLOSING)
		slot_set_state(s, SLOT_CLOSING, "closing");
	if (s->busy != NULL)
		return;		/* slot_continue() sends it */
	cmdfam_close(s->fam, cmd, sizeof(cmd), s->id, QICLOSE_ARG_S);
	c = atq_cmd_new(TMO_QICLOSE, "%s", cmd);
	c->on_done = slot_qiclose_done;
	c->arg = s;
	s->busy = c;
	atq_submit(slot_atq(s), c, false);
}

/*
 * A slot's command ended, or a URC changed what it waits for: do what
 * its state asks next.  Every completion handler ends here, so a state
 * change made while a command was in flight is never lost.
 */
static void
slot_continue(struct msock *s)
{
	if (s->busy != NULL)
		return;
	switch (s->state) {
	case SLOT_FREE:
	case SLOT_OPENING:
		return;
	case SLOT_CLOSING:
		slot_qiclose(s);
		return;
	case SLOT_DRAINING:
		if (s->remote_closed || now_ms() >= s->deadline) {
			if (!s->remote_closed)
				log_warnx("slot %d: closing with bytes "
				    "unacked", s->id);
			slot_qiclose(s);
		} else
			slot_arm(s, DRAIN_POLL_MS);
		return;
	case SLOT_OPEN:
		atq_kick(slot_atq(s));
		return;
	}
}

/* ---- Data mode (transparent access mode, ref. 5.11) ---- */

/*
 * How many of buf's n bytes may go to the line now; the rest (only '+'
 * bytes, at most 3) waits in s->chunk.  The modem escapes on 1 s of
 * silence, "+++", 1 s of silence (ref. 5.11); a client's '+' bytes must
 * never make that pattern, whether the modem wants the three '+' close
 * together or not.  Silence is measured between our writes: bytes still
 * queued only shorten the silence the modem sees.
 * - A silence of PLUS_QUIET_MS may be a guard time: the '+' bytes after
 *   it are counted.  plus_risk has bit j set if j '+' bytes (j < 3)
 *   have been written since such a silence, with no other byte.
 * - A silence of PLUS_SPACE_MS (more than the guard time) ends every
 *   count: a modem that saw it dropped the '+' bytes before.
 * - A write with any other byte in it goes whole: a '+' run it ends is
 *   not followed by silence, and one it starts is not preceded by one
 *   (a write is contiguous on the line).
 * - Otherwise as many '+' go as make no count exactly 3; the rest wait
 *   for the client's next bytes or for PLUS_SPACE_MS after this write.
 */
static size_t
slot_plus_ok(struct msock *s, const uint8_t *buf, size_t n)
{
	long long	 gap = now_ms() - s->last_w;
	size_t		 i, k;

	if (gap >= PLUS_SPACE_MS)
		s->plus_risk = 1;
	else if (gap >= PLUS_QUIET_MS)
		s->plus_risk |= 1;
	for (i = 0; i < n && buf[i] == '+'; i++)
		;
	if (i < n) {
		s->plus_risk = 0;
		return n;
	}
	k = n;
	while (k > 0 && k <= 3 && (s->plus_risk & (1U << (3 - k))))
		k--;
	s->plus_risk = k > 3 ? 0 : (s->plus_risk << k) & 7;
	return k;
}

/*
 * Move the owner's bytes to the line while it has room (LINE_OUT_MAX
 * waiting at most: the client is not read meanwhile), and stop reading
 * the line while the owner cannot take more.  An owner that left gets
 * its last bytes written, then the escape (slot_line_returned closes).
 */
static void
slot_line_pump(struct msock *s)
{
	struct atq	*q = slot_atq(s);
	uint8_t		 buf[MSOCK_SEND_MAX + 3];
	size_t		 n, k;

	while (s->lent && !s->yielding && atq_line_pending(q) < LINE_OUT_MAX) {
		n = s->chunk_len;
		memcpy(buf, s->chunk, n);
		s->chunk_len = 0;
		if (s->ops != NULL && s->ops->next_chunk != NULL)
			n += s->ops->next_chunk(s->owner, buf + n,
			    MSOCK_SEND_MAX, &s->chunk_dest);
		if (n == 0)
			break;
		k = slot_plus_ok(s, buf, n);
		if (k > 0) {
			atq_line_write(q, buf, k);
			s->bytes_up += k;
			s->last_w = now_ms();
		}
		if (k < n) {
			memcpy(s->chunk, buf + k, n - k);
			s->chunk_len = n - k;
			slot_arm(s, s->last_w + PLUS_SPACE_MS - now_ms());
		}
		if (k > 0 && s->ops != NULL && s->ops->sent != NULL)
			s->ops->sent(s->owner);
		if (k < n)
			break;
	}
	if (!s->lent)
		return;
	/*
	 * Yielding (auto mode): what is queued goes, then the escape; a
	 * held '+' waits in the chunk for AT+QISEND.
	 */
	if (s->yielding ||
	    (s->reclaiming && s->ops == NULL && s->chunk_len == 0)) {
		atq_line_hold(q, false);
		atq_reclaim_line(q);	/* after the guard time */
		return;
	}
	atq_line_hold(q, s->ops != NULL && s->ops->can_receive != NULL &&
	    !s->ops->can_receive(s->owner));
}

static void
slot_line_data(void *arg, const uint8_t *data, size_t len)
{
	struct msock	*s = arg;

	s->bytes_down += len;
	if (s->ops != NULL && s->ops->received != NULL)
		s->ops->received(s->owner, data, len, NULL, 0);
	if (s->lent && s->ops != NULL && s->ops->can_receive != NULL &&
	    !s->ops->can_receive(s->owner))
		atq_line_hold(slot_atq(s), true);
}

static void
slot_line_drained(void *arg)
{
	slot_line_pump(arg);
}

/* Auto mode: a command or a job waits for the line: give it back. */
static void
slot_line_wanted(void *arg)
{
	struct msock	*s = arg;

	if (!s->lent || s->yielding || s->reclaiming)
		return;
	log_debug("slot %d: the line is wanted; leaving data mode", s->id);
	s->yielding = true;
	slot_line_pump(s);
}

/*
 * The line is back in command mode.  "NO CARRIER": every byte before it
 * was delivered; the owner hears peer_closed and closes (AT+QICLOSE).
 * "escaped": the owner left (msock_close); the socket is in buffer mode
 * now and closes as any other.  "reset": the modem restarted or did not
 * answer the escape; it may still be in data mode, so nothing is sent:
 * the modem layer takes every socket down (msockset_down frees this
 * one).
 */
static void
slot_line_returned(void *arg, const char *why)
{
	struct msock	*s = arg;
	bool		 yielded = s->yielding && !s->reclaiming;

	s->lent = s->reclaiming = s->yielding = false;
	evtimer_del(s->timer);
	if (s->state == SLOT_FREE)
		return;		/* msockset_down() came first */
	log_debug("slot %d: data mode ended (%s)", s->id, why);
	if (yielded && strcmp(why, "escaped") == 0 && s->ops != NULL) {
		/*
		 * Auto mode: the socket is open in buffer mode (ref. 5.11).
		 * What came during the escape is read with AT+QIRD (its
		 * URC may have been held), the held '+' goes by AT+QISEND,
		 * and data mode comes back after transparent_reenter.
		 */
		s->set->counters.auto_escapes++;
		s->set->auto_not_before = now_ms() + s->set->reenter_ms;
		evtimer_add_ms(s->set->auto_timer, s->set->reenter_ms);
		s->rx_pending = true;
		s->rx_gen++;
		s->rx_checked = now_ms();
		slot_continue(s);
		return;
	}
	s->chunk_len = 0;
	if (strcmp(why, "reset") == 0) {
		s->remote_closed = true;
		slot_gone(s, "modem reset in data mode");
		return;
	}
	if (strcmp(why, "NO CARRIER") == 0) {
		s->remote_closed = true;
		if (s->ops != NULL && s->ops->peer_closed != NULL) {
			s->peer_told = true;
			s->ops->peer_closed(s->owner);	/* msock_close() */
			return;
		}
	}
	if (s->ops != NULL)
		slot_gone(s, why);
	msock_close(s);
}

/*
 * CONNECT to AT+QIOPEN=...,2: the modem is in data mode and the line is
 * this slot's.  An owner that left meanwhile (its connect deadline
 * passed) gets nothing: the slot escapes and closes at once.
 */
static void
slot_connected(struct msock *s)
{
	if (!atq_lend_line(slot_atq(s), s->id, s->auto_mode ?
	    &slot_auto_borrower_ops : &slot_borrower_ops, s)) {
		/* Not from on_done; never write into data mode. */
		log_warnx("slot %d: CONNECT, but the line cannot be lent",
		    s->id);
		return;
	}
	s->lent = true;
	s->reclaiming = s->yielding = false;
	s->last_w = 0;		/* the silence before is unknown */
	s->plus_risk = 0;
	if (s->state == SLOT_OPENING) {
		s->chunk_len = 0;
		s->remote_closed = s->peer_told = false;
	}
	/*
	 * From buffer mode (auto): a chunk taken from the client (a SEND
	 * FAIL's, a held '+') goes first, raw, from slot_line_pump().
	 */
	evtimer_del(s->timer);
	if (s->state == SLOT_OPENING && s->ops != NULL) {
		slot_set_state(s, SLOT_OPEN, "CONNECT");
		s->since = now_ms();
		slot_tell_opened(s, 0);
	} else if (s->state != SLOT_OPEN || s->ops == NULL) {
		slot_set_state(s, SLOT_OPEN, "CONNECT, owner gone");
		s->ops = NULL;
		s->owner = NULL;
		s->reclaiming = true;
	}
	/*
	 * Auto: commands queued while AT+QISWTMD was out (a new client's
	 * AT+QIOPEN, a control "at") asked nobody for the line, and a
	 * remote close that came meanwhile needs buffer mode to be read.
	 */
	if (s->auto_mode && s->ops != NULL &&
	    (s->remote_closed || !atq_idle(slot_atq(s))))
		slot_line_wanted(s);
	slot_line_pump(s);
}

static void
slot_qiopen_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct msock	*s = arg;

	s->busy = NULL;
	if (res == ATQ_RES_ABORTED) {
		slot_aborted(s);
		return;
	}
	if (s->transparent && res == ATQ_RES_OK) {
		slot_connected(s);
		return;
	}
	/*
	 * Accepted (the outcome comes as +QIOPEN: id,err), or the outcome
	 * came already: a +QIOPEN URC may precede a late OK, and once the
	 * owner was told, a timeout of that OK changes nothing.
	 */
	if (res == ATQ_RES_OK || s->state != SLOT_OPENING) {
		slot_continue(s);
		return;
	}
	/*
	 * With access mode 2 a bare ERROR is the connect's failure (ref.
	 * 5.2: no +QIOPEN URC follows).
	 */
	slot_tell_opened(s, res == ATQ_RES_TIMEOUT ? ERR_MODEM :
	    (ev != NULL && ev->code > 0 ? ev->code : s->transparent ?
	    QERR_CONNECT : QERR_INVALID_PARAM));
	/* A refused QIOPEN leaves nothing to close; be safe anyway. */
	slot_qiclose(s);
}

static void
slot_send_qiopen(struct msock *s)
{
	static const char *svc[] = {
		[MSOCK_TCP] = "TCP", [MSOCK_UDP] = "UDP",
		[MSOCK_TCP_LISTENER] = "TCP LISTENER",
		[MSOCK_UDP_SERVICE] = "UDP SERVICE",
		[MSOCK_TCP_INCOMING] = "TCP",
	};
	struct cmdfam_open	 o = {
		.context_id = s->set->ctx, .id = s->id,
		.service = svc[s->type], .host = s->host, .port = s->port,
		.local_port = s->local_port,
		.access_mode = s->transparent ? 2 : s->push ? 1 : 0,
	};
	struct atq_cmd		*c;
	char			 cmd[CMDFAM_CMD_MAX];

	cmdfam_open(s->fam, cmd, sizeof(cmd), &o);
	/* Access mode 2 answers CONNECT once connected (ref. 5.2). */
	c = atq_cmd_new(s->transparent ? TMO_QIOPEN_CONNECT : TMO_QIOPEN, "%s",
	    cmd);
	c->may_connect = s->transparent;
	c->on_done = slot_qiopen_done;
	c->arg = s;
	s->busy = c;
	atq_set_push(slot_atq(s), s->id, s->push);
	atq_submit(slot_atq(s), c, false);
}

struct msock *
msock_open(struct msockset *set, enum msock_type type, const char *host,
    int port, int local_port, int access_mode, int timeout_ms,
    const struct msock_ops *ops, void *owner)
{
	struct msock	*s = NULL;
	int		 i;

	/*
	 * Take the highest free slot: the modem gives accepted connections
	 * the lowest free one, so the two rarely race for the same id.
	 */
	for (i = AT_NSLOTS - 1; i >= 0; i--)
		if (set->slots[i].state == SLOT_FREE) {
			s = &set->slots[i];
			break;
		}
	if (s == NULL)
		return NULL;
	s->label[0] = '\0';
	s->type = type;
	s->fam = &cmdfam_qi;
	s->push = access_mode == 1;
	s->transparent = access_mode == 2;
	s->auto_mode = access_mode == 3 && type == MSOCK_TCP &&
	    s->set->reenter_ms >= 0;
	s->yielding = false;
	s->ops = ops;
	s->owner = owner;
	s->retried_stale = false;
	s->prefer_read = false;
	s->rx_pending = s->remote_closed = s->peer_told = false;
	s->bytes_up = s->bytes_down = 0;
	s->since = now_ms();
	s->deadline = now_ms() + timeout_ms;
	strlcpy(s->host, host, sizeof(s->host));
	s->port = port;
	s->local_port = local_port;
	slot_set_state(s, SLOT_OPENING, msock_type_name(type));
	log_debug("slot %d: opening %s %s:%d", s->id, msock_type_name(type),
	    host, port);
	slot_send_qiopen(s);
	slot_arm(s, timeout_ms);
	return s;
}

/* Does closing this slot wait for its sent bytes to be acked? */
static bool
slot_needs_drain(const struct msock *s)
{
	return !s->remote_closed && s->bytes_up > 0 &&
	    (s->type == MSOCK_TCP || s->type == MSOCK_TCP_INCOMING);
}

void
msock_close(struct msock *s)
{
	s->ops = NULL;
	s->owner = NULL;
	switch (s->state) {
	case SLOT_FREE:
	case SLOT_CLOSING:
	case SLOT_DRAINING:
		return;
	case SLOT_OPENING:
		/*
		 * Wait for the +QIOPEN answer (or its deadline) before
		 * closing, so a late URC cannot hit a reused slot.
		 */
		return;
	case SLOT_OPEN:
		if (s->lent) {
			/* Its last bytes go out, then the escape. */
			s->reclaiming = true;
			slot_line_pump(s);
			return;
		}
		if (!slot_needs_drain(s)) {
			slot_qiclose(s);
			return;
		}
		/* Sent bytes must be acked before QICLOSE (ref. 11.16). */
		slot_set_state(s, SLOT_DRAINING, "owner closed");
		s->deadline = now_ms() + (long long)DRAIN_MAX_MS;
		if (s->busy == NULL)
			slot_drain_poll(s);
		return;
	}
}

void
msock_set_owner(struct msock *s, const struct msock_ops *ops, void *owner)
{
	s->ops = ops;
	s->owner = owner;
	atq_kick(slot_atq(s));
}

void
msock_set_label(struct msock *s, const char *label)
{
	strlcpy(s->label, label, sizeof(s->label));
}

const struct msockset_counters *
msockset_counters(const struct msockset *set)
{
	return &set->counters;
}

void
msock_kick(struct msock *s)
{
	if (s->lent) {
		slot_line_pump(s);
		return;
	}
	atq_kick(slot_atq(s));
}

bool
msock_sending(const struct msock *s)
{
	/* The chunk stays until SEND OK (or a send error drops it). */
	return s->chunk_len > 0;
}

int
msock_id(const struct msock *s)
{
	return s->id;
}

/* +QISEND: total,acked,unacked */
static void
slot_drain_line(void *arg, const char *line)
{
	struct msock	*s = arg;
	struct mline	 ml;

	if (mline_parse(line, &ml) == MLINE_QISEND &&
	    ml.u.qisend.unacked == 0)
		s->deadline = 0;	/* flushed */
}

static void
slot_drain_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct msock	*s = arg;

	s->busy = NULL;
	if (res == ATQ_RES_ABORTED) {
		slot_aborted(s);
		return;
	}
	if (res != ATQ_RES_OK && s->state == SLOT_DRAINING)
		slot_qiclose(s);	/* the modem knows no such socket */
	slot_continue(s);
}

static void
slot_drain_poll(struct msock *s)
{
	struct atq_cmd	*c;
	char		 cmd[CMDFAM_CMD_MAX];

	cmdfam_send_query(s->fam, cmd, sizeof(cmd), s->id);
	c = atq_cmd_new(TMO_COMMAND, "%s", cmd);
	c->prefix = s->fam->send_hdr;
	c->on_line = slot_drain_line;
	c->on_done = slot_drain_done;
	c->arg = s;
	s->busy = c;
	atq_submit(slot_atq(s), c, false);
}

static void
slot_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct msock	*s = arg;

	switch (s->state) {
	case SLOT_FREE:
	case SLOT_CLOSING:
		break;
	case SLOT_OPENING:
		/* No +QIOPEN in time: free the slot with QICLOSE (AN). */
		log_warnx("slot %d: no +QIOPEN answer in time", s->id);
		slot_tell_opened(s, ERR_OPEN_TIMEOUT);
		slot_qiclose(s);
		break;
	case SLOT_OPEN:
		if (s->lent) {		/* a held '+' may go now */
			slot_line_pump(s);
			break;
		}
		s->backing_off = false;
		atq_kick(slot_atq(s));
		break;
	case SLOT_DRAINING:
		if (s->busy == NULL)
			slot_drain_poll(s);
		break;
	}
}

/*
 * The remote end is gone for sending (a "closed" URC, or AT+QISEND
 * refused): what the owner still sends cannot be delivered, but what
 * the modem holds is read first (DESIGN.md section 4), then the owner
 * hears peer_closed.
 */
static void
slot_remote_closed(struct msock *s, const char *why)
{
	if (!s->remote_closed)
		log_debug("slot %d: %s", s->id, why);
	s->remote_closed = true;
	s->chunk_len = 0;
	s->backing_off = false;
	if (s->push) {
		/* Push mode: every byte has already arrived. */
		if (s->state == SLOT_OPEN && !s->peer_told) {
			s->peer_told = true;
			if (s->ops != NULL && s->ops->peer_closed != NULL)
				s->ops->peer_closed(s->owner);
		}
		return;
	}
	s->rx_pending = true;	/* read what is left, then tell */
	s->rx_gen++;
}

static void
slot_send_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct msock	*s = arg;

	s->busy = NULL;
	switch (res) {
	case ATQ_RES_OK:
		s->bytes_up += s->chunk_len;
		s->chunk_len = 0;
		s->backoff_ms = 0;
		if (s->ops != NULL && s->ops->sent != NULL)
			s->ops->sent(s->owner);
		break;
	case ATQ_RES_SEND_FAIL:
		/* The modem's send buffer is full: retry the same chunk. */
		s->set->counters.send_fail++;
		s->backoff_ms = s->backoff_ms == 0 ? SEND_FAIL_RETRY_MIN_MS :
		    s->backoff_ms * 2;
		if (s->backoff_ms > SEND_FAIL_RETRY_MAX_MS)
			s->backoff_ms = SEND_FAIL_RETRY_MAX_MS;
		s->backing_off = true;
		if (s->state == SLOT_OPEN) {
			slot_arm(s, s->backoff_ms);
			return;
		}
		break;
	case ATQ_RES_ERROR:
	case ATQ_RES_TIMEOUT:
		s->chunk_len = 0;
		if (s->state != SLOT_OPEN)
			break;
		if (s->type == MSOCK_UDP_SERVICE ||
		    s->type == MSOCK_TCP_LISTENER) {
			log_warnx("slot %d: %s failed", s->id, s->fam->send);
			slot_gone(s, "send failed");
			slot_qiclose(s);
			break;
		}
		/*
		 * ERROR usually means the connection is closing and its
		 * "closed" URC is still to come: read what the remote sent
		 * before it went, then close (ref. section 8).
		 */
		if (!s->remote_closed) {
			s->set->counters.send_errors++;
			log_warnx("slot %d: %s failed; reading what is "
			    "left, then closing", s->id, s->fam->send);
		}
		slot_remote_closed(s, "send failed");
		break;
	case ATQ_RES_ABORTED:
		slot_aborted(s);
		return;
	}
	slot_continue(s);
}

/* Bytes from AT+QIRD or a push URC; hdr is the header's parse. */
static void
slot_deliver(struct msock *s, const struct mline_data_hdr *h,
    const uint8_t *data, size_t len)
{
	s->bytes_down += len;
	if (s->ops != NULL && s->ops->received != NULL)
		s->ops->received(s->owner, data, len,
		    h->has_peer ? h->peer.ip : NULL, h->has_peer ?
		    h->peer.port : 0);
}

static void
slot_read_payload(void *arg, const struct at_event *ev)
{
	struct msock		*s = arg;
	struct mline_data_hdr	 h;
	char			 esc[128];

	s->rd_data = true;
	if (mline_parse_payload_header(ev->line, &h) != MLINE_DATA_HDR ||
	    h.push || (size_t)h.len != ev->data_len ||
	    (s->type == MSOCK_UDP_SERVICE) != h.has_peer) {
		log_warnx("slot %d: malformed read header \"%s\"; %zu bytes "
		    "dropped", s->id, log_escape(esc, sizeof(esc), ev->line,
		    ev->line_len), ev->data_len);
		return;
	}
	slot_deliver(s, &h, ev->data, ev->data_len);
}

static void
slot_read_line(void *arg, const char *line)
{
	struct msock	*s = arg;
	struct mline	 ml;
	char		 esc[128];

	/*
	 * "+QIRD: 0" (and the UDP SERVICE forms of an empty read) need no
	 * action: a read that brings no payload is an empty read.
	 */
	mline_parse(line, &ml);
	if (mline_qird_empty(&ml))
		return;
	log_info("modem: unexpected line \"%s\" (%s)",
	    log_escape(esc, sizeof(esc), line, strlen(line)), s->fam->read);
}

static void
slot_read_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct msock	*s = arg;

	s->busy = NULL;
	s->rx_checked = now_ms();
	switch (res) {
	case ATQ_RES_OK:
		/*
		 * An empty read drains the slot unless a URC came after the
		 * read was sent: then new data (or the remote's close) may
		 * wait in the modem and its URC will not be repeated.
		 */
		if (s->rd_data || s->rd_gen != s->rx_gen)
			break;
		s->rx_pending = false;
		if (s->remote_closed && !s->peer_told &&
		    s->state == SLOT_OPEN) {
			s->peer_told = true;
			if (s->ops != NULL && s->ops->peer_closed != NULL)
				s->ops->peer_closed(s->owner);
			else if (s->ops != NULL) {
				slot_gone(s, "closed by the remote end");
				slot_qiclose(s);
			}
		}
		break;
	case ATQ_RES_ERROR:
	case ATQ_RES_TIMEOUT:
	case ATQ_RES_SEND_FAIL:
		log_warnx("slot %d: %s failed", s->id, s->fam->read);
		if (s->state == SLOT_OPEN) {
			slot_gone(s, "read failed");
			slot_qiclose(s);
		}
		break;
	case ATQ_RES_ABORTED:
		slot_aborted(s);
		return;
	}
	slot_continue(s);
}

/*
 * Auto mode: may this socket go into data mode now?  Only while it is
 * the only socket, open, no command of its own in flight, the line
 * free (nothing queued), its re-entry delay over and no job due soon
 * (it would take the line back at once).  Data the modem holds comes
 * first on the line after CONNECT (ref. 5.8, 5.11), and a chunk taken
 * from the client goes first from slot_line_pump(), so neither waits
 * for buffer mode.  A socket that waits only for the clock looks again
 * when the auto timer fires.
 */
static bool
slot_auto_ready(struct msock *s)
{
	struct msockset	*set = s->set;
	long long	 wait, due;
	int		 i;

	if (!s->auto_mode || s->state != SLOT_OPEN || s->lent ||
	    s->busy != NULL || s->ops == NULL || s->remote_closed ||
	    s->backing_off || s->fam->switch_mode == NULL ||
	    !atq_line_free(set->atq))
		return false;
	for (i = 0; i < AT_NSLOTS; i++)
		if (&set->slots[i] != s && set->slots[i].state != SLOT_FREE)
			return false;
	wait = set->auto_not_before - now_ms();
	due = atq_job_due_ms(set->atq);
	if (due >= 0 && due < AUTO_JOB_MARGIN_MS && due + 500 > wait)
		wait = due + 500;	/* after the job's turn */
	if (wait > 0) {
		evtimer_add_ms(set->auto_timer, wait);
		return false;
	}
	return true;
}

/* AT+QISWTMD=<id>,2: CONNECT, and the line is this socket's. */
static void
slot_swtmd_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct msock	*s = arg;

	s->busy = NULL;
	if (res == ATQ_RES_ABORTED) {
		slot_aborted(s);
		return;
	}
	if (res == ATQ_RES_OK && ev != NULL && ev->final == AT_FINAL_CONNECT) {
		s->set->counters.auto_entries++;
		s->rx_pending = false;	/* the modem sends what it held */
		slot_connected(s);
		return;
	}
	/* ERROR (or OK, no data mode): this socket stays in buffer mode. */
	log_warnx("slot %d: %s=%d,2 refused; the connection stays in buffer "
	    "mode", s->id, s->fam->switch_mode, s->id);
	s->auto_mode = false;
	slot_continue(s);
}

static void
msockset_auto_cb(evutil_socket_t fd, short what, void *arg)
{
	struct msockset	*set = arg;

	atq_kick(set->atq);
}

/* The next command this slot wants, or NULL. */
static struct atq_cmd *
slot_next_cmd(struct msock *s)
{
	struct atq_cmd	*c;
	char		 cmd[CMDFAM_CMD_MAX];
	bool		 can_read, can_send;

	if (s->state != SLOT_OPEN || s->busy != NULL || s->ops == NULL ||
	    s->lent || s->type == MSOCK_TCP_LISTENER)
		return NULL;
	if (slot_auto_ready(s)) {
		cmdfam_switch(s->fam, cmd, sizeof(cmd), s->id, 2);
		c = atq_cmd_new(TMO_COMMAND, "%s", cmd);
		c->may_connect = true;
		c->on_done = slot_swtmd_done;
		c->arg = s;
		s->busy = c;
		return c;
	}
	can_read = !s->push && s->rx_pending &&
	    (s->ops->can_receive == NULL || s->ops->can_receive(s->owner));
	can_send = !s->remote_closed && !s->backing_off;
	if (can_send && s->chunk_len == 0 && (!s->prefer_read || !can_read) &&
	    s->ops->next_chunk != NULL)
		s->chunk_len = s->ops->next_chunk(s->owner, s->chunk,
		    sizeof(s->chunk), &s->chunk_dest);
	can_send = can_send && s->chunk_len > 0;

	if (can_read && (s->prefer_read || !can_send)) {
		s->prefer_read = false;
		s->rd_gen = s->rx_gen;
		s->rd_data = false;
		cmdfam_read(s->fam, cmd, sizeof(cmd), s->id);
		c = atq_cmd_new(TMO_QIRD, "%s", cmd);
		c->prefix = s->fam->read_hdr;
		c->on_line = slot_read_line;
		c->on_payload = slot_read_payload;
		c->on_done = slot_read_done;
	} else if (can_send) {
		s->prefer_read = true;
		cmdfam_send(s->fam, cmd, sizeof(cmd), s->id, s->chunk_len,
		    s->type == MSOCK_UDP_SERVICE ? s->chunk_dest.ip : NULL,
		    s->chunk_dest.port);
		c = atq_cmd_new(TMO_SEND, "%s", cmd);
		atq_cmd_set_data(c, s->chunk, s->chunk_len);
		c->on_done = slot_send_done;
	} else
		return NULL;
	c->arg = s;
	s->busy = c;
	return c;
}

static struct atq_cmd *
msockset_pump(void *arg)
{
	struct msockset	*set = arg;
	struct atq_cmd	*c;
	int		 i, id;

	for (i = 0; i < AT_NSLOTS; i++) {
		id = (set->rr + i) % AT_NSLOTS;
		if ((c = slot_next_cmd(&set->slots[id])) != NULL) {
			set->rr = (id + 1) % AT_NSLOTS;
			return c;
		}
	}
	return NULL;
}

/*
 * Every rx_poll_ms / 2: a buffer-mode slot not read for rx_poll_ms gets
 * one read, in case its recv URC was lost.
 */
static void
msockset_rx_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct msockset	*set = arg;
	struct msock	*s;
	long long	 now = now_ms();
	int		 i;

	for (i = 0; i < AT_NSLOTS; i++) {
		s = &set->slots[i];
		if (s->state != SLOT_OPEN || s->push || s->rx_pending ||
		    s->lent || s->type == MSOCK_TCP_LISTENER ||
		    now - s->rx_checked < set->rx_poll_ms)
			continue;
		s->rx_pending = true;
		s->rx_gen++;
		s->rx_checked = now;
		set->counters.rx_polls++;
		slot_continue(s);
	}
}

/* +QIURC: "incoming",<new>,<server>,"<ip>",<port> */
static void
msockset_incoming(struct msockset *set, const struct mline *ml)
{
	struct msock		*s = &set->slots[ml->u.incoming.id];
	struct msock		*srv = &set->slots[ml->u.incoming.server_id];
	struct msock_peer	 from;

	strlcpy(from.ip, ml->u.incoming.peer.ip, sizeof(from.ip));
	from.port = ml->u.incoming.peer.port;
	if (s->state != SLOT_FREE) {
		/* Our table and the modem disagree: never share an id. */
		log_warnx("slot %d: modem reports an incoming connection on "
		    "a slot in use here; refusing it", ml->u.incoming.id);
		return;
	}
	s->type = MSOCK_TCP_INCOMING;
	s->fam = srv->fam;
	s->push = false;
	s->ops = NULL;
	s->owner = NULL;
	s->bytes_up = s->bytes_down = 0;
	s->since = s->rx_checked = now_ms();
	s->prefer_read = false;
	s->rx_pending = s->remote_closed = s->peer_told = false;
	snprintf(s->host, sizeof(s->host), "%s", from.ip);
	s->port = from.port;
	s->local_port = srv->local_port;
	/* ref. 5.2: accepted sockets are in buffer mode (listeners are). */
	atq_set_push(slot_atq(s), s->id, false);
	slot_set_state(s, SLOT_OPEN, "incoming connection");
	log_debug("slot %d: incoming from %s:%d on listener slot %d",
	    ml->u.incoming.id, from.ip, from.port, ml->u.incoming.server_id);
	if (srv->state != SLOT_OPEN || srv->type != MSOCK_TCP_LISTENER ||
	    srv->ops == NULL || srv->ops->incoming == NULL) {
		log_warnx("slot %d: incoming connection for no listener",
		    ml->u.incoming.id);
		slot_qiclose(s);
		return;
	}
	srv->ops->incoming(srv->owner, s, &from);
	if (s->ops == NULL && s->state == SLOT_OPEN)
		slot_qiclose(s);	/* the owner did not take it */
}

/* +QIOPEN: <id>,<err> */
static void
msockset_qiopen(struct msockset *set, int id, int err)
{
	struct msock	*s = &set->slots[id];

	if (s->state != SLOT_OPENING && s->state != SLOT_CLOSING) {
		log_warnx("slot %d: +QIOPEN for a slot not opening", id);
		return;
	}
	if (s->state == SLOT_CLOSING) {
		slot_continue(s);
		return;
	}
	if (s->transparent && err == 0) {
		/* Access mode 2: CONNECT to the command says it (ref. 5.2). */
		log_debug("slot %d: +QIOPEN: %d,0 before CONNECT", id, id);
		return;
	}
	evtimer_del(s->timer);
	if (err_info(err)->retry == RETRY_CLOSE_SLOT && !s->retried_stale &&
	    s->ops != NULL && !s->transparent) {
		/* Stale slot (ref. 11.11): close, then retry once. */
		struct atq_cmd	*c;
		char		 cmd[CMDFAM_CMD_MAX];

		log_debug("slot %d: +QIOPEN error %d (%s: %s); closing the "
		    "stale slot and opening again", id, err,
		    err_info(err)->name, err_info(err)->text);
		s->retried_stale = true;
		cmdfam_close(s->fam, cmd, sizeof(cmd), id, QICLOSE_ARG_S);
		c = atq_cmd_new(TMO_QICLOSE, "%s", cmd);
		atq_submit(slot_atq(s), c, false);
		slot_send_qiopen(s);
		slot_arm(s, s->deadline - now_ms());
		return;
	}
	if (err == 0) {
		if (s->ops == NULL) {	/* owner left meanwhile */
			slot_qiclose(s);
			return;
		}
		slot_set_state(s, SLOT_OPEN, "+QIOPEN: 0");
		s->since = s->rx_checked = now_ms();
		slot_tell_opened(s, 0);
		slot_continue(s);
		return;
	}
	if (err_context_lost(err) && set->ops.context_suspect != NULL)
		set->ops.context_suspect(set->arg, err);
	slot_tell_opened(s, err);
	slot_qiclose(s);
}

static void
msockset_urc(void *arg, const char *line)
{
	struct msockset	*set = arg;
	struct msock	*s;
	struct mline	 ml;
	char		 esc[128];

	switch (mline_parse(line, &ml)) {
	case MLINE_QIOPEN:
		msockset_qiopen(set, ml.u.qiopen.id, ml.u.qiopen.err);
		return;
	case MLINE_RECV:
		s = &set->slots[ml.u.recv.id];
		if (s->state == SLOT_FREE)
			return;
		s->rx_pending = true;
		s->rx_gen++;
		s->rx_checked = now_ms();
		slot_continue(s);
		return;
	case MLINE_CLOSED:
		s = &set->slots[ml.u.closed.id];
		if (s->state == SLOT_FREE)
			return;
		slot_remote_closed(s, "closed by the remote end");
		slot_continue(s);
		return;
	case MLINE_INCOMING_FULL:
		set->counters.incoming_full++;
		log_warnx("modem: a listener refused a client: every slot "
		    "is in use");
		return;
	case MLINE_INCOMING:
		msockset_incoming(set, &ml);
		return;
	case MLINE_MALFORMED:
		log_warnx("modem: malformed URC \"%s\"", log_escape(esc,
		    sizeof(esc), line, strlen(line)));
		return;
	default:
		log_info("modem: %s", log_escape(esc, sizeof(esc), line,
		    strlen(line)));
		return;
	}
}

static void
msockset_urc_payload(void *arg, const struct at_event *ev)
{
	struct msockset		*set = arg;
	struct msock		*s;
	struct mline_data_hdr	 h;
	char			 esc[128];

	/* +QIURC: "recv",id,n[,"ip",port] */
	if (mline_parse_payload_header(ev->line, &h) != MLINE_DATA_HDR ||
	    !h.push || (size_t)h.len != ev->data_len) {
		log_warnx("modem: malformed push header \"%s\"; %zu bytes "
		    "dropped", log_escape(esc, sizeof(esc), ev->line,
		    ev->line_len), ev->data_len);
		return;
	}
	s = &set->slots[h.id];
	if (s->state != SLOT_OPEN || !s->push) {
		/* A socket left open by an earlier run (ref. 11.9). */
		log_warnx("modem: %zu pushed bytes for slot %d, which is not "
		    "open here: dropped", ev->data_len, h.id);
		return;
	}
	slot_deliver(s, &h, ev->data, ev->data_len);
}

void
msockset_down(struct msockset *set, const char *why)
{
	struct msock	*s;
	int		 i;

	set->tearing_down = true;
	for (i = 0; i < AT_NSLOTS; i++) {
		s = &set->slots[i];
		if (s->state == SLOT_FREE)
			continue;
		if (s->busy != NULL)
			atq_cancel(set->atq, s->busy);
		s->busy = NULL;
		if (s->state == SLOT_OPENING)
			slot_tell_opened(s, ERR_MODEM);
		else
			slot_gone(s, why);
		slot_release(s, why);
	}
	set->tearing_down = false;
}

bool
msockset_owned(const struct msockset *set, int id)
{
	return id >= 0 && id < AT_NSLOTS &&
	    set->slots[id].state != SLOT_FREE;
}

bool
msockset_line_busy(const struct msockset *set)
{
	const struct msock	*s;
	int			 i;

	for (i = 0; i < AT_NSLOTS; i++) {
		s = &set->slots[i];
		if ((s->lent && !s->auto_mode) ||
		    (s->transparent && s->state == SLOT_OPENING))
			return true;
	}
	return false;
}

int
msockset_free_slots(const struct msockset *set)
{
	int	 i, n = 0;

	if (set->tearing_down)
		return 0;
	for (i = 0; i < AT_NSLOTS; i++)
		if (set->slots[i].state == SLOT_FREE)
			n++;
	return n;
}

int
msockset_close_all(struct msockset *set)
{
	struct msock	*s;
	int		 i, n = 0;

	for (i = 0; i < AT_NSLOTS; i++) {
		s = &set->slots[i];
		if (s->state == SLOT_FREE)
			continue;
		n++;
		slot_gone(s, "shutting down");
		if (s->lent) {		/* escape first, then QICLOSE */
			s->reclaiming = true;
			slot_line_pump(s);
		} else if (s->state != SLOT_CLOSING)
			slot_qiclose(s);
	}
	return n;
}

int
msockset_info(const struct msockset *set, struct msock_info *out)
{
	const struct msock	*s;
	int			 i, n = 0;

	for (i = 0; i < AT_NSLOTS; i++) {
		s = &set->slots[i];
		memset(&out[i], 0, sizeof(out[i]));
		out[i].id = i;
		out[i].in_use = s->state != SLOT_FREE;
		if (!out[i].in_use)
			continue;
		n++;
		out[i].type = s->type;
		out[i].state = s->remote_closed && s->state == SLOT_OPEN ?
		    "remote-closed" : slot_state_names[s->state];
		snprintf(out[i].remote, sizeof(out[i].remote), "%s:%d",
		    s->host, s->type == MSOCK_TCP_LISTENER ||
		    s->type == MSOCK_UDP_SERVICE ? s->local_port : s->port);
		strlcpy(out[i].label, s->label, sizeof(out[i].label));
		out[i].bytes_up = s->bytes_up;
		out[i].bytes_down = s->bytes_down;
		out[i].since_ms = s->since;
	}
	return n;
}

unsigned long
msockset_incoming_full(const struct msockset *set)
{
	return set->counters.incoming_full;
}

void
msockset_label_bytes(const struct msockset *set, const char *label,
    unsigned long long *up, unsigned long long *down)
{
	const struct msock	*s;
	int			 i;

	*up = *down = 0;
	for (i = 0; i < MSOCK_LABELS_MAX; i++)
		if (strcmp(set->retired[i].label, label) == 0) {
			*up = set->retired[i].up;
			*down = set->retired[i].down;
			break;
		}
	for (i = 0; i < AT_NSLOTS; i++) {
		s = &set->slots[i];
		if (s->state != SLOT_FREE && strcmp(s->label, label) == 0) {
			*up += s->bytes_up;
			*down += s->bytes_down;
		}
	}
}
