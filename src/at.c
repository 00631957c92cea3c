/*
 * at.c: frame the bytes a Quectel BG96 writes on its AT port.
 *
 * The modem wraps every line as "\r\n<text>\r\n" (reference section 1).
 * CR and LF are each treated as a line terminator and empty lines are
 * skipped, so an echoed "AT\r" still comes out as the line "AT".  Three
 * things break the line model and are handled here:
 *
 * - the QISEND prompt "> " has no line end (section 1.5);
 * - "+QIRD: <n>" and the direct-push "+QIURC: \"recv\",..." headers are
 *   followed by exactly n raw bytes that must never be scanned (11.4);
 *   their prefixes are each socket command family's (cmdfam.h);
 * - a runaway line must not overflow the buffer.
 *
 * Every decision depends only on the bytes seen so far, never on where a
 * call boundary fell, so any chunking of the input gives the same events.
 *
 * Embedded NUL bytes in a line are stored as '?', so an event's line is
 * always a C string whose strlen() equals line_len.
 */

#include <string.h>

#include "bg96d/at.h"
#include "bg96d/cmdfam.h"

enum at_state {
	AT_ST_LINE = 0,		/* collecting a line, or dropping an overlong */
	AT_ST_GT,		/* saw '>' at the start of a line */
	AT_ST_PAYLOAD_LF,	/* header ended at CR: eat an LF if present */
	AT_ST_PAYLOAD,		/* collecting want payload bytes */
	AT_ST_FINAL_LF,		/* final result ended at CR: wait for its LF */
};

/* What a complete line turned out to be. */
enum at_kind {
	AT_KIND_LINE,
	AT_KIND_PAYLOAD,
	AT_KIND_BADLEN,
};

/* A number too large for any field we care about. */
#define AT_NUM_BIG	1000000000L

/* At most this many comma-separated fields are looked at in a header. */
#define AT_NFIELDS	6

struct at_field {
	const char	*s;
	size_t		 len;
	bool		 quoted;
};

static const struct {
	const char	*text;
	enum at_final	 final;
} at_finals[] = {
	{ "OK",		AT_FINAL_OK },
	{ "ERROR",	AT_FINAL_ERROR },
	{ "SEND OK",	AT_FINAL_SEND_OK },
	{ "SEND FAIL",	AT_FINAL_SEND_FAIL },
	{ "CONNECT",	AT_FINAL_CONNECT },
	{ "NO CARRIER",	AT_FINAL_NO_CARRIER },
};

/* Reference sections 2.1, 2.2 and 7; the socket URCs are cmdfam.h's. */
static const char *at_urcs[] = {
	"RDY",
	"APP RDY",
	"POWERED DOWN",
	"PSM POWER DOWN",
	"+CFUN:",
	"+CPIN:",
	"+QUSIM:",
	"+QIND:",
	"+QSIMSTAT:",
	"+CREG:",
	"+CGREG:",
	"+CEREG:",
	"+CGEV:",
	"+CTZV:",
	"+CTZE:",
	"+QGPSURC:",
	"+CMTI:",
	"+QPING:",
	"+QNTP:",
};

#define nitems(a)	(sizeof (a) / sizeof (a)[0])

void
at_parser_init(struct at_parser *p)
{
	memset(p, 0, sizeof *p);
	p->state = AT_ST_LINE;
}

void
at_parser_set_push(struct at_parser *p, int id, bool push)
{
	if (id < 0 || id >= AT_NSLOTS)
		return;
	if (push)
		p->push_mask |= (uint16_t)(1U << id);
	else
		p->push_mask &= (uint16_t)~(1U << id);
}

/* Value of s[0..len) if it is one or more digits (saturated), else -1. */
static long
at_number(const char *s, size_t len)
{
	long	v = 0;
	size_t	i;

	if (len == 0)
		return (-1);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		if (v < AT_NUM_BIG)
			v = v * 10 + (s[i] - '0');
	}
	return (v > AT_NUM_BIG ? AT_NUM_BIG : v);
}

static long
at_field_number(const struct at_field *f)
{
	if (f->quoted)
		return (-1);
	return (at_number(f->s, f->len));
}

