/*
 * The AT interpreter's line discipline and the life cycle of a command.
 *
 * One command is in flight at a time: from the "\r" that ends its line
 * until the last byte of its final result has been written to the
 * master.  Input read in between is a protocol violation by the host; it
 * is recorded, kept, and interpreted once the command is over (a modem's
 * UART FIFO would hold it too), so the emulator keeps going and the test
 * fails on the exit status instead of on a confusing timeout.
 *
 * AT+QISEND adds two phases: the "> " prompt must be completely written
 * before the host may send a byte of payload, then exactly n payload bytes
 * are taken raw, then the final result (SEND OK / SEND FAIL) follows.
 *
 * Output goes through two queues of whole items: the response of the
 * command in flight (lines, QIRD data blocks, the prompt, the final
 * result) and the URCs.  An item is released to the line whole, or in
 * two parts with a pause between them (split-response); a URC is only
 * ever released between items, so never inside a line, a data block or
 * between a block's header and its data.  Causality holds: a URC never
 * goes out before a response item that was produced before the URC's
 * event.  The adversarial quirks (urc-anywhere, split-response, ...) and
 * the one-shot control faults (late-prompt, late-answer) only choose
 * among the placements and timings that rule allows; every choice comes
 * from sim_random(), so --seed makes a run reproducible for the same
 * sequence of events.
 */
#include <sys/queue.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "sim.h"

#define AT_INFO_MAX	2048	/* longest info line we format */
#define AT_LIST_URC	"+QIND: \"csq\",20,99"	/* harmless injected URC */
#define AT_SPLIT_MS	50	/* split-response: longest pause */
#define AT_SLOW_MS	200	/* slow-answers: longest extra delay */
#define AT_HOLD_MIN_MS	10	/* urc-anywhere: a held URC is out ... */
#define AT_HOLD_MAX_MS	100	/* ... within this long at the latest */

enum item_kind {
	IT_LINE,	/* "\r\n<info>\r\n" */
	IT_BLOCK,	/* "\r\n<hdr>\r\n<data>\r\n": one piece */
	IT_PROMPT,	/* "\r\n> " */
	IT_FINAL,	/* "\r\n<final result>\r\n" */
	IT_URC		/* a URC line, or a push header with its data */
};

struct item {
	TAILQ_ENTRY(item)	 entry;
	enum item_kind		 kind;
	uint64_t		 seq;		/* creation order */
	int			 held;		/* URC kept for a later boundary */
	double			 deadline;	/* held URC: out by then */
	size_t			 len;
	uint8_t			 data[];
};
TAILQ_HEAD(itemq, item);

enum at_state {
	AT_DOWN,	/* powered down or rebooting: input is dropped */
	AT_IDLE,	/* assembling a command line */
	AT_BUSY,	/* a command runs, or its final result is not out yet */
	AT_PROMPT,	/* AT+QISEND: "> " is not completely written yet */
	AT_DATA,	/* AT+QISEND: reading the payload */
	AT_TRANS,	/* transparent data mode: input is trans.c's */
	AT_LEAVING	/* OK (escape) or NO CARRIER is not written yet */
};

static const char *const at_state_name[] = {
	"down", "idle", "busy", "prompt", "data", "transparent", "leaving"
};

static enum at_state	 state = AT_DOWN;
static char		 line[SIM_MAXLINE + 1];
static size_t		 linelen;
static int		 overflow;
static uint8_t		 last_read;	/* previous byte read, at read time */
static int		 grace;		/* no command seen since boot yet */
static struct evbuffer	*held;		/* input read while busy */
static int		 violated;	/* this command has its violation */
static size_t		 forgiven;	/* input sent while the line stalled */
/*
 * Stale commands (see at_forgive): input offsets count the bytes read
 * since the emulator started (at_input), so "written before the stall
 * ended" and "there before the host could see the answer" are offsets.
 */
static uint64_t		 in_total;	/* bytes read so far */
static uint64_t		 feed_off;	/* offset of the byte being parsed */
static uint64_t		 stale_end;	/* input before this: sent in a stall */
static uint64_t		 stale_last_cr;	/* offset + 1 of the last "\r" in it */
static int		 cmd_stale;	/* the command in flight is stale */
static uint64_t		 cmd_cr;	/* offset + 1 of its "\r" */
static uint64_t		 seen_mark;	/* its first whole response item out */
static int		 seen;		/* ... has been written */
static uint64_t		 seen_in_end;	/* input there by then */
static int		 bad_line;	/* the command in flight is an overlong line */
static char		 current[80];	/* the command in flight, escaped */
static int		 final_queued;
static uint64_t		 final_mark;
static uint64_t		 prompt_mark;
static int		 ninfo;
static struct event	*ev_latency;
static struct at_cmd	 cmd;
static int		 connect_id = -1;	/* CONNECT enters data mode */
static uint64_t		 leave_mark;	/* end of OK / NO CARRIER */
static int		 leave_escape;	/* leaving by "+++" */
static uint64_t		 discard_until;	/* input sent into a lost carrier */
static int		 carrier_tail;	/* no command line since NO CARRIER */

