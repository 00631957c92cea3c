/*
 * ctlproto.h: the control socket's requests (DESIGN.md section 5) as pure
 * functions: cut a request line out of the bytes a client sent, say what
 * it asks for, and decide whether an "at" command may reach the modem.
 * No I/O, no globals, no allocation; control.c uses them, and so does the
 * fuzz harness.
 */
#ifndef BG96D_CTLPROTO_H
#define BG96D_CTLPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bg96d/timeouts.h"

#define CONTROL_LINE_MAX	1024	/* request bytes before "\n" */
#define CONTROL_AT_MAX		512	/* AT command text */

enum ctl_line {
	CTL_LINE_MORE = 0,	/* no complete line yet */
	CTL_LINE_DONE,		/* a line was taken */
	CTL_LINE_OVERLONG,	/* more than CONTROL_LINE_MAX bytes, no "\n" */
};

/*
 * Take the first request line from buf[0..len).  A line ends with "\n"
 * (a "\r" before it is dropped); with eof set, what is left is the last
 * line.  On CTL_LINE_DONE, line holds the text NUL-terminated and *used
 * the bytes consumed (the "\n" included).  buf may be NULL when len is 0.  A line that contains a NUL
 * byte is returned as "\001", which no request matches.
 */
enum ctl_line	ctl_line_take(const uint8_t *buf, size_t len, bool eof,
		    char line[CONTROL_LINE_MAX + 1], size_t *used);

enum ctl_req_type {
	CTL_REQ_INVALID = 0,	/* error says why */
	CTL_REQ_STATUS,
	CTL_REQ_RESET,
	CTL_REQ_AT,		/* at/kind/prefix set, or error if refused */
};

struct ctl_req {
	enum ctl_req_type	 type;
	const char		*at;	 /* the command text, inside the line */
	enum tmo_kind		 kind;	 /* its deadline */
	const char		*prefix; /* URC-like answers it may claim */
	const char		*error;	 /* static text, or NULL */
};

/* Classify one request line (as ctl_line_take() returned it). */
void		ctl_parse_request(const char *line, struct ctl_req *r);

/*
 * The allowlist of DESIGN.md section 5.  NULL if text may be sent to the
 * modem as one command line (*kind and *prefix are set), or why not.  An
 * allowed text is at most CONTROL_AT_MAX printable ASCII bytes, starts
 * with "AT", has no ';' and an even number of '"'.
 */
const char	*ctl_at_check(const char *text, enum tmo_kind *kind,
		    const char **prefix);

#endif
