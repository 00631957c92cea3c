/*
 * control.c: the control socket, <socket_dir>/control.sock (DESIGN.md
 * section 5).
 *
 * One request line in, one JSON reply line out, in request order.  An
 * "at" request goes through the modem's command queue: the client's
 * later requests wait until its answer is written.  Input, output and the
 * number of clients are bounded.  The replies are built elsewhere:
 * "status" in ctlstatus.c, "at" in ctlat.c; the radio facts "status"
 * shows are polled by the modem layer (radio.c).  Here: listening,
 * clients, the line protocol and dispatch.
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

#include "bg96d/conf.h"
#include "bg96d/control.h"
#include "bg96d/ctlat.h"
#include "bg96d/ctljson.h"
#include "bg96d/ctlproto.h"
#include "bg96d/ctlstatus.h"
#include "bg96d/evtimer.h"
#include "bg96d/log.h"
#include "bg96d/modem.h"
#include "bg96d/timeouts.h"
#include "bg96d/usock.h"
#include "bg96d/util.h"

#define CONTROL_CLIENTS_MAX	16		/* connections at once */
#define CONTROL_IN_MAX		(64 * 1024)	/* input buffered per client */
#define CONTROL_OUT_MAX		(64 * 1024)	/* output before we stop reading */

struct control;

struct control_client {
	TAILQ_ENTRY(control_client) entry;
	struct control		*ctl;
	struct bufferevent	*bev;
	struct event		*resume;	/* go on after an "at" answer */
	struct event		*line_timer;	/* CONTROL_LINE_S, partial line */
	struct ctlat		*at;		/* "at" in flight, or NULL */
	bool			 eof;		/* no more input */
	bool			 closing;	/* free once output is written */
};

struct control {
	struct event_base	*base;
	struct modem		*modem;
	struct msockset		*msocks;
	struct epset		*eps;
	long long		 started;

	struct usock_file	 file;		/* control.sock */

	TAILQ_HEAD(, control_client) clients;
	int			 nclients;
	unsigned long long	 requests, refused_clients;

};

static void	control_accept_cb(evutil_socket_t, short, void *);
static void	control_client_run(struct control_client *);
static void	control_line_timer_cb(evutil_socket_t, short, void *);
static void	control_client_free(struct control_client *);

static int
control_dump_cb(const char *buf, size_t size, void *arg)
{
	return evbuffer_add(arg, buf, size);
}

/* Queue reply j as one line for the client; j is freed. */
static void
control_reply(struct control_client *cl, json_t *j)
{
	struct evbuffer	*b = evbuffer_new();

	json_dump_callback(j, control_dump_cb, b, CTL_JSON_FLAGS);
	evbuffer_add(b, "\n", 1);
	bufferevent_write_buffer(cl->bev, b);
	evbuffer_free(b);
	json_decref(j);
}

static void
control_reply_error(struct control_client *cl, const char *err)
{
	control_reply(cl, ctl_json_error(err));
}

static void
control_reply_ok(struct control_client *cl)
{
	json_t	*j = json_object();

	json_object_set_new(j, "ok", json_true());
	control_reply(cl, j);
}

static void
control_status(struct control_client *cl)
{
	struct control		*ctl = cl->ctl;
	struct ctlstatus_src	 src;

	src.modem = ctl->modem;
	src.msocks = ctl->msocks;
	src.eps = ctl->eps;
	src.started = ctl->started;
	src.requests = ctl->requests;
	src.refused = ctl->refused_clients;
	control_reply(cl, ctlstatus_json(&src));
}

/* The modem answered the client's "at". */
static void
control_at_done(void *arg, json_t *reply)
{
	struct control_client	*cl = arg;

	cl->at = NULL;
	control_reply(cl, reply);
	/* Not from inside the queue's callback: go on from the loop. */
	event_active(cl->resume, EV_TIMEOUT, 1);
}

static void
control_at(struct control_client *cl, const struct ctl_req *r)
{
	json_t	*reply = NULL;

	cl->at = ctlat_start(modem_atq(cl->ctl->modem), r, control_at_done,
	    cl, &reply);
	if (cl->at == NULL)
		control_reply(cl, reply);
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
	char		 line[CONTROL_LINE_MAX + 1];
	bool		 overlong, took = false, partial = false;

	while (!cl->closing && cl->at == NULL &&
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
		evtimer_add_ms(cl->line_timer, CONTROL_LINE_S * 1000);
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
		if ((what & BEV_EVENT_READING) && cl->at != NULL &&
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

	if (cl->at != NULL) {
		/* Its answer must not reach a freed client. */
		ctlat_cancel(cl->at);
		cl->at = NULL;
	}
	TAILQ_REMOVE(&ctl->clients, cl, entry);
	ctl->nclients--;
	bufferevent_free(cl->bev);
	event_free(cl->resume);
	event_free(cl->line_timer);
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

	if ((fd = usock_accept(&ctl->file.ls, "control")) == -1)
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
	usock_file_init(&ctl->file, "control");
	TAILQ_INIT(&ctl->clients);
	ctl_json_init();
	return ctl;
}

int
control_apply(struct control *ctl, const struct conf *c, int gid, char *err,
    size_t errlen)
{
	return usock_file_apply(&ctl->file, ctl->base, c->control.enable,
	    c->daemon.socket_dir, "control.sock", c->control.mode, gid,
	    control_accept_cb, ctl, err, errlen);
}

void
control_free(struct control *ctl)
{
	struct control_client	*cl;

	if (ctl == NULL)
		return;
	while ((cl = TAILQ_FIRST(&ctl->clients)) != NULL)
		control_client_free(cl);
	usock_file_close(&ctl->file);
	free(ctl);
}
