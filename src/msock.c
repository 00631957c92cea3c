/*
 * msock.c: the modem's socket slots, their commands and their URCs.
 *
 * A slot has at most one command outstanding (QIOPEN, QISEND, QIRD,
 * QICLOSE or a counter query), so a slot's state never races its own
 * answers.  Data commands are built just in time by msockset_pump(),
 * round-robin over the slots: one command per slot per turn.
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
#include "bg96d/conf.h"
#include "bg96d/log.h"
#include "bg96d/modem.h"
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

static const char *slot_state_names[] = {
	[SLOT_FREE] = "free",
	[SLOT_OPENING] = "opening",
	[SLOT_OPEN] = "open",
	[SLOT_DRAINING] = "closing",
	[SLOT_CLOSING] = "closing",
};


struct msock {
	struct msockset		*set;
	int			 id;
	enum slot_state		 state;
	enum msock_type		 type;
	bool			 push;
	const struct msock_ops	*ops;
	void			*owner;
	struct atq_cmd		*busy;		/* the one outstanding command */
	struct event		*timer;
	long long		 deadline;	/* QIOPEN wait / drain limit */
	bool			 rx_pending;	/* recv URC seen, not drained */
	bool			 remote_closed;
	bool			 peer_told;
	bool			 prefer_read;
	bool			 retried_563;
	bool			 read_zero;	/* last QIRD returned 0 */
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
	struct modem		*modem;
	int			 ctx;
	struct msock		 slots[AT_NSLOTS];
	int			 rr;		/* round-robin cursor */
	bool			 tearing_down;	/* msockset_down() running */
	unsigned long		 incoming_full;
	void			(*on_free)(void *);
	void			*on_free_arg;
};

static void	slot_timer_cb(evutil_socket_t, short, void *);
static void	slot_qiclose(struct msock *);
static void	slot_drain_poll(struct msock *);
static bool	parse_peer(const char *, struct msock_peer *);

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
msockset_new(struct event_base *base, struct modem *m, int context_id)
{
	struct msockset	*set = xcalloc(1, sizeof(*set));
	int		 i;

	set->modem = m;
	set->ctx = context_id;
	for (i = 0; i < AT_NSLOTS; i++) {
		set->slots[i].set = set;
		set->slots[i].id = i;
		set->slots[i].timer = evtimer_new(base, slot_timer_cb,
		    &set->slots[i]);
	}
	return set;
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
	free(set);
}

void
msockset_on_free(struct msockset *set, void (*cb)(void *), void *arg)
{
	set->on_free = cb;
	set->on_free_arg = arg;
}

static struct atq *
slot_atq(struct msock *s)
{
	return modem_atq(s->set->modem);
}

static void
slot_arm(struct msock *s, int ms)
{
	struct timeval	 tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(s->timer, &tv);
}

/* Back to free; tell whoever waits for a slot. */
static void
slot_release(struct msock *s)
{
	struct msockset	*set = s->set;

	evtimer_del(s->timer);
	if (s->push)
		atq_set_push(slot_atq(s), s->id, false);
	s->state = SLOT_FREE;
	s->ops = NULL;
	s->owner = NULL;
	s->busy = NULL;
	s->chunk_len = 0;
	s->label[0] = '\0';
	s->rx_pending = s->remote_closed = s->peer_told = false;
	s->backing_off = false;
	s->backoff_ms = 0;
	log_debug("slot %d: free", s->id);
	if (set->on_free != NULL)
		set->on_free(set->on_free_arg);
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

static void
slot_qiclose_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct msock	*s = arg;

	s->busy = NULL;
	if (res != ATQ_RES_OK)
		log_warnx("slot %d: AT+QICLOSE failed; freeing it anyway",
		    s->id);
	slot_release(s);
}

static void
slot_qiclose(struct msock *s)
{
	struct atq_cmd	*c;

	evtimer_del(s->timer);
	s->state = SLOT_CLOSING;
	if (s->busy != NULL)
		return;		/* sent when the outstanding command ends */
	c = atq_cmd_new(TMO_QICLOSE, "AT+QICLOSE=%d,%d", s->id,
	    QICLOSE_ARG_S);
	c->on_done = slot_qiclose_done;
	c->arg = s;
	s->busy = c;
	atq_submit(slot_atq(s), c, false);
}

