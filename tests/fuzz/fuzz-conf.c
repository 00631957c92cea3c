/*
 * fuzz-conf.c: libFuzzer harness for the configuration parser.
 *
 * The input is the text of a config file (cut at its first NUL, as a C
 * string would be).  It is parsed twice: the error count must be the
 * same (the parser keeps no state between calls).  A file with no errors
 * must satisfy what the daemon relies on without checking again: every
 * value that goes into an AT command (APN, credentials, PIN, endpoint
 * hosts) is a string conf_at_string_ok() accepts, hosts are valid, PINs
 * are digits, ports and counts are in range, and every string is
 * terminated inside its field.  conf_free() must release everything
 * (LeakSanitizer checks that).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg96d/conf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define TERMINATED(f)	(memchr((f), '\0', sizeof(f)) != NULL)

static void
check_endpoint(const struct conf_endpoint *e)
{
	size_t	 i;

	if (!TERMINATED(e->name) || !TERMINATED(e->host) ||
	    !TERMINATED(e->forward.path) || !TERMINATED(e->forward.host))
		abort();
	if (e->name[0] == '\0')
		abort();
	for (i = 0; e->name[i] != '\0'; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyz0123456789_-",
		    e->name[i]) == NULL)
			abort();
	if (e->host[0] != '\0' &&
	    (!conf_host_ok(e->host) || !conf_at_string_ok(e->host)))
		abort();
	if (e->port < 0 || e->port > 65535 || e->local_port < 0 ||
	    e->local_port > 65535)
		abort();
	if ((e->type == CONF_EP_TCP || e->type == CONF_EP_UDP) &&
	    (e->host[0] == '\0' || e->port == 0))
		abort();
	if (e->max_connections < 1 || e->max_connections > 12)
		abort();
}

static void
check(const struct conf *c)
{
	const char	*p;
	int		 i;

	if (!TERMINATED(c->modem.apn) || !TERMINATED(c->modem.username) ||
	    !TERMINATED(c->modem.password) || !TERMINATED(c->modem.pin) ||
	    !TERMINATED(c->modem.device) || !TERMINATED(c->daemon.user) ||
	    !TERMINATED(c->daemon.socket_dir) ||
	    !TERMINATED(c->daemon.socket_group))
		abort();
	if (!conf_at_string_ok(c->modem.apn) ||
	    !conf_at_string_ok(c->modem.username) ||
	    !conf_at_string_ok(c->modem.password) ||
	    !conf_at_string_ok(c->modem.pin))
		abort();
	for (p = c->modem.pin; *p != '\0'; p++)
		if (*p < '0' || *p > '9')
			abort();
	if (c->modem.device[0] == '\0' || c->modem.baud <= 0)
		abort();
	if (c->n_endpoints < 0 || c->n_endpoints > CONF_MAX_ENDPOINTS ||
	    (c->n_endpoints > 0 && c->endpoints == NULL))
		abort();
	for (i = 0; i < c->n_endpoints; i++)
		check_endpoint(&c->endpoints[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE	*devnull;
	struct conf	*c;
	char		*text;
	int		 n1, n2;

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	if ((text = malloc(size + 1)) == NULL ||
	    (c = calloc(1, sizeof(*c))) == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';

	n1 = conf_load_string("fuzz.conf", text, c, devnull);
	if (n1 < 0)
		abort();
	if (n1 == 0)
		check(c);
	conf_free(c);
	n2 = conf_load_string("fuzz.conf", text, c, devnull);
	if (n2 != n1)
		abort();
	conf_free(c);
	free(c);
	free(text);
	return (0);
}
