/*
 * test-conf.c: Check tests of the configuration parser (src/conf.c).
 */

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bg96d/conf.h"
#include "bg96d/timeouts.h"

#ifndef SRCDIR
#error "SRCDIR must be the project's source directory"
#endif

#define MODEM		"[modem]\ndevice = /dev/ttyUSB2\n"	/* 2 lines */

static struct conf c;
static char *errtext;

static void
setup(void)
{
	memset(&c, 0, sizeof(c));
	errtext = NULL;
}

static void
teardown(void)
{
	conf_free(&c);
	free(errtext);
	errtext = NULL;
}

/* Load text as "t.conf" into c; the messages go to errtext. */
static int
load(const char *text)
{
	size_t size;
	FILE *f;
	int n;

	free(errtext);
	conf_free(&c);
	f = open_memstream(&errtext, &size);
	ck_assert_ptr_nonnull(f);
	n = conf_load_string("t.conf", text, &c, f);
	fclose(f);
	return n;
}

static int
load_file(const char *path)
{
	size_t size;
	FILE *f;
	int n;

	free(errtext);
	conf_free(&c);
	f = open_memstream(&errtext, &size);
	ck_assert_ptr_nonnull(f);
	n = conf_load(path, &c, f);
	fclose(f);
	return n;
}

/* True if errtext has a line "NAME:LINE: ..." containing sub. */
static bool
has_err_in(const char *name, int line, const char *sub)
{
	char prefix[PATH_MAX + 32];
	const char *s, *nl;
	size_t plen;

	plen = (size_t)snprintf(prefix, sizeof(prefix), "%s:%d: ", name, line);
	for (s = errtext; s != NULL && *s != '\0'; s = nl + 1) {
		if ((nl = strchr(s, '\n')) == NULL)
			nl = s + strlen(s);
		if (strncmp(s, prefix, plen) == 0 &&
		    memmem(s, (size_t)(nl - s), sub, strlen(sub)) != NULL)
			return true;
		if (*nl == '\0')
			break;
	}
	return false;
}

static bool
has_err(int line, const char *sub)
{
	return has_err_in("t.conf", line, sub);
}

#define ck_err(line, sub)						\
	ck_assert_msg(has_err((line), (sub)),				\
	    "no error at line %d with \"%s\" in:\n%s", (line), (sub),	\
	    errtext)

#define ck_nerr(text, n) do {						\
	int n_ = load(text);						\
	ck_assert_msg(n_ == (n), "%d errors, not %d:\n%s", n_, (n),	\
	    errtext);							\
} while (0)

/* Text with every "*COUNTc" replaced by COUNT times the byte c. */
static char *
expand(const char *s)
{
	char *out, *o;
	long n;

	out = o = malloc(8192);
	ck_assert_ptr_nonnull(out);
	while (*s != '\0') {
		if (*s == '*' && s[1] >= '0' && s[1] <= '9') {
			n = strtol(s + 1, (char **)&s, 10);
			memset(o, *s++, (size_t)n);
			o += n;
		} else
			*o++ = *s++;
	}
	*o = '\0';
	return out;
}

START_TEST(test_example)
{
	ck_assert_int_eq(load_file(SRCDIR "/conf/bg96d.conf"), 0);
	ck_assert_str_eq(c.modem.device, "/dev/ttyUSB2");
	ck_assert_int_eq(c.n_endpoints, 2);
	ck_assert_str_eq(c.endpoints[0].name, "web");
	ck_assert_int_eq(c.endpoints[0].type, CONF_EP_TCP);
	ck_assert_str_eq(c.endpoints[1].name, "mqtt");
	ck_assert_int_eq(c.endpoints[1].port, 1883);
	ck_assert_str_eq(c.path, SRCDIR "/conf/bg96d.conf");
}
END_TEST

/* The commented-out endpoints of the example are valid once uncommented. */
START_TEST(test_example_uncommented)
{
	char line[512], *text;
	size_t len = 0;
	FILE *f;

	f = fopen(SRCDIR "/conf/bg96d.conf", "r");
	ck_assert_ptr_nonnull(f);
	text = calloc(1, 65536);
	ck_assert_ptr_nonnull(text);
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *l = line;

		if (l[0] == ';' && l[1] != ' ' && l[1] != '\n' && l[1] != ';')
			l++;
		len += (size_t)snprintf(text + len, 65536 - len, "%s", l);
	}
	fclose(f);
	ck_nerr(text, 0);
	ck_assert_int_eq(c.n_endpoints, 5);
	ck_assert_int_eq(c.endpoints[2].type, CONF_EP_UDP);
	ck_assert_int_eq(c.endpoints[3].type, CONF_EP_TCP_LISTENER);
	ck_assert_int_eq(c.endpoints[4].type, CONF_EP_UDP_SERVICE);
	free(text);
}
END_TEST

START_TEST(test_demo)
{
	ck_assert_int_eq(load_file(SRCDIR "/conf/demo.conf"), 0);
	ck_assert_str_eq(c.modem.device, "/tmp/bg96-demo/modem");
	ck_assert_str_eq(c.daemon.socket_dir, "/tmp/bg96-demo/run");
	ck_assert_int_eq(c.daemon.log_level, CONF_LOG_INFO);
	ck_assert_int_eq(c.n_endpoints, 1);
	ck_assert_str_eq(c.endpoints[0].name, "web");
	ck_assert_int_eq(c.endpoints[0].type, CONF_EP_TCP);
	ck_assert_str_eq(c.endpoints[0].host, "127.0.0.1");
	ck_assert_int_eq(c.endpoints[0].port, 8080);
	ck_assert_int_eq(c.endpoints[0].connect_timeout, 30);
}
END_TEST

static void
check_defaults(const struct conf *d)
{
	ck_assert_str_eq(d->modem.device, "");
	ck_assert_int_eq(d->modem.baud, 115200);
	ck_assert_int_eq(d->modem.flow_control, CONF_FLOW_NONE);
	ck_assert_str_eq(d->modem.apn, "");
	ck_assert_str_eq(d->modem.username, "");
	ck_assert_str_eq(d->modem.password, "");
	ck_assert_int_eq(d->modem.auth, CONF_AUTH_NONE);
	ck_assert_int_eq(d->modem.pdp_type, CONF_PDP_IPV4);
	ck_assert_int_eq(d->modem.context_id, 1);
	ck_assert_str_eq(d->modem.pin, "");
	ck_assert_int_eq(d->modem.registration_timeout, 180);
	ck_assert_int_eq(d->modem.backoff_max, 60);
	ck_assert_int_eq(d->modem.transpktsize, TRANSPKTSIZE_DEF);
	ck_assert_int_eq(d->modem.transwaittm, TRANSWAITTM_DEF);
	ck_assert_int_eq(d->modem.transparent_reenter,
	    TRANSPARENT_REENTER_DEF);
	ck_assert(!d->modem.dcd);
	ck_assert_str_eq(d->modem.reset_command, "");
	ck_assert_str_eq(d->daemon.socket_dir, "/run/bg96");
	ck_assert_int_eq(d->daemon.socket_mode, 0660);
	ck_assert_str_eq(d->daemon.socket_group, "");
	ck_assert_int_eq(d->daemon.log_level, CONF_LOG_INFO);
	ck_assert_str_eq(d->daemon.user, "");
	ck_assert_int_eq(d->timeouts.command, 5);
	ck_assert_int_eq(d->timeouts.prompt, 10);
	ck_assert_int_eq(d->timeouts.send, 120);
	ck_assert_int_eq(d->timeouts.qiopen, 150);
	ck_assert_int_eq(d->timeouts.qiclose, 15);
	ck_assert_int_eq(d->timeouts.qiact, 150);
	ck_assert_int_eq(d->timeouts.qideact, 40);
	ck_assert(d->control.enable);
	ck_assert_int_eq(d->control.mode, 0600);
	ck_assert(!d->socks.enable);
	ck_assert_int_eq(d->socks.connect_timeout, 150);
}

