/*
 * control.c: the control socket, <socket_dir>/control.sock (DESIGN.md
 * section 5).
 *
 * One request line in, one JSON reply line out, in request order.  An
 * "at" request goes through the modem's command queue: the client's
 * later requests wait until its answer is written.  Input, output and the
 * number of clients are bounded.  While the modem is ready and the queue
 * is idle, a timer refreshes signal, operator and access technology, one
 * command per tick, for "status".
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/queue.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "bg96d/at.h"
#include "bg96d/atq.h"
#include "bg96d/conf.h"
#include "bg96d/control.h"
#include "bg96d/ctlproto.h"
#include "bg96d/endpoint.h"
#include "bg96d/log.h"
#include "bg96d/mline.h"
#include "bg96d/modem.h"
#include "bg96d/msock.h"
#include "bg96d/timeouts.h"
#include "bg96d/usock.h"
#include "bg96d/util.h"

#define CONTROL_CLIENTS_MAX	16		/* connections at once */
#define CONTROL_IN_MAX		(64 * 1024)	/* input buffered per client */
#define CONTROL_OUT_MAX		(64 * 1024)	/* output before we stop reading */
#define CONTROL_AT_LINES_MAX	64		/* info lines kept per command */
#define CONTROL_AT_BYTES_MAX	(16 * 1024)
#define CONTROL_IDLE_S		600		/* no request for this long */
#define CONTROL_LINE_S		10		/* a started line must end */
#define CONTROL_WRITE_S		60		/* output not read for this long */

/* Refresh: one command per step, a full round every cycle. */
#define CONTROL_POLL_FIRST_MS	500
#define CONTROL_POLL_STEP_MS	1000
#define CONTROL_POLL_CYCLE_MS	30000

struct control;

struct control_client {
	TAILQ_ENTRY(control_client) entry;
	struct control		*ctl;
	struct bufferevent	*bev;
	struct event		*resume;	/* go on after an "at" answer */
	struct event		*line_timer;	/* CONTROL_LINE_S, partial line */
	struct atq_cmd		*cmd;		/* "at" in flight, or NULL */
	struct evbuffer		*lines;		/* its info lines, as JSON */
	int			 nlines;
	bool			 truncated;
	bool			 eof;		/* no more input */
	bool			 closing;	/* free once output is written */
};

/* Facts from the refresh commands; -1 / "" when unknown. */
struct control_radio {
	int			 csq_dbm;
	int			 qcsq_dbm;
	bool			 have_csq, have_qcsq;
	char			 sysmode[32];	/* +QCSQ */
	char			 act[32];	/* +QNWINFO */
	char			 oper[64];	/* +COPS */
};

struct control {
	struct event_base	*base;
	struct modem		*modem;
	struct msockset		*msocks;
	struct epset		*eps;
	long long		 started;

	char			 path[108];	/* socket file, "" if none */
	int			 fd;
	int			 mode, gid;
	struct event		*ev;
	struct event		*pause;

	TAILQ_HEAD(, control_client) clients;
	int			 nclients;
	unsigned long long	 requests, refused_clients;

	struct event		*poll;
	struct atq_cmd		*poll_cmd;
	int			 poll_next;	/* which refresh command */
	struct control_radio	 radio;
};

static void	control_accept_cb(evutil_socket_t, short, void *);
static void	control_client_run(struct control_client *);
static void	control_line_timer_cb(evutil_socket_t, short, void *);
static void	control_client_free(struct control_client *);
static void	control_poll_arm(struct control *, int);

/*
 * A small JSON writer over an evbuffer.  Strings are always valid JSON:
 * '"', '\\' and every byte below 0x20, 0x7f or above are escaped, so
 * bytes from the modem can never produce invalid UTF-8.
 */
struct jw {
	struct evbuffer	*b;
	int		 depth;
	unsigned int	 n[16];		/* members written per level */
	bool		 after_key;
};

static void
jw_sep(struct jw *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->n[j->depth]++ > 0)
		evbuffer_add(j->b, ",", 1);
}

