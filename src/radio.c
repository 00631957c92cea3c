/*
 * radio.c: the radio refresh (see radio.h).
 *
 * The steps (which command comes next, what its answer means) run as
 * a job of the queue (atq_job_add), which gives them the line only when
 * it is free, as it does the modem's health check.
 */
#include <stdlib.h>
#include <string.h>

#include "bg96d/at.h"
#include "bg96d/atq.h"
#include "bg96d/events.h"
#include "bg96d/mline.h"
#include "bg96d/radio.h"
#include "bg96d/timeouts.h"
#include "bg96d/util.h"

/* Facts from the answers; unknown is false / "". */
struct radio_facts {
	int			 csq_dbm;
	int			 qcsq_dbm;
	bool			 have_csq, have_qcsq;
	bool			 have_lte;	/* +QCSQ: rsrp, sinr, rsrq */
	int			 rsrp, sinr, rsrq;
	char			 sysmode[32];	/* +QCSQ */
	char			 act[32];	/* +QNWINFO */
	char			 oper[64];	/* +COPS */
};

struct radio {
	struct atq		*q;
	struct atq_job		*job;		/* while the modem is ready */
	struct atq_cmd		*cmd;		/* in flight, or NULL */
	int			 step;		/* which command is next */
	struct radio_facts	 f;
	struct radio_info	 info;
};

static const struct {
	const char	*cmd;
	const char	*prefix;
} radio_steps[] = {
	{ "AT+CSQ", "+CSQ:" },
	{ "AT+QCSQ", "+QCSQ:" },
	{ "AT+COPS?", "+COPS:" },
	{ "AT+QNWINFO", "+QNWINFO:" },
};
#define RADIO_NSTEPS	((int)(sizeof(radio_steps) / sizeof(radio_steps[0])))