START_TEST(test_defaults)
{
	struct conf d;

	memset(&d, 0x5a, sizeof(d));
	conf_defaults(&d);
	check_defaults(&d);
	ck_assert_ptr_null(d.endpoints);
	ck_assert_int_eq(d.n_endpoints, 0);

	ck_nerr("[modem]\ndevice = /dev/x\n[endpoint e]\ntype = tcp\n"
	    "host = h.example\nport = 1\n[endpoint s]\ntype = udp-service\n"
	    "local_port = 7\nforward = udp:127.0.0.1:7\n", 0);
	ck_assert_str_eq(c.modem.device, "/dev/x");
	c.modem.device[0] = '\0';
	check_defaults(&c);
	ck_assert_int_eq(c.n_endpoints, 2);
	ck_assert_int_eq(c.endpoints[0].line, 3);
	ck_assert_int_eq(c.endpoints[0].local_port, 0);
	ck_assert_int_eq(c.endpoints[0].forward.kind, CONF_FWD_NONE);
	ck_assert_int_eq(c.endpoints[0].access_mode, CONF_ACCESS_BUFFER);
	ck_assert_int_eq(c.endpoints[0].max_connections, 12);
	ck_assert_int_eq(c.endpoints[0].connect_timeout, 150);
	ck_assert_int_eq(c.endpoints[0].idle_timeout, 0);
	ck_assert_int_eq(c.endpoints[0].socket_mode, -1);
	ck_assert_int_eq(c.endpoints[1].idle_timeout, 120);	/* udp-service */

	/* An explicit idle_timeout = 0 on a udp-service stays 0. */
	ck_nerr(MODEM "[endpoint s]\ntype = udp-service\nlocal_port = 7\n"
	    "forward = udp:127.0.0.1:7\nidle_timeout = 0\n", 0);
	ck_assert_int_eq(c.endpoints[0].idle_timeout, 0);
}
END_TEST

START_TEST(test_full)
{
	const struct conf_endpoint *e;

	ck_assert_int_eq(load_file(SRCDIR "/tests/conf/full.conf"), 0);
	ck_assert_str_eq(c.modem.device,
	    "/dev/serial/by-id/usb-Quectel_BG96-if02");
	ck_assert_int_eq(c.modem.baud, 921600);
	ck_assert_int_eq(c.modem.flow_control, CONF_FLOW_RTSCTS);
	ck_assert_str_eq(c.modem.apn, "iot.example");
	ck_assert_str_eq(c.modem.username, "user@example");
	ck_assert_str_eq(c.modem.password, "s3cr;et");
	ck_assert_int_eq(c.modem.auth, CONF_AUTH_PAP_OR_CHAP);
	ck_assert_int_eq(c.modem.pdp_type, CONF_PDP_IPV4V6);
	ck_assert_int_eq(c.modem.context_id, 16);
	ck_assert_str_eq(c.modem.pin, "12345678");
	ck_assert_int_eq(c.modem.registration_timeout, 3600);
	ck_assert_int_eq(c.modem.backoff_max, 1);
	ck_assert_str_eq(c.modem.reset_command,
	    "/usr/local/sbin/bg96-power-cycle");
	ck_assert_str_eq(c.daemon.socket_dir, "/run/bg96-test/");
	ck_assert_int_eq(c.daemon.socket_mode, 0600);
	ck_assert_str_eq(c.daemon.socket_group, "dialout");
	ck_assert_int_eq(c.daemon.log_level, CONF_LOG_TRACE);
	ck_assert_str_eq(c.daemon.user, "bg96d");
	ck_assert_int_eq(c.timeouts.command, 60);
	ck_assert_int_eq(c.timeouts.prompt, 1);
	ck_assert_int_eq(c.timeouts.send, 1);
	ck_assert_int_eq(c.timeouts.qiopen, 1);
	ck_assert_int_eq(c.timeouts.qiclose, 120);
	ck_assert_int_eq(c.timeouts.qiact, 5);
	ck_assert_int_eq(c.timeouts.qideact, 5);
	ck_assert(!c.control.enable);
	ck_assert_int_eq(c.control.mode, 0660);
	ck_assert(c.socks.enable);
	ck_assert_int_eq(c.socks.connect_timeout, 3600);

	ck_assert_int_eq(c.n_endpoints, 3);
	e = &c.endpoints[0];
	ck_assert_str_eq(e->name, "a_1-z");
	ck_assert_int_eq(e->line, 41);
	ck_assert_int_eq(e->type, CONF_EP_UDP);
	ck_assert_str_eq(e->host, "2001:db8::1");
	ck_assert_int_eq(e->port, 65535);
	ck_assert_int_eq(e->local_port, 65535);
	ck_assert_int_eq(e->access_mode, CONF_ACCESS_PUSH);
	ck_assert_int_eq(e->max_connections, 1);
	ck_assert_int_eq(e->connect_timeout, 1);
	ck_assert_int_eq(e->idle_timeout, 86400);
	ck_assert_int_eq(e->socket_mode, 0);
	e = &c.endpoints[1];
	ck_assert_int_eq(e->type, CONF_EP_TCP_LISTENER);
	ck_assert_int_eq(e->local_port, 1);
	ck_assert_int_eq(e->forward.kind, CONF_FWD_UNIX);
	ck_assert_str_eq(e->forward.path, "/run/app.sock");
	e = &c.endpoints[2];
	ck_assert_int_eq(e->type, CONF_EP_UDP_SERVICE);
	ck_assert_int_eq(e->forward.kind, CONF_FWD_UDP);
	ck_assert_str_eq(e->forward.host, "127.0.0.1");
	ck_assert_int_eq(e->forward.port, 15683);
	ck_assert_int_eq(e->idle_timeout, 120);
}
END_TEST

START_TEST(test_listener_fixture)
{
	ck_assert_int_eq(load_file(SRCDIR "/tests/conf/listener.conf"), 0);
	ck_assert_int_eq(c.n_endpoints, 3);
	ck_assert_int_eq(c.endpoints[0].forward.kind, CONF_FWD_TCP);
	ck_assert_int_eq(c.endpoints[0].forward.port, 22);
	ck_assert_int_eq(c.endpoints[0].max_connections, 4);
	ck_assert_int_eq(c.endpoints[1].access_mode, CONF_ACCESS_PUSH);
	ck_assert_int_eq(c.endpoints[1].idle_timeout, 0);
	ck_assert_str_eq(c.endpoints[2].forward.host, "127.1.2.3");
	ck_assert_int_eq(c.endpoints[2].idle_timeout, 120);
}
END_TEST

/*
 * Range edges: KEY = VALUE is always line 2, under [SECT]; "tcp" and
 * "lst"/"svc" are endpoint sections completed with the other keys they
 * need.  A bad value gives exactly one error, at line "line" (2 unless
 * the check is a cross-field one, reported at the header).
 */