static void
jw_open(struct jw *j, char c)
{
	jw_sep(j);
	evbuffer_add(j->b, &c, 1);
	if (j->depth < (int)(sizeof(j->n) / sizeof(j->n[0])) - 1)
		j->depth++;
	j->n[j->depth] = 0;
}

static void
jw_close(struct jw *j, char c)
{
	evbuffer_add(j->b, &c, 1);
	if (j->depth > 0)
		j->depth--;
}

static void
jw_key(struct jw *j, const char *k)
{
	jw_sep(j);
	evbuffer_add_printf(j->b, "\"%s\":", k);	/* keys are literals */
	j->after_key = true;
}

static void
json_escape(struct evbuffer *b, const char *s, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, start = 0;
	char			 e[6];

	evbuffer_add(b, "\"", 1);
	for (i = 0; i < len; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
			continue;
		evbuffer_add(b, s + start, i - start);
		start = i + 1;
		if (p[i] == '"' || p[i] == '\\') {
			e[0] = '\\';
			e[1] = (char)p[i];
			evbuffer_add(b, e, 2);
			continue;
		}
		memcpy(e, "\\u00", 4);
		e[4] = hex[p[i] >> 4];
		e[5] = hex[p[i] & 0xf];
		evbuffer_add(b, e, 6);
	}
	evbuffer_add(b, s + start, len - start);
	evbuffer_add(b, "\"", 1);
}

static void
jw_str(struct jw *j, const char *s)
{
	jw_sep(j);
	json_escape(j->b, s, strlen(s));
}

/* A string, or null when it is empty (unknown). */
static void
jw_str_null(struct jw *j, const char *s)
{
	jw_sep(j);
	if (s == NULL || *s == '\0')
		evbuffer_add(j->b, "null", 4);
	else
		json_escape(j->b, s, strlen(s));
}

static void
jw_int(struct jw *j, long long v)
{
	jw_sep(j);
	evbuffer_add_printf(j->b, "%lld", v);
}

static void
jw_uint(struct jw *j, unsigned long long v)
{
	jw_sep(j);
	evbuffer_add_printf(j->b, "%llu", v);
}

static void
jw_bool(struct jw *j, bool v)
{
	jw_sep(j);
	evbuffer_add_printf(j->b, "%s", v ? "true" : "false");
}

static void
jw_null(struct jw *j)
{
	jw_sep(j);
	evbuffer_add(j->b, "null", 4);
}

static void
jw_init(struct jw *j, struct evbuffer *b)
{
	memset(j, 0, sizeof(*j));
	j->b = b;
}

/* Queue one finished reply line for the client. */
static void
control_reply(struct control_client *cl, struct evbuffer *b)
{
	evbuffer_add(b, "\n", 1);
	bufferevent_write_buffer(cl->bev, b);
}

static void
control_reply_error(struct control_client *cl, const char *err)
{
	struct evbuffer	*b = evbuffer_new();
	struct jw	 j;

	jw_init(&j, b);
	jw_open(&j, '{');
	jw_key(&j, "ok");
	jw_bool(&j, false);
	jw_key(&j, "error");
	jw_str(&j, err);
	jw_close(&j, '}');
	control_reply(cl, b);
	evbuffer_free(b);
}

static void
control_reply_ok(struct control_client *cl)
{
	bufferevent_write(cl->bev, "{\"ok\":true}\n", 12);
}

/* Names of socket types as the control protocol spells them. */
static const char *
control_msock_type(enum msock_type t)
{
	switch (t) {
	case MSOCK_TCP:		 return "tcp";
	case MSOCK_UDP:		 return "udp";
	case MSOCK_TCP_LISTENER: return "tcp-listener";
	case MSOCK_UDP_SERVICE:	 return "udp-service";
	case MSOCK_TCP_INCOMING: return "tcp-incoming";
	}
	return "unknown";
}

