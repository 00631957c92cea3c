/*
 * mline.h: pure parser for the information lines and URCs a Quectel BG96
 * writes (bg96-at-reference sections 3-7, 13, 14).
 *
 * A line (the text of an AT_EV_LINE or the header of an AT_EV_PAYLOAD,
 * without CR/LF) goes in, a typed struct comes out.  No I/O, no globals
 * that change, no allocation; the result never points into the input
 * (.fam points to a constant descriptor).
 *
 * The socket lines (+QIURC:, +QIOPEN:, +QIRD:, +QISEND:, +QISTATE:) are
 * matched with the prefixes of every command family (cmdfam.h) and say
 * which family in .fam.
 *
 * Rules every parse follows:
 * - The prefix ("+QIURC:", "+CSQ:", ...) is matched exactly, then any
 *   spaces; the rest is split at commas outside double quotes.  A quoted
 *   field is exactly "..." (no quote inside, nothing after the closing
 *   quote but a comma or the end).
 * - Numbers are plain decimal digits (a leading '-' only where a value is
 *   signed), never quoted (one exception: the QNWINFO channel may be),
 *   and range-checked.
 * - Strings are copied into fixed buffers, always NUL-terminated; a string
 *   that does not fit, or that holds a control byte, a byte >= 0x7f or a
 *   double quote, makes the line MLINE_MALFORMED (never cut silently).
 *   IP addresses hold only [0-9A-Fa-f.:].
 * - MLINE_UNKNOWN: not a line this module interprets (other prefixes,
 *   unknown +QIURC names).  MLINE_MALFORMED: a known prefix with fields
 *   that do not fit any accepted shape.  In both cases *out holds only
 *   .kind; nothing else may be used.
 */
#ifndef BG96D_MLINE_H
#define BG96D_MLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MLINE_NSLOTS	12	/* connectID 0..11 */
#define MLINE_LEN_MAX	1500	/* largest QIRD / push payload */
/* recvind's length in a buffer-mode recv URC: what the buffer holds,
 * which may exceed one read (bg96sim's recv-len quirk shows 5840). */
#define MLINE_RECV_LEN_MAX 999999999
#define MLINE_CID_MIN	1	/* PDP contextID 1..16 */
#define MLINE_CID_MAX	16
#define MLINE_IP_SIZE	64	/* IPv4 / IPv6 literal and NUL */
#define MLINE_HOST_SIZE	256	/* QISTATE address: what was passed at open */
#define MLINE_NAME_SIZE	64	/* operator, band, sysmode, ... */
#define MLINE_HEX_SIZE	9	/* lac/tac and ci: up to 8 hex digits */
#define MLINE_ICCID_SIZE 24

enum mline_kind {
	MLINE_UNKNOWN = 0,
	MLINE_MALFORMED,
	MLINE_RECV,		/* +QIURC: "recv",<id>[,<len>] (buffer mode) */
	MLINE_CLOSED,		/* +QIURC: "closed",<id> */
	MLINE_INCOMING,		/* +QIURC: "incoming",<id>,<srv>,<ip>,<port> */
	MLINE_INCOMING_FULL,	/* +QIURC: "incoming full" */
	MLINE_PDPDEACT,		/* +QIURC: "pdpdeact",<cid> */
	MLINE_DNSGIP,		/* +QIURC: "dnsgip",... */
	MLINE_QIOPEN,		/* +QIOPEN: <id>,<err> */
	MLINE_QIRD,		/* +QIRD: <n>[,<ip>,<port>] as a line */
	MLINE_QIRD_COUNTERS,	/* +QIRD: <total>,<read>,<unread> */
	MLINE_QISEND,		/* +QISEND: <total>,<acked>,<unacked> */
	MLINE_REG,		/* +CEREG: / +CGREG: / +CREG: */
	MLINE_QIACT,		/* +QIACT: <cid>,<state>,<type>[,"<ip>"] */
	MLINE_CSQ,		/* +CSQ: <rssi>,<ber> */
	MLINE_QCSQ,		/* +QCSQ: "<sysmode>"[,v1[,v2,v3,v4]] */
	MLINE_COPS,		/* +COPS: <mode>[,<format>,"<oper>"[,<AcT>]] */
	MLINE_QNWINFO,		/* +QNWINFO: "<act>","<oper>","<band>",<ch> */
	MLINE_QISTATE,		/* +QISTATE: <id>,"<type>",... (10 fields) */
	MLINE_CPIN,		/* +CPIN: <state> */
	MLINE_QCCID,		/* +QCCID: <iccid> */
	MLINE_DATA_HDR,		/* mline_parse_payload_header() only */
};

