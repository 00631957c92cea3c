/*
 * ctlat.c: the "at" request (see ctlat.h).  The command's info lines
 * are kept up to a bound (a chatty command cannot grow a reply without
 * limit); the reply says when some were dropped.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg96d/at.h"
#include "bg96d/atq.h"
#include "bg96d/ctlat.h"
#include "bg96d/ctljson.h"
#include "bg96d/ctlproto.h"
#include "bg96d/log.h"
#include "bg96d/util.h"

#define CTLAT_LINES_MAX		64		/* info lines kept */
#define CTLAT_BYTES_MAX		(16 * 1024)	/* of them in the reply */

struct ctlat {
	struct atq	*q;
	struct atq_cmd	*cmd;
	void		(*done)(void *, json_t *);
	void		*arg;
	json_t		*lines;
	size_t		 bytes;		/* lines and commas in the reply */
	bool		 truncated;
};

static void
ctlat_line(void *arg, const char *line)
{
	struct ctlat	*a = arg;
	size_t		 nlines = json_array_size(a->lines);
	json_t		*s;

	if (nlines >= CTLAT_LINES_MAX ||
	    a->bytes + strlen(line) > CTLAT_BYTES_MAX) {
		a->truncated = true;
		return;
	}
	s = ctl_json_str(line);
	a->bytes += (nlines > 0) + ctl_json_len(s);
	json_array_append_new(a->lines, s);
}

static void
ctlat_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct ctlat	*a = arg;
	json_t		*o;
	const char	*result, *err = NULL;
	char		 fin[AT_LINE_MAX + 1], msg[AT_LINE_MAX + 32];

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
	o = json_object();
	json_object_set_new(o, "ok", json_boolean(err == NULL));
	if (err != NULL)
		json_object_set_new(o, "error", ctl_json_str(err));
	json_object_set_new(o, "lines", a->lines);
	if (a->truncated)
		json_object_set_new(o, "truncated", json_true());
	json_object_set_new(o, "result", ctl_json_str(result));
	a->done(a->arg, o);
	free(a);
}

struct ctlat *
ctlat_start(struct atq *q, const struct ctl_req *r,
    void (*done)(void *, json_t *), void *arg, json_t **reply)
{
	struct ctlat	*a;
	char		 esc[128];

	if (!atq_attached(q)) {
		*reply = ctl_json_error("modem absent");
		return NULL;
	}
	/*
	 * In data mode anything written goes to the remote as payload, and
	 * queued commands would wait for as long as the connection lasts
	 * (transparent).  An auto connection gives the line back: the
	 * command waits for the escape (atq_submit asks for it).
	 */
	if (r->error == NULL && atq_line_owner(q, NULL) != ATQ_LINE_COMMAND &&
	    !atq_line_yields(q)) {
		*reply = ctl_json_error("line lent to a transparent connection");
		return NULL;
	}
	if (r->error != NULL) {
		log_info("control: refused \"%s\": %s",
		    log_escape(esc, sizeof(esc), r->at, strlen(r->at)),
		    r->error);
		*reply = ctl_json_error(r->error);
		return NULL;
	}
	log_debug("control: at %s", r->at);
	a = xcalloc(1, sizeof(*a));
	a->q = q;
	a->done = done;
	a->arg = arg;
	a->lines = json_array();
	a->cmd = atq_cmd_new(r->kind, "%s", r->at);
	a->cmd->prefix = r->prefix;
	a->cmd->on_line = ctlat_line;
	a->cmd->on_done = ctlat_done;
	a->cmd->arg = a;
	atq_submit(q, a->cmd, false);
	return a;
}

void
ctlat_cancel(struct ctlat *a)
{
	/* A queued command is dropped, one in flight ends without us. */
	atq_cancel(a->q, a->cmd);
	json_decref(a->lines);
	free(a);
}
