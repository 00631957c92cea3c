/*
 * fuzz-mline.c: libFuzzer harness for the modem line parser (src/mline.c).
 *
 * Input: one modem line (cut at the first NUL, CR or LF, as the framer
 * never hands those over; capped at AT_LINE_MAX like the framer).  It goes
 * through mline_parse() and mline_parse_payload_header().  Beyond "no
 * crash" every result must hold the mline.h invariants (ids, ports,
 * lengths and codes in range; strings NUL-terminated inside their buffer,
 * printable, no double quote; IPs only [0-9A-Fa-f.:]), parsing must be
 * deterministic whatever *out held before, the two entry points must agree
 * on +QIRD headers, socket lines must name their command family, and a
 * parsed line rendered back in the reference's canonical shape must parse
 * to the same struct; otherwise abort().
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg96d/at.h"
#include "bg96d/cmdfam.h"
#include "bg96d/mline.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define RENDER_MAX	(AT_LINE_MAX + 64)

static void
check_str(const char *s, size_t size, int ip, int nonempty)
{
	const char	*end = memchr(s, '\0', size);
	const char	*p;

	if (end == NULL || (nonempty && end == s))
		abort();
	for (p = s; p < end; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c >= 0x7f || c == '"' )
			abort();
		if (ip && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F') || c == '.' || c == ':'))
			abort();
	}
}

static void
range(long v, long lo, long hi)
{
	if (v < lo || v > hi)
		abort();
}

static void
check_peer(const struct mline_peer *p, int nonempty)
{
	check_str(p->ip, sizeof(p->ip), 1, nonempty);
	range(p->port, 0, 65535);
}

/* Does m come from a socket command family's line (cmdfam.h)? */
static int
socket_kind(enum mline_kind k)
{
	switch (k) {
	case MLINE_RECV:
	case MLINE_CLOSED:
	case MLINE_INCOMING:
	case MLINE_INCOMING_FULL:
	case MLINE_PDPDEACT:
	case MLINE_DNSGIP:
	case MLINE_QIOPEN:
	case MLINE_QIRD:
	case MLINE_QIRD_COUNTERS:
	case MLINE_QISEND:
	case MLINE_QISTATE:
		return 1;
	default:
		return 0;
	}
}

