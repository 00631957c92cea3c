/*
 * test-scripted.c: bg96d's lower layers against a scripted modem.
 *
 * Each test plays one timing a real BG96 may produce (bg96-at-reference
 * sections 1, 5, 11) and checks the exact commands bg96d writes and what
 * its clients see.  Issue 13's defects each have a test here that failed
 * before their fix; its number is in the test's name.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bg96d/at.h"
#include "bg96d/atq.h"
#include "bg96d/ctlat.h"
#include "bg96d/ctlproto.h"
#include "bg96d/ctlstatus.h"
#include "bg96d/endpoint.h"
#include "bg96d/modem.h"
#include "bg96d/msock.h"
#include "bg96d/stack.h"
#include "bg96d/timeouts.h"
#include "bg96d/util.h"

#include "scripted.h"

/* A slot's owner, as a bridge would be: records what it is told. */
struct own {
	struct sm		*t;
	struct msock		*ms;
	int			 opened;	/* OPEN_PENDING until told */
	int			 nopened;	/* times told */
	uint8_t			 down[65536];
	size_t			 downlen;
	const char		*up;		/* to send */
	size_t			 upoff;
	int			 sent;
	bool			 peer_closed;
	bool			 gone;
	struct own		*accept_into;	/* listener: takes incoming */
};

#define OPEN_PENDING	(-1000)

static void
own_opened(void *arg, int err)
{
	((struct own *)arg)->opened = err;
	((struct own *)arg)->nopened++;
}

static void
own_received(void *arg, const uint8_t *data, size_t len, const char *ip,
    int port)
{
	struct own	*o = arg;

	ck_assert_uint_le(o->downlen + len, sizeof(o->down));
	memcpy(o->down + o->downlen, data, len);
	o->downlen += len;
}

static bool
own_can_receive(void *arg)
{
	return true;
}

static size_t
own_next_chunk(void *arg, uint8_t *buf, size_t max, struct msock_peer *dest)
{
	struct own	*o = arg;
	size_t		 n;

	if (o->up == NULL || o->up[o->upoff] == '\0')
		return 0;
	n = strlen(o->up + o->upoff);
	if (n > max)
		n = max;
	memcpy(buf, o->up + o->upoff, n);
	o->upoff += n;
	return n;
}

static void
own_sent(void *arg)
{
	((struct own *)arg)->sent++;
}

static void
own_peer_closed(void *arg)
{
	((struct own *)arg)->peer_closed = true;
}

static void
own_gone(void *arg, const char *why)
{
	((struct own *)arg)->gone = true;
}

static const struct msock_ops own_ops;

static void
own_incoming(void *arg, struct msock *ms, const struct msock_peer *from)
{
	struct own	*o = arg;

	if (o->accept_into == NULL)
		return;
	o->accept_into->ms = ms;
	o->accept_into->opened = 0;
	msock_set_owner(ms, &own_ops, o->accept_into);
}

static const struct msock_ops own_ops = {
	.opened = own_opened,
	.received = own_received,
	.can_receive = own_can_receive,
	.next_chunk = own_next_chunk,
	.sent = own_sent,
	.peer_closed = own_peer_closed,
	.gone = own_gone,
	.incoming = own_incoming,
};

static void
own_init(struct own *o, struct sm *t)
{
	memset(o, 0, sizeof(*o));
	o->t = t;
	o->opened = OPEN_PENDING;
}

static bool
is_opened(void *arg)
{
	return ((struct own *)arg)->opened != OPEN_PENDING;
}

static bool
is_sent(void *arg)
{
	return ((struct own *)arg)->sent > 0;
}

static bool
is_peer_closed(void *arg)
{
	return ((struct own *)arg)->peer_closed;
}

static struct sm *the_sm;

static bool
all_free(void *arg)
{
	return msockset_free_slots(sm_set(the_sm)) == AT_NSLOTS;
}

/* Open a buffer-mode socket of type on slot 11 and see it open. */
static void
open_slot(struct sm *t, struct own *o, enum msock_type type, const char *cmd)
{
	char	 urc[64];

	own_init(o, t);
	o->ms = msock_open(sm_set(t), type, type == MSOCK_TCP_LISTENER ||
	    type == MSOCK_UDP_SERVICE ? "127.0.0.1" : "192.0.2.10",
	    type == MSOCK_TCP_LISTENER || type == MSOCK_UDP_SERVICE ? 0 : 8009,
	    type == MSOCK_TCP_LISTENER || type == MSOCK_UDP_SERVICE ? 2020 : 0,
	    false, 10000, &own_ops, o);
	ck_assert_ptr_nonnull(o->ms);
	sm_expect(t, cmd);
	snprintf(urc, sizeof(urc), "\r\nOK\r\n\r\n+QIOPEN: %d,0\r\n",
	    msock_id(o->ms));
	sm_send(t, urc);
	sm_until(t, is_opened, o, "the open");
	ck_assert_int_eq(o->opened, 0);
}

#define QIOPEN_TCP11 "AT+QIOPEN=1,11,\"TCP\",\"192.0.2.10\",8009,0,0\r"

/* Send o->up (one chunk) on slot id: QISEND, prompt, bytes, SEND OK. */
static void
send_chunk(struct sm *t, struct own *o, const char *cmd, const char *data)
{
	o->up = data;
	o->upoff = 0;
	o->sent = 0;
	msock_kick(o->ms);
	sm_expect(t, cmd);
	sm_send(t, "\r\n> ");
	sm_expect(t, data);
	sm_send(t, "\r\nSEND OK\r\n");
	sm_until(t, is_sent, o, "SEND OK");
}

/*
 * Defect 1: the "closed" URC lands inside the answer to the drain query
 * (AT+QISEND=id,0) after the client closed.  The slot must still get its
 * AT+QICLOSE, or it leaks for good.
 */
START_TEST(d01_closed_inside_drain_answer)
{
	struct sm	*t = the_sm = sm_new_slots();
	struct own	 o;

	open_slot(t, &o, MSOCK_TCP, QIOPEN_TCP11);
	send_chunk(t, &o, "AT+QISEND=11,5\r", "hello");
	msock_close(o.ms);
	sm_expect(t, "AT+QISEND=11,0\r");
	sm_send(t, "\r\n+QIURC: \"closed\",11\r\n"
	    "\r\n+QISEND: 5,0,5\r\n\r\nOK\r\n");
	sm_expect(t, "AT+QICLOSE=11,1\r");
	sm_send(t, "\r\nOK\r\n");
	sm_until(t, all_free, NULL, "every slot free");
	sm_free(t);
}
END_TEST

/* The drain goes on while bytes are unacked, then closes. */
START_TEST(drain_until_acked)
{
	struct sm	*t = the_sm = sm_new_slots();
	struct own	 o;

	open_slot(t, &o, MSOCK_TCP, QIOPEN_TCP11);
	send_chunk(t, &o, "AT+QISEND=11,5\r", "hello");
	msock_close(o.ms);
	sm_expect(t, "AT+QISEND=11,0\r");
	sm_send(t, "\r\n+QISEND: 5,0,5\r\n\r\nOK\r\n");
	sm_expect(t, "AT+QISEND=11,0\r");
	sm_send(t, "\r\n+QISEND: 5,5,0\r\n\r\nOK\r\n");
	sm_expect(t, "AT+QICLOSE=11,1\r");
	sm_send(t, "\r\nOK\r\n");
	sm_until(t, all_free, NULL, "every slot free");
	sm_free(t);
}
END_TEST

static void
read_answer(struct sm *t, const char *id, const char *data)
{
	char	 cmd[32], ans[2048];

	snprintf(cmd, sizeof(cmd), "AT+QIRD=%s\r", id);
	sm_expect(t, cmd);
	snprintf(ans, sizeof(ans), "\r\n+QIRD: %zu\r\n%s\r\n\r\nOK\r\n",
	    strlen(data), data);
	sm_send(t, ans);
}

/*
 * Defect 2: data arrives while the modem answers an empty read; its
 * recv URC sits between "+QIRD: 0" and OK and is never repeated.
 */
START_TEST(d02_recv_between_empty_read_and_ok)
{
	struct sm	*t = the_sm = sm_new_slots();
	struct own	 o;

	open_slot(t, &o, MSOCK_TCP, QIOPEN_TCP11);
	sm_send(t, "\r\n+QIURC: \"recv\",11\r\n");
	read_answer(t, "11", "hello");
	sm_expect(t, "AT+QIRD=11\r");
	sm_send(t, "\r\n+QIRD: 0\r\n\r\n+QIURC: \"recv\",11\r\n\r\nOK\r\n");
	read_answer(t, "11", "world");
	sm_expect(t, "AT+QIRD=11\r");
	sm_send(t, "\r\n+QIRD: 0\r\n\r\nOK\r\n");
	sm_quiet(t, 300);
	ck_assert_uint_eq(o.downlen, 10);
	ck_assert(memcmp(o.down, "helloworld", 10) == 0);
	ck_assert(!o.peer_closed);
	sm_free(t);
}
END_TEST