static void
control_status_modem(struct control *ctl, struct jw *j)
{
	const struct modem_info	*mi = modem_info(ctl->modem);
	const struct control_radio *r = &ctl->radio;
	enum modem_state	 st = modem_state(ctl->modem);
	bool			 ready = st == MODEM_READY;
	const char		*rat = "";

	if (r->sysmode[0] != '\0')
		rat = r->sysmode;
	else if (r->act[0] != '\0')
		rat = r->act;
	jw_key(j, "modem");
	jw_open(j, '{');
	jw_key(j, "state");
	jw_str(j, modem_state_name(st));
	jw_key(j, "imei");
	jw_str_null(j, mi->imei);
	jw_key(j, "iccid");
	jw_str_null(j, mi->iccid);
	jw_key(j, "firmware");
	jw_str_null(j, mi->firmware);
	jw_key(j, "model");
	jw_str_null(j, mi->model);
	/* Radio facts are refreshed only while ready. */
	jw_key(j, "operator");
	jw_str_null(j, ready ? r->oper : "");
	jw_key(j, "rat");
	jw_str_null(j, ready ? rat : "");
	jw_key(j, "registered");
	jw_bool(j, mi->reg_stat == 1 || mi->reg_stat == 5);
	jw_key(j, "rssi_dbm");
	if (ready && r->have_qcsq)
		jw_int(j, r->qcsq_dbm);
	else if (ready && r->have_csq)
		jw_int(j, r->csq_dbm);
	else
		jw_null(j);
	jw_key(j, "ip");
	jw_str_null(j, mi->ip);
	jw_close(j, '}');
}

static void
control_status_sockets(struct control *ctl, struct jw *j)
{
	struct msock_info	 info[AT_NSLOTS];
	long long		 now = now_ms();
	int			 i;

	msockset_info(ctl->msocks, info);
	jw_key(j, "sockets");
	jw_open(j, '[');
	for (i = 0; i < AT_NSLOTS; i++) {
		const struct msock_info	*s = &info[i];

		if (!s->in_use)
			continue;
		jw_open(j, '{');
		jw_key(j, "id");
		jw_int(j, s->id);
		jw_key(j, "endpoint");
		jw_str_null(j, s->label);
		jw_key(j, "type");
		jw_str(j, control_msock_type(s->type));
		jw_key(j, "state");
		jw_str_null(j, s->state);
		jw_key(j, "remote");
		jw_str_null(j, s->remote);
		jw_key(j, "bytes_up");
		jw_uint(j, s->bytes_up);
		jw_key(j, "bytes_down");
		jw_uint(j, s->bytes_down);
		jw_key(j, "age_s");
		jw_int(j, now > s->since_ms ? (now - s->since_ms) / 1000 : 0);
		jw_close(j, '}');
	}
	jw_close(j, ']');
}

static void
control_status_endpoints(struct control *ctl, struct jw *j)
{
	struct endpoint_info	 info[CONF_MAX_ENDPOINTS + 1];
	int			 i, n;

	n = ctl->eps != NULL ? epset_info(ctl->eps, info) : 0;
	jw_key(j, "endpoints");
	jw_open(j, '[');
	for (i = 0; i < n; i++) {
		jw_open(j, '{');
		jw_key(j, "name");
		jw_str(j, info[i].name);
		jw_key(j, "type");
		jw_str(j, conf_ep_type_name(info[i].type));
		jw_key(j, "socket");
		jw_str_null(j, info[i].socket);
		jw_key(j, "active");
		jw_int(j, info[i].active);
		jw_key(j, "accepted");
		jw_uint(j, info[i].accepted);
		jw_key(j, "refused");
		jw_uint(j, info[i].refused);
		jw_key(j, "failed");
		jw_uint(j, info[i].failed);
		jw_key(j, "linger_expired");
		jw_uint(j, info[i].linger_expired);
		jw_close(j, '}');
	}
	jw_close(j, ']');
}