struct mline_peer {
	char		 ip[MLINE_IP_SIZE];	/* "" only in an empty read */
	int		 port;			/* 0..65535 */
};

enum mline_reg_which { MLINE_CEREG, MLINE_CGREG, MLINE_CREG };

enum mline_svc {
	MLINE_SVC_OTHER = 0,	/* a type this module does not know */
	MLINE_SVC_TCP,
	MLINE_SVC_UDP,
	MLINE_SVC_TCP_LISTENER,
	MLINE_SVC_TCP_INCOMING,
	MLINE_SVC_UDP_SERVICE,
};

struct cmdfam;

struct mline {
	enum mline_kind	 kind;
	/*
	 * The socket command family (cmdfam.h) whose prefix the line has
	 * (+QIURC:, +QIOPEN:, +QIRD:, +QISEND:, +QISTATE: are cmdfam_qi's;
	 * the kinds below are named after them but cover every family);
	 * NULL for other lines and for MLINE_UNKNOWN / MLINE_MALFORMED.
	 */
	const struct cmdfam *fam;
	union {
		struct {			/* MLINE_RECV */
			int	 id;		/* 0..11 */
			bool	 has_len;	/* "recvind" firmware */
			int	 len;		/* 0..MLINE_RECV_LEN_MAX, informational */
		} recv;
		struct {			/* MLINE_CLOSED */
			int	 id;
		} closed;
		struct {			/* MLINE_INCOMING */
			int	 id;		/* slot the modem picked */
			int	 server_id;	/* the listener's slot */
			struct mline_peer peer;	/* ip never "" */
		} incoming;
		struct {			/* MLINE_PDPDEACT */
			int	 cid;		/* 1..16 */
		} pdpdeact;
		struct {			/* MLINE_DNSGIP */
			bool	 is_addr;	/* "dnsgip","<ip>" */
			char	 ip[MLINE_IP_SIZE];
			int	 err;		/* header: 0 or a 5xx code */
			bool	 has_count;	/* header with count and ttl */
			int	 count;		/* 0..65535 */
			long	 ttl;		/* 0..2^31-1 */
		} dnsgip;
		struct {			/* MLINE_QIOPEN */
			int	 id;		/* 0..11 */
			int	 err;		/* 0 success, else a code; 0..65535 */
		} qiopen;
		struct {			/* MLINE_QIRD */
			int	 len;		/* 0..1500; 0 = empty read */
			bool	 has_peer;	/* UDP SERVICE layout */
			struct mline_peer peer;	/* "" / any when len == 0 */
		} qird;
		struct {			/* MLINE_QIRD_COUNTERS */
			uint64_t total, read, unread;
		} qird_counters;
		struct {			/* MLINE_QISEND */
			uint64_t total, acked, unacked;
		} qisend;
		struct {			/* MLINE_REG */
			enum mline_reg_which which;
			bool	 has_n;		/* read-response form */
			int	 n;		/* 0..5 when has_n */
			int	 stat;		/* 0..10 (1, 5 registered) */
			bool	 has_loc;
			char	 lac[MLINE_HEX_SIZE];	/* lac or tac, hex */
			char	 ci[MLINE_HEX_SIZE];
			bool	 has_act;
			int	 act;		/* 0..99, unknown kept */
		} reg;
		struct {			/* MLINE_QIACT */
			int	 cid;		/* 1..16 */
			int	 state;		/* 0..1 */
			int	 type;		/* 1..3 */
			bool	 has_ip;
			char	 ip[MLINE_IP_SIZE];
			bool	 has_ip2;	/* IPv4v6: a second address */
			char	 ip2[MLINE_IP_SIZE];
		} qiact;
		struct {			/* MLINE_CSQ */
			int	 rssi;		/* 0..31 or 99 */
			int	 ber;		/* 0..7 or 99 */
		} csq;
		struct {			/* MLINE_QCSQ */
			char	 sysmode[MLINE_NAME_SIZE];
			int	 nvals;		/* 0..4 (GSM 1, LTE 4) */
			int	 vals[4];	/* -1000..1000 */
		} qcsq;
		struct {			/* MLINE_COPS */
			int	 mode;		/* 0..4 */
			bool	 has_oper;
			int	 format;	/* 0..2 */
			char	 oper[MLINE_NAME_SIZE];
			bool	 has_act;
			int	 act;		/* 0..99 */
		} cops;
		struct {			/* MLINE_QNWINFO */
			bool	 service;	/* false: "No Service" */
			char	 act[MLINE_NAME_SIZE];
			char	 oper[MLINE_NAME_SIZE];
			char	 band[MLINE_NAME_SIZE];
			long	 channel;	/* 0..999999 */
		} qnwinfo;
		struct {			/* MLINE_QISTATE */
			int	 id;		/* 0..11 */
			enum mline_svc svc;
			char	 type[MLINE_NAME_SIZE];
			char	 host[MLINE_HOST_SIZE];
			int	 rport, lport;	/* 0..65535 */
			int	 state;		/* 0..4 */
			int	 cid;		/* 1..16 */
			int	 server_id;	/* 0..11 */
			int	 mode;		/* access mode 0..2 */
			char	 atport[MLINE_NAME_SIZE];
		} qistate;
		struct {			/* MLINE_CPIN */
			char	 state[MLINE_NAME_SIZE];  /* "READY", ... */
		} cpin;
		struct {			/* MLINE_QCCID */
			char	 iccid[MLINE_ICCID_SIZE]; /* [0-9A-Za-z] */
		} qccid;
	} u;
};

