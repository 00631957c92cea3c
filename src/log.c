/*
 * log.c: one line per event on stderr, priority prefix for journald.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg96d/log.h"

static int	log_level = LOG_INFO;
static int	log_prefix;	/* "<N>" prefix for journald */

void
log_init(int level)
{
	log_level = level;
	log_prefix = getenv("JOURNAL_STREAM") != NULL;
}

void
log_setlevel(int level)
{
	log_level = level;
}

int
log_getlevel(void)
{
	return log_level;
}

static void	log_vwrite(int, const char *, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));

/*
 * Make msg safe for one log line, whatever a caller passed: CR, LF and TAB
 * become \r \n \t, other control bytes, DEL and bytes >= 0x80 become
 * \xNN.  Printable ASCII, backslash included, is kept as it is, so text a
 * caller already escaped with log_escape() (cut payloads) reads the same;
 * only modem or client bytes that were not escaped change.
 */
static void
log_sanitize(const char *msg, char *out, size_t outsz)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)msg;
	size_t			 o = 0;

	for (; *p != '\0' && o + 5 <= outsz; p++) {
		if (*p >= 0x20 && *p < 0x7f) {
			out[o++] = (char)*p;
			continue;
		}
		out[o++] = '\\';
		switch (*p) {
		case '\r': out[o++] = 'r'; break;
		case '\n': out[o++] = 'n'; break;
		case '\t': out[o++] = 't'; break;
		default:
			out[o++] = 'x';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 0xf];
		}
	}
	out[o] = '\0';
}

static void
log_vwrite(int pri, const char *errstr, const char *fmt, va_list ap)
{
	char	 msg[2048];
	char	 safe[4 * sizeof(msg) + 1];

	if (pri > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_sanitize(msg, safe, sizeof(safe));
	if (log_prefix)
		fprintf(stderr, "<%d>", pri > LOG_DEBUG ? LOG_DEBUG : pri);
	if (errstr != NULL)
		fprintf(stderr, "%s: %s\n", safe, errstr);
	else
		fprintf(stderr, "%s\n", safe);
}

#define LOG_FN(name, pri)					\
void								\
name(const char *fmt, ...)					\
{								\
	va_list	 ap;						\
								\
	va_start(ap, fmt);					\
	log_vwrite(pri, NULL, fmt, ap);				\
	va_end(ap);						\
}

LOG_FN(log_error, LOG_ERR)
LOG_FN(log_warnx, LOG_WARNING)
LOG_FN(log_info, LOG_INFO)
LOG_FN(log_debug, LOG_DEBUG)
LOG_FN(log_trace, LOG_TRACE)

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, strerror(saved), fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

char *
log_escape(char *buf, size_t bufsz, const void *data, size_t len)
{
	const unsigned char	*p = data;
	size_t			 o = 0, i;
	char			 tmp[5];

	if (bufsz == 0)
		return buf;
	for (i = 0; i < len; i++) {
		const char	*s = tmp;
		size_t		 n;

		switch (p[i]) {
		case '\r': s = "\\r"; break;
		case '\n': s = "\\n"; break;
		case '\t': s = "\\t"; break;
		case '\\': s = "\\\\"; break;
		default:
			if (p[i] >= 0x20 && p[i] < 0x7f) {
				tmp[0] = (char)p[i];
				tmp[1] = '\0';
			} else
				snprintf(tmp, sizeof(tmp), "\\x%02x", p[i]);
		}
		n = strlen(s);
		if (o + n + 4 > bufsz) {
			if (o + 4 <= bufsz) {
				memcpy(buf + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(buf + o, s, n);
		o += n;
	}
	buf[o < bufsz ? o : bufsz - 1] = '\0';
	return buf;
}
