/*
 * radio.h: the radio facts "status" shows (signal, operator, access
 * technology), refreshed from the modem while it is ready and the
 * command queue is idle: AT+CSQ, AT+QCSQ, AT+COPS?, AT+QNWINFO, one
 * command per step.
 */
#ifndef BG96D_RADIO_H
#define BG96D_RADIO_H

#include <stdbool.h>

struct atq;
struct radio;

/* What the last answers said; "" / have_rssi false when unknown. */
struct radio_info {
	char		 oper[64];	/* +COPS */
	char		 rat[32];	/* +QCSQ's sysmode, else +QNWINFO's */
	bool		 have_rssi;
	int		 rssi_dbm;	/* +QCSQ's, else +CSQ's */
	bool		 have_lte;	/* +QCSQ's LTE figures (Cat-M1, NB) */
	int		 rsrp_dbm;
	int		 rsrq_db;
	double		 sinr_db;	/* reported 0..250 = -20..+30 dB */
};

/*
 * A poller on q's idle line (an atq job, like the modem's health
 * check): the modem layer starts it when the modem becomes ready and
 * stops it when it leaves READY.
 */
struct radio	*radio_new(struct atq *q);
/* The modem became ready: forget the last bring-up's facts, poll anew. */
void		 radio_start(struct radio *);
/* The modem left READY: no more polls (a command in flight ends). */
void		 radio_stop(struct radio *);
const struct radio_info *radio_info(const struct radio *);
/* Stop polling, cancel a command in flight; NULL-safe. */
void		 radio_free(struct radio *);

#endif