/* A slot's command ended: continue what its state asks for. */
static void
slot_continue(struct msock *s)
{
	if (s->state == SLOT_CLOSING && s->busy == NULL)
		slot_qiclose(s);
	else if (s->state == SLOT_DRAINING && s->busy == NULL)
		slot_arm(s, DRAIN_POLL_MS);
	else
		atq_kick(slot_atq(s));
}

static void
slot_qiopen_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct msock	*s = arg;

	s->busy = NULL;
	if (res == ATQ_RES_OK) {
		/* Accepted; the outcome comes as +QIOPEN: id,err. */
		if (s->state == SLOT_CLOSING)
			slot_continue(s);
		return;
	}
	slot_tell_opened(s, res == ATQ_RES_TIMEOUT ||
	    res == ATQ_RES_ABORTED ? MSOCK_ERR_MODEM :
	    (ev != NULL && ev->code > 0 ? ev->code : 552));
	if (res == ATQ_RES_ABORTED)
		return;
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
	struct atq_cmd	*c;

	c = atq_cmd_new(TMO_QIOPEN, "AT+QIOPEN=%d,%d,\"%s\",\"%s\",%d,%d,%d",
	    s->set->ctx, s->id, svc[s->type], s->host, s->port, s->local_port,
	    s->push ? 1 : 0);
	c->on_done = slot_qiopen_done;
	c->arg = s;
	s->busy = c;
	if (s->push)
		atq_set_push(slot_atq(s), s->id, true);
	atq_submit(slot_atq(s), c, false);
}

struct msock *
msock_open(struct msockset *set, enum msock_type type, const char *host,
    int port, int local_port, bool push, int timeout_ms,
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
	s->state = SLOT_OPENING;
	s->type = type;
	s->push = push;
	s->ops = ops;
	s->owner = owner;
	s->retried_563 = false;
	s->prefer_read = false;
	s->bytes_up = s->bytes_down = 0;
	s->since = now_ms();
	s->deadline = now_ms() + timeout_ms;
	strlcpy(s->host, host, sizeof(s->host));
	s->port = port;
	s->local_port = local_port;
	log_debug("slot %d: opening %s %s:%d", s->id, msock_type_name(type),
	    host, port);
	slot_send_qiopen(s);
	slot_arm(s, timeout_ms);
	return s;
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
		if (s->remote_closed || s->bytes_up == 0 ||
		    s->type != MSOCK_TCP) {
			slot_qiclose(s);
			return;
		}
		/* Sent bytes must be acked before QICLOSE (ref. 11.16). */
		s->state = SLOT_DRAINING;
		s->deadline = now_ms() +
		    (long long)TMO_DEF_QICLOSE * 1000;
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

unsigned long
msockset_incoming_full(const struct msockset *set)
{
	return set->incoming_full;
}

void
msock_kick(struct msock *s)
{
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
	struct msock		*s = arg;
	unsigned long long	 total, acked, unacked;

	if (sscanf(line, "+QISEND: %llu,%llu,%llu", &total, &acked,
	    &unacked) == 3 && unacked == 0)
		s->deadline = 0;	/* flushed */
}

static void
slot_drain_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct msock	*s = arg;

	s->busy = NULL;
	if (res == ATQ_RES_ABORTED)
		return;
	if (res != ATQ_RES_OK || now_ms() >= s->deadline) {
		if (res == ATQ_RES_OK && s->deadline != 0)
			log_warnx("slot %d: closing with bytes unacked",
			    s->id);
		slot_qiclose(s);
		return;
	}
	slot_arm(s, DRAIN_POLL_MS);
}