/* Defect 2, second form: the "closed" URC in the same window. */
START_TEST(d02_closed_between_empty_read_and_ok)
{
	struct sm	*t = the_sm = sm_new_slots();
	struct own	 o;

	open_slot(t, &o, MSOCK_TCP, QIOPEN_TCP11);
	sm_send(t, "\r\n+QIURC: \"recv\",11\r\n");
	read_answer(t, "11", "hello");
	sm_expect(t, "AT+QIRD=11\r");
	sm_send(t, "\r\n+QIRD: 0\r\n\r\n+QIURC: \"closed\",11\r\n\r\nOK\r\n");
	/* The remote sent its tail before it closed: read it first. */
	read_answer(t, "11", "tail");
	ck_assert(!o.peer_closed);
	sm_expect(t, "AT+QIRD=11\r");
	sm_send(t, "\r\n+QIRD: 0\r\n\r\nOK\r\n");
	sm_until(t, is_peer_closed, &o, "peer_closed");
	ck_assert_uint_eq(o.downlen, 9);
	ck_assert(memcmp(o.down, "hellotail", 9) == 0);
	msock_close(o.ms);
	sm_expect(t, "AT+QICLOSE=11,1\r");
	sm_send(t, "\r\nOK\r\n");
	sm_until(t, all_free, NULL, "every slot free");
	sm_free(t);
}
END_TEST

/* A recv URC before the empty answer's line: one more read, no hang. */
START_TEST(recv_before_empty_read_line)
{
	struct sm	*t = the_sm = sm_new_slots();
	struct own	 o;

	open_slot(t, &o, MSOCK_TCP, QIOPEN_TCP11);
	sm_send(t, "\r\n+QIURC: \"recv\",11\r\n");
	sm_expect(t, "AT+QIRD=11\r");
	sm_send(t, "\r\n+QIURC: \"recv\",11\r\n\r\n+QIRD: 0\r\n\r\nOK\r\n");
	read_answer(t, "11", "late");
	sm_expect(t, "AT+QIRD=11\r");
	sm_send(t, "\r\n+QIRD: 0\r\n\r\nOK\r\n");
	sm_quiet(t, 200);
	ck_assert_uint_eq(o.downlen, 4);
	sm_free(t);
}
END_TEST

/*
 * Defect 3: the prompt comes after its deadline.  Nothing may be written
 * meanwhile (a probe would become payload), and the late prompt gets the
 * client's bytes.
 */
START_TEST(d03_late_prompt_gets_the_payload)
{
	struct sm	*t = the_sm = sm_new_slots();
	struct own	 o;

	atq_set_timeout(sm_atq(t), TMO_PROMPT, 200);
	open_slot(t, &o, MSOCK_TCP, QIOPEN_TCP11);
	o.up = "hello";
	msock_kick(o.ms);
	sm_expect(t, "AT+QISEND=11,5\r");
	sm_quiet(t, 700);
	sm_send(t, "\r\n> ");
	sm_expect(t, "hello");
	sm_send(t, "\r\nSEND OK\r\n");
	sm_until(t, is_sent, &o, "SEND OK");
	ck_assert_uint_eq(atq_stats(sm_atq(t))->late_prompts, 1);
	ck_assert_uint_eq(atq_stats(sm_atq(t))->timeouts, 0);
	sm_free(t);
}
END_TEST

/* A late ERROR instead of the prompt ends the send; the line goes on. */
START_TEST(late_error_instead_of_prompt)
{
	struct sm	*t = the_sm = sm_new_slots();
	struct own	 o;

	atq_set_timeout(sm_atq(t), TMO_PROMPT, 200);
	open_slot(t, &o, MSOCK_TCP, QIOPEN_TCP11);
	o.up = "hello";
	msock_kick(o.ms);
	sm_expect(t, "AT+QISEND=11,5\r");
	sm_quiet(t, 400);
	sm_send(t, "\r\nERROR\r\n");
	/* Send refused: read what the remote left, then report. */
	sm_expect(t, "AT+QIRD=11\r");
	sm_send(t, "\r\n+QIRD: 0\r\n\r\nOK\r\n");
	sm_until(t, is_peer_closed, &o, "peer_closed");
	sm_free(t);
}
END_TEST

/*
 * Found by the schedule test (seed 3): the +QIOPEN URC comes before a
 * late OK, and the OK then times out.  The owner was told "open" once
 * and stays open; it is not told again (before the fix: "modem failed",
 * and the bridge reconnected mid-stream).
 */
START_TEST(qiopen_urc_before_late_ok)
{
	struct sm	*t = the_sm = sm_new_slots();
	struct own	 o;

	atq_set_timeout(sm_atq(t), TMO_QIOPEN, 200);
	own_init(&o, t);
	o.ms = msock_open(sm_set(t), MSOCK_TCP, "192.0.2.10", 8009, 0, false,
	    10000, &own_ops, &o);
	sm_expect(t, QIOPEN_TCP11);
	sm_send(t, "\r\n+QIOPEN: 11,0\r\n");
	sm_until(t, is_opened, &o, "the open");
	sm_expect(t, "AT+CMEE?\r");	/* the OK is late: probe */
	sm_send(t, "\r\nOK\r\n\r\n+CMEE: 1\r\n\r\nOK\r\n");
	sm_run(t, 700);			/* the line settles */
	ck_assert_int_eq(o.opened, 0);
	ck_assert_int_eq(o.nopened, 1);
	send_chunk(t, &o, "AT+QISEND=11,2\r", "hi");
	ck_assert_int_eq(msockset_free_slots(sm_set(t)), AT_NSLOTS - 1);
	sm_free(t);
}
END_TEST

/*
 * +QIOPEN: <id>,563 (socket identity in use: a slot an earlier run left
 * open, ref. 11.11): AT+QICLOSE it and open once more; a second 563 is
 * the owner's to hear.
 */
START_TEST(qiopen_563_closes_and_retries_once)
{
	struct sm	*t = the_sm = sm_new_slots();
	struct own	 o;

	own_init(&o, t);
	o.ms = msock_open(sm_set(t), MSOCK_TCP, "192.0.2.10", 8009, 0, false,
	    10000, &own_ops, &o);
	sm_expect(t, QIOPEN_TCP11);
	sm_send(t, "\r\nOK\r\n\r\n+QIOPEN: 11,563\r\n");
	sm_expect(t, "AT+QICLOSE=11,1\r");
	sm_send(t, "\r\nOK\r\n");
	sm_expect(t, QIOPEN_TCP11);
	sm_send(t, "\r\nOK\r\n\r\n+QIOPEN: 11,563\r\n");
	sm_until(t, is_opened, &o, "the open");
	ck_assert_int_eq(o.opened, QERR_ID_IN_USE);
	sm_expect(t, "AT+QICLOSE=11,1\r");
	sm_send(t, "\r\nOK\r\n");
	sm_until(t, all_free, NULL, "every slot free");
	sm_free(t);
}
END_TEST

/*
 * A recv URC lost on the line (here: garbled) must not leave the client
 * waiting forever: an unread buffer-mode slot is read after a while.
 */
START_TEST(lost_recv_urc_is_polled)
{
	struct sm	*t = the_sm = sm_new_slots();
	struct own	 o;

	msockset_set_rx_poll(sm_set(t), 400);
	open_slot(t, &o, MSOCK_TCP, QIOPEN_TCP11);
	sm_send(t, "\r\n+QIURC: \"re\x01cv\",11\r\n");	/* garbled */
	read_answer(t, "11", "found");
	sm_expect(t, "AT+QIRD=11\r");
	sm_send(t, "\r\n+QIRD: 0\r\n\r\nOK\r\n");
	ck_assert_uint_eq(o.downlen, 5);
	ck_assert_uint_ge(msockset_counters(sm_set(t))->rx_polls, 1);
	sm_free(t);
}
END_TEST

/*
 * Found by the schedule test (seed 133): after a timeout, answers come
 * late.  QIOPEN's late OK must not be taken for the probe's answer, and
 * the probe's late OK must not be taken for the next AT+QISEND's result
 * (the daemon then wrote its next command into the payload the modem
 * waited for, and never recovered).
 */
START_TEST(late_answers_after_timeout)
{
	struct sm	*t = the_sm = sm_new_slots();
	struct own	 a, b;

	atq_set_timeout(sm_atq(t), TMO_QIOPEN, 200);
	open_slot(t, &a, MSOCK_TCP, QIOPEN_TCP11);
	own_init(&b, t);
	b.ms = msock_open(sm_set(t), MSOCK_TCP, "192.0.2.10", 8010, 0, false,
	    10000, &own_ops, &b);
	sm_expect(t, "AT+QIOPEN=1,10,\"TCP\",\"192.0.2.10\",8010,0,0\r");
	sm_expect(t, "AT+CMEE?\r");	/* QIOPEN timed out */
	sm_send(t, "\r\nOK\r\n");		/* QIOPEN's late OK */
	a.up = "hello";
	msock_kick(a.ms);
	sm_quiet(t, 500);		/* not the probe's answer */
	sm_send(t, "\r\n+QIOPEN: 10,0\r\n\r\n+CMEE: 1\r\n\r\nOK\r\n");
	sm_expect(t, "AT+QISEND=11,5\r");
	sm_send(t, "\r\nOK\r\n");		/* some other late OK */
	sm_quiet(t, 300);		/* not QISEND's result either */
	sm_send(t, "\r\n> ");
	sm_expect(t, "hello");
	sm_send(t, "\r\nOK\r\n");		/* and not SEND OK */
	sm_quiet(t, 300);
	sm_send(t, "\r\nSEND OK\r\n");
	sm_until(t, is_sent, &a, "SEND OK");
	/* Its QIOPEN timed out: the slot layer gave up on it. */
	ck_assert_int_eq(b.opened, ERR_MODEM);
	ck_assert_uint_eq(atq_stats(sm_atq(t))->late_answers, 3);
	sm_free(t);
}
END_TEST

