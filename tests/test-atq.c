/*
 * test-atq.c: the queue's line ownership and its idle-line jobs against
 * a scripted modem (scripted.h, level 1: queue and slot table over a
 * socketpair).
 *
 * Transparent mode (ref. section 5.11): once the modem answers CONNECT
 * the line is a raw pipe to one socket; "+++" between two guard times
 * of ESCAPE_GUARD_MS brings it back (OK), and so does the modem's own
 * "NO CARRIER" when the remote closes.  While the line is lent nothing
 * but the borrower writes: commands wait, jobs skip their turn.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg96d/at.h"
#include "bg96d/atq.h"
#include "bg96d/timeouts.h"
#include "bg96d/util.h"

#include "scripted.h"

/* The connection that borrows the line. */
struct borrower {
	struct atq	*q;
	int		 id;
	bool		 lent;		/* atq_lend_line() accepted */
	char		 in[4096];	/* bytes from the modem */
	size_t		 inlen;
	const char	*returned;	/* why the line came back */
	int		 nreturned;
	int		 nwanted;	/* wanted() calls (yielding) */
};

static void
b_data(void *arg, const uint8_t *data, size_t len)
{
	struct borrower	*b = arg;

	ck_assert_uint_lt(b->inlen + len, sizeof(b->in));
	memcpy(b->in + b->inlen, data, len);
	b->inlen += len;
	b->in[b->inlen] = '\0';
}

static void
b_returned(void *arg, const char *why)
{
	struct borrower	*b = arg;

	b->returned = why;
	b->nreturned++;
}

static const struct atq_borrower_ops b_ops = {
	.data = b_data,
	.returned = b_returned,
};

/* AT+QISWTMD=id,2 answered CONNECT: the line goes to the borrower. */
static void
b_switched(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct borrower	*b = arg;

	ck_assert_int_eq(res, ATQ_RES_OK);
	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(ev->final, AT_FINAL_CONNECT);
	b->lent = atq_lend_line(b->q, b->id, &b_ops, b);
}

/* A command that records how it ended. */
struct done {
	int		 n;
	enum atq_result	 res;
};

static void
done_cb(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct done	*d = arg;

	d->n++;
	d->res = res;
}

static struct atq_cmd *
cmd(const char *text, struct done *d)
{
	struct atq_cmd	*c = atq_cmd_new(TMO_COMMAND, "%s", text);

	c->on_done = done_cb;
	c->arg = d;
	return c;
}

/* Switch slot 0 to transparent mode; extra: bytes after CONNECT. */
static void
enter_data_mode(struct sm *t, struct borrower *b, const char *extra)
{
	struct atq_cmd	*c;
	char		 buf[256];
	int		 id;

	memset(b, 0, sizeof(*b));
	b->q = sm_atq(t);
	c = atq_cmd_new(TMO_COMMAND, "AT+QISWTMD=%d,2", b->id);
	c->on_done = b_switched;
	c->arg = b;
	atq_submit(b->q, c, false);
	sm_expect(t, "AT+QISWTMD=0,2\r");
	snprintf(buf, sizeof(buf), "\r\nCONNECT\r\n%s", extra);
	sm_send(t, buf);
	ck_assert(b->lent);
	ck_assert_int_eq(atq_line_owner(b->q, &id), ATQ_LINE_DATA);
	ck_assert_int_eq(id, 0);
	ck_assert(!atq_line_free(b->q));
}

