/*
 * The serial line: a pseudo-terminal whose slave side is linked at --link.
 *
 * We keep a descriptor of the slave open ourselves, so the tty (and what
 * is queued in it) survives the daemon closing and reopening the device.
 * Output is queued and written only from the event loop, never from
 * inside input processing: everything read in one read() was sent by the
 * host before it could see anything we write afterwards, which is what
 * makes the protocol-violation checks in at.c sound.
 */
#include <sys/ioctl.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "sim.h"

#define PTY_READ_MAX	4096
#define PTY_LOW_WATER	16384	/* push readers resume below this */
#define PTY_RETRY_MS	100

static int		 master = -1;
static int		 slave = -1;
static char		 slave_name[PATH_MAX];
static struct event	*ev_rd;
static struct event	*ev_wr;
static struct event	*ev_rd_wait;
static struct event	*ev_wr_wait;
static struct event	*ev_unstall;
static struct event	*ev_relink;
static struct evbuffer	*outbuf;
static uint64_t		 queued;
static uint64_t		 written;
static uint64_t		 bytes_in;
static struct pace	 pin;
static struct pace	 pout;
static int		 stalled;
static int		 wr_pending;
static int		 in_hold;	/* the modem takes no input (data mode) */
static double		 in_time;	/* arrival of the last byte read */
static size_t		 in_before_wr;	/* input waiting before the last write */

static void	 pty_read_cb(evutil_socket_t, short, void *);
static void	 pty_write_cb(evutil_socket_t, short, void *);
static void	 pty_resume_cb(evutil_socket_t, short, void *);
static void	 pty_unstall_cb(evutil_socket_t, short, void *);
static void	 pty_relink_cb(evutil_socket_t, short, void *);
static void	 pty_kick(void);
static void	 pty_close(void);

static void
pty_once(void)
{
	if (outbuf != NULL)
		return;
	if ((outbuf = evbuffer_new()) == NULL ||
	    (ev_rd_wait = evtimer_new(base, pty_resume_cb, NULL)) == NULL ||
	    (ev_wr_wait = evtimer_new(base, pty_write_cb, NULL)) == NULL ||
	    (ev_unstall = evtimer_new(base, pty_unstall_cb, NULL)) == NULL ||
	    (ev_relink = evtimer_new(base, pty_relink_cb, NULL)) == NULL) {
		log_msg("pty: out of memory");
		exit(1);
	}
}

