/*
 * radio.h: the radio facts "status" shows (signal, operator, access
 * technology), refreshed from the modem while it is ready and the
 * command queue is idle: AT+CSQ, AT+QCSQ, AT+COPS?, AT+QNWINFO, one
 * command per step.
 */
#ifndef BG96D_RADIO_H
#define BG96D_RADIO_H

#include <stdbool.h>

struct event_base;
struct atq;
struct radio;

/* What the last answers said; "" / have_rssi false when unknown. */
struct radio_info {
	char		 oper[64];	/* +COPS */
	char		 rat[32];	/* +QCSQ's sysmode, else +QNWINFO's */
	bool		 have_rssi;
	int		 rssi_dbm;	/* +QCSQ's, else +CSQ's */
};

/*
 * A poller on q.  ready(arg) says whether the modem may be asked now
 * (it is up); while not, the poller waits for radio_restart().
 */
struct radio	*radio_new(struct event_base *, struct atq *q,
		    bool (*ready)(void *), void *arg);
/* The modem became ready: forget the last bring-up's facts, poll anew. */
void		 radio_restart(struct radio *);
const struct radio_info *radio_info(const struct radio *);
/* Stop polling (a command in flight is cancelled); NULL-safe. */
void		 radio_free(struct radio *);

#endif
