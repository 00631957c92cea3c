/*
 * fuzz-socks.c: libFuzzer harness for the SOCKS5 handshake parser.
 *
 * Byte 0 picks the chunking (0: everything at once; otherwise bytes
 * arrive in pseudo-random pieces of 1..byte0, seeded by byte 0); the
 * rest is what a client sends to socks.sock.  The harness plays socks.c:
 * it offers the parser what has arrived so far (capped at the phase's
 * maximum, as socks.c does), and checks that
 *  - a result never depends on the chunking: the same input, offered
 *    whole, gives the same results at the same offsets;
 *  - SOCKS_MORE is only ever returned below the phase's maximum, so the
 *    handshake buffer is bounded;
 *  - a consumed count is within what was offered;
 *  - an accepted request has a non-zero port and a host that is an IP
 *    literal or a valid name, safe to quote in AT+QIOPEN: no '"', no
 *    control byte, at most CONF_HOST_MAX bytes;
 *  - the reply socks.c and bridge.c send for the outcome is the one
 *    RFC 1928 shape: VER 5, the code, RSV 0, IPv4 0.0.0.0:0, and no
 *    byte written past SOCKS_REPLY_LEN.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bg96d/conf.h"
#include "bg96d/socksproto.h"

#include "fuzz-chunk.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct outcome {
	enum socks_parse	 r;
	size_t			 at;	/* input offset the result came at */
	size_t			 used;
	int			 rep;
	struct socks_request	 req;
};

static void
check_request(const struct socks_request *req)
{
	size_t	 n = strnlen(req->host, sizeof(req->host));

	if (n == 0 || n > CONF_HOST_MAX || req->port == 0)
		abort();
	if (!conf_host_ok(req->host) || !conf_at_string_ok(req->host))
		abort();
	if (strpbrk(req->host, "\"\r\n;,\\") != NULL)
		abort();
}

static void
check_reply(int rep)
{
	uint8_t	 r[SOCKS_REPLY_LEN + 1];
	size_t	 i;

	memset(r, 0xa5, sizeof(r));
	if (socks_encode_reply(r, rep) != SOCKS_REPLY_LEN)
		abort();
	if (r[0] != 5 || r[1] != rep || r[2] != 0 || r[3] != 1 ||
	    r[SOCKS_REPLY_LEN] != 0xa5)
		abort();
	for (i = 4; i < SOCKS_REPLY_LEN; i++)
		if (r[i] != 0)
			abort();
}

/*
 * Run the handshake over in[0..len), with bytes arriving in chunks from
 * the xorshift seed (0: all at once).  Fills out[0..2): greeting, request.
 */
static int
run(const uint8_t *in, size_t len, uint8_t maxc, struct outcome out[2])
{
	const uint8_t	*p;
	size_t		 arrived = 0, pos = 0, avail, used, chunk;
	uint32_t	 seed = 0x2545f491U ^ maxc;
	enum socks_parse r;
	const char	*why;
	int		 phase = 0, rep;

	memset(out, 0, 2 * sizeof(*out));
	while (arrived < len) {
		chunk = fuzz_chunk(&seed, maxc, len - arrived);
		arrived += chunk;
		for (;;) {
			size_t	 max = phase == 0 ? SOCKS_GREETING_MAX :
				    SOCKS_REQUEST_MAX;

			avail = arrived - pos;
			if (avail > max)
				avail = max;
			why = NULL;
			rep = -1;
			/* An empty evbuffer's pullup is NULL: so here. */
			p = avail == 0 ? NULL : in + pos;
			if (phase == 0)
				r = socks_parse_greeting(p, avail, &used, &why);
			else
				r = socks_parse_request(p, avail, &used,
				    &out[1].req, &rep, &why);
			if (r == SOCKS_MORE) {
				if (avail >= max || used != 0)
					abort();	/* unbounded */
				break;
			}
			if (used > avail || (r == SOCKS_DONE && used == 0))
				abort();
			out[phase].r = r;
			out[phase].used = used;
			out[phase].rep = rep;
			if (r == SOCKS_BAD) {
				if (why == NULL || *why == '\0')
					abort();
				if (phase == 1 && (rep < 1 || rep > 8))
					abort();
				if (phase == 1)
					check_reply(rep);
				out[phase].at = arrived;
				return phase;
			}
			if (phase == 1) {
				check_request(&out[1].req);
				check_reply(SOCKS_REP_SUCCESS);
			}
			pos += used;
			if (phase == 1) {
				out[1].at = pos;
				return 1;
			}
			out[0].at = pos;
			phase = 1;
		}
	}
	return phase;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome	 a[2], b[2];
	int		 i;

	if (size < 1)
		return (0);
	run(data + 1, size - 1, data[0], a);
	run(data + 1, size - 1, 0, b);
	for (i = 0; i < 2; i++) {
		if (a[i].r != b[i].r || a[i].used != b[i].used ||
		    a[i].rep != b[i].rep)
			abort();
		if (a[i].r == SOCKS_DONE && i == 1 &&
		    (strcmp(a[1].req.host, b[1].req.host) != 0 ||
		    a[1].req.port != b[1].req.port))
			abort();
	}
	return (0);
}