static void
control_status_counters(struct control *ctl, struct jw *j)
{
	const struct modem_counters	*mc = modem_counters(ctl->modem);
	const struct atq_stats		*as = atq_stats(modem_atq(ctl->modem));

	jw_key(j, "counters");
	jw_open(j, '{');
	jw_key(j, "uptime_s");
	jw_int(j, (now_ms() - ctl->started) / 1000);
	jw_key(j, "bringups");
	jw_uint(j, mc->bringups);
	jw_key(j, "reboots");
	jw_uint(j, mc->reboots);
	jw_key(j, "pdp_lost");
	jw_uint(j, mc->pdp_lost);
	jw_key(j, "line_lost");
	jw_uint(j, mc->line_lost);
	jw_key(j, "unresponsive");
	jw_uint(j, mc->unresponsive);
	jw_key(j, "reg_timeouts");
	jw_uint(j, mc->reg_timeouts);
	jw_key(j, "reg_lost");
	jw_uint(j, mc->reg_lost);
	jw_key(j, "cfun_resets");
	jw_uint(j, mc->cfun_resets);
	jw_key(j, "reset_commands");
	jw_uint(j, mc->reset_commands);
	jw_key(j, "incoming_full");
	jw_uint(j, msockset_incoming_full(ctl->msocks));
	jw_key(j, "send_fail");
	jw_uint(j, msockset_counters(ctl->msocks)->send_fail);
	jw_key(j, "send_errors");
	jw_uint(j, msockset_counters(ctl->msocks)->send_errors);
	jw_key(j, "rx_polls");
	jw_uint(j, msockset_counters(ctl->msocks)->rx_polls);
	jw_key(j, "clients_waiting");
	jw_int(j, ctl->eps != NULL ? epset_waiting(ctl->eps) : 0);
	jw_key(j, "at_commands");
	jw_uint(j, as->commands);
	jw_key(j, "at_timeouts");
	jw_uint(j, as->timeouts);
	jw_key(j, "at_unexpected");
	jw_uint(j, as->unexpected);
	jw_key(j, "at_overlong");
	jw_uint(j, as->overlong);
	jw_key(j, "at_late_prompts");
	jw_uint(j, as->late_prompts);
	jw_key(j, "at_echoes");
	jw_uint(j, as->echoes);
	jw_key(j, "at_cr_finals");
	jw_uint(j, as->cr_finals);
	jw_key(j, "at_late_answers");
	jw_uint(j, as->late_answers);
	jw_key(j, "at_bytes_in");
	jw_uint(j, as->bytes_in);
	jw_key(j, "at_bytes_out");
	jw_uint(j, as->bytes_out);
	jw_key(j, "control_requests");
	jw_uint(j, ctl->requests);
	jw_key(j, "control_refused");
	jw_uint(j, ctl->refused_clients);
	jw_close(j, '}');
}

static void
control_status(struct control_client *cl)
{
	struct control	*ctl = cl->ctl;
	struct evbuffer	*b = evbuffer_new();
	struct jw	 j;

	jw_init(&j, b);
	jw_open(&j, '{');
	jw_key(&j, "ok");
	jw_bool(&j, true);
	control_status_modem(ctl, &j);
	control_status_sockets(ctl, &j);
	control_status_endpoints(ctl, &j);
	control_status_counters(ctl, &j);
	jw_close(&j, '}');
	control_reply(cl, b);
	evbuffer_free(b);
}

static void
control_at_line(void *arg, const char *line)
{
	struct control_client	*cl = arg;
	size_t			 len = strlen(line);

	if (cl->nlines >= CONTROL_AT_LINES_MAX ||
	    evbuffer_get_length(cl->lines) + len > CONTROL_AT_BYTES_MAX) {
		cl->truncated = true;
		return;
	}
	if (cl->nlines++ > 0)
		evbuffer_add(cl->lines, ",", 1);
	json_escape(cl->lines, line, len);
}

