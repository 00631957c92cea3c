/*
 * serial.c: the modem's serial line.  libserialport for real ttys;
 * plain open() and termios for pseudo-terminals, which libserialport
 * 0.1.1 cannot open (no /sys/class/tty entry, DESIGN.md section 8).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <libserialport.h>

#include "bg96d/serial.h"
#include "bg96d/util.h"

struct serial {
	struct sp_port	*port;		/* NULL for the termios path */
	int		 fd;
};

static speed_t
serial_speed(int baud)
{
	switch (baud) {
	case 9600:	return B9600;
	case 19200:	return B19200;
	case 38400:	return B38400;
	case 57600:	return B57600;
	case 115200:	return B115200;
	case 230400:	return B230400;
	case 460800:	return B460800;
	case 921600:	return B921600;
	default:	return B0;
	}
}

/* Open a tty (typically a pseudo-terminal) with termios only. */
static int
serial_open_termios(const char *device, int baud, bool rtscts, char *err,
    size_t errlen)
{
	struct termios	 t;
	int		 fd;

	fd = open(device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", device, strerror(errno));
		return -1;
	}
	if (tcgetattr(fd, &t) == -1) {
		snprintf(err, errlen, "%s: not a tty: %s", device,
		    strerror(errno));
		close(fd);
		return -1;
	}
	cfmakeraw(&t);
	t.c_cflag |= CLOCAL | CREAD;
	if (rtscts)
		t.c_cflag |= CRTSCTS;
	else
		t.c_cflag &= ~CRTSCTS;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	cfsetispeed(&t, serial_speed(baud));
	cfsetospeed(&t, serial_speed(baud));
	if (tcsetattr(fd, TCSANOW, &t) == -1) {
		snprintf(err, errlen, "%s: tcsetattr: %s", device,
		    strerror(errno));
		close(fd);
		return -1;
	}
	/* Bytes a previous run left unread would answer our first probe. */
	tcflush(fd, TCIFLUSH);
	return fd;
}

/* Open a real serial port with libserialport and hand back its fd. */
static int
serial_open_sp(struct serial *s, const char *device, int baud, bool rtscts,
    char *err, size_t errlen)
{
	struct sp_port_config	*cfg = NULL;
	int			 fd, fl;

	if (sp_get_port_by_name(device, &s->port) != SP_OK) {
		s->port = NULL;
		return -1;
	}
	if (sp_open(s->port, SP_MODE_READ_WRITE) != SP_OK)
		goto fail;
	if (sp_new_config(&cfg) != SP_OK)
		goto fail;
	sp_set_config_baudrate(cfg, baud);
	sp_set_config_bits(cfg, 8);
	sp_set_config_parity(cfg, SP_PARITY_NONE);
	sp_set_config_stopbits(cfg, 1);
	sp_set_config_flowcontrol(cfg,
	    rtscts ? SP_FLOWCONTROL_RTSCTS : SP_FLOWCONTROL_NONE);
	if (sp_set_config(s->port, cfg) != SP_OK)
		goto fail;
	/* Bytes a previous run left unread would answer our first probe. */
	sp_flush(s->port, SP_BUF_INPUT);
	sp_free_config(cfg);
	cfg = NULL;
	if (sp_get_port_handle(s->port, &fd) != SP_OK)
		goto fail;
	fl = fcntl(fd, F_GETFL);
	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		goto fail;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
fail:
	{
		char	*m = sp_last_error_message();

		snprintf(err, errlen, "%s: %s", device, m ? m : "error");
		sp_free_error_message(m);
	}
	if (cfg != NULL)
		sp_free_config(cfg);
	sp_close(s->port);
	sp_free_port(s->port);
	s->port = NULL;
	return -2;
}

struct serial *
serial_open(const char *device, int baud, bool rtscts, char *err,
    size_t errlen)
{
	struct serial	*s;
	char		 resolved[4096];
	const char	*name = device;

	if (serial_speed(baud) == B0) {
		snprintf(err, errlen, "unsupported baud rate %d", baud);
		return NULL;
	}
	/* libserialport wants the real node, not a udev symlink. */
	if (realpath(device, resolved) != NULL)
		name = resolved;
	else {
		snprintf(err, errlen, "%s: %s", device, strerror(errno));
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->fd = serial_open_sp(s, name, baud, rtscts, err, errlen);
	if (s->fd == -2) {
		free(s);
		return NULL;
	}
	if (s->fd == -1)
		s->fd = serial_open_termios(name, baud, rtscts, err, errlen);
	if (s->fd == -1) {
		free(s);
		return NULL;
	}
	return s;
}

int
serial_fd(const struct serial *s)
{
	return s->fd;
}

void
serial_close(struct serial *s)
{
	if (s == NULL)
		return;
	if (s->port != NULL) {
		sp_close(s->port);
		sp_free_port(s->port);
	} else
		close(s->fd);
	free(s);
}
