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
 */
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

enum at_state {
	AT_DOWN,	/* powered down or rebooting: input is dropped */
	AT_IDLE,	/* assembling a command line */
	AT_BUSY,	/* a command runs, or its final result is not out yet */
	AT_PROMPT,	/* AT+QISEND: "> " is not completely written yet */
	AT_DATA		/* AT+QISEND: reading the payload */
};

static const char *const at_state_name[] = {
	"down", "idle", "busy", "prompt", "data"
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
static int		 bad_line;	/* the command in flight is an overlong line */
static char		 current[80];	/* the command in flight, escaped */
static int		 final_queued;
static uint64_t		 final_mark;
static uint64_t		 prompt_mark;
static int		 ninfo;
static struct event	*ev_latency;
static struct at_cmd	 cmd;

static uint8_t		 payload[SIM_MAXSEND];
static size_t		 payload_len;
static size_t		 payload_have;
static void		(*payload_cb)(const uint8_t *, size_t, void *);
static void		*payload_arg;

static void	 at_feed(const uint8_t *, size_t, int, size_t);
static void	 at_execute(void);
static void	 at_latency_cb(evutil_socket_t, short, void *);

void
at_init(void)
{
	if ((held = evbuffer_new()) == NULL ||
	    (ev_latency = evtimer_new(base, at_latency_cb, NULL)) == NULL) {
		log_msg("at: out of memory");
		exit(1);
	}
}

void
at_free(void)
{
	if (ev_latency != NULL)
		event_free(ev_latency);
	if (held != NULL)
		evbuffer_free(held);
	ev_latency = NULL;
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

/* The stall is over: the len bytes waiting were sent while we were mute. */
void
at_forgive(size_t len)
{
	forgiven = len;
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
	if (state == AT_BUSY && final_queued && written >= final_mark) {
		state = AT_IDLE;
		final_queued = 0;
		at_replay();
	} else if (state == AT_PROMPT && written >= prompt_mark) {
		state = AT_DATA;
		at_replay();
	}
}

static void
at_line_done(void)
{
	char	 esc[SIM_MAXLINE * 4 + 1];
	size_t	 n = linelen;
	int	 ovf = overflow;

	line[n] = '\0';
	linelen = 0;
	overflow = 0;
	if (n == 0 && !ovf)
		return;		/* an empty line is not a command */
	log_escape(esc, sizeof(esc), line, n);
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
	violated = 0;
	ninfo = 0;
	if (opts.latency_ms > 0) {
		struct timeval	 tv;

		tv.tv_sec = opts.latency_ms / 1000;
		tv.tv_usec = (opts.latency_ms % 1000) * 1000;
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

static void
at_data_done(void)
{
	void	(*cb)(const uint8_t *, size_t, void *) = payload_cb;
	void	*arg = payload_arg;

	log_bytes("rx payload", payload, payload_len);
	state = AT_BUSY;
	payload_cb = NULL;
	payload_arg = NULL;
	if (cb != NULL)
		cb(payload, payload_len, arg);
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
				if (!violated && quiet < len) {
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
		case AT_IDLE:
			if (!replay)
				last_read = buf[i];
			at_char(buf[i++]);
			continue;
		}
	}
}

void
at_input(const uint8_t *buf, size_t len)
{
	size_t	 quiet = forgiven < len ? forgiven : len;

	log_bytes("in", buf, len);
	forgiven -= quiet;
	at_feed(buf, len, 0, quiet);
}

static void
at_latency_cb(evutil_socket_t fd, short what, void *arg)
{
	if (state == AT_BUSY && !final_queued)
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
	if (state == AT_BUSY && !final_queued)
		return 1;
	log_msg("internal: %s outside a command (state %s)", what,
	    at_state_name[state]);
	return 0;
}

static void
at_send_line(const char *text, const char *what)
{
	char	 buf[AT_INFO_MAX + 8];
	int	 n;

	n = snprintf(buf, sizeof(buf), "\r\n%s\r\n", text);
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	log_bytes(what, buf, (size_t)n);
	pty_send(buf, (size_t)n);
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
	at_send_line(text, "tx");
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
	log_bytes("tx", head, (size_t)n);
	log_bytes("tx data", data, len);
	pty_send(head, (size_t)n);
	pty_send(data, len);
	pty_send("\r\n", 2);
	ninfo++;
}

void
at_final(const char *text)
{
	if (!at_in_command("final result"))
		return;
	at_send_line(text, "tx");
	final_queued = 1;
	final_mark = pty_queued();
	if (pty_written() >= final_mark)
		at_written(pty_written());
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

static const char *
at_cme_text(int code)
{
	switch (code) {
	case 3:
		return "operation not allowed";
	case 4:
		return "operation not supported";
	case 10:
		return "SIM not inserted";
	case 30:
		return "no network service";
	case 50:
		return "incorrect parameters";
	case 550:
		return "unknown error";
	case 552:
		return "invalid parameters";
	case 555:
		return "operation not supported";
	case 561:
		return "open PDP context failed";
	case 563:
		return "socket identity has been used";
	case 565:
		return "DNS parse failed";
	case 566:
		return "socket connect failed";
	case 567:
		return "socket has been closed";
	case 572:
		return "operation not allowed";
	default:
		return "unknown";
	}
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
		    at_cme_text(code));
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
	if (!at_in_command("prompt"))
		return;
	payload_len = len;
	payload_have = 0;
	payload_cb = cb;
	payload_arg = arg;
	if (opts.quirks & QUIRK_URC_BEFORE_PROMPT)
		at_urc("%s", AT_LIST_URC);
	log_msg("tx: \\r\\n> ");
	pty_send("\r\n> ", 4);
	state = AT_PROMPT;
	prompt_mark = pty_queued();
	if (pty_written() >= prompt_mark)
		at_written(pty_written());
}

void
at_urc(const char *fmt, ...)
{
	char	 text[AT_INFO_MAX];
	va_list	 ap;

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
	at_send_line(text, "urc");
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
	pty_send(head, (size_t)n);
	pty_send(data, len);
	pty_send("\r\n", 2);
}

void
at_line_force(const char *text)
{
	at_send_line(text, "urc");
}
