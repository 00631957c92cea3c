/*
 * events.c: the event stream, <socket_dir>/events.sock (events.h).
 *
 * One listening socket beside control.sock; each subscriber has a queue
 * of at most EVENTS_QUEUE_MAX event lines (shared, reference-counted
 * buffers) and a small staging buffer that is written with non-blocking
 * writes when the socket is writable.  A subscriber that does not read
 * costs at most its queue: the events that do not fit are dropped for it
 * and counted, and it is told ({"event":"overflow","dropped":N}) at the
 * place of the gap.  The daemon never waits for a subscriber.
 *
 * The hooks are plain functions over one process-wide service, like the
 * log: the modem layer, the radio poll and the bridges call them with
 * the facts they have, and nothing here calls back.
 */
#include <sys/socket.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "config.h"
#include "bg96d/conf.h"
#include "bg96d/ctljson.h"
#include "bg96d/events.h"
#include "bg96d/log.h"
#include "bg96d/usock.h"
#include "bg96d/util.h"

#define EVENTS_STAGE_MAX	(16 * 1024)	/* bytes handed to one write */

/* ------------------------------------------------------------------ */
/* The queue (pure). */

struct evmsg *
evmsg_new(const char *data, size_t len)
{
	struct evmsg	*m = xmalloc(sizeof(*m) + len);

	m->refs = 1;
	m->len = len;
	memcpy(m->data, data, len);
	return m;
}

void
evmsg_unref(struct evmsg *m)
{
	if (m != NULL && --m->refs == 0)
		free(m);
}

void
evq_init(struct evq *q)
{
	memset(q, 0, sizeof(*q));
}

bool
evq_push(struct evq *q, struct evmsg *m)
{
	size_t	 i;

	if (q->n == EVENTS_QUEUE_MAX) {
		q->dropped++;
		q->dropped_total++;
		return false;
	}
	i = (q->head + q->n) % EVENTS_QUEUE_MAX;
	q->m[i] = m;
	q->gap[i] = q->dropped;
	q->dropped = 0;
	m->refs++;
	q->n++;
	return true;
}

struct evmsg *
evq_pop(struct evq *q, unsigned long long *gap)
{
	struct evmsg	*m;

	if (q->n == 0)
		return NULL;
	m = q->m[q->head];
	*gap = q->gap[q->head];
	q->m[q->head] = NULL;
	q->head = (q->head + 1) % EVENTS_QUEUE_MAX;
	q->n--;
	return m;
}

unsigned long long
evq_take_dropped(struct evq *q)
{
	unsigned long long	 n = q->dropped;

	q->dropped = 0;
	return n;
}

void
evq_clear(struct evq *q)
{
	unsigned long long	 gap;

	while (q->n > 0)
		evmsg_unref(evq_pop(q, &gap));
	q->dropped = 0;
}

/* ------------------------------------------------------------------ */
/* The service. */

struct evsub {
	TAILQ_ENTRY(evsub)	 entry;
	struct events		*evs;
	int			 fd;
	struct event		*rev, *wev;
	struct evbuffer		*out;		/* staged, being written */
	struct evq		 q;
};

struct events {
	struct event_base	*base;
	struct usock_file	 file;		/* events.sock */
	TAILQ_HEAD(, evsub)	 subs;
	int			 nsubs;
	unsigned long long	 refused;
};

/* What the stream has said; a new subscriber's hello repeats it. */
static struct {
	struct events	*evs;		/* the service, or NULL */
	char		 state[32];
	char		 oper[64];
	char		 ip[64];
	int		 reg;
	bool		 reg_known, oper_known;
} ev = { NULL, "absent", "", "", -1, false, false };

static void	evsub_free(struct evsub *);
static void	evsub_flush(struct evsub *);

/* RFC 3339, UTC, milliseconds. */
static json_t *
events_ts(void)
{
	struct timeval	 tv;
	struct tm	 tm;
	char		 buf[80];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
	return json_string(buf);
}

