/*
 * The control socket (--control): one request per line, one JSON reply
 * line each.  It reports statistics and injects faults.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "sim.h"

#define CTL_LINE_MAX	1024
#define CTL_SECS_MAX	3600
#define CTL_GARBAGE_MAX	65536
#define CTL_REBOOT_MS	300	/* POWERED DOWN to RDY */
#define CTL_MS_MAX	600000	/* late-prompt, late-answer */
#define CTL_SEND_FAIL_MAX 100000

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 entry;
	struct bufferevent	*bev;
	int			 closing;
};

static TAILQ_HEAD(, ctl_conn)	 conns = TAILQ_HEAD_INITIALIZER(conns);
static int			 ctl_fd = -1;
static struct event		*ev_accept;
static char			*ctl_path;

static void	 ctl_accept_cb(evutil_socket_t, short, void *);
static void	 ctl_read_cb(struct bufferevent *, void *);
static void	 ctl_write_cb(struct bufferevent *, void *);
static void	 ctl_event_cb(struct bufferevent *, short, void *);

int
ctl_open(const char *path)
{
	struct sockaddr_un	 sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_msg("%s: path too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		log_msg("control socket: %s", strerror(errno));
		return -1;
	}
	unlink(path);
	if (bind(ctl_fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(ctl_fd, 8) == -1) {
		log_msg("%s: %s", path, strerror(errno));
		close(ctl_fd);
		ctl_fd = -1;
		return -1;
	}
	if ((ctl_path = strdup(path)) == NULL ||
	    (ev_accept = event_new(base, ctl_fd, EV_READ | EV_PERSIST,
	    ctl_accept_cb, NULL)) == NULL) {
		log_msg("control: out of memory");
		exit(1);
	}
	event_add(ev_accept, NULL);
	return 0;
}

static void
ctl_conn_free(struct ctl_conn *c)
{
	TAILQ_REMOVE(&conns, c, entry);
	bufferevent_free(c->bev);
	free(c);
}

void
ctl_close(void)
{
	struct ctl_conn	*c;

	while ((c = TAILQ_FIRST(&conns)) != NULL)
		ctl_conn_free(c);
	if (ev_accept != NULL)
		event_free(ev_accept);
	ev_accept = NULL;
	if (ctl_fd != -1)
		close(ctl_fd);
	ctl_fd = -1;
	if (ctl_path != NULL) {
		unlink(ctl_path);
		free(ctl_path);
		ctl_path = NULL;
	}
}

void
ctl_json_str(struct evbuffer *b, const char *s)
{
	evbuffer_add(b, "\"", 1);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			evbuffer_add_printf(b, "\\%c", *s);
		else if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			evbuffer_add_printf(b, "\\u%04x", (unsigned char)*s);
		else
			evbuffer_add(b, s, 1);
	}
	evbuffer_add(b, "\"", 1);
}

