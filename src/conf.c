/*
 * conf.c: the configuration file (DESIGN.md section 3).
 *
 * inih tokenizes, this file decides.  Debian's libinih (r55) is built
 * without line numbers in the handler and is silent about much of what a
 * user gets wrong, so conf_reader(), the ini_parse_stream() reader, reads
 * each raw line itself, counts it, checks it, and hands inih either a
 * normalized copy of the line or an empty line.  What inih r55 does on its
 * own, checked with a small program against Debian's libinih1 55-1:
 *
 * - "k = foo ; c" gives "foo", but "k = foo;bar" gives "foo;bar": ';'
 *   starts an inline comment only after a space or a tab.  '#' is a
 *   comment only at the start of a line ("k = 1 # x" gives "1 # x").
 * - Quotes are kept and protect nothing: k = "foo ; c" gives "\"foo".
 *   A quoted apn is then refused by conf_at_string_ok() ('"').
 * - An indented line after a key is a continuation: the handler is called
 *   again with the same key.  We hand inih lines without their leading
 *   whitespace, so indentation is harmless and never continues a value.
 * - "k: v" is taken as "k = v".  We only pass keys of [A-Za-z0-9_-].
 * - A line longer than INI_MAX_LINE - 1 (199) bytes is read in pieces,
 *   each piece parsed as a line of its own.  We read whole lines and
 *   refuse those of 199 bytes or more (without the newline), so a value
 *   can not be longer than about 190 bytes whatever its field allows.
 * - "[bad" is an error, but the keys after it land in the previous
 *   section; "[bogus]" alone never reaches the handler; section names
 *   keep their inner spaces and are cut at 49 bytes.  Headers are
 *   therefore checked here, and only valid ones (at most 41 bytes) are
 *   passed on.  Keys after a rejected header are reported one by one.
 *
 * Errors are collected, sorted by line and printed as "FILE:LINE: text".
 * Errors not tied to a line of their own use the line of the section
 * header they concern: cross-field endpoint errors name the [endpoint]
 * line, a missing [modem] device names the [modem] line, or line 0 when
 * there is no [modem] section at all.
 */

#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "bg96d/conf.h"
#include "bg96d/timeouts.h"

/*
 * Longest raw line, newline excluded.  Debian builds inih with
 * INI_MAX_LINE 200: fgets() then reads 199 bytes, and a line of 199 bytes
 * leaves its newline for a phantom next line.
 */
#define CONF_LINE_MAX		198

#define SUN_PATH_SIZE		sizeof(((struct sockaddr_un *)NULL)->sun_path)

enum sect {
	SECT_NONE,		/* before the first header */
	SECT_BAD,		/* after a rejected header */
	SECT_MODEM,
	SECT_DAEMON,
	SECT_TIMEOUTS,
	SECT_CONTROL,
	SECT_SOCKS,
	SECT_METRICS,
	SECT_ENDPOINT,
	SECT_COUNT
};

static const char *const sect_names[SECT_COUNT] = {
	[SECT_MODEM] = "modem",
	[SECT_DAEMON] = "daemon",
	[SECT_TIMEOUTS] = "timeouts",
	[SECT_CONTROL] = "control",
	[SECT_SOCKS] = "socks",
	[SECT_METRICS] = "metrics",
	[SECT_ENDPOINT] = "endpoint",
};

enum ktype {
	KT_INT,			/* decimal, min..max */
	KT_BAUD,		/* one of baud_rates[] */
	KT_BOOL,
	KT_MODE,		/* octal file mode, 0..0777 */
	KT_ENUM,		/* one of names[] */
	KT_STR,			/* min..max bytes, then check */
	KT_FORWARD,		/* struct conf_forward */
};

enum kcheck {
	KC_NONE,
	KC_PATH,		/* absolute path */
	KC_AT,			/* goes into a quoted AT argument */
	KC_HOST,		/* conf_host_ok() */
	KC_PIN,			/* digits */
	KC_ID,			/* user or group name */
	KC_LISTEN,		/* conf_listen_parse() */
};

#define KF_EMPTY	0x01	/* an empty value keeps the default */

struct enum_name {
	const char	*name;
	int		 value;
};

struct key {
	enum sect	 sect;
	const char	*name;
	enum ktype	 type;
	size_t		 off;	/* in struct conf, or struct conf_endpoint */
	size_t		 size;
	long		 min;	/* KT_INT: value; KT_STR: length */
	long		 max;
	enum kcheck	 check;
	int		 flags;
	const struct enum_name *names;	/* KT_ENUM */
};

static const struct enum_name flow_names[] = {
	{ "none", CONF_FLOW_NONE },
	{ "rtscts", CONF_FLOW_RTSCTS },
	{ NULL, 0 }
};
static const struct enum_name auth_names[] = {
	{ "none", CONF_AUTH_NONE },
	{ "pap", CONF_AUTH_PAP },
	{ "chap", CONF_AUTH_CHAP },
	{ "pap-or-chap", CONF_AUTH_PAP_OR_CHAP },
	{ NULL, 0 }
};
static const struct enum_name pdp_names[] = {
	{ "ipv4", CONF_PDP_IPV4 },
	{ "ipv6", CONF_PDP_IPV6 },
	{ "ipv4v6", CONF_PDP_IPV4V6 },
	{ NULL, 0 }
};
static const struct enum_name log_names[] = {
	{ "error", CONF_LOG_ERROR },
	{ "warn", CONF_LOG_WARN },
	{ "info", CONF_LOG_INFO },
	{ "debug", CONF_LOG_DEBUG },
	{ "trace", CONF_LOG_TRACE },
	{ NULL, 0 }
};
static const struct enum_name type_names[] = {
	{ "tcp", CONF_EP_TCP },
	{ "udp", CONF_EP_UDP },
	{ "tcp-listener", CONF_EP_TCP_LISTENER },
	{ "udp-service", CONF_EP_UDP_SERVICE },
	{ NULL, 0 }
};
static const struct enum_name access_names[] = {
	{ "buffer", CONF_ACCESS_BUFFER },
	{ "push", CONF_ACCESS_PUSH },
	{ "transparent", CONF_ACCESS_TRANSPARENT },
	{ "auto", CONF_ACCESS_AUTO },
	{ NULL, 0 }
};
static const struct enum_name bool_names[] = {
	{ "yes", 1 }, { "no", 0 },
	{ "true", 1 }, { "false", 0 },
	{ "on", 1 }, { "off", 0 },
	{ "1", 1 }, { "0", 0 },
	{ NULL, 0 }
};

