/*
 * mline.c: the BG96's information lines and URCs as typed structs.
 *
 * Pure: no I/O, no globals that change, no allocation.  Every line goes
 * through the same two steps: a prefix from a table (matched whole, so no
 * hand-counted lengths), then a field splitter that knows quotes.  Each
 * shape then checks its field count and every field's range; anything
 * else is MLINE_MALFORMED.  See mline.h for the rules.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bg96d/cmdfam.h"
#include "bg96d/mline.h"

#define MLINE_NFIELDS	12

struct fld {
	const char	*s;
	size_t		 len;
	bool		 quoted;
};

/* Character classes for copied strings. */
enum cls {
	CLS_TEXT,	/* printable ASCII, no double quote */
	CLS_IP,		/* [0-9A-Fa-f.:] */
	CLS_HEX,	/* [0-9A-Fa-f] */
	CLS_ALNUM,	/* [0-9A-Za-z] */
};

/*
 * Split s at commas outside double quotes (as at.c's at_split).  A quoted
 * field must be exactly "..."; the quotes are not part of s/len.  Returns
 * the number of fields (an empty s is one empty field), or -1 if there are
 * more than max or the quoting is broken.
 */
static int
split(const char *s, struct fld *f, int max)
{
	int	n = 0;

	for (;;) {
		if (n == max)
			return -1;
		f[n].quoted = *s == '"';
		if (f[n].quoted) {
			f[n].s = ++s;
			while (*s != '\0' && *s != '"')
				s++;
			if (*s != '"')
				return -1;
			f[n].len = (size_t)(s - f[n].s);
			s++;
			if (*s != ',' && *s != '\0')
				return -1;
		} else {
			f[n].s = s;
			while (*s != '\0' && *s != ',')
				s++;
			f[n].len = (size_t)(s - f[n].s);
		}
		n++;
		if (*s == '\0')
			return n;
		s++;
	}
}

/* An unquoted field of one or more digits (no sign). */
static bool
is_digits(const struct fld *f)
{
	size_t	i;

	if (f->quoted || f->len == 0)
		return false;
	for (i = 0; i < f->len; i++)
		if (f->s[i] < '0' || f->s[i] > '9')
			return false;
	return true;
}

/*
 * An unquoted decimal number in [min, max] (a '-' allowed only if min is
 * negative).  |min| and max must stay below 10^15.
 */
