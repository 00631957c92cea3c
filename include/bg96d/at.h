/*
 * at.h: pure framer for the bytes a Quectel BG96 writes on its AT port.
 *
 * Bytes in, events out.  No I/O, no globals that change (the socket
 * command families' prefixes come from cmdfam.h's constant table), no
 * allocation: the parser state is a plain struct the caller owns.  Feeding the same bytes in any
 * chunking (one call, or one byte per call) yields the same events.
 */
#ifndef BG96D_AT_H
#define BG96D_AT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest line kept; longer lines are reported as AT_EV_OVERLONG. */
#define AT_LINE_MAX	1024
/* Largest length-counted payload (AT+QIRD reads at most 1500 bytes). */
#define AT_PAYLOAD_MAX	1500
/* Number of modem socket slots (connectID 0..11). */
#define AT_NSLOTS	12

enum at_ev_type {
	AT_EV_NONE = 0,		/* no complete event yet: feed more bytes */
	AT_EV_LINE,		/* information line or URC (text, no CR/LF) */
	AT_EV_FINAL,		/* final result code, see enum at_final */
	AT_EV_PROMPT,		/* the QISEND data prompt "> " (no line end) */
	AT_EV_PAYLOAD,		/* header line plus its length-counted bytes */
	AT_EV_OVERLONG,		/* a line longer than AT_LINE_MAX was dropped */
	AT_EV_BADLEN,		/* a payload header with an impossible length */
};

enum at_final {
	AT_FINAL_NONE = 0,
	AT_FINAL_OK,
	AT_FINAL_ERROR,		/* "ERROR" */
	AT_FINAL_CME_ERROR,	/* "+CME ERROR: <n>" or "+CME ERROR: <text>" */
	AT_FINAL_CMS_ERROR,	/* "+CMS ERROR: <n>" */
	AT_FINAL_SEND_OK,
	AT_FINAL_SEND_FAIL,
	AT_FINAL_CONNECT,	/* "CONNECT" or "CONNECT <rate>" */
	AT_FINAL_NO_CARRIER,
};

/*
 * One event.  Pointers refer to memory inside the parser and stay valid
 * until the next call to at_parse() on the same parser.
 *
 * AT_EV_LINE:     line/line_len = the text (NUL-terminated, no CR/LF).
 * AT_EV_FINAL:    final = kind; line = full text; code = the number after
 *                 "+CME ERROR: " / "+CMS ERROR: " or -1 if it is text/absent.
 *                 A final result ended by CR is reported with the byte that
 *                 follows (its LF, consumed), so the caller never answers a
 *                 result the modem has not finished writing.
 * AT_EV_PROMPT:   nothing else.
 * AT_EV_PAYLOAD:  line = header ("+QIRD: 5", "+QIRD: 4,\"1.2.3.4\",99",
 *                 "+QIURC: \"recv\",0,5", ...); data/data_len = payload.
 * AT_EV_OVERLONG: line = the first AT_LINE_MAX bytes (for logging).
 * AT_EV_BADLEN:   line = the header whose length was refused.
 */
struct at_event {
	enum at_ev_type	 type;
	enum at_final	 final;
	int		 code;
	const char	*line;
	size_t		 line_len;
	const uint8_t	*data;
	size_t		 data_len;
};

/* Parser state.  Treat as opaque; it is public only so callers can embed it. */
struct at_parser {
	int		 state;
	int		 pend_final;	/* final result waiting for its LF */
	int		 pend_code;
	uint16_t	 push_mask;	/* slots in direct-push access mode */
	size_t		 line_len;
	size_t		 want;		/* payload bytes still expected */
	size_t		 have;		/* payload bytes collected */
	bool		 overlong;
	char		 line[AT_LINE_MAX + 1];
	char		 hdr[AT_LINE_MAX + 1];
	uint8_t		 payload[AT_PAYLOAD_MAX];
};

/* Reset a parser to its initial state (no push-mode slots). */
void	at_parser_init(struct at_parser *p);

/*
 * Tell the parser whether slot id (0..11) is in direct-push access mode.
 * Only then does `+QIURC: "recv",id,n` carry n payload bytes; in buffer
 * mode the same line (firmware with recvind) is a plain URC.
 * `+QIURC: "recv",id,n,"ip",port` (UDP SERVICE push) always carries data.
 * The header prefixes are every socket command family's (cmdfam.h);
 * the mask is by id alone (a family with ids of its own would need its
 * own mask).
 */
void	at_parser_set_push(struct at_parser *p, int id, bool push);

/*
 * Consume bytes from buf[0..len) until one event completes or the input
 * runs out.  Returns the number of bytes consumed (>= 1 when len > 0) and
 * fills *ev (ev->type == AT_EV_NONE if no event completed).  The caller
 * loops, advancing buf, until len is 0.
 */
size_t	at_parse(struct at_parser *p, const uint8_t *buf, size_t len,
	    struct at_event *ev);

/*
 * A final result ended by CR is held until the next byte (its LF), so
 * the host never answers a result the modem has not finished writing.
 * The BG96 always sends CR LF (ref. section 1.2); for a modem that does
 * not, the caller may decide after a quiet moment that the result is
 * complete: at_final_pending() says one is held, at_flush() emits it
 * (true, ev filled) and the next byte starts a new line.  The framer
 * itself never looks at a clock.
 */
bool	at_final_pending(const struct at_parser *p);
bool	at_flush(struct at_parser *p, struct at_event *ev);

/* Name of a final result kind, for logs ("OK", "SEND FAIL", ...). */
const char *at_final_name(enum at_final f);

/*
 * True if line is an unsolicited result code the BG96 may send at any
 * time (RDY, +QIURC:, +QIOPEN:, +CEREG: ..., see reference section 7).
 * Pure prefix classification; the command queue decides what it means
 * while a command with the same prefix is outstanding.
 */
bool	at_is_urc(const char *line);

#endif
