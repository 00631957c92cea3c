/*
 * modem.h: the modem's state machine: find it on the serial line, bring
 * it up (echo off, errors numeric, SIM, registration, PDP context), keep
 * it up, and recover when it goes away.
 */
#ifndef BG96D_MODEM_H
#define BG96D_MODEM_H

#include <stdbool.h>

struct event_base;
struct conf;
struct atq;
struct modem;
struct radio_info;

enum modem_state {
	MODEM_ABSENT,		/* no serial line */
	MODEM_PROBING,		/* "AT" until "OK" */
	MODEM_INITIALIZING,	/* echo, errors, identity, SIM, context config */
	MODEM_REGISTERING,	/* waiting for CEREG/CGREG/CREG 1 or 5 */
	MODEM_ACTIVATING,	/* PDP context, stale sockets */
	MODEM_READY,		/* sockets may be opened */
	MODEM_RECOVERING,	/* backing off before the next attempt */
};

/*
 * What the modem layer tells the rest of the daemon.  Socket URCs, push
 * payloads and the slots' "next command" pull do not pass here: the
 * slot table registers with the queue (atq_set_sockets), and the modem
 * only opens that pull in MODEM_READY (atq_sockets_ready).
 */
struct modem_ops {
	/* The modem became ready: sockets may be opened. */
	void	(*ready)(void *);
	/* Every modem socket is gone (reboot, line lost, PDP lost...). */
	void	(*down)(void *, const char *why);
	/* The state changed (for sd_notify STATUS=). */
	void	(*state_changed)(void *, enum modem_state, const char *why);
	/* Stale slots found at bring-up: slot id is open in the modem. */
	bool	(*slot_owned)(void *, int id);
};

struct modem	*modem_new(struct event_base *, const struct conf *,
		    const struct modem_ops *, void *arg);
void		 modem_free(struct modem *);
/* Start: open the line and bring the modem up (retries by itself). */
void		 modem_start(struct modem *);
/* Use new settings (SIGHUP); applied at the next bring-up. */
void		 modem_set_conf(struct modem *, const struct conf *);
/* Re-initialise from scratch (control "reset"). */
void		 modem_reset(struct modem *, const char *why);
struct atq	*modem_atq(struct modem *);
/*
 * Something suggests the PDP context is gone though no pdpdeact came
 * (a +QIOPEN error 561/570): ask AT+QIACT? and recover if it is.
 */
void		 modem_check_context(struct modem *, const char *why);
enum modem_state modem_state(const struct modem *);
const char	*modem_state_name(enum modem_state);

/* Facts learned from the modem, "" when unknown. */
struct modem_info {
	char	 imei[32];
	char	 iccid[32];
	char	 firmware[64];
	char	 model[64];
	char	 ip[64];
	int	 reg_stat;	/* best of CEREG/CGREG/CREG, -1 unknown */
	int	 act;		/* access technology from +CxREG, -1 unknown */
};
const struct modem_info *modem_info(const struct modem *);
/* Signal, operator, access technology (radio.h), polled while READY. */
const struct radio_info *modem_radio(const struct modem *);
/* Milliseconds until the next attempt while recovering, else -1. */
long long	 modem_retry_in(const struct modem *);

/* Recovery counters. */
struct modem_counters {
	unsigned long	 reboots;	/* unexpected RDY / POWERED DOWN */
	unsigned long	 pdp_lost;	/* +QIURC: "pdpdeact" */
	unsigned long	 line_lost;	/* serial EOF/error, open failures */
	unsigned long	 unresponsive;	/* commands and probes timed out */
	unsigned long	 reg_timeouts;	/* no registration in time */
	unsigned long	 bringups;	/* times the modem became ready */
	unsigned long	 reg_lost;	/* registration lost while up */
	unsigned long	 cfun_resets;	/* AT+CFUN=1,1 restarts */
	unsigned long	 reset_commands; /* [modem] reset_command runs */
};
const struct modem_counters *modem_counters(const struct modem *);

#endif
