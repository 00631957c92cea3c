/*
 * atq.h: the AT command queue, owner of the serial line.  One command
 * in flight, a named deadline per command kind, final results matched
 * to the command, URCs routed to their owner whatever is in flight
 * (socket URCs and push payloads to the slot table, the rest to the
 * modem layer).  It knows who may write (command mode, or the line lent
 * to one socket in data mode) and gives periodic low-priority jobs the
 * line only when it is free.
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
	size_t		 pushed;		/* internal: push payload bytes
						 * since it was written */
	long long	 grace_ms;		/* internal: deadline moved by */
	bool		 need_line;		/* a prefix line must come
						 * before the final result */
	bool		 may_connect;		/* its success is CONNECT (data
						 * mode): after a timeout the
						 * line is escaped, blind, before
						 * any probe */
	bool		 line_seen;		/* internal */
};

/* What the owner of the line (the modem layer) hears from the queue. */
struct atq_ops {
	/*
	 * An unsolicited line that is not a socket's (RDY, +CEREG: ...,
	 * +QIURC: "pdpdeact",...): socket URCs go to atq_sockets_ops.
	 */
	void	(*urc)(void *, const char *);
	/* The serial line reported EOF or an error. */
	void	(*lost)(void *, const char *why);
	/* A command timed out and the probes after it failed too. */
	void	(*unresponsive)(void *);
	/* The modem echoed command text: echo is on again (it restarted). */
	void	(*echo)(void *, const char *text);
};

/*
 * The socket slots' side of the line: the slot table (msock.c)
 * registers itself with atq_set_sockets(), and the queue hands it its
 * URCs, push payloads and the "next data command" pull directly.
 */
struct atq_sockets_ops {
	/* A socket URC: "+QIOPEN:", or "+QIURC:" but for "pdpdeact". */
	void	(*urc)(void *, const char *line);
	/* A URC with a length-counted payload (direct push). */
	void	(*urc_payload)(void *, const struct at_event *);
	/*
	 * The line is free and the FIFO has had its turn: return the next
	 * data command, or NULL.  This is how socket traffic is scheduled
	 * just in time.  Asked only while the sockets are ready
	 * (atq_sockets_ready) and the line is in command mode.
	 */
	struct atq_cmd *(*pump)(void *);
};

/* New queue; deadlines start at timeouts.h's defaults (atq_set_timeout). */
struct atq	*atq_new(struct event_base *, const struct atq_ops *, void *arg);
void		 atq_free(struct atq *);
/* Set the deadline in milliseconds of one kind of command. */
void		 atq_set_timeout(struct atq *, enum tmo_kind, int ms);
/* Start talking on fd (not owned; the caller closes it after detach). */
void		 atq_attach(struct atq *, int fd);
/*
 * The line's rate (baud, 8N1): the escape's guard time counts from when
 * the bytes written are through the line at that rate, even where the
 * port reports them sent (a pty, a USB adapter's own buffer).  0:
 * trust the port.
 */
void		 atq_set_line_rate(struct atq *, int baud);
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
/*
 * Queue at the tail, or with urgent at the head of the FIFO (which
 * still takes turns with the slots' pump).
 */
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

/*
 * Register the slot table (one; the queue is freed before it).  The
 * pump is asked only while the modem says sockets are usable
 * (atq_sockets_ready(q, true) in MODEM_READY; true from atq_new, for
 * a queue without a modem layer).
 */
void		 atq_set_sockets(struct atq *, const struct atq_sockets_ops *,
		    void *arg);
void		 atq_sockets_ready(struct atq *, bool);

/*
 * Who owns the serial line.  In command mode the queue writes AT
 * commands.  In data mode (transparent access mode, ref. 5.11) the line
 * is lent to one socket: bytes go raw both ways through the borrower's
 * ops, and nothing else writes: submitted commands wait in the FIFO,
 * the pump is not asked, jobs skip their turn.  atq_reclaim_line()
 * starts the escape ("+++" between two guard times); the line is back
 * in command mode on its "OK", on "NO CARRIER" (the remote closed, the
 * modem left data mode by itself) or when the line is reset or lost.
 * No "OK" within ESCAPE_GUARD_MS and the command deadline: the borrower
 * is told "reset", ops.unresponsive runs (the modem layer recovers) and
 * the waiting commands stay queued: if the modem is still in data mode
 * they would reach the remote.  The line attached next (or a line
 * detached while lent) is escaped again, "blind", before any command,
 * and so is a CONNECT that no borrower took (its command cancelled).
 * Every module that wants to write (health check, radio poll, control
 * "at" requests, the slots' pump) goes through the queue, so none of
 * them needs to know about transparent mode.
 */
enum atq_line {
	ATQ_LINE_COMMAND,	/* AT commands (the normal state) */
	ATQ_LINE_DATA,		/* lent to one connection */
	ATQ_LINE_ESCAPING,	/* "+++" and its guard times in progress */
};