static bool
is_accepted(void *arg)
{
	return ((struct own *)arg)->ms != NULL;
}

/*
 * Defect 4: a connection a listener accepted (TCP INCOMING) closes only
 * once the modem has sent every byte, as a client connection does.
 */
START_TEST(d04_incoming_drains_before_close)
{
	struct sm	*t = the_sm = sm_new_slots();
	struct own	 l, c;

	open_slot(t, &l, MSOCK_TCP_LISTENER,
	    "AT+QIOPEN=1,11,\"TCP LISTENER\",\"127.0.0.1\",0,2020,0\r");
	own_init(&c, t);
	c.ms = NULL;
	l.accept_into = &c;
	sm_send(t, "\r\n+QIURC: \"incoming\",0,11,\"198.51.100.7\",51234\r\n");
	sm_until(t, is_accepted, &c, "the accepted connection");
	send_chunk(t, &c, "AT+QISEND=0,3\r", "ok\n");
	msock_close(c.ms);
	sm_expect(t, "AT+QISEND=0,0\r");
	sm_send(t, "\r\n+QISEND: 3,0,3\r\n\r\nOK\r\n");
	sm_expect(t, "AT+QISEND=0,0\r");
	sm_send(t, "\r\n+QISEND: 3,3,0\r\n\r\nOK\r\n");
	sm_expect(t, "AT+QICLOSE=0,1\r");
	sm_send(t, "\r\nOK\r\n");
	sm_quiet(t, 200);
	ck_assert_int_eq(msockset_free_slots(sm_set(t)), AT_NSLOTS - 1);
	sm_free(t);
}
END_TEST

/*
 * Defect 6: a truncated incoming URC is refused as malformed (before the
 * fix sscanf left an offset uninitialised: valgrind and UBSan saw it).
 */
START_TEST(d06_truncated_incoming_urc)
{
	struct sm	*t = the_sm = sm_new_slots();
	struct own	 l, c;

	open_slot(t, &l, MSOCK_TCP_LISTENER,
	    "AT+QIOPEN=1,11,\"TCP LISTENER\",\"127.0.0.1\",0,2020,0\r");
	own_init(&c, t);
	l.accept_into = &c;
	sm_send(t, "\r\n+QIURC: \"incoming\",0,11\r\n");
	sm_send(t, "\r\n+QIURC: \"incoming\",0,11,\r\n");
	sm_send(t, "\r\n+QIURC: \"incoming\",0,11,\"1.2.3.4\"\r\n");
	sm_send(t, "\r\n+QIURC: \"incoming\",0,11,\"1.2.3.4\",99999\r\n");
	sm_quiet(t, 200);
	ck_assert_ptr_null(c.ms);
	ck_assert_int_eq(msockset_free_slots(sm_set(t)), AT_NSLOTS - 1);
	sm_free(t);
}
END_TEST

/*
 * Defect 8: AT+QISEND answers ERROR before the "closed" URC: what the
 * remote sent before it closed is read and delivered before the close.
 */
START_TEST(d08_send_error_reads_the_rest)
{
	struct sm	*t = the_sm = sm_new_slots();
	struct own	 o;

	open_slot(t, &o, MSOCK_TCP, QIOPEN_TCP11);
	o.up = "hi";
	msock_kick(o.ms);
	sm_expect(t, "AT+QISEND=11,2\r");
	sm_send(t, "\r\nERROR\r\n");
	read_answer(t, "11", "bye");
	/* The read after a full one is out when "closed" comes. */
	sm_expect(t, "AT+QIRD=11\r");
	sm_send(t, "\r\n+QIURC: \"closed\",11\r\n");
	sm_send(t, "\r\n+QIRD: 0\r\n\r\nOK\r\n");
	/* That URC came after the read went out: one more to be sure. */
	sm_expect(t, "AT+QIRD=11\r");
	sm_send(t, "\r\n+QIRD: 0\r\n\r\nOK\r\n");
	sm_until(t, is_peer_closed, &o, "peer_closed");
	ck_assert(!o.gone);
	ck_assert_uint_eq(o.downlen, 3);
	ck_assert(memcmp(o.down, "bye", 3) == 0);
	msock_close(o.ms);
	sm_expect(t, "AT+QICLOSE=11,1\r");
	sm_send(t, "\r\nOK\r\n");
	sm_until(t, all_free, NULL, "every slot free");
	ck_assert_uint_eq(msockset_counters(sm_set(t))->send_errors, 1);
	sm_free(t);
}
END_TEST

/* Defect 11: a final result ended by CR alone still ends its command. */
static void
cmd_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	*(int *)arg = (int)res + 1;
}

static bool
int_set(void *arg)
{
	return *(int *)arg != 0;
}

START_TEST(d11_final_result_ended_by_cr)
{
	struct sm	*t = the_sm = sm_new_slots();
	struct atq_cmd	*c;
	int		 done = 0, done2 = 0;

	c = atq_cmd_new(TMO_COMMAND, "AT+CSQ");
	c->on_done = cmd_done;
	c->arg = &done;
	atq_submit(sm_atq(t), c, false);
	sm_expect(t, "AT+CSQ\r");
	sm_send(t, "\r\n+CSQ: 20,99\r\n\r\nOK\r");
	sm_until(t, int_set, &done, "the command's end");
	ck_assert_int_eq(done, ATQ_RES_OK + 1);
	/* The LF may still come: it is an empty line, not a new result. */
	c = atq_cmd_new(TMO_COMMAND, "AT+CSQ");
	c->on_done = cmd_done;
	c->arg = &done2;
	atq_submit(sm_atq(t), c, false);
	sm_expect(t, "AT+CSQ\r");
	sm_send(t, "\n\r\n+CSQ: 20,99\r\n\r\nERROR\r\n");
	sm_until(t, int_set, &done2, "the second command's end");
	ck_assert_int_eq(done2, ATQ_RES_ERROR + 1);
	ck_assert_uint_eq(atq_stats(sm_atq(t))->cr_finals, 1);
	sm_free(t);
}
END_TEST

/*
 * Defect 12: an empty UDP SERVICE read in a layout other than
 * "+QIRD: 0" ends the reading; nothing polls forever.
 */
static void
empty_read_layout(const char *answer)
{
	struct sm	*t = the_sm = sm_new_slots();
	struct own	 o;

	open_slot(t, &o, MSOCK_UDP_SERVICE,
	    "AT+QIOPEN=1,11,\"UDP SERVICE\",\"127.0.0.1\",0,2020,0\r");
	sm_send(t, "\r\n+QIURC: \"recv\",11\r\n");
	sm_expect(t, "AT+QIRD=11\r");
	sm_send(t, "\r\n+QIRD: 4,\"192.0.2.30\",6969\r\nAAAA\r\n\r\nOK\r\n");
	sm_expect(t, "AT+QIRD=11\r");
	sm_send(t, answer);
	sm_quiet(t, 300);
	ck_assert_uint_eq(o.downlen, 4);
	sm_free(t);
}

START_TEST(d12_udp_service_empty_read_layouts)
{
	static const char *answers[] = {
		"\r\n+QIRD: 0\r\n\r\nOK\r\n",
		"\r\n+QIRD: 0,\"\",0\r\n\r\nOK\r\n",
		"\r\n+QIRD: 0,,0\r\n\r\nOK\r\n",
		"\r\n+QIRD: 0,\"0.0.0.0\",0\r\n\r\nOK\r\n",
		"\r\n+QIRD: 0,0.0.0.0,0\r\n\r\nOK\r\n",
		"\r\nOK\r\n",		/* no line at all */
	};

	empty_read_layout(answers[_i]);
}
END_TEST

/* A UDP SERVICE datagram keeps its sender. */
START_TEST(udp_service_sender)
{
	struct sm	*t = the_sm = sm_new_slots();
	struct own	 o;

	open_slot(t, &o, MSOCK_UDP_SERVICE,
	    "AT+QIOPEN=1,11,\"UDP SERVICE\",\"127.0.0.1\",0,2020,0\r");
	sm_send(t, "\r\n+QIURC: \"recv\",11\r\n");
	sm_expect(t, "AT+QIRD=11\r");
	/* Sender with and without quotes (ref. 14.3). */
	sm_send(t, "\r\n+QIRD: 2,192.0.2.30,6969\r\nAB\r\n\r\nOK\r\n");
	sm_expect(t, "AT+QIRD=11\r");
	sm_send(t, "\r\n+QIRD: 0\r\n\r\nOK\r\n");
	sm_quiet(t, 200);
	ck_assert_uint_eq(o.downlen, 2);
	sm_free(t);
}
END_TEST

/*
 * Every URC placement around every command.  The test plays a faithful
 * BG96 for slot 10 (buffer mode: a recv URC only when data lands in an
 * empty, re-armed buffer; re-armed by a read that answers 0) while slot
 * 11 opens, sends, drains and closes.  One more byte for slot 10 lands
 * in gap _i: 0 between QIOPEN's OK and its URC, 1 before the prompt, 2
 * between the payload and SEND OK, 3 between +QISEND: and OK, 4 before
 * QICLOSE's OK, 5 between a read's payload and its OK.  Whatever order
 * the daemon picks, every byte reaches slot 10's owner, slot 11 is
 * freed, and nothing hangs.
 */