static const long baud_rates[] = {
	9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600
};

/* Offset and size of a field of struct conf (C) or of an endpoint (E). */
#define C(f)	offsetof(struct conf, f), sizeof(((struct conf *)NULL)->f)
#define E(f)	offsetof(struct conf_endpoint, f), \
		sizeof(((struct conf_endpoint *)NULL)->f)

/* Every key of DESIGN.md section 3.  Defaults are in conf_defaults(). */
static const struct key keys[] = {
	{ SECT_MODEM, "device", KT_STR, C(modem.device), 1, PATH_MAX - 1,
	    KC_PATH, 0, NULL },
	{ SECT_MODEM, "baud", KT_BAUD, C(modem.baud), 0, 0, KC_NONE, 0, NULL },
	{ SECT_MODEM, "flow_control", KT_ENUM, C(modem.flow_control), 0, 0,
	    KC_NONE, 0, flow_names },
	{ SECT_MODEM, "apn", KT_STR, C(modem.apn), 0, CONF_APN_MAX,
	    KC_AT, KF_EMPTY, NULL },
	{ SECT_MODEM, "username", KT_STR, C(modem.username), 0, CONF_CRED_MAX,
	    KC_AT, KF_EMPTY, NULL },
	{ SECT_MODEM, "password", KT_STR, C(modem.password), 0, CONF_CRED_MAX,
	    KC_AT, KF_EMPTY, NULL },
	{ SECT_MODEM, "auth", KT_ENUM, C(modem.auth), 0, 0, KC_NONE, 0,
	    auth_names },
	{ SECT_MODEM, "pdp_type", KT_ENUM, C(modem.pdp_type), 0, 0, KC_NONE, 0,
	    pdp_names },
	{ SECT_MODEM, "context_id", KT_INT, C(modem.context_id), 1, 16,
	    KC_NONE, 0, NULL },
	{ SECT_MODEM, "pin", KT_STR, C(modem.pin), 4, CONF_PIN_MAX,
	    KC_PIN, KF_EMPTY, NULL },
	{ SECT_MODEM, "registration_timeout", KT_INT,
	    C(modem.registration_timeout), 10, 3600, KC_NONE, 0, NULL },
	{ SECT_MODEM, "backoff_max", KT_INT, C(modem.backoff_max), 1, 3600,
	    KC_NONE, 0, NULL },
	{ SECT_MODEM, "reset_command", KT_STR, C(modem.reset_command), 1,
	    PATH_MAX - 1, KC_PATH, KF_EMPTY, NULL },
	{ SECT_MODEM, "transpktsize", KT_INT, C(modem.transpktsize), 1, 1460,
	    KC_NONE, 0, NULL },
	{ SECT_MODEM, "transwaittm", KT_INT, C(modem.transwaittm), 0, 20,
	    KC_NONE, 0, NULL },
	{ SECT_MODEM, "transparent_reenter", KT_INT,
	    C(modem.transparent_reenter), 0, 600, KC_NONE, 0, NULL },
	{ SECT_MODEM, "dcd", KT_BOOL, C(modem.dcd), 0, 0, KC_NONE, 0, NULL },

	{ SECT_DAEMON, "socket_dir", KT_STR, C(daemon.socket_dir), 1,
	    PATH_MAX - 1, KC_PATH, 0, NULL },
	{ SECT_DAEMON, "socket_mode", KT_MODE, C(daemon.socket_mode), 0, 0,
	    KC_NONE, 0, NULL },
	{ SECT_DAEMON, "socket_group", KT_STR, C(daemon.socket_group), 1,
	    CONF_GROUP_MAX, KC_ID, KF_EMPTY, NULL },
	{ SECT_DAEMON, "log_level", KT_ENUM, C(daemon.log_level), 0, 0,
	    KC_NONE, 0, log_names },
	{ SECT_DAEMON, "user", KT_STR, C(daemon.user), 1, CONF_GROUP_MAX,
	    KC_ID, KF_EMPTY, NULL },

	{ SECT_TIMEOUTS, "command", KT_INT, C(timeouts.command), 1, 60,
	    KC_NONE, 0, NULL },
	{ SECT_TIMEOUTS, "prompt", KT_INT, C(timeouts.prompt), 1, 60,
	    KC_NONE, 0, NULL },
	{ SECT_TIMEOUTS, "send", KT_INT, C(timeouts.send), 1, 120,
	    KC_NONE, 0, NULL },
	{ SECT_TIMEOUTS, "qiopen", KT_INT, C(timeouts.qiopen), 1, 150,
	    KC_NONE, 0, NULL },
	{ SECT_TIMEOUTS, "qiclose", KT_INT, C(timeouts.qiclose), 1, 120,
	    KC_NONE, 0, NULL },
	{ SECT_TIMEOUTS, "qiact", KT_INT, C(timeouts.qiact), 5, 150,
	    KC_NONE, 0, NULL },
	{ SECT_TIMEOUTS, "qideact", KT_INT, C(timeouts.qideact), 5, 40,
	    KC_NONE, 0, NULL },

	{ SECT_CONTROL, "enable", KT_BOOL, C(control.enable), 0, 0,
	    KC_NONE, 0, NULL },
	{ SECT_CONTROL, "mode", KT_MODE, C(control.mode), 0, 0,
	    KC_NONE, 0, NULL },

	{ SECT_SOCKS, "enable", KT_BOOL, C(socks.enable), 0, 0,
	    KC_NONE, 0, NULL },
	{ SECT_SOCKS, "connect_timeout", KT_INT, C(socks.connect_timeout),
	    1, 3600, KC_NONE, 0, NULL },

	{ SECT_METRICS, "listen", KT_STR, C(metrics.listen), 0, PATH_MAX - 1,
	    KC_LISTEN, KF_EMPTY, NULL },

	{ SECT_ENDPOINT, "type", KT_ENUM, E(type), 0, 0, KC_NONE, 0,
	    type_names },
	{ SECT_ENDPOINT, "host", KT_STR, E(host), 1, CONF_HOST_MAX,
	    KC_HOST, 0, NULL },
	{ SECT_ENDPOINT, "port", KT_INT, E(port), 1, 65535, KC_NONE, 0, NULL },
	{ SECT_ENDPOINT, "local_port", KT_INT, E(local_port), 0, 65535,
	    KC_NONE, 0, NULL },
	{ SECT_ENDPOINT, "forward", KT_FORWARD, E(forward), 0, 0,
	    KC_NONE, 0, NULL },
	{ SECT_ENDPOINT, "access_mode", KT_ENUM, E(access_mode), 0, 0,
	    KC_NONE, 0, access_names },
	{ SECT_ENDPOINT, "max_connections", KT_INT, E(max_connections), 1, 12,
	    KC_NONE, 0, NULL },
	{ SECT_ENDPOINT, "connect_timeout", KT_INT, E(connect_timeout), 1, 3600,
	    KC_NONE, 0, NULL },
	{ SECT_ENDPOINT, "idle_timeout", KT_INT, E(idle_timeout), 0, 86400,
	    KC_NONE, 0, NULL },
	{ SECT_ENDPOINT, "socket_mode", KT_MODE, E(socket_mode), 0, 0,
	    KC_NONE, KF_EMPTY, NULL },
};

