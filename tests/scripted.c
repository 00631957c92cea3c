/*
 * scripted.c: the scripted modem of scripted.h.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <event2/event.h>

#include "bg96d/at.h"
#include "bg96d/atq.h"
#include "bg96d/conf.h"
#include "bg96d/endpoint.h"
#include "bg96d/log.h"
#include "bg96d/modem.h"
#include "bg96d/msock.h"
#include "bg96d/stack.h"
#include "bg96d/util.h"

#include "scripted.h"

#define SM_RX_MAX	(256 * 1024)
#define SM_TICK_MS	5

struct sm {
	struct event_base	*base;
	int			 mfd;		/* the modem's end */
	int			 dfd;		/* level 1: the daemon's end */
	int			 sfd;		/* level 2: pty slave, kept open */
	struct event		*rev, *tick;
	struct atq		*q;		/* level 1 */
	struct msockset		*set;		/* level 1 */
	struct conf		 conf;		/* level 2 */
	struct stack		*st;		/* level 2 */
	char			 dir[64];
	uint8_t			 rx[SM_RX_MAX];	/* written by the daemon */
	size_t			 rxlen;
	char			 cmd[1024];
	const char		*inject;	/* sm_bringup(): URC per gap */
};

static void
sm_log_init(void)
{
	const char	*e = getenv("SM_LOG");

	log_init(e != NULL && strcmp(e, "trace") == 0 ? LOG_TRACE :
	    LOG_DEBUG);
}

/*
 * Level 2: the modem layer polls the radio (radio.c) as a job of the
 * queue whenever the line is free, at times no script can foresee; the
 * scripted modem answers those commands itself, as a BG96 on LTE-M
 * would, so that scripts see only what they are about.
 */
static const struct {
	const char	*cmd;
	const char	*answer;
} sm_radio[] = {
	{ "AT+CSQ\r", "\r\n+CSQ: 20,99\r\n\r\nOK\r\n" },
	{ "AT+QCSQ\r", "\r\n+QCSQ: \"eMTC\",-73,-98,155,-9\r\n\r\nOK\r\n" },
	{ "AT+COPS?\r", "\r\n+COPS: 0,0,\"scripted\",8\r\n\r\nOK\r\n" },
	{ "AT+QNWINFO\r",
	    "\r\n+QNWINFO: \"eMTC\",\"26201\",\"LTE BAND 20\",6300\r\n\r\nOK\r\n" },
};

static void
sm_answer_radio(struct sm *t)
{
	size_t	 i, n, len;

	for (i = 0; i < sizeof(sm_radio) / sizeof(sm_radio[0]); i++) {
		n = strlen(sm_radio[i].cmd);
		if (t->rxlen < n || memcmp(t->rx, sm_radio[i].cmd, n) != 0)
			continue;
		memmove(t->rx, t->rx + n, t->rxlen - n);
		t->rxlen -= n;
		len = strlen(sm_radio[i].answer);
		/* Short: the pty takes it whole (no loop in a callback). */
		ck_assert_int_eq(write(t->mfd, sm_radio[i].answer, len),
		    (ssize_t)len);
		return;
	}
}

static void
sm_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sm	*t = arg;
	ssize_t		 n;

	if (t->rxlen == sizeof(t->rx))
		ck_abort_msg("scripted modem: daemon wrote more than %zu "
		    "bytes nobody expected", sizeof(t->rx));
	n = read(fd, t->rx + t->rxlen, sizeof(t->rx) - t->rxlen);
	if (n > 0)
		t->rxlen += (size_t)n;
	if (t->st != NULL)
		sm_answer_radio(t);
}

static void
sm_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	/* Only there so EVLOOP_ONCE returns regularly. */
}

static void
sm_common(struct sm *t)
{
	struct timeval	 tv = { 0, SM_TICK_MS * 1000 };

	t->rev = event_new(t->base, t->mfd, EV_READ | EV_PERSIST, sm_read_cb,
	    t);
	event_add(t->rev, NULL);
	t->tick = event_new(t->base, -1, EV_PERSIST, sm_tick_cb, t);
	event_add(t->tick, &tv);
}

struct sm *
sm_new_slots(void)
{
	static const struct atq_ops ops = { 0 };
	struct sm	*t = xcalloc(1, sizeof(*t));
	int		 fds[2];

	sm_log_init();
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0, fds), 0);
	t->dfd = fds[0];
	t->mfd = fds[1];
	t->sfd = -1;
	t->base = event_base_new();
	sm_common(t);
	/* Level 1: the slot table registers with the queue itself. */
	t->q = atq_new(t->base, &ops, t);
	t->set = msockset_new(t->base, t->q, 1, NULL, NULL);
	atq_attach(t->q, t->dfd);
	return t;
}