static void
control_at_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct control_client	*cl = arg;
	struct evbuffer		*b = evbuffer_new();
	struct jw		 j;
	const char		*result, *err = NULL;
	char			 fin[AT_LINE_MAX + 1], msg[AT_LINE_MAX + 32];

	cl->cmd = NULL;
	fin[0] = '\0';
	if (ev != NULL && ev->line != NULL)
		strlcpy(fin, ev->line, sizeof(fin));
	switch (res) {
	case ATQ_RES_OK:
		result = fin[0] != '\0' ? fin : "OK";
		break;
	case ATQ_RES_ERROR:
	case ATQ_RES_SEND_FAIL:
		result = fin[0] != '\0' ? fin : "ERROR";
		snprintf(msg, sizeof(msg), "modem answered %s", result);
		err = msg;
		break;
	case ATQ_RES_TIMEOUT:
		result = "timeout";
		err = "no answer from the modem in time";
		break;
	case ATQ_RES_ABORTED:
	default:
		result = "aborted";
		err = "aborted: the modem went away or was reset";
		break;
	}
	jw_init(&j, b);
	jw_open(&j, '{');
	jw_key(&j, "ok");
	jw_bool(&j, err == NULL);
	if (err != NULL) {
		jw_key(&j, "error");
		jw_str(&j, err);
	}
	jw_key(&j, "lines");
	jw_sep(&j);
	evbuffer_add(b, "[", 1);
	evbuffer_add_buffer(b, cl->lines);
	evbuffer_add(b, "]", 1);
	if (cl->truncated) {
		jw_key(&j, "truncated");
		jw_bool(&j, true);
	}
	jw_key(&j, "result");
	jw_str(&j, result);
	jw_close(&j, '}');
	control_reply(cl, b);
	evbuffer_free(b);
	/* Not from inside the queue's callback: go on from the loop. */
	event_active(cl->resume, EV_TIMEOUT, 1);
}

static void
control_at(struct control_client *cl, const struct ctl_req *r)
{
	struct atq	*q = modem_atq(cl->ctl->modem);
	struct atq_cmd	*c;
	char		 esc[128];

	if (!atq_attached(q)) {
		control_reply_error(cl, "modem absent");
		return;
	}
	if (r->error != NULL) {
		log_info("control: refused \"%s\": %s",
		    log_escape(esc, sizeof(esc), r->at, strlen(r->at)),
		    r->error);
		control_reply_error(cl, r->error);
		return;
	}
	log_debug("control: at %s", r->at);
	evbuffer_drain(cl->lines, evbuffer_get_length(cl->lines));
	cl->nlines = 0;
	cl->truncated = false;
	c = atq_cmd_new(r->kind, "%s", r->at);
	c->prefix = r->prefix;
	c->on_line = control_at_line;
	c->on_done = control_at_done;
	c->arg = cl;
	cl->cmd = c;
	atq_submit(q, c, false);
}

/* One request line (NUL-free, without "\n"). */
static void
control_request(struct control_client *cl, const char *line)
{
	struct ctl_req	 r;

	cl->ctl->requests++;
	ctl_parse_request(line, &r);
	switch (r.type) {
	case CTL_REQ_STATUS:
		control_status(cl);
		break;
	case CTL_REQ_RESET:
		log_info("control: reset requested");
		control_reply_ok(cl);
		modem_reset(cl->ctl->modem, "control: reset");
		break;
	case CTL_REQ_AT:
		control_at(cl, &r);
		break;
	case CTL_REQ_INVALID:
		control_reply_error(cl, r.error);
		break;
	}
}

/* Write what is queued, then close. */
static void
control_client_close(struct control_client *cl)
{
	cl->closing = true;
	bufferevent_disable(cl->bev, EV_READ);
}

/* Take one line out of the input; false if none is complete yet. */
static bool
control_client_line(struct control_client *cl, char *buf, bool *overlong)
{
	struct evbuffer	*in = bufferevent_get_input(cl->bev);
	size_t		 len, used;

	/* A line and its "\r\n" are all the parser may need to see. */
	len = evbuffer_get_length(in);
	if (len > CONTROL_LINE_MAX + 2)
		len = CONTROL_LINE_MAX + 2;
	*overlong = false;
	switch (ctl_line_take(evbuffer_pullup(in, len), len, cl->eof, buf,
	    &used)) {
	case CTL_LINE_MORE:
		return false;
	case CTL_LINE_OVERLONG:
		*overlong = true;
		return false;
	case CTL_LINE_DONE:
		break;
	}
	evbuffer_drain(in, used);
	return true;
}

/* A request line was started CONTROL_LINE_S ago and is still not done. */
static void
control_line_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control_client	*cl = arg;

	log_info("control: request line not finished in %d s; closed",
	    CONTROL_LINE_S);
	control_reply_error(cl, "request line not finished in time");
	control_client_close(cl);
	control_client_run(cl);		/* may free cl */
}