static void
slot_drain_poll(struct msock *s)
{
	struct atq_cmd	*c;

	c = atq_cmd_new(TMO_COMMAND, "AT+QISEND=%d,0", s->id);
	c->prefix = "+QISEND:";
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
		slot_tell_opened(s, MSOCK_ERR_TIMEOUT);
		slot_qiclose(s);
		break;
	case SLOT_OPEN:
		s->backing_off = false;
		atq_kick(slot_atq(s));
		break;
	case SLOT_DRAINING:
		if (s->busy == NULL)
			slot_drain_poll(s);
		break;
	}
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
		s->backoff_ms = s->backoff_ms == 0 ? SEND_FAIL_RETRY_MIN_MS :
		    s->backoff_ms * 2;
		if (s->backoff_ms > SEND_FAIL_RETRY_MAX_MS)
			s->backoff_ms = SEND_FAIL_RETRY_MAX_MS;
		s->backing_off = true;
		if (s->state == SLOT_OPEN)
			slot_arm(s, s->backoff_ms);
		break;
	case ATQ_RES_ERROR:
	case ATQ_RES_TIMEOUT:
		if (s->remote_closed) {
			/* The peer is gone; what the client still sends
			 * cannot be delivered.  Reading goes on. */
			s->chunk_len = 0;
			break;
		}
		log_warnx("slot %d: AT+QISEND failed", s->id);
		s->chunk_len = 0;
		slot_gone(s, "send failed");
		if (s->state == SLOT_OPEN)
			s->state = SLOT_CLOSING;
		break;
	case ATQ_RES_ABORTED:
		return;
	}
	slot_continue(s);
}

static void
slot_read_payload(void *arg, const struct at_event *ev)
{
	struct msock	*s = arg;
	char		 ip[64] = "";
	int		 port = 0;
	const char	*p;

	s->bytes_down += ev->data_len;
	s->read_zero = false;
	/* UDP SERVICE: +QIRD: n,"ip",port (quotes optional). */
	if ((p = strchr(ev->line, ',')) != NULL) {
		struct msock_peer	 peer;

		if (!parse_peer(p + 1, &peer)) {
			log_warnx("slot %d: malformed sender in \"%s\"; "
			    "datagram dropped", s->id, ev->line);
			return;
		}
		strlcpy(ip, peer.ip, sizeof(ip));
		port = peer.port;
	}
	if (s->ops != NULL && s->ops->received != NULL)
		s->ops->received(s->owner, ev->data, ev->data_len,
		    ip[0] != '\0' ? ip : NULL, port);
}

static void
slot_read_line(void *arg, const char *line)
{
	struct msock	*s = arg;

	char		 esc[128];

	if (strcmp(line, "+QIRD: 0") == 0)
		s->read_zero = true;
	else
		log_info("modem: unexpected line \"%s\" (AT+QIRD)",
		    log_escape(esc, sizeof(esc), line, strlen(line)));
}

static void
slot_read_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct msock	*s = arg;

	s->busy = NULL;
	switch (res) {
	case ATQ_RES_OK:
		if (s->read_zero) {
			s->rx_pending = false;
			if (s->remote_closed && !s->peer_told) {
				s->peer_told = true;
				if (s->ops != NULL && s->ops->peer_closed)
					s->ops->peer_closed(s->owner);
			}
		}
		break;
	case ATQ_RES_ERROR:
	case ATQ_RES_TIMEOUT:
	case ATQ_RES_SEND_FAIL:
		log_warnx("slot %d: AT+QIRD failed", s->id);
		slot_gone(s, "read failed");
		if (s->state == SLOT_OPEN)
			s->state = SLOT_CLOSING;
		break;
	case ATQ_RES_ABORTED:
		return;
	}
	slot_continue(s);
}

/* The next command this slot wants, or NULL. */
static struct atq_cmd *
slot_next_cmd(struct msock *s)
{
	struct atq_cmd	*c;
	bool		 can_read, can_send;

	if (s->state != SLOT_OPEN || s->busy != NULL || s->ops == NULL ||
	    s->type == MSOCK_TCP_LISTENER)
		return NULL;
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
		s->read_zero = false;
		c = atq_cmd_new(TMO_QIRD, "AT+QIRD=%d", s->id);
		c->prefix = "+QIRD:";
		c->on_line = slot_read_line;
		c->on_payload = slot_read_payload;
		c->on_done = slot_read_done;
	} else if (can_send) {
		s->prefer_read = true;
		if (s->type == MSOCK_UDP_SERVICE)
			c = atq_cmd_new(TMO_SEND, "AT+QISEND=%d,%zu,\"%s\",%d",
			    s->id, s->chunk_len, s->chunk_dest.ip,
			    s->chunk_dest.port);
		else
			c = atq_cmd_new(TMO_SEND, "AT+QISEND=%d,%zu", s->id,
			    s->chunk_len);
		atq_cmd_set_data(c, s->chunk, s->chunk_len);
		c->on_done = slot_send_done;
	} else
		return NULL;
	c->arg = s;
	s->busy = c;
	return c;
}

