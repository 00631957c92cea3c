/*
 * Line-rate pacing: a token bucket filled at baud/10 bytes per second
 * (8N1: ten bits on the wire per byte).
 *
 * Bytes are released in chunks of about one millisecond of line time
 * (1 to 64 bytes), so at low rates the host sees bytes trickle in one by
 * one, as on a real line.  The bucket may hold a few milliseconds more
 * than a chunk, so a timer that fires late loses no line time: the
 * long-run rate is exact.
 */
#include <sys/time.h>

#include <stdint.h>
#include <time.h>

#include "sim.h"

#define PACE_CHUNK_S	0.001	/* release granularity, in line time */
#define PACE_CHUNK_MAX	64.0	/* bytes */
#define PACE_SLACK_S	0.004	/* timer lateness absorbed, in line time */
#define PACE_SLEEP_MIN	0.0002	/* seconds */

static double
pace_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
pace_init(struct pace *p, long baud)
{
	p->rate = baud > 0 ? (double)baud / 10.0 : 0.0;
	p->chunk = p->rate * PACE_CHUNK_S;
	if (p->chunk > PACE_CHUNK_MAX)
		p->chunk = PACE_CHUNK_MAX;
	if (p->chunk < 1.0)
		p->chunk = 1.0;
	p->burst = p->chunk + p->rate * PACE_SLACK_S;
	p->tokens = 0.0;
	p->last = pace_now();
}

static void
pace_fill(struct pace *p)
{
	double	 now = pace_now();

	p->tokens += (now - p->last) * p->rate;
	if (p->tokens > p->burst)
		p->tokens = p->burst;
	p->last = now;
}

/*
 * The line was idle: a UART cannot bank idle time, so the next byte is
 * done one byte time from now at the earliest.
 */
void
pace_idle(struct pace *p)
{
	if (p->rate == 0.0)
		return;
	pace_fill(p);
	if (p->tokens > 0.0)
		p->tokens = 0.0;
}

size_t
pace_avail(struct pace *p)
{
	if (p->rate == 0.0)
		return SIZE_MAX;
	pace_fill(p);
	return p->tokens < 1.0 ? 0 : (size_t)p->tokens;
}

void
pace_take(struct pace *p, size_t n)
{
	if (p->rate == 0.0)
		return;
	p->tokens -= (double)n;
}

void
pace_delay(struct pace *p, size_t want, struct timeval *tv)
{
	double	 need, s;

	if (p->rate == 0.0) {
		tv->tv_sec = 0;
		tv->tv_usec = 0;
		return;
	}
	pace_fill(p);
	need = (double)want;
	if (need > p->chunk)
		need = p->chunk;
	if (need < 1.0)
		need = 1.0;
	s = (need - p->tokens) / p->rate;
	if (s < PACE_SLEEP_MIN)
		s = PACE_SLEEP_MIN;
	tv->tv_sec = (time_t)s;
	tv->tv_usec = (suseconds_t)((s - (double)tv->tv_sec) * 1e6);
}