static void
check(const struct mline *m)
{
	/* Only the TCP/IP family exists: its lines say so, others not. */
	if (m->fam != (socket_kind(m->kind) ? &cmdfam_qi : NULL))
		abort();
	switch (m->kind) {
	case MLINE_UNKNOWN:
	case MLINE_MALFORMED:
	case MLINE_INCOMING_FULL:
		break;
	case MLINE_RECV:
		range(m->u.recv.id, 0, 11);
		range(m->u.recv.len, 0, MLINE_RECV_LEN_MAX);
		if (!m->u.recv.has_len && m->u.recv.len != 0)
			abort();
		break;
	case MLINE_CLOSED:
		range(m->u.closed.id, 0, 11);
		break;
	case MLINE_INCOMING:
		range(m->u.incoming.id, 0, 11);
		range(m->u.incoming.server_id, 0, 11);
		check_peer(&m->u.incoming.peer, 1);
		break;
	case MLINE_PDPDEACT:
		range(m->u.pdpdeact.cid, 1, 16);
		break;
	case MLINE_DNSGIP:
		check_str(m->u.dnsgip.ip, sizeof(m->u.dnsgip.ip), 1,
		    m->u.dnsgip.is_addr);
		range(m->u.dnsgip.err, 0, 65535);
		range(m->u.dnsgip.count, 0, 65535);
		range(m->u.dnsgip.ttl, 0, INT32_MAX);
		break;
	case MLINE_QIOPEN:
		range(m->u.qiopen.id, 0, 11);
		range(m->u.qiopen.err, 0, 65535);
		break;
	case MLINE_QIRD:
		range(m->u.qird.len, 0, 1500);
		check_peer(&m->u.qird.peer,
		    m->u.qird.has_peer && m->u.qird.len > 0);
		if (!m->u.qird.has_peer && (m->u.qird.peer.ip[0] != '\0' ||
		    m->u.qird.peer.port != 0))
			abort();
		break;
	case MLINE_QIRD_COUNTERS:
		if (m->u.qird_counters.total > 1000000000000000000ULL ||
		    m->u.qird_counters.read > 1000000000000000000ULL ||
		    m->u.qird_counters.unread > 1000000000000000000ULL)
			abort();
		break;
	case MLINE_QISEND:
		if (m->u.qisend.total > 1000000000000000000ULL ||
		    m->u.qisend.acked > 1000000000000000000ULL ||
		    m->u.qisend.unacked > 1000000000000000000ULL)
			abort();
		break;
	case MLINE_REG:
		range(m->u.reg.which, MLINE_CEREG, MLINE_CREG);
		range(m->u.reg.n, 0, 5);
		range(m->u.reg.stat, 0, 10);
		range(m->u.reg.act, 0, 99);
		check_str(m->u.reg.lac, sizeof(m->u.reg.lac), 1, 0);
		check_str(m->u.reg.ci, sizeof(m->u.reg.ci), 1, 0);
		if (strpbrk(m->u.reg.lac, ".:") || strpbrk(m->u.reg.ci, ".:"))
			abort();
		if (m->u.reg.has_loc != (m->u.reg.lac[0] != '\0' ||
		    m->u.reg.ci[0] != '\0'))
			abort();
		break;
	case MLINE_QIACT:
		range(m->u.qiact.cid, 1, 16);
		range(m->u.qiact.state, 0, 1);
		range(m->u.qiact.type, 1, 3);
		check_str(m->u.qiact.ip, sizeof(m->u.qiact.ip), 1,
		    m->u.qiact.has_ip);
		check_str(m->u.qiact.ip2, sizeof(m->u.qiact.ip2), 1,
		    m->u.qiact.has_ip2);
		break;
	case MLINE_CSQ:
		if (m->u.csq.rssi != 99)
			range(m->u.csq.rssi, 0, 31);
		if (m->u.csq.ber != 99)
			range(m->u.csq.ber, 0, 7);
		break;
	case MLINE_QCSQ:
		check_str(m->u.qcsq.sysmode, sizeof(m->u.qcsq.sysmode), 0, 1);
		range(m->u.qcsq.nvals, 0, 4);
		for (int i = 0; i < 4; i++)
			range(m->u.qcsq.vals[i], -1000, 1000);
		break;
	case MLINE_COPS:
		range(m->u.cops.mode, 0, 4);
		range(m->u.cops.format, 0, 2);
		range(m->u.cops.act, 0, 99);
		check_str(m->u.cops.oper, sizeof(m->u.cops.oper), 0,
		    m->u.cops.has_oper);
		break;
	case MLINE_QNWINFO:
		check_str(m->u.qnwinfo.act, sizeof(m->u.qnwinfo.act), 0,
		    m->u.qnwinfo.service);
		check_str(m->u.qnwinfo.oper, sizeof(m->u.qnwinfo.oper), 0,
		    m->u.qnwinfo.service);
		check_str(m->u.qnwinfo.band, sizeof(m->u.qnwinfo.band), 0,
		    m->u.qnwinfo.service);
		range(m->u.qnwinfo.channel, 0, 999999);
		break;
	case MLINE_QISTATE:
		range(m->u.qistate.id, 0, 11);
		range(m->u.qistate.svc, MLINE_SVC_OTHER,
		    MLINE_SVC_UDP_SERVICE);
		check_str(m->u.qistate.type, sizeof(m->u.qistate.type), 0, 1);
		check_str(m->u.qistate.host, sizeof(m->u.qistate.host), 0, 0);
		check_str(m->u.qistate.atport, sizeof(m->u.qistate.atport), 0,
		    0);
		range(m->u.qistate.rport, 0, 65535);
		range(m->u.qistate.lport, 0, 65535);
		range(m->u.qistate.state, 0, 4);
		range(m->u.qistate.cid, 1, 16);
		range(m->u.qistate.server_id, 0, 11);
		range(m->u.qistate.mode, 0, 2);
		break;
	case MLINE_CPIN:
		check_str(m->u.cpin.state, sizeof(m->u.cpin.state), 0, 1);
		break;
	case MLINE_QCCID:
		check_str(m->u.qccid.iccid, sizeof(m->u.qccid.iccid), 0, 1);
		break;
	case MLINE_DATA_HDR:
	default:
		abort();	/* mline_parse() never returns these */
	}
	if (strcmp(mline_kind_name(m->kind), "?") == 0)
		abort();
}