#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

_Static_assert(NKEYS <= 64, "endpoint key bits must fit a uint64_t");
_Static_assert(sizeof(enum conf_ep_type) == sizeof(int) &&
    sizeof(enum conf_log_level) == sizeof(int), "enums are stored as int");

struct conf_error {
	int		 line;
	size_t		 seq;		/* keeps the sort stable */
	char		*msg;
};

struct parser {
	struct conf	*c;
	const char	*name;		/* file name in messages */
	FILE		*errs;
	int		 nerr;
	struct conf_error *ev;
	size_t		 nev;
	size_t		 evcap;

	FILE		*fp;		/* the source: a file ... */
	const char	*text;		/* ... or a string */
	char		*buf;		/* the current raw line */
	size_t		 bufsz;
	int		 lineno;

	enum sect	 sect;
	int		 sect_line;	/* line of the current header */
	int		 ep;		/* current endpoint, in c->endpoints */
	int		 seen[SECT_COUNT];	/* header line of each section */
	int		 key_line[NKEYS];	/* where the key was set */
	uint64_t	*ep_keys;	/* per endpoint: bits of keys[] given */
	uint64_t	*ep_bad;	/* ... and given but refused */
};

static void	conf_err(struct parser *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Record one error; they are printed, sorted by line, at the end. */
static void
conf_err(struct parser *p, int line, const char *fmt, ...)
{
	struct conf_error *nev;
	va_list ap;
	char *msg;

	p->nerr++;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);

	if (p->nev == p->evcap) {
		size_t cap = p->evcap ? p->evcap * 2 : 16;

		nev = reallocarray(p->ev, cap, sizeof(*nev));
		if (nev == NULL) {
			if (p->errs != NULL)
				fprintf(p->errs, "%s:%d: %s\n", p->name, line,
				    msg ? msg : "out of memory");
			free(msg);
			return;
		}
		p->ev = nev;
		p->evcap = cap;
	}
	p->ev[p->nev].line = line;
	p->ev[p->nev].seq = p->nev;
	p->ev[p->nev].msg = msg;
	p->nev++;
}

static int
conf_error_cmp(const void *a, const void *b)
{
	const struct conf_error *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

bool
conf_at_string_ok(const char *s)
{
	const unsigned char *u;

	for (u = (const unsigned char *)s; *u != '\0'; u++)
		if (*u < 0x20 || *u == 0x7f || *u == '"')
			return false;
	return true;
}

static bool	path_ok(const char *);
static int	parse_long(const char *, long *);

static int
listen_err(char *err, size_t errlen, const char *why)
{
	if (errlen > 0)
		snprintf(err, errlen, "%s", why);
	return -1;
}

int
conf_listen_parse(const char *s, struct conf_listen *l, char *err,
    size_t errlen)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;
	const char	*colon, *h = s;
	size_t		 n;
	long		 port;

	memset(l, 0, sizeof(*l));
	if (strncmp(s, "unix:", 5) == 0) {
		if (!path_ok(s + 5))
			return listen_err(err, errlen, "unix: needs an "
			    "absolute path");
		if (strlen(s + 5) >= sizeof(l->path))
			return listen_err(err, errlen, "socket path too long");
		memcpy(l->path, s + 5, strlen(s + 5) + 1);
		return 0;
	}
	if ((colon = strrchr(s, ':')) == NULL)
		return listen_err(err, errlen, "not HOST:PORT or unix:PATH");
	n = (size_t)(colon - s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		h = s + 1;
		n -= 2;
		if (n >= sizeof(l->host))
			return listen_err(err, errlen, "not an IPv6 address");
		memcpy(l->host, h, n);
		l->host[n] = '\0';
		if (inet_pton(AF_INET6, l->host, &a6) != 1)
			return listen_err(err, errlen, "not an IPv6 address");
	} else {
		if (n == 0 || n >= sizeof(l->host))
			return listen_err(err, errlen, "not an IPv4 address, "
			    "[IPv6] or localhost");
		memcpy(l->host, s, n);
		l->host[n] = '\0';
		if (strcmp(l->host, "localhost") != 0 &&
		    inet_pton(AF_INET, l->host, &a4) != 1)
			return listen_err(err, errlen, "not an IPv4 address, "
			    "[IPv6] or localhost");
	}
	if (parse_long(colon + 1, &port) == -1 || port < 1 || port > 65535)
		return listen_err(err, errlen, "port not in 1..65535");
	l->port = (int)port;
	return 0;
}

/*
 * An IPv4 or IPv6 literal, or a DNS name (RFC 1123 labels).  A name whose
 * last label is all digits ("1.2.3", "300.1.1.1") is refused: it is a
 * mistyped address, not a name.
 */
