/*
 * test-metrics.c: metrics_text() writes the Prometheus text format
 * (HELP and TYPE once per family, before its samples; counters end in
 * _total; label values escaped) with the snapshot's values, and
 * [metrics] listen is validated by conf_listen_parse().
 */

#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg96d/conf.h"
#include "bg96d/metrics.h"
#include "bg96d/modem.h"

/* A snapshot with a value in every field, two endpoints. */
static void
fill(struct metrics_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->version = "1.2.3";
	s->start_time = 1700000000;
	s->state = MODEM_READY;
	s->ready = true;
	s->reg_stat = 5;
	s->registered = true;
	s->oper = "A \"B\" \\C\nD";
	s->rat = "CAT-M1";
	s->have_rssi = true;
	s->rssi_dbm = -73;
	s->have_lte = true;
	s->rsrp_dbm = -102;
	s->rsrq_db = -12;
	s->sinr_db = 13.2;
	s->bringups = 2;
	s->reboots = 3;
	s->pdp_lost = 4;
	s->line_lost = 5;
	s->unresponsive = 6;
	s->reg_timeouts = 7;
	s->reg_lost = 8;
	s->cfun_resets = 9;
	s->reset_commands = 10;
	s->at_commands = 1000;
	s->at_errors = 11;
	s->at_timeouts = 12;
	s->at_unexpected = 13;
	s->serial_in = 14;
	s->serial_out = 15;
	s->line_data = true;
	s->line_data_seconds = 12.5;
	s->slots_in_use = 2;
	s->send_fail = 16;
	s->send_errors = 17;
	s->rx_polls = 18;
	s->incoming_full = 19;
	s->queue_waiting = 3;
	s->queue_waits = 20;
	s->queue_wait_seconds = 1.25;
	s->neps = 2;
	strcpy(s->eps[0].name, "web");
	s->eps[0].type = "tcp";
	s->eps[0].active = 1;
	s->eps[0].accepted = 21;
	s->eps[0].refused = 22;
	s->eps[0].failed = 23;
	s->eps[0].linger_expired = 24;
	s->eps[0].bytes_up = 25;
	s->eps[0].bytes_down = 18446744073709551615ULL;
	strcpy(s->eps[1].name, "sensor_2-b");
	s->eps[1].type = "udp";
	s->scrapes = 7;
	s->last_scrape_seconds = 0.0004;
}

static char *
text(const struct metrics_snapshot *s)
{
	size_t	 len;
	char	*t = metrics_text(s, &len);

	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(strlen(t), len);
	return t;
}

static bool
has_line(const char *t, const char *line)
{
	size_t		 n = strlen(line);
	const char	*p = t;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == t || p[-1] == '\n') && p[n] == '\n')
			return true;
		p++;
	}
	return false;
}

#define LINE(t, l)	ck_assert_msg(has_line(t, l), "missing: %s", l)

static bool
name_char(int c, bool first)
{
	return isalpha(c) || c == '_' || c == ':' || (!first && isdigit(c));
}

/*
 * The grammar of the text format, checked line by line: every family
 * has one HELP then one TYPE, then only its own samples; a family is
 * never seen twice; counters end in _total; a summary's samples are
 * _sum and _count; label values are quoted with only \\, \" and \n
 * escapes; values are numbers.
 */