/*
 * Parse one line.  Returns out->kind.
 *
 * Registration: the read response (`<n>,<stat>[,...]`) and the URC
 * (`<stat>[,...]`) share the prefix.  The read form is taken exactly when
 * the second field is a bare number (in the URC form it is a quoted
 * lac/tac or empty); reg.has_n says which form it was.  A caller that
 * expects the URC form and gets has_n (or the reverse) decides itself.
 *
 * +QIRD as a line: `+QIRD: <n>` (n is 0 in practice: other lengths are
 * payload headers), the UDP SERVICE header `+QIRD: <n>,<ip>,<port>` with
 * the ip quoted or not, and, for n == 0 only, the empty-read layouts
 * `+QIRD: 0,"",0`, `+QIRD: 0,,0`, `+QIRD: 0,"0.0.0.0",0` (reference
 * 14.10).  `+QIRD: a,b,c` with b a bare number is the counter answer.
 * Use mline_qird_empty() to ask "did this read return nothing?".
 *
 * +QIURC "recv" as a line is the buffer-mode URC, 1 or 2 fields after the
 * name; the 4-field UDP SERVICE push form only exists as a payload header
 * (mline_parse_payload_header()) and is MLINE_MALFORMED here.
 */
enum mline_kind	 mline_parse(const char *line, struct mline *out);

/*
 * True if m answers a read with "no data": MLINE_QIRD with len 0, or
 * MLINE_QIRD_COUNTERS with unread 0 (`+QIRD: 0,0,0` reads both ways).
 */
bool		 mline_qird_empty(const struct mline *m);

/*
 * The header of a length-counted payload (AT_EV_PAYLOAD), whose meaning
 * depends on the mode the framer used, so it has its own entry point:
 *   `+QIRD: <n>`                           buffer-mode read (id = -1)
 *   `+QIRD: <n>,<ip>,<port>`               UDP SERVICE read (id = -1)
 *   `+QIURC: "recv",<id>,<n>`              direct push
 *   `+QIURC: "recv",<id>,<n>,<ip>,<port>`  UDP SERVICE direct push
 * ip quoted or not.  len is 1..1500 (a payload header never announces 0
 * bytes) and the peer ip is never "".  Returns MLINE_DATA_HDR,
 * MLINE_MALFORMED (a known prefix, bad fields) or MLINE_UNKNOWN.
 */
struct mline_data_hdr {
	const struct cmdfam *fam;	/* whose header; NULL unless
					 * MLINE_DATA_HDR */
	bool		 push;		/* +QIURC "recv" rather than +QIRD */
	int		 id;		/* 0..11 for push, -1 for +QIRD */
	int		 len;		/* 1..1500 */
	bool		 has_peer;
	struct mline_peer peer;
};

enum mline_kind	 mline_parse_payload_header(const char *hdr,
		    struct mline_data_hdr *out);

/* Name of a kind, for logs and tests ("recv", "malformed", ...). */
const char	*mline_kind_name(enum mline_kind k);

#endif
