/*
 * The modem's 12 socket slots (connectID 0..11), each backed by a real
 * nonblocking socket on the host, and the socket commands: AT+QIOPEN,
 * AT+QICLOSE, AT+QISEND, AT+QIRD, AT+QISTATE.
 *
 * Buffer mode (access mode 0) keeps received data in a per-slot buffer
 * capped at --rx-buf; the host socket is not read while it is full, so
 * backpressure reaches the remote.  "recv" is announced once, when data
 * arrives in an empty buffer, and only re-armed by an AT+QIRD that
 * returns 0 bytes.  Direct push (access mode 1) writes data out as it
 * comes, in URCs of at most 1500 bytes.  Transparent mode (access mode
 * 2) writes it raw to the line while the slot has it (trans.c has the
 * host's side); "+++" leaves the slot open in buffer mode, ATO goes back.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "sim.h"

#define SLOT_SOCKBUF		16384	/* host socket buffers: small windows */
#define SLOT_PUSH_HIGH_WATER	65536	/* push waits while the line lags this */
#define SLOT_READ_CHUNK		16384
#define SLOT_DGRAM_MAX		65536
#define SLOT_CLOSE_TIMEOUT	10	/* AT+QICLOSE default <timeout>, s */
#define SLOT_LISTEN_BACKLOG	16
#define SLOT_CLOSED_HOLD_MIN_MS	200	/* closed-in-response: the URC is out */
#define SLOT_CLOSED_HOLD_MAX_MS	1000	/* by then if no answer concerns it */
#define SLOT_EMPTY_WAIT_MIN_MS	20	/* recv-in-empty-read: OK of an empty */
#define SLOT_EMPTY_WAIT_MAX_MS	80	/* read comes this much later */

enum slot_type {
	SLOT_TCP,
	SLOT_UDP,
	SLOT_LISTENER,
	SLOT_INCOMING,
	SLOT_SERVICE
};

static const char *const slot_type_name[] = {
	"TCP", "UDP", "TCP LISTENER", "TCP INCOMING", "UDP SERVICE"
};

/* The numbers are AT+QISTATE's <socket_state>. */
enum slot_state {
	SLOT_FREE = 0,
	SLOT_OPENING = 1,
	SLOT_CONNECTED = 2,
	SLOT_LISTENING = 3,
	SLOT_CLOSING = 4
};

struct dgram {
	TAILQ_ENTRY(dgram)	 entry;
	char			 ip[INET6_ADDRSTRLEN];
	int			 port;
	size_t			 len;
	uint8_t			 data[];
};

struct slot {
	int			 id;
	enum slot_type		 type;
	enum slot_state		 state;
	int			 fd;
	int			 ctx;
	int			 access;
	int			 server;	/* TCP INCOMING: the listener */
	int			 silent;	/* +QIOPEN withheld */
	int			 armed;		/* a "recv" URC may be sent */
	int			 reading;	/* ev_rd is added */
	int			 push_wait;	/* push paused for the line */
	int			 closing;	/* AT+QICLOSE waits for tx */
	int			 closed_held;	/* closed-in-response: URC owed */
	int			 trans_open;	/* QIOPEN ...,2: CONNECT owed */
	char			 ip[64];
	int			 rport;
	int			 lport;
	struct event		*ev_rd;
	struct event		*ev_wr;
	struct event		*ev_tmo;
	struct event		*ev_closed;	/* closed_held: out by then */
	struct evbuffer		*rx;		/* stream data */
	TAILQ_HEAD(, dgram)	 dq;		/* datagrams */
	size_t			 rx_len;	/* unread bytes, either kind */
	struct evbuffer		*tx;
	uint64_t		 rx_total;
	uint64_t		 rx_read;
	uint64_t		 tx_total;
	uint64_t		 tx_acked;
	struct sockaddr_storage	 dst;		/* UDP SERVICE send target */
	socklen_t		 dstlen;
};

static struct slot	 slots[SIM_NSLOTS];
static int		 silence;
static int		 trans_last = -1;	/* the slot ATO returns to */
static int		 send_fail;	/* control "send-fail on" */
static long		 send_fail_n;	/* control "send-fail N" */
static uint8_t		 iobuf[SLOT_DGRAM_MAX];

static void	 slot_read_cb(evutil_socket_t, short, void *);
static void	 slot_write_cb(evutil_socket_t, short, void *);
static void	 slot_tmo_cb(evutil_socket_t, short, void *);
static void	 slot_closed_cb(evutil_socket_t, short, void *);

void
slot_init(void)
{
	struct slot	*s;
	int		 i;

	for (i = 0; i < SIM_NSLOTS; i++) {
		s = &slots[i];
		s->id = i;
		s->fd = -1;
		TAILQ_INIT(&s->dq);
		if ((s->rx = evbuffer_new()) == NULL ||
		    (s->tx = evbuffer_new()) == NULL ||
		    (s->ev_tmo = evtimer_new(base, slot_tmo_cb, s)) == NULL ||
		    (s->ev_closed = evtimer_new(base, slot_closed_cb, s)) ==
		    NULL) {
			log_msg("slot: out of memory");
			exit(1);
		}
	}
}

void
slot_set_send_fail(int on)
{
	send_fail = on;
	log_msg("send-fail %s", on ? "on" : "off");
}

void
slot_set_send_fail_count(long n)
{
	send_fail_n = n;
	log_msg("send-fail: the next %ld QISENDs fail", n);
}

void
slot_set_silence(int on)
{
	silence = on;
	log_msg("qiopen-silence %s", on ? "on" : "off");
}

/*
 * The one writer of a slot's state.  Its life: FREE -> OPENING
 * (AT+QIOPEN) -> CONNECTED or LISTENING (the open completed), or FREE ->
 * CONNECTED (an accepted TCP INCOMING); CONNECTED -> CLOSING (the remote
 * closed) and any -> CLOSING (the context went down); any -> FREE
 * (AT+QICLOSE, AT+QIDEACT, a failed open, a reboot).
 */
