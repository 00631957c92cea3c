/*
 * atq.h: the AT command queue.  One command in flight on the serial
 * line, a named deadline per command kind, final results matched to the
 * command, URCs routed to their owner whatever is in flight.
 */
#ifndef BG96D_ATQ_H
#define BG96D_ATQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bg96d/timeouts.h"

struct event_base;
struct at_event;
struct atq;

enum atq_result {
	ATQ_RES_OK,		/* OK, SEND OK, CONNECT */
	ATQ_RES_ERROR,		/* ERROR, +CME ERROR, +CMS ERROR, NO CARRIER */
	ATQ_RES_SEND_FAIL,	/* SEND FAIL: the modem's send buffer is full */
	ATQ_RES_TIMEOUT,	/* no final result before the deadline */
	ATQ_RES_ABORTED,	/* the line went away or was reset */
};

/*
 * One command.  Made by atq_cmd_new(), owned by the queue once
 * submitted, freed by the queue after on_done has run (or on cancel).
 */
struct atq_cmd {
	struct atq_cmd	*next;			/* queue link (internal) */
	enum tmo_kind	 kind;			/* which deadline applies */
	char		*text;			/* without the final "\r" */
	size_t		 textlen;
	const char	*prefix;		/* URC-looking lines that answer it */
	uint8_t		*data;			/* written after the "> " prompt */
	size_t		 datalen;
	/* Callbacks; each may be NULL.  Called with arg. */
	void		(*on_line)(void *, const char *);
	void		(*on_payload)(void *, const struct at_event *);
	void		(*on_done)(void *, enum atq_result,
			    const struct at_event *);
	void		*arg;
	int		 phase;			/* internal */
	bool		 urgent;		/* internal: before the pump */
	bool		 prompt_late;		/* internal: "> " overdue */
	bool		 need_line;		/* a prefix line must come
						 * before the final result */
	bool		 line_seen;		/* internal */
};

struct atq_ops {
	/* An unsolicited line (RDY, +QIURC: ..., +CEREG: ...). */
	void	(*urc)(void *, const char *);
	/* A URC with a length-counted payload (direct push). */
	void	(*urc_payload)(void *, const struct at_event *);
	/* Called when the queue is idle: return the next data command, or
	 * NULL.  This is how socket traffic is scheduled just in time. */
	struct atq_cmd *(*pump)(void *);
	/* The serial line reported EOF or an error. */
	void	(*lost)(void *, const char *why);
	/* A command timed out and the probes after it failed too. */
	void	(*unresponsive)(void *);
	/* The modem echoed command text: echo is on again (it restarted). */
	void	(*echo)(void *, const char *text);
};

/* New queue; deadlines start at timeouts.h's defaults (atq_set_timeout). */
struct atq	*atq_new(struct event_base *, const struct atq_ops *, void *arg);
void		 atq_free(struct atq *);
/* Set the deadline in milliseconds of one kind of command. */
void		 atq_set_timeout(struct atq *, enum tmo_kind, int ms);
/* Start talking on fd (not owned; the caller closes it after detach). */
void		 atq_attach(struct atq *, int fd);
/* Stop using the fd; every pending command ends with ATQ_RES_ABORTED. */
void		 atq_detach(struct atq *);
/* Abort every command (modem rebooted); the line stays attached. */
void		 atq_abort_all(struct atq *);
bool		 atq_attached(const struct atq *);
/* True if nothing is in flight or queued. */
bool		 atq_idle(const struct atq *);

/*
 * Send nothing more until the line has been quiet for a while (answers
 * the modem still owes to earlier commands are absorbed).
 */
void		 atq_resync(struct atq *);
/* Allocate a command; text is printf-formatted, without "\r". */
struct atq_cmd	*atq_cmd_new(enum tmo_kind, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* Attach payload bytes (copied) for a QISEND-style command. */
void		 atq_cmd_set_data(struct atq_cmd *, const void *, size_t);
/* Free a command that was never submitted. */
void		 atq_cmd_free(struct atq_cmd *);
/* Queue at the tail (or head with urgent). */
void		 atq_submit(struct atq *, struct atq_cmd *, bool urgent);
/* Ask for the pump to be consulted (new data to move). */
void		 atq_kick(struct atq *);
/*
 * Forget the owner of cmd: a queued command is dropped, one in flight
 * completes without callbacks (its payload, if any, still goes out so
 * the line stays in sync).
 */
void		 atq_cancel(struct atq *, struct atq_cmd *);

/* Tell the framer whether slot id is in direct-push access mode. */
void		 atq_set_push(struct atq *, int id, bool push);

/* Counters for the control socket. */
struct atq_stats {
	unsigned long long	 commands;
	unsigned long long	 timeouts;
	unsigned long long	 unexpected;	/* lines/finals nobody expected */
	unsigned long long	 overlong;
	unsigned long long	 late_prompts;	/* "> " after its deadline */
	unsigned long long	 echoes;	/* command text echoed */
	unsigned long long	 cr_finals;	/* final result without LF */
	unsigned long long	 late_answers;	/* finals that fit no command */
	unsigned long long	 bytes_in;
	unsigned long long	 bytes_out;
};
const struct atq_stats *atq_stats(const struct atq *);

#endif