static const char *const reg_prefix[] = { "+CEREG:", "+CGREG:", "+CREG:" };

/* The reference's canonical text for m; false if there is none. */
static int
render(const struct mline *m, char *b, size_t sz)
{
	int	n = 0, i;

#define R(...)	(n += snprintf(b + n, sz - (size_t)n, __VA_ARGS__))
	switch (m->kind) {
	case MLINE_RECV:
		R("+QIURC: \"recv\",%d", m->u.recv.id);
		if (m->u.recv.has_len)
			R(",%d", m->u.recv.len);
		break;
	case MLINE_CLOSED:
		R("+QIURC: \"closed\",%d", m->u.closed.id);
		break;
	case MLINE_INCOMING:
		R("+QIURC: \"incoming\",%d,%d,\"%s\",%d", m->u.incoming.id,
		    m->u.incoming.server_id, m->u.incoming.peer.ip,
		    m->u.incoming.peer.port);
		break;
	case MLINE_INCOMING_FULL:
		R("+QIURC: \"incoming full\"");
		break;
	case MLINE_PDPDEACT:
		R("+QIURC: \"pdpdeact\",%d", m->u.pdpdeact.cid);
		break;
	case MLINE_DNSGIP:
		if (m->u.dnsgip.is_addr)
			R("+QIURC: \"dnsgip\",\"%s\"", m->u.dnsgip.ip);
		else if (m->u.dnsgip.has_count)
			R("+QIURC: \"dnsgip\",%d,%d,%ld", m->u.dnsgip.err,
			    m->u.dnsgip.count, m->u.dnsgip.ttl);
		else
			R("+QIURC: \"dnsgip\",%d", m->u.dnsgip.err);
		break;
	case MLINE_QIOPEN:
		R("+QIOPEN: %d,%d", m->u.qiopen.id, m->u.qiopen.err);
		break;
	case MLINE_QIRD:
		R("+QIRD: %d", m->u.qird.len);
		if (m->u.qird.has_peer)
			R(",\"%s\",%d", m->u.qird.peer.ip,
			    m->u.qird.peer.port);
		break;
	case MLINE_QIRD_COUNTERS:
		R("+QIRD: %llu,%llu,%llu",
		    (unsigned long long)m->u.qird_counters.total,
		    (unsigned long long)m->u.qird_counters.read,
		    (unsigned long long)m->u.qird_counters.unread);
		break;
	case MLINE_QISEND:
		R("+QISEND: %llu,%llu,%llu",
		    (unsigned long long)m->u.qisend.total,
		    (unsigned long long)m->u.qisend.acked,
		    (unsigned long long)m->u.qisend.unacked);
		break;
	case MLINE_REG:
		R("%s ", reg_prefix[m->u.reg.which]);
		if (m->u.reg.has_n)
			R("%d,", m->u.reg.n);
		R("%d", m->u.reg.stat);
		if (m->u.reg.has_loc || m->u.reg.has_act)
			R(",\"%s\",\"%s\"", m->u.reg.lac, m->u.reg.ci);
		if (m->u.reg.has_act)
			R(",%d", m->u.reg.act);
		break;
	case MLINE_QIACT:
		R("+QIACT: %d,%d,%d", m->u.qiact.cid, m->u.qiact.state,
		    m->u.qiact.type);
		if (m->u.qiact.has_ip || m->u.qiact.has_ip2)
			R(",\"%s\"", m->u.qiact.ip);
		if (m->u.qiact.has_ip2)
			R(",\"%s\"", m->u.qiact.ip2);
		break;
	case MLINE_CSQ:
		R("+CSQ: %d,%d", m->u.csq.rssi, m->u.csq.ber);
		break;
	case MLINE_QCSQ:
		R("+QCSQ: \"%s\"", m->u.qcsq.sysmode);
		for (i = 0; i < m->u.qcsq.nvals; i++)
			R(",%d", m->u.qcsq.vals[i]);
		break;
	case MLINE_COPS:
		R("+COPS: %d", m->u.cops.mode);
		if (m->u.cops.has_oper)
			R(",%d,\"%s\"", m->u.cops.format, m->u.cops.oper);
		if (m->u.cops.has_act)
			R(",%d", m->u.cops.act);
		break;
	case MLINE_QNWINFO:
		if (!m->u.qnwinfo.service)
			R("+QNWINFO: No Service");
		else
			R("+QNWINFO: \"%s\",\"%s\",\"%s\",%ld",
			    m->u.qnwinfo.act, m->u.qnwinfo.oper,
			    m->u.qnwinfo.band, m->u.qnwinfo.channel);
		break;
	case MLINE_QISTATE:
		R("+QISTATE: %d,\"%s\",\"%s\",%d,%d,%d,%d,%d,%d,\"%s\"",
		    m->u.qistate.id, m->u.qistate.type, m->u.qistate.host,
		    m->u.qistate.rport, m->u.qistate.lport, m->u.qistate.state,
		    m->u.qistate.cid, m->u.qistate.server_id, m->u.qistate.mode,
		    m->u.qistate.atport);
		break;
	case MLINE_CPIN:
		R("+CPIN: %s", m->u.cpin.state);
		break;
	case MLINE_QCCID:
		R("+QCCID: %s", m->u.qccid.iccid);
		break;
	default:
		return 0;
	}
#undef R
	if (n < 0 || (size_t)n >= sz)
		abort();
	return 1;
}