static void
slot_set_state(struct slot *s, enum slot_state state)
{
	s->state = state;
}

/* The line is lent to s now (data mode). */
static int
slot_has_line(const struct slot *s)
{
	return at_data_mode() && trans_active() == s->id;
}

/*
 * The socket of s is gone: in data mode that is NO CARRIER; if CONNECT
 * is not out yet, the start of data mode will say it.
 */
static void
slot_trans_lost(struct slot *s)
{
	if (s->access != 2)
		return;
	if (slot_has_line(s)) {
		s->access = 0;
		pty_input_hold(0);
		at_carrier_lost();
	}
}

static int
slot_attach(struct slot *s, int fd)
{
	s->fd = fd;
	s->ev_rd = event_new(base, fd, EV_READ | EV_PERSIST, slot_read_cb, s);
	s->ev_wr = event_new(base, fd, EV_WRITE | EV_PERSIST, slot_write_cb, s);
	if (s->ev_rd == NULL || s->ev_wr == NULL) {
		log_msg("slot: out of memory");
		exit(1);
	}
	return 0;
}

static void
slot_read_on(struct slot *s)
{
	if (s->fd != -1 && !s->reading) {
		event_add(s->ev_rd, NULL);
		s->reading = 1;
	}
}

static void
slot_read_off(struct slot *s)
{
	if (s->reading) {
		event_del(s->ev_rd);
		s->reading = 0;
	}
}

/* Closes the host socket; buffered received data stays readable. */
static void
slot_release_fd(struct slot *s)
{
	size_t	 lost;

	if (s->ev_rd != NULL)
		event_free(s->ev_rd);
	if (s->ev_wr != NULL)
		event_free(s->ev_wr);
	s->ev_rd = s->ev_wr = NULL;
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	s->reading = 0;
	s->push_wait = 0;
	if ((lost = evbuffer_get_length(s->tx)) > 0) {
		log_msg("slot %d: %zu unsent bytes dropped", s->id, lost);
		evbuffer_drain(s->tx, lost);
	}
}

static void
slot_free(struct slot *s)
{
	struct dgram	*d;

	if (s->state != SLOT_FREE)
		log_msg("slot %d: freed (%s, rx %llu/%llu, tx %llu/%llu)",
		    s->id, slot_type_name[s->type],
		    (unsigned long long)s->rx_read,
		    (unsigned long long)s->rx_total,
		    (unsigned long long)s->tx_acked,
		    (unsigned long long)s->tx_total);
	slot_release_fd(s);
	evtimer_del(s->ev_tmo);
	evtimer_del(s->ev_closed);
	s->closed_held = 0;
	s->trans_open = 0;
	if (trans_last == s->id)
		trans_last = -1;
	evbuffer_drain(s->rx, evbuffer_get_length(s->rx));
	while ((d = TAILQ_FIRST(&s->dq)) != NULL) {
		TAILQ_REMOVE(&s->dq, d, entry);
		free(d);
	}
	slot_set_state(s, SLOT_FREE);
	s->rx_len = 0;
	s->closing = 0;
	s->silent = 0;
	s->armed = 0;
	s->server = 0;
	s->ip[0] = '\0';
	s->rport = s->lport = 0;
	s->rx_total = s->rx_read = s->tx_total = s->tx_acked = 0;
}

/* Reboot: every slot goes, nothing is reported. */
void
slot_reset_all(void)
{
	int	 i;

	for (i = 0; i < SIM_NSLOTS; i++) {
		slots[i].closing = 0;
		slot_free(&slots[i]);
	}
}

/* The pending AT+QICLOSE is answered now. */
static void	 slot_closed_due(struct slot *);

static void
slot_close_done(struct slot *s)
{
	s->closing = 0;
	slot_closed_due(s);
	slot_free(s);
	at_ok();
}

/*
 * The context went down: with free set (AT+QIDEACT) the sockets are
 * closed, otherwise (pdpdeact) they stay in state 4 until AT+QICLOSE.
 */
void
slot_ctx_down(int cid, int free_them)
{
	struct slot	*s;
	int		 i;

	for (i = 0; i < SIM_NSLOTS; i++) {
		s = &slots[i];
		if (s->state == SLOT_FREE || s->ctx != cid)
			continue;
		if (s->closing)
			slot_close_done(s);
		else if (free_them)
			slot_free(s);
		else {
			slot_release_fd(s);
			slot_set_state(s, SLOT_CLOSING);
			log_msg("slot %d: context %d down, state 4", s->id, cid);
			slot_trans_lost(s);
		}
	}
}

static int
slot_is_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	if (ss->ss_family == AF_INET) {
		sin = (const struct sockaddr_in *)ss;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	sin6 = (const struct sockaddr_in6 *)ss;
	if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
		return 1;
	return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
	    sin6->sin6_addr.s6_addr[12] == 127;
}

static int
slot_literal(const char *ip, struct sockaddr_storage *ss, socklen_t *sl)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		*sl = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		*sl = sizeof(*sin6);
		return 0;
	}
	return -1;
}

int
slot_resolve(const char *name, struct sockaddr_storage *ss, socklen_t *sl)
{
	int	 i;

	if (slot_literal(name, ss, sl) == 0)
		return 0;
	for (i = 0; i < opts.nhosts; i++)
		if (strcasecmp(opts.hosts[i].name, name) == 0)
			return slot_literal(opts.hosts[i].ip, ss, sl);
	return -1;
}

static void
slot_addr_str(const struct sockaddr_storage *ss, char *ip, size_t len,
    int *port)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, ip, (socklen_t)len);
		*port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, (socklen_t)len);
		*port = ntohs(sin6->sin6_port);
	} else {
		snprintf(ip, len, "0.0.0.0");
		*port = 0;
	}
}

static void
slot_set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

