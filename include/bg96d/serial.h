/*
 * serial.h: open and configure the modem's serial line.  The only user
 * of libserialport.
 */
#ifndef BG96D_SERIAL_H
#define BG96D_SERIAL_H

#include <stdbool.h>
#include <stddef.h>

struct serial;

/*
 * Open device at baud 8N1 with or without RTS/CTS; non-blocking fd.
 * Real ttys go through libserialport; pseudo-terminals (which
 * libserialport 0.1.1 cannot open) through open() and termios.
 * Returns NULL and a message in err on failure.
 */
struct serial	*serial_open(const char *device, int baud, bool rtscts,
		    char *err, size_t errlen);
/* The descriptor to poll. */
int		 serial_fd(const struct serial *);
/* Close the port; NULL-safe. */
void		 serial_close(struct serial *);

#endif