/*
 * Split s at commas that are not inside double quotes.  A quoted field
 * must be exactly "..." (quotes stripped from s/len).  Returns the number
 * of fields, or -1 if there are too many or the quoting is broken.
 */
static int
at_split(const char *s, struct at_field *f, int max)
{
	int	n = 0;

	for (;;) {
		if (n == max)
			return (-1);
		f[n].quoted = (*s == '"');
		if (f[n].quoted) {
			f[n].s = ++s;
			while (*s != '\0' && *s != '"')
				s++;
			if (*s != '"')
				return (-1);
			f[n].len = s - f[n].s;
			s++;
			if (*s != ',' && *s != '\0')
				return (-1);
		} else {
			f[n].s = s;
			while (*s != '\0' && *s != ',')
				s++;
			f[n].len = s - f[n].s;
		}
		n++;
		if (*s == '\0')
			return (n);
		s++;
	}
}

/* Could a field be an IP address (quoted, or with '.' or ':')? */
static bool
at_field_is_ip(const struct at_field *f)
{
	if (f->quoted)
		return (true);
	return (memchr(f->s, '.', f->len) != NULL ||
	    memchr(f->s, ':', f->len) != NULL);
}

/* Turn a payload length field into a kind, storing the length. */
static enum at_kind
at_length(const struct at_field *f, size_t *want)
{
	long	n;

	n = at_field_number(f);
	if (n < 0 || n > AT_PAYLOAD_MAX)
		return (AT_KIND_BADLEN);
	if (n == 0)
		return (AT_KIND_LINE);	/* "+QIRD: 0": an empty read */
	*want = (size_t)n;
	return (AT_KIND_PAYLOAD);
}

/*
 * "+QIRD: <n>" and "+QIRD: <n>,<ip>,<port>" (UDP SERVICE) carry n bytes;
 * "+QIRD: <a>,<b>,<c>" is the AT+QIRD=<id>,0 counter answer (5.7).  Any
 * other shape is refused: we cannot know how many bytes follow it.
 */
static enum at_kind
at_classify_qird(const char *s, size_t *want)
{
	struct at_field	f[AT_NFIELDS];
	int		nf;

	while (*s == ' ')
		s++;
	nf = at_split(s, f, nitems(f));
	if (nf == 1)
		return (at_length(&f[0], want));
	if (nf == 3 && at_field_number(&f[0]) == 0)
		return (AT_KIND_LINE);	/* an empty read, any layout (14.10) */
	if (nf == 3 && at_field_number(&f[2]) >= 0) {
		if (at_field_number(&f[0]) >= 0 &&
		    at_field_number(&f[1]) >= 0)
			return (AT_KIND_LINE);
		if (at_field_is_ip(&f[1]))
			return (at_length(&f[0], want));
	}
	return (AT_KIND_BADLEN);
}

/*
 * `+QIURC: "recv",<id>` (buffer mode) is a plain URC, and so is
 * `"recv",<id>,<n>` unless slot id is in direct-push mode (with recvind in
 * buffer mode the length is only informational).  `"recv",<id>,<n>,<ip>,
 * <port>` is the UDP SERVICE push and always carries n bytes (section 7).
 */
static enum at_kind
at_classify_recv(const struct at_parser *p, const char *s, size_t *want)
{
	struct at_field	f[AT_NFIELDS];
	int		nf;
	long		id;

	nf = at_split(s, f, nitems(f));
	if (nf == 2) {
		id = at_field_number(&f[0]);
		if (id < 0 || id >= AT_NSLOTS ||
		    (p->push_mask & (1U << id)) == 0)
			return (AT_KIND_LINE);
		return (at_length(&f[1], want));
	}
	if (nf == 4)
		return (at_length(&f[1], want));
	return (AT_KIND_LINE);
}

