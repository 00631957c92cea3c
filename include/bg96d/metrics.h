/*
 * metrics.h: [metrics] listen: GET /metrics in the Prometheus text
 * exposition format (version 0.0.4), served by libevent's evhttp.
 *
 * Everything comes from what the modules already keep (the getters
 * ctlstatus.c reads): a scrape never sends anything to the modem and
 * never waits for it.  The text is built by a pure function over a
 * snapshot (metrics_text()), so its format is tested on its own.
 */
#ifndef BG96D_METRICS_H
#define BG96D_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "bg96d/conf.h"

struct event_base;
struct conf;
struct epset;
struct modem;
struct msockset;

/* One endpoint's figures. */
struct metrics_ep {
	char			 name[CONF_NAME_MAX + 1];
	const char		*type;		/* conf_ep_type_name() */
	int			 active;	/* clients holding a slot */
	unsigned long long	 accepted, refused, failed, linger_expired;
	unsigned long long	 bytes_up, bytes_down;
};

/* Everything one scrape shows, read from the daemon's caches. */
struct metrics_snapshot {
	const char		*version;
	double			 start_time;	/* Unix time, seconds */
	int			 state;		/* enum modem_state */
	int			 reg_stat;	/* +CxREG <stat>, -1 unknown */
	bool			 registered;
	bool			 ready;		/* radio figures are fresh */
	const char		*oper;		/* "" unknown */
	const char		*rat;
	bool			 have_rssi;
	int			 rssi_dbm;
	bool			 have_lte;
	int			 rsrp_dbm, rsrq_db;
	double			 sinr_db;
	/* modem.c recovery counters */
	unsigned long long	 bringups, reboots, pdp_lost, line_lost;
	unsigned long long	 unresponsive, reg_timeouts, reg_lost;
	unsigned long long	 cfun_resets, reset_commands;
	/* atq.c */
	unsigned long long	 at_commands, at_errors, at_timeouts;
	unsigned long long	 at_unexpected, serial_in, serial_out;
	bool			 line_data;	/* lent to a connection now */
	double			 line_data_seconds;	/* cumulative */
	/* msock.c */
	int			 slots_in_use;
	unsigned long long	 send_fail, send_errors, rx_polls;
	unsigned long long	 auto_entries, auto_escapes;
	unsigned long long	 incoming_full;
	/* admit.c */
	int			 queue_waiting;
	unsigned long long	 queue_waits;
	double			 queue_wait_seconds;
	/* the endpoints, config order */
	int			 neps;
	struct metrics_ep	 eps[CONF_MAX_ENDPOINTS + 1];
	/* this server */
	unsigned long long	 scrapes;
	double			 last_scrape_seconds;
};

/*
 * The exposition text of s: HELP and TYPE for every family, label
 * values escaped.  Returns a malloc'd string (its length in *len), or
 * NULL if out of memory.
 */
char	*metrics_text(const struct metrics_snapshot *s, size_t *len);
/* Escape a label value (\\, \", \n) into buf; false if it did not fit. */
bool	 metrics_escape_label(const char *v, char *buf, size_t size);

/* Where a snapshot is read from; eps may be NULL. */
struct metrics_src {
	struct modem		*modem;
	struct msockset		*msocks;
	struct epset		*eps;
};

struct metrics;

struct metrics	*metrics_new(struct event_base *, const struct metrics_src *);
/* Fill s from the daemon's state (no I/O). */
void		 metrics_snapshot(struct metrics *, struct metrics_snapshot *s);
/*
 * Serve c's [metrics] listen: bind it if it differs from what is
 * served (an empty listen stops serving).  On failure the old listener
 * stays and err says why; returns 0 or -1.
 */
int		 metrics_apply(struct metrics *, const struct conf *c,
		    char *err, size_t errlen);
/* The listen value being served, "" if none. */
const char	*metrics_listening(const struct metrics *);
/* Stop listening, remove a unix: socket file.  NULL-safe. */
void		 metrics_free(struct metrics *);

#endif
