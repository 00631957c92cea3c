/*
 * fuzz-chunk.h: how the fuzz harnesses cut their input into the pieces a
 * socket or a tty would deliver.  A pure function of a seed byte, so a
 * reproducer replays the same way everywhere.
 */
#ifndef FUZZ_CHUNK_H
#define FUZZ_CHUNK_H

#include <stddef.h>
#include <stdint.h>

/* xorshift32: the next pseudo-random number from *s (never 0 if *s != 0). */
static inline uint32_t
fuzz_next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * The size of the next piece when left bytes remain: all of them when
 * maxc is 0, else 1..maxc (at most left) drawn from *seed.
 */
static inline size_t
fuzz_chunk(uint32_t *seed, unsigned int maxc, size_t left)
{
	size_t	 n;

	if (maxc == 0)
		return left;
	n = 1 + fuzz_next(seed) % maxc;
	return n < left ? n : left;
}

#endif