/* Output: see the comment at the top. */
static struct itemq	 resp = TAILQ_HEAD_INITIALIZER(resp);
static struct itemq	 urcq = TAILQ_HEAD_INITIALIZER(urcq);
static struct itemq	 prefinal = TAILQ_HEAD_INITIALIZER(prefinal);
static struct item	*cur;		/* item being released */
static size_t		 cur_off;	/* bytes of cur released */
static size_t		 cur_cut;	/* pause after this many bytes, 0: none */
static double		 pause_until;	/* split pause in cur */
static uint64_t		 item_seq;
static size_t		 out_bytes;	/* bytes in the queues, not yet released */
static int		 pumping;
static int		 boundary_new;	/* urc-anywhere: a new boundary to decide */
static struct event	*ev_pump;
static int		 final_added;	/* the command's final result is decided */
static int		 prompt_out;	/* the prompt was released */
static char		 deferred_final[AT_INFO_MAX];
static int		 deferred_pending;
static struct event	*ev_deferred;	/* late final result or late prompt */
static int		 deferred_prompt;	/* ev_deferred is for the prompt */
static int		 data_done_waiting;	/* payload complete, prompt not out */
static struct event	*ev_slow;	/* slow-answers after the payload */
static long		 late_prompt_ms = -1;	/* control: next QISEND prompt */
static long		 late_answer_ms = -1;	/* control: next final result */
static long		 cmd_late_ms = -1;	/* this command's late final */

static uint8_t		 payload[SIM_MAXSEND];
static size_t		 payload_len;
static size_t		 payload_have;
static void		(*payload_cb)(const uint8_t *, size_t, void *);
static void		*payload_arg;

static void	 at_feed(const uint8_t *, size_t, int, size_t);
static void	 at_execute(void);
static void	 at_latency_cb(evutil_socket_t, short, void *);
static void	 at_pump_cb(evutil_socket_t, short, void *);
static void	 at_deferred_cb(evutil_socket_t, short, void *);
static void	 at_slow_cb(evutil_socket_t, short, void *);
static void	 at_pump(void);
static void	 at_out_clear(void);
static void	 at_finish_data(void);

void
at_init(void)
{
	if ((held = evbuffer_new()) == NULL ||
	    (ev_latency = evtimer_new(base, at_latency_cb, NULL)) == NULL ||
	    (ev_pump = evtimer_new(base, at_pump_cb, NULL)) == NULL ||
	    (ev_deferred = evtimer_new(base, at_deferred_cb, NULL)) == NULL ||
	    (ev_slow = evtimer_new(base, at_slow_cb, NULL)) == NULL) {
		log_msg("at: out of memory");
		exit(1);
	}
}

void
at_free(void)
{
	at_out_clear();
	if (ev_latency != NULL)
		event_free(ev_latency);
	if (ev_pump != NULL)
		event_free(ev_pump);
	if (ev_deferred != NULL)
		event_free(ev_deferred);
	if (ev_slow != NULL)
		event_free(ev_slow);
	if (held != NULL)
		evbuffer_free(held);
	ev_latency = ev_pump = ev_deferred = ev_slow = NULL;
	held = NULL;
}

static void
at_reset_line(void)
{
	linelen = 0;
	overflow = 0;
	evbuffer_drain(held, evbuffer_get_length(held));
	evtimer_del(ev_latency);
	payload_cb = NULL;
	payload_arg = NULL;
	final_queued = 0;
	forgiven = 0;
	stale_end = stale_last_cr = 0;
	cmd_stale = 0;
	connect_id = -1;
	discard_until = 0;
	carrier_tail = 0;
	at_out_clear();
}