struct atq_cmd *
msockset_pump(struct msockset *set)
{
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

/* Parse the slot id after a URC's first comma; NULL if out of range. */
static struct msock *
urc_slot(struct msockset *set, const char *p)
{
	int	 id;

	if (p == NULL || sscanf(p, "%d", &id) != 1 || id < 0 ||
	    id >= AT_NSLOTS)
		return NULL;
	return &set->slots[id];
}

/* Parse "ip",port or ip,port into peer; false if malformed. */
static bool
parse_peer(const char *p, struct msock_peer *peer)
{
	size_t	 n;
	char	*end;
	long	 port;

	if (*p == '"')
		p++;
	n = strcspn(p, "\",");
	if (n == 0 || n >= sizeof(peer->ip))
		return false;
	memcpy(peer->ip, p, n);
	peer->ip[n] = '\0';
	p += n;
	if (*p == '"')
		p++;
	if (*p++ != ',')
		return false;
	port = strtol(p, &end, 10);
	if (end == p || port < 0 || port > 65535)
		return false;
	peer->port = (int)port;
	return true;
}

/* +QIURC: "incoming",<new>,<server>,"<ip>",<port> */
static void
msockset_incoming(struct msockset *set, const char *p)
{
	struct msock		*s, *srv;
	struct msock_peer	 from;
	int			 id, sid, n;

	if (sscanf(p, "%d,%d,%n", &id, &sid, &n) != 2 || id < 0 ||
	    id >= AT_NSLOTS || sid < 0 || sid >= AT_NSLOTS ||
	    !parse_peer(p + n, &from)) {
		log_warnx("modem: malformed incoming URC (%s)", p);
		return;
	}
	s = &set->slots[id];
	srv = &set->slots[sid];
	if (s->state != SLOT_FREE) {
		/* Our table and the modem disagree: never share an id. */
		log_warnx("slot %d: modem reports an incoming connection on "
		    "a slot in use here; refusing it", id);
		return;
	}
	s->state = SLOT_OPEN;
	s->type = MSOCK_TCP_INCOMING;
	s->push = false;
	s->ops = NULL;
	s->owner = NULL;
	s->bytes_up = s->bytes_down = 0;
	s->since = now_ms();
	s->prefer_read = false;
	snprintf(s->host, sizeof(s->host), "%s", from.ip);
	s->port = from.port;
	s->local_port = srv->local_port;
	log_debug("slot %d: incoming from %s:%d on listener slot %d", id,
	    from.ip, from.port, sid);
	if (srv->state != SLOT_OPEN || srv->type != MSOCK_TCP_LISTENER ||
	    srv->ops == NULL || srv->ops->incoming == NULL) {
		log_warnx("slot %d: incoming connection for no listener", id);
		slot_qiclose(s);
		return;
	}
	srv->ops->incoming(srv->owner, s, &from);
	if (s->ops == NULL && s->state == SLOT_OPEN)
		slot_qiclose(s);	/* the owner did not take it */
}

void
msockset_urc(struct msockset *set, const char *line)
{
	struct msock	*s;
	int		 id, err;

	if (sscanf(line, "+QIOPEN: %d,%d", &id, &err) == 2) {
		if (id < 0 || id >= AT_NSLOTS)
			return;
		s = &set->slots[id];
		if (s->state != SLOT_OPENING && s->state != SLOT_CLOSING) {
			log_warnx("slot %d: +QIOPEN for a slot not opening",
			    id);
			return;
		}
		if (s->state == SLOT_CLOSING) {
			slot_continue(s);
			return;
		}
		evtimer_del(s->timer);
		if (err == 563 && !s->retried_563 && s->ops != NULL) {
			/* Stale slot (ref. 11.11): close, then retry once. */
			struct atq_cmd	*c;

			s->retried_563 = true;
			c = atq_cmd_new(TMO_QICLOSE, "AT+QICLOSE=%d,%d", id,
			    QICLOSE_ARG_S);
			atq_submit(slot_atq(s), c, false);
			slot_send_qiopen(s);
			slot_arm(s, (int)(s->deadline - now_ms()));
			return;
		}
		if (err == 0) {
			if (s->ops == NULL) {	/* owner left meanwhile */
				slot_qiclose(s);
				return;
			}
			s->state = SLOT_OPEN;
			s->since = now_ms();
			log_debug("slot %d: open", id);
			slot_tell_opened(s, 0);
			atq_kick(slot_atq(s));
			return;
		}
		slot_tell_opened(s, err);
		slot_qiclose(s);
		return;
	}
	if (strncmp(line, "+QIURC: \"recv\",", 15) == 0) {
		if ((s = urc_slot(set, line + 15)) == NULL ||
		    s->state == SLOT_FREE)
			return;
		s->rx_pending = true;
		atq_kick(slot_atq(s));
		return;
	}
	if (strncmp(line, "+QIURC: \"closed\",", 17) == 0) {
		if ((s = urc_slot(set, line + 17)) == NULL ||
		    s->state == SLOT_FREE)
			return;
		log_debug("slot %d: closed by the remote end", s->id);
		s->remote_closed = true;
		s->chunk_len = 0;
		if (s->state == SLOT_DRAINING) {
			slot_qiclose(s);
			return;
		}
		if (s->push) {
			/* Push mode: everything has already arrived. */
			s->peer_told = true;
			if (s->ops != NULL && s->ops->peer_closed != NULL)
				s->ops->peer_closed(s->owner);
			return;
		}
		s->rx_pending = true;	/* read what is left, then tell */
		atq_kick(slot_atq(s));
		return;
	}
	if (strncmp(line, "+QIURC: \"incoming full\"", 23) == 0) {
		set->incoming_full++;
		log_warnx("modem: a listener refused a client: every slot "
		    "is in use");
		return;
	}
	if (strncmp(line, "+QIURC: \"incoming\",", 19) == 0) {
		msockset_incoming(set, line + 19);
		return;
	}
	log_info("modem: %s", line);
}

void
msockset_urc_payload(struct msockset *set, const struct at_event *ev)
{
	struct msock	*s;

	/* +QIURC: "recv",id,n[,"ip",port] */
	if (strncmp(ev->line, "+QIURC: \"recv\",", 15) != 0 ||
	    (s = urc_slot(set, ev->line + 15)) == NULL ||
	    s->state != SLOT_OPEN) {
		log_warnx("modem: pushed data for no open slot (%s)",
		    ev->line);
		return;
	}
	{
		struct at_event	 e = *ev;
		const char	*p = strchr(ev->line + 15, ',');

		/* Reuse the QIRD path: skip "id," so ip/port parse alike. */
		e.line = p != NULL ? p + 1 : "";
		slot_read_payload(s, &e);
	}
}

void
msockset_down(struct msockset *set, const char *why)
{
	struct atq	*q = modem_atq(set->modem);
	struct msock	*s;
	int		 i;

	set->tearing_down = true;
	for (i = 0; i < AT_NSLOTS; i++) {
		s = &set->slots[i];
		if (s->state == SLOT_FREE)
			continue;
		if (s->busy != NULL)
			atq_cancel(q, s->busy);
		s->busy = NULL;
		if (s->state == SLOT_OPENING)
			slot_tell_opened(s, MSOCK_ERR_MODEM);
		else
			slot_gone(s, why);
		slot_release(s);
	}
	set->tearing_down = false;
}

bool
msockset_owned(const struct msockset *set, int id)
{
	return id >= 0 && id < AT_NSLOTS &&
	    set->slots[id].state != SLOT_FREE;
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
		if (s->state != SLOT_CLOSING)
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
