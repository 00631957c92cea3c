/*
 * metrics.c: the Prometheus endpoint (see metrics.h).
 *
 * Two halves: metrics_text(), a pure function from a snapshot to the
 * exposition text, and the evhttp server, which fills a snapshot from
 * the getters the "status" reply uses (modem_info, modem_radio,
 * modem_counters, atq_stats, msockset_info, epset_info...) and answers
 * GET /metrics with it.  Nothing here talks to the modem.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "config.h"
#include "bg96d/at.h"
#include "bg96d/atq.h"
#include "bg96d/conf.h"
#include "bg96d/endpoint.h"
#include "bg96d/log.h"
#include "bg96d/metrics.h"
#include "bg96d/modem.h"
#include "bg96d/msock.h"
#include "bg96d/radio.h"
#include "bg96d/util.h"

/* A request may not send more than this (it has no use for a body). */
#define METRICS_HEADERS_MAX	8192
#define METRICS_BODY_MAX	1024
#define METRICS_TIMEOUT_S	10

/* ---- the exposition text (pure) ---- */

/* Length of the valid UTF-8 sequence at p (1 to 4), or 0. */
static size_t
utf8_seq(const char *p)
{
	const unsigned char	*u = (const unsigned char *)p;
	size_t			 n, i;
	unsigned int		 cp;

	if (u[0] < 0x80)
		return 1;
	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		n = 2, cp = u[0] & 0x1f;
	else if (u[0] >= 0xe0 && u[0] <= 0xef)
		n = 3, cp = u[0] & 0x0f;
	else if (u[0] >= 0xf0 && u[0] <= 0xf4)
		n = 4, cp = u[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (u[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

bool
metrics_escape_label(const char *v, char *buf, size_t size)
{
	size_t	n = 0;

	for (; *v != '\0'; v++) {
		const char	*rep = NULL;
		char		 one[5] = { *v, '\0' };
		size_t		 k;

		if (*v == '\\')
			rep = "\\\\";
		else if (*v == '"')
			rep = "\\\"";
		else if (*v == '\n')
			rep = "\\n";
		else if ((k = utf8_seq(v)) == 0)
			rep = "?";	/* the modem's bytes: never bad UTF-8 */
		else {
			memcpy(one, v, k);
			one[k] = '\0';
			v += k - 1;
			rep = one;
		}
		if (n + strlen(rep) >= size) {
			if (size > 0)
				buf[0] = '\0';
			return false;
		}
		memcpy(buf + n, rep, strlen(rep));
		n += strlen(rep);
	}
	if (size > 0)
		buf[n] = '\0';
	return size > 0;
}

/* "# HELP" and "# TYPE" of one family (help has no '\\' or newline). */
static void
fam(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A family with one unlabelled sample. */
static void
one_u(FILE *f, const char *name, const char *type, const char *help,
    unsigned long long v)
{
	fam(f, name, type, help);
	fprintf(f, "%s %llu\n", name, v);
}

static void
one_d(FILE *f, const char *name, const char *type, const char *help,
    double v)
{
	fam(f, name, type, help);
	fprintf(f, "%s %.10g\n", name, v);
}

static void
text_modem(FILE *f, const struct metrics_snapshot *s)
{
	char	 a[256], b[128];
	int	 i;

	fam(f, "bg96d_modem_state", "gauge",
	    "1 for the modem's current state, 0 for the others.");
	for (i = MODEM_ABSENT; i <= MODEM_RECOVERING; i++)
		fprintf(f, "bg96d_modem_state{state=\"%s\"} %d\n",
		    modem_state_name(i), i == s->state);
	one_u(f, "bg96d_modem_registered", "gauge",
	    "1 if the modem is registered (home or roaming).",
	    s->registered);
	one_d(f, "bg96d_modem_registration_status", "gauge",
	    "The +CEREG/+CGREG/+CREG <stat> (1 home, 5 roaming), -1 unknown.",
	    s->reg_stat);
	if (s->ready && s->oper[0] != '\0' &&
	    metrics_escape_label(s->oper, a, sizeof(a)) &&
	    metrics_escape_label(s->rat, b, sizeof(b))) {
		fam(f, "bg96d_modem_network_info", "gauge",
		    "The network the modem uses (operator, access "
		    "technology).");
		fprintf(f, "bg96d_modem_network_info{operator=\"%s\","
		    "rat=\"%s\"} 1\n", a, b);
	}
	/* Signal: only what the modem reported, only while ready. */
	if (s->ready && s->have_rssi)
		one_d(f, "bg96d_modem_rssi_dbm", "gauge",
		    "Received signal strength (+QCSQ, else +CSQ), dBm.",
		    s->rssi_dbm);
	if (s->ready && s->have_lte) {
		one_d(f, "bg96d_modem_rsrp_dbm", "gauge",
		    "LTE reference signal received power (+QCSQ), dBm.",
		    s->rsrp_dbm);
		one_d(f, "bg96d_modem_rsrq_db", "gauge",
		    "LTE reference signal received quality (+QCSQ), dB.",
		    s->rsrq_db);
		one_d(f, "bg96d_modem_sinr_db", "gauge",
		    "LTE signal to interference plus noise ratio (+QCSQ), dB.",
		    s->sinr_db);
	}
	one_u(f, "bg96d_modem_bringups_total", "counter",
	    "Times the modem became ready.", s->bringups);
	fam(f, "bg96d_modem_recoveries_total", "counter",
	    "Events that took the modem down, by cause.");
	fprintf(f, "bg96d_modem_recoveries_total{cause=\"reboot\"} %llu\n"
	    "bg96d_modem_recoveries_total{cause=\"pdp_deactivated\"} %llu\n"
	    "bg96d_modem_recoveries_total{cause=\"line_lost\"} %llu\n"
	    "bg96d_modem_recoveries_total{cause=\"unresponsive\"} %llu\n"
	    "bg96d_modem_recoveries_total{cause=\"registration_timeout\"} "
	    "%llu\n"
	    "bg96d_modem_recoveries_total{cause=\"registration_lost\"} %llu\n",
	    s->reboots, s->pdp_lost, s->line_lost, s->unresponsive,
	    s->reg_timeouts, s->reg_lost);
	fam(f, "bg96d_modem_resets_total", "counter",
	    "Modem restarts the daemon made: AT+CFUN=1,1 or [modem] "
	    "reset_command.");
	fprintf(f, "bg96d_modem_resets_total{method=\"cfun\"} %llu\n"
	    "bg96d_modem_resets_total{method=\"reset_command\"} %llu\n",
	    s->cfun_resets, s->reset_commands);
}

static void
text_line(FILE *f, const struct metrics_snapshot *s)
{
	one_u(f, "bg96d_at_commands_total", "counter",
	    "AT commands sent to the modem.", s->at_commands);
	one_u(f, "bg96d_at_command_errors_total", "counter",
	    "AT commands answered ERROR, +CME ERROR or another failure.",
	    s->at_errors);
	one_u(f, "bg96d_at_command_timeouts_total", "counter",
	    "AT commands (and escapes) with no answer in time.",
	    s->at_timeouts);
	one_u(f, "bg96d_at_unexpected_lines_total", "counter",
	    "Lines and results from the modem that nothing expected.",
	    s->at_unexpected);
	one_u(f, "bg96d_serial_received_bytes_total", "counter",
	    "Bytes read from the serial line.", s->serial_in);
	one_u(f, "bg96d_serial_sent_bytes_total", "counter",
	    "Bytes written to the serial line.", s->serial_out);
	one_u(f, "bg96d_line_data_mode", "gauge",
	    "1 while the serial line is lent to a transparent connection.",
	    s->line_data);
	one_d(f, "bg96d_line_data_mode_seconds_total", "counter",
	    "Time the serial line was lent to transparent connections.",
	    s->line_data_seconds);
	one_u(f, "bg96d_slots_in_use", "gauge",
	    "Modem socket slots in use (of 12).", (unsigned)s->slots_in_use);
	one_u(f, "bg96d_socket_send_fail_total", "counter",
	    "AT+QISEND answered SEND FAIL (modem buffer full, retried).",
	    s->send_fail);
	one_u(f, "bg96d_socket_send_errors_total", "counter",
	    "AT+QISEND refused: the socket was closed.", s->send_errors);
	one_u(f, "bg96d_socket_rx_polls_total", "counter",
	    "Reads of a socket whose receive notice never came.",
	    s->rx_polls);
	one_u(f, "bg96d_socket_incoming_full_total", "counter",
	    "Connections a listener could not take (incoming full).",
	    s->incoming_full);
	one_u(f, "bg96d_auto_data_mode_entries_total", "counter",
	    "access_mode = auto: a connection switched to data mode.",
	    s->auto_entries);
	one_u(f, "bg96d_auto_escapes_total", "counter",
	    "access_mode = auto: data mode left for another user of the "
	    "line.", s->auto_escapes);
}

static void
text_endpoints(FILE *f, const struct metrics_snapshot *s)
{
	static const struct {
		const char	*name, *type, *help;
	} fams[] = {
		{ "bg96d_endpoint_connections", "gauge",
		    "Clients of the endpoint holding a modem slot now." },
		{ "bg96d_endpoint_connections_accepted_total", "counter",
		    "Clients the endpoint accepted (each asks for a slot)." },
		{ "bg96d_endpoint_connections_refused_total", "counter",
		    "Clients refused: wait queue full or max_connections." },
		{ "bg96d_endpoint_connections_failed_total", "counter",
		    "Clients whose modem connection could not be opened." },
		{ "bg96d_endpoint_linger_expired_total", "counter",
		    "Connections closed with bytes still unsent (linger)." },
		{ "bg96d_endpoint_bytes_total", "counter",
		    "Bytes through the endpoint's modem sockets; up is to the "
		    "network." },
	};
	const struct metrics_ep	*e;
	char			 n[CONF_NAME_MAX * 2 + 1];
	size_t			 k;
	int			 i;

	for (k = 0; k < sizeof(fams) / sizeof(fams[0]); k++) {
		if (s->neps == 0)
			break;
		fam(f, fams[k].name, fams[k].type, fams[k].help);
		for (i = 0; i < s->neps; i++) {
			e = &s->eps[i];
			if (!metrics_escape_label(e->name, n, sizeof(n)))
				continue;
			switch (k) {
			case 0:
				fprintf(f, "%s{endpoint=\"%s\",type=\"%s\"} "
				    "%d\n", fams[k].name, n, e->type,
				    e->active);
				break;
			case 1:
			case 2:
			case 3:
			case 4:
				fprintf(f, "%s{endpoint=\"%s\"} %llu\n",
				    fams[k].name, n, k == 1 ? e->accepted :
				    k == 2 ? e->refused : k == 3 ? e->failed :
				    e->linger_expired);
				break;
			default:
				fprintf(f, "%s{endpoint=\"%s\",direction="
				    "\"up\"} %llu\n", fams[k].name, n,
				    e->bytes_up);
				fprintf(f, "%s{endpoint=\"%s\",direction="
				    "\"down\"} %llu\n", fams[k].name, n,
				    e->bytes_down);
				break;
			}
		}
	}
	one_u(f, "bg96d_queue_clients", "gauge",
	    "Clients waiting for a modem slot (all endpoints).",
	    (unsigned)s->queue_waiting);
	fam(f, "bg96d_queue_wait_seconds", "summary",
	    "Time clients spent waiting for a modem slot.");
	fprintf(f, "bg96d_queue_wait_seconds_sum %.3f\n"
	    "bg96d_queue_wait_seconds_count %llu\n", s->queue_wait_seconds,
	    s->queue_waits);
}

char *
metrics_text(const struct metrics_snapshot *s, size_t *len)
{
	char	*buf = NULL, v[128];
	FILE	*f;

	*len = 0;
	if ((f = open_memstream(&buf, len)) == NULL)
		return NULL;
	if (!metrics_escape_label(s->version, v, sizeof(v)))
		strlcpy(v, "unknown", sizeof(v));
	fam(f, "bg96d_build_info", "gauge", "The running bg96d's version.");
	fprintf(f, "bg96d_build_info{version=\"%s\"} 1\n", v);
	one_d(f, "bg96d_start_time_seconds", "gauge",
	    "When bg96d started, Unix time.", s->start_time);
	text_modem(f, s);
	text_line(f, s);
	text_endpoints(f, s);
	one_u(f, "bg96d_metrics_scrapes_total", "counter",
	    "Scrapes of this endpoint answered, this one included.",
	    s->scrapes);
	one_d(f, "bg96d_metrics_scrape_duration_seconds", "gauge",
	    "Daemon time the previous scrape took (snapshot and text).",
	    s->last_scrape_seconds);
	if (ferror(f)) {
		fclose(f);
		free(buf);
		*len = 0;
		return NULL;
	}
	if (fclose(f) != 0) {
		free(buf);
		*len = 0;
		return NULL;
	}
	return buf;
}

/* ---- the server ---- */

struct metrics {
	struct event_base	*base;
	struct metrics_src	 src;
	struct evhttp		*http;
	char			 listen[PATH_MAX];	/* what http serves */
	char			 path[108];		/* unix: socket file */
	double			 start_time;
	unsigned long long	 scrapes;
	double			 last_scrape;
};

static double
mono_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct metrics *
metrics_new(struct event_base *base, const struct metrics_src *src)
{
	struct metrics	*m = xcalloc(1, sizeof(*m));

	m->base = base;
	m->src = *src;
	m->start_time = (double)time(NULL);
	return m;
}

void
metrics_snapshot(struct metrics *m, struct metrics_snapshot *s)
{
	struct msock_info		 slots[AT_NSLOTS];
	struct endpoint_info		 info[CONF_MAX_ENDPOINTS + 1];
	const struct modem_info		*mi = modem_info(m->src.modem);
	const struct radio_info		*r = modem_radio(m->src.modem);
	const struct modem_counters	*mc = modem_counters(m->src.modem);
	struct atq			*q = modem_atq(m->src.modem);
	const struct atq_stats		*as = atq_stats(q);
	const struct msockset_counters	*sc = msockset_counters(m->src.msocks);
	unsigned long long		 ms;
	int				 i, n, id;

	memset(s, 0, sizeof(*s));
	s->version = PACKAGE_VERSION;
	s->start_time = m->start_time;
	s->state = (int)modem_state(m->src.modem);
	s->ready = s->state == MODEM_READY;
	s->reg_stat = mi->reg_stat;
	s->registered = mi->reg_stat == 1 || mi->reg_stat == 5;
	s->oper = r->oper;
	s->rat = r->rat;
	s->have_rssi = r->have_rssi;
	s->rssi_dbm = r->rssi_dbm;
	s->have_lte = r->have_lte;
	s->rsrp_dbm = r->rsrp_dbm;
	s->rsrq_db = r->rsrq_db;
	s->sinr_db = r->sinr_db;

	s->bringups = mc->bringups;
	s->reboots = mc->reboots;
	s->pdp_lost = mc->pdp_lost;
	s->line_lost = mc->line_lost;
	s->unresponsive = mc->unresponsive;
	s->reg_timeouts = mc->reg_timeouts;
	s->reg_lost = mc->reg_lost;
	s->cfun_resets = mc->cfun_resets;
	s->reset_commands = mc->reset_commands;

	s->at_commands = as->commands;
	s->at_errors = as->errors;
	s->at_timeouts = as->timeouts;
	s->at_unexpected = as->unexpected;
	s->serial_in = as->bytes_in;
	s->serial_out = as->bytes_out;
	ms = as->data_ms;
	if (as->data_since > 0)
		ms += (unsigned long long)(now_ms() - as->data_since);
	s->line_data_seconds = ms / 1000.0;
	s->line_data = atq_line_owner(q, &id) == ATQ_LINE_DATA;

	s->slots_in_use = msockset_info(m->src.msocks, slots);
	s->send_fail = sc->send_fail;
	s->send_errors = sc->send_errors;
	s->rx_polls = sc->rx_polls;
	s->auto_entries = sc->auto_entries;
	s->auto_escapes = sc->auto_escapes;
	s->incoming_full = msockset_incoming_full(m->src.msocks);

	if (m->src.eps == NULL)
		return;
	s->queue_waiting = epset_waiting(m->src.eps);
	epset_wait_stats(m->src.eps, &s->queue_waits, &ms);
	s->queue_wait_seconds = ms / 1000.0;
	n = epset_info(m->src.eps, info);
	for (i = 0; i < n && i < CONF_MAX_ENDPOINTS + 1; i++) {
		struct metrics_ep	*e = &s->eps[s->neps++];

		strlcpy(e->name, info[i].name, sizeof(e->name));
		e->type = conf_ep_type_name(info[i].type);
		e->active = info[i].active;
		e->accepted = info[i].accepted;
		e->refused = info[i].refused;
		e->failed = info[i].failed;
		e->linger_expired = info[i].linger_expired;
		msockset_label_bytes(m->src.msocks, info[i].name, &e->bytes_up,
		    &e->bytes_down);
	}
}

static void
metrics_text_free(const void *data, size_t len, void *arg)
{
	free((void *)data);
}

static void
metrics_request_cb(struct evhttp_request *req, void *arg)
{
	struct metrics		*m = arg;
	struct metrics_snapshot	*s;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path = uri != NULL ? evhttp_uri_get_path(uri) :
				    NULL;
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*body;
	double			 t0 = mono_s();
	char			*text;
	size_t			 len;

	if (path == NULL || strcmp(path, "/metrics") != 0) {
		evhttp_send_error(req, HTTP_NOTFOUND, NULL);
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		/* Not evhttp_send_error(): it drops the Allow header. */
		evhttp_add_header(h, "Allow", "GET, HEAD");
		evhttp_add_header(h, "Content-Type", "text/plain");
		evhttp_add_header(h, "Connection", "close");
		if ((body = evbuffer_new()) != NULL)
			evbuffer_add_printf(body, "GET or HEAD only\n");
		evhttp_send_reply(req, 405, "Method Not Allowed", body);
		if (body != NULL)
			evbuffer_free(body);
		return;
	}
	s = xcalloc(1, sizeof(*s));
	m->scrapes++;
	metrics_snapshot(m, s);
	s->scrapes = m->scrapes;
	s->last_scrape_seconds = m->last_scrape;
	text = metrics_text(s, &len);
	free(s);
	if (text == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	/* The text goes out later: the buffer frees it when it is sent. */
	body = evbuffer_new();
	if (body == NULL || evbuffer_add_reference(body, text, len,
	    metrics_text_free, NULL) == -1) {
		free(text);
		if (body != NULL)
			evbuffer_free(body);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evhttp_add_header(h, "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
	m->last_scrape = mono_s() - t0;
}

/* A listening unix socket at path (a dead socket file is replaced). */
static int
metrics_unix_listen(const char *path, const struct conf *c, char *err,
    size_t errlen)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	int			 fd, gid;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket",
			    path);
			return -1;
		}
		/* A live socket is someone else's: leave it. */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd != -1 &&
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(fd);
			snprintf(err, errlen, "%s: another process listens "
			    "there", path);
			return -1;
		}
		if (fd != -1)
			close(fd);
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, 16) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	gid = group_lookup(c->daemon.socket_group);
	if (chmod(path, (mode_t)c->daemon.socket_mode) == -1 ||
	    (gid != -1 && chown(path, (uid_t)-1, (gid_t)gid) == -1))
		log_warnx("metrics: %s: %s", path, strerror(errno));
	return fd;
}

static void
metrics_close(struct metrics *m)
{
	if (m->http != NULL)
		evhttp_free(m->http);
	m->http = NULL;
	if (m->path[0] != '\0')
		unlink(m->path);
	m->path[0] = '\0';
	m->listen[0] = '\0';
}

int
metrics_apply(struct metrics *m, const struct conf *c, char *err,
    size_t errlen)
{
	struct conf_listen	 l;
	struct evhttp		*http;
	int			 fd;

	if (strcmp(c->metrics.listen, m->listen) == 0)
		return 0;
	if (c->metrics.listen[0] == '\0') {
		log_info("metrics: no longer serving %s", m->listen);
		metrics_close(m);
		return 0;
	}
	if (conf_listen_parse(c->metrics.listen, &l, err, errlen) == -1)
		return -1;
	if ((http = evhttp_new(m->base)) == NULL) {
		snprintf(err, errlen, "metrics: evhttp_new failed");
		return -1;
	}
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(http, METRICS_HEADERS_MAX);
	evhttp_set_max_body_size(http, METRICS_BODY_MAX);
	evhttp_set_timeout(http, METRICS_TIMEOUT_S);
	evhttp_set_gencb(http, metrics_request_cb, m);
	if (l.path[0] != '\0') {
		if ((fd = metrics_unix_listen(l.path, c, err, errlen)) == -1 ||
		    evhttp_accept_socket_with_handle(http, fd) == NULL) {
			if (fd != -1) {
				snprintf(err, errlen, "metrics: %s: cannot "
				    "serve", l.path);
				close(fd);
				unlink(l.path);
			}
			evhttp_free(http);
			return -1;
		}
	} else if (evhttp_bind_socket_with_handle(http, l.host,
	    (ev_uint16_t)l.port) == NULL) {
		snprintf(err, errlen, "metrics: cannot listen on %s: %s",
		    c->metrics.listen, strerror(errno));
		evhttp_free(http);
		return -1;
	}
	/* The new one works: let the old one go. */
	if (m->path[0] != '\0' && strcmp(m->path, l.path) == 0)
		m->path[0] = '\0';	/* the same file, now the new socket */
	metrics_close(m);
	m->http = http;
	strlcpy(m->path, l.path, sizeof(m->path));
	strlcpy(m->listen, c->metrics.listen, sizeof(m->listen));
	log_info("metrics: serving GET /metrics on %s", c->metrics.listen);
	return 0;
}

const char *
metrics_listening(const struct metrics *m)
{
	return m->listen;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	metrics_close(m);
	free(m);
}
