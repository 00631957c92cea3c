/*
 * Line-rate pacing, one direction of the serial line (8N1: ten bits on
 * the wire per byte, so one byte takes 10/baud seconds).
 *
 * The rule is that of a real UART: after any moment t0 at which the line
 * was idle, the k-th byte completes no earlier than t0 + k * 10 / baud.
 * A virtual clock, line_t, is the completion time of the last byte
 * released.  While bytes are waiting the line is busy and line_t advances
 * by one byte time per byte; when the line runs dry (pace_idle) nothing
 * is banked: the next byte is timed from the moment it is there
 * (pace_start), never from the last one.  So no byte is ever released
 * before its line time; a timer that fires late only makes bytes later
 * (bytes that waited the whole time may then go out together, each still
 * no earlier than its own line time, so the long-run rate of a busy line
 * stays exact).
 *
 * Bytes are released in chunks of about one millisecond of line time
 * (1 to 64 bytes), so at low rates the host sees bytes trickle in one by
 * one, as on a real line.
 */
#include <sys/time.h>

#include <stdint.h>
#include <time.h>

#include "sim.h"

#define PACE_CHUNK_S	0.001	/* release granularity, in line time */
#define PACE_CHUNK_MAX	64.0	/* bytes */
#define PACE_SLEEP_MIN	0.0001	/* seconds */
#define PACE_EPSILON	1e-9	/* rounding of the virtual clock */

double
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
	p->line_t = pace_now();
	p->idle = 1;
}

/* The line ran dry: whatever comes next is timed from its own arrival. */
void
pace_idle(struct pace *p)
{
	p->idle = 1;
}

/* Bytes are there to go: an idle line starts counting now. */
void
pace_start(struct pace *p)
{
	double	 now;

	if (p->rate == 0.0 || !p->idle)
		return;
	now = pace_now();
	if (p->line_t < now)
		p->line_t = now;
	p->idle = 0;
}

size_t
pace_avail(struct pace *p)
{
	double	 n;

	if (p->rate == 0.0)
		return SIZE_MAX;
	pace_start(p);
	n = (pace_now() - p->line_t) * p->rate + PACE_EPSILON;
	return n < 1.0 ? 0 : (size_t)n;
}

void
pace_take(struct pace *p, size_t n)
{
	if (p->rate == 0.0)
		return;
	p->line_t += (double)n / p->rate;
}

/* How long until want bytes (at most a chunk) may go. */
void
pace_delay(struct pace *p, size_t want, struct timeval *tv)
{
	double	 need, s;

	if (p->rate == 0.0) {
		tv->tv_sec = 0;
		tv->tv_usec = 0;
		return;
	}
	pace_start(p);
	need = (double)want;
	if (need > p->chunk)
		need = p->chunk;
	if (need < 1.0)
		need = 1.0;
	s = p->line_t + need / p->rate - pace_now();
	if (s < PACE_SLEEP_MIN)
		s = PACE_SLEEP_MIN;
	/* Round up: a timer that fires early would only wake us again. */
	tv->tv_sec = (time_t)s;
	tv->tv_usec = (suseconds_t)((s - (double)tv->tv_sec) * 1e6) + 1;
	if (tv->tv_usec >= 1000000) {
		tv->tv_sec++;
		tv->tv_usec -= 1000000;
	}
}

/* Bytes a chunked release waits for: a chunk, or all of fewer. */
size_t
pace_chunk(const struct pace *p, size_t pending)
{
	size_t	 c;

	if (p->rate == 0.0)
		return 1;
	c = (size_t)p->chunk;
	if (c < 1)
		c = 1;
	return pending < c ? pending : c;
}