static void
ms_to_tv(long ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

/* A random number of milliseconds in 0..max. */
static long
at_random_ms(long max)
{
	return (long)(sim_random() % (uint32_t)(max + 1));
}

/* slow-answers: half of the answers come at once, half up to 200 ms late. */
static long
at_slow_ms(void)
{
	if (!(opts.quirks & QUIRK_SLOW_ANSWERS) || (sim_random() & 1))
		return 0;
	return at_random_ms(AT_SLOW_MS);
}

/* The modem answers again (after RDY): echo state is cmd.c's business. */
void
at_boot(void)
{
	at_reset_line();
	state = AT_IDLE;
	grace = 1;
	last_read = 0;
}

/* Power down: the command in flight, if any, is lost. */
void
at_down(void)
{
	at_reset_line();
	state = AT_DOWN;
}

/*
 * The line stalls: a host rightly gives up on a command whose answer is
 * withheld, so whatever it sends before that answer is no violation.
 */
void
at_stalled(void)
{
	if (state == AT_BUSY || state == AT_PROMPT || state == AT_DATA) {
		log_msg("\"%s\" stalled: the host may give up on it", current);
		violated = 1;
	}
}

/*
 * The stall is over: the len bytes waiting were sent while we were mute,
 * and they are no violation.  A command whose line ends in them is stale:
 * the host may have timed out on it (its answer was withheld), so what it
 * sends during that command is no violation either, until it could have
 * seen that command answered.  Precisely, while a stale command is in
 * flight, input is a violation only if
 *   - no later command line was sent during the stall (after a later one,
 *     the host has certainly given up on this one, and cannot tell its
 *     answer from the answer to its last command), and
 *   - the bytes were not there yet when the first whole response item of
 *     the command (an information line, a data block, the prompt) had
 *     been written out: the host saw its answer start and talked over it.
 * A final result alone ends the command, so an answer that is only "OK"
 * can never be talked over.
 */
void
at_forgive(size_t len)
{
	forgiven = len;
	if (len > 0) {
		stale_end = in_total + len;
		log_msg("stall: commands in the next %zu bytes are stale", len);
	}
}

/* Input up to offset off while a stale command is in flight: excused? */
static int
at_stale_excused(uint64_t off)
{
	if (!cmd_stale)
		return 0;
	if (stale_last_cr > cmd_cr)
		return 1;	/* not the host's last command */
	return !seen || off < seen_in_end;
}

/* Feeds again what was held while busy, now that the modem listens. */
static void
at_replay(void)
{
	uint8_t	*tmp;
	size_t	 n;

	if ((n = evbuffer_get_length(held)) == 0)
		return;
	if ((tmp = malloc(n)) == NULL) {
		log_msg("at: out of memory");
		exit(1);
	}
	evbuffer_remove(held, tmp, n);
	at_feed(tmp, n, 1, 0);
	free(tmp);
}

void
at_written(uint64_t written)
{
	if (cmd_stale && seen_mark > 0 && !seen && written >= seen_mark) {
		seen = 1;
		seen_in_end = in_total + pty_input_waiting();
		log_msg("stale \"%s\": its answer is seen, input from offset "
		    "%llu on talks over it", current,
		    (unsigned long long)seen_in_end);
	}
	if (state == AT_BUSY && final_queued && written >= final_mark) {
		state = AT_IDLE;
		final_queued = 0;
		final_added = 0;
		if (connect_id >= 0) {
			/* CONNECT is out: the line is the socket's now. */
			state = AT_TRANS;
			trans_begin(connect_id);
			slot_trans_start(connect_id);
			connect_id = -1;
		}
		at_replay();
	} else if (state == AT_LEAVING && written >= leave_mark) {
		/*
		 * NO CARRIER: what the host sent before it could see it was
		 * payload for the lost connection, not commands.
		 */
		if (!leave_escape) {
			carrier_tail = 1;
			discard_until = in_total + pty_input_before_write();
			if (discard_until > in_total)
				log_msg("NO CARRIER out: the %llu bytes waiting "
				    "were sent before it was seen",
				    (unsigned long long)(discard_until -
				    in_total));
		}
		state = AT_IDLE;
		at_pump();
		at_replay();
	} else if (state == AT_PROMPT && prompt_out && written >= prompt_mark) {
		state = AT_DATA;
		at_pump();	/* URCs may follow the prompt */
		at_replay();
	}
}

static void
at_line_done(void)
{
	char	 esc[SIM_MAXLINE * 4 + 1], *p;
	size_t	 n = linelen;
	long	 delay;
	int	 ovf = overflow;

	line[n] = '\0';
	linelen = 0;
	overflow = 0;
	if (n == 0 && !ovf)
		return;		/* an empty line is not a command */
	log_escape(esc, sizeof(esc), line, n);
	if (carrier_tail && !ovf) {
		/*
		 * After NO CARRIER, a host still writing payload cannot
		 * have seen it yet: like the modem's parser, skip to the
		 * "AT" that starts the next command.
		 */
		for (p = line; p + 1 < line + n; p++)
			if (toupper((unsigned char)p[0]) == 'A' &&
			    toupper((unsigned char)p[1]) == 'T')
				break;
		if (p + 1 >= line + n)
			p = line + n;	/* no "AT" in it at all */
		if (p > line) {
			log_msg("after NO CARRIER, payload dropped: \"%.200s\"",
			    esc);
			n -= (size_t)(p - line);
			memmove(line, p, n + 1);
			log_escape(esc, sizeof(esc), line, n);
			if (n < 2)
				return;
		}
		carrier_tail = 0;
	}
	if (n < 2 || toupper((unsigned char)line[0]) != 'A' ||
	    toupper((unsigned char)line[1]) != 'T') {
		if (grace)
			log_msg("ignored before the first command: \"%s\"", esc);
		else
			sim_violation("line not starting with AT: \"%.200s\"", esc);
		return;
	}
	grace = 0;
	bad_line = ovf;
	if (ovf)
		sim_violation("command line longer than %d bytes: \"%.60s...\"",
		    SIM_MAXLINE, esc);
	else if (memchr(line, '\0', n) != NULL)
		bad_line = 1;
	memcpy(cmd.line, line, n + 1);
	log_escape(current, sizeof(current), line, n);
	log_msg("rx: %s", esc);
	state = AT_BUSY;
	final_queued = 0;
	final_added = 0;
	prompt_out = 0;
	violated = 0;
	cmd_cr = feed_off + 1;
	cmd_stale = feed_off < stale_end;
	seen_mark = 0;
	seen = 0;
	if (cmd_stale)
		log_msg("\"%s\" is stale (sent during a stall)", current);
	ninfo = 0;
	boundary_new = 1;
	cmd_late_ms = -1;
	if (late_answer_ms >= 0) {
		/* The host may rightly give up on this command. */
		cmd_late_ms = late_answer_ms;
		late_answer_ms = -1;
		violated = 1;
		log_msg("late-answer: the final result of \"%s\" comes %ld ms "
		    "late", current, cmd_late_ms);
	}
	delay = opts.latency_ms + at_slow_ms();
	if (delay > 0) {
		struct timeval	 tv;

		ms_to_tv(delay, &tv);
		evtimer_add(ev_latency, &tv);
	} else
		at_execute();
}

/* One byte of a command line. */
static void
at_char(uint8_t c)
{
	if (c == '\n')
		return;		/* stray line feed (or the one after "\r") */
	if (modem_echo())
		pty_send(&c, 1);
	if (c == '\r') {
		at_line_done();
		return;
	}
	if (linelen < SIM_MAXLINE)
		line[linelen++] = (char)c;
	else
		overflow = 1;
}

/* The payload is in and the prompt is out: the send goes ahead. */
static void
at_finish_data(void)
{
	void	(*cb)(const uint8_t *, size_t, void *) = payload_cb;
	void	*arg = payload_arg;

	payload_cb = NULL;
	payload_arg = NULL;
	boundary_new = 1;
	if (cb != NULL)
		cb(payload, payload_len, arg);
	at_pump();
}

static void
at_slow_cb(evutil_socket_t fd, short what, void *arg)
{
	if (state == AT_BUSY && !final_added)
		at_finish_data();
}

static void
at_data_done(void)
{
	struct timeval	 tv;
	long		 ms;

	log_bytes("rx payload", payload, payload_len);
	state = AT_BUSY;
	if (deferred_pending && deferred_prompt) {
		/* late-prompt: the result follows the prompt. */
		data_done_waiting = 1;
		return;
	}
	if ((ms = at_slow_ms()) > 0) {
		ms_to_tv(ms, &tv);
		evtimer_add(ev_slow, &tv);
		return;
	}
	at_finish_data();
}

/*
 * Interprets input.  When replay is set the bytes come from the held
 * buffer: their violation, if any, was recorded when they were read.
 * The first quiet bytes were sent while the line stalled: no violation.
 */
static void
at_feed(const uint8_t *buf, size_t len, int replay, size_t quiet)
{
	size_t	 i = 0, n;

	while (i < len) {
		switch (state) {
		case AT_DOWN:
			return;
		case AT_BUSY:
		case AT_PROMPT:
			if (!replay) {
				if (buf[i] == '\n' && last_read == '\r') {
					last_read = '\n';
					i++;
					continue;
				}
				last_read = buf[len - 1];
				if (!violated && quiet < len &&
				    !at_stale_excused(in_total - 1)) {
					violated = 1;
					if (state == AT_PROMPT)
						sim_violation("payload sent before "
						    "the \"> \" prompt of \"%s\" "
						    "was written", current);
					else
						sim_violation("input while \"%s\" "
						    "was in flight (state %s)",
						    current, at_state_name[state]);
				}
			}
			evbuffer_add(held, buf + i, len - i);
			return;
		case AT_DATA:
			n = len - i;
			if (n > payload_len - payload_have)
				n = payload_len - payload_have;
			memcpy(payload + payload_have, buf + i, n);
			payload_have += n;
			if (modem_echo())
				pty_send(buf + i, n);
			i += n;
			if (!replay)
				last_read = buf[i - 1];
			if (payload_have == payload_len)
				at_data_done();
			continue;
		case AT_TRANS:
			n = trans_input(buf + i, len - i, replay ?
			    pace_now() : pty_in_time(), replay ? 0.0 :
			    pty_byte_time());
			i += n;
			if (n == 0 && state == AT_TRANS)
				return;		/* cannot happen: no slot */
			if (!replay && n > 0)
				last_read = buf[i - 1];
			continue;
		case AT_LEAVING:
			if (!leave_escape) {
				log_bytes("payload after the carrier was lost",
				    buf + i, len - i);
				return;
			}
			if (!replay && !violated) {
				violated = 1;
				sim_violation("input after the escape's guard "
				    "time, before its OK was written");
			}
			evbuffer_add(held, buf + i, len - i);
			return;
		case AT_IDLE:
			if (!replay && in_total - (len - i) < discard_until) {
				n = len - i;
				if (n > discard_until - (in_total - (len - i)))
					n = discard_until - (in_total -
					    (len - i));
				log_bytes("payload sent before NO CARRIER was "
				    "seen", buf + i, n);
				i += n;
				continue;
			}
			if (!replay)
				last_read = buf[i];
			/* Everything not parsed yet is the tail of the input. */
			feed_off = in_total - (len - i);
			at_char(buf[i++]);
			continue;
		}
	}
}

void
at_input(const uint8_t *buf, size_t len)
{
	size_t	 quiet = forgiven < len ? forgiven : len;
	size_t	 i;

	log_bytes("in", buf, len);
	forgiven -= quiet;
	for (i = 0; i < len && in_total + i < stale_end; i++)
		if (buf[i] == '\r')
			stale_last_cr = in_total + i + 1;
	in_total += len;
	at_feed(buf, len, 0, quiet);
}

static void
at_latency_cb(evutil_socket_t fd, short what, void *arg)
{
	if (state == AT_BUSY && !final_added)
		at_execute();
}

/* Splits the arguments of a set command in place. */
static int
at_split(struct at_cmd *c, char *p)
{
	struct at_arg	*a;
	char		*e;

	for (;;) {
		if (c->nargs == SIM_MAXARGS)
			return -1;
		a = &c->args[c->nargs++];
		while (*p == ' ')
			p++;
		if (*p == '"') {
			a->quoted = 1;
			a->s = ++p;
			if ((p = strchr(p, '"')) == NULL)
				return -1;
			*p++ = '\0';
			while (*p == ' ')
				p++;
		} else {
			a->quoted = 0;
			a->s = p;
			p += strcspn(p, ",\"");
			if (*p == '"')
				return -1;
			for (e = p; e > a->s && e[-1] == ' '; e--)
				;
			if (*p == ',') {
				*e = '\0';
				p++;
				continue;
			}
			*e = '\0';
			return 0;
		}
		if (*p == '\0')
			return 0;
		if (*p != ',')
			return -1;
		*p++ = '\0';
	}
}

/* Parses cmd.line: name, kind, arguments.  -1 on a syntax error. */
static int
at_parse(struct at_cmd *c)
{
	char	*p = c->line + 2;
	size_t	 n;

	c->nargs = 0;
	c->kind = AT_EXEC;
	memcpy(c->name, "AT", 3);
	if (*p == '+') {
		c->name[2] = '+';
		p++;
		for (n = 3; isalnum((unsigned char)*p) || *p == '_'; p++)
			if (n < sizeof(c->name) - 1)
				c->name[n++] = (char)toupper((unsigned char)*p);
		c->name[n] = '\0';
		if (n == 3)
			return -1;
		if (*p == '\0')
			return 0;
		if (strcmp(p, "?") == 0) {
			c->kind = AT_READ;
			return 0;
		}
		if (strcmp(p, "=?") == 0) {
			c->kind = AT_TEST;
			return 0;
		}
		if (*p != '=')
			return -1;
		c->kind = AT_SET;
		return at_split(c, p + 1);
	}
	/* Basic command: ATE0, ATI, AT&D0 ... named by its whole text. */
	for (n = 2; *p != '\0'; p++)
		if (n < sizeof(c->name) - 1)
			c->name[n++] = (char)toupper((unsigned char)*p);
	c->name[n] = '\0';
	return 0;
}

static void
at_execute(void)
{
	if (bad_line) {
		sim_count_command("(bad line)");
		at_error();
		return;
	}
	if (at_parse(&cmd) == -1) {
		sim_count_command(cmd.name);
		log_msg("syntax error: %s", current);
		at_error();
		return;
	}
	sim_count_command(cmd.name);
	cmd_dispatch(&cmd);
}

int
at_arg_int(const struct at_cmd *c, int i, long lo, long hi, long *v)
{
	const char	*s;
	char		*end;
	long		 x;

	if (i >= c->nargs || c->args[i].quoted)
		return -1;
	s = c->args[i].s;
	if (*s == '\0')
		return -1;
	errno = 0;
	x = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || x < lo || x > hi)
		return -1;
	*v = x;
	return 0;
}