static const struct range_case {
	const char	*sect;
	const char	*key;
	const char	*value;
	bool		 ok;
	int		 line;
} ranges[] = {
	{ "modem", "device", "/dev/ttyS0", true, 0 },
	{ "modem", "device", "/tmp/pty link", true, 0 },
	{ "modem", "device", "dev/ttyS0", false, 0 },
	{ "modem", "device", "", false, 0 },
	{ "modem", "device", "/dev/tty\x01", false, 0 },
	{ "modem", "baud", "9600", true, 0 },
	{ "modem", "baud", "19200", true, 0 },
	{ "modem", "baud", "38400", true, 0 },
	{ "modem", "baud", "57600", true, 0 },
	{ "modem", "baud", "115200", true, 0 },
	{ "modem", "baud", "230400", true, 0 },
	{ "modem", "baud", "460800", true, 0 },
	{ "modem", "baud", "921600", true, 0 },
	{ "modem", "baud", "9601", false, 0 },
	{ "modem", "baud", "4800", false, 0 },
	{ "modem", "baud", "1843200", false, 0 },
	{ "modem", "baud", "0", false, 0 },
	{ "modem", "baud", "115200x", false, 0 },
	{ "modem", "baud", "fast", false, 0 },
	{ "modem", "baud", "", false, 0 },
	{ "modem", "flow_control", "none", true, 0 },
	{ "modem", "flow_control", "rtscts", true, 0 },
	{ "modem", "flow_control", "xonxoff", false, 0 },
	{ "modem", "flow_control", "", false, 0 },
	{ "modem", "apn", "", true, 0 },
	{ "modem", "apn", "internet.example", true, 0 },
	{ "modem", "apn", "*100a", true, 0 },
	{ "modem", "apn", "*101a", false, 0 },
	{ "modem", "apn", "\"internet\"", false, 0 },
	{ "modem", "apn", "inter\"net", false, 0 },
	{ "modem", "apn", "a\tb", false, 0 },
	{ "modem", "apn", "a\x01z", false, 0 },
	{ "modem", "apn", "a\x1bz", false, 0 },
	{ "modem", "apn", "a\x7fz", false, 0 },
	{ "modem", "apn", "a\rb", false, 0 },
	{ "modem", "username", "*64u", true, 0 },
	{ "modem", "username", "*65u", false, 0 },
	{ "modem", "username", "us\"er", false, 0 },
	{ "modem", "password", "", true, 0 },
	{ "modem", "password", "*64p", true, 0 },
	{ "modem", "password", "*65p", false, 0 },
	{ "modem", "password", "pa\"ss", false, 0 },
	{ "modem", "password", "pa\x02ss", false, 0 },
	{ "modem", "auth", "none", true, 0 },
	{ "modem", "auth", "pap", true, 0 },
	{ "modem", "auth", "chap", true, 0 },
	{ "modem", "auth", "pap-or-chap", true, 0 },
	{ "modem", "auth", "mschap", false, 0 },
	{ "modem", "pdp_type", "ipv4", true, 0 },
	{ "modem", "pdp_type", "ipv6", true, 0 },
	{ "modem", "pdp_type", "ipv4v6", true, 0 },
	{ "modem", "pdp_type", "ip", false, 0 },
	{ "modem", "context_id", "1", true, 0 },
	{ "modem", "context_id", "16", true, 0 },
	{ "modem", "context_id", "0", false, 0 },
	{ "modem", "context_id", "17", false, 0 },
	{ "modem", "context_id", "-1", false, 0 },
	{ "modem", "context_id", "1x", false, 0 },
	{ "modem", "context_id", "0x1", false, 0 },
	{ "modem", "context_id", "1 2", false, 0 },
	{ "modem", "context_id", "+1", false, 0 },
	{ "modem", "context_id", "", false, 0 },
	{ "modem", "pin", "", true, 0 },
	{ "modem", "pin", "1234", true, 0 },
	{ "modem", "pin", "12345678", true, 0 },
	{ "modem", "pin", "123", false, 0 },
	{ "modem", "pin", "123456789", false, 0 },
	{ "modem", "pin", "12a4", false, 0 },
	{ "modem", "registration_timeout", "10", true, 0 },
	{ "modem", "registration_timeout", "3600", true, 0 },
	{ "modem", "registration_timeout", "9", false, 0 },
	{ "modem", "registration_timeout", "3601", false, 0 },
	{ "modem", "backoff_max", "1", true, 0 },
	{ "modem", "backoff_max", "3600", true, 0 },
	{ "modem", "backoff_max", "0", false, 0 },
	{ "modem", "backoff_max", "3601", false, 0 },
	{ "modem", "backoff_max", "99999999999999999999999", false, 0 },
	{ "modem", "transpktsize", "1", true, 0 },
	{ "modem", "transpktsize", "1460", true, 0 },
	{ "modem", "transpktsize", "0", false, 0 },
	{ "modem", "transpktsize", "1461", false, 0 },
	{ "modem", "transwaittm", "0", true, 0 },
	{ "modem", "transwaittm", "20", true, 0 },
	{ "modem", "transwaittm", "21", false, 0 },
	{ "modem", "transwaittm", "-1", false, 0 },
	{ "modem", "transparent_reenter", "0", true, 0 },
	{ "modem", "transparent_reenter", "600", true, 0 },
	{ "modem", "transparent_reenter", "601", false, 0 },
	{ "modem", "transparent_reenter", "-1", false, 0 },
	{ "modem", "dcd", "yes", true, 0 },
	{ "modem", "dcd", "no", true, 0 },
	{ "modem", "dcd", "maybe", false, 0 },
	{ "modem", "reset_command", "", true, 0 },
	{ "modem", "reset_command", "/usr/bin/gpio-reset", true, 0 },
	{ "modem", "reset_command", "gpio-reset", false, 0 },

	{ "daemon", "socket_dir", "/run/x", true, 0 },
	{ "daemon", "socket_dir", "run/x", false, 0 },
	{ "daemon", "socket_dir", "", false, 0 },
	{ "daemon", "socket_mode", "0", true, 0 },
	{ "daemon", "socket_mode", "0777", true, 0 },
	{ "daemon", "socket_mode", "660", true, 0 },
	{ "daemon", "socket_mode", "0800", false, 0 },
	{ "daemon", "socket_mode", "01000", false, 0 },
	{ "daemon", "socket_mode", "00660", false, 0 },
	{ "daemon", "socket_mode", "0x1ff", false, 0 },
	{ "daemon", "socket_mode", "0660x", false, 0 },
	{ "daemon", "socket_mode", "-1", false, 0 },
	{ "daemon", "socket_mode", "rw", false, 0 },
	{ "daemon", "socket_mode", "", false, 0 },
	{ "daemon", "socket_group", "", true, 0 },
	{ "daemon", "socket_group", "dialout", true, 0 },
	{ "daemon", "socket_group", "_x-1", true, 0 },
	{ "daemon", "socket_group", "*32g", true, 0 },
	{ "daemon", "socket_group", "*33g", false, 0 },
	{ "daemon", "socket_group", "Dialout", false, 0 },
	{ "daemon", "socket_group", "1abc", false, 0 },
	{ "daemon", "socket_group", "a b", false, 0 },
	{ "daemon", "log_level", "error", true, 0 },
	{ "daemon", "log_level", "warn", true, 0 },
	{ "daemon", "log_level", "info", true, 0 },
	{ "daemon", "log_level", "debug", true, 0 },
	{ "daemon", "log_level", "trace", true, 0 },
	{ "daemon", "log_level", "verbose", false, 0 },
	{ "daemon", "user", "bg96d", true, 0 },
	{ "daemon", "user", "*32u", true, 0 },
	{ "daemon", "user", "*33u", false, 0 },
	{ "daemon", "user", "-u", false, 0 },
	{ "daemon", "user", "u:g", false, 0 },

	{ "timeouts", "command", "1", true, 0 },
	{ "timeouts", "command", "60", true, 0 },
	{ "timeouts", "command", "0", false, 0 },
	{ "timeouts", "command", "61", false, 0 },
	{ "timeouts", "prompt", "1", true, 0 },
	{ "timeouts", "prompt", "60", true, 0 },
	{ "timeouts", "prompt", "0", false, 0 },
	{ "timeouts", "prompt", "61", false, 0 },
	{ "timeouts", "send", "1", true, 0 },
	{ "timeouts", "send", "120", true, 0 },
	{ "timeouts", "send", "0", false, 0 },
	{ "timeouts", "send", "121", false, 0 },
	{ "timeouts", "qiopen", "1", true, 0 },
	{ "timeouts", "qiopen", "150", true, 0 },
	{ "timeouts", "qiopen", "0", false, 0 },
	{ "timeouts", "qiopen", "151", false, 0 },
	{ "timeouts", "qiclose", "1", true, 0 },
	{ "timeouts", "qiclose", "120", true, 0 },
	{ "timeouts", "qiclose", "0", false, 0 },
	{ "timeouts", "qiclose", "121", false, 0 },
	{ "timeouts", "qiact", "5", true, 0 },
	{ "timeouts", "qiact", "150", true, 0 },
	{ "timeouts", "qiact", "4", false, 0 },
	{ "timeouts", "qiact", "151", false, 0 },
	{ "timeouts", "qideact", "5", true, 0 },
	{ "timeouts", "qideact", "40", true, 0 },
	{ "timeouts", "qideact", "4", false, 0 },
	{ "timeouts", "qideact", "41", false, 0 },

	{ "control", "enable", "yes", true, 0 },
	{ "control", "enable", "no", true, 0 },
	{ "control", "enable", "true", true, 0 },
	{ "control", "enable", "false", true, 0 },
	{ "control", "enable", "on", true, 0 },
	{ "control", "enable", "off", true, 0 },
	{ "control", "enable", "1", true, 0 },
	{ "control", "enable", "0", true, 0 },
	{ "control", "enable", "Yes", true, 0 },
	{ "control", "enable", "2", false, 0 },
	{ "control", "enable", "maybe", false, 0 },
	{ "control", "enable", "", false, 0 },
	{ "control", "mode", "0600", true, 0 },
	{ "control", "mode", "0778", false, 0 },
	{ "socks", "enable", "yes", true, 0 },
	{ "socks", "enable", "y", false, 0 },
	{ "socks", "connect_timeout", "1", true, 0 },
	{ "socks", "connect_timeout", "3600", true, 0 },
	{ "socks", "connect_timeout", "0", false, 0 },
	{ "socks", "connect_timeout", "3601", false, 0 },

	{ "tcp", "type", "tcp", true, 0 },
	{ "tcp", "type", "udp", true, 0 },
	{ "tcp", "type", "sctp", false, 0 },
	{ "tcp", "host", "example.com", true, 0 },
	{ "tcp", "host", "EXAMPLE.com", true, 0 },
	{ "tcp", "host", "localhost", true, 0 },
	{ "tcp", "host", "a-b.c0", true, 0 },
	{ "tcp", "host", "192.0.2.1", true, 0 },
	{ "tcp", "host", "::1", true, 0 },
	{ "tcp", "host", "2001:db8::1", true, 0 },
	{ "tcp", "host", "*63a.com", true, 0 },
	{ "tcp", "host", "*64a.com", false, 0 },
	{ "tcp", "host", "under_score.com", false, 0 },
	{ "tcp", "host", "a;b", false, 0 },
	{ "tcp", "host", "-a.com", false, 0 },
	{ "tcp", "host", "a-.com", false, 0 },
	{ "tcp", "host", "a..com", false, 0 },
	{ "tcp", "host", ".a.com", false, 0 },
	{ "tcp", "host", "a.com.", false, 0 },
	{ "tcp", "host", "1.2.3", false, 0 },
	{ "tcp", "host", "256.1.1.1", false, 0 },
	{ "tcp", "host", "[::1]", false, 0 },
	{ "tcp", "host", "a b.com", false, 0 },
	{ "tcp", "host", "\"a.com\"", false, 0 },
	{ "tcp", "host", "a\x01.com", false, 0 },
	{ "tcp", "host", "", false, 0 },
	{ "tcp", "port", "1", true, 0 },
	{ "tcp", "port", "65535", true, 0 },
	{ "tcp", "port", "0", false, 0 },
	{ "tcp", "port", "65536", false, 0 },
	{ "tcp", "port", "80a", false, 0 },
	{ "tcp", "port", "http", false, 0 },
	{ "tcp", "port", "4294967377", false, 0 },
	{ "tcp", "local_port", "0", true, 0 },
	{ "tcp", "local_port", "65535", true, 0 },
	{ "tcp", "local_port", "65536", false, 0 },
	{ "tcp", "access_mode", "buffer", true, 0 },
	{ "tcp", "access_mode", "push", true, 0 },
	{ "tcp", "access_mode", "transparent", true, 0 },
	{ "tcp", "access_mode", "auto", true, 0 },
	{ "tcp", "access_mode", "direct", false, 0 },
	{ "tcp", "access_mode", "1", false, 0 },
	{ "tcp", "max_connections", "1", true, 0 },
	{ "tcp", "max_connections", "12", true, 0 },
	{ "tcp", "max_connections", "0", false, 0 },
	{ "tcp", "max_connections", "13", false, 0 },
	{ "tcp", "connect_timeout", "1", true, 0 },
	{ "tcp", "connect_timeout", "3600", true, 0 },
	{ "tcp", "connect_timeout", "0", false, 0 },
	{ "tcp", "connect_timeout", "3601", false, 0 },
	{ "tcp", "idle_timeout", "0", true, 0 },
	{ "tcp", "idle_timeout", "86400", true, 0 },
	{ "tcp", "idle_timeout", "86401", false, 0 },
	{ "tcp", "idle_timeout", "-1", false, 0 },
	{ "tcp", "socket_mode", "", true, 0 },
	{ "tcp", "socket_mode", "0600", true, 0 },
	{ "tcp", "socket_mode", "0888", false, 0 },
	{ "tcp", "socket_mode", "0660 0", false, 0 },
	{ "tcp", "forward", "unix:/run/x.sock", false, 1 },

	{ "lst", "local_port", "1", true, 0 },
	{ "lst", "local_port", "65535", true, 0 },
	{ "lst", "local_port", "0", false, 1 },
	{ "lst", "local_port", "65536", false, 0 },
	{ "lst", "forward", "unix:/run/app.sock", true, 0 },
	{ "lst", "forward", "unix:/*106x", true, 0 },
	{ "lst", "forward", "unix:/*107x", false, 0 },
	{ "lst", "forward", "tcp:127.0.0.1:22", true, 0 },
	{ "lst", "forward", "tcp:127.0.0.1:65535", true, 0 },
	{ "lst", "forward", "unix:run/app.sock", false, 0 },
	{ "lst", "forward", "unix:", false, 0 },
	{ "lst", "forward", "tcp:10.0.0.1:22", false, 0 },
	{ "lst", "forward", "tcp:localhost:22", false, 0 },
	{ "lst", "forward", "tcp:127.0.0.1:0", false, 0 },
	{ "lst", "forward", "tcp:127.0.0.1:65536", false, 0 },
	{ "lst", "forward", "tcp:127.0.0.1:22x", false, 0 },
	{ "lst", "forward", "tcp:127.0.0.1", false, 0 },
	{ "lst", "forward", "tcp:[::1]:22", false, 0 },
	{ "lst", "forward", "http://127.0.0.1/", false, 0 },
	{ "lst", "forward", "", false, 0 },
	{ "lst", "forward", "udp:127.0.0.1:53", false, 1 },
	{ "lst", "access_mode", "buffer", true, 0 },
	{ "lst", "access_mode", "push", false, 1 },
	{ "lst", "access_mode", "transparent", false, 1 },
	{ "lst", "access_mode", "auto", false, 1 },
	{ "lst", "host", "example.com", false, 1 },
	{ "lst", "port", "80", false, 1 },
	{ "lst", "socket_mode", "0600", false, 1 },
	{ "svc", "forward", "udp:127.0.0.1:5683", true, 0 },
	{ "svc", "forward", "tcp:127.0.0.1:5683", false, 1 },
	{ "svc", "forward", "unix:/run/x.sock", false, 1 },
	{ "svc", "access_mode", "push", true, 0 },
	{ "svc", "access_mode", "transparent", false, 1 },
	{ "svc", "access_mode", "auto", false, 1 },
};

