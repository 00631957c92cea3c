/*
 * ctljson.c: the JSON values of control replies (see ctljson.h).
 */
#include <stdlib.h>
#include <string.h>

#include "bg96d/ctljson.h"
#include "bg96d/util.h"

void
ctl_json_init(void)
{
	json_set_alloc_funcs(xmalloc, free);
}

json_t *
ctl_json_str(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 len = strlen(s), i, n = 0;
	char			*u;
	json_t			*j;

	/* Each byte is a code point: at most two bytes of UTF-8. */
	u = xmalloc(2 * len + 1);
	for (i = 0; i < len; i++) {
		if (p[i] < 0x80)
			u[n++] = (char)p[i];
		else {
			u[n++] = (char)(0xc0 | (p[i] >> 6));
			u[n++] = (char)(0x80 | (p[i] & 0x3f));
		}
	}
	j = json_stringn_nocheck(u, n);
	free(u);
	return j;
}

json_t *
ctl_json_str_null(const char *s)
{
	if (s == NULL || *s == '\0')
		return json_null();
	return ctl_json_str(s);
}

json_t *
ctl_json_error(const char *err)
{
	json_t	*j = json_object();

	json_object_set_new(j, "ok", json_false());
	json_object_set_new(j, "error", ctl_json_str(err));
	return j;
}

size_t
ctl_json_len(const json_t *j)
{
	return json_dumpb(j, NULL, 0, CTL_JSON_FLAGS | JSON_ENCODE_ANY);
}