struct sm *
sm_new_stack(const char *endpoints)
{
	struct sm	*t = xcalloc(1, sizeof(*t));
	struct termios	 tio;
	char		*text, err[256];
	const char	*slave;

	sm_log_init();
	t->dfd = -1;
	strlcpy(t->dir, "/tmp/bg96-sm-XXXXXX", sizeof(t->dir));
	ck_assert_ptr_nonnull(mkdtemp(t->dir));
	t->mfd = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	ck_assert_int_ge(t->mfd, 0);
	ck_assert_int_eq(grantpt(t->mfd), 0);
	ck_assert_int_eq(unlockpt(t->mfd), 0);
	slave = ptsname(t->mfd);
	ck_assert_ptr_nonnull(slave);
	/* Raw from the start: the line discipline must not echo. */
	t->sfd = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(t->sfd, 0);
	ck_assert_int_eq(tcgetattr(t->sfd, &tio), 0);
	cfmakeraw(&tio);
	ck_assert_int_eq(tcsetattr(t->sfd, TCSANOW, &tio), 0);

	xasprintf(&text, "[modem]\ndevice = %s\nbaud = 115200\n"
	    "[daemon]\nsocket_dir = %s\nlog_level = debug\n"
	    "[control]\nenable = no\n%s", slave, t->dir, endpoints);
	if (conf_load_string("scripted.conf", text, &t->conf, stderr) != 0)
		ck_abort_msg("scripted modem: bad configuration:\n%s", text);
	free(text);
	t->base = event_base_new();
	sm_common(t);
	t->st = stack_new(t->base, &t->conf, NULL, NULL);
	if (epset_apply(t->st->eps, &t->conf, err, sizeof(err)) != 0)
		ck_abort_msg("scripted modem: endpoints: %s", err);
	modem_start(t->st->modem);
	return t;
}

void
sm_free(struct sm *t)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[512];

	if (t->st != NULL)
		stack_free(t->st);
	/* The queue first: it aborts its commands into the slots. */
	if (t->q != NULL)
		atq_free(t->q);
	if (t->set != NULL)
		msockset_free(t->set);
	event_free(t->rev);
	event_free(t->tick);
	event_base_free(t->base);
	conf_free(&t->conf);
	close(t->mfd);
	if (t->dfd != -1)
		close(t->dfd);
	if (t->sfd != -1)
		close(t->sfd);
	if (t->dir[0] != '\0' && (d = opendir(t->dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", t->dir,
			    de->d_name);
			unlink(path);
		}
		closedir(d);
		rmdir(t->dir);
	}
	free(t);
}

struct event_base *
sm_base(struct sm *t)
{
	return t->base;
}

struct atq *
sm_atq(struct sm *t)
{
	return t->st != NULL ? modem_atq(t->st->modem) : t->q;
}

struct msockset *
sm_set(struct sm *t)
{
	return t->st != NULL ? t->st->msocks : t->set;
}

struct stack *
sm_stack(struct sm *t)
{
	return t->st;
}

const char *
sm_dir(struct sm *t)
{
	return t->dir;
}

void
sm_send_bytes(struct sm *t, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(t->mfd, p, len);
		if (n == -1 && errno == EAGAIN) {
			event_base_loop(t->base, EVLOOP_ONCE);
			continue;
		}
		ck_assert_int_gt(n, 0);
		p += n;
		len -= (size_t)n;
	}
	/* Let the daemon see it before the test goes on. */
	event_base_loop(t->base, EVLOOP_NONBLOCK);
}

void
sm_send(struct sm *t, const char *s)
{
	sm_send_bytes(t, s, strlen(s));
}

static void
sm_consume(struct sm *t, size_t n)
{
	memmove(t->rx, t->rx + n, t->rxlen - n);
	t->rxlen -= n;
}

void
sm_expect_bytes(struct sm *t, const void *want, size_t len)
{
	long long	 end = now_ms() + SM_WAIT_MS;
	char		 a[256], b[256];

	while (t->rxlen < len && now_ms() < end)
		event_base_loop(t->base, EVLOOP_ONCE);
	if (t->rxlen < len || memcmp(t->rx, want, len) != 0)
		ck_abort_msg("scripted modem: expected \"%s\", the daemon "
		    "wrote \"%s\"", log_escape(a, sizeof(a), want, len),
		    log_escape(b, sizeof(b), t->rx, t->rxlen));
	sm_consume(t, len);
}

