/*
 * Transparent access mode (bg96-at-reference 5.10, 5.11): the host's side
 * of data mode.  While the line is lent to a socket every byte the host
 * sends is payload, packed into packets of AT+QICFG="transpktsize" bytes
 * or flushed after "transwaittm" x 100 ms without a byte, except the
 * escape: at least TRANS_GUARD of no byte, "+++", then at least
 * TRANS_GUARD of silence.  Times are those at which the bytes arrive at
 * the modem's UART (pty.c's input pacing), not when the host wrote them:
 * a host whose kernel still holds bytes has not been silent.
 *
 * A '+' that may start an escape is held back until the run is decided;
 * a run that is not an escape ("+", "++", "++++", "+++" too early or
 * followed by a byte within the guard) is payload, sent in order.  Two
 * counters let tests check the host never tries an escape without its
 * guards: a run of exactly three '+' followed by a guard's silence but
 * not preceded by one (plus_no_lead), and one preceded by a guard but
 * followed by a byte within it (plus_no_trail).  Neither is a protocol
 * violation: a client's own payload may look like that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "sim.h"

#define TRANS_GUARD		1.0	/* s: before and after "+++" (5.11) */
#define TRANS_PKTSIZE_DEF	1024	/* AT+QICFG="transpktsize" (5.10) */
#define TRANS_PKTSIZE_MAX	1460
#define TRANS_WAITTM_DEF	2	/* AT+QICFG="transwaittm", x 100 ms */
#define TRANS_WAITTM_MAX	20
#define TRANS_RECHECK_S		0.002	/* input still waiting at the guard */

static struct {
	int		 id;		/* the slot in data mode, -1: none */
	long		 pktsize;
	long		 waittm;
	double		 last_t;	/* arrival of the last byte */
	int		 held;		/* '+' held back: 0..3 */
	double		 held_t;	/* arrival of the last one held */
	int		 run;		/* consecutive '+' (payload or held) */
	int		 run_lead;	/* the run followed a guard's silence */
	uint8_t		 pkt[TRANS_PKTSIZE_MAX];
	size_t		 pkt_len;
	unsigned long	 escapes;
	unsigned long	 no_lead;
	unsigned long	 no_trail;
	unsigned long	 packets;
	uint64_t	 bytes_up;
} t = { .id = -1, .pktsize = TRANS_PKTSIZE_DEF, .waittm = TRANS_WAITTM_DEF };

static struct event	*ev_guard;
static struct event	*ev_wait;

static void	 trans_guard_cb(evutil_socket_t, short, void *);
static void	 trans_wait_cb(evutil_socket_t, short, void *);
static void	 trans_arm_wait(void);

void
trans_init(void)
{
	if ((ev_guard = evtimer_new(base, trans_guard_cb, NULL)) == NULL ||
	    (ev_wait = evtimer_new(base, trans_wait_cb, NULL)) == NULL) {
		log_msg("trans: out of memory");
		exit(1);
	}
}

void
trans_free(void)
{
	if (ev_guard != NULL)
		event_free(ev_guard);
	if (ev_wait != NULL)
		event_free(ev_wait);
	ev_guard = ev_wait = NULL;
}

static void
trans_timer(struct event *ev, double s)
{
	struct timeval	 tv;

	if (s < 0.0001)
		s = 0.0001;
	tv.tv_sec = (time_t)s;
	tv.tv_usec = (suseconds_t)((s - (double)tv.tv_sec) * 1e6) + 1;
	if (tv.tv_usec >= 1000000) {
		tv.tv_sec++;
		tv.tv_usec -= 1000000;
	}
	evtimer_add(ev, &tv);
}

/* The packet goes to the socket. */
static void
trans_flush(void)
{
	evtimer_del(ev_wait);
	if (t.pkt_len == 0 || t.id < 0)
		return;
	t.packets++;
	slot_trans_write(t.id, t.pkt, t.pkt_len);
	t.pkt_len = 0;
}

static void
trans_payload(const uint8_t *buf, size_t len)
{
	size_t	 n;

	t.bytes_up += len;
	while (len > 0) {
		n = (size_t)t.pktsize - t.pkt_len;
		if (n > len)
			n = len;
		memcpy(t.pkt + t.pkt_len, buf, n);
		t.pkt_len += n;
		buf += n;
		len -= n;
		if (t.pkt_len == (size_t)t.pktsize)
			trans_flush();
	}
}

/* The '+' held back were payload after all. */
static void
trans_release(void)
{
	static const uint8_t	 plus[3] = { '+', '+', '+' };

	if (t.held == 0)
		return;
	trans_payload(plus, (size_t)t.held);
	t.held = 0;
}

/* Leaves data mode: nothing more is packed, the detector forgets. */
static void
trans_clear(void)
{
	evtimer_del(ev_guard);
	evtimer_del(ev_wait);
	t.id = -1;
	t.held = 0;
	t.run = 0;
	t.pkt_len = 0;
	pty_input_hold(0);
}

/* The modem powered down: the settings are not saved (5.10). */
void
trans_reset(void)
{
	trans_clear();
	t.pktsize = TRANS_PKTSIZE_DEF;
	t.waittm = TRANS_WAITTM_DEF;
}

/* CONNECT is out: the line belongs to slot id from now. */
void
trans_begin(int id)
{
	trans_clear();
	t.id = id;
	t.last_t = pace_now();
	t.run_lead = 0;
	log_msg("data mode: slot %d", id);
}

/* Data mode ended without an escape (NO CARRIER, or the modem is off). */
void
trans_end(void)
{
	if (t.id >= 0 && t.pkt_len > 0)
		log_msg("data mode over: %zu packed bytes lost", t.pkt_len);
	trans_clear();
}