static int
slot_local_port(int fd)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	char			 ip[INET6_ADDRSTRLEN];
	int			 port;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
		return 0;
	slot_addr_str(&ss, ip, sizeof(ip), &port);
	return port;
}

static void
slot_bufsizes(int fd)
{
	int	 n = SLOT_SOCKBUF;

	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &n, sizeof(n));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &n, sizeof(n));
}

/* +QIOPEN: <id>,<err> for a failed open, unless the URC is withheld. */
static void
slot_open_failed(struct slot *s, int err)
{
	modem_set_error(err);
	if (s->trans_open) {
		/* QIOPEN ...,2 answers at the end: ERROR, no URC (5.2). */
		log_msg("slot %d: open failed (%d)", s->id, err);
		slot_free(s);
		at_tcpip_error(err);
		return;
	}
	if (s->silent) {
		log_msg("slot %d: open failed (%d), +QIOPEN withheld", s->id,
		    err);
		slot_release_fd(s);
		return;
	}
	log_msg("slot %d: open failed (%d)", s->id, err);
	at_urc("+QIOPEN: %d,%d", s->id, err);
	slot_free(s);
}

/* The open completed: the slot is usable from the +QIOPEN URC on. */
static void
slot_open_done(struct slot *s)
{
	if (s->lport == 0 && s->fd != -1)
		s->lport = slot_local_port(s->fd);
	if (s->trans_open) {
		s->trans_open = 0;
		slot_set_state(s, SLOT_CONNECTED);
		modem_set_error(0);
		at_connect(s->id);
		return;
	}
	if (s->silent) {
		log_msg("slot %d: open, +QIOPEN withheld", s->id);
		return;
	}
	slot_set_state(s, s->type == SLOT_LISTENER ? SLOT_LISTENING :
	    SLOT_CONNECTED);
	modem_set_error(0);
	at_urc("+QIOPEN: %d,0", s->id);
	slot_read_on(s);
}

static void
slot_open_client(struct slot *s, const char *host, int socktype)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	int			 fd, port;

	if (slot_resolve(host, &ss, &sl) == -1) {
		log_msg("slot %d: cannot resolve \"%s\"", s->id, host);
		slot_open_failed(s, 565);
		return;
	}
	slot_set_port(&ss, s->rport);
	slot_addr_str(&ss, s->ip, sizeof(s->ip), &port);
	if (!opts.allow_remote && !slot_is_loopback(&ss)) {
		log_msg("slot %d: %s is not loopback (no --allow-remote)",
		    s->id, s->ip);
		slot_open_failed(s, 566);
		return;
	}
	fd = socket(ss.ss_family, socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_msg("slot %d: socket: %s", s->id, strerror(errno));
		slot_open_failed(s, 554);
		return;
	}
	if (socktype == SOCK_STREAM)
		slot_bufsizes(fd);
	if (connect(fd, (struct sockaddr *)&ss, sl) == -1 &&
	    errno != EINPROGRESS) {
		log_msg("slot %d: connect %s:%d: %s", s->id, s->ip, s->rport,
		    strerror(errno));
		close(fd);
		slot_open_failed(s, 566);
		return;
	}
	slot_attach(s, fd);
	/* Writable means connected (or failed): see slot_write_cb. */
	event_add(s->ev_wr, NULL);
}

static void
slot_open_server(struct slot *s, const char *host)
{
	struct sockaddr_in	 sin;
	long			 port = (long)s->lport + opts.listen_offset;
	int			 fd, on = 1, listener;

	listener = s->type == SLOT_LISTENER;
	snprintf(s->ip, sizeof(s->ip), "%s", host);
	if (port < 1 || port > 65535) {
		log_msg("slot %d: host port %ld out of range", s->id, port);
		slot_open_failed(s, 556);
		return;
	}
	fd = socket(AF_INET, (listener ? SOCK_STREAM : SOCK_DGRAM) |
	    SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_msg("slot %d: socket: %s", s->id, strerror(errno));
		slot_open_failed(s, 554);
		return;
	}
	if (listener) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		slot_bufsizes(fd);
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		log_msg("slot %d: bind 127.0.0.1:%ld: %s", s->id, port,
		    strerror(errno));
		close(fd);
		slot_open_failed(s, 556);
		return;
	}
	if (listener && listen(fd, SLOT_LISTEN_BACKLOG) == -1) {
		log_msg("slot %d: listen: %s", s->id, strerror(errno));
		close(fd);
		slot_open_failed(s, 557);
		return;
	}
	log_msg("slot %d: %s on 127.0.0.1:%ld", s->id, slot_type_name[s->type],
	    port);
	slot_attach(s, fd);
	slot_open_done(s);
}

static void
slot_remote_closed(struct slot *s, const char *why)
{
	struct timeval	 tv;
	long		 ms;

	if (s->state != SLOT_CONNECTED)
		return;
	log_msg("slot %d: remote closed (%s)", s->id, why);
	slot_read_off(s);
	slot_set_state(s, SLOT_CLOSING);
	if (s->access == 2) {
		/* NO CARRIER says it, no "closed" URC. */
		slot_trans_lost(s);
		return;
	}
	if (opts.quirks & QUIRK_CLOSED_IN_RESP) {
		/*
		 * The URC is owed from now on, and comes inside the next
		 * answer about this slot, or by itself after a while.
		 */
		ms = SLOT_CLOSED_HOLD_MIN_MS + (long)(sim_random() %
		    (SLOT_CLOSED_HOLD_MAX_MS - SLOT_CLOSED_HOLD_MIN_MS + 1));
		s->closed_held = 1;
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		evtimer_add(s->ev_closed, &tv);
		log_msg("slot %d: \"closed\" URC held (at most %ld ms)", s->id,
		    ms);
		return;
	}
	at_urc("+QIURC: \"closed\",%d", s->id);
}