void
sm_expect(struct sm *t, const char *want)
{
	sm_expect_bytes(t, want, strlen(want));
}

const char *
sm_next_cmd(struct sm *t)
{
	long long	 end = now_ms() + SM_WAIT_MS;
	uint8_t		*cr;
	size_t		 n;
	char		 b[256];

	while ((cr = memchr(t->rx, '\r', t->rxlen)) == NULL &&
	    now_ms() < end)
		event_base_loop(t->base, EVLOOP_ONCE);
	if (cr == NULL)
		ck_abort_msg("scripted modem: no command from the daemon "
		    "(it wrote \"%s\")", log_escape(b, sizeof(b), t->rx,
		    t->rxlen));
	n = (size_t)(cr - t->rx);
	ck_assert_uint_lt(n, sizeof(t->cmd));
	memcpy(t->cmd, t->rx, n);
	t->cmd[n] = '\0';
	sm_consume(t, n + 1);
	return t->cmd;
}

void
sm_run(struct sm *t, int ms)
{
	long long	 end = now_ms() + ms;

	while (now_ms() < end)
		event_base_loop(t->base, EVLOOP_ONCE);
}

bool
sm_idle(struct sm *t)
{
	return t->rxlen == 0;
}

void
sm_quiet(struct sm *t, int ms)
{
	char	 b[256];

	sm_run(t, ms);
	if (t->rxlen != 0)
		ck_abort_msg("scripted modem: expected silence, the daemon "
		    "wrote \"%s\"", log_escape(b, sizeof(b), t->rx,
		    t->rxlen));
}

void
sm_until(struct sm *t, bool (*pred)(void *), void *arg, const char *what)
{
	long long	 end = now_ms() + SM_WAIT_MS;

	while (!pred(arg)) {
		if (now_ms() >= end)
			ck_abort_msg("scripted modem: timed out waiting for "
			    "%s", what);
		event_base_loop(t->base, EVLOOP_ONCE);
	}
}

/* What a healthy, registered BG96 answers during bring-up. */
static const struct {
	const char	*cmd;
	const char	*answer;
} sm_answers[] = {
	{ "ATI", "\r\nQuectel\r\nBG96\r\nRevision: BG96MAR02A07M1G\r\n" },
	{ "AT+GSN", "\r\n866425030000001\r\n" },
	{ "AT+QGMR", "\r\nBG96MAR02A07M1G_01.019.01.019\r\n" },
	{ "AT+CPIN?", "\r\n+CPIN: READY\r\n" },
	{ "AT+QCCID", "\r\n+QCCID: 89490000000000000001\r\n" },
	{ "AT+CEREG?", "\r\n+CEREG: 1,1\r\n" },
	{ "AT+CGREG?", "\r\n+CGREG: 1,1\r\n" },
	{ "AT+CREG?", "\r\n+CREG: 1,1\r\n" },
	{ "AT+QIACT?", "\r\n+QIACT: 1,1,1,\"10.0.0.2\"\r\n" },
};

static bool
sm_ready_or_cmd(void *arg)
{
	struct sm	*t = arg;

	return modem_state(t->st->modem) == MODEM_READY ||
	    memchr(t->rx, '\r', t->rxlen) != NULL;
}

void
sm_bringup(struct sm *t, const char *qistate)
{
	const char	*cmd;
	size_t		 i;

	for (;;) {
		sm_until(t, sm_ready_or_cmd, t, "bring-up");
		if (modem_state(t->st->modem) == MODEM_READY)
			break;
		cmd = sm_next_cmd(t);
		if (t->inject != NULL)
			sm_send(t, t->inject);
		if (strcmp(cmd, "AT+QISTATE") == 0)
			sm_send(t, qistate);
		for (i = 0; i < sizeof(sm_answers) / sizeof(sm_answers[0]);
		    i++)
			if (strcmp(cmd, sm_answers[i].cmd) == 0)
				sm_send(t, sm_answers[i].answer);
		if (t->inject != NULL)
			sm_send(t, t->inject);
		sm_send(t, "\r\nOK\r\n");
	}
}

void
sm_inject(struct sm *t, const char *urc)
{
	t->inject = urc;
}

int
sm_connect(struct sm *t, const char *name)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s.sock", t->dir,
	    name);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)),
	    0);
	return fd;
}