static void
check_hdr(const char *line, enum mline_kind k, const struct mline_data_hdr *h,
    const struct mline *m)
{
	struct mline_data_hdr	h2;

	memset(&h2, 0xa5, sizeof(h2));
	if (mline_parse_payload_header(line, &h2) != k ||
	    memcmp(h, &h2, sizeof(h2)) != 0)
		abort();
	if (k == MLINE_UNKNOWN || k == MLINE_MALFORMED) {
		if (h->id != -1 || h->len != 0 || h->has_peer || h->push ||
		    h->fam != NULL)
			abort();
		return;
	}
	if (k != MLINE_DATA_HDR || h->fam != &cmdfam_qi)
		abort();
	range(h->len, 1, 1500);
	if (h->push)
		range(h->id, 0, 11);
	else if (h->id != -1)
		abort();
	check_peer(&h->peer, h->has_peer);
	if (!h->has_peer && (h->peer.ip[0] != '\0' || h->peer.port != 0))
		abort();
	/* The line parser reads the same header the same way. */
	if (!h->push) {
		if (m->kind != MLINE_QIRD || m->u.qird.len != h->len ||
		    m->u.qird.has_peer != h->has_peer ||
		    memcmp(&m->u.qird.peer, &h->peer, sizeof(h->peer)) != 0)
			abort();
	} else if (!h->has_peer) {
		if (m->kind != MLINE_RECV || m->u.recv.id != h->id ||
		    !m->u.recv.has_len || m->u.recv.len != h->len)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char		 line[AT_LINE_MAX + 1];
	static char		 text[RENDER_MAX];
	struct mline		 m, m2, m3;
	struct mline_data_hdr	 h;
	enum mline_kind		 k, hk;
	size_t			 n;

	for (n = 0; n < size && n < AT_LINE_MAX; n++)
		if (data[n] == '\0' || data[n] == '\r' || data[n] == '\n')
			break;
	memcpy(line, data, n);
	line[n] = '\0';

	memset(&m, 0x00, sizeof(m));
	memset(&m2, 0xff, sizeof(m2));
	k = mline_parse(line, &m);
	if (k != m.kind || mline_parse(line, &m2) != k ||
	    memcmp(&m, &m2, sizeof(m)) != 0)
		abort();
	check(&m);
	if (k == MLINE_UNKNOWN || k == MLINE_MALFORMED) {
		memset(&m3, 0, sizeof(m3));
		m3.kind = k;
		if (memcmp(&m, &m3, sizeof(m)) != 0)
			abort();	/* nothing half-filled */
	}
	if (mline_qird_empty(&m) != ((k == MLINE_QIRD && m.u.qird.len == 0) ||
	    (k == MLINE_QIRD_COUNTERS && m.u.qird_counters.unread == 0)))
		abort();

	if (render(&m, text, sizeof(text))) {
		memset(&m3, 0x5a, sizeof(m3));
		if (mline_parse(text, &m3) != k ||
		    memcmp(&m, &m3, sizeof(m)) != 0)
			abort();
	}

	memset(&h, 0x00, sizeof(h));
	hk = mline_parse_payload_header(line, &h);
	check_hdr(line, hk, &h, &m);
	return 0;
}