const char *
at_arg_str(const struct at_cmd *c, int i)
{
	if (i >= c->nargs || !c->args[i].quoted)
		return NULL;
	return c->args[i].s;
}

static int
at_in_command(const char *what)
{
	if (state == AT_BUSY && !final_added)
		return 1;
	log_msg("internal: %s outside a command (state %s)", what,
	    at_state_name[state]);
	return 0;
}

/* Output items */

static struct item *
item_new(enum item_kind kind, const char *head, const void *data,
    size_t dlen, const char *tail)
{
	struct item	*it;
	size_t		 hl = strlen(head), tl = strlen(tail);

	if ((it = malloc(sizeof(*it) + hl + dlen + tl)) == NULL) {
		log_msg("at: out of memory");
		exit(1);
	}
	it->kind = kind;
	it->seq = ++item_seq;
	it->held = 0;
	it->deadline = 0.0;
	it->len = hl + dlen + tl;
	memcpy(it->data, head, hl);
	if (dlen > 0)
		memcpy(it->data + hl, data, dlen);
	memcpy(it->data + hl + dlen, tail, tl);
	return it;
}

/* "\r\n<text>\r\n" */
static struct item *
item_line(enum item_kind kind, const char *text)
{
	char	 buf[AT_INFO_MAX + 8];

	snprintf(buf, sizeof(buf), "\r\n%s", text);
	return item_new(kind, buf, NULL, 0, "\r\n");
}