/* Lend, raw bytes both ways, a command waits; reclaim with "+++". */
START_TEST(lend_and_reclaim)
{
	struct sm	*t = sm_new_slots();
	struct atq	*q = sm_atq(t);
	struct borrower	 b;
	struct done	 d = { 0 };
	long long	 wrote, escaped;

	/* Bytes in the same read as CONNECT are the socket's already. */
	enter_data_mode(t, &b, "hello");
	ck_assert_str_eq(b.in, "hello");
	wrote = now_ms();
	atq_line_write(q, "ping\r", 5);
	sm_expect(t, "ping\r");

	/* A command (a control "at" request, say) waits for the line. */
	atq_submit(q, cmd("AT+CSQ", &d), false);
	atq_kick(q);
	ck_assert(!atq_idle(q));

	/* Reclaim: nothing for a guard time, "+++", nothing again. */
	atq_reclaim_line(q);
	ck_assert_int_eq(atq_line_owner(q, NULL), ATQ_LINE_ESCAPING);
	atq_line_write(q, "late", 4);		/* the borrower is done */
	sm_send(t, "world");			/* the modem is not */
	sm_quiet(t, ESCAPE_GUARD_MS - 200);
	sm_expect(t, "+++");
	escaped = now_ms();
	ck_assert_int_ge(escaped - wrote, ESCAPE_GUARD_MS);
	ck_assert_str_eq(b.in, "helloworld");
	sm_quiet(t, ESCAPE_GUARD_MS - 200);
	ck_assert_int_eq(b.nreturned, 0);
	ck_assert_int_eq(d.n, 0);

	/* The modem's OK ends the escape; the waiting command goes out. */
	sm_send(t, "\r\nOK\r\n");
	ck_assert_int_eq(b.nreturned, 1);
	ck_assert_str_eq(b.returned, "escaped");
	ck_assert_str_eq(b.in, "helloworld");
	ck_assert_int_eq(atq_line_owner(q, NULL), ATQ_LINE_COMMAND);
	sm_expect(t, "AT+CSQ\r");
	sm_send(t, "\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
	ck_assert_int_eq(d.n, 1);
	ck_assert_int_eq(d.res, ATQ_RES_OK);
	ck_assert(atq_line_free(q));
	sm_free(t);
}
END_TEST

/*
 * The escape's first guard time counts from when the borrower's bytes
 * are through the line, not from write(): a pty (like a USB adapter's
 * own buffer) takes them at once.  At 9600 baud 600 bytes take 625 ms
 * on the wire, so "+++" may not come before 625 ms + the guard time.
 */
START_TEST(guard_counts_from_the_line)
{
	struct sm	*t = sm_new_slots();
	struct atq	*q = sm_atq(t);
	struct borrower	 b;
	uint8_t		 data[600];
	long long	 wrote;

	atq_set_line_rate(q, 9600);
	enter_data_mode(t, &b, "");
	memset(data, 'x', sizeof(data));
	wrote = now_ms();
	atq_line_write(q, data, sizeof(data));
	sm_expect_bytes(t, data, sizeof(data));
	atq_reclaim_line(q);
	sm_quiet(t, 600 + ESCAPE_GUARD_MS - 100);
	sm_expect(t, "+++");
	ck_assert_int_ge(now_ms() - wrote, 625 + ESCAPE_GUARD_MS);
	sm_send(t, "\r\nOK\r\n");
	ck_assert_int_eq(b.nreturned, 1);
	ck_assert_str_eq(b.returned, "escaped");
	sm_free(t);
}
END_TEST

/*
 * The remote closes: the modem writes NO CARRIER (split across reads
 * here) and is in command mode; the waiting command goes out at once.
 */
START_TEST(no_carrier_returns_the_line)
{
	struct sm	*t = sm_new_slots();
	struct atq	*q = sm_atq(t);
	struct borrower	 b;
	struct done	 d = { 0 };

	enter_data_mode(t, &b, "");
	atq_submit(q, cmd("AT+QISTATE", &d), false);
	sm_send(t, "last\r\nNO CAR");
	ck_assert_str_eq(b.in, "last");
	ck_assert_int_eq(b.nreturned, 0);
	sm_send(t, "RIER\r\n");
	ck_assert_int_eq(b.nreturned, 1);
	ck_assert_str_eq(b.returned, "NO CARRIER");
	ck_assert_str_eq(b.in, "last");
	sm_expect(t, "AT+QISTATE\r");
	sm_send(t, "\r\nOK\r\n");
	ck_assert_int_eq(d.n, 1);
	sm_free(t);
}
END_TEST

/* Bytes that only look like the start of a result are payload. */
START_TEST(held_bytes_are_payload)
{
	struct sm	*t = sm_new_slots();
	struct borrower	 b;

	enter_data_mode(t, &b, "");
	sm_send(t, "a\r\nNO C");
	ck_assert_str_eq(b.in, "a");
	sm_send(t, "ARPET\r\n\r\n");
	ck_assert_str_eq(b.in, "a\r\nNO CARPET\r\n");
	/* The last CR LF could still start one: held, then given. */
	sm_run(t, FINAL_LF_WAIT_MS + 100);
	ck_assert_str_eq(b.in, "a\r\nNO CARPET\r\n\r\n");
	/* "OK" only ends an escape that was asked for. */
	sm_send(t, "\r\nOK\r\n");
	sm_run(t, FINAL_LF_WAIT_MS + 100);
	ck_assert_str_eq(b.in, "a\r\nNO CARPET\r\n\r\n\r\nOK\r\n");
	ck_assert_int_eq(atq_line_owner(sm_atq(t), NULL), ATQ_LINE_DATA);
	sm_free(t);
}
END_TEST

/*
 * No OK after "+++": the line counts as reset (the borrower is told),
 * nothing more is written (the modem may still be in data mode: a
 * command would reach the remote), and the modem layer hears that the
 * modem is unresponsive.
 */
START_TEST(escape_without_ok)
{
	struct sm	*t = sm_new_slots();
	struct atq	*q = sm_atq(t);
	struct borrower	 b;
	struct done	 d = { 0 };
	unsigned long long timeouts;

	atq_set_timeout(q, TMO_COMMAND, 200);
	enter_data_mode(t, &b, "");
	atq_submit(q, cmd("AT", &d), false);
	timeouts = atq_stats(q)->timeouts;
	atq_reclaim_line(q);
	sm_expect(t, "+++");
	sm_quiet(t, ESCAPE_GUARD_MS + 200 + 300);
	ck_assert_int_eq(b.nreturned, 1);
	ck_assert_str_eq(b.returned, "reset");
	ck_assert_int_eq(atq_line_owner(q, NULL), ATQ_LINE_COMMAND);
	ck_assert_uint_eq(atq_stats(q)->timeouts, timeouts + 1);
	ck_assert_int_eq(d.n, 0);
	sm_free(t);
	ck_assert_int_eq(d.n, 1);
	ck_assert_int_eq(d.res, ATQ_RES_ABORTED);
}
END_TEST

/* A reset (modem rebooted, line lost) takes the line back too. */
START_TEST(abort_returns_the_line)
{
	struct sm	*t = sm_new_slots();
	struct borrower	 b;

	enter_data_mode(t, &b, "");
	atq_abort_all(sm_atq(t));
	ck_assert_int_eq(b.nreturned, 1);
	ck_assert_str_eq(b.returned, "reset");
	ck_assert_int_eq(atq_line_owner(sm_atq(t), NULL), ATQ_LINE_COMMAND);
	sm_free(t);
}
END_TEST

/* A job of the idle-line scheduler. */
struct job {
	struct atq	*q;
	struct atq_job	*job;
	int		 ticks, makes, done;
	bool		 del_in_tick;
};

static void
job_tick(void *arg)
{
	struct job	*j = arg;

	j->ticks++;
	if (j->del_in_tick) {
		atq_job_del(j->job);
		j->job = NULL;
	}
}

static void
job_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	((struct job *)arg)->done++;
}