struct mini {
	struct sm	*t;
	int		 where;
	int		 buf;		/* slot 10: unread bytes */
	bool		 armed;		/* slot 10: next data gets a URC */
	int		 injected;
};

static void
mini_gap(struct mini *m, int gap)
{
	if (gap != m->where)
		return;
	m->where = -1;
	m->buf++;
	m->injected++;
	if (m->armed) {
		m->armed = false;
		sm_send(m->t, "\r\n+QIURC: \"recv\",10\r\n");
	}
}

START_TEST(urc_placements)
{
	struct sm	*t = the_sm = sm_new_slots();
	struct mini	 m = { t, _i, 0, true, 0 };
	struct own	 a, b;
	const char	*cmd;
	bool		 closed11 = false, close_asked = false;
	int		 n;
	char		 ans[64];

	own_init(&a, t);
	own_init(&b, t);
	a.up = "data";
	a.ms = msock_open(sm_set(t), MSOCK_TCP, "192.0.2.10", 8009, 0, false,
	    10000, &own_ops, &a);
	b.ms = msock_open(sm_set(t), MSOCK_TCP, "192.0.2.10", 8010, 0, false,
	    10000, &own_ops, &b);
	for (n = 0; n < 100; n++) {
		if (closed11 && b.downlen == (size_t)m.injected && m.buf == 0)
			break;
		if (a.sent > 0 && !close_asked) {
			close_asked = true;
			msock_close(a.ms);
		}
		cmd = sm_next_cmd(t);
		if (strncmp(cmd, "AT+QIOPEN=1,11,", 15) == 0)
			sm_send(t, "\r\nOK\r\n\r\n+QIOPEN: 11,0\r\n");
		else if (strncmp(cmd, "AT+QIOPEN=1,10,", 15) == 0) {
			sm_send(t, "\r\nOK\r\n");
			mini_gap(&m, 0);
			sm_send(t, "\r\n+QIOPEN: 10,0\r\n");
			/* The remote's first byte. */
			m.buf++;
			m.injected++;
			m.armed = false;
			sm_send(t, "\r\n+QIURC: \"recv\",10\r\n");
		} else if (strcmp(cmd, "AT+QISEND=11,4") == 0) {
			mini_gap(&m, 1);
			sm_send(t, "\r\n> ");
			sm_expect(t, "data");
			mini_gap(&m, 2);
			sm_send(t, "\r\nSEND OK\r\n");
		} else if (strcmp(cmd, "AT+QISEND=11,0") == 0) {
			sm_send(t, "\r\n+QISEND: 4,4,0\r\n");
			mini_gap(&m, 3);
			sm_send(t, "\r\nOK\r\n");
		} else if (strcmp(cmd, "AT+QICLOSE=11,1") == 0) {
			mini_gap(&m, 4);
			sm_send(t, "\r\nOK\r\n");
			closed11 = true;
		} else if (strcmp(cmd, "AT+QIRD=10") == 0) {
			if (m.buf == 0) {
				m.armed = true;
				sm_send(t, "\r\n+QIRD: 0\r\n\r\nOK\r\n");
				continue;
			}
			snprintf(ans, sizeof(ans), "\r\n+QIRD: %d\r\n%.*s\r\n",
			    m.buf, m.buf, "xxxxxxxx");
			m.buf = 0;
			sm_send(t, ans);
			mini_gap(&m, 5);
			sm_send(t, "\r\nOK\r\n");
		} else
			ck_abort_msg("unexpected command \"%s\"", cmd);
	}
	/*
	 * A URC that came while a read was out costs one more read (the
	 * daemon cannot tell which data it announced); never more.
	 */
	sm_run(t, 100);
	for (n = 0; n < 2 && !sm_idle(t); n++) {
		ck_assert_str_eq(sm_next_cmd(t), "AT+QIRD=10");
		sm_send(t, "\r\n+QIRD: 0\r\n\r\nOK\r\n");
		sm_run(t, 100);
	}
	sm_quiet(t, 200);
	ck_assert_int_eq(m.where, -1);		/* the gap was reached */
	ck_assert_int_eq(m.injected, 2);
	ck_assert_uint_eq(b.downlen, 2);
	ck_assert_int_eq(msockset_free_slots(sm_set(t)), AT_NSLOTS - 1);
	sm_free(t);
}
END_TEST

/* ---- level 2: the whole stack ---- */

#define EP_TCP	"[endpoint web]\ntype = tcp\nhost = 192.0.2.10\nport = 80\n"
#define QIOPEN_WEB "AT+QIOPEN=1,11,\"TCP\",\"192.0.2.10\",80,0,0\r"

static bool
is_ready(void *arg)
{
	return modem_state(((struct stack *)arg)->modem) == MODEM_READY;
}

static bool
not_ready(void *arg)
{
	return !is_ready(arg);
}

/*
 * Defect 7: after a daemon restart the modem still holds a push-mode
 * socket, and its peer sends "\r\nRDY\r\n".  Those bytes are payload,
 * never a modem line: bring-up must not restart.
 */
START_TEST(d07_stale_push_socket_payload)
{
	struct sm	*t = the_sm = sm_new_stack(EP_TCP);
	static const char push[] = "\r\n+QIURC: \"recv\",3,14\r\n"
	    "\r\nRDY\r\n\r\nOK\r\n\r\n";

	ck_assert_str_eq(sm_next_cmd(t), "AT");
	sm_send(t, "\r\nOK\r\n");
	/* Bring-up has begun when the stale socket's peer speaks. */
	ck_assert_str_eq(sm_next_cmd(t), "ATE0");
	sm_send(t, push);
	sm_quiet(t, 200);	/* its "OK" answered nothing */
	sm_send(t, "\r\nOK\r\n");
	sm_bringup(t, "\r\n+QISTATE: 3,\"TCP\",\"192.0.2.1\",80,4000,2,1,0,1,"
	    "\"uart1\"\r\n");
	ck_assert_uint_eq(modem_counters(sm_stack(t)->modem)->reboots, 0);
	ck_assert_uint_eq(modem_counters(sm_stack(t)->modem)->bringups, 1);
	sm_free(t);
}
END_TEST

/*
 * URCs inside every bring-up answer (before and after the information
 * lines of AT+QISTATE, AT+QIACT?, AT+CEREG? ...): bring-up completes and
 * the stale socket is still found and closed.
 */
START_TEST(urcs_inside_bringup_answers)
{
	struct sm	*t = the_sm = sm_new_stack(EP_TCP);
	static const char *urcs[] = {
		"\r\n+QIND: \"csq\",20,99\r\n",
		"\r\n+QIURC: \"recv\",3\r\n",
		"\r\n+QIURC: \"closed\",3\r\n",
		"\r\n+CEREG: 1\r\n",
	};

	sm_inject(t, urcs[_i]);
	sm_bringup(t, "\r\n+QISTATE: 3,\"TCP\",\"192.0.2.1\",80,4000,4,1,0,0,"
	    "\"uart1\"\r\n");
	ck_assert_uint_eq(modem_counters(sm_stack(t)->modem)->bringups, 1);
	ck_assert_uint_eq(modem_counters(sm_stack(t)->modem)->reboots, 0);
	ck_assert_int_eq(msockset_free_slots(sm_set(t)), AT_NSLOTS);
	sm_free(t);
}
END_TEST

/* ... and the stale socket is closed during bring-up. */
START_TEST(stale_socket_closed)
{
	struct sm	*t = the_sm = sm_new_stack(EP_TCP);
	const char	*cmd;
	bool		 closed = false;
	static const char *qistate = "\r\n+QISTATE: 3,\"TCP\",\"192.0.2.1\","
	    "80,4000,2,1,0,1,\"uart1\"\r\n";

	/* Drive bring-up by hand until the context is up. */
	while (!is_ready(sm_stack(t))) {
		cmd = sm_next_cmd(t);
		if (strcmp(cmd, "AT+QICLOSE=3,1") == 0)
			closed = true;
		if (strcmp(cmd, "AT+QISTATE") == 0)
			sm_send(t, closed ? "" : qistate);
		else if (strcmp(cmd, "AT+CEREG?") == 0)
			sm_send(t, "\r\n+CEREG: 1,1\r\n");
		else if (strcmp(cmd, "AT+QIACT?") == 0)
			sm_send(t, "\r\n+QIACT: 1,1,1,\"10.0.0.2\"\r\n");
		else if (strcmp(cmd, "AT+CPIN?") == 0)
			sm_send(t, "\r\n+CPIN: READY\r\n");
		sm_send(t, "\r\nOK\r\n");
		sm_run(t, 20);
	}
	ck_assert(closed);
	sm_free(t);
}
END_TEST

/* Run until a client's socket has EOF (or error); collect what came. */
static size_t
client_read_all(struct sm *t, int fd, char *buf, size_t max)
{
	long long	 end = now_ms() + SM_WAIT_MS;
	struct pollfd	 p = { fd, POLLIN, 0 };
	size_t		 n = 0;
	ssize_t		 r;

	for (;;) {
		sm_run(t, 10);
		if (poll(&p, 1, 0) == 1) {
			r = recv(fd, buf + n, max - n, MSG_DONTWAIT);
			if (r <= 0)
				return n;
			n += (size_t)r;
		}
		if (now_ms() >= end)
			ck_abort_msg("client: no EOF");
	}
}