/* Copy src into dst if it fits; otherwise leave dst empty. */
static void
radio_copy(char *dst, size_t dstsz, const char *src)
{
	size_t	n = strlen(src);

	if (n >= dstsz)
		n = 0;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* What status shows: +QCSQ's more precise facts win over the others. */
static void
radio_derive(struct radio *r)
{
	const struct radio_facts	*f = &r->f;
	struct radio_info		*i = &r->info;

	strlcpy(i->oper, f->oper, sizeof(i->oper));
	events_operator(i->oper);
	strlcpy(i->rat, f->sysmode[0] != '\0' ? f->sysmode : f->act,
	    sizeof(i->rat));
	i->have_rssi = f->have_qcsq || f->have_csq;
	i->rssi_dbm = f->have_qcsq ? f->qcsq_dbm : f->csq_dbm;
	i->have_lte = f->have_qcsq && f->have_lte;
	i->rsrp_dbm = f->rsrp;
	i->rsrq_db = f->rsrq;
	i->sinr_db = f->sinr / 5.0 - 20.0;
}

/*
 * One answer line of a refresh command, parsed by mline (no sscanf on
 * modem text).  A malformed answer clears what it would have set; a
 * command that fails leaves the old value.
 */
static void
radio_line(void *arg, const char *line)
{
	struct radio		*r = arg;
	struct radio_facts	*f = &r->f;
	struct mline		 m;
	const char		*prefix = radio_steps[r->step].prefix;

	switch (mline_parse(line, &m)) {
	case MLINE_CSQ:
		f->have_csq = m.u.csq.rssi <= 31;	/* 99: unknown */
		f->csq_dbm = -113 + 2 * m.u.csq.rssi;
		break;
	case MLINE_QCSQ:
		f->have_qcsq = false;
		radio_copy(f->sysmode, sizeof(f->sysmode), m.u.qcsq.sysmode);
		if (f->sysmode[0] == '\0')
			break;
		if (strcmp(f->sysmode, "NOSERVICE") == 0) {
			f->sysmode[0] = '\0';
			break;
		}
		if (m.u.qcsq.nvals >= 1 && m.u.qcsq.vals[0] < 0) {
			f->have_qcsq = true;
			f->qcsq_dbm = m.u.qcsq.vals[0];
		}
		/* "<mode>",<rssi>,<rsrp>,<sinr>,<rsrq> on LTE modes. */
		f->have_lte = m.u.qcsq.nvals >= 4 &&
		    strcmp(f->sysmode, "GSM") != 0;
		if (f->have_lte) {
			f->rsrp = m.u.qcsq.vals[1];
			f->sinr = m.u.qcsq.vals[2];
			f->rsrq = m.u.qcsq.vals[3];
		}
		break;
	case MLINE_COPS:
		/* "+COPS: 0" when not registered. */
		radio_copy(f->oper, sizeof(f->oper),
		    m.u.cops.has_oper ? m.u.cops.oper : "");
		break;
	case MLINE_QNWINFO:
		/* "+QNWINFO: No Service" */
		radio_copy(f->act, sizeof(f->act),
		    m.u.qnwinfo.service ? m.u.qnwinfo.act : "");
		break;
	case MLINE_MALFORMED:
		/* Forget the fact this answer was about. */
		if (strcmp(prefix, "+CSQ:") == 0)
			f->have_csq = false;
		else if (strcmp(prefix, "+QCSQ:") == 0) {
			f->have_qcsq = false;
			f->sysmode[0] = '\0';
		} else if (strcmp(prefix, "+COPS:") == 0)
			f->oper[0] = '\0';
		else if (strcmp(prefix, "+QNWINFO:") == 0)
			f->act[0] = '\0';
		break;
	default:
		break;
	}
	radio_derive(r);
}

/* The command of the current step, its answers parsed into r. */
static struct atq_cmd *
radio_step_cmd(struct radio *r)
{
	struct atq_cmd	*c;

	c = atq_cmd_new(TMO_COMMAND, "%s", radio_steps[r->step].cmd);
	c->prefix = radio_steps[r->step].prefix;
	c->on_line = radio_line;
	c->arg = r;
	return c;
}

/* The step is over: on to the next; returns the wait before it. */
static int
radio_step_next(struct radio *r)
{
	r->step = (r->step + 1) % RADIO_NSTEPS;
	return r->step == 0 ? RADIO_POLL_CYCLE_MS : RADIO_POLL_STEP_MS;
}

/* The timer half. */

static void
radio_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct radio	*r = arg;

	r->cmd = NULL;
	if (res == ATQ_RES_ABORTED || r->job == NULL)
		return;		/* the modem went away: radio_start() */
	atq_job_next(r->job, radio_step_next(r));
}

/* A turn of the job on a free line: the next step's command. */
static struct atq_cmd *
radio_make(void *arg)
{
	struct radio	*r = arg;

	if (r->cmd != NULL)
		return NULL;	/* its on_done moves the next turn */
	r->cmd = radio_step_cmd(r);
	r->cmd->on_done = radio_done;
	return r->cmd;
}

static const struct atq_job_ops radio_job_ops = {
	.make = radio_make,
};

struct radio *
radio_new(struct atq *q)
{
	struct radio	*r = xcalloc(1, sizeof(*r));

	r->q = q;
	return r;
}

void
radio_start(struct radio *r)
{
	/* A new bring-up: forget what the last one saw. */
	memset(&r->f, 0, sizeof(r->f));
	radio_derive(r);
	r->step = 0;
	atq_job_del(r->job);
	/* A busy line skips a turn: the next comes a step later. */
	r->job = atq_job_add(r->q, RADIO_POLL_STEP_MS, &radio_job_ops, r);
	atq_job_next(r->job, RADIO_POLL_FIRST_MS);
}

void
radio_stop(struct radio *r)
{
	atq_job_del(r->job);
	r->job = NULL;
}

const struct radio_info *
radio_info(const struct radio *r)
{
	return &r->info;
}

void
radio_free(struct radio *r)
{
	if (r == NULL)
		return;
	radio_stop(r);
	if (r->cmd != NULL)
		atq_cancel(r->q, r->cmd);
	free(r);
}