static struct atq_cmd *
job_make(void *arg)
{
	struct job	*j = arg;
	struct atq_cmd	*c = atq_cmd_new(TMO_COMMAND, "AT+CEREG?");

	j->makes++;
	c->on_done = job_done;
	c->arg = j;
	return c;
}

static const struct atq_job_ops job_ops = {
	.tick = job_tick,
	.make = job_make,
};

/*
 * Jobs run on a free line only: a command in flight or a lent line
 * skips their turn (tick still runs); a free line gets their command.
 */
START_TEST(jobs_wait_for_a_free_line)
{
	struct sm	*t = sm_new_slots();
	struct atq	*q = sm_atq(t);
	struct borrower	 b;
	struct done	 d = { 0 };
	struct job	 j = { .q = q };
	int		 ticks;

	/* Busy: a command in flight for longer than a few periods. */
	atq_submit(q, cmd("AT+COPS?", &d), false);
	sm_expect(t, "AT+COPS?\r");
	j.job = atq_job_add(q, 50, &job_ops, &j);
	sm_quiet(t, 300);
	ck_assert_int_ge(j.ticks, 3);
	ck_assert_int_eq(j.makes, 0);
	sm_send(t, "\r\nOK\r\n");

	/* Free: the next turn writes the job's command. */
	sm_expect(t, "AT+CEREG?\r");
	ck_assert_int_eq(j.makes, 1);
	sm_send(t, "\r\n+CEREG: 0,1\r\n\r\nOK\r\n");
	ck_assert_int_eq(j.done, 1);

	/* Lent: turns go by, nothing is written. */
	atq_job_next(j.job, 10000);		/* not while switching */
	enter_data_mode(t, &b, "");
	atq_job_next(j.job, 0);
	ticks = j.ticks;
	sm_quiet(t, 300);
	ck_assert_int_gt(j.ticks, ticks);
	ck_assert_int_eq(j.makes, 1);
	sm_send(t, "\r\nNO CARRIER\r\n");
	sm_expect(t, "AT+CEREG?\r");
	sm_send(t, "\r\nOK\r\n");

	/* A job may delete itself from its tick: no make, no more turns. */
	j.del_in_tick = true;
	ticks = j.ticks;
	sm_quiet(t, 300);
	ck_assert_int_eq(j.ticks, ticks + 1);
	ck_assert_int_eq(j.makes, 2);
	sm_free(t);
}
END_TEST