bool
conf_host_ok(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;
	size_t len, label = 0;
	bool digits = true;
	const char *q;

	if (inet_pton(AF_INET, s, &a4) == 1 ||
	    inet_pton(AF_INET6, s, &a6) == 1)
		return true;
	len = strlen(s);
	if (len == 0 || len > CONF_HOST_MAX)
		return false;
	for (q = s; ; q++) {
		if (*q == '.' || *q == '\0') {
			if (label == 0 || label > 63 || q[-1] == '-')
				return false;
			if (*q == '\0')
				break;
			label = 0;
			digits = true;
			continue;
		}
		if (*q == '-') {
			if (label == 0)
				return false;
		} else if (!isascii((unsigned char)*q) ||
		    !isalnum((unsigned char)*q))
			return false;
		if (!isdigit((unsigned char)*q))
			digits = false;
		label++;
	}
	return !digits;
}

const char *
conf_ep_type_name(enum conf_ep_type t)
{
	switch (t) {
	case CONF_EP_TCP:
		return "tcp";
	case CONF_EP_UDP:
		return "udp";
	case CONF_EP_TCP_LISTENER:
		return "tcp-listener";
	case CONF_EP_UDP_SERVICE:
		return "udp-service";
	}
	return "?";
}

void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->modem.baud = 115200;
	c->modem.flow_control = CONF_FLOW_NONE;
	c->modem.auth = CONF_AUTH_NONE;
	c->modem.pdp_type = CONF_PDP_IPV4;
	c->modem.context_id = 1;
	c->modem.registration_timeout = 180;
	c->modem.backoff_max = 60;
	c->modem.transpktsize = TRANSPKTSIZE_DEF;
	c->modem.transwaittm = TRANSWAITTM_DEF;
	c->modem.transparent_reenter = TRANSPARENT_REENTER_DEF;

	strcpy(c->daemon.socket_dir, "/run/bg96");
	c->daemon.socket_mode = 0660;
	c->daemon.log_level = CONF_LOG_INFO;

	c->timeouts.command = TMO_DEF_COMMAND;
	c->timeouts.prompt = TMO_DEF_PROMPT;
	c->timeouts.send = TMO_DEF_SEND;
	c->timeouts.qiopen = TMO_DEF_QIOPEN_URC;
	c->timeouts.qiclose = TMO_DEF_QICLOSE;
	c->timeouts.qiact = TMO_DEF_QIACT;
	c->timeouts.qideact = TMO_DEF_QIDEACT;

	c->control.enable = true;
	c->control.mode = 0600;

	c->socks.enable = false;
	c->socks.connect_timeout = 150;
}

static void
conf_ep_defaults(struct conf_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->type = CONF_EP_TCP;
	ep->forward.kind = CONF_FWD_NONE;
	ep->access_mode = CONF_ACCESS_BUFFER;
	ep->max_connections = 12;
	ep->connect_timeout = 150;
	ep->idle_timeout = 0;		/* udp-service: 120, see conf_check() */
	ep->socket_mode = -1;
}

void
conf_free(struct conf *c)
{
	free(c->endpoints);
	c->endpoints = NULL;
	c->n_endpoints = 0;
}

/* Decimal integer with an optional '-'; 0 or -1 (junk).  Clamps on overflow. */
static int
parse_long(const char *s, long *v)
{
	bool neg = false;
	long n = 0;

	if (*s == '-') {
		neg = true;
		s++;
	}
	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (n > (LONG_MAX - (*s - '0')) / 10)
			n = LONG_MAX;
		else
			n = n * 10 + (*s - '0');
	}
	*v = neg ? -n : n;
	return 0;
}

/* Octal mode of 1 to 4 digits, at most 0777; 0 or -1. */
static int
parse_mode(const char *s, int *mode)
{
	size_t len = strlen(s);
	int m = 0;

	if (len == 0 || len > 4)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '7')
			return -1;
		m = m * 8 + (*s - '0');
	}
	if (m > 0777)
		return -1;
	*mode = m;
	return 0;
}

/* An absolute path without control characters. */
static bool
path_ok(const char *s)
{
	const unsigned char *u;

	if (s[0] != '/')
		return false;
	for (u = (const unsigned char *)s; *u != '\0'; u++)
		if (*u < 0x20 || *u == 0x7f)
			return false;
	return true;
}

/* User and group names: [a-z_][a-z0-9_-]*. */
static bool
id_ok(const char *s)
{
	if (!(islower((unsigned char)*s) || *s == '_'))
		return false;
	for (s++; *s != '\0'; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) ||
		    *s == '_' || *s == '-'))
			return false;
	return true;
}

static bool
ep_name_ok(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (!(islower((unsigned char)s[n]) ||
		    isdigit((unsigned char)s[n]) || s[n] == '_' || s[n] == '-'))
			return false;
	return n >= 1 && n <= CONF_NAME_MAX;
}

static void
enum_list(const struct enum_name *e, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (; e->name != NULL && len < size; e++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s",
		    len ? " | " : "", e->name);
}

/*
 * "unix:PATH", "tcp:ADDR:PORT" or "udp:ADDR:PORT" with ADDR an IPv4
 * loopback address (127.0.0.1 in practice).  Which kind an endpoint type
 * accepts is checked in conf_check().
 */