/* {"ts":...,"event":name}: the caller adds members, then events_line(). */
static json_t *
events_obj(const char *name)
{
	json_t	*j = json_object();

	json_object_set_new(j, "ts", events_ts());
	json_object_set_new(j, "event", json_string(name));
	return j;
}

/* j as one line (j is freed). */
static struct evmsg *
events_line(json_t *j)
{
	struct evmsg	*m;
	char		*s;

	s = json_dumps(j, CTL_JSON_FLAGS);
	json_decref(j);
	if (s == NULL)
		return NULL;
	m = xmalloc(sizeof(*m) + strlen(s) + 1);
	m->refs = 1;
	m->len = strlen(s) + 1;
	memcpy(m->data, s, m->len - 1);
	m->data[m->len - 1] = '\n';
	free(s);
	return m;
}

/* Is anyone listening (worth building an event)? */
static bool
events_wanted(void)
{
	return ev.evs != NULL && ev.evs->nsubs > 0;
}

/* Queue j for every subscriber (j is freed). */
static void
events_send(json_t *j)
{
	struct evsub	*s;
	struct evmsg	*m;

	if (!events_wanted() || (m = events_line(j)) == NULL) {
		json_decref(j);
		return;
	}
	TAILQ_FOREACH(s, &ev.evs->subs, entry) {
		evq_push(&s->q, m);
		if (!event_pending(s->wev, EV_WRITE, NULL))
			event_add(s->wev, NULL);
	}
	evmsg_unref(m);
}

static void
events_add_overflow(struct evbuffer *out, unsigned long long n)
{
	json_t		*j = events_obj("overflow");
	struct evmsg	*m;

	json_object_set_new(j, "dropped", json_integer((json_int_t)n));
	if ((m = events_line(j)) != NULL) {
		evbuffer_add(out, m->data, m->len);
		evmsg_unref(m);
	}
}

/* Move queued lines (and overflow notes) to the staging buffer. */
static void
evsub_stage(struct evsub *s)
{
	struct evmsg		*m;
	unsigned long long	 gap;

	while (evbuffer_get_length(s->out) < EVENTS_STAGE_MAX &&
	    (m = evq_pop(&s->q, &gap)) != NULL) {
		if (gap > 0)
			events_add_overflow(s->out, gap);
		evbuffer_add(s->out, m->data, m->len);
		evmsg_unref(m);
	}
	if (s->q.n == 0 && (gap = evq_take_dropped(&s->q)) > 0)
		events_add_overflow(s->out, gap);
}

/* Write what the socket takes now; wait for EV_WRITE for the rest. */
static void
evsub_flush(struct evsub *s)
{
	int	 n;

	for (;;) {
		if (evbuffer_get_length(s->out) == 0)
			evsub_stage(s);
		if (evbuffer_get_length(s->out) == 0)
			return;
		n = evbuffer_write(s->out, s->fd);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				break;
			log_debug("events: subscriber gone: %s",
			    strerror(errno));
			evsub_free(s);
			return;
		}
		if (evbuffer_get_length(s->out) > 0)
			break;
	}
	event_add(s->wev, NULL);
}

static void
evsub_write_cb(evutil_socket_t fd, short what, void *arg)
{
	evsub_flush(arg);
}

/* Input is thrown away; EOF or an error ends the subscriber. */
static void
evsub_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct evsub	*s = arg;
	char		 buf[512];
	ssize_t		 n;

	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n > 0 || (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR)))
		return;
	evsub_free(s);
}

static void
evsub_free(struct evsub *s)
{
	struct events	*evs = s->evs;

	TAILQ_REMOVE(&evs->subs, s, entry);
	evs->nsubs--;
	event_free(s->rev);
	event_free(s->wev);
	evbuffer_free(s->out);
	evq_clear(&s->q);
	close(s->fd);
	free(s);
}

