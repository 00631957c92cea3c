/*
 * ctlproto.c: control socket requests, pure (see ctlproto.h).
 */
#include <ctype.h>
#include <string.h>

#include "bg96d/ctlproto.h"

enum ctl_line
ctl_line_take(const uint8_t *buf, size_t len, bool eof,
    char line[CONTROL_LINE_MAX + 1], size_t *used)
{
	const uint8_t	*nl;
	size_t		 n, scan;

	*used = 0;
	if (len == 0)
		return CTL_LINE_MORE;	/* buf may be NULL (an empty evbuffer) */
	scan = len < CONTROL_LINE_MAX + 1 ? len : CONTROL_LINE_MAX + 1;
	if ((nl = memchr(buf, '\n', scan)) != NULL) {
		n = (size_t)(nl - buf);
		*used = n + 1;
	} else if (len > CONTROL_LINE_MAX)
		return CTL_LINE_OVERLONG;
	else if (eof && len > 0)
		*used = n = len;	/* a last line without "\n" */
	else
		return CTL_LINE_MORE;
	memcpy(line, buf, n);
	line[n] = '\0';
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	if (memchr(line, '\0', n) != NULL)
		strcpy(line, "\001");
	return CTL_LINE_DONE;
}

void
ctl_parse_request(const char *line, struct ctl_req *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = TMO_COMMAND;
	if (strcmp(line, "status") == 0)
		r->type = CTL_REQ_STATUS;
	else if (strcmp(line, "reset") == 0)
		r->type = CTL_REQ_RESET;
	else if (strncmp(line, "at ", 3) == 0) {
		r->type = CTL_REQ_AT;
		r->at = line + 3 + strspn(line + 3, " ");
		r->error = ctl_at_check(r->at, &r->kind, &r->prefix);
	} else {
		r->type = CTL_REQ_INVALID;
		r->error = "unknown request";
	}
}

/*
 * Answers of these commands look like URCs (at_is_urc); the queue hands
 * them to the command only if its prefix says so.  Static strings: a
 * cancelled command may outlive the client.  +QIURC: and +QIOPEN: are
 * never claimed, socket events must reach the socket layer.
 */
static const char *const ctl_urc_prefixes[] = {
	"+CFUN:", "+CPIN:", "+QUSIM:", "+QSIMSTAT:", "+CREG:", "+CGREG:",
	"+CEREG:", "+QPING:", "+QNTP:",
};

static const char *
ctl_at_prefix(const char *upper)
{
	size_t	 i, n;

	if (upper[2] != '+')
		return NULL;
	n = strspn(upper + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
	for (i = 0; i < sizeof(ctl_urc_prefixes) /
	    sizeof(ctl_urc_prefixes[0]); i++) {
		const char	*p = ctl_urc_prefixes[i];

		if (strlen(p) == n + 2 && strncmp(p + 1, upper + 3, n) == 0)
			return p;
	}
	return NULL;
}

/*
 * The allowlist of DESIGN.md section 5.  Returns NULL if text may go to
 * the modem (with its deadline kind and answer prefix), or why not.
 */
const char *
ctl_at_check(const char *text, enum tmo_kind *kind, const char **prefix)
{
	static const char *const exact[] = {
		"I", "+GSN", "+CGSN", "+QCCID", "+QGMR", "+CSQ", "+QCSQ",
		"+QNWINFO",
	};
	static const struct {
		const char	*name;
		enum tmo_kind	 kind;
	} setters[] = {
		{ "+QPING=", TMO_QPING },
		{ "+QNTP=", TMO_QNTP },
		{ "+QIDNSGIP=", TMO_COMMAND },
	};
	char		 up[CONTROL_AT_MAX + 1];
	const char	*rest;
	size_t		 len = strlen(text), i, n;

	if (len == 0)
		return "empty command";
	if (len > CONTROL_AT_MAX)
		return "command too long";
	for (i = 0; i < len; i++) {
		unsigned char	 c = (unsigned char)text[i];

		if (c < 0x20 || c >= 0x7f)
			return "control or non-ASCII character in command";
		if (c == ';')
			return "command lines with ';' are not allowed";
		up[i] = (char)toupper(c);
	}
	up[len] = '\0';
	if (strncmp(up, "AT", 2) != 0)
		return "command must start with AT";
	/* A quote left open would swallow whatever the modem reads next. */
	for (i = 0, n = 0; i < len; i++)
		n += up[i] == '"';
	if (n % 2 != 0)
		return "unbalanced '\"' in command";
	rest = up + 2;
	*kind = TMO_COMMAND;
	*prefix = ctl_at_prefix(up);
	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strcmp(rest, exact[i]) == 0)
			return NULL;
	for (i = 0; i < sizeof(setters) / sizeof(setters[0]); i++) {
		n = strlen(setters[i].name);
		if (strncmp(rest, setters[i].name, n) == 0 && rest[n] != '\0') {
			*kind = setters[i].kind;
			return NULL;
		}
	}
	/*
	 * Queries: extended syntax only, "+NAME?" or "+NAME=?".  Basic
	 * commands chain without separators ("ATZ?" would be Z), so they
	 * are not queries here.
	 */
	if (rest[0] == '+' && isupper((unsigned char)rest[1])) {
		n = 1 + strspn(rest + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
		if (strcmp(rest + n, "?") == 0 || strcmp(rest + n, "=?") == 0) {
			/* A network scan can take minutes (ref. 10). */
			if (strcmp(rest, "+COPS=?") == 0)
				*kind = TMO_QPING;
			return NULL;
		}
	}
	return "command not allowed";
}