/*
 * Defect 9: a client closes with bytes the remote never takes (SEND
 * FAIL after SEND FAIL): the slot is freed after LINGER_MAX_MS of no
 * progress, and the drop is counted.
 */
START_TEST(d09_linger_is_bounded)
{
	struct sm	*t = the_sm = sm_new_stack(EP_TCP);
	struct endpoint_info info[CONF_MAX_ENDPOINTS + 1];
	const char	*cmd;
	long long	 start;
	int		 fd;

	sm_bringup(t, "");
	fd = sm_connect(t, "web");
	sm_expect(t, QIOPEN_WEB);
	sm_send(t, "\r\nOK\r\n\r\n+QIOPEN: 11,0\r\n");
	ck_assert_int_eq(write(fd, "stuck", 5), 5);
	close(fd);
	start = now_ms();
	/* The remote reads nothing: every send fails. */
	for (;;) {
		cmd = sm_next_cmd(t);
		if (strcmp(cmd, "AT+QICLOSE=11,1") == 0)
			break;
		ck_assert_str_eq(cmd, "AT+QISEND=11,5");
		sm_send(t, "\r\n> ");
		sm_expect(t, "stuck");
		sm_send(t, "\r\nSEND FAIL\r\n");
		ck_assert_int_lt(now_ms() - start, LINGER_MAX_MS + 3000);
	}
	ck_assert_int_ge(now_ms() - start, LINGER_MAX_MS - 100);
	sm_send(t, "\r\nOK\r\n");
	sm_run(t, 50);
	ck_assert_int_eq(epset_info(sm_stack(t)->eps, info), 1);
	ck_assert_uint_eq(info[0].linger_expired, 1);
	ck_assert_int_eq(msockset_free_slots(sm_set(t)), AT_NSLOTS);
	sm_free(t);
}
END_TEST

/*
 * Defect 10: +QIOPEN error 561 (no PDP context) while the daemon thinks
 * it is ready: the context is checked, found gone, and re-activated.
 */
START_TEST(d10_qiopen_561_checks_the_context)
{
	struct sm	*t = the_sm = sm_new_stack(EP_TCP);
	char		 buf[64];
	int		 fd;

	sm_bringup(t, "");
	fd = sm_connect(t, "web");
	sm_expect(t, QIOPEN_WEB);
	sm_send(t, "\r\nOK\r\n\r\n+QIOPEN: 11,561\r\n");
	sm_expect(t, "AT+QIACT?\r");
	sm_send(t, "\r\nOK\r\n");	/* no active context */
	ck_assert_uint_eq(client_read_all(t, fd, buf, sizeof(buf)), 0);
	close(fd);
	sm_until(t, not_ready, sm_stack(t), "leaving READY");
	ck_assert_int_eq(modem_state(sm_stack(t)->modem), MODEM_ACTIVATING);
	ck_assert_uint_eq(modem_counters(sm_stack(t)->modem)->pdp_lost, 1);
	sm_bringup(t, "");	/* QICLOSE, QIDEACT, QIACT... */
	sm_free(t);
}
END_TEST

/*
 * Defect 10, second form: the modem restarted and its RDY was lost; the
 * next command comes back echoed.  The modem is brought up again.
 */
START_TEST(d10_echo_means_restart)
{
	struct sm	*t = the_sm = sm_new_stack(EP_TCP);
	int		 fd;

	sm_bringup(t, "");
	fd = sm_connect(t, "web");
	sm_expect(t, QIOPEN_WEB);
	sm_send(t, QIOPEN_WEB);		/* echo */
	sm_send(t, "\r\nOK\r\n");
	sm_until(t, not_ready, sm_stack(t), "leaving READY");
	ck_assert_uint_eq(modem_counters(sm_stack(t)->modem)->reboots, 1);
	sm_bringup(t, "");
	/* The waiting client is served once the modem is back. */
	sm_expect(t, QIOPEN_WEB);
	sm_send(t, "\r\nOK\r\n\r\n+QIOPEN: 11,0\r\n");
	sm_run(t, 50);
	close(fd);
	sm_expect(t, "AT+QICLOSE=11,1\r");
	sm_send(t, "\r\nOK\r\n");
	sm_free(t);
}
END_TEST

/*
 * Defect 5: a udp-service whose reply queue was full (mappings paused)
 * loses its modem socket.  Once it is reopened, the local server's
 * replies must be read again.
 */
#define EP_SVC_FMT "[endpoint svc]\ntype = udp-service\nlocal_port = 3030\n" \
	"forward = udp:127.0.0.1:%d\n"
#define QIOPEN_SVC "AT+QIOPEN=1,11,\"UDP SERVICE\",\"127.0.0.1\",0,3030,0\r"

static struct sockaddr_in d05_peer;

static bool
server_has_datagram(void *arg)
{
	struct pollfd	 p = { *(int *)arg, POLLIN, 0 };

	return poll(&p, 1, 0) == 1;
}

static void
svc_open_and_receive(struct sm *t, int srv)
{
	socklen_t	 len = sizeof(d05_peer);
	char		 buf[64];

	sm_expect(t, QIOPEN_SVC);
	sm_send(t, "\r\nOK\r\n\r\n+QIOPEN: 11,0\r\n");
	sm_send(t, "\r\n+QIURC: \"recv\",11\r\n");
	sm_expect(t, "AT+QIRD=11\r");
	sm_send(t, "\r\n+QIRD: 4,\"192.0.2.30\",6969\r\nping\r\n\r\nOK\r\n");
	sm_expect(t, "AT+QIRD=11\r");
	sm_send(t, "\r\n+QIRD: 0\r\n\r\nOK\r\n");
	sm_until(t, server_has_datagram, &srv, "the forwarded datagram");
	ck_assert_int_eq(recvfrom(srv, buf, sizeof(buf), 0,
	    (struct sockaddr *)&d05_peer, &len), 4);
}

START_TEST(d05_udp_service_unpauses_after_reopen)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	struct sm		*t;
	char			*eps;
	int			 srv, i;

	srv = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(srv, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(srv, (struct sockaddr *)&sin, &len), 0);
	ck_assert_int_ne(asprintf(&eps, EP_SVC_FMT, ntohs(sin.sin_port)), -1);
	t = the_sm = sm_new_stack(eps);
	free(eps);
	sm_bringup(t, "");
	svc_open_and_receive(t, srv);
	/* The local server answers far more than the queue holds. */
	for (i = 0; i < 40; i++)
		ck_assert_int_eq(sendto(srv, "pong", 4, 0,
		    (struct sockaddr *)&d05_peer, sizeof(d05_peer)), 4);
	sm_expect(t, "AT+QISEND=11,4,\"192.0.2.30\",6969\r");
	/* The modem restarts instead of prompting. */
	sm_send(t, "\r\nRDY\r\n");
	sm_until(t, not_ready, sm_stack(t), "the restart");
	sm_bringup(t, "");
	/* Drain what the server sent meanwhile: it was queued for nowhere. */
	sm_run(t, 100);
	svc_open_and_receive(t, srv);
	ck_assert_int_eq(sendto(srv, "late", 4, 0,
	    (struct sockaddr *)&d05_peer, sizeof(d05_peer)), 4);
	sm_expect(t, "AT+QISEND=11,4,\"192.0.2.30\",6969\r");
	sm_send(t, "\r\n> ");
	sm_expect(t, "late");
	sm_send(t, "\r\nSEND OK\r\n");
	sm_free(t);
	close(srv);
}
END_TEST

/* ---- Transparent access mode (issue 15, ref. 5.2, 5.11) ---- */

#define EP_TR "[endpoint tr]\ntype = tcp\nhost = 192.0.2.10\nport = 8009\n" \
	"access_mode = transparent\n"
#define QIOPEN_TR "AT+QIOPEN=1,11,\"TCP\",\"192.0.2.10\",8009,0,2\r"

/* Run until n bytes came to the client (fails on EOF or after a while). */
static void
client_read_n(struct sm *t, int fd, uint8_t *buf, size_t n)
{
	long long	 end = now_ms() + SM_WAIT_MS;
	size_t		 got = 0;
	ssize_t		 r;

	while (got < n) {
		sm_run(t, 10);
		r = recv(fd, buf + got, n - got, MSG_DONTWAIT);
		if (r == 0)
			ck_abort_msg("client: EOF after %zu of %zu bytes", got,
			    n);
		if (r > 0)
			got += (size_t)r;
		if (now_ms() >= end)
			ck_abort_msg("client: %zu of %zu bytes", got, n);
	}
}

/*
 * The remote closes: NO CARRIER, AT+QICLOSE, the slot is freed; the
 * test ends.
 */
static void
tr_end_remote(struct sm *t, int fd)
{
	sm_send(t, "\r\nNO CARRIER\r\n");
	sm_expect(t, "AT+QICLOSE=11,1\r");
	sm_send(t, "\r\nOK\r\n");
	close(fd);
	sm_until(t, all_free, NULL, "slot freed");
	sm_free(t);
}