/* A borrower that gives the line back when asked (auto mode). */
static void
b_wanted(void *arg)
{
	struct borrower	*b = arg;

	b->nwanted++;
	atq_reclaim_line(b->q);
}

static const struct atq_borrower_ops b_yield_ops = {
	.data = b_data,
	.returned = b_returned,
	.wanted = b_wanted,
};

static void
b_switched_yield(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct borrower	*b = arg;

	ck_assert_int_eq(res, ATQ_RES_OK);
	b->lent = atq_lend_line(b->q, b->id, &b_yield_ops, b);
}

static void
enter_yielding(struct sm *t, struct borrower *b)
{
	struct atq_cmd	*c;

	memset(b, 0, sizeof(*b));
	b->q = sm_atq(t);
	c = atq_cmd_new(TMO_COMMAND, "AT+QISWTMD=0,2");
	c->on_done = b_switched_yield;
	c->arg = b;
	atq_submit(b->q, c, false);
	sm_expect(t, "AT+QISWTMD=0,2\r");
	sm_send(t, "\r\nCONNECT\r\n");
	ck_assert(b->lent);
	ck_assert_int_eq(atq_line_owner(b->q, NULL), ATQ_LINE_DATA);
}

static const struct atq_job_ops escape_job_ops = {
	.tick = job_tick,
	.make = job_make,
	.escape = true,
};

/*
 * A borrower that yields: a submitted command, or the turn of a job
 * that escapes, asks it for the line; a job that does not escape only
 * waits.  Once the line is back every owed job, and every job due
 * within JOB_BATCH_MS, takes its turn at once (one escape for all).
 */
START_TEST(yielding_borrower_is_asked)
{
	struct sm	*t = sm_new_slots();
	struct atq	*q = sm_atq(t);
	struct borrower	 b;
	struct done	 d = { 0 };
	struct job	 quiet = { .q = q }, health = { .q = q };
	long long	 lent;

	/* A command submitted while lent: wanted(), escape, command. */
	enter_yielding(t, &b);
	ck_assert(atq_line_yields(q));
	atq_submit(q, cmd("AT+CSQ", &d), false);
	ck_assert_int_eq(b.nwanted, 1);
	ck_assert_int_eq(atq_line_owner(q, NULL), ATQ_LINE_ESCAPING);
	sm_quiet(t, ESCAPE_GUARD_MS - 200);
	sm_expect(t, "+++");
	sm_quiet(t, ESCAPE_GUARD_MS - 200);
	sm_send(t, "\r\nOK\r\n");
	ck_assert_str_eq(b.returned, "escaped");
	sm_expect(t, "AT+CSQ\r");
	sm_send(t, "\r\nOK\r\n");
	ck_assert_int_eq(d.n, 1);

	/* Jobs: one that does not escape waits, one that does asks. */
	quiet.job = atq_job_add(q, 60000, &job_ops, &quiet);
	health.job = atq_job_add(q, 60000, &escape_job_ops, &health);
	enter_yielding(t, &b);
	lent = now_ms();
	atq_job_next(quiet.job, 0);
	sm_quiet(t, 200);
	ck_assert_int_eq(b.nwanted, 0);		/* it only waits */
	ck_assert_int_eq(quiet.makes, 0);
	/* Owed, but it does not escape: it waits for one. */
	ck_assert_int_gt(atq_job_due_ms(q), JOB_BATCH_MS);
	atq_job_next(health.job, JOB_BATCH_MS / 2);
	atq_job_next(health.job, 0);
	sm_run(t, 50);
	ck_assert_int_eq(b.nwanted, 1);
	sm_expect(t, "+++");
	ck_assert_int_ge(now_ms() - lent, ESCAPE_GUARD_MS);
	sm_quiet(t, ESCAPE_GUARD_MS - 200);
	sm_send(t, "\r\nOK\r\n");
	/* Both turns come now, not after their period. */
	sm_expect(t, "AT+CEREG?\r");
	sm_send(t, "\r\nOK\r\n");
	sm_expect(t, "AT+CEREG?\r");
	sm_send(t, "\r\nOK\r\n");
	ck_assert_int_eq(quiet.makes + health.makes, 2);
	ck_assert_int_eq(quiet.done + health.done, 2);
	ck_assert_int_gt(atq_job_due_ms(q), JOB_BATCH_MS);
	atq_job_del(quiet.job);
	atq_job_del(health.job);
	sm_free(t);
}
END_TEST