/* What an endpoint section of each kind needs besides the tested key. */
static const struct {
	const char	*sect;
	const char	*key;
	const char	*line;
} ep_needs[] = {
	{ "tcp", "type", "type = tcp\n" },
	{ "tcp", "host", "host = h.example\n" },
	{ "tcp", "port", "port = 1\n" },
	{ "lst", "type", "type = tcp-listener\n" },
	{ "lst", "local_port", "local_port = 1000\n" },
	{ "lst", "forward", "forward = tcp:127.0.0.1:1\n" },
	{ "svc", "type", "type = udp-service\n" },
	{ "svc", "local_port", "local_port = 1000\n" },
	{ "svc", "forward", "forward = udp:127.0.0.1:1\n" },
};

START_TEST(test_range)
{
	const struct range_case *r = &ranges[_i];
	char text[4096], *value;
	size_t len, j;
	int n, line;

	value = expand(r->value);
	if (strcmp(r->sect, "tcp") == 0 || strcmp(r->sect, "lst") == 0 ||
	    strcmp(r->sect, "svc") == 0)
		len = (size_t)snprintf(text, sizeof(text),
		    "[endpoint e]\n%s = %s\n", r->key, value);
	else
		len = (size_t)snprintf(text, sizeof(text), "[%s]\n%s = %s\n",
		    r->sect, r->key, value);
	for (j = 0; j < sizeof(ep_needs) / sizeof(ep_needs[0]); j++)
		if (strcmp(ep_needs[j].sect, r->sect) == 0 &&
		    strcmp(ep_needs[j].key, r->key) != 0)
			len += (size_t)snprintf(text + len, sizeof(text) - len,
			    "%s", ep_needs[j].line);
	if (strcmp(r->sect, "modem") != 0)
		snprintf(text + len, sizeof(text) - len, "%s", MODEM);
	else if (strcmp(r->key, "device") != 0)
		snprintf(text + len, sizeof(text) - len, "device = /dev/x\n");

	n = load(text);
	if (r->ok) {
		ck_assert_msg(n == 0, "[%s] %s = \"%s\": %d errors:\n%s",
		    r->sect, r->key, r->value, n, errtext);
	} else {
		line = r->line ? r->line : 2;
		ck_assert_msg(n == 1, "[%s] %s = \"%s\": %d errors, not 1:\n%s",
		    r->sect, r->key, r->value, n, errtext);
		ck_assert_msg(has_err(line, r->key), "[%s] %s = \"%s\": "
		    "expected at line %d:\n%s", r->sect, r->key, r->value,
		    line, errtext);
	}
	free(value);
}
END_TEST