/* A client on endpoint tr, its line lent: returns the client's fd. */
static int
tr_connect(struct sm *t)
{
	int	 fd, id = -2;

	fd = sm_connect(t, "tr");
	sm_expect(t, QIOPEN_TR);
	sm_send(t, "\r\nCONNECT\r\n");
	sm_run(t, 50);
	ck_assert_int_eq(atq_line_owner(sm_atq(t), &id), ATQ_LINE_DATA);
	ck_assert_int_eq(id, 11);
	return fd;
}

static json_t *
tr_status(struct sm *t)
{
	struct ctlstatus_src	 src = {
		.modem = sm_stack(t)->modem, .msocks = sm_set(t),
		.eps = sm_stack(t)->eps, .started = now_ms(),
	};

	return ctlstatus_json(&src);
}

static void
tr_at_done(void *arg, json_t *reply)
{
	ck_abort_msg("control \"at\" was sent in data mode");
}

/*
 * Every byte value both ways, raw, with "\r\nOK\r\n" and "+++" inside
 * the payload; status and "at" while the line is lent; a second client
 * waits; NO CARRIER gives the client every byte, then EOF, then
 * AT+QICLOSE; then the waiting client is served, closes, and the line
 * is taken back with "+++" after the guard time.
 */
START_TEST(transparent_end_to_end)
{
	struct sm	*t = the_sm = sm_new_stack(EP_TR);
	struct ctl_req	 req;
	json_t		*st, *reply = NULL;
	uint8_t		 pay[256 + 16], got[sizeof(pay)];
	char		 tail[64];
	size_t		 i, n = 0;
	long long	 start;
	int		 fd, fd2;

	sm_bringup(t, "");
	fd = tr_connect(t);
	for (i = 0; i < 256; i++)
		pay[n++] = (uint8_t)i;
	memcpy(pay + n, "\r\nOK\r\n+++", 9);
	n += 9;

	/* Down: the modem's bytes are the client's, whatever they are. */
	sm_send_bytes(t, pay, n);
	client_read_n(t, fd, got, n);
	ck_assert_mem_eq(got, pay, n);
	/* Up: the client's bytes go to the line, nothing around them. */
	ck_assert_int_eq(write(fd, pay, n), (ssize_t)n);
	sm_expect_bytes(t, pay, n);

	/* Status from the cache; "at" refused, nothing written. */
	st = tr_status(t);
	ck_assert_str_eq(json_string_value(json_object_get(st, "line")),
	    "data:tr#11");
	ck_assert_int_eq(json_integer_value(json_object_get(st,
	    "line_bytes_up")), (json_int_t)n);
	ck_assert_int_eq(json_integer_value(json_object_get(st,
	    "line_bytes_down")), (json_int_t)n);
	json_decref(st);
	ctl_parse_request("at AT+CSQ", &req);
	ck_assert_ptr_null(ctlat_start(sm_atq(t), &req, tr_at_done, NULL,
	    &reply));
	ck_assert_ptr_nonnull(reply);
	ck_assert_str_eq(json_string_value(json_object_get(reply, "error")),
	    "line lent to a transparent connection");
	json_decref(reply);

	/* A second client waits: nothing is written while the line is lent. */
	fd2 = sm_connect(t, "tr");
	sm_quiet(t, 300);

	/* The remote closes: the bytes before NO CARRIER, EOF, QICLOSE. */
	sm_send(t, "last words\r\nNO CARRIER\r\n");
	sm_expect(t, "AT+QICLOSE=11,1\r");
	n = client_read_all(t, fd, tail, sizeof(tail));
	ck_assert_uint_eq(n, 10);
	ck_assert_mem_eq(tail, "last words", 10);
	close(fd);
	st = tr_status(t);
	ck_assert_str_eq(json_string_value(json_object_get(st, "line")),
	    "command");
	json_decref(st);
	sm_send(t, "\r\nOK\r\n");

	/*
	 * The waiting client gets the line.  The first one's end let it
	 * in (slot 11 was still closing: it takes slot 10).
	 */
	sm_expect(t, "AT+QIOPEN=1,10,\"TCP\",\"192.0.2.10\",8009,0,2\r");
	sm_send(t, "\r\nCONNECT\r\n");
	sm_run(t, 50);
	ck_assert_int_eq(atq_line_owner(sm_atq(t), NULL), ATQ_LINE_DATA);
	ck_assert_int_eq(write(fd2, "bye", 3), 3);
	sm_expect(t, "bye");
	start = now_ms();
	close(fd2);
	/* Client gone: "+++" only after the guard time, then OK, QICLOSE. */
	sm_expect(t, "+++");
	ck_assert_int_ge(now_ms() - start, ESCAPE_GUARD_MS - 50);
	st = tr_status(t);
	ck_assert_str_eq(json_string_value(json_object_get(st, "line")),
	    "escaping");
	json_decref(st);
	sm_send(t, "\r\nOK\r\n");
	/* Sent bytes are acked before QICLOSE, as in buffer mode. */
	sm_expect(t, "AT+QISEND=10,0\r");
	sm_send(t, "\r\n+QISEND: 3,3,0\r\n\r\nOK\r\n");
	sm_expect(t, "AT+QICLOSE=10,1\r");
	sm_send(t, "\r\nOK\r\n");
	sm_until(t, all_free, NULL, "slot freed");
	sm_free(t);
}
END_TEST

/*
 * A client's own "+++" never makes the escape pattern (1 s of silence,
 * "+++", 1 s of silence): after a silence at most two '+' go at once;
 * the third waits for the client's next byte, or goes alone more than
 * a guard time later.
 */
START_TEST(transparent_client_plus_is_payload)
{
	struct sm	*t = the_sm = sm_new_stack(EP_TR);
	long long	 start;
	int		 fd;

	sm_bringup(t, "");
	fd = tr_connect(t);

	/* "+++" alone after a silence: "++", then "+" a guard time later. */
	ck_assert_int_eq(write(fd, "+++", 3), 3);
	sm_expect(t, "++");
	start = now_ms();
	sm_expect(t, "+");
	ck_assert_int_ge(now_ms() - start, PLUS_SPACE_MS - 50);

	/* "++", "+" (held), then "y": the held '+' goes with the 'y'. */
	sm_run(t, PLUS_SPACE_MS);
	ck_assert_int_eq(write(fd, "++", 2), 2);
	sm_expect(t, "++");
	ck_assert_int_eq(write(fd, "+", 1), 1);
	sm_quiet(t, 300);
	ck_assert_int_eq(write(fd, "y", 1), 1);
	start = now_ms();
	sm_expect(t, "+y");
	ck_assert_int_lt(now_ms() - start, 500);

	/* Mixed with other bytes, or four in a row: at once. */
	sm_run(t, PLUS_SPACE_MS);
	ck_assert_int_eq(write(fd, "abc+++", 6), 6);
	sm_expect(t, "abc+++");
	sm_run(t, PLUS_SPACE_MS);
	ck_assert_int_eq(write(fd, "++++", 4), 4);
	sm_expect(t, "++++");

	/* Spaced '+' bytes keep their count across short silences. */
	sm_run(t, PLUS_SPACE_MS);
	ck_assert_int_eq(write(fd, "+", 1), 1);
	sm_expect(t, "+");
	sm_run(t, PLUS_QUIET_MS + 100);
	ck_assert_int_eq(write(fd, "+", 1), 1);
	sm_expect(t, "+");
	sm_run(t, PLUS_QUIET_MS + 100);
	ck_assert_int_eq(write(fd, "+", 1), 1);
	sm_quiet(t, 300);	/* the third waits */
	sm_expect(t, "+");

	/*
	 * "+", then after a silence that may be a guard time (PLUS_QUIET_MS
	 * or more, less than PLUS_SPACE_MS) "+++": both counts matter (a
	 * modem that does not want the three together sees 1 + 3, one that
	 * does sees a fresh start); one goes, two wait.
	 */
	sm_run(t, PLUS_SPACE_MS);
	ck_assert_int_eq(write(fd, "+", 1), 1);
	sm_expect(t, "+");
	sm_run(t, PLUS_QUIET_MS + 200);
	ck_assert_int_eq(write(fd, "+++", 3), 3);
	sm_expect(t, "+");
	start = now_ms();
	sm_expect(t, "++");
	ck_assert_int_ge(now_ms() - start, PLUS_SPACE_MS - 100);

	tr_end_remote(t, fd);
}
END_TEST

/* Half a MiB each way in 8 KiB rounds, every byte value, nothing lost. */
START_TEST(transparent_bulk_both_ways)
{
	struct sm	*t = the_sm = sm_new_stack(EP_TR);
	static uint8_t	 buf[8192], got[8192];
	size_t		 i;
	int		 fd, r;

	sm_bringup(t, "");
	fd = tr_connect(t);
	for (r = 0; r < 64; r++) {
		for (i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)(i * 7 + (size_t)r);
		ck_assert_int_eq(send(fd, buf, sizeof(buf), MSG_DONTWAIT),
		    (ssize_t)sizeof(buf));
		sm_expect_bytes(t, buf, sizeof(buf));
		sm_send_bytes(t, buf, sizeof(buf));
		client_read_n(t, fd, got, sizeof(got));
		ck_assert_mem_eq(got, buf, sizeof(buf));
	}
	tr_end_remote(t, fd);
}
END_TEST