/*
 * A CONNECT after its command's deadline: the modem is in data mode
 * and nobody holds the line.  Nothing may be written but the escape.
 */
START_TEST(late_connect_escapes)
{
	struct sm	*t = sm_new_slots();
	struct atq	*q = sm_atq(t);
	struct done	 d = { 0 }, d2 = { 0 };
	const char	*probe;

	atq_set_timeout(q, TMO_COMMAND, 300);
	atq_set_timeout(q, TMO_PROBE, 10000);
	atq_submit(q, cmd("AT+QISWTMD=0,2", &d), false);
	sm_expect(t, "AT+QISWTMD=0,2\r");
	sm_run(t, 400);
	ck_assert_int_eq(d.n, 1);
	ck_assert_int_eq(d.res, ATQ_RES_TIMEOUT);
	/* The resync probe goes out; the late CONNECT comes instead. */
	probe = sm_next_cmd(t);
	ck_assert_str_eq(probe, "AT+CMEE?");
	sm_send(t, "\r\nCONNECT\r\n");
	ck_assert_int_eq(atq_line_owner(q, NULL), ATQ_LINE_ESCAPING);
	atq_submit(q, cmd("AT+CSQ", &d2), false);
	sm_quiet(t, ESCAPE_GUARD_MS - 200);
	sm_expect(t, "+++");
	sm_quiet(t, ESCAPE_GUARD_MS - 200);
	sm_send(t, "\r\nOK\r\n");
	ck_assert_int_eq(atq_line_owner(q, NULL), ATQ_LINE_COMMAND);
	ck_assert_int_eq(d2.n, 0);	/* behind the probe, not lost */
	sm_free(t);
}
END_TEST

/*
 * DCD dropped in data mode ([modem] dcd, AT&C1): the connection ended,
 * as with "NO CARRIER"; the waiting command goes out at once.
 */
START_TEST(dcd_drop_ends_data_mode)
{
	struct sm	*t = sm_new_slots();
	struct atq	*q = sm_atq(t);
	struct borrower	 b;
	struct done	 d = { 0 };

	atq_set_dcd(q, true);
	enter_data_mode(t, &b, "");
	atq_submit(q, cmd("AT+CSQ", &d), false);
	sm_quiet(t, 300);		/* a pty cannot report DCD: no harm */
	ck_assert_int_eq(atq_line_owner(q, NULL), ATQ_LINE_DATA);
	atq_carrier_lost(q);
	ck_assert_int_eq(b.nreturned, 1);
	ck_assert_str_eq(b.returned, "NO CARRIER");
	sm_expect(t, "AT+CSQ\r");
	sm_send(t, "\r\nOK\r\n");
	ck_assert_int_eq(d.n, 1);
	sm_free(t);
}
END_TEST

/*
 * Direct push: payloads that come while a command waits take the line,
 * and the modem answers after them.  At 9600 bit/s, 600 pushed bytes
 * are 625 ms of line: a 300 ms deadline moves past them, and the
 * answer that follows is the command's, not a timeout.
 */