START_TEST(test_grammar)
{
	struct metrics_snapshot	 s;
	char			*t, *line, *save = NULL;
	char			 fams[128][64], cur[64] = "", type[16] = "";
	int			 nfams = 0, i, nsamples = 0;
	bool			 help_seen = false;

	fill(&s);
	t = text(&s);
	ck_assert(t[strlen(t) - 1] == '\n');
	ck_assert_ptr_null(strstr(t, "\n\n"));
	for (line = strtok_r(t, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char	name[64], *p = line, *end;
		size_t	n = 0;

		if (strncmp(line, "# HELP ", 7) == 0) {
			p += 7;
			while (name_char((unsigned char)p[n], n == 0))
				n++;
			ck_assert_msg(n > 0 && n < sizeof(name) &&
			    p[n] == ' ' && p[n + 1] != '\0', "bad HELP: %s",
			    line);
			memcpy(cur, p, n);
			cur[n] = '\0';
			for (i = 0; i < nfams; i++)
				ck_assert_msg(strcmp(fams[i], cur) != 0,
				    "family twice: %s", cur);
			ck_assert_int_lt(nfams, 128);
			strcpy(fams[nfams++], cur);
			ck_assert_msg(strncmp(cur, "bg96d_", 6) == 0, "%s",
			    cur);
			help_seen = true;
			type[0] = '\0';
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			ck_assert_msg(help_seen && type[0] == '\0',
			    "TYPE without HELP: %s", line);
			p += 7;
			ck_assert_msg(strncmp(p, cur, strlen(cur)) == 0 &&
			    p[strlen(cur)] == ' ', "TYPE of another family: %s",
			    line);
			p += strlen(cur) + 1;
			ck_assert_msg(strcmp(p, "counter") == 0 ||
			    strcmp(p, "gauge") == 0 ||
			    strcmp(p, "summary") == 0, "type %s", p);
			strcpy(type, p);
			n = strlen(cur);
			if (strcmp(type, "counter") == 0)
				ck_assert_msg(n > 6 &&
				    strcmp(cur + n - 6, "_total") == 0,
				    "counter without _total: %s", cur);
			else
				ck_assert_msg(n <= 6 ||
				    strcmp(cur + n - 6, "_total") != 0,
				    "non-counter with _total: %s", cur);
			continue;
		}
		ck_assert_msg(line[0] != '#', "other comment: %s", line);
		ck_assert_msg(type[0] != '\0', "sample before TYPE: %s", line);
		while (name_char((unsigned char)p[n], n == 0))
			n++;
		ck_assert(n > 0 && n < sizeof(name));
		memcpy(name, p, n);
		name[n] = '\0';
		if (strcmp(type, "summary") == 0) {
			char	want1[80], want2[80];

			snprintf(want1, sizeof(want1), "%s_sum", cur);
			snprintf(want2, sizeof(want2), "%s_count", cur);
			ck_assert_msg(strcmp(name, want1) == 0 ||
			    strcmp(name, want2) == 0, "%s in %s", name, cur);
		} else
			ck_assert_msg(strcmp(name, cur) == 0,
			    "sample %s in family %s", name, cur);
		p += n;
		if (*p == '{') {
			p++;
			for (;;) {
				n = 0;
				while (name_char((unsigned char)p[n], n == 0))
					n++;
				ck_assert_msg(n > 0 && p[n] == '=' &&
				    p[n + 1] == '"', "label: %s", line);
				p += n + 2;
				while (*p != '"') {
					ck_assert_msg(*p != '\0' && *p != '\n',
					    "unterminated: %s", line);
					if (*p == '\\') {
						ck_assert_msg(p[1] == '\\' ||
						    p[1] == '"' || p[1] == 'n',
						    "escape: %s", line);
						p++;
					}
					p++;
				}
				p++;
				if (*p == ',') {
					p++;
					continue;
				}
				ck_assert_msg(*p == '}', "labels: %s", line);
				p++;
				break;
			}
		}
		ck_assert_msg(*p == ' ', "no value: %s", line);
		p++;
		(void)strtod(p, &end);
		ck_assert_msg(end != p && *end == '\0', "value: %s", line);
		nsamples++;
	}
	ck_assert_int_gt(nfams, 30);
	ck_assert_int_gt(nsamples, nfams);
	free(t);
}
END_TEST

START_TEST(test_values)
{
	struct metrics_snapshot	 s;
	char			*t;

	fill(&s);
	t = text(&s);
	LINE(t, "bg96d_build_info{version=\"1.2.3\"} 1");
	LINE(t, "# TYPE bg96d_build_info gauge");
	LINE(t, "bg96d_modem_state{state=\"ready\"} 1");
	LINE(t, "bg96d_modem_state{state=\"absent\"} 0");
	LINE(t, "bg96d_modem_state{state=\"recovering\"} 0");
	LINE(t, "bg96d_modem_registered 1");
	LINE(t, "bg96d_modem_registration_status 5");
	LINE(t, "bg96d_modem_network_info{operator=\"A \\\"B\\\" \\\\C\\nD\","
	    "rat=\"CAT-M1\"} 1");
	LINE(t, "bg96d_modem_rssi_dbm -73");
	LINE(t, "bg96d_modem_rsrp_dbm -102");
	LINE(t, "bg96d_modem_rsrq_db -12");
	LINE(t, "bg96d_modem_sinr_db 13.2");
	LINE(t, "bg96d_modem_bringups_total 2");
	LINE(t, "bg96d_modem_recoveries_total{cause=\"reboot\"} 3");
	LINE(t, "bg96d_modem_recoveries_total{cause=\"pdp_deactivated\"} 4");
	LINE(t, "bg96d_modem_recoveries_total{cause=\"line_lost\"} 5");
	LINE(t, "bg96d_modem_recoveries_total{cause=\"unresponsive\"} 6");
	LINE(t, "bg96d_modem_recoveries_total{cause=\"registration_timeout\"} "
	    "7");
	LINE(t, "bg96d_modem_recoveries_total{cause=\"registration_lost\"} 8");
	LINE(t, "bg96d_modem_resets_total{method=\"cfun\"} 9");
	LINE(t, "bg96d_modem_resets_total{method=\"reset_command\"} 10");
	LINE(t, "bg96d_at_commands_total 1000");
	LINE(t, "bg96d_at_command_errors_total 11");
	LINE(t, "bg96d_at_command_timeouts_total 12");
	LINE(t, "bg96d_line_data_mode 1");
	LINE(t, "bg96d_line_data_mode_seconds_total 12.5");
	LINE(t, "bg96d_slots_in_use 2");
	LINE(t, "bg96d_endpoint_connections{endpoint=\"web\",type=\"tcp\"} 1");
	LINE(t, "bg96d_endpoint_connections{endpoint=\"sensor_2-b\","
	    "type=\"udp\"} 0");
	LINE(t, "bg96d_endpoint_connections_accepted_total{endpoint=\"web\"} "
	    "21");
	LINE(t, "bg96d_endpoint_connections_refused_total{endpoint=\"web\"} "
	    "22");
	LINE(t, "bg96d_endpoint_connections_failed_total{endpoint=\"web\"} 23");
	LINE(t, "bg96d_endpoint_linger_expired_total{endpoint=\"web\"} 24");
	LINE(t, "bg96d_endpoint_bytes_total{endpoint=\"web\",direction=\"up\"} "
	    "25");
	LINE(t, "bg96d_endpoint_bytes_total{endpoint=\"web\","
	    "direction=\"down\"} 18446744073709551615");
	LINE(t, "bg96d_queue_clients 3");
	LINE(t, "# TYPE bg96d_queue_wait_seconds summary");
	LINE(t, "bg96d_queue_wait_seconds_sum 1.250");
	LINE(t, "bg96d_queue_wait_seconds_count 20");
	LINE(t, "bg96d_metrics_scrapes_total 7");
	LINE(t, "bg96d_metrics_scrape_duration_seconds 0.0004");
	free(t);
}
END_TEST

/* What the modem did not report, or reported before it went down, is
 * left out rather than shown stale or as 0. */
START_TEST(test_unknown_left_out)
{
	struct metrics_snapshot	 s;
	char			*t;

	fill(&s);
	s.have_lte = false;
	t = text(&s);
	LINE(t, "bg96d_modem_rssi_dbm -73");
	ck_assert_ptr_null(strstr(t, "rsrp"));
	ck_assert_ptr_null(strstr(t, "sinr"));
	free(t);

	fill(&s);
	s.state = MODEM_RECOVERING;
	s.ready = false;
	s.neps = 0;
	t = text(&s);
	LINE(t, "bg96d_modem_state{state=\"ready\"} 0");
	LINE(t, "bg96d_modem_state{state=\"recovering\"} 1");
	ck_assert_ptr_null(strstr(t, "rssi"));
	ck_assert_ptr_null(strstr(t, "network_info"));
	/* No endpoints: no endpoint family (a family needs a sample). */
	ck_assert_ptr_null(strstr(t, "bg96d_endpoint_"));
	LINE(t, "bg96d_queue_clients 3");
	free(t);
}
END_TEST

START_TEST(test_escape)
{
	char	buf[16];

	ck_assert(metrics_escape_label("a\\b\"c\nd", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "a\\\\b\\\"c\\nd");
	ck_assert(metrics_escape_label("", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "");
	/* 15 bytes fit in 16; 8 quotes need 16 + NUL: refused, empty. */
	ck_assert(metrics_escape_label("abcdefghijklmno", buf, sizeof(buf)));
	ck_assert(!metrics_escape_label("\"\"\"\"\"\"\"\"", buf,
	    sizeof(buf)));
	ck_assert_str_eq(buf, "");
	ck_assert(!metrics_escape_label("x", buf, 0));
	/* The modem's bytes: valid UTF-8 stays, anything else is '?'. */
	ck_assert(metrics_escape_label("Telef\xc3\xb3nica", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "Telef\xc3\xb3nica");
	ck_assert(metrics_escape_label("a\xff\xc3x\xe2\x82", buf,
	    sizeof(buf)));
	ck_assert_str_eq(buf, "a??x??");
	ck_assert(metrics_escape_label("\xed\xa0\x80\xf4\x90\x80\x80", buf,
	    sizeof(buf)));
	ck_assert_str_eq(buf, "???????");
}
END_TEST

START_TEST(test_listen_parse)
{
	static const char *const good[] = {
		"127.0.0.1:9196", "0.0.0.0:1", "localhost:65535", "[::1]:9196",
		"[::]:80", "unix:/run/bg96d/metrics.sock",
	};
	static const char *const bad[] = {
		"", "9196", ":9196", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0",
		"127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:9x", "::1:9196",
		"[::1]", "[::1]x:80", "[127.0.0.1]:80", "example.com:80",
		"300.1.1.1:80", "unix:", "unix:run/m.sock", "unix:/a\nb",
		"tcp:127.0.0.1:80",
	};
	struct conf_listen	 l;
	char			 err[128];
	size_t			 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(conf_listen_parse(good[i], &l, err,
		    sizeof(err)) == 0, "%s: %s", good[i], err);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(conf_listen_parse(bad[i], &l, err,
		    sizeof(err)) == -1, "accepted %s", bad[i]);
		ck_assert_msg(err[0] != '\0', "no reason for %s", bad[i]);
	}
	ck_assert_int_eq(conf_listen_parse("[::1]:9196", &l, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(l.host, "::1");
	ck_assert_int_eq(l.port, 9196);
	ck_assert_str_eq(l.path, "");
	ck_assert_int_eq(conf_listen_parse("unix:/tmp/m.sock", &l, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(l.path, "/tmp/m.sock");
	ck_assert_str_eq(l.host, "");
}
END_TEST

static int
load(const char *text, struct conf *c, char *errs, size_t size)
{
	FILE	*f = fmemopen(errs, size, "w");
	int	 n;

	ck_assert_ptr_nonnull(f);
	n = conf_load_string("t.conf", text, c, f);
	fclose(f);
	return n;
}

START_TEST(test_conf_section)
{
	struct conf	c;
	char		errs[1024];

	memset(&c, 0, sizeof(c));
	memset(errs, 0, sizeof(errs));
	ck_assert_int_eq(load("[modem]\ndevice = /dev/ttyUSB2\n", &c, errs,
	    sizeof(errs)), 0);
	ck_assert_str_eq(c.metrics.listen, "");		/* off by default */
	conf_free(&c);

	memset(errs, 0, sizeof(errs));
	ck_assert_int_eq(load("[modem]\ndevice = /dev/ttyUSB2\n"
	    "[metrics]\nlisten = 127.0.0.1:9196\n", &c, errs, sizeof(errs)),
	    0);
	ck_assert_str_eq(c.metrics.listen, "127.0.0.1:9196");
	conf_free(&c);

	memset(errs, 0, sizeof(errs));
	ck_assert_int_eq(load("[modem]\ndevice = /dev/ttyUSB2\n"
	    "[metrics]\nlisten = 127.0.0.1:0\n", &c, errs, sizeof(errs)), 1);
	ck_assert_msg(strstr(errs, "t.conf:4: listen:") != NULL, "%s", errs);
	conf_free(&c);

	memset(errs, 0, sizeof(errs));
	ck_assert_int_eq(load("[modem]\ndevice = /dev/ttyUSB2\n"
	    "[metrics]\nport = 9196\n", &c, errs, sizeof(errs)), 1);
	ck_assert_msg(strstr(errs, "unknown key \"port\" in [metrics]") !=
	    NULL, "%s", errs);
	conf_free(&c);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("metrics");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, test_grammar);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_unknown_left_out);
	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_listen_parse);
	tcase_add_test(tc, test_conf_section);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