static void
item_queue_free(struct itemq *q)
{
	struct item	*it;

	while ((it = TAILQ_FIRST(q)) != NULL) {
		TAILQ_REMOVE(q, it, entry);
		free(it);
	}
}

/* Power down: whatever was not out yet is lost. */
static void
at_out_clear(void)
{
	item_queue_free(&resp);
	item_queue_free(&urcq);
	item_queue_free(&prefinal);
	free(cur);
	cur = NULL;
	cur_off = cur_cut = 0;
	pause_until = 0.0;
	out_bytes = 0;
	final_added = 0;
	prompt_out = 0;
	deferred_pending = 0;
	deferred_prompt = 0;
	data_done_waiting = 0;
	cmd_late_ms = -1;
	if (ev_pump != NULL)
		evtimer_del(ev_pump);
	if (ev_deferred != NULL)
		evtimer_del(ev_deferred);
	if (ev_slow != NULL)
		evtimer_del(ev_slow);
}

/* Bytes produced but not yet handed to the line. */
size_t
at_pending(void)
{
	return out_bytes;
}

/*
 * split-response: where the item pauses, 0 for nowhere.  Final results
 * pause between their CR and LF a quarter of the time, the prompt
 * between "\r\n" and "> " a quarter of the time.
 */
static size_t
item_cut(const struct item *it)
{
	uint32_t	 r;

	if (!(opts.quirks & QUIRK_SPLIT_RESPONSE) || it->kind == IT_URC ||
	    it->len < 2)
		return 0;
	r = sim_random();
	switch (it->kind) {
	case IT_FINAL:
		if (r % 4 == 0)
			return it->len - 1;
		break;
	case IT_PROMPT:
		if (r % 4 == 0)
			return 2;
		break;
	default:
		break;
	}
	if (r % 4 == 1 || (it->kind != IT_LINE && it->kind != IT_BLOCK &&
	    r % 4 == 2))
		return 1 + sim_random() % (uint32_t)(it->len - 1);
	return 0;
}

