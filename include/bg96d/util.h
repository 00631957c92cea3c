/*
 * util.h: allocation that never returns NULL, and small helpers.
 */
#ifndef BG96D_UTIL_H
#define BG96D_UTIL_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
char	*xstrdup(const char *);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

#include "config.h"
#ifndef HAVE_STRLCPY
/* Copy with truncation; always NUL-terminates; returns strlen(src). */
size_t	 strlcpy(char *, const char *, size_t);
#endif

/* Group id of name, or -1 (empty name or no such group). */
int	 group_lookup(const char *name);

/* Monotonic clock in milliseconds. */
long long now_ms(void);

#endif
