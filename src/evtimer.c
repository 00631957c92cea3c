/*
 * evtimer.c: arm a libevent timer from milliseconds.
 */
#include <sys/time.h>

#include <event2/event.h>

#include "bg96d/evtimer.h"

void
evtimer_add_ms(struct event *ev, long long ms)
{
	struct timeval	 tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	evtimer_add(ev, &tv);
}