static void
item_start(struct item *it)
{
	cur = it;
	cur_off = 0;
	cur_cut = item_cut(it);
	pause_until = 0.0;
}

/* The last byte of cur is handed to the line. */
static void
item_done(void)
{
	struct item	*it = cur;

	cur = NULL;
	boundary_new = 1;
	if (it->kind != IT_URC && it->kind != IT_FINAL && cmd_stale &&
	    seen_mark == 0)
		seen_mark = pty_queued();
	switch (it->kind) {
	case IT_FINAL:
		final_queued = 1;
		final_mark = pty_queued();
		break;
	case IT_PROMPT:
		prompt_out = 1;
		prompt_mark = pty_queued();
		break;
	default:
		break;
	}
	free(it);
}

static int
at_in_flight(void)
{
	return state == AT_BUSY || state == AT_PROMPT || state == AT_DATA;
}

/*
 * urc-anywhere: may the held URCs at the head of the queue go at this
 * boundary?  At the latest when they are due, and before the final
 * result of the command in flight; otherwise a coin decides, once per
 * boundary.
 */
static void
at_urc_gate(double now)
{
	struct item	*head = TAILQ_FIRST(&urcq), *next, *it;
	int		 go = 0;

	if (head == NULL || !head->held)
		return;
	next = TAILQ_FIRST(&resp);
	if (head->deadline <= now)
		go = 1;
	else if (next != NULL && next->kind == IT_FINAL &&
	    head->seq < next->seq)
		go = 1;
	else if (at_in_flight() && boundary_new) {
		boundary_new = 0;
		go = sim_random() & 1;
	}
	if (go)
		TAILQ_FOREACH(it, &urcq, entry)
			it->held = 0;
}

/*
 * Hands whole items to the line, URCs only between items, and arms the
 * timer for the next thing that waits (a split pause, a held URC).
 */
static void
at_pump(void)
{
	struct timeval	 tv;
	struct item	*u, *r;
	double		 now, wake = 0.0, s;
	size_t		 end;

	if (pumping || state == AT_DOWN || !pty_is_up())
		return;
	pumping = 1;
	evtimer_del(ev_pump);
	for (;;) {
		now = pace_now();
		if (cur != NULL) {
			if (pause_until > now) {
				if (wake == 0.0 || pause_until < wake)
					wake = pause_until;
				break;
			}
			end = cur_cut > cur_off ? cur_cut : cur->len;
			pty_send(cur->data + cur_off, end - cur_off);
			out_bytes -= end - cur_off;
			cur_off = end;
			if (cur_off < cur->len) {
				pause_until = now +
				    (double)at_random_ms(AT_SPLIT_MS) / 1000.0;
				log_msg("split: %zu of %zu bytes out, pause %.0f "
				    "ms", cur_off, cur->len,
				    (pause_until - now) * 1000.0);
				continue;
			}
			item_done();
			continue;
		}
		u = TAILQ_FIRST(&urcq);
		r = TAILQ_FIRST(&resp);
		/*
		 * The payload's echo is length-counted: no URC inside it.
		 * Data mode holds them all (5.11).
		 */
		if (u != NULL && !(state == AT_DATA && modem_echo()) &&
		    state != AT_TRANS) {
			at_urc_gate(now);
			if (!u->held && (r == NULL || u->seq < r->seq)) {
				TAILQ_REMOVE(&urcq, u, entry);
				item_start(u);
				continue;
			}
			if (u->held && (wake == 0.0 || u->deadline < wake))
				wake = u->deadline;
		}
		if (r != NULL && (u == NULL || u->held || r->seq < u->seq ||
		    (state == AT_DATA && modem_echo()))) {
			TAILQ_REMOVE(&resp, r, entry);
			item_start(r);
			continue;
		}
		break;
	}
	if (wake > 0.0) {
		s = wake - pace_now();
		if (s < 0.0001)
			s = 0.0001;
		tv.tv_sec = (time_t)s;
		tv.tv_usec = (suseconds_t)((s - (double)tv.tv_sec) * 1e6) + 1;
		evtimer_add(ev_pump, &tv);
	}
	pumping = 0;
}

static void
at_pump_cb(evutil_socket_t fd, short what, void *arg)
{
	at_pump();
}

/* Appends a response item of the command in flight. */
static void
at_resp_add(struct item *it)
{
	log_bytes(it->kind == IT_BLOCK ? "tx block" : "tx", it->data,
	    it->len);
	TAILQ_INSERT_TAIL(&resp, it, entry);
	out_bytes += it->len;
	at_pump();
}