/* A read's header, a push URC, or a line (of any socket family). */
static enum at_kind
at_classify(const struct at_parser *p, const char *line, size_t *want)
{
	const struct cmdfam	*f;
	const char		*s;
	size_t			 i;

	for (i = 0; (f = cmdfam_all[i]) != NULL; i++) {
		if ((s = cmdfam_after(line, f->read_hdr)) != NULL)
			return (at_classify_qird(s, want));
		if ((s = cmdfam_after(line, f->urc)) != NULL) {
			while (*s == ' ')
				s++;
			if ((s = cmdfam_after(s, "\"recv\",")) != NULL)
				return (at_classify_recv(p, s, want));
			return (AT_KIND_LINE);
		}
	}
	return (AT_KIND_LINE);
}

/* The number after "+CME ERROR:" or "+CMS ERROR:", or -1 for text. */
static int
at_error_code(const char *s)
{
	long	n;

	while (*s == ' ')
		s++;
	n = at_number(s, strlen(s));
	if (n < 0 || n >= AT_NUM_BIG)
		return (-1);
	return ((int)n);
}

/* Which final result code line is (AT_FINAL_NONE if none); sets *code. */
static enum at_final
at_final(const char *line, int *code)
{
	const char	*s;
	size_t		 i;

	*code = -1;
	for (i = 0; i < nitems(at_finals); i++) {
		if (strcmp(line, at_finals[i].text) == 0)
			return (at_finals[i].final);
	}
	if (cmdfam_after(line, "CONNECT ") != NULL)
		return (AT_FINAL_CONNECT);
	if ((s = cmdfam_after(line, "+CME ERROR:")) != NULL) {
		*code = at_error_code(s);
		return (AT_FINAL_CME_ERROR);
	}
	if ((s = cmdfam_after(line, "+CMS ERROR:")) != NULL) {
		*code = at_error_code(s);
		return (AT_FINAL_CMS_ERROR);
	}
	return (AT_FINAL_NONE);
}

/*
 * A non-empty line ended with terminator c.  Either fill ev and return
 * true, or switch to payload mode and return false.
 */
static bool
at_line_done(struct at_parser *p, uint8_t c, struct at_event *ev)
{
	size_t	want = 0;

	p->line[p->line_len] = '\0';
	ev->line = p->line;
	ev->line_len = p->line_len;
	p->line_len = 0;

	ev->final = at_final(p->line, &ev->code);
	if (ev->final != AT_FINAL_NONE && c == '\r') {
		/*
		 * Hold it until the next byte (normally the LF of "\r\n"):
		 * the modem has not finished the result before that, and a
		 * host that answers at once talks over it.
		 */
		p->pend_final = ev->final;
		p->pend_code = ev->code;
		memcpy(p->hdr, p->line, ev->line_len + 1);
		p->state = AT_ST_FINAL_LF;
		ev->line = NULL;
		ev->line_len = 0;
		ev->final = AT_FINAL_NONE;
		ev->code = -1;
		return (false);
	}
	if (ev->final != AT_FINAL_NONE) {
		ev->type = AT_EV_FINAL;
		return (true);
	}
	switch (at_classify(p, p->line, &want)) {
	case AT_KIND_LINE:
		ev->type = AT_EV_LINE;
		return (true);
	case AT_KIND_BADLEN:
		ev->type = AT_EV_BADLEN;
		return (true);
	case AT_KIND_PAYLOAD:
		break;
	}

	/* The payload starts after the header's CRLF (or lone LF). */
	memcpy(p->hdr, p->line, ev->line_len + 1);
	p->want = want;
	p->have = 0;
	p->state = c == '\r' ? AT_ST_PAYLOAD_LF : AT_ST_PAYLOAD;
	ev->line = NULL;
	ev->line_len = 0;
	return (false);
}

/* The final result held for its LF (in p->hdr) as an event. */
static void
at_pending_final(const struct at_parser *p, struct at_event *ev)
{
	ev->type = AT_EV_FINAL;
	ev->final = (enum at_final)p->pend_final;
	ev->code = p->pend_code;
	ev->line = p->hdr;
	ev->line_len = strlen(p->hdr);
}

size_t
at_parse(struct at_parser *p, const uint8_t *buf, size_t len,
    struct at_event *ev)
{
	size_t	i = 0, n;
	uint8_t	c;

	memset(ev, 0, sizeof *ev);
	ev->type = AT_EV_NONE;
	ev->code = -1;