static void
slot_closed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct slot	*s = arg;

	if (!s->closed_held)
		return;
	s->closed_held = 0;
	at_urc("+QIURC: \"closed\",%d", s->id);
}

/*
 * closed-in-response: the command in flight concerns s, so a "closed"
 * URC owed for it goes out inside the answer, just before the final
 * result.
 */
static void
slot_closed_due(struct slot *s)
{
	if (!s->closed_held)
		return;
	s->closed_held = 0;
	evtimer_del(s->ev_closed);
	at_urc_before_final("+QIURC: \"closed\",%d", s->id);
}

static void
slot_recv_urc(struct slot *s, size_t n)
{
	if (!s->armed)
		return;
	s->armed = 0;
	if (opts.quirks & QUIRK_RECV_LEN)
		at_urc("+QIURC: \"recv\",%d,%zu", s->id, n);
	else
		at_urc("+QIURC: \"recv\",%d", s->id);
}

static void
slot_push_pause(struct slot *s)
{
	slot_read_off(s);
	s->push_wait = 1;
}

void
slot_output_drained(void)
{
	int	 i;

	for (i = 0; i < SIM_NSLOTS; i++) {
		if (slots[i].push_wait && slots[i].state == SLOT_CONNECTED) {
			slots[i].push_wait = 0;
			slot_read_on(&slots[i]);
		}
	}
}

static void
slot_read_stream(struct slot *s)
{
	char	 hdr[64];
	size_t	 room, was;
	ssize_t	 n;

	if (s->access == 2) {
		if (!slot_has_line(s)) {
			slot_read_off(s);
			return;
		}
		if (pty_pending() > SLOT_PUSH_HIGH_WATER) {
			slot_push_pause(s);
			return;
		}
		n = recv(s->fd, iobuf, SLOT_READ_CHUNK, 0);
		if (n > 0) {
			s->rx_total += (uint64_t)n;
			s->rx_read += (uint64_t)n;
			pty_send(iobuf, (size_t)n);
			return;
		}
	} else if (s->access == 1) {
		if (pty_pending() + at_pending() > SLOT_PUSH_HIGH_WATER) {
			slot_push_pause(s);
			return;
		}
		n = recv(s->fd, iobuf, SIM_MAXREAD, 0);
		if (n > 0) {
			s->rx_total += (uint64_t)n;
			s->rx_read += (uint64_t)n;
			snprintf(hdr, sizeof(hdr), "+QIURC: \"recv\",%d,%zd",
			    s->id, n);
			at_urc_data(hdr, iobuf, (size_t)n);
			return;
		}
	} else {
		if (s->rx_len >= opts.rx_buf) {
			slot_read_off(s);
			return;
		}
		room = opts.rx_buf - s->rx_len;
		if (room > SLOT_READ_CHUNK)
			room = SLOT_READ_CHUNK;
		n = recv(s->fd, iobuf, room, 0);
		if (n > 0) {
			was = s->rx_len;
			evbuffer_add(s->rx, iobuf, (size_t)n);
			s->rx_len += (size_t)n;
			s->rx_total += (uint64_t)n;
			if (was == 0)
				slot_recv_urc(s, (size_t)n);
			if (s->rx_len >= opts.rx_buf)
				slot_read_off(s);
			return;
		}
	}
	if (n == 0)
		slot_remote_closed(s, "end of file");
	else if (errno != EAGAIN && errno != EINTR)
		slot_remote_closed(s, strerror(errno));
}

static void
slot_read_dgram(struct slot *s)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	struct dgram		*d;
	char			 hdr[128], ip[INET6_ADDRSTRLEN];
	size_t			 len;
	ssize_t			 n;
	int			 port;

	if (s->access == 2 && !slot_has_line(s)) {
		slot_read_off(s);
		return;
	}
	if (s->access != 0 &&
	    pty_pending() + at_pending() > SLOT_PUSH_HIGH_WATER) {
		slot_push_pause(s);
		return;
	}
	if (s->access == 0 && s->rx_len >= opts.rx_buf) {
		slot_read_off(s);
		return;
	}
	memset(&ss, 0, sizeof(ss));
	n = recvfrom(s->fd, iobuf, sizeof(iobuf), 0, (struct sockaddr *)&ss,
	    &sl);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_msg("slot %d: recv: %s", s->id, strerror(errno));
		return;
	}
	if (n == 0) {
		log_msg("slot %d: empty datagram dropped", s->id);
		return;
	}
	len = (size_t)n;
	if (len > SIM_MAXREAD) {
		log_msg("slot %d: datagram of %zu bytes cut to %d", s->id, len,
		    SIM_MAXREAD);
		len = SIM_MAXREAD;
	}
	slot_addr_str(&ss, ip, sizeof(ip), &port);
	s->rx_total += len;
	if (s->access == 2) {
		s->rx_read += len;
		pty_send(iobuf, len);
		return;
	}
	if (s->access == 1) {
		s->rx_read += len;
		if (s->type == SLOT_SERVICE)
			snprintf(hdr, sizeof(hdr),
			    "+QIURC: \"recv\",%d,%zu,\"%s\",%d", s->id, len,
			    ip, port);
		else
			snprintf(hdr, sizeof(hdr), "+QIURC: \"recv\",%d,%zu",
			    s->id, len);
		at_urc_data(hdr, iobuf, len);
		return;
	}
	if ((d = malloc(sizeof(*d) + len)) == NULL) {
		log_msg("slot: out of memory");
		exit(1);
	}
	memcpy(d->data, iobuf, len);
	d->len = len;
	snprintf(d->ip, sizeof(d->ip), "%s", ip);
	d->port = port;
	TAILQ_INSERT_TAIL(&s->dq, d, entry);
	if (s->rx_len == 0) {
		s->rx_len = len;
		slot_recv_urc(s, len);
	} else
		s->rx_len += len;
	if (s->rx_len >= opts.rx_buf)
		slot_read_off(s);
}

