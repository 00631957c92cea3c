/*
 * fuzz-control.c: libFuzzer harness for the control socket's request
 * parser.
 *
 * Byte 0 picks the chunking (as in fuzz-socks.c) and its top bit whether
 * the client half-closes after its last byte.  The rest is what a client
 * writes to control.sock.  The harness plays control.c: it offers
 * ctl_line_take() what has arrived (capped as control.c caps it) and
 * classifies each line with ctl_parse_request().  It checks that
 *  - lines and results do not depend on the chunking;
 *  - a line is never longer than CONTROL_LINE_MAX and has no NUL or LF
 *    (only one CR before the LF is dropped: "x\r\r\n" is "x\r", which
 *    no request matches);
 *  - CTL_LINE_MORE is only returned below the bound (input is bounded);
 *  - a command allowed to reach the modem is one printable ASCII line of
 *    at most CONTROL_AT_MAX bytes that starts with "AT", with no ';' and
 *    balanced quotes: it cannot carry a second command, a CR, LF, ESC or
 *    Ctrl-Z (which would end a QISEND payload), or an open string;
 *  - the line as a reply string (ctl_json_str(), how modem and config
 *    text reach a reply) is one line of ASCII, as long as ctl_json_len()
 *    says, and reads back as the same bytes, one code point each.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bg96d/ctljson.h"
#include "bg96d/ctlproto.h"

#include "fuzz-chunk.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_LINES_MAX	64

struct outcome {
	int		 nlines;
	bool		 overlong;
	uint32_t	 hash;		/* over lines and classifications */
};

static uint32_t
mix(uint32_t h, const void *p, size_t n)
{
	const uint8_t	*b = p;

	while (n-- > 0)
		h = (h ^ *b++) * 16777619U;
	return h;
}

static void
check_at(const struct ctl_req *r)
{
	size_t	 n, i, q = 0;

	if (r->at == NULL)
		abort();
	if (r->error != NULL)
		return;
	n = strlen(r->at);
	if (n < 2 || n > CONTROL_AT_MAX)
		abort();
	if (toupper((unsigned char)r->at[0]) != 'A' ||
	    toupper((unsigned char)r->at[1]) != 'T')
		abort();
	for (i = 0; i < n; i++) {
		unsigned char	 c = (unsigned char)r->at[i];

		if (c < 0x20 || c >= 0x7f || c == ';')
			abort();
		q += c == '"';
	}
	if (q % 2 != 0 || r->kind < 0 || r->kind >= TMO__COUNT)
		abort();
	if (r->prefix != NULL && r->prefix[0] != '+')
		abort();
}

static void
check_json(const char *line, size_t n)
{
	json_t			*s = ctl_json_str(line), *back;
	const unsigned char	*u;
	char			*text;
	size_t			 i, j, len;
	unsigned int		 cp;

	text = json_dumps(s, CTL_JSON_FLAGS | JSON_ENCODE_ANY);
	if (text == NULL)
		abort();
	len = strlen(text);
	if (len != ctl_json_len(s))
		abort();
	for (i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 ||
		    (unsigned char)text[i] > 0x7f)
			abort();
	back = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (!json_is_string(back))
		abort();
	u = (const unsigned char *)json_string_value(back);
	len = json_string_length(back);
	for (i = 0, j = 0; i < len; j++) {
		if (u[i] < 0x80)
			cp = u[i++];
		else if ((u[i] & 0xe0) == 0xc0 && i + 1 < len) {
			cp = (unsigned int)(u[i] & 0x1f) << 6 | (u[i + 1] & 0x3f);
			i += 2;
		} else
			abort();	/* beyond U+07FF: not from a byte */
		if (j >= n || cp != (unsigned char)line[j])
			abort();
	}
	if (j != n)
		abort();
	json_decref(back);
	free(text);
	json_decref(s);
}

static void
run(const uint8_t *in, size_t len, uint8_t maxc, bool eof,
    struct outcome *o)
{
	char		 line[CONTROL_LINE_MAX + 1];
	struct ctl_req	 r;
	size_t		 arrived = 0, pos = 0, avail, used, chunk, n;
	uint32_t	 seed = 0x68e31da4U ^ maxc;
	enum ctl_line	 lr;
	bool		 at_eof;

	memset(o, 0, sizeof(*o));
	o->hash = 2166136261U;
	while (arrived < len || (eof && arrived == len)) {
		chunk = fuzz_chunk(&seed, maxc, len - arrived);
		arrived += chunk;
		at_eof = eof && arrived == len;
		for (;;) {
			avail = arrived - pos;
			if (avail > CONTROL_LINE_MAX + 2)
				avail = CONTROL_LINE_MAX + 2;
			/* An empty evbuffer's pullup is NULL: so here. */
			lr = ctl_line_take(avail == 0 ? NULL : in + pos, avail,
			    at_eof, line, &used);
			if (lr == CTL_LINE_MORE) {
				if (avail > CONTROL_LINE_MAX || used != 0)
					abort();
				break;
			}
			if (lr == CTL_LINE_OVERLONG) {
				o->overlong = true;
				return;		/* control.c closes */
			}
			if (used == 0 || used > avail)
				abort();
			pos += used;
			n = strlen(line);
			if (n > CONTROL_LINE_MAX || memchr(line, '\n', n))
				abort();
			check_json(line, n);
			ctl_parse_request(line, &r);
			switch (r.type) {
			case CTL_REQ_AT:
				check_at(&r);
				break;
			case CTL_REQ_INVALID:
				if (r.error == NULL)
					abort();
				break;
			case CTL_REQ_STATUS:
			case CTL_REQ_RESET:
				if (r.error != NULL)
					abort();
				break;
			default:
				abort();
			}
			o->hash = mix(o->hash, line, n + 1);
			o->hash = mix(o->hash, &r.type, sizeof(r.type));
			o->hash = mix(o->hash, &r.kind, sizeof(r.kind));
			if (r.error != NULL)
				o->hash = mix(o->hash, r.error,
				    strlen(r.error));
			if (++o->nlines >= FUZZ_LINES_MAX)
				return;
		}
		if (at_eof)
			break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome	 a, b;
	bool		 eof;

	if (size < 1)
		return (0);
	eof = (data[0] & 0x80) != 0;
	run(data + 1, size - 1, data[0] & 0x7f, eof, &a);
	run(data + 1, size - 1, 0, eof, &b);
	if (a.nlines != b.nlines || a.overlong != b.overlong ||
	    a.hash != b.hash)
		abort();
	return (0);
}
