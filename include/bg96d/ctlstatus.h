/*
 * ctlstatus.h: the reply to the control socket's "status" request
 * (DESIGN.md section 5), assembled from what each module shows of
 * itself: modem_info, modem_radio, msockset_info, epset_info, the
 * counters of modem, slots and queue.
 */
#ifndef BG96D_CTLSTATUS_H
#define BG96D_CTLSTATUS_H

#include <jansson.h>

struct modem;
struct msockset;
struct epset;

struct ctlstatus_src {
	struct modem		*modem;
	struct msockset		*msocks;
	struct epset		*eps;		/* NULL: no endpoints */
	long long		 started;	/* now_ms() at start */
	unsigned long long	 requests;	/* control's own counters */
	unsigned long long	 refused;
};

/* {"ok":true,"modem":...,"sockets":...,"endpoints":...,"counters":...} */
json_t	*ctlstatus_json(const struct ctlstatus_src *);

#endif