/* Serve every complete request that may be served now. */
static void
control_client_run(struct control_client *cl)
{
	struct evbuffer	*out = bufferevent_get_output(cl->bev);
	struct timeval	 tv = { CONTROL_LINE_S, 0 };
	char		 line[CONTROL_LINE_MAX + 1];
	bool		 overlong, took = false, partial = false;

	while (!cl->closing && cl->cmd == NULL &&
	    evbuffer_get_length(out) < CONTROL_OUT_MAX) {
		if (!control_client_line(cl, line, &overlong)) {
			if (overlong) {
				control_reply_error(cl,
				    "request line too long");
				control_client_close(cl);
			} else if (cl->eof)
				control_client_close(cl);
			else
				partial = evbuffer_get_length(
				    bufferevent_get_input(cl->bev)) > 0;
			break;
		}
		took = true;
		control_request(cl, line);
	}
	/*
	 * Only a line the client has started and not finished runs against
	 * the clock, from the read that brought its first bytes: a slow
	 * writer cannot hold a client slot for the whole idle time.
	 */
	if (took || !partial || cl->closing)
		evtimer_del(cl->line_timer);
	if (partial && !cl->closing &&
	    !evtimer_pending(cl->line_timer, NULL))
		evtimer_add(cl->line_timer, &tv);
	if (cl->closing && evbuffer_get_length(out) == 0)
		control_client_free(cl);
}

static void
control_read_cb(struct bufferevent *bev, void *arg)
{
	control_client_run(arg);
}

/* Output drained (low watermark 0): go on, or finish closing. */
static void
control_write_cb(struct bufferevent *bev, void *arg)
{
	control_client_run(arg);
}

static void
control_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	control_client_run(arg);
}

static void
control_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct control_client	*cl = arg;

	if (what & BEV_EVENT_ERROR) {
		control_client_free(cl);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if ((what & BEV_EVENT_READING) && cl->cmd != NULL &&
		    !cl->closing) {
			bufferevent_enable(bev, EV_READ);	/* busy, not idle */
			return;
		}
		control_client_free(cl);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		cl->eof = true;
		control_client_run(cl);
	}
}

static void
control_client_free(struct control_client *cl)
{
	struct control	*ctl = cl->ctl;

	if (cl->cmd != NULL) {
		/* Its answer must not reach a freed client. */
		atq_cancel(modem_atq(ctl->modem), cl->cmd);
		cl->cmd = NULL;
	}
	TAILQ_REMOVE(&ctl->clients, cl, entry);
	ctl->nclients--;
	bufferevent_free(cl->bev);
	event_free(cl->resume);
	event_free(cl->line_timer);
	evbuffer_free(cl->lines);
	free(cl);
}

static void
control_client_new(struct control *ctl, int fd)
{
	struct control_client	*cl = xcalloc(1, sizeof(*cl));
	struct timeval		 rtv = { CONTROL_IDLE_S, 0 };
	struct timeval		 wtv = { CONTROL_WRITE_S, 0 };

	cl->ctl = ctl;
	cl->bev = bufferevent_socket_new(ctl->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (cl->bev == NULL) {
		close(fd);
		free(cl);
		return;
	}
	cl->resume = event_new(ctl->base, -1, 0, control_resume_cb, cl);
	cl->line_timer = evtimer_new(ctl->base, control_line_timer_cb, cl);
	cl->lines = evbuffer_new();
	bufferevent_setcb(cl->bev, control_read_cb, control_write_cb,
	    control_event_cb, cl);
	bufferevent_setwatermark(cl->bev, EV_READ, 0, CONTROL_IN_MAX);
	bufferevent_set_timeouts(cl->bev, &rtv, &wtv);
	bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&ctl->clients, cl, entry);
	ctl->nclients++;
}

static void
control_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	static const char	 busy[] =
	    "{\"ok\":false,\"error\":\"too many control clients\"}\n";
	struct control		*ctl = arg;
	int			 fd;

	if ((fd = usock_accept(lfd, ctl->ev, &ctl->pause, "control")) == -1)
		return;
	if (ctl->nclients >= CONTROL_CLIENTS_MAX) {
		ctl->refused_clients++;
		if (send(fd, busy, sizeof(busy) - 1,
		    MSG_DONTWAIT | MSG_NOSIGNAL) == -1)
			log_debug("control: refusing a client: %s",
			    strerror(errno));
		close(fd);
		return;
	}
	control_client_new(ctl, fd);
}