static void
parse_forward(struct parser *p, const char *v, struct conf_forward *f)
{
	const char *addr, *colon;
	struct in_addr a;
	long port;
	size_t n;

	memset(f, 0, sizeof(*f));
	if (strncmp(v, "unix:", 5) == 0) {
		v += 5;
		if (!path_ok(v))
			conf_err(p, p->lineno,
			    "forward: \"%s\" is not an absolute path", v);
		else if (strlen(v) >= sizeof(f->path))
			conf_err(p, p->lineno, "forward: path too long "
			    "(%zu bytes, at most %zu)", strlen(v),
			    sizeof(f->path) - 1);
		else {
			f->kind = CONF_FWD_UNIX;
			strcpy(f->path, v);
		}
		return;
	}
	if (strncmp(v, "tcp:", 4) == 0)
		f->kind = CONF_FWD_TCP;
	else if (strncmp(v, "udp:", 4) == 0)
		f->kind = CONF_FWD_UDP;
	else {
		conf_err(p, p->lineno, "forward: \"%s\" is not unix:PATH, "
		    "tcp:127.0.0.1:PORT or udp:127.0.0.1:PORT", v);
		return;
	}
	addr = v + 4;
	if ((colon = strrchr(addr, ':')) == NULL) {
		conf_err(p, p->lineno, "forward: \"%s\" has no port", v);
		f->kind = CONF_FWD_NONE;
		return;
	}
	n = (size_t)(colon - addr);
	if (n >= sizeof(f->host)) {
		conf_err(p, p->lineno, "forward: \"%.*s\" is not an IPv4 "
		    "loopback address", (int)n, addr);
		f->kind = CONF_FWD_NONE;
		return;
	}
	memcpy(f->host, addr, n);
	f->host[n] = '\0';
	if (inet_pton(AF_INET, f->host, &a) != 1 ||
	    (ntohl(a.s_addr) >> 24) != 127) {
		conf_err(p, p->lineno, "forward: \"%s\" is not an IPv4 "
		    "loopback address", f->host);
		f->kind = CONF_FWD_NONE;
		return;
	}
	if (parse_long(colon + 1, &port) == -1 || port < 1 || port > 65535) {
		conf_err(p, p->lineno, "forward: port \"%s\" is not in 1..65535",
		    colon + 1);
		f->kind = CONF_FWD_NONE;
		return;
	}
	f->port = (int)port;
}

static void
check_string(struct parser *p, const struct key *k, const char *v, char *dst)
{
	size_t len = strlen(v);

	if ((long)len < k->min || (long)len > k->max) {
		if (len == 0)
			conf_err(p, p->lineno, "%s: empty value", k->name);
		else if (k->min == k->max || k->min <= 1)
			conf_err(p, p->lineno, "%s: too long (%zu bytes, at "
			    "most %ld)", k->name, len, k->max);
		else
			conf_err(p, p->lineno, "%s: %zu characters, not "
			    "%ld..%ld", k->name, len, k->min, k->max);
		return;
	}
	switch (k->check) {
	case KC_NONE:
		break;
	case KC_PATH:
		if (!path_ok(v)) {
			conf_err(p, p->lineno, "%s: \"%s\" is not an absolute "
			    "path", k->name, v);
			return;
		}
		break;
	case KC_AT:
		if (!conf_at_string_ok(v)) {
			conf_err(p, p->lineno, "%s: may not contain '\"' or "
			    "control characters", k->name);
			return;
		}
		break;
	case KC_HOST:
		if (!conf_at_string_ok(v)) {
			conf_err(p, p->lineno, "%s: may not contain '\"' or "
			    "control characters", k->name);
			return;
		}
		if (!conf_host_ok(v)) {
			conf_err(p, p->lineno, "%s: \"%s\" is not an IP address "
			    "or a host name", k->name, v);
			return;
		}
		break;
	case KC_PIN:
		if (strspn(v, "0123456789") != len) {
			conf_err(p, p->lineno, "%s: digits only", k->name);
			return;
		}
		break;
	case KC_ID:
		if (!id_ok(v)) {
			conf_err(p, p->lineno, "%s: \"%s\" is not a valid name "
			    "([a-z_][a-z0-9_-]*)", k->name, v);
			return;
		}
		break;
	case KC_LISTEN: {
		struct conf_listen	l;
		char			why[128];

		if (conf_listen_parse(v, &l, why, sizeof(why)) == -1) {
			conf_err(p, p->lineno, "%s: \"%s\": %s", k->name, v,
			    why);
			return;
		}
		break;
	}
	}
	memcpy(dst, v, len + 1);
}

/* Check v for key k and store it at dst. */
static void
apply_value(struct parser *p, const struct key *k, const char *v, void *dst)
{
	const struct enum_name *e;
	char list[128];
	long n;
	size_t i;
	int mode;

	if (*v == '\0' && (k->flags & KF_EMPTY))
		return;
	switch (k->type) {
	case KT_INT:
		if (parse_long(v, &n) == -1)
			conf_err(p, p->lineno, "%s: \"%s\" is not a number",
			    k->name, v);
		else if (n < k->min || n > k->max)
			conf_err(p, p->lineno, "%s: %s is out of range %ld..%ld",
			    k->name, v, k->min, k->max);
		else
			*(int *)dst = (int)n;
		break;
	case KT_BAUD:
		if (parse_long(v, &n) == -1) {
			conf_err(p, p->lineno, "%s: \"%s\" is not a number",
			    k->name, v);
			break;
		}
		for (i = 0; i < sizeof(baud_rates) / sizeof(baud_rates[0]); i++)
			if (baud_rates[i] == n)
				break;
		if (i == sizeof(baud_rates) / sizeof(baud_rates[0]))
			conf_err(p, p->lineno, "%s: %s is not one of 9600, "
			    "19200, 38400, 57600, 115200, 230400, 460800, "
			    "921600", k->name, v);
		else
			*(int *)dst = (int)n;
		break;
	case KT_BOOL:
		for (e = bool_names; e->name != NULL; e++)
			if (strcasecmp(v, e->name) == 0)
				break;
		if (e->name == NULL)
			conf_err(p, p->lineno, "%s: \"%s\" is not yes, no, true, "
			    "false, on, off, 1 or 0", k->name, v);
		else
			*(bool *)dst = e->value;
		break;
	case KT_MODE:
		if (parse_mode(v, &mode) == -1)
			conf_err(p, p->lineno, "%s: \"%s\" is not an octal mode "
			    "(0000..0777)", k->name, v);
		else
			*(int *)dst = mode;
		break;
	case KT_ENUM:
		for (e = k->names; e->name != NULL; e++)
			if (strcasecmp(v, e->name) == 0)
				break;
		if (e->name == NULL) {
			enum_list(k->names, list, sizeof(list));
			conf_err(p, p->lineno, "%s: \"%s\" is not one of %s",
			    k->name, v, list);
		} else
			*(int *)dst = e->value;
		break;
	case KT_STR:
		check_string(p, k, v, dst);
		break;
	case KT_FORWARD:
		parse_forward(p, v, dst);
		break;
	}
}

