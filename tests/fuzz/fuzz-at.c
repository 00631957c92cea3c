/*
 * fuzz-at.c: libFuzzer harness for the AT framer.
 *
 * Input layout: byte 0 and the low nibble of byte 1 are the push mask
 * (slots 0..11), byte 2 picks the chunking (0: one call; otherwise
 * pseudo-random chunks of 1..byte2 bytes seeded by byte 2).  The high
 * nibble of byte 1, h, makes the daemon's only hint change mid-stream:
 * when h > 0, every h*h bytes one pseudo-random slot's push mode flips in
 * both parsers, as when bg96d opens a push-mode socket while the modem is
 * talking.  The framer takes no other hint: "> " and payload lengths are
 * read from the bytes themselves.  The rest is modem output.  It is fed
 * twice in lockstep: chunked, and one byte per call.  Both feeds must
 * produce the same events at the same offsets, and every event must
 * satisfy the at.h invariants; otherwise abort().
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bg96d/at.h"

#include "fuzz-chunk.h"

#define FUZZ_HDR	3

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_check(const struct at_event *ev)
{
	const char	*name;

	if (ev->line_len > AT_LINE_MAX || ev->data_len > AT_PAYLOAD_MAX)
		abort();
	switch (ev->type) {
	case AT_EV_NONE:
	case AT_EV_PROMPT:
		if (ev->line != NULL || ev->data != NULL ||
		    ev->final != AT_FINAL_NONE)
			abort();
		return;
	case AT_EV_LINE:
	case AT_EV_FINAL:
	case AT_EV_PAYLOAD:
	case AT_EV_OVERLONG:
	case AT_EV_BADLEN:
		break;
	}
	if (ev->line == NULL || ev->line[ev->line_len] != '\0' ||
	    strlen(ev->line) != ev->line_len || ev->line_len == 0)
		abort();
	if ((ev->type == AT_EV_FINAL) != (ev->final != AT_FINAL_NONE))
		abort();
	if (ev->type == AT_EV_OVERLONG && ev->line_len != AT_LINE_MAX)
		abort();
	if (ev->type == AT_EV_PAYLOAD) {
		if (ev->data == NULL || ev->data_len == 0)
			abort();
	} else if (ev->data != NULL || ev->data_len != 0)
		abort();
	name = at_final_name(ev->final);
	if (name == NULL || *name == '\0')
		abort();
	(void)at_is_urc(ev->line);
}

static void
fuzz_same(const struct at_event *a, const struct at_event *b)
{
	if (a->type != b->type || a->final != b->final ||
	    a->code != b->code || a->line_len != b->line_len ||
	    a->data_len != b->data_len)
		abort();
	if (a->line_len != 0 && memcmp(a->line, b->line, a->line_len) != 0)
		abort();
	if (a->data_len != 0 && memcmp(a->data, b->data, a->data_len) != 0)
		abort();
}

/*
 * Feed the byte-by-byte parser up to offset `to`: the chunked feed gave no
 * event in that stretch, so this one may not either.
 */
static void
byte_feed_quiet(struct at_parser *pb, const uint8_t *in, size_t *bpos,
    size_t to)
{
	struct at_event	 eb;

	while (*bpos < to) {
		if (at_parse(pb, in + *bpos, 1, &eb) != 1)
			abort();
		(*bpos)++;
		fuzz_check(&eb);
		if (eb.type != AT_EV_NONE)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct at_parser	 pa, pb;
	struct at_event		 ea, eb;
	const uint8_t		*in;
	size_t			 len, apos = 0, bpos = 0, chunk, used;
	uint32_t		 seed;
	uint32_t		 fseed;
	size_t			 stride, next_flip;
	uint16_t		 mask;
	int			 id;
	uint8_t			 maxc;

	if (size < FUZZ_HDR)
		return (0);
	mask = (uint16_t)(data[0] | (data[1] & 0x0f) << 8);
	maxc = data[2];
	seed = 0x9e3779b9U ^ maxc;
	stride = (size_t)(data[1] >> 4) * (data[1] >> 4);
	fseed = 0x85ebca6bU ^ data[1];
	next_flip = stride == 0 ? SIZE_MAX : stride;
	in = data + FUZZ_HDR;
	len = size - FUZZ_HDR;

	at_parser_init(&pa);
	at_parser_init(&pb);
	for (id = 0; id < AT_NSLOTS; id++) {
		at_parser_set_push(&pa, id, (mask >> id) & 1);
		at_parser_set_push(&pb, id, (mask >> id) & 1);
	}

	while (apos < len) {
		chunk = fuzz_chunk(&seed, maxc, len - apos);
		if (chunk > next_flip - apos)
			chunk = next_flip - apos;
		while (chunk > 0) {
			used = at_parse(&pa, in + apos, chunk, &ea);
			if (used == 0 || used > chunk)
				abort();
			apos += used;
			chunk -= used;
			fuzz_check(&ea);
			if (ea.type == AT_EV_NONE) {
				if (chunk != 0)
					abort();	/* stopped early */
				continue;
			}

			/* The byte feed must give this event at apos. */
			eb.type = AT_EV_NONE;
			while (bpos < apos) {
				if (at_parse(&pb, in + bpos, 1, &eb) != 1)
					abort();
				bpos++;
				fuzz_check(&eb);
				if (eb.type != AT_EV_NONE)
					break;
			}
			if (bpos != apos)
				abort();
			fuzz_same(&ea, &eb);
		}
		if (apos == next_flip) {
			/* Both feeds at the same offset, then flip. */
			byte_feed_quiet(&pb, in, &bpos, apos);
			id = (int)(fuzz_next(&fseed) % AT_NSLOTS);
			mask ^= (uint16_t)(1U << id);
			at_parser_set_push(&pa, id, (mask >> id) & 1);
			at_parser_set_push(&pb, id, (mask >> id) & 1);
			next_flip += stride;
		}
	}

	/* Trailing bytes may not give events in either feed. */
	byte_feed_quiet(&pb, in, &bpos, len);
	return (0);
}