/* A URC is due: now, or at a later boundary with urc-anywhere. */
static void
at_urc_add(struct item *it)
{
	long	 ms;

	if (opts.quirks & QUIRK_URC_ANYWHERE) {
		it->held = sim_random() & 1;
		ms = AT_HOLD_MIN_MS +
		    at_random_ms(AT_HOLD_MAX_MS - AT_HOLD_MIN_MS);
		it->deadline = pace_now() + (double)ms / 1000.0;
		if (it->held)
			log_msg("urc held for a later boundary (at most %ld ms)",
			    ms);
	}
	TAILQ_INSERT_TAIL(&urcq, it, entry);
	out_bytes += it->len;
	at_pump();
}

/* Lets the current item out whole, before a byte that must not cut it. */
static void
at_flush_cur(void)
{
	if (cur == NULL)
		return;
	pty_send(cur->data + cur_off, cur->len - cur_off);
	out_bytes -= cur->len - cur_off;
	cur_off = cur->len;
	item_done();
}

void
at_info(const char *fmt, ...)
{
	char	 text[AT_INFO_MAX];
	va_list	 ap;

	if (!at_in_command("info line"))
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	at_resp_add(item_line(IT_LINE, text));
	if (++ninfo == 1 && (opts.quirks & QUIRK_URC_IN_LIST))
		at_urc("%s", AT_LIST_URC);
}

void
at_info_data(const char *hdr, const void *data, size_t len)
{
	char	 head[AT_INFO_MAX];
	int	 n;

	if (!at_in_command("data block"))
		return;
	n = snprintf(head, sizeof(head), "\r\n%s\r\n", hdr);
	if (n < 0 || (size_t)n >= sizeof(head))
		return;
	at_resp_add(item_new(IT_BLOCK, head, data, len, "\r\n"));
	ninfo++;
}

/* The final result goes now: the URCs held for it go first. */
static void
at_final_now(const char *text)
{
	struct item	*it;

	/* They were due before the final result: it cannot overtake them. */
	while ((it = TAILQ_FIRST(&prefinal)) != NULL) {
		TAILQ_REMOVE(&prefinal, it, entry);
		it->seq = ++item_seq;
		TAILQ_INSERT_TAIL(&urcq, it, entry);
		out_bytes += it->len;
	}
	at_resp_add(item_line(IT_FINAL, text));
}

static void
at_deferred_cb(evutil_socket_t fd, short what, void *arg)
{
	if (!deferred_pending)
		return;
	deferred_pending = 0;
	if (deferred_prompt) {
		deferred_prompt = 0;
		log_msg("late-prompt: the prompt goes now");
		at_resp_add(item_new(IT_PROMPT, "\r\n> ", NULL, 0, ""));
		if (data_done_waiting) {
			data_done_waiting = 0;
			at_finish_data();
		}
		return;
	}
	at_final_now(deferred_final);
}

/*
 * The final result, ms milliseconds from now (URCs due meanwhile go out
 * before it), or at once.
 */
void
at_final_delay(const char *text, long ms)
{
	struct timeval	 tv;

	if (!at_in_command("final result"))
		return;
	final_added = 1;
	if (cmd_late_ms > ms)
		ms = cmd_late_ms;
	cmd_late_ms = -1;
	if (ms <= 0) {
		at_final_now(text);
		return;
	}
	snprintf(deferred_final, sizeof(deferred_final), "%s", text);
	deferred_pending = 1;
	deferred_prompt = 0;
	ms_to_tv(ms, &tv);
	evtimer_add(ev_deferred, &tv);
}

/* CONNECT: once it is written, slot id has the line (data mode). */
void
at_connect(int id)
{
	if (!at_in_command("CONNECT"))
		return;
	connect_id = id;
	at_final("CONNECT");
}

int
at_data_mode(void)
{
	return state == AT_TRANS;
}

/*
 * Data mode ends with text: written at once (nothing else may be on the
 * line in data mode), then the URCs held meanwhile.
 */
static void
at_leave(const char *text, int escape)
{
	char	 buf[64];
	int	 n;

	n = snprintf(buf, sizeof(buf), "\r\n%s\r\n", text);
	log_bytes("tx", buf, (size_t)n);
	pty_send(buf, (size_t)n);
	leave_mark = pty_queued();
	leave_escape = escape;
	violated = 0;
	state = AT_LEAVING;
	boundary_new = 1;
	at_pump();
}

/* trans.c saw "+++" with its guard times. */
void
at_escaped(void)
{
	snprintf(current, sizeof(current), "+++");
	at_leave("OK", 1);
}

/* The socket in data mode is gone (remote close, network lost). */
void
at_carrier_lost(void)
{
	if (state != AT_TRANS)
		return;
	trans_end();
	at_leave("NO CARRIER", 0);
}

void
at_final(const char *text)
{
	at_final_delay(text, 0);
}

void
at_ok(void)
{
	at_final("OK");
}

void
at_error(void)
{
	at_final("ERROR");
}

/*
 * The modem's error names: +CME ERROR's verbose form (AT+CMEE=2) and
 * AT+QIGETERROR's text, one table for both.
 */