static void
events_hello(struct evsub *s)
{
	json_t		*j = events_obj("hello");
	struct evmsg	*m;

	json_object_set_new(j, "version", json_string(PACKAGE_VERSION));
	json_object_set_new(j, "state", json_string(ev.state));
	json_object_set_new(j, "registration", ev.reg_known ?
	    json_integer(ev.reg) : json_null());
	json_object_set_new(j, "operator", ctl_json_str_null(ev.oper));
	json_object_set_new(j, "ip", ctl_json_str_null(ev.ip));
	if ((m = events_line(j)) == NULL)
		return;
	evq_push(&s->q, m);
	evmsg_unref(m);
	evsub_flush(s);
}

static void
events_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	static const char	 busy[] = "{\"event\":\"error\",\"error\":"
	    "\"too many event subscribers\"}\n";
	struct events		*evs = arg;
	struct evsub		*s;
	int			 fd;

	if ((fd = usock_accept(&evs->file.ls, "events")) == -1)
		return;
	if (evs->nsubs >= EVENTS_CLIENTS_MAX) {
		evs->refused++;
		if (send(fd, busy, sizeof(busy) - 1,
		    MSG_DONTWAIT | MSG_NOSIGNAL) == -1)
			log_debug("events: refusing a subscriber: %s",
			    strerror(errno));
		close(fd);
		return;
	}
	s = xcalloc(1, sizeof(*s));
	s->evs = evs;
	s->fd = fd;
	s->out = evbuffer_new();
	s->rev = event_new(evs->base, fd, EV_READ | EV_PERSIST,
	    evsub_read_cb, s);
	s->wev = event_new(evs->base, fd, EV_WRITE, evsub_write_cb, s);
	if (s->out == NULL || s->rev == NULL || s->wev == NULL)
		fatalx("events: out of memory");
	evq_init(&s->q);
	event_add(s->rev, NULL);
	TAILQ_INSERT_TAIL(&evs->subs, s, entry);
	evs->nsubs++;
	log_debug("events: subscriber %d connected", evs->nsubs);
	events_hello(s);
}

struct events *
events_new(struct event_base *base)
{
	struct events	*evs = xcalloc(1, sizeof(*evs));

	evs->base = base;
	usock_file_init(&evs->file, "events");
	TAILQ_INIT(&evs->subs);
	ctl_json_init();
	ev.evs = evs;
	return evs;
}

int
events_apply(struct events *evs, const struct conf *c, int gid, char *err,
    size_t errlen)
{
	return usock_file_apply(&evs->file, evs->base, c->control.enable,
	    c->daemon.socket_dir, "events.sock", c->control.mode, gid,
	    events_accept_cb, evs, err, errlen);
}

int
events_clients(const struct events *evs)
{
	return evs->nsubs;
}

void
events_free(struct events *evs)
{
	struct evsub	*s;

	if (evs == NULL)
		return;
	while ((s = TAILQ_FIRST(&evs->subs)) != NULL) {
		/* What is queued goes if the socket takes it now. */
		evsub_flush(s);
		if (TAILQ_FIRST(&evs->subs) == s)
			evsub_free(s);
	}
	usock_file_close(&evs->file);
	if (ev.evs == evs)
		ev.evs = NULL;
	free(evs);
}

/* ------------------------------------------------------------------ */
/* Hooks. */

void
events_state(const char *state, const char *why)
{
	json_t	*j;

	if (events_wanted() && strcmp(state, ev.state) != 0) {
		j = events_obj("state");
		json_object_set_new(j, "state", json_string(state));
		json_object_set_new(j, "from", json_string(ev.state));
		json_object_set_new(j, "why", ctl_json_str(why));
		events_send(j);
	}
	strlcpy(ev.state, state, sizeof(ev.state));
	if (strcmp(state, "ready") != 0 && strcmp(state, "activating") != 0)
		ev.ip[0] = '\0';
}

static const char *
events_reg_name(int stat)
{
	switch (stat) {
	case 0:
		return "not registered";
	case 1:
		return "home";
	case 2:
		return "searching";
	case 3:
		return "denied";
	case 5:
		return "roaming";
	default:
		return "unknown";
	}
}