START_TEST(pushed_bytes_move_the_deadline)
{
	struct sm	*t = sm_new_slots();
	struct atq	*q = sm_atq(t);
	struct done	 d = { 0 };
	char		 buf[700];

	atq_set_line_rate(q, 9600);
	atq_set_timeout(q, TMO_COMMAND, 300);
	atq_set_push(q, 0, true);
	atq_submit(q, cmd("AT+CSQ", &d), false);
	sm_expect(t, "AT+CSQ\r");
	snprintf(buf, sizeof(buf), "\r\n+QIURC: \"recv\",0,600\r\n");
	memset(buf + strlen(buf), 'x', 600);
	sm_send_bytes(t, buf, strlen("\r\n+QIURC: \"recv\",0,600\r\n") +
	    600);
	sm_send(t, "\r\n");
	sm_quiet(t, 450);
	ck_assert_int_eq(d.n, 0);
	sm_send(t, "\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
	ck_assert_int_eq(d.n, 1);
	ck_assert_int_eq(d.res, ATQ_RES_OK);
	sm_free(t);
}
END_TEST

/*
 * A client that does not read while the line is taken back: the hold
 * must not stop the reading of the escape's OK (else no OK, a "reset"
 * and a modem recovery for nothing).
 */
START_TEST(hold_does_not_block_the_escape)
{
	struct sm	*t = sm_new_slots();
	struct atq	*q = sm_atq(t);
	struct borrower	 b;
	struct done	 d = { 0 };

	enter_yielding(t, &b);
	atq_submit(q, cmd("AT+CSQ", &d), false);
	ck_assert_int_eq(atq_line_owner(q, NULL), ATQ_LINE_ESCAPING);
	atq_line_hold(q, true);		/* the client's buffer is full */
	sm_send(t, "more payload");
	sm_expect(t, "+++");
	sm_quiet(t, ESCAPE_GUARD_MS - 200);
	sm_send(t, "\r\nOK\r\n");
	sm_expect(t, "AT+CSQ\r");
	ck_assert_str_eq(b.returned, "escaped");
	ck_assert_str_eq(b.in, "more payload");
	sm_send(t, "\r\nOK\r\n");
	ck_assert_int_eq(d.n, 1);
	sm_free(t);
}
END_TEST

/*
 * AT+QISWTMD=id,2 (may answer CONNECT) times out: if it was only late
 * the modem is in data mode, so the line is escaped before the probe
 * (which would otherwise reach the remote as payload).
 */
START_TEST(connect_timeout_escapes_before_probe)
{
	struct sm	*t = sm_new_slots();
	struct atq	*q = sm_atq(t);
	struct atq_cmd	*c;
	struct done	 d = { 0 };

	atq_set_timeout(q, TMO_COMMAND, 300);
	c = cmd("AT+QISWTMD=0,2", &d);
	c->may_connect = true;
	atq_submit(q, c, false);
	sm_expect(t, "AT+QISWTMD=0,2\r");
	sm_run(t, 350);
	ck_assert_int_eq(d.res, ATQ_RES_TIMEOUT);
	sm_send(t, "\r\nCONNECT\r\n");	/* late */
	sm_quiet(t, ESCAPE_GUARD_MS - 400);	/* no probe into data mode */
	sm_expect(t, "+++");
	sm_quiet(t, ESCAPE_GUARD_MS - 200);
	sm_send(t, "\r\nOK\r\n");
	ck_assert_str_eq(sm_next_cmd(t), "AT+CMEE?");
	sm_send(t, "\r\n+CMEE: 1\r\n\r\nOK\r\n");
	sm_run(t, 50);
	ck_assert(atq_line_free(q));
	sm_free(t);
}
END_TEST

static Suite *
atq_suite(void)
{
	Suite	*s = suite_create("atq");
	TCase	*tc = tcase_create("line");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, lend_and_reclaim);
	tcase_add_test(tc, guard_counts_from_the_line);
	tcase_add_test(tc, no_carrier_returns_the_line);
	tcase_add_test(tc, held_bytes_are_payload);
	tcase_add_test(tc, escape_without_ok);
	tcase_add_test(tc, abort_returns_the_line);
	tcase_add_test(tc, jobs_wait_for_a_free_line);
	tcase_add_test(tc, yielding_borrower_is_asked);
	tcase_add_test(tc, late_connect_escapes);
	tcase_add_test(tc, dcd_drop_ends_data_mode);
	tcase_add_test(tc, pushed_bytes_move_the_deadline);
	tcase_add_test(tc, hold_does_not_block_the_escape);
	tcase_add_test(tc, connect_timeout_escapes_before_probe);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(atq_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