START_TEST(test_empty_unknown_section)
{
	ck_nerr(MODEM "[bogus]\n", 1);
	ck_err(3, "unknown section [bogus]");
	ck_nerr(MODEM "[bogus]\n[daemon]\n", 1);
	ck_err(3, "unknown section");
	ck_nerr(MODEM "[ modem ]\n", 1);
	ck_err(3, "unknown section [ modem ]");
	ck_nerr(MODEM "[Modem]\n", 1);
	ck_nerr(MODEM "[endpointx]\n", 1);
	ck_err(3, "unknown section");
}
END_TEST

START_TEST(test_long_line)
{
	char *text;

	/* 250 bytes: an error, and the lines after it keep their numbers. */
	text = expand(MODEM "apn = *244x\nbaud = 9600\ncontext_id = 99\n");
	ck_nerr(text, 2);
	ck_err(3, "line too long (250 bytes");
	ck_err(5, "context_id");
	ck_assert_int_eq(c.modem.baud, 9600);
	ck_assert_str_eq(c.modem.apn, "");
	free(text);

	/* 198 bytes is the longest line; indentation counts. */
	text = expand(MODEM ";*197x\n   ;*194x\n");
	ck_nerr(text, 0);
	free(text);
	text = expand(MODEM ";*198x\n");
	ck_nerr(text, 1);
	ck_err(3, "line too long (199 bytes");
	free(text);
	text = expand(MODEM "   ;*195x\n");
	ck_nerr(text, 1);
	ck_err(3, "line too long");
	free(text);

	/* A host of 254 bytes can not even be written. */
	text = expand("[endpoint e]\ntype = tcp\nport = 1\nhost = *250a.com\n"
	    MODEM);
	ck_assert_int_eq(load(text), 2);
	ck_err(4, "line too long");
	ck_err(1, "needs host");
	free(text);

	/* A long header line drops its section. */
	text = expand(MODEM "[endpoint *200a]\ntype = tcp\n");
	ck_nerr(text, 2);
	ck_err(3, "line too long");
	ck_err(4, "key \"type\" ignored: the section header at line 3");
	free(text);
}
END_TEST

START_TEST(test_bad_header)
{
	ck_nerr("[modem]\ndevice = /dev/x\n[bad\nbaud = 9600\napn = foo\n"
	    "[daemon]\nlog_level = debug\n", 3);
	ck_err(3, "malformed section header");
	ck_err(4, "key \"baud\" ignored: the section header at line 3 was "
	    "rejected");
	ck_err(5, "key \"apn\" ignored");
	ck_assert_int_eq(c.modem.baud, 115200);		/* not applied */
	ck_assert_str_eq(c.modem.apn, "");
	ck_assert_int_eq(c.daemon.log_level, CONF_LOG_DEBUG);

	ck_nerr(MODEM "[]\nuser = x\n", 2);
	ck_err(3, "empty name");
	ck_err(4, "ignored");
	ck_nerr(MODEM "[daemon] junk\n", 1);
	ck_err(3, "text after ']'");
	ck_nerr(MODEM "[daemon]]\n", 1);
	ck_err(3, "text after ']'");
	ck_nerr(MODEM "[daemon] ; comment\n[socks];comment\nenable = 1\n", 0);
	ck_assert(c.socks.enable);
	ck_nerr(MODEM "[daemon ; comment]\n", 1);
	ck_err(3, "unknown section");
}
END_TEST