void
events_registration(int stat)
{
	json_t	*j;

	if (ev.reg_known && stat == ev.reg)
		return;
	ev.reg = stat;
	ev.reg_known = true;
	if (!events_wanted())
		return;
	j = events_obj("registration");
	json_object_set_new(j, "stat", json_integer(stat));
	json_object_set_new(j, "status", json_string(events_reg_name(stat)));
	json_object_set_new(j, "registered", json_boolean(stat == 1 ||
	    stat == 5));
	events_send(j);
}

void
events_operator(const char *oper)
{
	json_t	*j;

	if (ev.oper_known && strcmp(oper, ev.oper) == 0)
		return;
	strlcpy(ev.oper, oper, sizeof(ev.oper));
	ev.oper_known = true;
	if (!events_wanted())
		return;
	j = events_obj("operator");
	json_object_set_new(j, "operator", ctl_json_str_null(oper));
	events_send(j);
}

void
events_pdp(int cid, const char *ip)
{
	json_t	*j;

	strlcpy(ev.ip, ip, sizeof(ev.ip));
	if (!events_wanted())
		return;
	j = events_obj("pdp");
	json_object_set_new(j, "context_id", json_integer(cid));
	json_object_set_new(j, "ip", ctl_json_str_null(ip));
	events_send(j);
}

void
events_recovery(const char *action, const char *why)
{
	json_t	*j;

	if (!events_wanted())
		return;
	j = events_obj("recovery");
	json_object_set_new(j, "action", json_string(action));
	json_object_set_new(j, "why", ctl_json_str(why));
	events_send(j);
}

void
events_reload(const char *path, const char *error)
{
	json_t	*j;

	if (!events_wanted())
		return;
	j = events_obj("reload");
	json_object_set_new(j, "config", ctl_json_str(path));
	json_object_set_new(j, "ok", json_boolean(error == NULL));
	if (error != NULL)
		json_object_set_new(j, "error", ctl_json_str(error));
	events_send(j);
}

void
events_conn_opened(struct events_conn *c, const char *endpoint,
    unsigned long client, int slot, const char *host, int port)
{
	json_t	*j;

	c->opened_ms = now_ms();
	c->slot = slot;
	c->bytes_up = c->bytes_down = 0;
	snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
	if (!events_wanted())
		return;
	j = events_obj("connection_opened");
	json_object_set_new(j, "endpoint", ctl_json_str(endpoint));
	json_object_set_new(j, "client", json_integer((json_int_t)client));
	json_object_set_new(j, "slot", json_integer(slot));
	json_object_set_new(j, "peer", ctl_json_str(c->peer));
	events_send(j);
}

void
events_conn_closed(struct events_conn *c, const char *endpoint,
    unsigned long client, const char *host, int port, const char *why)
{
	json_t	*j;
	char	 peer[sizeof(c->peer)];

	if (!events_wanted())
		return;
	if (c->opened_ms == 0) {
		j = events_obj("connection_failed");
		json_object_set_new(j, "endpoint", ctl_json_str(endpoint));
		json_object_set_new(j, "client",
		    json_integer((json_int_t)client));
		snprintf(peer, sizeof(peer), "%s:%d", host, port);
		json_object_set_new(j, "peer", host[0] != '\0' ?
		    ctl_json_str(peer) : json_null());
		json_object_set_new(j, "why", ctl_json_str(why));
		events_send(j);
		return;
	}
	j = events_obj("connection_closed");
	json_object_set_new(j, "endpoint", ctl_json_str(endpoint));
	json_object_set_new(j, "client", json_integer((json_int_t)client));
	json_object_set_new(j, "slot", json_integer(c->slot));
	json_object_set_new(j, "peer", ctl_json_str(c->peer));
	json_object_set_new(j, "bytes_up", json_integer(
	    (json_int_t)c->bytes_up));
	json_object_set_new(j, "bytes_down", json_integer(
	    (json_int_t)c->bytes_down));
	json_object_set_new(j, "duration_ms",
	    json_integer((json_int_t)(now_ms() - c->opened_ms)));
	json_object_set_new(j, "why", ctl_json_str(why));
	events_send(j);
}
