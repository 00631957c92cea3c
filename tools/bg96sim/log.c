/*
 * Logging: one line per event, to --log FILE or stderr.  Modem and host
 * bytes are escaped so a payload can never break the log's lines.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

#define LOG_BYTES_MAX	96	/* payload prefix kept in a log line */

static FILE	*logfp;

void
log_open(const char *path)
{
	if (path == NULL) {
		logfp = stderr;
		return;
	}
	if ((logfp = fopen(path, "a")) == NULL) {
		fprintf(stderr, "bg96sim: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	setvbuf(logfp, NULL, _IOLBF, 0);
}

void
log_close(void)
{
	if (logfp != NULL && logfp != stderr)
		fclose(logfp);
	logfp = NULL;
}

void
log_msg(const char *fmt, ...)
{
	struct timespec	 ts;
	struct tm	 tm;
	va_list		 ap;
	FILE		*fp = logfp != NULL ? logfp : stderr;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	fprintf(fp, "%02d:%02d:%02d.%03ld bg96sim: ", tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(fp, fmt, ap);
	va_end(ap);
	fputc('\n', fp);
}

char *
log_escape(char *out, size_t outsz, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	size_t		 i, o = 0;

	if (outsz == 0)
		return out;
	for (i = 0; i < len; i++) {
		char	 tmp[5];
		size_t	 n;

		switch (p[i]) {
		case '\r':
			memcpy(tmp, "\\r", 3);
			break;
		case '\n':
			memcpy(tmp, "\\n", 3);
			break;
		case '\t':
			memcpy(tmp, "\\t", 3);
			break;
		case '\\':
			memcpy(tmp, "\\\\", 3);
			break;
		default:
			if (p[i] >= 0x20 && p[i] < 0x7f) {
				tmp[0] = (char)p[i];
				tmp[1] = '\0';
			} else
				snprintf(tmp, sizeof(tmp), "\\x%02x", p[i]);
			break;
		}
		n = strlen(tmp);
		if (o + n + 1 > outsz)
			break;
		memcpy(out + o, tmp, n);
		o += n;
	}
	out[o] = '\0';
	return out;
}

void
log_bytes(const char *what, const void *buf, size_t len)
{
	char	 esc[LOG_BYTES_MAX * 4 + 1];
	size_t	 n = len > LOG_BYTES_MAX ? LOG_BYTES_MAX : len;

	log_escape(esc, sizeof(esc), buf, n);
	if (n < len)
		log_msg("%s: %s... (%zu bytes)", what, esc, len);
	else
		log_msg("%s: %s", what, esc);
}