int
trans_active(void)
{
	return t.id;
}

/* The escape is complete: the payload before it goes, then "OK". */
static void
trans_escape(void)
{
	int	 id = t.id;

	t.held = 0;
	t.run = 0;
	trans_flush();
	trans_clear();
	t.escapes++;
	log_msg("+++ with guard times: slot %d back in buffer mode", id);
	slot_trans_stop(id);
	at_escaped();
}

/* A guard's silence after the last byte. */
static void
trans_guard_cb(evutil_socket_t fd, short what, void *arg)
{
	double	 now = pace_now();

	if (t.id < 0)
		return;
	/*
	 * Bytes the host already wrote are on their way: their arrival,
	 * not this timer, decides whether the silence held.
	 */
	if (pty_input_waiting() > 0) {
		trans_timer(ev_guard, TRANS_RECHECK_S);
		return;
	}
	if (now - t.last_t < TRANS_GUARD) {
		trans_timer(ev_guard, t.last_t + TRANS_GUARD - now);
		return;
	}
	if (t.held == 3) {
		trans_escape();
		return;
	}
	if (t.run == 3 && !t.run_lead) {
		t.no_lead++;
		log_msg("data mode: \"+++\" without the leading guard time "
		    "(payload)");
	}
	t.run = 0;
	trans_release();
	trans_arm_wait();
}

static void
trans_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	trans_flush();
}

/* A partial packet goes transwaittm after the last byte. */
static void
trans_arm_wait(void)
{
	if (t.pkt_len == 0)
		return;
	if (t.waittm == 0)
		trans_flush();
	else
		trans_timer(ev_wait, t.last_t + (double)t.waittm / 10.0 -
		    pace_now());
}

/*
 * Input in data mode: the last byte of buf arrived at t_end, each byte
 * byte_s after the one before it.  Returns the bytes taken as data mode
 * input: fewer than len when the escape was complete before a byte (the
 * rest is command mode input).
 */
size_t
trans_input(const uint8_t *buf, size_t len, double t_end, double byte_s)
{
	double	 at;
	size_t	 i;

	if (t.id < 0)
		return 0;
	for (i = 0; i < len; i++) {
		at = t_end - (double)(len - 1 - i) * byte_s;
		if (t.held == 3 && at - t.held_t >= TRANS_GUARD) {
			trans_escape();
			return i;
		}
		if (t.held > 0 && at - t.held_t >= TRANS_GUARD) {
			/* "+" or "++" alone between silences. */
			trans_release();
			t.run = 0;
		}
		if (t.held > 0) {
			if (buf[i] == '+' && t.held < 3) {
				t.held++;
				t.run++;
				t.held_t = t.last_t = at;
				continue;
			}
			if (t.held == 3 && buf[i] != '+') {
				t.no_trail++;
				log_msg("data mode: \"+++\" followed by a byte "
				    "within the guard time (payload)");
			}
			trans_release();
		}
		if (buf[i] == '+') {
			if (t.run == 0) {
				t.run_lead = at - t.last_t >= TRANS_GUARD;
				if (t.run_lead) {
					t.held = 1;
					t.held_t = at;
				}
			}
			t.run++;
			t.last_t = at;
			if (t.held > 0)
				continue;
		} else
			t.run = 0;
		t.last_t = at;
		trans_payload(buf + i, 1);
	}
	if (t.id < 0)
		return len;
	trans_timer(ev_guard, t.last_t + TRANS_GUARD - pace_now());
	trans_arm_wait();
	return len;
}

/*
 * AT+QICFG: "transpktsize" and "transwaittm" are kept and checked
 * against the reference's ranges; other settings are accepted and
 * ignored (they vary by firmware).
 */
void
cmd_qicfg(struct at_cmd *c)
{
	const char	*name;
	long		*val, max, min, v;

	if (c->kind == AT_TEST) {
		at_info("+QICFG: \"transpktsize\",(1-%d)", TRANS_PKTSIZE_MAX);
		at_info("+QICFG: \"transwaittm\",(0-%d)", TRANS_WAITTM_MAX);
		at_ok();
		return;
	}
	if (c->kind != AT_SET || (name = at_arg_str(c, 0)) == NULL) {
		at_ok();
		return;
	}
	if (strcasecmp(name, "transpktsize") == 0) {
		val = &t.pktsize;
		min = 1;
		max = TRANS_PKTSIZE_MAX;
	} else if (strcasecmp(name, "transwaittm") == 0) {
		val = &t.waittm;
		min = 0;
		max = TRANS_WAITTM_MAX;
	} else {
		at_ok();
		return;
	}
	if (c->nargs == 1) {
		at_info("+QICFG: \"%s\",%ld", name, *val);
		at_ok();
		return;
	}
	if (c->nargs != 2 || at_arg_int(c, 1, min, max, &v) == -1) {
		at_error();
		return;
	}
	*val = v;
	log_msg("AT+QICFG: %s %ld", name, v);
	at_ok();
}

/* Appends the "trans" JSON object. */
void
trans_stats(struct evbuffer *b)
{
	evbuffer_add_printf(b, "{\"data_mode\":%d,\"escapes\":%lu,"
	    "\"plus_no_lead\":%lu,\"plus_no_trail\":%lu,\"packets\":%lu,"
	    "\"bytes_up\":%llu,\"transpktsize\":%ld,\"transwaittm\":%ld}",
	    t.id, t.escapes, t.no_lead, t.no_trail, t.packets,
	    (unsigned long long)t.bytes_up, t.pktsize, t.waittm);
}