/*
 * Refresh of signal, operator and access technology.  The answers are
 * parsed into ctl->radio; a command that fails leaves the old value.
 */
static const struct {
	const char	*cmd;
	const char	*prefix;
} control_polls[] = {
	{ "AT+CSQ", "+CSQ:" },
	{ "AT+QCSQ", "+QCSQ:" },
	{ "AT+COPS?", "+COPS:" },
	{ "AT+QNWINFO", "+QNWINFO:" },
};
#define CONTROL_NPOLLS	(sizeof(control_polls) / sizeof(control_polls[0]))

/* Copy src into dst if it fits; otherwise leave dst empty. */
static void
control_copy(char *dst, size_t dstsz, const char *src)
{
	size_t	n = strlen(src);

	if (n >= dstsz)
		n = 0;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/*
 * One answer line of a refresh command, parsed by mline (no sscanf on
 * modem text).  A malformed answer clears what it would have set.
 */
static void
control_poll_line(void *arg, const char *line)
{
	struct control		*ctl = arg;
	struct control_radio	*r = &ctl->radio;
	struct mline		 m;
	const char		*prefix = control_polls[ctl->poll_next].prefix;

	switch (mline_parse(line, &m)) {
	case MLINE_CSQ:
		r->have_csq = m.u.csq.rssi <= 31;	/* 99: unknown */
		r->csq_dbm = -113 + 2 * m.u.csq.rssi;
		break;
	case MLINE_QCSQ:
		r->have_qcsq = false;
		control_copy(r->sysmode, sizeof(r->sysmode), m.u.qcsq.sysmode);
		if (r->sysmode[0] == '\0')
			return;
		if (strcmp(r->sysmode, "NOSERVICE") == 0) {
			r->sysmode[0] = '\0';
			return;
		}
		if (m.u.qcsq.nvals >= 1 && m.u.qcsq.vals[0] < 0) {
			r->have_qcsq = true;
			r->qcsq_dbm = m.u.qcsq.vals[0];
		}
		break;
	case MLINE_COPS:
		/* "+COPS: 0" when not registered. */
		control_copy(r->oper, sizeof(r->oper),
		    m.u.cops.has_oper ? m.u.cops.oper : "");
		break;
	case MLINE_QNWINFO:
		/* "+QNWINFO: No Service" */
		control_copy(r->act, sizeof(r->act),
		    m.u.qnwinfo.service ? m.u.qnwinfo.act : "");
		break;
	case MLINE_MALFORMED:
		/* Forget the fact this answer was about. */
		if (strcmp(prefix, "+CSQ:") == 0)
			r->have_csq = false;
		else if (strcmp(prefix, "+QCSQ:") == 0) {
			r->have_qcsq = false;
			r->sysmode[0] = '\0';
		} else if (strcmp(prefix, "+COPS:") == 0)
			r->oper[0] = '\0';
		else if (strcmp(prefix, "+QNWINFO:") == 0)
			r->act[0] = '\0';
		break;
	default:
		break;
	}
}

static void
control_poll_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct control	*ctl = arg;

	ctl->poll_cmd = NULL;
	if (res == ATQ_RES_ABORTED)
		return;
	ctl->poll_next = (ctl->poll_next + 1) % (int)CONTROL_NPOLLS;
	control_poll_arm(ctl, ctl->poll_next == 0 ? CONTROL_POLL_CYCLE_MS :
	    CONTROL_POLL_STEP_MS);
}

