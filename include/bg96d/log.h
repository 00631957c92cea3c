/*
 * log.h: logging to stderr, one line per event.  With JOURNAL_STREAM set
 * each line carries a syslog priority prefix "<N>" so journald keeps the
 * levels.  Levels are syslog priorities; LOG_TRACE is one past LOG_DEBUG.
 *
 * Every message is escaped before it is written, whatever the caller
 * passed: CR, LF, TAB as \r \n \t, other bytes below 0x20, DEL and bytes
 * >= 0x80 as \xNN.  Printable ASCII (a backslash too) is written as is, so
 * one call is one line and modem text can never be logged raw.  Messages
 * are cut at 2047 bytes before escaping.
 */
#ifndef BG96D_LOG_H
#define BG96D_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <syslog.h>

#define LOG_TRACE	(LOG_DEBUG + 1)

/* Set up logging: level is the most verbose priority printed. */
void	log_init(int level);
/* Change the level (SIGHUP, -v). */
void	log_setlevel(int level);
int	log_getlevel(void);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_trace(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Escape len bytes of data for a log line into buf (always
 * NUL-terminated): printable ASCII as is, \r \n \t and \xNN otherwise,
 * cut with "..." when it does not fit.  Returns buf.
 */
char	*log_escape(char *buf, size_t bufsz, const void *data, size_t len);

#endif