/*
 * The modem restarts in data mode: its RDY ends data mode, the client
 * gets what came before and EOF, and the modem is brought up again.
 */
START_TEST(transparent_reboot_in_data_mode)
{
	struct sm	*t = the_sm = sm_new_stack(EP_TR);
	char		 buf[64];
	int		 fd;

	sm_bringup(t, "");
	fd = tr_connect(t);
	sm_send(t, "partial\r\nRDY\r\n");
	ck_assert_uint_eq(client_read_all(t, fd, buf, sizeof(buf)), 7);
	ck_assert_mem_eq(buf, "partial", 7);
	close(fd);
	sm_until(t, not_ready, sm_stack(t), "leaving READY");
	ck_assert_uint_eq(modem_counters(sm_stack(t)->modem)->reboots, 1);
	ck_assert_int_eq(atq_line_owner(sm_atq(t), NULL), ATQ_LINE_COMMAND);
	sm_bringup(t, "");
	ck_assert_int_eq(msockset_free_slots(sm_set(t)), AT_NSLOTS);
	sm_free(t);
}
END_TEST

/*
 * The client closes and the modem does not answer "+++": nothing more
 * is written (the modem may still be in data mode, and would send it to
 * the remote), the modem layer recovers, the slot is freed; the line,
 * reopened, is escaped again before the first AT.
 */
START_TEST(transparent_escape_unanswered)
{
	struct sm	*t = the_sm = sm_new_stack(EP_TR);
	int		 fd;

	sm_bringup(t, "");
	fd = tr_connect(t);
	close(fd);
	sm_expect(t, "+++");
	/* No OK: silence until the line is reopened and probed. */
	sm_quiet(t, ESCAPE_GUARD_MS + TMO_DEF_COMMAND * 1000 - 200);
	sm_until(t, not_ready, sm_stack(t), "recovery");
	ck_assert_int_eq(atq_line_owner(sm_atq(t), NULL), ATQ_LINE_COMMAND);
	ck_assert_int_eq(msockset_free_slots(sm_set(t)), AT_NSLOTS);
	ck_assert_uint_eq(modem_counters(sm_stack(t)->modem)->unresponsive,
	    1);
	/* Line reopened: escape again, blind, before the first probe. */
	sm_expect(t, "+++");
	sm_quiet(t, ESCAPE_GUARD_MS - 100);
	sm_send(t, "\r\nOK\r\n");
	sm_bringup(t, "");
	sm_free(t);
}
END_TEST

/*
 * Control "reset" while the line is lent: the client gets EOF, and the
 * reopened line is escaped before the first AT (the modem did not
 * leave data mode by itself).
 */
START_TEST(transparent_reset_in_data_mode)
{
	struct sm	*t = the_sm = sm_new_stack(EP_TR);
	char		 buf[16];
	int		 fd;

	sm_bringup(t, "");
	fd = tr_connect(t);
	sm_send(t, "hi");
	client_read_n(t, fd, (uint8_t *)buf, 2);
	modem_reset(sm_stack(t)->modem, "test");
	ck_assert_uint_eq(client_read_all(t, fd, buf, sizeof(buf)), 0);
	close(fd);
	sm_expect(t, "+++");
	sm_send(t, "\r\nOK\r\n");
	ck_assert_str_eq(sm_next_cmd(t), "AT");
	sm_send(t, "\r\nOK\r\n");
	sm_bringup(t, "");
	ck_assert_int_eq(msockset_free_slots(sm_set(t)), AT_NSLOTS);
	sm_free(t);
}
END_TEST

/*
 * The PDP context is lost while AT+QIOPEN=...,2 waits for CONNECT: the
 * slot is dropped and its command cancelled.  When CONNECT comes
 * anyway, nobody holds the line, yet the modem is in data mode: the
 * queue escapes before the next command (AT+QIDEACT).
 */
START_TEST(transparent_connect_after_cancel)
{
	struct sm	*t = the_sm = sm_new_stack(EP_TR);
	int		 fd;

	sm_bringup(t, "");
	fd = sm_connect(t, "tr");
	sm_expect(t, QIOPEN_TR);
	sm_send(t, "\r\n+QIURC: \"pdpdeact\",1\r\n");
	sm_run(t, 50);
	sm_send(t, "\r\nCONNECT\r\n");
	sm_expect(t, "+++");
	sm_send(t, "\r\nOK\r\n");
	sm_expect(t, "AT+QIDEACT=1\r");
	sm_send(t, "\r\nOK\r\n");
	sm_bringup(t, "");
	/* The client waited (requeued) and is served now. */
	sm_expect(t, QIOPEN_TR);
	sm_send(t, "\r\nCONNECT\r\n");
	sm_run(t, 50);
	ck_assert_int_eq(atq_line_owner(sm_atq(t), NULL), ATQ_LINE_DATA);
	tr_end_remote(t, fd);
}
END_TEST

/* A refused connect (ERROR to AT+QIOPEN=...,2) fails the client. */
START_TEST(transparent_connect_refused)
{
	struct sm	*t = the_sm = sm_new_stack(EP_TR);
	char		 buf[16];
	int		 fd;

	sm_bringup(t, "");
	fd = sm_connect(t, "tr");
	sm_expect(t, QIOPEN_TR);
	sm_send(t, "\r\nERROR\r\n");
	sm_expect(t, "AT+QICLOSE=11,1\r");
	sm_send(t, "\r\nOK\r\n");
	ck_assert_uint_eq(client_read_all(t, fd, buf, sizeof(buf)), 0);
	close(fd);
	ck_assert_int_eq(atq_line_owner(sm_atq(t), NULL), ATQ_LINE_COMMAND);
	sm_until(t, all_free, NULL, "slot freed");
	sm_free(t);
}
END_TEST

/* Bring-up sets transpktsize and transwaittm; ERROR is tolerated. */
START_TEST(transparent_qicfg_at_bringup)
{
	struct sm	*t = the_sm = sm_new_stack(EP_TR);
	const char	*cmd;
	int		 seen = 0;

	while (!is_ready(sm_stack(t))) {
		cmd = sm_next_cmd(t);
		if (strcmp(cmd, "AT+QICFG=\"transpktsize\",1460") == 0 ||
		    strcmp(cmd, "AT+QICFG=\"transwaittm\",2") == 0) {
			seen++;
			sm_send(t, "\r\nERROR\r\n");	/* old firmware */
			continue;
		}
		if (strcmp(cmd, "AT+CEREG?") == 0)
			sm_send(t, "\r\n+CEREG: 1,1\r\n");
		else if (strcmp(cmd, "AT+QIACT?") == 0)
			sm_send(t, "\r\n+QIACT: 1,1,1,\"10.0.0.2\"\r\n");
		else if (strcmp(cmd, "AT+CPIN?") == 0)
			sm_send(t, "\r\n+CPIN: READY\r\n");
		sm_send(t, "\r\nOK\r\n");
		sm_run(t, 20);
	}
	ck_assert_int_eq(seen, 2);
	sm_free(t);
}
END_TEST

/* ---- access_mode = auto (issue 15, ref. 5.8, 5.11) ---- */

#define EP_AUTO "[endpoint au]\ntype = tcp\nhost = 192.0.2.10\n" \
	"port = 8009\naccess_mode = auto\n"

/*
 * An auto connection's life, with the URCs where a modem may put them:
 * opened in buffer mode, switched to data mode when alone (a recv URC
 * between AT+QISWTMD and its CONNECT needs no read: the modem sends
 * what it held after CONNECT); a second client's AT+QIOPEN takes the
 * line back ("+++" after the guard time), the first stays open in
 * buffer mode and is read (a URC held in data mode comes after the
 * OK); once the second is gone the first goes back to data mode
 * transparent_reenter later, and the remote's close ends it.
 */
