/*
 * cmdfam.h: the modem's families of socket commands, one descriptor each.
 *
 * The BG96 has two families of socket commands with the same shape: an
 * open answered later by a URC, a send after the "> " prompt, a read
 * whose header counts the bytes that follow, a close, a state query, and
 * one URC prefix for "recv" and "closed".
 *
 *   TCP/IP  AT+QIOPEN    AT+QISEND    AT+QIRD      AT+QICLOSE
 *           AT+QISTATE   +QIURC:      +QIOPEN:     +QIRD:  (ref. section 5)
 *   SSL     AT+QSSLOPEN  AT+QSSLSEND  AT+QSSLRECV  AT+QSSLCLOSE
 *           AT+QSSLSTATE +QSSLURC:    +QSSLOPEN:   +QSSLRECV:
 *
 * The framer (at.c), the line parser (mline.c), the queue (atq.c), the
 * modem layer (modem.c) and the slots (msock.c) take every name and
 * prefix from here, and the cmdfam_*() builders spell every command, so
 * a second family is one more descriptor in cmdfam.c (and cmdfam_all),
 * plus a way for a slot's owner to ask for it: msock_open() gives every
 * slot cmdfam_qi, the only family today.  Parsed lines say which family
 * they came from (mline.h's .fam).
 *
 * Result codes: both families answer with the BG96's 5xx codes (the <err>
 * of +QIOPEN: / +QSSLOPEN: and +CME ERROR: <n>), so they are not repeated
 * here: errors.h's table says what each means.
 */
#ifndef BG96D_CMDFAM_H
#define BG96D_CMDFAM_H

#include <stdbool.h>
#include <stddef.h>

/* Room for any command a builder writes (an open with a 255-byte host). */
#define CMDFAM_CMD_MAX	384

/* What an open names; a family uses the fields its command has. */
struct cmdfam_open {
	int		 context_id;	/* PDP context 1..16 */
	int		 id;		/* connectID / clientID 0..11 */
	const char	*service;	/* "TCP", "UDP", "TCP LISTENER",
					 * "UDP SERVICE" (TCP/IP only) */
	const char	*host;		/* IP literal or name */
	int		 port;		/* remote port */
	int		 local_port;	/* 0: any (TCP/IP only) */
	int		 access_mode;	/* 0 buffer, 1 direct push, 2 transparent */
	int		 ssl_context;	/* AT+QSSLCFG context (SSL only) */
};

struct cmdfam {
	const char	*name;		/* "TCP/IP", for logs */

	/* Commands: the names; the cmdfam_*() builders add arguments. */
	const char	*open;		/* "AT+QIOPEN" */
	const char	*send;		/* "AT+QISEND" =<id>,<len> */
	const char	*read;		/* "AT+QIRD" =<id> */
	const char	*close;		/* "AT+QICLOSE" =<id>,<timeout s> */
	const char	*state;		/* "AT+QISTATE": every socket */
	const char	*switch_mode;	/* "AT+QISWTMD" =<id>,<access mode>;
					 * NULL: the family has none */
	/*
	 * The open's arguments differ by family in number and order
	 * (AT+QSSLOPEN=<ctx>,<sslctx>,<id>,"<host>",<port>,<mode>), so
	 * each family writes its own: the whole command into buf, as
	 * snprintf() does.
	 */
	int		(*open_cmd)(const struct cmdfam *, char *buf, size_t,
			    const struct cmdfam_open *);
	size_t		 read_len;	/* 0: the read takes the id only; else
					 * it names how much to read
					 * (AT+QSSLRECV=<id>,<len>) */
	bool		 send_to;	/* a send may name the peer,
					 * ,"<ip>",<port> (UDP SERVICE) */
	bool		 send_query;	/* <send>=<id>,0 answers <send_hdr>
					 * total,acked,unacked */

	/* Prefixes of what the modem writes; NULL where a family has none. */
	const char	*urc;		/* "+QIURC:" "recv", "closed", ... */
	const char	*open_urc;	/* "+QIOPEN:" <id>,<err> */
	const char	*read_hdr;	/* "+QIRD:" <n>[,<ip>,<port>] + bytes */
	const char	*send_hdr;	/* "+QISEND:" answer to the send query */
	const char	*state_hdr;	/* "+QISTATE:" one socket */
};

/* The TCP/IP family (AT+QI*). */
extern const struct cmdfam	 cmdfam_qi;
/* Every family, NULL-terminated: what the framer and parsers look for. */
extern const struct cmdfam *const cmdfam_all[];

/*
 * Builders: the command (without "\r") into buf[size], NUL-terminated;
 * the return value is snprintf()'s.
 */
int	cmdfam_open(const struct cmdfam *, char *, size_t,
	    const struct cmdfam_open *);
/* ip NULL: to the connected peer; else the datagram's peer (send_to). */
int	cmdfam_send(const struct cmdfam *, char *, size_t, int id,
	    size_t len, const char *ip, int port);
/* How many sent bytes the peer acked (send_query families). */
int	cmdfam_send_query(const struct cmdfam *, char *, size_t, int id);
int	cmdfam_read(const struct cmdfam *, char *, size_t, int id);
/* The access mode switch, or -1 if the family has none. */
int	cmdfam_switch(const struct cmdfam *, char *, size_t, int id,
	    int access_mode);
int	cmdfam_close(const struct cmdfam *, char *, size_t, int id,
	    int timeout_s);

/*
 * If line starts with prefix (not NULL), what follows it, else NULL.
 * Spaces after the prefix are kept: the parsers differ there.
 */
const char		*cmdfam_after(const char *line, const char *prefix);
/* The family whose socket URC (+QIURC:, +QIOPEN:) line is, or NULL. */
const struct cmdfam	*cmdfam_of_urc(const char *line);
/* The family whose push URC (+QIURC:) a payload header is, or NULL. */
const struct cmdfam	*cmdfam_of_push(const char *hdr);

#endif