START_TEST(test_duplicate_section)
{
	ck_nerr("[modem]\ndevice = /dev/x\n[daemon]\n[modem]\nbaud = 9600\n", 2);
	ck_err(4, "duplicate section [modem] (first at line 1)");
	ck_err(5, "key \"baud\" ignored");
	ck_assert_int_eq(c.modem.baud, 115200);

	/* An empty section still counts. */
	ck_nerr(MODEM "[timeouts]\n\n[timeouts]\n", 1);
	ck_err(5, "duplicate section [timeouts] (first at line 3)");

	ck_nerr(MODEM "[endpoint web]\ntype = tcp\nhost = a.b\nport = 80\n"
	    "[endpoint web]\ntype = udp\n", 2);
	ck_err(7, "duplicate section [endpoint web] (first at line 3)");
	ck_err(8, "ignored");
	ck_assert_int_eq(c.n_endpoints, 1);
	ck_assert_int_eq(c.endpoints[0].type, CONF_EP_TCP);
}
END_TEST

START_TEST(test_duplicate_key)
{
	ck_nerr(MODEM "baud = 9600\nbaud = 19200\n", 1);
	ck_err(4, "duplicate key \"baud\" (first at line 3)");
	ck_assert_int_eq(c.modem.baud, 9600);
	ck_nerr("[modem]\ndevice = /dev/x\ndevice = /dev/y\n", 1);
	ck_err(3, "duplicate key \"device\" (first at line 2)");

	/* Per endpoint: the same key in two endpoints is fine. */
	ck_nerr(MODEM "[endpoint a]\ntype = tcp\nhost = a.b\nport = 1\n"
	    "[endpoint b]\ntype = tcp\nhost = a.b\nport = 1\nport = 2\n", 1);
	ck_err(11, "duplicate key \"port\" (first at line 10)");
}
END_TEST

START_TEST(test_unknown_key)
{
	ck_nerr(MODEM "speed = 9600\n", 1);
	ck_err(3, "unknown key \"speed\" in [modem]");
	ck_nerr(MODEM "[control]\nconnect_timeout = 5\n", 1);
	ck_err(4, "unknown key \"connect_timeout\" in [control]");
	ck_nerr(MODEM "[endpoint e]\ntype = tcp\nhost = a.b\nport = 1\n"
	    "device = /dev/x\n", 1);
	ck_err(7, "unknown key \"device\" in [endpoint e]");
	ck_nerr(MODEM "Baud = 9600\n", 1);
	ck_err(3, "unknown key \"Baud\"");
}
END_TEST

START_TEST(test_syntax)
{
	ck_nerr("device = /dev/x\n" MODEM, 1);
	ck_err(1, "key \"device\" is outside any section");
	ck_nerr(MODEM "just some words\n", 1);
	ck_err(3, "expected \"key = value\"");
	ck_nerr(MODEM "baud: 9600\n", 1);
	ck_err(3, "expected \"key = value\"");
	ck_nerr(MODEM "k:x = 1\n", 1);
	ck_err(3, "invalid key \"k:x\"");
	ck_nerr(MODEM "my key = 1\n", 1);
	ck_err(3, "invalid key");
	ck_nerr(MODEM "= 1\n", 1);
	ck_err(3, "no key before '='");
	ck_nerr(MODEM "baud ; = 1\n", 1);
	ck_err(3, "invalid key");
}
END_TEST

START_TEST(test_values)
{
	/* inih strips inline comments only after whitespace. */
	ck_nerr(MODEM "apn = internet ; the APN\nusername = a;b\n"
	    "password =\t; none\n", 0);
	ck_assert_str_eq(c.modem.apn, "internet");
	ck_assert_str_eq(c.modem.username, "a;b");
	ck_assert_str_eq(c.modem.password, "");
	/* '#' is a comment only at the start of a line. */
	ck_nerr(MODEM "# comment\n  # comment\nbaud = 9600 # no\n", 1);
	ck_err(5, "baud");
	/* Quotes are kept, so an AT string refuses them. */
	ck_nerr(MODEM "apn = \"internet\"\n", 1);
	ck_err(3, "apn: may not contain '\"'");
	/* Surrounding whitespace goes, inner whitespace stays. */
	ck_nerr(MODEM "apn = \t my apn \t\n", 0);
	ck_assert_str_eq(c.modem.apn, "my apn");
	/* Indented keys are keys, never continuations. */
	ck_nerr("[modem]\n  device = /dev/x\n\tbaud = 9600\n", 0);
	ck_assert_str_eq(c.modem.device, "/dev/x");
	ck_assert_int_eq(c.modem.baud, 9600);
	ck_nerr("[modem]\ndevice = /dev/x\n    more text\n", 1);
	ck_err(3, "expected");
	/* Enums and booleans ignore case. */
	ck_nerr(MODEM "auth = PAP\n[control]\nenable = OFF\n", 0);
	ck_assert_int_eq(c.modem.auth, CONF_AUTH_PAP);
	ck_assert(!c.control.enable);
}
END_TEST

START_TEST(test_crlf_bom)
{
	ck_nerr("\xef\xbb\xbf[modem]\r\ndevice = /dev/x\r\nbaud = 9600\r\n"
	    "\r\nfoo = 1\r\n", 1);
	ck_err(5, "unknown key \"foo\"");
	ck_assert_str_eq(c.modem.device, "/dev/x");
	ck_assert_int_eq(c.modem.baud, 9600);
	/* No newline at the end. */
	ck_nerr("[modem]\ndevice = /dev/x", 0);
	ck_assert_str_eq(c.modem.device, "/dev/x");
	/* A BOM anywhere else is not skipped. */
	ck_nerr(MODEM "\xef\xbb\xbf[daemon]\n", 1);
	ck_err(3, "expected");
}
END_TEST

START_TEST(test_nul_byte)
{
	char path[] = "/tmp/test-conf-XXXXXX";
	static const char text[] = "[modem]\ndevice = /dev/x\napn = a\0b\n"
	    "baud = 1\n";
	int fd;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, sizeof(text) - 1),
	    (ssize_t)sizeof(text) - 1);
	close(fd);
	ck_assert_int_eq(load_file(path), 2);
	ck_assert(has_err_in(path, 3, "NUL byte"));
	ck_assert(has_err_in(path, 4, "baud"));
	unlink(path);
}
END_TEST

START_TEST(test_missing_device)
{
	ck_nerr("[daemon]\nlog_level = info\n", 1);
	ck_err(0, "[modem] device is required");
	ck_nerr("[daemon]\nlog_level = info\n[modem]\nbaud = 9600\n", 1);
	ck_err(3, "[modem] device is required");
	ck_nerr("[modem]\ndevice =\n", 1);
	ck_err(2, "device: empty value");
	ck_nerr("", 1);
	ck_err(0, "device is required");
}
END_TEST