struct atq_borrower_ops {
	/* Bytes from the modem: socket payload. */
	void	(*data)(void *, const uint8_t *, size_t);
	/*
	 * The line is back in command mode; the borrower writes no more.
	 * why: "escaped" (after "+++": the socket stays open, in buffer
	 * mode), "NO CARRIER" (the remote closed) or "reset" (modem
	 * rebooted: "RDY" or "POWERED DOWN" in data mode, then routed as
	 * a URC; line lost or detached; no OK to "+++").
	 */
	void	(*returned)(void *, const char *why);
	/*
	 * Everything written so far has gone to the line (the kernel):
	 * the borrower may write more.  Called (from the loop) once after
	 * an atq_line_write() that left atq_line_pending() above 0.
	 */
	void	(*drained)(void *);
	/*
	 * Something else needs command mode: a command was submitted, or
	 * a job's turn came.  A borrower that yields (auto mode) starts
	 * atq_reclaim_line() once its bytes are out; NULL: commands and
	 * jobs wait until the borrower is done (transparent mode).
	 */
	void	(*wanted)(void *);
};

/* The line's state; *id (if not NULL) is the borrower's slot, or -1. */
enum atq_line	 atq_line_owner(const struct atq *, int *id);
/*
 * Lend the line to slot id, which the modem just switched to data mode
 * ("CONNECT" to AT+QIOPEN with access mode 2, AT+QISWTMD=id,2 or ATO):
 * call it from that command's on_done.  False (nothing changes) unless
 * the line is attached, in command mode and nothing is in flight.
 */
bool		 atq_lend_line(struct atq *, int id,
		    const struct atq_borrower_ops *, void *arg);
/*
 * [modem] dcd: in data mode, watch the port's DCD (every DCD_POLL_MS,
 * TIOCMGET; the modem was told AT&C1).  Its drop ends data mode as
 * "NO CARRIER" does: atq_carrier_lost().  A port that cannot report
 * DCD is not watched (logged once).
 */
void		 atq_set_dcd(struct atq *, bool on);
void		 atq_carrier_lost(struct atq *);
/* True while the line is lent to a borrower that yields (has wanted). */
bool		 atq_line_yields(const struct atq *);
/* The borrower writes socket payload (ignored unless in data mode). */
void		 atq_line_write(struct atq *, const void *, size_t);
/*
 * The borrower's client does not read: stop (hold) or resume reading
 * the line.  Command mode always reads (atq_line_return resumes).
 */
void		 atq_line_hold(struct atq *, bool hold);
/* Bytes written with atq_line_write() not yet handed to the line. */
size_t		 atq_line_pending(const struct atq *);
/* Take the line back: escape after ESCAPE_GUARD_MS of silence. */
void		 atq_reclaim_line(struct atq *);
/*
 * True if a low-priority command may go now: attached, command mode,
 * nothing in flight or queued.
 */
bool		 atq_line_free(const struct atq *);

/*
 * Periodic low-priority jobs on an idle line (the modem's health
 * check, the radio poll: modem.c, radio.c).  Each turn, tick() runs
 * whatever the line is doing (deadlines that must not wait for a quiet
 * line), then, if the line is free (atq_line_free), make() returns the
 * command to submit now, or NULL to skip this turn.  A busy line skips
 * the turn: jobs never queue behind socket traffic.  Turns come every
 * period_ms, the first period_ms after atq_job_add; atq_job_next()
 * moves the next turn (once), e.g. from the command's on_done (radio.c
 * polls one command per turn and waits RADIO_POLL_CYCLE_MS after the
 * last).  Either callback may be NULL, and either may delete its job.
 */
struct atq_job;
struct atq_job_ops {
	void		 (*tick)(void *);
	struct atq_cmd	*(*make)(void *);
	/*
	 * While the line is lent to a borrower that yields, a turn of a
	 * job with escape set asks for the line (the health check); any
	 * job's skipped turn is owed, and owed jobs (and those due within
	 * JOB_BATCH_MS) run as soon as the line is back.
	 */
	bool		 escape;
};
struct atq_job	*atq_job_add(struct atq *, int period_ms,
		    const struct atq_job_ops *, void *arg);
/* The next turn comes ms from now instead of after the period. */
void		 atq_job_next(struct atq_job *, int ms);
/*
 * Milliseconds until the next turn of a job that escapes (0 if one is
 * owed), or -1 if there is none: a yielding borrower does not take the
 * line just before such a job would take it back.  Other jobs wait for
 * the next escape.
 */
long long	 atq_job_due_ms(const struct atq *);
/* Delete a job (NULL is fine); atq_free() deletes those left. */
void		 atq_job_del(struct atq_job *);

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
	unsigned long long	 errors;	/* ended in ERROR, +CME ERROR... */
	unsigned long long	 data_ms;	/* line lent: periods ended */
	long long		 data_since;	/* now_ms() it was lent, 0: not */
};
const struct atq_stats *atq_stats(const struct atq *);

#endif
