/*
 * util.c: allocation wrappers (abort on out-of-memory, so callers never
 * check) and the monotonic clock.
 */
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bg96d/util.h"

void *
xmalloc(size_t n)
{
	void	*p = malloc(n == 0 ? 1 : n);

	if (p == NULL)
		abort();
	return p;
}

void *
xcalloc(size_t n, size_t sz)
{
	void	*p = calloc(n == 0 ? 1 : n, sz == 0 ? 1 : sz);

	if (p == NULL)
		abort();
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p = strdup(s);

	if (p == NULL)
		abort();
	return p;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	return n;
}

long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#ifndef HAVE_STRLCPY
size_t
strlcpy(char *dst, const char *src, size_t sz)
{
	size_t	 n = strlen(src);

	if (sz > 0) {
		size_t	 c = n < sz - 1 ? n : sz - 1;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}
#endif

int
group_lookup(const char *name)
{
	struct group	*gr;

	if (name == NULL || name[0] == '\0')
		return -1;
	if ((gr = getgrnam(name)) == NULL)
		return -1;
	return (int)gr->gr_gid;
}