int
pty_open(void)
{
	struct termios	 t;
	int		 flags;

	pty_once();
	if ((master = posix_openpt(O_RDWR | O_NOCTTY)) == -1) {
		log_msg("posix_openpt: %s", strerror(errno));
		return -1;
	}
	if (grantpt(master) == -1 || unlockpt(master) == -1 ||
	    ptsname_r(master, slave_name, sizeof(slave_name)) != 0) {
		log_msg("pty setup: %s", strerror(errno));
		goto fail;
	}
	if ((flags = fcntl(master, F_GETFL)) == -1 ||
	    fcntl(master, F_SETFL, flags | O_NONBLOCK) == -1 ||
	    fcntl(master, F_SETFD, FD_CLOEXEC) == -1) {
		log_msg("fcntl: %s", strerror(errno));
		goto fail;
	}
	if ((slave = open(slave_name, O_RDWR | O_NOCTTY | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		log_msg("%s: %s", slave_name, strerror(errno));
		goto fail;
	}
	if (tcgetattr(slave, &t) == -1) {
		log_msg("tcgetattr: %s", strerror(errno));
		goto fail;
	}
	cfmakeraw(&t);
	cfsetispeed(&t, B115200);
	cfsetospeed(&t, B115200);
	if (tcsetattr(slave, TCSANOW, &t) == -1) {
		log_msg("tcsetattr: %s", strerror(errno));
		goto fail;
	}
	ev_rd = event_new(base, master, EV_READ | EV_PERSIST, pty_read_cb, NULL);
	ev_wr = event_new(base, master, EV_WRITE, pty_write_cb, NULL);
	if (ev_rd == NULL || ev_wr == NULL) {
		log_msg("pty: out of memory");
		goto fail;
	}
	pace_init(&pin, opts.baud);
	pace_init(&pout, opts.baud);
	wr_pending = 0;
	in_hold = 0;
	if (!stalled)
		event_add(ev_rd, NULL);
	log_msg("pty %s ready", slave_name);
	return 0;
fail:
	pty_close();
	return -1;
}

/* Links --link to the slave atomically: symlink a temporary, rename it. */
int
pty_link(void)
{
	char	 tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", opts.link) >= (int)sizeof(tmp)) {
		log_msg("%s: path too long", opts.link);
		return -1;
	}
	unlink(tmp);
	if (symlink(slave_name, tmp) == -1) {
		log_msg("symlink %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (rename(tmp, opts.link) == -1) {
		log_msg("rename %s: %s", opts.link, strerror(errno));
		unlink(tmp);
		return -1;
	}
	log_msg("linked %s -> %s", opts.link, slave_name);
	return 0;
}

void
pty_unlink(void)
{
	char	 target[PATH_MAX];
	ssize_t	 n;

	if (opts.link == NULL)
		return;
	/* Only remove a link that is still ours. */
	n = readlink(opts.link, target, sizeof(target) - 1);
	if (n < 0)
		return;
	target[n] = '\0';
	if (strcmp(target, slave_name) == 0)
		unlink(opts.link);
}

static void
pty_close(void)
{
	if (ev_rd != NULL)
		event_free(ev_rd);
	if (ev_wr != NULL)
		event_free(ev_wr);
	ev_rd = ev_wr = NULL;
	if (ev_rd_wait != NULL)
		evtimer_del(ev_rd_wait);
	if (ev_wr_wait != NULL)
		evtimer_del(ev_wr_wait);
	if (master != -1)
		close(master);
	if (slave != -1)
		close(slave);
	master = slave = -1;
	wr_pending = 0;
	if (outbuf != NULL) {
		evbuffer_drain(outbuf, evbuffer_get_length(outbuf));
		queued = written;
	}
	if (ev_unstall != NULL && evtimer_pending(ev_unstall, NULL))
		evtimer_del(ev_unstall);
	stalled = 0;
}

/* Releases everything, at exit. */
void
pty_fini(void)
{
	pty_close();
	if (outbuf == NULL)
		return;
	event_free(ev_rd_wait);
	event_free(ev_wr_wait);
	event_free(ev_unstall);
	event_free(ev_relink);
	evbuffer_free(outbuf);
	outbuf = NULL;
}

int
pty_is_up(void)
{
	return master != -1;
}

void
pty_send(const void *buf, size_t len)
{
	if (master == -1 || len == 0)
		return;
	if (evbuffer_add(outbuf, buf, len) == -1) {
		log_msg("pty: out of memory");
		exit(1);
	}
	queued += len;
	pty_kick();
}

uint64_t
pty_queued(void)
{
	return queued;
}

uint64_t
pty_written(void)
{
	return written;
}

size_t
pty_pending(void)
{
	return outbuf != NULL ? evbuffer_get_length(outbuf) : 0;
}

uint64_t
pty_bytes_in(void)
{
	return bytes_in;
}

/*
 * Arms the writer: the fd event once a chunk (or all that is pending, if
 * less) has had its line time, a timer until then.
 */
static void
pty_kick(void)
{
	struct timeval	 tv;
	size_t		 pending, want;

	if (master == -1 || stalled || wr_pending)
		return;
	if ((pending = evbuffer_get_length(outbuf)) == 0)
		return;
	want = pace_chunk(&pout, pending);
	if (pace_avail(&pout) < want) {
		pace_delay(&pout, want, &tv);
		evtimer_add(ev_wr_wait, &tv);
	} else
		event_add(ev_wr, NULL);
	wr_pending = 1;
}

static void
pty_write_cb(evutil_socket_t fd, short what, void *arg)
{
	size_t	 avail, n;
	int	 w;

	wr_pending = 0;
	if (master == -1 || stalled)
		return;
	if ((n = evbuffer_get_length(outbuf)) == 0)
		return;
	if ((avail = pace_avail(&pout)) < pace_chunk(&pout, n)) {
		pty_kick();
		return;
	}
	if (n > avail)
		n = avail;
	if (n > INT_MAX)
		n = INT_MAX;
	/*
	 * What the host sent before it could see this write: sampled
	 * before it, since the host may answer before write() returns.
	 */
	in_before_wr = pty_input_waiting();
	w = evbuffer_write_atmost(outbuf, master, (ssize_t)n);
	if (w < 0) {
		if (errno == EAGAIN || errno == EINTR) {
			/*
			 * The host is not reading: wait for room.  The line
			 * stands still meanwhile (flow control), so nothing
			 * is banked for when it reads again.
			 */
			pace_idle(&pout);
			event_add(ev_wr, NULL);
			wr_pending = 1;
			return;
		}
		log_msg("pty write: %s", strerror(errno));
		return;
	}
	pace_take(&pout, (size_t)w);
	written += (uint64_t)w;
	/* Dry, or the pty is full: the next byte is timed afresh. */
	if (evbuffer_get_length(outbuf) == 0 || (size_t)w < n)
		pace_idle(&pout);
	at_written(written);
	if (evbuffer_get_length(outbuf) < PTY_LOW_WATER)
		slot_output_drained();
	pty_kick();
}

static void
pty_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval	 tv;
	uint8_t		 buf[PTY_READ_MAX];
	size_t		 avail, want;
	ssize_t		 n;
	int		 waiting = 0;

	if (master == -1 || stalled)
		return;
	if (in_hold) {
		event_del(ev_rd);
		return;
	}
	if (opts.baud > 0) {
		/*
		 * Input is consumed at the line rate: the bytes the host
		 * wrote are taken no faster than a UART would have carried
		 * them, timed from when they were there (pace_avail starts
		 * an idle line now).
		 */
		if (ioctl(master, FIONREAD, &waiting) == -1 || waiting < 1)
			waiting = 1;
		want = pace_chunk(&pin, (size_t)waiting);
		if ((avail = pace_avail(&pin)) < want) {
			event_del(ev_rd);
			pace_delay(&pin, want, &tv);
			evtimer_add(ev_rd_wait, &tv);
			return;
		}
	} else
		avail = sizeof(buf);
	if (avail > sizeof(buf))
		avail = sizeof(buf);
	n = read(master, buf, avail);
	if (n > 0) {
		pace_take(&pin, (size_t)n);
		in_time = opts.baud > 0 ? pin.line_t : pace_now();
		bytes_in += (uint64_t)n;
		/* Nothing more waiting: the input line is idle from here. */
		if (opts.baud > 0 && (ioctl(master, FIONREAD, &waiting) == -1 ||
		    waiting == 0))
			pace_idle(&pin);
		at_input(buf, (size_t)n);
		return;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	/* EIO: no slave open.  We hold one, so this is transient. */
	log_msg("pty read: %s", n == 0 ? "end of file" : strerror(errno));
	event_del(ev_rd);
	tv.tv_sec = 0;
	tv.tv_usec = PTY_RETRY_MS * 1000;
	evtimer_add(ev_rd_wait, &tv);
}

static void
pty_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	if (master != -1 && !stalled && !in_hold)
		event_add(ev_rd, NULL);
}

/*
 * Data mode: the modem stops taking input while the socket cannot take
 * more (the host's writes back up, as with CTS down), and takes it again.
 */
void
pty_input_hold(int on)
{
	if (in_hold == on)
		return;
	in_hold = on;
	if (master == -1 || stalled || ev_rd == NULL)
		return;
	if (on)
		event_del(ev_rd);
	else
		event_add(ev_rd, NULL);
}

/* When the last byte read arrived at the modem (its line time). */
double
pty_in_time(void)
{
	return in_time;
}

/* Input bytes that were waiting just before the last write. */
size_t
pty_input_before_write(void)
{
	return in_before_wr;
}

/* One byte's line time; 0 unpaced. */
double
pty_byte_time(void)
{
	return opts.baud > 0 ? 10.0 / (double)opts.baud : 0.0;
}

/*
 * The modem powers down: whatever the host sent before that instant and
 * we have not read yet (in the UART FIFO, or still on the wire) is lost,
 * as on a real modem, instead of being executed after RDY.  Bytes read
 * but not interpreted yet are at.c's business (at_down drops them).
 */
void
pty_drop_input(void)
{
	uint8_t	 buf[PTY_READ_MAX];
	size_t	 total = 0;
	ssize_t	 n;

	if (master == -1)
		return;
	while ((n = read(master, buf, sizeof(buf))) > 0) {
		bytes_in += (uint64_t)n;
		total += (size_t)n;
		log_bytes("dropped at power-down", buf, (size_t)n);
	}
	if (total > 0)
		log_msg("power-down: %zu unread input bytes lost", total);
	/* Input that was still pacing in is gone with them. */
	evtimer_del(ev_rd_wait);
	pace_init(&pin, opts.baud);
	in_hold = 0;
	if (!stalled && ev_rd != NULL)
		event_add(ev_rd, NULL);
}

/* Bytes the host wrote that are not read yet. */
size_t
pty_input_waiting(void)
{
	int	 waiting = 0;

	if (master == -1 || ioctl(master, FIONREAD, &waiting) == -1 ||
	    waiting < 0)
		return 0;
	return (size_t)waiting;
}

/* Answers nothing and reads nothing for secs seconds. */
void
pty_stall(long secs)
{
	struct timeval	 tv;

	stalled = 1;
	at_stalled();
	if (ev_rd != NULL)
		event_del(ev_rd);
	if (ev_wr != NULL)
		event_del(ev_wr);
	evtimer_del(ev_rd_wait);
	evtimer_del(ev_wr_wait);
	wr_pending = 0;
	tv.tv_sec = secs;
	tv.tv_usec = 0;
	evtimer_add(ev_unstall, &tv);
	log_msg("stalled for %ld s", secs);
}

static void
pty_unstall_cb(evutil_socket_t fd, short what, void *arg)
{
	int	 waiting = 0;

	stalled = 0;
	if (master == -1)
		return;
	/* What the host sent while we were mute is no violation. */
	if (ioctl(master, FIONREAD, &waiting) == -1)
		waiting = 0;
	log_msg("stall over, %d bytes waiting", waiting);
	at_forgive((size_t)waiting);
	pace_init(&pin, opts.baud);
	pace_init(&pout, opts.baud);
	if (!in_hold)
		event_add(ev_rd, NULL);
	pty_kick();
}

/* Loss of the serial line: the device disappears for secs seconds. */
void
pty_hangup(long secs)
{
	struct timeval	 tv;

	log_msg("hangup for %ld s", secs);
	modem_reboot(-1);
	pty_unlink();
	pty_close();
	tv.tv_sec = secs;
	tv.tv_usec = 0;
	evtimer_add(ev_relink, &tv);
}

static void
pty_relink_cb(evutil_socket_t fd, short what, void *arg)
{
	if (pty_open() == -1) {
		log_msg("cannot recreate the pty");
		exit(1);
	}
	modem_boot();
	if (pty_link() == -1)
		exit(1);
}