static void
control_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control	*ctl = arg;
	struct atq	*q = modem_atq(ctl->modem);
	struct atq_cmd	*c;

	if (modem_state(ctl->modem) != MODEM_READY || !atq_attached(q))
		return;		/* control_modem_ready() starts it again */
	if (ctl->poll_cmd != NULL)
		return;		/* its on_done re-arms */
	if (!atq_idle(q)) {
		/* Socket traffic or other commands: not now. */
		control_poll_arm(ctl, CONTROL_POLL_STEP_MS);
		return;
	}
	c = atq_cmd_new(TMO_COMMAND, "%s", control_polls[ctl->poll_next].cmd);
	c->prefix = control_polls[ctl->poll_next].prefix;
	c->on_line = control_poll_line;
	c->on_done = control_poll_done;
	c->arg = ctl;
	ctl->poll_cmd = c;
	atq_submit(q, c, false);
}

static void
control_poll_arm(struct control *ctl, int ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ctl->poll, &tv);
}

void
control_modem_ready(struct control *ctl)
{
	if (ctl == NULL)
		return;
	/* A new bring-up: forget what the last one saw. */
	memset(&ctl->radio, 0, sizeof(ctl->radio));
	ctl->poll_next = 0;
	if (ctl->poll_cmd == NULL)
		control_poll_arm(ctl, CONTROL_POLL_FIRST_MS);
}

struct control *
control_new(struct event_base *base, struct modem *m, struct msockset *ms,
    struct epset *eps)
{
	struct control	*ctl = xcalloc(1, sizeof(*ctl));

	ctl->base = base;
	ctl->modem = m;
	ctl->msocks = ms;
	ctl->eps = eps;
	ctl->started = now_ms();
	ctl->fd = -1;
	ctl->gid = -1;
	TAILQ_INIT(&ctl->clients);
	ctl->poll = evtimer_new(base, control_poll_cb, ctl);
	return ctl;
}

/* Stop listening and remove the socket file; clients stay. */
static void
control_unlisten(struct control *ctl)
{
	if (ctl->ev != NULL) {
		event_free(ctl->ev);
		ctl->ev = NULL;
	}
	if (ctl->pause != NULL) {
		event_free(ctl->pause);
		ctl->pause = NULL;
	}
	if (ctl->fd != -1) {
		close(ctl->fd);
		ctl->fd = -1;
		if (unlink(ctl->path) == -1 && errno != ENOENT)
			log_warn("control: unlink %s", ctl->path);
		log_info("control: %s removed", ctl->path);
	}
	ctl->path[0] = '\0';
}

int
control_apply(struct control *ctl, const struct conf *c, int gid, char *err,
    size_t errlen)
{
	char	 path[sizeof(ctl->path)];
	int	 fd;

	if (!c->control.enable) {
		control_unlisten(ctl);
		return 0;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/control.sock",
	    c->daemon.socket_dir) >= sizeof(path)) {
		snprintf(err, errlen, "%s/control.sock: path too long",
		    c->daemon.socket_dir);
		return -1;
	}
	if (ctl->fd != -1 && strcmp(path, ctl->path) == 0) {
		/* Same file: only its mode or group may change. */
		if ((gid != -1 && gid != ctl->gid &&
		    chown(path, (uid_t)-1, (gid_t)gid) == -1) ||
		    (c->control.mode != ctl->mode &&
		    chmod(path, (mode_t)c->control.mode) == -1)) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		ctl->mode = c->control.mode;
		ctl->gid = gid;
		return 0;
	}
	/* A new file first, so a failure keeps the old one working. */
	fd = usock_listen(path, SOCK_STREAM, c->control.mode, gid, err, errlen);
	if (fd < 0)
		return fd;
	control_unlisten(ctl);
	strlcpy(ctl->path, path, sizeof(ctl->path));
	ctl->fd = fd;
	ctl->mode = c->control.mode;
	ctl->gid = gid;
	ctl->ev = event_new(ctl->base, fd, EV_READ | EV_PERSIST,
	    control_accept_cb, ctl);
	event_add(ctl->ev, NULL);
	log_info("control: listening on %s", path);
	return 0;
}

void
control_free(struct control *ctl)
{
	struct control_client	*cl;

	if (ctl == NULL)
		return;
	while ((cl = TAILQ_FIRST(&ctl->clients)) != NULL)
		control_client_free(cl);
	if (ctl->poll_cmd != NULL)
		atq_cancel(modem_atq(ctl->modem), ctl->poll_cmd);
	event_free(ctl->poll);
	control_unlisten(ctl);
	free(ctl);
}
