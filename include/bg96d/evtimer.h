/*
 * evtimer.h: arm a libevent timer from milliseconds.
 */
#ifndef BG96D_EVTIMER_H
#define BG96D_EVTIMER_H

struct event;

/* Fire ev in ms milliseconds (at once if ms <= 0). */
void	 evtimer_add_ms(struct event *ev, long long ms);

#endif