START_TEST(test_endpoint_names)
{
	char *text;

	ck_nerr(MODEM "[endpoint]\n", 1);
	ck_err(3, "endpoint section needs a name");
	ck_nerr(MODEM "[endpoint  web]\n", 1);
	ck_err(3, "invalid endpoint section");
	ck_nerr(MODEM "[endpoint\tweb]\n", 1);
	ck_err(3, "invalid endpoint section");
	ck_nerr(MODEM "[endpoint Web]\n", 1);
	ck_err(3, "invalid endpoint section");
	ck_nerr(MODEM "[endpoint a b]\n", 1);
	ck_nerr(MODEM "[endpoint a.b]\n", 1);
	ck_nerr(MODEM "[endpoint web ]\n", 1);
	ck_nerr(MODEM "[endpoint control]\n", 1);
	ck_err(3, "endpoint name \"control\" is reserved");
	ck_nerr(MODEM "[endpoint socks]\n", 1);
	ck_err(3, "reserved");
	text = expand(MODEM "[endpoint *33a]\n");
	ck_nerr(text, 1);
	ck_err(3, "invalid endpoint section");
	free(text);
	text = expand(MODEM "[endpoint *32a]\ntype = tcp\nhost = a.b\n"
	    "port = 1\n");
	ck_nerr(text, 0);
	ck_assert_uint_eq(strlen(c.endpoints[0].name), 32);
	free(text);
}
END_TEST

START_TEST(test_cross_fields)
{
	/* Each cross-field error names the endpoint's header line. */
	ck_nerr(MODEM "\n[endpoint e]\ntype = tcp\n", 2);
	ck_err(4, "endpoint e: tcp needs host");
	ck_err(4, "endpoint e: tcp needs port");
	ck_nerr(MODEM "[endpoint e]\ntype = udp\nhost = a.b\nport = 1\n"
	    "forward = udp:127.0.0.1:1\n", 1);
	ck_err(3, "forward is only for tcp-listener and udp-service");
	ck_nerr(MODEM "[endpoint e]\nhost = a.b\nport = 1\n", 1);
	ck_err(3, "type is required");

	ck_nerr(MODEM "[endpoint l]\ntype = tcp-listener\nhost = a.b\n"
	    "port = 1\nsocket_mode = 0600\naccess_mode = push\n", 6);
	ck_err(3, "host is not allowed on tcp-listener");
	ck_err(3, "port is not allowed on tcp-listener");
	ck_err(3, "socket_mode is not allowed on tcp-listener");
	ck_err(3, "tcp-listener needs local_port");
	ck_err(3, "tcp-listener needs forward");
	ck_err(3, "access_mode push is not supported on tcp-listener");
	ck_nerr(MODEM "[endpoint l]\ntype = tcp-listener\nlocal_port = 80\n"
	    "forward = unix:/x\naccess_mode = push\n", 1);
	ck_err(3, "access_mode push is not supported on tcp-listener");
	ck_nerr(MODEM "[endpoint s]\ntype = udp-service\n", 2);
	ck_err(3, "udp-service needs local_port");
	ck_err(3, "udp-service needs forward = udp:127.0.0.1:PORT");
	ck_nerr(MODEM "[endpoint s]\ntype = udp-service\nlocal_port = 7\n"
	    "forward = udp:127.0.0.1:7\naccess_mode = transparent\n", 1);
	ck_err(3, "endpoint s: access_mode transparent is not supported on "
	    "udp-service");
	ck_nerr(MODEM "[endpoint u]\ntype = udp\nhost = a.b\nport = 1\n"
	    "access_mode = transparent\n", 1);
	ck_err(3, "endpoint u: access_mode transparent is not supported on "
	    "udp");

	/* A value refused at its line is not reported again. */
	ck_nerr(MODEM "[endpoint l]\ntype = tcp-listener\nlocal_port = 0\n"
	    "forward = unix:/x\n", 1);
	ck_err(3, "tcp-listener needs local_port (1..65535)");
	ck_nerr(MODEM "[endpoint l]\ntype = tcp-listener\nlocal_port = 99999\n"
	    "forward = unix:/x\n", 1);
	ck_err(5, "local_port: 99999 is out of range");
	ck_nerr(MODEM "[endpoint l]\ntype = tcp-lst\nhost = a.b\n", 1);
	ck_err(4, "type: \"tcp-lst\" is not one of tcp | udp | tcp-listener "
	    "| udp-service");
	ck_nerr(MODEM "[endpoint s]\ntype = udp-service\nlocal_port = 1\n"
	    "forward = udp:1.2.3.4:5\n", 1);
	ck_err(6, "loopback");
}
END_TEST

START_TEST(test_local_port_clash)
{
	ck_nerr(MODEM "[endpoint a]\ntype = tcp-listener\nlocal_port = 80\n"
	    "forward = unix:/a\n[endpoint b]\ntype = udp-service\n"
	    "local_port = 80\nforward = udp:127.0.0.1:1\n"
	    "[endpoint c]\ntype = tcp\nhost = a.b\nport = 1\nlocal_port = 80\n",
	    1);
	ck_err(7, "endpoint b: local_port 80 already used by endpoint a "
	    "(line 3)");
}
END_TEST

START_TEST(test_too_many_endpoints)
{
	char *text, *t;
	int i;

	text = malloc(65536);
	ck_assert_ptr_nonnull(text);
	t = text + sprintf(text, "%s", MODEM);
	for (i = 0; i < CONF_MAX_ENDPOINTS + 1; i++)
		t += sprintf(t, "[endpoint e%d]\ntype = tcp\nhost = a.b\n"
		    "port = 1\n", i);
	ck_nerr(text, 4);
	ck_err(3 + 4 * CONF_MAX_ENDPOINTS, "too many endpoints (at most 64)");
	ck_assert_int_eq(c.n_endpoints, CONF_MAX_ENDPOINTS);
	free(text);
}
END_TEST

START_TEST(test_socket_dir_length)
{
	char *text;

	/* 108-byte sun_path: dir + "/" + name + ".sock" + NUL. */
	text = expand(MODEM "[daemon]\nsocket_dir = /*90d\n[endpoint *10a]\n"
	    "type = tcp\nhost = a.b\nport = 1\n");
	ck_nerr(text, 0);
	free(text);
	text = expand(MODEM "[daemon]\nsocket_dir = /*90d\n[endpoint *11a]\n"
	    "type = tcp\nhost = a.b\nport = 1\n");
	ck_nerr(text, 1);
	ck_err(4, "socket_dir: too long for aaaaaaaaaaa.sock "
	    "(108 bytes, at most 107)");
	free(text);
	text = expand(MODEM "[daemon]\nsocket_dir = /*100d\n"
	    "[control]\nenable = no\n");
	ck_nerr(text, 0);
	free(text);
	text = expand(MODEM "[daemon]\nsocket_dir = /*100d\n");
	ck_nerr(text, 1);
	ck_err(4, "too long for control.sock");
	free(text);
}
END_TEST

START_TEST(test_many_errors)
{
	static const int lines[] = {
		2, 3, 4, 5, 6, 7, 10, 11, 12, 14, 16, 17, 19, 20, 24, 25,
		27, 27, 33, 33, 38
	};
	const char *path = SRCDIR "/tests/conf/many-errors.conf";
	const char *s;
	size_t i, nlines = 0;
	int prev = -1, line;

	ck_assert_int_eq(load_file(path), (int)(sizeof(lines) /
	    sizeof(lines[0])));
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		ck_assert_msg(has_err_in(path, lines[i], ""),
		    "no error at line %d:\n%s", lines[i], errtext);
	ck_assert(has_err_in(path, 6, "duplicate key \"context_id\""));
	ck_assert(has_err_in(path, 14, "unknown section [bogus]"));
	ck_assert(has_err_in(path, 17, "key \"key\" ignored"));
	ck_assert(has_err_in(path, 24, "host"));
	ck_assert(has_err_in(path, 33, "local_port 8080 already used"));

	/* Sorted by line, whatever the order they were found in. */
	for (s = errtext; *s != '\0'; s = strchr(s, '\n') + 1) {
		ck_assert(strncmp(s, path, strlen(path)) == 0);
		line = atoi(s + strlen(path) + 1);
		ck_assert_int_ge(line, prev);
		prev = line;
		nlines++;
	}
	ck_assert_uint_eq(nlines, sizeof(lines) / sizeof(lines[0]));
}
END_TEST