static void
ctl_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_conn	*c;
	int		 s;

	if ((s = accept4(ctl_fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_msg("control accept: %s", strerror(errno));
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->bev = bufferevent_socket_new(base, s,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_msg("control: out of memory");
		exit(1);
	}
	TAILQ_INSERT_TAIL(&conns, c, entry);
	bufferevent_setcb(c->bev, ctl_read_cb, ctl_write_cb, ctl_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
ctl_error(struct evbuffer *out, const char *msg)
{
	evbuffer_add_printf(out, "{\"ok\":false,\"error\":");
	ctl_json_str(out, msg);
	evbuffer_add_printf(out, "}\n");
}

static void
ctl_stats(struct evbuffer *out)
{
	const char	*name;
	unsigned long	 n;
	size_t		 i, count;

	evbuffer_add_printf(out, "{\"ok\":true,\"commands\":{");
	count = sim_command_count();
	for (i = 0; i < count; i++) {
		name = sim_command_get(i, &n);
		if (i > 0)
			evbuffer_add(out, ",", 1);
		ctl_json_str(out, name);
		evbuffer_add_printf(out, ":%lu", n);
	}
	evbuffer_add_printf(out, "},\"violations\":[");
	count = sim_violation_count();
	for (i = 0; i < count; i++) {
		if ((name = sim_violation_get(i)) == NULL)
			break;
		if (i > 0)
			evbuffer_add(out, ",", 1);
		ctl_json_str(out, name);
	}
	evbuffer_add_printf(out, "],\"violation_count\":%zu,\"slots\":",
	    count);
	slot_stats(out);
	evbuffer_add_printf(out, ",\"trans\":");
	trans_stats(out);
	evbuffer_add_printf(out, ",\"bytes_in\":%llu,\"bytes_out\":%llu,"
	    "\"pdp_active\":%s,\"line_up\":%s}\n",
	    (unsigned long long)pty_bytes_in(),
	    (unsigned long long)pty_written(),
	    modem_pdp_any() ? "true" : "false",
	    pty_is_up() ? "true" : "false");
}

/* A non-negative number, at most max; -1 if arg is not one. */
static long
ctl_number(const char *arg, long max)
{
	char	*end;
	long	 n;

	if (arg == NULL || *arg == '\0')
		return -1;
	errno = 0;
	n = strtol(arg, &end, 10);
	if (errno != 0 || *end != '\0' || n < 0 || n > max)
		return -1;
	return n;
}

static void
ctl_garbage(long n)
{
	uint8_t	*buf;
	long	 i;
	uint8_t	 b;

	if ((buf = malloc((size_t)n + 2)) == NULL) {
		log_msg("control: out of memory");
		exit(1);
	}
	for (i = 0; i < n; i++) {
		do
			b = (uint8_t)sim_random();
		while (b == '\r' || b == '\n');
		buf[i] = b;
	}
	buf[n] = '\r';
	buf[n + 1] = '\n';
	log_bytes("garbage", buf, (size_t)n + 2);
	at_raw(buf, (size_t)n + 2);
	free(buf);
}

static void
ctl_handle(struct evbuffer *out, char *line)
{
	char	*verb, *arg;
	long	 n;

	verb = line;
	if ((arg = strchr(line, ' ')) != NULL) {
		*arg++ = '\0';
		while (*arg == ' ')
			arg++;
	}
	log_msg("control: %s%s%s", verb, arg != NULL ? " " : "",
	    arg != NULL ? arg : "");
	if (strcmp(verb, "stats") == 0) {
		ctl_stats(out);
		return;
	}
	if (strcmp(verb, "reboot") == 0) {
		if (!pty_is_up()) {
			ctl_error(out, "the line is down");
			return;
		}
		modem_reboot(CTL_REBOOT_MS);
	} else if (strcmp(verb, "pdpdeact") == 0) {
		n = arg != NULL ? ctl_number(arg, SIM_NCTX) : 1;
		if (n < 1) {
			ctl_error(out, "usage: pdpdeact [CID]");
			return;
		}
		modem_pdpdeact((int)n);
	} else if (strcmp(verb, "qiopen-silence") == 0) {
		if (arg != NULL && strcmp(arg, "on") == 0)
			slot_set_silence(1);
		else if (arg != NULL && strcmp(arg, "off") == 0)
			slot_set_silence(0);
		else {
			ctl_error(out, "usage: qiopen-silence on|off");
			return;
		}
	} else if (strcmp(verb, "send-fail") == 0) {
		if (arg != NULL && strcmp(arg, "on") == 0)
			slot_set_send_fail(1);
		else if (arg != NULL && strcmp(arg, "off") == 0) {
			slot_set_send_fail(0);
			slot_set_send_fail_count(0);
		} else if ((n = ctl_number(arg, CTL_SEND_FAIL_MAX)) >= 0)
			slot_set_send_fail_count(n);
		else {
			ctl_error(out, "usage: send-fail on|off|N");
			return;
		}
	} else if (strcmp(verb, "late-prompt") == 0) {
		if ((n = ctl_number(arg, CTL_MS_MAX)) < 0) {
			ctl_error(out, "usage: late-prompt MS");
			return;
		}
		at_set_late_prompt(n);
	} else if (strcmp(verb, "late-answer") == 0) {
		if ((n = ctl_number(arg, CTL_MS_MAX)) < 0) {
			ctl_error(out, "usage: late-answer MS");
			return;
		}
		at_set_late_answer(n);
	} else if (strcmp(verb, "urc-storm") == 0) {
		long	 i;

		if ((n = ctl_number(arg, CTL_GARBAGE_MAX)) < 0) {
			ctl_error(out, "usage: urc-storm N");
			return;
		}
		/* Harmless URCs the host must route and ignore. */
		for (i = 0; i < n; i++)
			at_urc(i % 2 ? "+QIND: \"csq\",%ld,99" :
			    "+CEREG: 1", i % 32);
	} else if (strcmp(verb, "garbage") == 0) {
		if ((n = ctl_number(arg, CTL_GARBAGE_MAX)) < 0) {
			ctl_error(out, "usage: garbage N");
			return;
		}
		ctl_garbage(n);
	} else if (strcmp(verb, "stall") == 0) {
		if ((n = ctl_number(arg, CTL_SECS_MAX)) < 0) {
			ctl_error(out, "usage: stall SECS");
			return;
		}
		pty_stall(n);
	} else if (strcmp(verb, "hangup") == 0) {
		if ((n = ctl_number(arg, CTL_SECS_MAX)) < 0) {
			ctl_error(out, "usage: hangup SECS");
			return;
		}
		if (!pty_is_up()) {
			ctl_error(out, "the line is already down");
			return;
		}
		pty_hangup(n);
	} else if (strcmp(verb, "deregister") == 0) {
		if ((n = ctl_number(arg, CTL_SECS_MAX)) < 0) {
			ctl_error(out, "usage: deregister SECS");
			return;
		}
		modem_deregister(n);
	} else if (strcmp(verb, "urc") == 0) {
		if (arg == NULL || *arg == '\0') {
			ctl_error(out, "usage: urc TEXT");
			return;
		}
		at_urc("%s", arg);
	} else {
		ctl_error(out, "unknown command");
		return;
	}
	evbuffer_add_printf(out, "{\"ok\":true}\n");
}

static void
ctl_read_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct evbuffer	*out = bufferevent_get_output(bev);
	char		*line;
	size_t		 n;

	if (c->closing)
		return;
	while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF)) != NULL) {
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n > CTL_LINE_MAX) {
			free(line);
			goto toolong;
		}
		if (n > 0)
			ctl_handle(out, line);
		free(line);
	}
	if (evbuffer_get_length(in) <= CTL_LINE_MAX)
		return;
toolong:
	ctl_error(out, "line too long");
	c->closing = 1;
	bufferevent_disable(bev, EV_READ);
}

static void
ctl_write_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn	*c = arg;

	if (c->closing)
		ctl_conn_free(c);
}

static void
ctl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_conn	*c = arg;

	/* A client that half-closed after its request still gets the reply. */
	if ((what & BEV_EVENT_EOF) &&
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
		c->closing = 1;
		bufferevent_disable(bev, EV_READ);
		return;
	}
	ctl_conn_free(c);
}
