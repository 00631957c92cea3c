/*
 * msock.h: the modem's 12 socket slots and the traffic on them.
 *
 * One table of slots is shared by every endpoint.  A slot's owner (a
 * bridged client, a listener, a UDP service) sees it through msock_ops;
 * the table schedules AT+QISEND / AT+QIRD round-robin between slots so a
 * busy connection cannot starve the others.
 */
#ifndef BG96D_MSOCK_H
#define BG96D_MSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bg96d/errors.h"

struct event_base;
struct atq;
struct atq_cmd;
struct at_event;
struct msock;
struct msockset;

enum msock_type {
	MSOCK_TCP,
	MSOCK_UDP,
	MSOCK_TCP_LISTENER,
	MSOCK_UDP_SERVICE,
	MSOCK_TCP_INCOMING,
};

/* Largest AT+QISEND payload and AT+QIRD read (ref. section 5.5, 5.7). */
#define MSOCK_SEND_MAX	1460
#define MSOCK_READ_MAX	1500
/*
 * Data mode, upstream: no more client bytes are taken while this many
 * wait for the serial line (about 0.35 s at 115200 bit/s).
 */
#define LINE_OUT_MAX	4096

/* A remote peer of a UDP SERVICE or TCP LISTENER socket. */
struct msock_peer {
	char	 ip[64];
	int	 port;
};

struct msock_ops {
	/*
	 * +QIOPEN result, an errors.h code: ERR_OK (0) = open; a QERR_*
	 * 5xx code from the modem (the <err> of +QIOPEN, or the +CME
	 * ERROR that refused the command); ERR_OPEN_TIMEOUT (no +QIOPEN
	 * in time: the remote is slow or unreachable); or ERR_MODEM (the
	 * modem itself failed: command timeout, reboot, line lost; worth
	 * waiting for it to come back).  err_info(err) says what to do.
	 */
	void	(*opened)(void *, int err);
	/* Bytes from the network (ip/port set for UDP SERVICE, else NULL/0). */
	void	(*received)(void *, const uint8_t *, size_t, const char *ip,
		    int port);
	/* May the owner take another read's worth of bytes now? */
	bool	(*can_receive)(void *);
	/*
	 * Copy up to max bytes to send into buf; return 0 when none.  For
	 * a datagram socket one call is one datagram.  UDP SERVICE owners
	 * also fill dest with the peer (a validated IP literal and a port).
	 */
	size_t	(*next_chunk)(void *, uint8_t *buf, size_t max,
		    struct msock_peer *dest);
	/* A chunk was accepted by the modem (room for more upstream). */
	void	(*sent)(void *);
	/* The remote closed and every byte has been read. */
	void	(*peer_closed)(void *);
	/* The socket is dead (modem down, send error); the slot is gone. */
	void	(*gone)(void *, const char *why);
	/*
	 * TCP LISTENER: the modem accepted a connection on slot ms (already
	 * open, owner-less).  The owner must msock_set_owner() it or
	 * msock_close() it before returning.
	 */
	void	(*incoming)(void *, struct msock *ms,
		    const struct msock_peer *from);
};

/* What the slot table tells the rest of the daemon. */
struct msockset_ops {
	/* A slot became free (waiting clients may be served). */
	void	(*slot_freed)(void *);
	/*
	 * A +QIOPEN error says the PDP context may be gone
	 * (err_context_lost(): QERR_PDP_OPEN, QERR_PDP_BROKEN):
	 * the modem layer should check it, a pdpdeact URC may have been
	 * missed.
	 */
	void	(*context_suspect)(void *, int err);
};

struct msockset_counters {
	unsigned long	 incoming_full;	/* "+QIURC: \"incoming full\"" */
	unsigned long	 send_fail;	/* SEND FAIL (backpressure) */
	unsigned long	 send_errors;	/* AT+QISEND refused: closing */
	unsigned long	 rx_polls;	/* reads without a URC (RX_POLL_MS) */
	unsigned long	 auto_entries;	/* auto: AT+QISWTMD=id,2 -> CONNECT */
	unsigned long	 auto_escapes;	/* auto: "+++" for another user */
};