static struct slot *
slot_lowest_free(void)
{
	int	 i;

	for (i = 0; i < SIM_NSLOTS; i++)
		if (slots[i].state == SLOT_FREE)
			return &slots[i];
	return NULL;
}

static void
slot_accept(struct slot *ls)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	struct slot		*s;
	int			 fd;

	fd = accept4(ls->fd, (struct sockaddr *)&ss, &sl,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_msg("slot %d: accept: %s", ls->id, strerror(errno));
		return;
	}
	if ((s = slot_lowest_free()) == NULL) {
		log_msg("slot %d: incoming connection, no free slot", ls->id);
		close(fd);
		at_urc("+QIURC: \"incoming full\"");
		return;
	}
	s->type = SLOT_INCOMING;
	slot_set_state(s, SLOT_CONNECTED);
	s->ctx = ls->ctx;
	s->access = 0;		/* accepted sockets are in buffer mode */
	s->server = ls->id;
	s->silent = 0;
	s->armed = 1;
	s->lport = ls->lport;
	slot_addr_str(&ss, s->ip, sizeof(s->ip), &s->rport);
	slot_attach(s, fd);
	log_msg("slot %d: incoming from %s:%d on listener %d", s->id, s->ip,
	    s->rport, ls->id);
	at_urc("+QIURC: \"incoming\",%d,%d,\"%s\",%d", s->id, ls->id, s->ip,
	    s->rport);
	slot_read_on(s);
}

static void
slot_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct slot	*s = arg;

	switch (s->type) {
	case SLOT_LISTENER:
		slot_accept(s);
		break;
	case SLOT_TCP:
	case SLOT_INCOMING:
		slot_read_stream(s);
		break;
	case SLOT_UDP:
	case SLOT_SERVICE:
		slot_read_dgram(s);
		break;
	}
}

static void
slot_connected(struct slot *s)
{
	socklen_t	 sl = sizeof(int);
	int		 err = 0;

	event_del(s->ev_wr);
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &sl) == -1)
		err = errno;
	if (err != 0) {
		log_msg("slot %d: connect %s:%d: %s", s->id, s->ip, s->rport,
		    strerror(err));
		slot_open_failed(s, 566);
		return;
	}
	log_msg("slot %d: connected to %s:%d", s->id, s->ip, s->rport);
	slot_open_done(s);
}

static void
slot_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct slot	*s = arg;
	size_t		 lost;
	int		 n;

	if (s->state == SLOT_OPENING) {
		slot_connected(s);
		return;
	}
	n = evbuffer_write(s->tx, s->fd);
	if (n > 0)
		s->tx_acked += (uint64_t)n;
	if (slot_has_line(s) && evbuffer_get_length(s->tx) < opts.tx_buf)
		pty_input_hold(0);
	else if (n == -1 && errno != EAGAIN && errno != EINTR) {
		lost = evbuffer_get_length(s->tx);
		log_msg("slot %d: send: %s (%zu bytes lost)", s->id,
		    strerror(errno), lost);
		evbuffer_drain(s->tx, lost);
		slot_remote_closed(s, strerror(errno));
	}
	if (evbuffer_get_length(s->tx) == 0) {
		event_del(s->ev_wr);
		if (s->closing)
			slot_close_done(s);
	}
}

static void
slot_tmo_cb(evutil_socket_t fd, short what, void *arg)
{
	struct slot	*s = arg;

	if (!s->closing)
		return;
	log_msg("slot %d: close timeout", s->id);
	slot_close_done(s);
}

static int
slot_parse_type(const char *t, enum slot_type *type)
{
	if (strcasecmp(t, "TCP") == 0)
		*type = SLOT_TCP;
	else if (strcasecmp(t, "UDP") == 0)
		*type = SLOT_UDP;
	else if (strcasecmp(t, "TCP LISTENER") == 0)
		*type = SLOT_LISTENER;
	else if (strcasecmp(t, "UDP SERVICE") == 0)
		*type = SLOT_SERVICE;
	else
		return -1;
	return 0;
}

void
cmd_qiopen(struct at_cmd *c)
{
	enum slot_type	 type;
	struct slot	*s;
	const char	*tname, *host;
	long		 cid, id, rport, lport = 0, access = 0;

	if (at_arg_int(c, 0, 1, SIM_NCTX, &cid) == -1 ||
	    at_arg_int(c, 1, 0, SIM_NSLOTS - 1, &id) == -1 ||
	    (tname = at_arg_str(c, 2)) == NULL ||
	    slot_parse_type(tname, &type) == -1 ||
	    (host = at_arg_str(c, 3)) == NULL || *host == '\0' ||
	    strlen(host) > 255 ||
	    at_arg_int(c, 4, 0, 65535, &rport) == -1 ||
	    (c->nargs > 5 && at_arg_int(c, 5, 0, 65535, &lport) == -1) ||
	    (c->nargs > 6 && at_arg_int(c, 6, 0, 2, &access) == -1)) {
		at_tcpip_error(552);
		return;
	}
	if ((type == SLOT_LISTENER || type == SLOT_SERVICE) &&
	    (lport == 0 || access == 2)) {
		at_tcpip_error(552);
		return;
	}
	s = &slots[id];
	if (access == 2 && s->state != SLOT_FREE) {
		at_tcpip_error(563);
		return;
	}
	if (access != 2)
		at_ok();
	if (s->state != SLOT_FREE) {
		modem_set_error(563);
		if (!silence)
			at_urc("+QIOPEN: %ld,563", id);
		return;
	}
	s->type = type;
	slot_set_state(s, SLOT_OPENING);
	s->ctx = (int)cid;
	s->access = (int)access;
	s->rport = (int)rport;
	s->lport = (int)lport;
	s->server = 0;
	/* Transparent: the command itself answers, CONNECT or ERROR. */
	s->trans_open = access == 2;
	s->silent = s->trans_open ? 0 : silence;
	s->armed = 1;
	snprintf(s->ip, sizeof(s->ip), "%s", host);
	if (!modem_ctx_active((int)cid)) {
		log_msg("slot %ld: context %ld not active", id, cid);
		slot_open_failed(s, 561);
		return;
	}
	switch (type) {
	case SLOT_TCP:
		slot_open_client(s, host, SOCK_STREAM);
		break;
	case SLOT_UDP:
		slot_open_client(s, host, SOCK_DGRAM);
		break;
	case SLOT_LISTENER:
	case SLOT_SERVICE:
		slot_open_server(s, host);
		break;
	case SLOT_INCOMING:
		break;
	}
}

