/*
 * scripted.h: a scripted modem for unit tests.
 *
 * The test plays the BG96: it reads exactly what bg96d's layers write on
 * the line and answers with the bytes it chooses, at the moment it
 * chooses (a URC between "+QIRD: 0" and its OK, a late prompt, a final
 * result ended by CR alone).  Nothing is mocked: the real queue, slot
 * table, modem state machine, bridges and services run on a real event
 * loop over a socketpair or a pseudo-terminal.  Every wait is bounded
 * (SM_WAIT_MS) and every expectation is exact, so a test either sees
 * the bytes it expects or fails; none sleeps to let timing decide.
 */
#ifndef SCRIPTED_H
#define SCRIPTED_H

#include <stdbool.h>
#include <stddef.h>

struct sm;
struct atq;
struct msockset;
struct stack;
struct event_base;

/* Longest wait for anything the daemon owes. */
#define SM_WAIT_MS	5000

/* Level 1: the command queue and the slot table over a socketpair. */
struct sm	*sm_new_slots(void);
/*
 * Level 2: the whole stack (modem, slots, endpoints) over a pty, with
 * the [endpoint ...] sections given; socket files go to sm_dir().
 * Not brought up yet: sm_bringup().
 */
struct sm	*sm_new_stack(const char *endpoints);
void		 sm_free(struct sm *);

struct event_base *sm_base(struct sm *);
struct atq	*sm_atq(struct sm *);
struct msockset	*sm_set(struct sm *);
struct stack	*sm_stack(struct sm *);
const char	*sm_dir(struct sm *);

/* The modem writes bytes. */
void		 sm_send(struct sm *, const char *);
void		 sm_send_bytes(struct sm *, const void *, size_t);
/* The next bytes the daemon writes are exactly these (fails if not). */
void		 sm_expect(struct sm *, const char *);
void		 sm_expect_bytes(struct sm *, const void *, size_t);
/* Read one command line ("...\r") the daemon wrote; returns it. */
const char	*sm_next_cmd(struct sm *);
/* True if the daemon wrote nothing not yet read by the test. */
bool		 sm_idle(struct sm *);
/* The daemon writes nothing for ms milliseconds. */
void		 sm_quiet(struct sm *, int ms);
/* Run the loop until pred(arg) holds (fails after SM_WAIT_MS). */
void		 sm_until(struct sm *, bool (*)(void *), void *, const char *);
/* Run the loop for ms milliseconds. */
void		 sm_run(struct sm *, int ms);

/*
 * Level 2: answer bring-up like a healthy BG96 until the modem is
 * ready.  qistate: the +QISTATE lines (with "\r\n" around each) the
 * modem lists for AT+QISTATE, "" for none; listed sockets must be
 * closed with AT+QICLOSE=id,1 and are answered OK.
 */
void		 sm_bringup(struct sm *, const char *qistate);
/* sm_bringup() also writes urc before and after every answer's lines. */
void		 sm_inject(struct sm *, const char *urc);

/* Connect a Unix stream client to endpoint name's socket file. */
int		 sm_connect(struct sm *, const char *name);

#endif