	while (i < len) {
		switch ((enum at_state)p->state) {
		case AT_ST_FINAL_LF:
			/*
			 * The result's text waits in p->hdr.  The byte after
			 * its CR is consumed here: an LF ends the result, a CR
			 * is an empty line, anything else starts the next one.
			 */
			c = buf[i++];
			p->state = AT_ST_LINE;
			if (c == '>')
				p->state = AT_ST_GT;
			else if (c != '\n' && c != '\r') {
				p->line[0] = c == '\0' ? '?' : (char)c;
				p->line_len = 1;
			}
			at_pending_final(p, ev);
			return (i);
		case AT_ST_PAYLOAD_LF:
			p->state = AT_ST_PAYLOAD;
			if (buf[i] == '\n')
				i++;
			break;
		case AT_ST_PAYLOAD:
			n = p->want - p->have;
			if (n > len - i)
				n = len - i;
			memcpy(p->payload + p->have, buf + i, n);
			p->have += n;
			i += n;
			if (p->have < p->want)
				break;
			p->state = AT_ST_LINE;
			ev->type = AT_EV_PAYLOAD;
			ev->line = p->hdr;
			ev->line_len = strlen(p->hdr);
			ev->data = p->payload;
			ev->data_len = p->have;
			p->want = p->have = 0;
			return (i);
		case AT_ST_GT:
			p->state = AT_ST_LINE;
			if (buf[i] == ' ') {
				ev->type = AT_EV_PROMPT;
				return (i + 1);
			}
			/* Not a prompt: '>' starts an ordinary line. */
			p->line[0] = '>';
			p->line_len = 1;
			break;		/* buf[i] is now a line byte */
		case AT_ST_LINE:
			c = buf[i++];
			if (c == '\r' || c == '\n') {
				if (p->overlong) {
					p->overlong = false;
					p->line_len = 0;
				} else if (p->line_len != 0 &&
				    at_line_done(p, c, ev))
					return (i);
				break;
			}
			if (p->overlong)
				break;
			if (c == '>' && p->line_len == 0) {
				p->state = AT_ST_GT;
				break;
			}
			if (p->line_len == AT_LINE_MAX) {
				/* Report once, then drop up to the line end. */
				p->line[AT_LINE_MAX] = '\0';
				p->overlong = true;
				p->line_len = 0;
				ev->type = AT_EV_OVERLONG;
				ev->line = p->line;
				ev->line_len = AT_LINE_MAX;
				return (i);
			}
			p->line[p->line_len++] = c == '\0' ? '?' : (char)c;
			break;
		}
	}
	return (i);
}

bool
at_final_pending(const struct at_parser *p)
{
	return p->state == AT_ST_FINAL_LF;
}

bool
at_flush(struct at_parser *p, struct at_event *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->type = AT_EV_NONE;
	ev->code = -1;
	if (p->state != AT_ST_FINAL_LF)
		return (false);
	p->state = AT_ST_LINE;
	at_pending_final(p, ev);
	return (true);
}

const char *
at_final_name(enum at_final f)
{
	switch (f) {
	case AT_FINAL_NONE:
		return ("none");
	case AT_FINAL_OK:
		return ("OK");
	case AT_FINAL_ERROR:
		return ("ERROR");
	case AT_FINAL_CME_ERROR:
		return ("+CME ERROR");
	case AT_FINAL_CMS_ERROR:
		return ("+CMS ERROR");
	case AT_FINAL_SEND_OK:
		return ("SEND OK");
	case AT_FINAL_SEND_FAIL:
		return ("SEND FAIL");
	case AT_FINAL_CONNECT:
		return ("CONNECT");
	case AT_FINAL_NO_CARRIER:
		return ("NO CARRIER");
	}
	return ("unknown");
}

bool
at_is_urc(const char *line)
{
	size_t	i;

	if (line == NULL)
		return (false);
	if (cmdfam_of_urc(line) != NULL)
		return (true);
	for (i = 0; i < nitems(at_urcs); i++) {
		if (cmdfam_after(line, at_urcs[i]) != NULL)
			return (true);
	}
	return (false);
}