void
cmd_qiclose(struct at_cmd *c)
{
	struct timeval	 tv;
	struct slot	*s;
	long		 id, tmo = SLOT_CLOSE_TIMEOUT;

	if (at_arg_int(c, 0, 0, SIM_NSLOTS - 1, &id) == -1 ||
	    (c->nargs == 2 && at_arg_int(c, 1, 0, 65535, &tmo) == -1)) {
		at_tcpip_error(552);
		return;
	}
	s = &slots[id];
	if ((s->type == SLOT_TCP || s->type == SLOT_INCOMING) &&
	    s->state != SLOT_FREE && s->fd != -1 &&
	    evbuffer_get_length(s->tx) > 0 && tmo > 0) {
		/* Like the modem: block until the send buffer is out. */
		log_msg("slot %d: close waits for %zu unsent bytes", s->id,
		    evbuffer_get_length(s->tx));
		s->closing = 1;
		slot_read_off(s);
		tv.tv_sec = tmo;
		tv.tv_usec = 0;
		evtimer_add(s->ev_tmo, &tv);
		return;
	}
	slot_closed_due(s);
	slot_free(s);
	at_ok();
}

static void
slot_payload(const uint8_t *data, size_t len, void *arg)
{
	struct slot	*s = arg;
	ssize_t		 n;

	slot_closed_due(s);
	if (s->state != SLOT_CONNECTED || s->fd == -1) {
		log_msg("slot %d: closed during the send", s->id);
		at_tcpip_error(567);
		return;
	}
	if (send_fail || send_fail_n > 0) {
		if (send_fail_n > 0)
			send_fail_n--;
		log_msg("slot %d: send-fail: SEND FAIL", s->id);
		at_final("SEND FAIL");
		return;
	}
	if (s->type == SLOT_TCP || s->type == SLOT_INCOMING) {
		if (evbuffer_get_length(s->tx) + len > opts.tx_buf) {
			log_msg("slot %d: send buffer full (%zu + %zu > %zu)",
			    s->id, evbuffer_get_length(s->tx), len,
			    opts.tx_buf);
			at_final("SEND FAIL");
			return;
		}
		evbuffer_add(s->tx, data, len);
		s->tx_total += len;
		event_add(s->ev_wr, NULL);
		at_final("SEND OK");
		return;
	}
	if (s->type == SLOT_SERVICE)
		n = sendto(s->fd, data, len, 0, (struct sockaddr *)&s->dst,
		    s->dstlen);
	else {
		n = send(s->fd, data, len, 0);
		if (n == -1 && errno == ECONNREFUSED)	/* an older ICMP */
			n = send(s->fd, data, len, 0);
	}
	if (n == -1 && (errno == EAGAIN || errno == ENOBUFS)) {
		at_final("SEND FAIL");
		return;
	}
	if (n == -1)
		log_msg("slot %d: datagram lost: %s", s->id, strerror(errno));
	s->tx_total += len;
	s->tx_acked += len;
	at_final("SEND OK");
}

/*
 * A QISEND or QIRD length: beyond the reference's bound it is the host's
 * protocol violation; out of range either way, error 552.
 */
static int
slot_check_len(const char *cmd, long len, long max)
{
	if (len > max)
		sim_violation("%s length %ld > %ld", cmd, len, max);
	if (len > max || len < 0) {
		at_tcpip_error(552);
		return -1;
	}
	return 0;
}

void
cmd_qisend(struct at_cmd *c)
{
	struct slot	*s;
	const char	*ip;
	long		 id, len, port;
	int		 ok;

	if (at_arg_int(c, 0, 0, SIM_NSLOTS - 1, &id) == -1) {
		at_tcpip_error(552);
		return;
	}
	if (c->nargs == 1) {
		log_msg("AT+QISEND=<id> (Ctrl-Z form) is not emulated");
		at_tcpip_error(555);
		return;
	}
	if ((c->nargs != 2 && c->nargs != 4) ||
	    at_arg_int(c, 1, LONG_MIN, LONG_MAX, &len) == -1) {
		at_tcpip_error(552);
		return;
	}
	if (slot_check_len("AT+QISEND", len, SIM_MAXSEND) == -1)
		return;
	s = &slots[id];
	slot_closed_due(s);
	if (c->nargs == 2 && len == 0) {
		if (s->state == SLOT_FREE) {
			at_tcpip_error(567);
			return;
		}
		at_info("+QISEND: %llu,%llu,%zu",
		    (unsigned long long)s->tx_total,
		    (unsigned long long)s->tx_acked,
		    evbuffer_get_length(s->tx));
		at_ok();
		return;
	}
	if (c->nargs == 2) {
		ok = s->state == SLOT_CONNECTED && (s->type == SLOT_TCP ||
		    s->type == SLOT_UDP || s->type == SLOT_INCOMING);
	} else {
		ip = c->args[2].s;
		ok = len > 0 && s->state == SLOT_CONNECTED &&
		    s->type == SLOT_SERVICE &&
		    at_arg_int(c, 3, 1, 65535, &port) == 0 &&
		    slot_literal(ip, &s->dst, &s->dstlen) == 0 &&
		    (opts.allow_remote || slot_is_loopback(&s->dst));
		if (ok)
			slot_set_port(&s->dst, (int)port);
	}
	if (!ok) {
		log_msg("slot %ld: cannot send (state %d)", id, s->state);
		at_tcpip_error(s->state == SLOT_FREE ? 567 : 552);
		return;
	}
	at_prompt((size_t)len, slot_payload, s);
}