static bool
num(const struct fld *f, long min, long max, long *out)
{
	const char	*s = f->s;
	size_t		 len = f->len, i;
	bool		 neg = false;
	long		 v = 0;

	if (f->quoted)
		return false;
	if (len > 0 && s[0] == '-' && min < 0) {
		neg = true;
		s++;
		len--;
	}
	if (len == 0 || len > 15)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (neg)
		v = -v;
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool
inum(const struct fld *f, int min, int max, int *out)
{
	long	v;

	if (!num(f, min, max, &v))
		return false;
	*out = (int)v;
	return true;
}

/* A cumulative byte counter: digits, at most 10^18. */
static bool
u64(const struct fld *f, uint64_t *out)
{
	uint64_t	v = 0;
	size_t		i;

	if (!is_digits(f) || f->len > 18)
		return false;
	for (i = 0; i < f->len; i++)
		v = v * 10 + (uint64_t)(f->s[i] - '0');
	*out = v;
	return true;
}

static bool
in_class(unsigned char c, enum cls cls)
{
	bool	hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F');

	switch (cls) {
	case CLS_TEXT:
		return c >= 0x20 && c < 0x7f && c != '"';
	case CLS_IP:
		return hex || c == '.' || c == ':';
	case CLS_HEX:
		return hex;
	case CLS_ALNUM:
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z');
	}
	return false;
}

/* Copy s[0..len) into dst[size]; false if it does not fit or has a bad byte. */
static bool
copy(const char *s, size_t len, char *dst, size_t size, enum cls cls)
{
	size_t	i;

	if (len >= size)
		return false;
	for (i = 0; i < len; i++)
		if (!in_class((unsigned char)s[i], cls))
			return false;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return true;
}

static bool
str(const struct fld *f, char *dst, size_t size, enum cls cls)
{
	return copy(f->s, f->len, dst, size, cls);
}

/* A quoted text field, non-empty. */
static bool
qtext(const struct fld *f, char *dst, size_t size)
{
	return f->quoted && f->len > 0 && str(f, dst, size, CLS_TEXT);
}

/* A quoted field equal to name. */
static bool
is_name(const struct fld *f, const char *name)
{
	return f->quoted && f->len == strlen(name) &&
	    memcmp(f->s, name, f->len) == 0;
}

/* "<ip>",<port> or <ip>,<port>: ip non-empty. */
static bool
peer(const struct fld *ip, const struct fld *port, struct mline_peer *p)
{
	return ip->len > 0 && str(ip, p->ip, sizeof(p->ip), CLS_IP) &&
	    inum(port, 0, 65535, &p->port);
}

/* ---- +QIURC ---- */

static enum mline_kind
p_qiurc(const char *s, struct mline *m)
{
	struct fld	f[MLINE_NFIELDS];
	int		nf;
	long		ttl;

	if ((nf = split(s, f, MLINE_NFIELDS)) < 1 || !f[0].quoted)
		return MLINE_MALFORMED;
	if (is_name(&f[0], "recv")) {
		if (nf != 2 && nf != 3)
			return MLINE_MALFORMED;
		if (!inum(&f[1], 0, MLINE_NSLOTS - 1, &m->u.recv.id))
			return MLINE_MALFORMED;
		m->u.recv.has_len = nf == 3;
		m->u.recv.len = 0;
		if (nf == 3 &&
		    !inum(&f[2], 0, MLINE_RECV_LEN_MAX, &m->u.recv.len))
			return MLINE_MALFORMED;
		return MLINE_RECV;
	}
	if (is_name(&f[0], "closed")) {
		if (nf != 2 ||
		    !inum(&f[1], 0, MLINE_NSLOTS - 1, &m->u.closed.id))
			return MLINE_MALFORMED;
		return MLINE_CLOSED;
	}
	if (is_name(&f[0], "incoming")) {
		if (nf != 5 ||
		    !inum(&f[1], 0, MLINE_NSLOTS - 1, &m->u.incoming.id) ||
		    !inum(&f[2], 0, MLINE_NSLOTS - 1,
		    &m->u.incoming.server_id) ||
		    !peer(&f[3], &f[4], &m->u.incoming.peer))
			return MLINE_MALFORMED;
		return MLINE_INCOMING;
	}
	if (is_name(&f[0], "incoming full"))
		return nf == 1 ? MLINE_INCOMING_FULL : MLINE_MALFORMED;
	if (is_name(&f[0], "pdpdeact")) {
		if (nf != 2 || !inum(&f[1], MLINE_CID_MIN, MLINE_CID_MAX,
		    &m->u.pdpdeact.cid))
			return MLINE_MALFORMED;
		return MLINE_PDPDEACT;
	}
	if (is_name(&f[0], "dnsgip")) {
		memset(&m->u.dnsgip, 0, sizeof(m->u.dnsgip));
		if (nf == 2 && f[1].quoted) {
			/* "dnsgip","<ip>": one address (6.2). */
			m->u.dnsgip.is_addr = true;
			if (f[1].len == 0 || !str(&f[1], m->u.dnsgip.ip,
			    sizeof(m->u.dnsgip.ip), CLS_IP))
				return MLINE_MALFORMED;
			return MLINE_DNSGIP;
		}
		if (nf != 2 && nf != 4)
			return MLINE_MALFORMED;
		if (!inum(&f[1], 0, 65535, &m->u.dnsgip.err))
			return MLINE_MALFORMED;
		if (nf == 4) {
			m->u.dnsgip.has_count = true;
			if (!inum(&f[2], 0, 65535, &m->u.dnsgip.count) ||
			    !num(&f[3], 0, INT32_MAX, &ttl))
				return MLINE_MALFORMED;
			m->u.dnsgip.ttl = ttl;
		}
		return MLINE_DNSGIP;
	}
	return MLINE_UNKNOWN;	/* a URC the daemon does not interpret */
}

/* +QIOPEN: <id>,<err> */
static enum mline_kind
p_qiopen(const char *s, struct mline *m)
{
	struct fld	f[MLINE_NFIELDS];

	if (split(s, f, MLINE_NFIELDS) != 2 ||
	    !inum(&f[0], 0, MLINE_NSLOTS - 1, &m->u.qiopen.id) ||
	    !inum(&f[1], 0, 65535, &m->u.qiopen.err))
		return MLINE_MALFORMED;
	return MLINE_QIOPEN;
}

/*
 * +QIRD: <n> | <n>,<ip>,<port> | <total>,<read>,<unread>, and for an
 * empty read the unverified UDP SERVICE layouts (ip and port may be empty).
 */
static enum mline_kind
p_qird(const char *s, struct mline *m)
{
	struct fld	f[MLINE_NFIELDS];
	int		nf;

	nf = split(s, f, MLINE_NFIELDS);
	if (nf == 3 && is_digits(&f[1])) {
		if (!u64(&f[0], &m->u.qird_counters.total) ||
		    !u64(&f[1], &m->u.qird_counters.read) ||
		    !u64(&f[2], &m->u.qird_counters.unread))
			return MLINE_MALFORMED;
		return MLINE_QIRD_COUNTERS;
	}
	memset(&m->u.qird, 0, sizeof(m->u.qird));
	if ((nf != 1 && nf != 3) ||
	    !inum(&f[0], 0, MLINE_LEN_MAX, &m->u.qird.len))
		return MLINE_MALFORMED;
	if (nf == 1)
		return MLINE_QIRD;
	m->u.qird.has_peer = true;
	if (m->u.qird.len > 0)
		return peer(&f[1], &f[2], &m->u.qird.peer) ? MLINE_QIRD :
		    MLINE_MALFORMED;
	/* Empty read: `0,"",0`, `0,,0`, `0,"0.0.0.0",0`, `0,,`. */
	if (!str(&f[1], m->u.qird.peer.ip, sizeof(m->u.qird.peer.ip), CLS_IP))
		return MLINE_MALFORMED;
	if (f[2].len == 0 && !f[2].quoted)
		return MLINE_QIRD;
	return inum(&f[2], 0, 65535, &m->u.qird.peer.port) ? MLINE_QIRD :
	    MLINE_MALFORMED;
}

/* +QISEND: <total>,<acked>,<unacked> */
static enum mline_kind
p_qisend(const char *s, struct mline *m)
{
	struct fld	f[MLINE_NFIELDS];

	if (split(s, f, MLINE_NFIELDS) != 3 ||
	    !u64(&f[0], &m->u.qisend.total) ||
	    !u64(&f[1], &m->u.qisend.acked) ||
	    !u64(&f[2], &m->u.qisend.unacked))
		return MLINE_MALFORMED;
	return MLINE_QISEND;
}

/* A lac/tac or ci field: hex digits, quoted or not, may be empty. */
static bool
hexfield(const struct fld *f, char *dst)
{
	return str(f, dst, MLINE_HEX_SIZE, CLS_HEX);
}

/*
 * +CxREG: <n>,<stat>[,<lac>,<ci>[,<AcT>[,...]]]   read response
 * +CxREG: <stat>[,<lac>,<ci>[,<AcT>[,...]]]       URC
 * Fields after AcT (CEREG n=4/5: cause, PSM timers) are split, not used.
 */
static enum mline_kind
p_reg(const char *s, struct mline *m, enum mline_reg_which which)
{
	struct fld	f[MLINE_NFIELDS];
	int		nf, i = 0, rest;

	memset(&m->u.reg, 0, sizeof(m->u.reg));
	m->u.reg.which = which;
	if ((nf = split(s, f, MLINE_NFIELDS)) < 1)
		return MLINE_MALFORMED;
	if (nf >= 2 && is_digits(&f[1])) {
		m->u.reg.has_n = true;
		if (!inum(&f[i++], 0, 5, &m->u.reg.n))
			return MLINE_MALFORMED;
	}
	if (!inum(&f[i++], 0, 10, &m->u.reg.stat))
		return MLINE_MALFORMED;
	rest = nf - i;
	if (rest == 0)
		return MLINE_REG;
	if (rest == 1)
		return MLINE_MALFORMED;		/* a lac without its ci */
	if (!hexfield(&f[i], m->u.reg.lac) || !hexfield(&f[i + 1], m->u.reg.ci))
		return MLINE_MALFORMED;
	m->u.reg.has_loc = f[i].len > 0 || f[i + 1].len > 0;
	if (rest >= 3 && !(f[i + 2].len == 0 && !f[i + 2].quoted)) {
		if (!inum(&f[i + 2], 0, 99, &m->u.reg.act))
			return MLINE_MALFORMED;
		m->u.reg.has_act = true;
	}
	return MLINE_REG;
}

static enum mline_kind
p_cereg(const char *s, struct mline *m)
{
	return p_reg(s, m, MLINE_CEREG);
}

static enum mline_kind
p_cgreg(const char *s, struct mline *m)
{
	return p_reg(s, m, MLINE_CGREG);
}

static enum mline_kind
p_creg(const char *s, struct mline *m)
{
	return p_reg(s, m, MLINE_CREG);
}

/* An optional address field: quoted or not; empty means absent. */
static bool
opt_ip(const struct fld *f, char *dst, bool *has)
{
	if (!str(f, dst, MLINE_IP_SIZE, CLS_IP))
		return false;
	*has = f->len > 0;
	return true;
}

/* +QIACT: <cid>,<state>,<type>[,"<ip>"[,"<ip2>"]] */
static enum mline_kind
p_qiact(const char *s, struct mline *m)
{
	struct fld	f[MLINE_NFIELDS];
	int		nf;

	memset(&m->u.qiact, 0, sizeof(m->u.qiact));
	nf = split(s, f, MLINE_NFIELDS);
	if (nf < 3 || nf > 5 ||
	    !inum(&f[0], MLINE_CID_MIN, MLINE_CID_MAX, &m->u.qiact.cid) ||
	    !inum(&f[1], 0, 1, &m->u.qiact.state) ||
	    !inum(&f[2], 1, 3, &m->u.qiact.type))
		return MLINE_MALFORMED;
	if (nf >= 4 && !opt_ip(&f[3], m->u.qiact.ip, &m->u.qiact.has_ip))
		return MLINE_MALFORMED;
	if (nf == 5 && !opt_ip(&f[4], m->u.qiact.ip2, &m->u.qiact.has_ip2))
		return MLINE_MALFORMED;
	return MLINE_QIACT;
}

/* +CSQ: <rssi>,<ber> */
static enum mline_kind
p_csq(const char *s, struct mline *m)
{
	struct fld	f[MLINE_NFIELDS];
	int		a, b;

	if (split(s, f, MLINE_NFIELDS) != 2 || !inum(&f[0], 0, 99, &a) ||
	    !inum(&f[1], 0, 99, &b) || (a > 31 && a != 99) ||
	    (b > 7 && b != 99))
		return MLINE_MALFORMED;
	m->u.csq.rssi = a;
	m->u.csq.ber = b;
	return MLINE_CSQ;
}

/* +QCSQ: "<sysmode>"[,<v1>[,<v2>[,<v3>[,<v4>]]]] (signed) */
static enum mline_kind
p_qcsq(const char *s, struct mline *m)
{
	struct fld	f[MLINE_NFIELDS];
	int		nf, i;

	memset(&m->u.qcsq, 0, sizeof(m->u.qcsq));
	nf = split(s, f, MLINE_NFIELDS);
	if (nf < 1 || nf > 5 ||
	    !qtext(&f[0], m->u.qcsq.sysmode, sizeof(m->u.qcsq.sysmode)))
		return MLINE_MALFORMED;
	for (i = 1; i < nf; i++)
		if (!inum(&f[i], -1000, 1000, &m->u.qcsq.vals[i - 1]))
			return MLINE_MALFORMED;
	m->u.qcsq.nvals = nf - 1;
	return MLINE_QCSQ;
}

/* +COPS: <mode>[,<format>,"<oper>"[,<AcT>]] */
static enum mline_kind
p_cops(const char *s, struct mline *m)
{
	struct fld	f[MLINE_NFIELDS];
	int		nf;

	memset(&m->u.cops, 0, sizeof(m->u.cops));
	nf = split(s, f, MLINE_NFIELDS);
	if ((nf != 1 && nf != 3 && nf != 4) ||
	    !inum(&f[0], 0, 4, &m->u.cops.mode))
		return MLINE_MALFORMED;
	if (nf == 1)
		return MLINE_COPS;
	m->u.cops.has_oper = true;
	if (!inum(&f[1], 0, 2, &m->u.cops.format) ||
	    !qtext(&f[2], m->u.cops.oper, sizeof(m->u.cops.oper)))
		return MLINE_MALFORMED;
	if (nf == 4) {
		m->u.cops.has_act = true;
		if (!inum(&f[3], 0, 99, &m->u.cops.act))
			return MLINE_MALFORMED;
	}
	return MLINE_COPS;
}

/* +QNWINFO: "<act>","<oper>","<band>",<channel> | No Service */
static enum mline_kind
p_qnwinfo(const char *s, struct mline *m)
{
	struct fld	f[MLINE_NFIELDS];
	struct fld	ch;

	memset(&m->u.qnwinfo, 0, sizeof(m->u.qnwinfo));
	if (strcmp(s, "No Service") == 0)
		return MLINE_QNWINFO;
	if (split(s, f, MLINE_NFIELDS) != 4 ||
	    !qtext(&f[0], m->u.qnwinfo.act, sizeof(m->u.qnwinfo.act)) ||
	    !qtext(&f[1], m->u.qnwinfo.oper, sizeof(m->u.qnwinfo.oper)) ||
	    !qtext(&f[2], m->u.qnwinfo.band, sizeof(m->u.qnwinfo.band)))
		return MLINE_MALFORMED;
	ch = f[3];
	ch.quoted = false;	/* the channel, quoted or not */
	if (!num(&ch, 0, 999999, &m->u.qnwinfo.channel))
		return MLINE_MALFORMED;
	m->u.qnwinfo.service = true;
	return MLINE_QNWINFO;
}

static const struct {
	const char	*name;
	enum mline_svc	 svc;
} mline_svcs[] = {
	{ "TCP", MLINE_SVC_TCP },
	{ "UDP", MLINE_SVC_UDP },
	{ "TCP LISTENER", MLINE_SVC_TCP_LISTENER },
	{ "TCP INCOMING", MLINE_SVC_TCP_INCOMING },
	{ "UDP SERVICE", MLINE_SVC_UDP_SERVICE },
};

/*
 * +QISTATE: <id>,"<type>","<ip>",<rport>,<lport>,<state>,<cid>,<srv>,
 *           <mode>,"<atport>"
 */
static enum mline_kind
p_qistate(const char *s, struct mline *m)
{
	struct fld	 f[MLINE_NFIELDS];
	size_t		 i;

	memset(&m->u.qistate, 0, sizeof(m->u.qistate));
	if (split(s, f, MLINE_NFIELDS) != 10 ||
	    !inum(&f[0], 0, MLINE_NSLOTS - 1, &m->u.qistate.id) ||
	    !qtext(&f[1], m->u.qistate.type, sizeof(m->u.qistate.type)) ||
	    !str(&f[2], m->u.qistate.host, sizeof(m->u.qistate.host),
	    CLS_TEXT) ||
	    !inum(&f[3], 0, 65535, &m->u.qistate.rport) ||
	    !inum(&f[4], 0, 65535, &m->u.qistate.lport) ||
	    !inum(&f[5], 0, 4, &m->u.qistate.state) ||
	    !inum(&f[6], MLINE_CID_MIN, MLINE_CID_MAX, &m->u.qistate.cid) ||
	    !inum(&f[7], 0, MLINE_NSLOTS - 1, &m->u.qistate.server_id) ||
	    !inum(&f[8], 0, 2, &m->u.qistate.mode) ||
	    !str(&f[9], m->u.qistate.atport, sizeof(m->u.qistate.atport),
	    CLS_TEXT))
		return MLINE_MALFORMED;
	m->u.qistate.svc = MLINE_SVC_OTHER;
	for (i = 0; i < sizeof(mline_svcs) / sizeof(mline_svcs[0]); i++)
		if (strcmp(m->u.qistate.type, mline_svcs[i].name) == 0)
			m->u.qistate.svc = mline_svcs[i].svc;
	return MLINE_QISTATE;
}

/* +CPIN: <state> ("READY", "SIM PIN", ...: one unquoted text) */
static enum mline_kind
p_cpin(const char *s, struct mline *m)
{
	size_t	len = strlen(s);

	if (len == 0 || s[len - 1] == ' ' ||
	    !copy(s, len, m->u.cpin.state, sizeof(m->u.cpin.state), CLS_TEXT))
		return MLINE_MALFORMED;
	return MLINE_CPIN;
}

/* +QCCID: <iccid> (19-20 characters, maybe an F pad) */
static enum mline_kind
p_qccid(const char *s, struct mline *m)
{
	size_t	len = strlen(s);

	if (len == 0 || !copy(s, len, m->u.qccid.iccid,
	    sizeof(m->u.qccid.iccid), CLS_ALNUM))
		return MLINE_MALFORMED;
	return MLINE_QCCID;
}

struct mline_prefix {
	const char	*prefix;
	enum mline_kind	(*parse)(const char *, struct mline *);
};

/* Lines other than the socket families'. */
static const struct mline_prefix mline_table[] = {
	{ "+CEREG:", p_cereg },
	{ "+CGREG:", p_cgreg },
	{ "+CREG:", p_creg },
	{ "+QIACT:", p_qiact },
	{ "+CSQ:", p_csq },
	{ "+QCSQ:", p_qcsq },
	{ "+COPS:", p_cops },
	{ "+QNWINFO:", p_qnwinfo },
	{ "+CPIN:", p_cpin },
	{ "+QCCID:", p_qccid },
};

/* If line starts with prefix, what follows it and any spaces; else NULL. */
static const char *
after(const char *line, const char *prefix)
{
	if ((line = cmdfam_after(line, prefix)) == NULL)
		return NULL;
	while (*line == ' ')
		line++;
	return line;
}

/* Parse line with the first entry of t[n] whose prefix it has. */
static bool
parse_table(const struct mline_prefix *t, size_t n, const char *line,
    struct mline *out, enum mline_kind *k)
{
	const char	*s;
	size_t		 i;

	for (i = 0; i < n; i++) {
		if ((s = after(line, t[i].prefix)) != NULL) {
			*k = t[i].parse(s, out);
			return true;
		}
	}
	return false;
}

/* A socket family's lines (cmdfam.h): its prefixes, the same shapes. */
static bool
parse_fam(const struct cmdfam *f, const char *line, struct mline *out,
    enum mline_kind *k)
{
	const struct mline_prefix	 t[] = {
		{ f->urc, p_qiurc },
		{ f->open_urc, p_qiopen },
		{ f->read_hdr, p_qird },
		{ f->send_hdr, p_qisend },
		{ f->state_hdr, p_qistate },
	};

	return parse_table(t, sizeof(t) / sizeof(t[0]), line, out, k);
}

enum mline_kind
mline_parse(const char *line, struct mline *out)
{
	const struct cmdfam	*f = NULL;
	size_t			 i;
	enum mline_kind		 k = MLINE_UNKNOWN;

	memset(out, 0, sizeof(*out));
	for (i = 0; cmdfam_all[i] != NULL; i++)
		if (parse_fam(cmdfam_all[i], line, out, &k)) {
			f = cmdfam_all[i];
			break;
		}
	if (f == NULL)
		parse_table(mline_table, sizeof(mline_table) /
		    sizeof(mline_table[0]), line, out, &k);
	if (k == MLINE_UNKNOWN || k == MLINE_MALFORMED)
		memset(out, 0, sizeof(*out));	/* no half-filled fields */
	else
		out->fam = f;
	out->kind = k;
	return k;
}

bool
mline_qird_empty(const struct mline *m)
{
	if (m->kind == MLINE_QIRD)
		return m->u.qird.len == 0;
	if (m->kind == MLINE_QIRD_COUNTERS)
		return m->u.qird_counters.unread == 0;
	return false;
}

enum mline_kind
mline_parse_payload_header(const char *hdr, struct mline_data_hdr *out)
{
	const struct cmdfam	*fam;
	struct fld		 f[MLINE_NFIELDS];
	const char		*s = NULL;
	size_t			 fi;
	int			 nf, i = 0;

	memset(out, 0, sizeof(*out));
	out->id = -1;
	for (fi = 0; (fam = cmdfam_all[fi]) != NULL; fi++) {
		if ((s = after(hdr, fam->urc)) != NULL) {
			out->push = true;
			break;
		}
		if ((s = after(hdr, fam->read_hdr)) != NULL)
			break;
	}
	if (fam == NULL)
		return MLINE_UNKNOWN;
	nf = split(s, f, MLINE_NFIELDS);
	if (out->push) {
		if (nf < 1 || !is_name(&f[0], "recv")) {
			out->push = false;
			return nf < 1 || !f[0].quoted ? MLINE_MALFORMED :
			    MLINE_UNKNOWN;
		}
		if ((nf != 3 && nf != 5) ||
		    !inum(&f[1], 0, MLINE_NSLOTS - 1, &out->id))
			goto bad;
		i = 2;
	} else if (nf != 1 && nf != 3)
		goto bad;
	if (!inum(&f[i], 1, MLINE_LEN_MAX, &out->len))
		goto bad;
	out->fam = fam;
	if (nf == i + 1)
		return MLINE_DATA_HDR;
	/* `+QIRD: a,b,c` with a bare number b is the counter answer. */
	if (is_digits(&f[i + 1]) || !peer(&f[i + 1], &f[i + 2], &out->peer))
		goto bad;
	out->has_peer = true;
	return MLINE_DATA_HDR;
bad:
	memset(out, 0, sizeof(*out));
	out->id = -1;
	return MLINE_MALFORMED;
}

const char *
mline_kind_name(enum mline_kind k)
{
	static const char *const names[] = {
		[MLINE_UNKNOWN] = "unknown",
		[MLINE_MALFORMED] = "malformed",
		[MLINE_RECV] = "recv",
		[MLINE_CLOSED] = "closed",
		[MLINE_INCOMING] = "incoming",
		[MLINE_INCOMING_FULL] = "incoming full",
		[MLINE_PDPDEACT] = "pdpdeact",
		[MLINE_DNSGIP] = "dnsgip",
		[MLINE_QIOPEN] = "+QIOPEN",
		[MLINE_QIRD] = "+QIRD",
		[MLINE_QIRD_COUNTERS] = "+QIRD counters",
		[MLINE_QISEND] = "+QISEND",
		[MLINE_REG] = "registration",
		[MLINE_QIACT] = "+QIACT",
		[MLINE_CSQ] = "+CSQ",
		[MLINE_QCSQ] = "+QCSQ",
		[MLINE_COPS] = "+COPS",
		[MLINE_QNWINFO] = "+QNWINFO",
		[MLINE_QISTATE] = "+QISTATE",
		[MLINE_CPIN] = "+CPIN",
		[MLINE_QCCID] = "+QCCID",
		[MLINE_DATA_HDR] = "payload header",
	};

	if ((unsigned)k >= sizeof(names) / sizeof(names[0]) || names[k] == NULL)
		return "?";
	return names[k];
}