/*
 * The slot table; its commands go through q, which it registers with
 * (atq_set_sockets): the queue hands it the socket URCs and push
 * payloads and pulls the next data command, round-robin, from it.  The
 * queue must be freed first (it aborts its commands into the slots).
 */
struct msockset	*msockset_new(struct event_base *, struct atq *q,
		    int context_id, const struct msockset_ops *, void *arg);
void		 msockset_free(struct msockset *);
/* How long a buffer-mode slot may go unread (default RX_POLL_MS). */
void		 msockset_set_rx_poll(struct msockset *, int ms);
/* PDP context used by new sockets (SIGHUP). */
void		 msockset_set_context(struct msockset *, int context_id);
/* Every slot is gone (modem down): owners get gone(why). */
void		 msockset_down(struct msockset *, const char *why);
/* True if slot id is in use by this daemon. */
bool		 msockset_owned(const struct msockset *, int id);
/*
 * True while a transparent socket holds the serial line (data mode,
 * escaping) or waits for its CONNECT: nothing else may be opened.
 */
bool		 msockset_line_busy(const struct msockset *);
/* Number of free slots. */
int		 msockset_free_slots(const struct msockset *);
const struct msockset_counters *msockset_counters(const struct msockset *);
/*
 * access_mode = auto: how long a connection stays in buffer mode after
 * an escape (or after another socket closed) before it goes back to
 * data mode ([modem] transparent_reenter).
 */
void		 msockset_set_reenter(struct msockset *, int ms);
/* "+QIURC: \"incoming full\"" seen (a listener refused a client). */
unsigned long	 msockset_incoming_full(const struct msockset *);
/* Close every slot with a short AT+QICLOSE (shutdown); returns count. */
int		 msockset_close_all(struct msockset *);

/*
 * Open a socket on a free slot: AT+QIOPEN, then wait for +QIOPEN up to
 * timeout_ms.  Returns NULL if no slot is free.  access_mode is the
 * modem's: 0 buffer, 1 direct push, 2 transparent (MSOCK_TCP only:
 * on CONNECT the serial line is lent to this socket until it closes,
 * NO CARRIER or a reset; bytes go raw both ways), or 3, auto (MSOCK_TCP
 * only): buffer mode, switched to data mode with AT+QISWTMD while it is
 * the only socket, and back to buffer mode ("+++") whenever a command,
 * another socket or a job needs the line.
 */
struct msock	*msock_open(struct msockset *, enum msock_type, const char *host,
		    int port, int local_port, int access_mode, int timeout_ms,
		    const struct msock_ops *, void *owner);
/*
 * Release: the owner is forgotten at once; the slot is freed with
 * AT+QICLOSE.  The owner sends its pending bytes before calling this.
 */
void		 msock_close(struct msock *);
/* Give an accepted (TCP INCOMING) socket its owner. */
void		 msock_set_owner(struct msock *, const struct msock_ops *,
		    void *owner);
/* A short name of the owner for the control socket (endpoint name). */
void		 msock_set_label(struct msock *, const char *);
/* The owner has new bytes to send or room to receive. */
void		 msock_kick(struct msock *);
/* True while a chunk taken from the owner is not yet accepted. */
bool		 msock_sending(const struct msock *);
int		 msock_id(const struct msock *);

/* Per-slot facts for the control socket. */
struct msock_info {
	int			 id;
	enum msock_type		 type;
	const char		*state;
	char			 remote[300];
	char			 label[33];
	unsigned long long	 bytes_up, bytes_down;
	long long		 since_ms;
	bool			 in_use;
};
/* Fill out[AT_NSLOTS]; returns the number of slots in use. */
int		 msockset_info(const struct msockset *, struct msock_info *);
const char	*msock_type_name(enum msock_type);
/*
 * Bytes moved by the slots labelled label (an endpoint's name) since
 * start: freed ones (the first MSOCK_LABELS_MAX labels seen) and those
 * in use now.  For metrics.
 */
#define MSOCK_LABELS_MAX	80
struct msock_bytes {
	char			 label[33];
	unsigned long long	 up, down;
};
void		 msockset_label_bytes(const struct msockset *, const char *,
		    unsigned long long *up, unsigned long long *down);

#endif