START_TEST(auto_yields_and_returns)
{
	struct sm	*t = the_sm = sm_new_stack(EP_AUTO);
	const char	*cmd;
	char		 buf[64];
	bool		 opened = false, read_all = false;
	long long	 wrote, freed;
	int		 fd, fd2, id = -2;

	sm_bringup(t, "");
	fd = sm_connect(t, "au");
	sm_expect(t, "AT+QIOPEN=1,11,\"TCP\",\"192.0.2.10\",8009,0,0\r");
	sm_send(t, "\r\nOK\r\n\r\n+QIOPEN: 11,0\r\n");
	sm_expect(t, "AT+QISWTMD=11,2\r");
	sm_send(t, "\r\n+QIURC: \"recv\",11\r\n");
	sm_send(t, "\r\nCONNECT\r\nheld");
	sm_run(t, 50);
	ck_assert_int_eq(atq_line_owner(sm_atq(t), &id), ATQ_LINE_DATA);
	ck_assert_int_eq(id, 11);
	client_read_n(t, fd, (uint8_t *)buf, 4);
	ck_assert_mem_eq(buf, "held", 4);
	ck_assert_int_eq(write(fd, "abc", 3), 3);
	sm_expect(t, "abc");
	wrote = now_ms();

	/* A second client: its AT+QIOPEN waits for the escape. */
	fd2 = sm_connect(t, "au");
	sm_expect(t, "+++");
	ck_assert_int_ge(now_ms() - wrote, ESCAPE_GUARD_MS - 50);
	sm_quiet(t, ESCAPE_GUARD_MS - 300);
	sm_send(t, "\r\nOK\r\n\r\n+QIURC: \"recv\",11\r\n");
	while (!opened || !read_all) {
		cmd = sm_next_cmd(t);
		if (strcmp(cmd, "AT+QIOPEN=1,10,\"TCP\",\"192.0.2.10\","
		    "8009,0,0") == 0) {
			sm_send(t, "\r\nOK\r\n\r\n+QIOPEN: 10,0\r\n");
			opened = true;
		} else if (strcmp(cmd, "AT+QIRD=11") == 0 && !read_all) {
			sm_send(t, "\r\n+QIRD: 3\r\nxyz\r\n\r\nOK\r\n");
			client_read_n(t, fd, (uint8_t *)buf, 3);
			ck_assert_mem_eq(buf, "xyz", 3);
			read_all = true;
		} else
			ck_abort_msg("unexpected command \"%s\"", cmd);
	}
	/* Both open in buffer mode: the first is read until empty. */
	sm_expect(t, "AT+QIRD=11\r");
	sm_send(t, "\r\n+QIRD: 0\r\n\r\nOK\r\n");
	ck_assert_int_eq(atq_line_owner(sm_atq(t), NULL), ATQ_LINE_COMMAND);
	ck_assert_int_eq(write(fd, "up", 2), 2);
	sm_expect(t, "AT+QISEND=11,2\r");
	sm_send(t, "> ");
	sm_expect(t, "up");
	sm_send(t, "\r\nSEND OK\r\n");

	/* The second leaves; transparent_reenter later, data mode again. */
	close(fd2);
	sm_expect(t, "AT+QICLOSE=10,1\r");
	sm_send(t, "\r\nOK\r\n");
	freed = now_ms();
	sm_expect(t, "AT+QISWTMD=11,2\r");
	ck_assert_int_ge(now_ms() - freed,
	    TRANSPARENT_REENTER_DEF * 1000 - 50);
	sm_send(t, "\r\nCONNECT\r\n");
	sm_run(t, 50);
	ck_assert_int_eq(atq_line_owner(sm_atq(t), NULL), ATQ_LINE_DATA);
	tr_end_remote(t, fd);
}
END_TEST

/* An auto client on "au", its slot 11 open in buffer mode; fd back. */
static int
auto_open(struct sm *t)
{
	int	 fd = sm_connect(t, "au");

	sm_expect(t, "AT+QIOPEN=1,11,\"TCP\",\"192.0.2.10\",8009,0,0\r");
	sm_send(t, "\r\nOK\r\n\r\n+QIOPEN: 11,0\r\n");
	return fd;
}

/*
 * While AT+QISWTMD is out, a second client's AT+QIOPEN is queued and
 * the remote closes: after CONNECT the line is given back at once (not
 * at the next health check), the second client is opened, and the
 * first reads what is left, then EOF.
 */
START_TEST(auto_queued_during_switch)
{
	struct sm	*t = the_sm = sm_new_stack(EP_AUTO);
	char		 buf[16];
	int		 fd, fd2;

	sm_bringup(t, "");
	fd = auto_open(t);
	sm_expect(t, "AT+QISWTMD=11,2\r");
	fd2 = sm_connect(t, "au");
	sm_send(t, "\r\n+QIURC: \"closed\",11\r\n");
	sm_run(t, 50);
	sm_send(t, "\r\nCONNECT\r\n");
	sm_expect(t, "+++");
	sm_quiet(t, ESCAPE_GUARD_MS - 300);
	sm_send(t, "\r\nOK\r\n");
	sm_expect(t, "AT+QIOPEN=1,10,\"TCP\",\"192.0.2.10\",8009,0,0\r");
	sm_send(t, "\r\nOK\r\n\r\n+QIOPEN: 10,0\r\n");
	sm_expect(t, "AT+QIRD=11\r");
	sm_send(t, "\r\n+QIRD: 4\r\nlast\r\n\r\nOK\r\n");
	sm_expect(t, "AT+QIRD=11\r");
	sm_send(t, "\r\n+QIRD: 0\r\n\r\nOK\r\n");
	ck_assert_uint_eq(client_read_all(t, fd, buf, sizeof(buf)), 4);
	ck_assert_mem_eq(buf, "last", 4);
	sm_expect(t, "AT+QICLOSE=11,1\r");
	sm_send(t, "\r\nOK\r\n");
	close(fd);
	close(fd2);
	sm_expect(t, "AT+QICLOSE=10,1\r");
	sm_send(t, "\r\nOK\r\n");
	sm_until(t, all_free, NULL, "slots freed");
	sm_free(t);
}
END_TEST

/*
 * A chunk that SEND FAIL left with the slot is not lost when the slot
 * goes into data mode meanwhile: it is the first thing on the line.
 */
START_TEST(auto_keeps_a_failed_chunk)
{
	struct sm	*t = the_sm = sm_new_stack(EP_AUTO);
	const char	*cmd;
	int		 fd, fd2, fails = 0;

	sm_bringup(t, "");
	fd = auto_open(t);
	sm_expect(t, "AT+QISWTMD=11,2\r");
	fd2 = sm_connect(t, "au");		/* before CONNECT: yields */
	sm_send(t, "\r\nCONNECT\r\n");
	sm_expect(t, "+++");
	sm_quiet(t, ESCAPE_GUARD_MS - 300);
	sm_send(t, "\r\nOK\r\n");
	sm_expect(t, "AT+QIOPEN=1,10,\"TCP\",\"192.0.2.10\",8009,0,0\r");
	sm_send(t, "\r\nOK\r\n\r\n+QIOPEN: 10,0\r\n");
	sm_expect(t, "AT+QIRD=11\r");
	sm_send(t, "\r\n+QIRD: 0\r\n\r\nOK\r\n");
	close(fd2);
	sm_expect(t, "AT+QICLOSE=10,1\r");
	sm_send(t, "\r\nOK\r\n");
	/* Alone again, within transparent_reenter: buffer mode, SEND FAIL. */
	ck_assert_int_eq(write(fd, "kept", 4), 4);
	for (;;) {
		cmd = sm_next_cmd(t);
		if (strcmp(cmd, "AT+QISWTMD=11,2") == 0)
			break;
		ck_assert_str_eq(cmd, "AT+QISEND=11,4");
		sm_send(t, "> ");
		sm_expect(t, "kept");
		sm_send(t, "\r\nSEND FAIL\r\n");
		fails++;
	}
	ck_assert_int_ge(fails, 1);
	sm_send(t, "\r\nCONNECT\r\n");
	sm_expect(t, "kept");
	tr_end_remote(t, fd);
}
END_TEST

static Suite *
scripted_suite(void)
{
	Suite	*s = suite_create("scripted");
	TCase	*tc = tcase_create("slots");
	TCase	*st = tcase_create("stack");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, d01_closed_inside_drain_answer);
	tcase_add_test(tc, drain_until_acked);
	tcase_add_test(tc, d02_recv_between_empty_read_and_ok);
	tcase_add_test(tc, d02_closed_between_empty_read_and_ok);
	tcase_add_test(tc, recv_before_empty_read_line);
	tcase_add_test(tc, d03_late_prompt_gets_the_payload);
	tcase_add_test(tc, late_error_instead_of_prompt);
	tcase_add_test(tc, d04_incoming_drains_before_close);
	tcase_add_test(tc, d06_truncated_incoming_urc);
	tcase_add_test(tc, d08_send_error_reads_the_rest);
	tcase_add_test(tc, qiopen_urc_before_late_ok);
	tcase_add_test(tc, qiopen_563_closes_and_retries_once);
	tcase_add_test(tc, lost_recv_urc_is_polled);
	tcase_add_test(tc, late_answers_after_timeout);
	tcase_add_test(tc, d11_final_result_ended_by_cr);
	tcase_add_loop_test(tc, d12_udp_service_empty_read_layouts, 0, 6);
	tcase_add_test(tc, udp_service_sender);
	tcase_add_loop_test(tc, urc_placements, 0, 6);
	suite_add_tcase(s, tc);

	tcase_set_timeout(st, 60);
	tcase_add_test(st, d07_stale_push_socket_payload);
	tcase_add_test(st, stale_socket_closed);
	tcase_add_loop_test(st, urcs_inside_bringup_answers, 0, 4);
	tcase_add_test(st, d09_linger_is_bounded);
	tcase_add_test(st, d10_qiopen_561_checks_the_context);
	tcase_add_test(st, d10_echo_means_restart);
	tcase_add_test(st, d05_udp_service_unpauses_after_reopen);
	tcase_add_test(st, transparent_end_to_end);
	tcase_add_test(st, transparent_client_plus_is_payload);
	tcase_add_test(st, transparent_bulk_both_ways);
	tcase_add_test(st, transparent_reboot_in_data_mode);
	tcase_add_test(st, transparent_escape_unanswered);
	tcase_add_test(st, transparent_reset_in_data_mode);
	tcase_add_test(st, transparent_connect_after_cancel);
	tcase_add_test(st, transparent_connect_refused);
	tcase_add_test(st, transparent_qicfg_at_bringup);
	tcase_add_test(st, auto_yields_and_returns);
	tcase_add_test(st, auto_queued_during_switch);
	tcase_add_test(st, auto_keeps_a_failed_chunk);
	suite_add_tcase(s, st);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(scripted_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