/* Every line of the output is "FILE:LINE: message". */
START_TEST(test_format)
{
	const char *s, *nl, *q;
	int n, count = 0;

	n = load("[bogus]\n[modem]\nbaud = 1\n[bad\n");
	ck_assert_int_eq(n, 4);
	ck_assert_str_eq(errtext,
	    "t.conf:1: unknown section [bogus]\n"
	    "t.conf:2: [modem] device is required\n"
	    "t.conf:3: baud: 1 is not one of 9600, 19200, 38400, 57600, "
	    "115200, 230400, 460800, 921600\n"
	    "t.conf:4: malformed section header: no ']'\n");
	for (s = errtext; *s != '\0'; s = nl + 1) {
		nl = strchr(s, '\n');
		ck_assert_ptr_nonnull(nl);
		ck_assert(strncmp(s, "t.conf:", 7) == 0);
		for (q = s + 7; *q >= '0' && *q <= '9'; q++)
			;
		ck_assert(q > s + 7);
		ck_assert(q[0] == ':' && q[1] == ' ' && q + 2 < nl);
		count++;
	}
	ck_assert_int_eq(count, n);

	/* A NULL stream counts without printing. */
	ck_assert_int_eq(conf_load_string("t.conf", "[x]\n", &c, NULL), 2);
}
END_TEST

START_TEST(test_open_errors)
{
	ck_assert_int_eq(load_file("/nonexistent/bg96d.conf"), 1);
	ck_assert_str_eq(errtext, "/nonexistent/bg96d.conf:0: cannot open: "
	    "No such file or directory\n");
	ck_assert_int_eq(load_file(SRCDIR "/conf"), 2);
	ck_assert(has_err_in(SRCDIR "/conf", 1, "read error: Is a directory"));
	ck_assert(has_err_in(SRCDIR "/conf", 0, "device is required"));
}
END_TEST

/* Loading again into a conf that was freed reuses it cleanly. */
START_TEST(test_reload)
{
	struct conf a;
	int i;

	memset(&a, 0, sizeof(a));
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(conf_load(SRCDIR "/conf/bg96d.conf", &a, NULL),
		    0);
		ck_assert_int_eq(a.n_endpoints, 2);
		conf_free(&a);
		ck_assert_ptr_null(a.endpoints);
		ck_assert_int_eq(a.n_endpoints, 0);
	}
	conf_free(&a);
	/* Errors do not leak either. */
	ck_assert_int_gt(conf_load(SRCDIR "/tests/conf/many-errors.conf", &a,
	    NULL), 0);
	conf_free(&a);
}
END_TEST

START_TEST(test_host_ok)
{
	char *s;

	ck_assert(conf_host_ok("example.com"));
	ck_assert(conf_host_ok("a"));
	ck_assert(conf_host_ok("xn--bcher-kva.example"));
	ck_assert(conf_host_ok("127.0.0.1"));
	ck_assert(conf_host_ok("::"));
	ck_assert(conf_host_ok("fe80::1:2"));
	ck_assert(conf_host_ok("::ffff:192.0.2.1"));
	ck_assert(conf_host_ok("1a.2b"));
	ck_assert(!conf_host_ok(""));
	ck_assert(!conf_host_ok("."));
	ck_assert(!conf_host_ok("a..b"));
	ck_assert(!conf_host_ok("a_b.com"));
	ck_assert(!conf_host_ok("a;b"));
	ck_assert(!conf_host_ok("-a"));
	ck_assert(!conf_host_ok("a-"));
	ck_assert(!conf_host_ok("a.b-"));
	ck_assert(!conf_host_ok("1.2.3"));
	ck_assert(!conf_host_ok("1.2.3.4.5"));
	ck_assert(!conf_host_ok("12"));
	ck_assert(!conf_host_ok("fe80::1%eth0"));
	ck_assert(!conf_host_ok("b\xc3\xbc" "cher.example"));
	ck_assert(!conf_host_ok("a\"b"));

	s = expand("*63a.b");
	ck_assert(conf_host_ok(s));
	free(s);
	s = expand("*64a.b");
	ck_assert(!conf_host_ok(s));
	free(s);
	/* 253 bytes: 3 labels of 63, 1 of 61, with dots. */
	s = expand("*63a.*63b.*63c.*61d");
	ck_assert_uint_eq(strlen(s), 253);
	ck_assert(conf_host_ok(s));
	free(s);
	s = expand("*63a.*63b.*63c.*62d");
	ck_assert_uint_eq(strlen(s), 254);
	ck_assert(!conf_host_ok(s));
	free(s);
}
END_TEST

START_TEST(test_at_string_ok)
{
	char s[2];
	int ch;

	ck_assert(conf_at_string_ok(""));
	ck_assert(conf_at_string_ok("internet.example"));
	ck_assert(conf_at_string_ok("p@ss w0rd;'`\\"));
	ck_assert(conf_at_string_ok("\xc3\xa9"));
	ck_assert(!conf_at_string_ok("a\"b"));
	for (ch = 1; ch < 0x20; ch++) {
		s[0] = (char)ch;
		s[1] = '\0';
		ck_assert_msg(!conf_at_string_ok(s), "byte 0x%02x", ch);
	}
	ck_assert(!conf_at_string_ok("\x7f"));
}
END_TEST

START_TEST(test_type_names)
{
	ck_assert_str_eq(conf_ep_type_name(CONF_EP_TCP), "tcp");
	ck_assert_str_eq(conf_ep_type_name(CONF_EP_UDP), "udp");
	ck_assert_str_eq(conf_ep_type_name(CONF_EP_TCP_LISTENER),
	    "tcp-listener");
	ck_assert_str_eq(conf_ep_type_name(CONF_EP_UDP_SERVICE),
	    "udp-service");
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc;

	tc = tcase_create("files");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_example);
	tcase_add_test(tc, test_example_uncommented);
	tcase_add_test(tc, test_demo);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_listener_fixture);
	tcase_add_test(tc, test_many_errors);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_reload);
	suite_add_tcase(s, tc);

	tc = tcase_create("values");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_loop_test(tc, test_range, 0,
	    (int)(sizeof(ranges) / sizeof(ranges[0])));
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_host_ok);
	tcase_add_test(tc, test_at_string_ok);
	tcase_add_test(tc, test_type_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_empty_unknown_section);
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_bad_header);
	tcase_add_test(tc, test_duplicate_section);
	tcase_add_test(tc, test_duplicate_key);
	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_syntax);
	tcase_add_test(tc, test_crlf_bom);
	tcase_add_test(tc, test_missing_device);
	tcase_add_test(tc, test_endpoint_names);
	tcase_add_test(tc, test_cross_fields);
	tcase_add_test(tc, test_local_port_clash);
	tcase_add_test(tc, test_too_many_endpoints);
	tcase_add_test(tc, test_socket_dir_length);
	tcase_add_test(tc, test_format);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(conf_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