/* The inih handler: one "key = value" of a section accepted by the reader. */
static int
conf_handler(void *arg, const char *section, const char *name,
    const char *value)
{
	struct parser *p = arg;
	const struct key *k;
	char *base;
	size_t i;
	int nerr;

	if (p->sect < SECT_MODEM)
		return 1;		/* the reader never lets this happen */
	for (i = 0; i < NKEYS; i++)
		if (keys[i].sect == p->sect && strcmp(keys[i].name, name) == 0)
			break;
	if (i == NKEYS) {
		conf_err(p, p->lineno, "unknown key \"%s\" in [%s]", name,
		    section);
		return 1;
	}
	k = &keys[i];
	if (p->key_line[i] != 0) {
		conf_err(p, p->lineno, "duplicate key \"%s\" (first at line %d)",
		    name, p->key_line[i]);
		return 1;
	}
	p->key_line[i] = p->lineno;
	if (p->sect != SECT_ENDPOINT) {
		apply_value(p, k, value, (char *)p->c + k->off);
		return 1;
	}
	nerr = p->nerr;
	base = (char *)&p->c->endpoints[p->ep];
	apply_value(p, k, value, base + k->off);
	p->ep_keys[p->ep] |= UINT64_C(1) << i;
	if (p->nerr != nerr)
		p->ep_bad[p->ep] |= UINT64_C(1) << i;
	return 1;
}

/* Start [endpoint NAME]; name is what follows "endpoint". */
static int
begin_endpoint(struct parser *p, const char *name)
{
	struct conf *c = p->c;
	struct conf_endpoint *ep;
	uint64_t *bits;
	size_t i;
	int n;

	if (*name == '\0') {
		conf_err(p, p->lineno, "endpoint section needs a name: "
		    "[endpoint NAME]");
		return -1;
	}
	if (*name != ' ' || !ep_name_ok(name + 1)) {
		conf_err(p, p->lineno, "invalid endpoint section \"[endpoint%s]\": "
		    "the name follows one space and is 1 to %d of a-z, 0-9, "
		    "'_' and '-'", name, CONF_NAME_MAX);
		return -1;
	}
	name++;
	if (strcmp(name, "control") == 0 || strcmp(name, "socks") == 0) {
		conf_err(p, p->lineno, "endpoint name \"%s\" is reserved", name);
		return -1;
	}
	for (n = 0; n < c->n_endpoints; n++)
		if (strcmp(c->endpoints[n].name, name) == 0) {
			conf_err(p, p->lineno, "duplicate section [endpoint %s] "
			    "(first at line %d)", name, c->endpoints[n].line);
			return -1;
		}
	if (c->n_endpoints >= CONF_MAX_ENDPOINTS) {
		conf_err(p, p->lineno, "too many endpoints (at most %d)",
		    CONF_MAX_ENDPOINTS);
		return -1;
	}

	n = c->n_endpoints;
	if ((ep = reallocarray(c->endpoints, (size_t)n + 1,
	    sizeof(*ep))) == NULL) {
		conf_err(p, p->lineno, "out of memory");
		return -1;
	}
	c->endpoints = ep;
	if ((bits = reallocarray(p->ep_keys, (size_t)n + 1,
	    sizeof(*bits))) == NULL) {
		conf_err(p, p->lineno, "out of memory");
		return -1;
	}
	p->ep_keys = bits;
	bits[n] = 0;
	if ((bits = reallocarray(p->ep_bad, (size_t)n + 1,
	    sizeof(*bits))) == NULL) {
		conf_err(p, p->lineno, "out of memory");
		return -1;
	}
	p->ep_bad = bits;
	bits[n] = 0;
	conf_ep_defaults(&ep[n]);
	strcpy(ep[n].name, name);
	ep[n].line = p->lineno;
	c->n_endpoints = n + 1;
	p->ep = n;
	for (i = 0; i < NKEYS; i++)
		if (keys[i].sect == SECT_ENDPOINT)
			p->key_line[i] = 0;
	return 0;
}

/*
 * A line starting with '['.  On success the normalized header goes to
 * out; on failure the section is SECT_BAD until the next header.
 */
static void
scan_header(struct parser *p, char *s, char *out, size_t outsz)
{
	char *end, *rest, *name;
	int i;

	p->sect = SECT_BAD;
	p->sect_line = p->lineno;
	if ((end = strchr(s + 1, ']')) == NULL) {
		conf_err(p, p->lineno, "malformed section header: no ']'");
		return;
	}
	for (rest = end + 1; *rest == ' ' || *rest == '\t'; rest++)
		;
	if (*rest != '\0' && *rest != ';') {
		conf_err(p, p->lineno, "malformed section header: text after "
		    "']'");
		return;
	}
	*end = '\0';
	name = s + 1;
	if (*name == '\0') {
		conf_err(p, p->lineno, "malformed section header: empty name");
		return;
	}
	if (strncmp(name, "endpoint", 8) == 0 &&
	    (name[8] == '\0' || isspace((unsigned char)name[8]))) {
		if (begin_endpoint(p, name + 8) == -1)
			return;
		p->sect = SECT_ENDPOINT;
		snprintf(out, outsz, "[%s]\n", name);
		return;
	}
	for (i = SECT_MODEM; i < SECT_ENDPOINT; i++)
		if (strcmp(name, sect_names[i]) == 0)
			break;
	if (i == SECT_ENDPOINT) {
		conf_err(p, p->lineno, "unknown section [%s]", name);
		return;
	}
	if (p->seen[i] != 0) {
		conf_err(p, p->lineno, "duplicate section [%s] (first at line "
		    "%d)", name, p->seen[i]);
		return;
	}
	p->seen[i] = p->lineno;
	p->sect = (enum sect)i;
	snprintf(out, outsz, "[%s]\n", name);
}

