/*
 * conf.h: the bg96d configuration file (INI, DESIGN.md section 3).
 */
#ifndef BG96D_CONF_H
#define BG96D_CONF_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#define CONF_NAME_MAX		32	/* endpoint names: [a-z0-9_-]{1,32} */
#define CONF_HOST_MAX		253	/* DNS name limit */
#define CONF_APN_MAX		100
#define CONF_CRED_MAX		64	/* username, password */
#define CONF_PIN_MAX		8
#define CONF_GROUP_MAX		32
#define CONF_MAX_ENDPOINTS	64

enum conf_ep_type {
	CONF_EP_TCP,
	CONF_EP_UDP,
	CONF_EP_TCP_LISTENER,
	CONF_EP_UDP_SERVICE,
};

enum conf_access {
	CONF_ACCESS_BUFFER = 0,		/* modem access mode 0 */
	CONF_ACCESS_PUSH = 1,		/* modem access mode 1 */
	CONF_ACCESS_TRANSPARENT = 2,	/* modem access mode 2 (data mode) */
	CONF_ACCESS_AUTO = 3,		/* 0, switched to 2 while alone */
};

/*
 * AT+QICFG="transpktsize": the module sends a packet once this many
 * upstream bytes are buffered (ref. 5.10: 1..1460, module default
 * 1024).  1460 (one full TCP segment) spends the fewest packets on a
 * stream; transwaittm flushes anything shorter.
 */
#define TRANSPKTSIZE_DEF	1460

enum conf_flow {
	CONF_FLOW_NONE,
	CONF_FLOW_RTSCTS,
};

enum conf_auth {
	CONF_AUTH_NONE = 0,		/* values are AT+QICSGP's <authentication> */
	CONF_AUTH_PAP = 1,
	CONF_AUTH_CHAP = 2,
	CONF_AUTH_PAP_OR_CHAP = 3,
};

enum conf_pdp {
	CONF_PDP_IPV4 = 1,		/* values are AT+QICSGP's <context_type> */
	CONF_PDP_IPV6 = 2,
	CONF_PDP_IPV4V6 = 3,
};

enum conf_fwd_kind {
	CONF_FWD_NONE,
	CONF_FWD_UNIX,			/* unix:PATH */
	CONF_FWD_TCP,			/* tcp:127.0.0.1:PORT */
	CONF_FWD_UDP,			/* udp:127.0.0.1:PORT */
};

/* Log levels are syslog priorities; trace is one past debug. */
enum conf_log_level {
	CONF_LOG_ERROR = 3,
	CONF_LOG_WARN = 4,
	CONF_LOG_INFO = 6,
	CONF_LOG_DEBUG = 7,
	CONF_LOG_TRACE = 8,
};

struct conf_forward {
	enum conf_fwd_kind	 kind;
	char			 path[108];	/* CONF_FWD_UNIX (sun_path size) */
	char			 host[16];	/* CONF_FWD_TCP/UDP: "127.0.0.1" */
	int			 port;		/* CONF_FWD_TCP/UDP */
};

struct conf_endpoint {
	char			 name[CONF_NAME_MAX + 1];
	int			 line;		/* line of the [endpoint NAME] header */
	enum conf_ep_type	 type;
	char			 host[CONF_HOST_MAX + 1];
	int			 port;		/* remote port, 0 if unset */
	int			 local_port;	/* 0 if unset */
	struct conf_forward	 forward;
	enum conf_access	 access_mode;
	int			 max_connections;	/* 1..12, default 12 */
	int			 connect_timeout;	/* seconds, default 150 */
	int			 idle_timeout;	/* seconds; 0 = never; udp-service default 120 */
	int			 socket_mode;	/* -1: use [daemon] socket_mode */
};

struct conf {
	char			 path[PATH_MAX];	/* file it came from */

	struct {
		char		 device[PATH_MAX];
		int		 baud;
		enum conf_flow	 flow_control;
		char		 apn[CONF_APN_MAX + 1];
		char		 username[CONF_CRED_MAX + 1];
		char		 password[CONF_CRED_MAX + 1];
		enum conf_auth	 auth;
		enum conf_pdp	 pdp_type;
		int		 context_id;
		char		 pin[CONF_PIN_MAX + 1];
		int		 registration_timeout;
		int		 backoff_max;
		char		 reset_command[PATH_MAX];
		int		 transpktsize;	/* AT+QICFG, 1..1460 */
		int		 transwaittm;	/* AT+QICFG, 0..20 x 100 ms */
		int		 transparent_reenter;	/* auto: seconds */
		bool		 dcd;	/* AT&C1; TIOCMGET in data mode */
	} modem;

	struct {
		char		 socket_dir[PATH_MAX];
		int		 socket_mode;
		char		 socket_group[CONF_GROUP_MAX + 1];
		enum conf_log_level log_level;
		char		 user[CONF_GROUP_MAX + 1];
	} daemon;

	struct {			/* seconds */
		int		 command;
		int		 prompt;
		int		 send;
		int		 qiopen;
		int		 qiclose;
		int		 qiact;
		int		 qideact;
	} timeouts;

	struct {
		bool		 enable;
		int		 mode;
	} control;

	struct {
		bool		 enable;
		int		 connect_timeout;
	} socks;
	struct {
		char		 listen[PATH_MAX];	/* "": off */
	} metrics;

	struct conf_endpoint	*endpoints;
	int			 n_endpoints;
};

/* Fill c with every default of DESIGN.md section 3 (no endpoints). */
void	conf_defaults(struct conf *c);

/*
 * Parse and validate the file at path into c (which is reset first).
 * Every problem is written to errs as "FILE:LINE: message\n" (LINE 0 when
 * the problem is not tied to a line, e.g. a missing required key: then
 * the section header's line is used where there is one).
 * Returns the number of errors (0 = valid); on a file that cannot be
 * opened, one error is reported.  c must be released with conf_free()
 * whatever the result.
 */
int	conf_load(const char *path, struct conf *c, FILE *errs);

/* Same as conf_load() over an in-memory string; name is used in messages. */
int	conf_load_string(const char *name, const char *text, struct conf *c,
	    FILE *errs);

/* Release what conf_load() allocated; safe on a zeroed or freed conf. */
void	conf_free(struct conf *c);

/*
 * True if s may be placed inside a quoted AT command argument: no '"',
 * no CR, LF or other control characters (bytes < 0x20 and 0x7f).
 */
bool	conf_at_string_ok(const char *s);
/*
 * [metrics] listen: "HOST:PORT" (HOST an IPv4 literal, "[IPv6]" or
 * "localhost"; PORT 1..65535) or "unix:PATH" (absolute).  Fills the
 * host (brackets removed) and port, or the path (host ""); returns 0,
 * or -1 with a reason in err.
 */
struct conf_listen {
	char	 host[64];
	int	 port;
	char	 path[108];	/* sun_path size */
};
int	conf_listen_parse(const char *s, struct conf_listen *l, char *err,
	    size_t errlen);

/*
 * True if s is a host the modem may be asked to dial: an IPv4 or IPv6
 * literal, or a DNS name of letters, digits, '-' and '.', at most 253
 * characters with labels of at most 63.
 */
bool	conf_host_ok(const char *s);

/* Name of an endpoint type as written in the config ("tcp", "udp", ...). */
const char *conf_ep_type_name(enum conf_ep_type t);

#endif