static const struct {
	int		 code;
	const char	*text;
} at_errors[] = {
	{ 0,	"operation success" },
	{ 3,	"operation not allowed" },
	{ 4,	"operation not supported" },
	{ 10,	"SIM not inserted" },
	{ 30,	"no network service" },
	{ 50,	"incorrect parameters" },
	{ 550,	"unknown error" },
	{ 552,	"invalid parameters" },
	{ 554,	"create socket failed" },
	{ 555,	"operation not supported" },
	{ 556,	"socket bind failed" },
	{ 557,	"socket listen failed" },
	{ 561,	"open PDP context failed" },
	{ 563,	"socket identity has been used" },
	{ 565,	"DNS parse failed" },
	{ 566,	"socket connect failed" },
	{ 567,	"socket has been closed" },
	{ 572,	"operation not allowed" },
};

const char *
at_err_text(int code)
{
	size_t	 i;

	for (i = 0; i < sizeof(at_errors) / sizeof(at_errors[0]); i++)
		if (at_errors[i].code == code)
			return at_errors[i].text;
	return NULL;
}

void
at_cme(int code)
{
	char	 text[96];

	switch (modem_cmee()) {
	case 1:
		snprintf(text, sizeof(text), "+CME ERROR: %d", code);
		break;
	case 2:
		snprintf(text, sizeof(text), "+CME ERROR: %s",
		    at_err_text(code) != NULL ? at_err_text(code) : "unknown");
		break;
	default:
		snprintf(text, sizeof(text), "ERROR");
		break;
	}
	at_final(text);
}

void
at_tcpip_error(int code)
{
	modem_set_error(code);
	if ((opts.quirks & QUIRK_CME_TCPIP) && modem_cmee() != 0)
		at_cme(code);
	else
		at_error();
}

void
at_prompt(size_t len, void (*cb)(const uint8_t *, size_t, void *),
    void *arg)
{
	struct timeval	 tv;

	if (!at_in_command("prompt"))
		return;
	payload_len = len;
	payload_have = 0;
	payload_cb = cb;
	payload_arg = arg;
	if (opts.quirks & QUIRK_URC_BEFORE_PROMPT)
		at_urc("%s", AT_LIST_URC);
	if (late_prompt_ms >= 0) {
		/*
		 * late-prompt: the modem reads payload at once, as a real
		 * one reads whatever follows the command line, but says
		 * "> " only later.  The host may give up waiting meanwhile:
		 * no violation, and what it sends is payload.
		 */
		log_msg("late-prompt: \"> \" of \"%s\" comes %ld ms late",
		    current, late_prompt_ms);
		violated = 1;
		deferred_pending = 1;
		deferred_prompt = 1;
		ms_to_tv(late_prompt_ms, &tv);
		late_prompt_ms = -1;
		evtimer_add(ev_deferred, &tv);
		state = AT_DATA;
		at_replay();
		return;
	}
	state = AT_PROMPT;
	prompt_out = 0;
	at_resp_add(item_new(IT_PROMPT, "\r\n> ", NULL, 0, ""));
	if (state == AT_PROMPT && prompt_out && pty_written() >= prompt_mark)
		at_written(pty_written());
}

void
at_urc(const char *fmt, ...)
{
	struct item	*it;
	char		 text[AT_INFO_MAX];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (state == AT_DOWN || !pty_is_up()) {
		log_msg("urc dropped (modem down): %s", text);
		return;
	}
	if (!modem_urcs_here()) {
		log_msg("urc to another port: %s", text);
		return;
	}
	it = item_line(IT_URC, text);
	log_bytes("urc", it->data, it->len);
	at_urc_add(it);
}

void
at_urc_data(const char *hdr, const void *data, size_t len)
{
	char	 head[AT_INFO_MAX];
	int	 n;

	if (state == AT_DOWN || !pty_is_up() || !modem_urcs_here()) {
		log_msg("push data dropped (%zu bytes): %s", len, hdr);
		return;
	}
	n = snprintf(head, sizeof(head), "\r\n%s\r\n", hdr);
	if (n < 0 || (size_t)n >= sizeof(head))
		return;
	log_bytes("urc", head, (size_t)n);
	log_bytes("urc data", data, len);
	at_urc_add(item_new(IT_URC, head, data, len, "\r\n"));
}

/*
 * A URC that goes out just before the final result of the command in
 * flight (closed-in-response).
 */
void
at_urc_before_final(const char *fmt, ...)
{
	struct item	*it;
	char		 text[AT_INFO_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (!at_in_command("URC before the final result")) {
		at_urc("%s", text);
		return;
	}
	log_msg("urc held for the final result: %s", text);
	it = item_line(IT_URC, text);
	TAILQ_INSERT_TAIL(&prefinal, it, entry);
}

/*
 * Bytes that bypass the queues (boot and power URCs, garbage): what is
 * ready goes first, and never inside an item.
 */
void
at_raw(const void *buf, size_t len)
{
	at_pump();
	at_flush_cur();
	pty_send(buf, len);
}

void
at_line_force(const char *text)
{
	char	 buf[AT_INFO_MAX + 8];
	int	 n;

	n = snprintf(buf, sizeof(buf), "\r\n%s\r\n", text);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return;
	log_bytes("urc", buf, (size_t)n);
	at_raw(buf, (size_t)n);
}

/* Control: the next QISEND prompt comes ms late. */
void
at_set_late_prompt(long ms)
{
	late_prompt_ms = ms;
}

/* Control: the next command's final result comes ms late. */
void
at_set_late_answer(long ms)
{
	late_answer_ms = ms;
}