/*
 * "+QIRD: 0": the buffer is drained, so the recv URC is armed again.
 * recv-in-empty-read: data that is already arriving is taken in at once,
 * and the OK comes a little later, so data that arrives meanwhile is
 * announced between "+QIRD: 0" and OK (once: the URC disarms).
 */
static void
slot_empty_read(struct slot *s)
{
	s->armed = 1;
	at_info("+QIRD: 0");
	if (!(opts.quirks & QUIRK_RECV_IN_EMPTY) || s->access != 0) {
		at_ok();
		return;
	}
	if (s->state == SLOT_CONNECTED && s->fd != -1 && s->reading)
		slot_read_cb(s->fd, EV_READ, s);
	at_final_delay("OK", SLOT_EMPTY_WAIT_MIN_MS + (long)(sim_random() %
	    (SLOT_EMPTY_WAIT_MAX_MS - SLOT_EMPTY_WAIT_MIN_MS + 1)));
}

void
cmd_qird(struct at_cmd *c)
{
	struct slot	*s;
	struct dgram	*d;
	char		 hdr[128];
	long		 id, len = SIM_MAXREAD;
	size_t		 n;
	int		 counters = 0;

	if (at_arg_int(c, 0, 0, SIM_NSLOTS - 1, &id) == -1 ||
	    (c->nargs == 2 && at_arg_int(c, 1, LONG_MIN, LONG_MAX, &len) == -1)) {
		at_tcpip_error(552);
		return;
	}
	if (slot_check_len("AT+QIRD", len, SIM_MAXREAD) == -1)
		return;
	if (c->nargs == 2 && len == 0)
		counters = 1;
	s = &slots[id];
	if (s->state == SLOT_FREE || s->state == SLOT_OPENING ||
	    s->type == SLOT_LISTENER) {
		at_tcpip_error(567);
		return;
	}
	slot_closed_due(s);
	if (counters) {
		at_info("+QIRD: %llu,%llu,%zu", (unsigned long long)s->rx_total,
		    (unsigned long long)s->rx_read, s->rx_len);
		at_ok();
		return;
	}
	if (s->type == SLOT_TCP || s->type == SLOT_INCOMING) {
		n = s->rx_len < (size_t)len ? s->rx_len : (size_t)len;
		if (n == 0) {
			slot_empty_read(s);
			return;
		}
		snprintf(hdr, sizeof(hdr), "+QIRD: %zu", n);
		at_info_data(hdr, evbuffer_pullup(s->rx, (ssize_t)n), n);
		evbuffer_drain(s->rx, n);
	} else {
		/* One whole datagram per read, whatever <read_length>. */
		if ((d = TAILQ_FIRST(&s->dq)) == NULL) {
			slot_empty_read(s);
			return;
		}
		n = d->len;
		if (s->type == SLOT_SERVICE)
			snprintf(hdr, sizeof(hdr), "+QIRD: %zu,\"%s\",%d", n,
			    d->ip, d->port);
		else
			snprintf(hdr, sizeof(hdr), "+QIRD: %zu", n);
		at_info_data(hdr, d->data, n);
		TAILQ_REMOVE(&s->dq, d, entry);
		free(d);
	}
	s->rx_len -= n;
	s->rx_read += n;
	at_ok();
	if (s->state == SLOT_CONNECTED && s->rx_len < opts.rx_buf &&
	    !s->push_wait)
		slot_read_on(s);
}

static void
slot_state_line(const struct slot *s)
{
	int	 st = s->state;

	if (st == SLOT_CONNECTED && (opts.quirks & QUIRK_STATE3) &&
	    (s->type == SLOT_TCP || s->type == SLOT_INCOMING))
		st = 3;
	at_info("+QISTATE: %d,\"%s\",\"%s\",%d,%d,%d,%d,%d,%d,\"uart1\"",
	    s->id, slot_type_name[s->type], s->ip, s->rport, s->lport, st,
	    s->ctx, s->type == SLOT_INCOMING ? s->server : 0, s->access);
}

void
cmd_qistate(struct at_cmd *c)
{
	long	 mode, arg = -1;
	int	 i;

	if (c->kind != AT_SET)
		mode = -1;
	else if (at_arg_int(c, 0, 0, 1, &mode) == -1 ||
	    at_arg_int(c, 1, mode == 0 ? 1 : 0, mode == 0 ?
	    SIM_NCTX : SIM_NSLOTS - 1, &arg) == -1) {
		at_tcpip_error(552);
		return;
	}
	for (i = 0; i < SIM_NSLOTS; i++) {
		if (slots[i].state == SLOT_FREE)
			continue;
		if ((mode == 0 && slots[i].ctx != arg) ||
		    (mode == 1 && i != arg))
			continue;
		slot_state_line(&slots[i]);
		slot_closed_due(&slots[i]);
	}
	at_ok();
}

/* Buffered data goes out in push URCs (buffer to push mode, 5.8). */
static void
slot_push_buffered(struct slot *s)
{
	struct dgram	*d;
	char		 hdr[128];
	size_t		 n;

	while (evbuffer_get_length(s->rx) > 0) {
		n = evbuffer_get_length(s->rx);
		if (n > SIM_MAXREAD)
			n = SIM_MAXREAD;
		snprintf(hdr, sizeof(hdr), "+QIURC: \"recv\",%d,%zu", s->id, n);
		at_urc_data(hdr, evbuffer_pullup(s->rx, (ssize_t)n), n);
		evbuffer_drain(s->rx, n);
		s->rx_read += n;
	}
	while ((d = TAILQ_FIRST(&s->dq)) != NULL) {
		if (s->type == SLOT_SERVICE)
			snprintf(hdr, sizeof(hdr),
			    "+QIURC: \"recv\",%d,%zu,\"%s\",%d", s->id,
			    d->len, d->ip, d->port);
		else
			snprintf(hdr, sizeof(hdr), "+QIURC: \"recv\",%d,%zu",
			    s->id, d->len);
		at_urc_data(hdr, d->data, d->len);
		s->rx_read += d->len;
		TAILQ_REMOVE(&s->dq, d, entry);
		free(d);
	}
	s->rx_len = 0;
}

