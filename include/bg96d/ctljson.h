/*
 * ctljson.h: the JSON values of the control socket's replies (DESIGN.md
 * section 5), built with jansson.  A reply is one compact line of plain
 * ASCII: text from the modem or the config is taken byte by byte (each
 * byte one code point, U+0000..U+00FF), so any bytes give valid JSON and
 * every byte outside printable ASCII comes out escaped.
 */
#ifndef BG96D_CTLJSON_H
#define BG96D_CTLJSON_H

#include <stddef.h>

#include <jansson.h>

/* How a reply is written: one line, ASCII, members in the order added. */
#define CTL_JSON_FLAGS	(JSON_COMPACT | JSON_ENSURE_ASCII | \
			    JSON_PRESERVE_ORDER)

/* jansson allocates through xmalloc: out of memory is fatal, as
 * everywhere in bg96d, so building a reply cannot fail. */
void	 ctl_json_init(void);
/* The bytes of s as a JSON string (see above). */
json_t	*ctl_json_str(const char *s);
/* The same, or null when s is NULL or empty (unknown). */
json_t	*ctl_json_str_null(const char *s);
/* {"ok":false,"error":err} */
json_t	*ctl_json_error(const char *err);
/* Bytes the value takes in a reply line. */
size_t	 ctl_json_len(const json_t *);

#endif