/* Check one raw line s (len bytes, no newline); fill out for inih. */
static void
scan_line(struct parser *p, char *s, size_t len, char *out, size_t outsz)
{
	char *eq, *kend, *q;

	strcpy(out, "\n");
	if (p->lineno == 1 && len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
		s += 3;
		len -= 3;
	}
	while (*s == ' ' || *s == '\t') {
		s++;
		len--;
	}
	if (memchr(s, '\0', len) != NULL) {
		conf_err(p, p->lineno, "NUL byte in line");
		if (*s == '[') {
			p->sect = SECT_BAD;
			p->sect_line = p->lineno;
		}
		return;
	}
	if (len + (size_t)(s - p->buf) > CONF_LINE_MAX || len + 2 > outsz) {
		conf_err(p, p->lineno, "line too long (%zu bytes, at most %d)",
		    len + (size_t)(s - p->buf), CONF_LINE_MAX);
		if (*s == '[') {
			p->sect = SECT_BAD;
			p->sect_line = p->lineno;
		}
		return;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	if (*s == '\0' || *s == ';' || *s == '#')
		return;
	if (*s == '[') {
		scan_header(p, s, out, outsz);
		return;
	}

	if ((eq = strchr(s, '=')) == NULL) {
		conf_err(p, p->lineno, "expected \"key = value\", \"[section]\" "
		    "or a comment");
		return;
	}
	for (kend = eq; kend > s && (kend[-1] == ' ' || kend[-1] == '\t');
	    kend--)
		;
	if (kend == s) {
		conf_err(p, p->lineno, "no key before '='");
		return;
	}
	for (q = s; q < kend; q++)
		if (!isalnum((unsigned char)*q) && *q != '_' && *q != '-') {
			conf_err(p, p->lineno, "invalid key \"%.*s\"",
			    (int)(kend - s), s);
			return;
		}
	if (p->sect == SECT_NONE) {
		conf_err(p, p->lineno, "key \"%.*s\" is outside any section",
		    (int)(kend - s), s);
		return;
	}
	if (p->sect == SECT_BAD) {
		conf_err(p, p->lineno, "key \"%.*s\" ignored: the section "
		    "header at line %d was rejected", (int)(kend - s), s,
		    p->sect_line);
		return;
	}
	snprintf(out, outsz, "%s\n", s);
}

/* Next raw line into p->buf, without its newline: 1, 0 at EOF, -1. */
static int
read_line(struct parser *p, size_t *lenp)
{
	const char *nl;
	ssize_t n;
	size_t len;

	if (p->fp != NULL) {
		if ((n = getline(&p->buf, &p->bufsz, p->fp)) == -1) {
			if (ferror(p->fp))
				conf_err(p, p->lineno + 1, "read error: %s",
				    strerror(errno));
			return ferror(p->fp) ? -1 : 0;
		}
		len = (size_t)n;
		if (len > 0 && p->buf[len - 1] == '\n')
			p->buf[--len] = '\0';
		*lenp = len;
		return 1;
	}

	if (*p->text == '\0')
		return 0;
	if ((nl = strchr(p->text, '\n')) == NULL)
		nl = p->text + strlen(p->text);
	len = (size_t)(nl - p->text);
	if (len + 1 > p->bufsz) {
		char *b;

		if ((b = realloc(p->buf, len + 1)) == NULL) {
			conf_err(p, p->lineno + 1, "out of memory");
			return -1;
		}
		p->buf = b;
		p->bufsz = len + 1;
	}
	memcpy(p->buf, p->text, len);
	p->buf[len] = '\0';
	p->text = *nl == '\n' ? nl + 1 : nl;
	*lenp = len;
	return 1;
}

/*
 * The ini_parse_stream() reader: one raw line in, one line out (the line
 * itself, normalized, or an empty line if we refused it), so inih's line
 * count stays ours.
 */
static char *
conf_reader(char *str, int num, void *arg)
{
	struct parser *p = arg;
	size_t len;

	if (num < 3 || read_line(p, &len) != 1)
		return NULL;
	p->lineno++;
	scan_line(p, p->buf, len, str, (size_t)num);
	return str;
}

static uint64_t
ep_key_bit(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (keys[i].sect == SECT_ENDPOINT &&
		    strcmp(keys[i].name, name) == 0)
			return UINT64_C(1) << i;
	return 0;
}

/* True if the endpoint's section has the key, valid or not. */
static bool
ep_has(struct parser *p, int ep, const char *name)
{
	return (p->ep_keys[ep] & ep_key_bit(name)) != 0;
}

/* True if the key was given but refused (already reported). */
static bool
ep_bad(struct parser *p, int ep, const char *name)
{
	return (p->ep_bad[ep] & ep_key_bit(name)) != 0;
}

static int
key_line(struct parser *p, enum sect s, const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (keys[i].sect == s && strcmp(keys[i].name, name) == 0)
			return p->key_line[i];
	return 0;
}

/* A socket file <socket_dir>/<name>.sock must fit sun_path. */
static void
check_sock_path(struct parser *p, const char *name)
{
	size_t len;

	len = strlen(p->c->daemon.socket_dir) + 1 + strlen(name) +
	    strlen(".sock");
	if (len >= SUN_PATH_SIZE)
		conf_err(p, key_line(p, SECT_DAEMON, "socket_dir"),
		    "socket_dir: too long for %s.sock (%zu bytes, at most %zu)",
		    name, len, SUN_PATH_SIZE - 1);
}

/* Checks one endpoint against its type. */
static void
check_endpoint(struct parser *p, int i)
{
	struct conf_endpoint *ep = &p->c->endpoints[i], *o;
	const char *t = conf_ep_type_name(ep->type);
	enum conf_fwd_kind fk = ep->forward.kind;
	int j;

	if (!ep_has(p, i, "type")) {
		conf_err(p, ep->line, "endpoint %s: type is required "
		    "(tcp | udp | tcp-listener | udp-service)", ep->name);
		return;
	}
	if (ep_bad(p, i, "type"))
		return;
	switch (ep->type) {
	case CONF_EP_TCP:
	case CONF_EP_UDP:
		if (!ep_has(p, i, "host"))
			conf_err(p, ep->line, "endpoint %s: %s needs host",
			    ep->name, t);
		if (!ep_has(p, i, "port"))
			conf_err(p, ep->line, "endpoint %s: %s needs port",
			    ep->name, t);
		if (ep_has(p, i, "forward"))
			conf_err(p, ep->line, "endpoint %s: forward is only for "
			    "tcp-listener and udp-service", ep->name);
		/*
		 * In data mode the modem cuts upstream bytes into datagrams
		 * by transpktsize and transwaittm, not by the client's
		 * messages: a SEQPACKET message would not stay one datagram.
		 */
		if (ep->type == CONF_EP_UDP &&
		    (ep->access_mode == CONF_ACCESS_TRANSPARENT ||
		    ep->access_mode == CONF_ACCESS_AUTO))
			conf_err(p, ep->line, "endpoint %s: access_mode %s "
			    "is not supported on udp (the modem does not keep "
			    "message boundaries in data mode)", ep->name,
			    ep->access_mode == CONF_ACCESS_AUTO ? "auto" :
			    "transparent");
		check_sock_path(p, ep->name);
		return;
	case CONF_EP_TCP_LISTENER:
	case CONF_EP_UDP_SERVICE:
		break;
	}

	if (ep_has(p, i, "host"))
		conf_err(p, ep->line, "endpoint %s: host is not allowed on %s",
		    ep->name, t);
	if (ep_has(p, i, "port"))
		conf_err(p, ep->line, "endpoint %s: port is not allowed on %s "
		    "(use local_port)", ep->name, t);
	if (ep_has(p, i, "socket_mode"))
		conf_err(p, ep->line, "endpoint %s: socket_mode is not allowed "
		    "on %s (it has no socket file)", ep->name, t);
	if (ep->local_port == 0 && !ep_bad(p, i, "local_port"))
		conf_err(p, ep->line, "endpoint %s: %s needs local_port "
		    "(1..65535)", ep->name, t);
	else if (ep->local_port != 0) {
		for (j = 0; j < i; j++) {
			o = &p->c->endpoints[j];
			if ((o->type == CONF_EP_TCP_LISTENER ||
			    o->type == CONF_EP_UDP_SERVICE) &&
			    ep_has(p, j, "type") && !ep_bad(p, j, "type") &&
			    o->local_port == ep->local_port) {
				conf_err(p, ep->line, "endpoint %s: local_port "
				    "%d already used by endpoint %s (line %d)",
				    ep->name, ep->local_port, o->name, o->line);
				break;
			}
		}
	}

	if (ep->type == CONF_EP_TCP_LISTENER) {
		if (!ep_bad(p, i, "forward") && fk != CONF_FWD_UNIX &&
		    fk != CONF_FWD_TCP)
			conf_err(p, ep->line, "endpoint %s: tcp-listener needs "
			    "forward = unix:PATH or tcp:127.0.0.1:PORT",
			    ep->name);
		/*
		 * The reference contradicts itself on the access mode of
		 * sockets a listener accepts (the listener's, or buffer
		 * mode); both readings agree only for a buffer listener.
		 */
		if (ep->access_mode == CONF_ACCESS_PUSH)
			conf_err(p, ep->line, "endpoint %s: access_mode push is "
			    "not supported on tcp-listener", ep->name);
	}
	/*
	 * Incoming connections and datagrams are announced by URCs, which
	 * the modem holds back while the line is in data mode (ref. 5.11).
	 */
	if (ep->access_mode == CONF_ACCESS_TRANSPARENT ||
	    ep->access_mode == CONF_ACCESS_AUTO)
		conf_err(p, ep->line, "endpoint %s: access_mode %s is not "
		    "supported on %s", ep->name, ep->access_mode ==
		    CONF_ACCESS_AUTO ? "auto" : "transparent", t);
	if (ep->type == CONF_EP_UDP_SERVICE) {
		if (!ep_bad(p, i, "forward") && fk != CONF_FWD_UDP)
			conf_err(p, ep->line, "endpoint %s: udp-service needs "
			    "forward = udp:127.0.0.1:PORT", ep->name);
		if (!ep_has(p, i, "idle_timeout"))
			ep->idle_timeout = 120;
	}
}

/* Cross-field checks, once every line is read. */
static void
conf_check(struct parser *p)
{
	struct conf *c = p->c;
	int i;

	if (c->modem.device[0] == '\0' && key_line(p, SECT_MODEM, "device") == 0)
		conf_err(p, p->seen[SECT_MODEM], "[modem] device is required");
	if (c->control.enable)
		check_sock_path(p, "control");
	if (c->socks.enable)
		check_sock_path(p, "socks");
	for (i = 0; i < c->n_endpoints; i++)
		check_endpoint(p, i);
}

static void
conf_parse(struct parser *p)
{
	size_t i;
	int r;

	r = ini_parse_stream(conf_reader, p, conf_handler, p);
	if (r == -2)
		conf_err(p, 0, "out of memory");
	else if (r > 0) {
		/* We only pass inih lines it accepts: this is a safety net. */
		for (i = 0; i < p->nev; i++)
			if (p->ev[i].line == r)
				break;
		if (i == p->nev)
			conf_err(p, r, "syntax error");
	}
	conf_check(p);
}

static void
parser_init(struct parser *p, const char *name, struct conf *c, FILE *errs)
{
	memset(p, 0, sizeof(*p));
	p->c = c;
	p->name = name;
	p->errs = errs;
	p->sect = SECT_NONE;
	conf_defaults(c);
	snprintf(c->path, sizeof(c->path), "%s", name);
}

/* Print the errors sorted by line, release the parser; the error count. */
static int
parser_done(struct parser *p)
{
	size_t i;

	if (p->nev > 0)
		qsort(p->ev, p->nev, sizeof(*p->ev), conf_error_cmp);
	for (i = 0; i < p->nev; i++) {
		if (p->errs != NULL)
			fprintf(p->errs, "%s:%d: %s\n", p->name, p->ev[i].line,
			    p->ev[i].msg ? p->ev[i].msg : "out of memory");
		free(p->ev[i].msg);
	}
	free(p->ev);
	free(p->buf);
	free(p->ep_keys);
	free(p->ep_bad);
	return p->nerr;
}

int
conf_load(const char *path, struct conf *c, FILE *errs)
{
	struct parser p;

	parser_init(&p, path, c, errs);
	if ((p.fp = fopen(path, "re")) == NULL) {
		conf_err(&p, 0, "cannot open: %s", strerror(errno));
		return parser_done(&p);
	}
	conf_parse(&p);
	fclose(p.fp);
	return parser_done(&p);
}

int
conf_load_string(const char *name, const char *text, struct conf *c,
    FILE *errs)
{
	struct parser p;

	parser_init(&p, name, c, errs);
	p.text = text;
	conf_parse(&p);
	return parser_done(&p);
}