/* CONNECT for s: the line is its once that is written. */
static void
slot_connect(struct slot *s)
{
	s->access = 2;
	slot_read_off(s);
	at_connect(s->id);
}

void
cmd_qiswtmd(struct at_cmd *c)
{
	struct slot	*s;
	long		 id, mode;

	if (at_arg_int(c, 0, 0, SIM_NSLOTS - 1, &id) == -1 ||
	    at_arg_int(c, 1, 0, 2, &mode) == -1) {
		at_tcpip_error(552);
		return;
	}
	s = &slots[id];
	if (s->state != SLOT_CONNECTED || s->type == SLOT_LISTENER ||
	    (mode == 2 && s->type == SLOT_SERVICE)) {
		log_msg("AT+QISWTMD=%ld,%ld: slot state %d", id, mode,
		    s->state);
		at_error();
		return;
	}
	if (mode == 2) {
		slot_connect(s);
		return;
	}
	if (mode == 1 && s->access == 0)
		slot_push_buffered(s);
	s->access = (int)mode;
	s->armed = 1;
	s->push_wait = 0;
	slot_read_on(s);
	at_ok();
}

/* ATO: back into data mode, for the slot "+++" left (5.11). */
void
cmd_ato(struct at_cmd *c)
{
	struct slot	*s;

	if (trans_last < 0 || (s = &slots[trans_last])->state !=
	    SLOT_CONNECTED) {
		log_msg("ATO: no connection to return to");
		at_error();
		return;
	}
	slot_connect(s);
}

/*
 * CONNECT is out: buffered data first, then the socket is read straight
 * onto the line.  A socket that went meanwhile ends it at once.
 */
void
slot_trans_start(int id)
{
	struct slot	*s = &slots[id];
	struct dgram	*d;
	size_t		 n;

	trans_last = id;
	s->access = 2;
	if ((n = evbuffer_get_length(s->rx)) > 0) {
		s->rx_read += n;
		pty_send(evbuffer_pullup(s->rx, (ssize_t)n), n);
		evbuffer_drain(s->rx, n);
	}
	while ((d = TAILQ_FIRST(&s->dq)) != NULL) {
		s->rx_read += d->len;
		pty_send(d->data, d->len);
		TAILQ_REMOVE(&s->dq, d, entry);
		free(d);
	}
	s->rx_len = 0;
	s->push_wait = 0;
	if (s->state != SLOT_CONNECTED) {
		slot_trans_lost(s);
		return;
	}
	slot_read_on(s);
}

/* "+++": the socket stays open, in buffer mode (5.11). */
void
slot_trans_stop(int id)
{
	struct slot	*s = &slots[id];

	s->access = 0;
	s->armed = 1;
	s->push_wait = 0;
	pty_input_hold(0);
	if (s->state == SLOT_CONNECTED)
		slot_read_on(s);
}

void
slot_trans_write(int id, const uint8_t *data, size_t len)
{
	struct slot	*s = &slots[id];
	ssize_t		 n;

	if (s->fd == -1 || s->state != SLOT_CONNECTED) {
		log_msg("slot %d: %zu bytes of data mode lost", id, len);
		return;
	}
	s->tx_total += len;
	if (s->type == SLOT_TCP || s->type == SLOT_INCOMING) {
		evbuffer_add(s->tx, data, len);
		event_add(s->ev_wr, NULL);
		/* Full: the line stops (the host's writes back up). */
		if (evbuffer_get_length(s->tx) >= opts.tx_buf)
			pty_input_hold(1);
		return;
	}
	n = send(s->fd, data, len, 0);
	if (n == -1 && errno == ECONNREFUSED)	/* an older ICMP */
		n = send(s->fd, data, len, 0);
	if (n == -1)
		log_msg("slot %d: datagram lost: %s", id, strerror(errno));
	s->tx_acked += len;
}

void
slot_stats(struct evbuffer *b)
{
	const struct slot	*s;
	int			 i, first = 1;

	evbuffer_add(b, "[", 1);
	for (i = 0; i < SIM_NSLOTS; i++) {
		s = &slots[i];
		if (s->state == SLOT_FREE)
			continue;
		evbuffer_add_printf(b, "%s{\"id\":%d,\"type\":", first ? "" : ",",
		    s->id);
		ctl_json_str(b, slot_type_name[s->type]);
		evbuffer_add_printf(b, ",\"state\":%d,\"access\":%d,\"rx\":%llu,"
		    "\"tx\":%llu,\"rx_unread\":%zu,\"tx_unacked\":%zu,"
		    "\"remote\":", s->state, s->access,
		    (unsigned long long)s->rx_total,
		    (unsigned long long)s->tx_total, s->rx_len,
		    evbuffer_get_length(s->tx));
		ctl_json_str(b, s->ip);
		evbuffer_add_printf(b, ",\"rport\":%d,\"lport\":%d}", s->rport,
		    s->lport);
		first = 0;
	}
	evbuffer_add(b, "]", 1);
}

void
slot_fini(void)
{
	int	 i;

	slot_reset_all();
	for (i = 0; i < SIM_NSLOTS; i++) {
		event_free(slots[i].ev_tmo);
		event_free(slots[i].ev_closed);
		evbuffer_free(slots[i].rx);
		evbuffer_free(slots[i].tx);
	}
}
