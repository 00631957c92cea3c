/*
 * main.c: bg96d's command line, start-up, signals and the event loop.
 */
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "bg96d/at.h"
#include "bg96d/atq.h"
#include "bg96d/conf.h"
#include "bg96d/control.h"
#include "bg96d/endpoint.h"
#include "bg96d/events.h"
#include "bg96d/evtimer.h"
#include "bg96d/log.h"
#include "bg96d/metrics.h"
#include "bg96d/modem.h"
#include "bg96d/msock.h"
#include "bg96d/privdrop.h"
#include "bg96d/stack.h"
#include "bg96d/timeouts.h"
#include "bg96d/util.h"

#define EX_USAGE_	64
#define EX_CONFIG_	78

struct daemon {
	struct event_base	*base;
	struct conf		*conf;
	int			 verbose;
	struct stack		*st;
	struct modem		*modem;		/* st's, for short */
	struct events		*evs;		/* events.sock */
	struct msockset		*msocks;
	struct epset		*eps;
	struct control		*ctl;
	struct metrics		*metrics;	/* [metrics] listen */
	struct event		*sigterm, *sigint, *sighup;
	struct event		*shutdown_timer;
	struct event		*watchdog;
	uint64_t		 watchdog_usec;
	long long		 shutdown_deadline;
	bool			 stopping;
};

static int	prepare_socket_dir(const char *, char *, size_t);

static void
usage(void)
{
	fprintf(stderr, "usage: bg96d [-c FILE] [-n] [-v]... [-V] [-h]\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -n       check the configuration and exit\n"
	    "  -v       more logging; -vv logs every AT line\n"
	    "  -V       print the version and exit\n", BG96_CONF_PATH);
}

static int
level_of(const struct conf *c, int verbose)
{
	int	 l = (int)c->daemon.log_level + verbose;

	return l > LOG_TRACE ? LOG_TRACE : l;
}

/* The modem is ready (the stack has served the waiting clients). */
static void
d_ready(void *arg)
{
	struct daemon	*d = arg;

	if (d->stopping)
		return;
	sd_notify(0, "STATUS=ready");
}

/* Tell systemd what the modem is doing (STATUS=). */
static void
d_status(struct daemon *d, const char *why)
{
	enum modem_state	 st = modem_state(d->modem);
	long long		 retry = modem_retry_in(d->modem);

	if (st == MODEM_READY)
		sd_notifyf(0, "STATUS=ready: %d connection%s",
		    d->eps != NULL ? epset_clients(d->eps) : 0,
		    d->eps != NULL && epset_clients(d->eps) == 1 ? "" : "s");
	else if (retry >= 0)
		sd_notifyf(0, "STATUS=modem %s (%s), retrying in %lld s",
		    st == MODEM_ABSENT ? "absent" : "unavailable", why,
		    (retry + 999) / 1000);
	else
		sd_notifyf(0, "STATUS=%s", why);
}

static void
d_state(void *arg, enum modem_state st, const char *why)
{
	struct daemon	*d = arg;

	events_state(modem_state_name(st), why);
	d_status(d, st == MODEM_RECOVERING || st == MODEM_ABSENT ? why :
	    modem_state_name(st));
}

/* WATCHDOG=1 comes from the loop itself: a stuck loop sends nothing. */
static void
d_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon	*d = arg;

	sd_notify(0, "WATCHDOG=1");
	if (modem_state(d->modem) == MODEM_READY)
		d_status(d, "ready");
	/* Twice per WatchdogSec= (sd_watchdog_enabled(3)). */
	evtimer_add_ms(d->watchdog, (long long)(d->watchdog_usec / 2 / 1000));
}

static void
d_finish(struct daemon *d)
{
	log_info("bg96d: stopped");
	event_base_loopbreak(d->base);
}

/* Shutdown: wait until every AT+QICLOSE is answered, or the deadline. */
static void
d_shutdown_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon	*d = arg;
	struct atq	*q = modem_atq(d->modem);

	bool		 busy = !atq_idle(q) ||
			    atq_line_owner(q, NULL) != ATQ_LINE_COMMAND;

	/* A lent line is escaped first (msockset_close_all), then closed. */
	if (!atq_attached(q) || !busy || now_ms() >= d->shutdown_deadline) {
		if (atq_attached(q) && busy)
			log_warnx("bg96d: modem did not confirm every close");
		d_finish(d);
		return;
	}
	evtimer_add_ms(d->shutdown_timer, SHUTDOWN_POLL_MS);
}

static void
d_stop(struct daemon *d, const char *why)
{
	int	 n;

	if (d->stopping)
		return;
	d->stopping = true;
	log_info("bg96d: stopping (%s)", why);
	sd_notify(0, "STOPPING=1");
	epset_stop(d->eps);
	metrics_free(d->metrics);	/* it reads eps */
	d->metrics = NULL;
	n = msockset_close_all(d->msocks);
	epset_free(d->eps);
	d->eps = d->st->eps = NULL;
	control_free(d->ctl);
	d->ctl = NULL;
	events_free(d->evs);
	d->evs = NULL;
	if (n > 0)
		log_info("bg96d: closing %d modem socket%s", n,
		    n == 1 ? "" : "s");
	d->shutdown_deadline = now_ms() + SHUTDOWN_DEADLINE_MS;
	d->shutdown_timer = evtimer_new(d->base, d_shutdown_tick, d);
	d_shutdown_tick(-1, 0, d);
}

/*
 * Does a reload change what the modem was told at bring-up?  The
 * re-entry delay of auto mode is the daemon's alone: applied above
 * (msockset_set_reenter), no restart.
 */
static bool
modem_conf_differs(const void *a, const void *b)
{
	typeof(((struct conf *)0)->modem)	 x, y;

	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	x.transparent_reenter = y.transparent_reenter = 0;
	return memcmp(&x, &y, sizeof(x)) != 0;
}

static void
d_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon	*d = arg;
	struct conf	*nc;
	char		 err[512];
	char		*buf = NULL;
	size_t		 len = 0;
	FILE		*errs;
	int		 r;

	if (sig != SIGHUP) {
		d_stop(d, sig == SIGTERM ? "SIGTERM" : "SIGINT");
		return;
	}
	if (d->stopping)
		return;
	log_info("bg96d: reloading %s", d->conf->path);
	nc = xcalloc(1, sizeof(*nc));
	errs = open_memstream(&buf, &len);
	r = conf_load(d->conf->path, nc, errs);
	fclose(errs);
	if (r != 0) {
		char	*line, *save = NULL;

		for (line = strtok_r(buf, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save))
			log_error("%s", line);
		log_error("bg96d: reload failed; keeping the running "
		    "configuration");
		events_reload(d->conf->path, "configuration has errors; "
		    "keeping the running one");
		free(buf);
		conf_free(nc);
		free(nc);
		return;
	}
	free(buf);
	if (strcmp(nc->daemon.socket_dir, d->conf->daemon.socket_dir) != 0 &&
	    prepare_socket_dir(nc->daemon.socket_dir, err, sizeof(err)) == -1)
		log_error("bg96d: reload: socket_dir %s: %s",
		    nc->daemon.socket_dir, err);
	r = epset_apply(d->eps, nc, err, sizeof(err));
	if (r != 0)
		log_error("bg96d: reload: %s", err);
	if (events_apply(d->evs, nc, group_lookup(nc->daemon.socket_group),
	    err, sizeof(err)) != 0)
		log_error("bg96d: reload: %s", err);
	r = control_apply(d->ctl, nc, group_lookup(nc->daemon.socket_group),
	    err, sizeof(err));
	if (r != 0)
		log_error("bg96d: reload: %s", err);
	/* A new listen is bound now (as the dropped user: a port < 1024
	 * or an unwritable directory needs a restart); on failure the
	 * old one stays. */
	if (metrics_apply(d->metrics, nc, err, sizeof(err)) != 0)
		log_error("bg96d: reload: %s; [metrics] listen stays %s", err,
		    metrics_listening(d->metrics)[0] != '\0' ?
		    metrics_listening(d->metrics) : "off");
	modem_set_conf(d->modem, nc);
	msockset_set_context(d->msocks, nc->modem.context_id);
	msockset_set_reenter(d->msocks, nc->modem.transparent_reenter * 1000);
	log_setlevel(level_of(nc, d->verbose));
	if (modem_conf_differs(&d->conf->modem, &nc->modem))
		modem_reset(d->modem, "[modem] settings changed");
	conf_free(d->conf);
	free(d->conf);
	d->conf = nc;
	events_reload(nc->path, NULL);
}

static void
libevent_log_cb(int sev, const char *msg)
{
	log_debug("libevent: %s", msg);
}

/* Create socket_dir if missing, and check we can make files in it. */
static int
prepare_socket_dir(const char *dir, char *err, size_t errlen)
{
	char	 path[4096], *p;

	strlcpy(path, dir, sizeof(path));
	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) == -1 && errno != EEXIST)
			break;
		*p = '/';
	}
	if ((mkdir(dir, 0755) == -1 && errno != EEXIST) ||
	    access(dir, W_OK | X_OK) == -1) {
		if (snprintf(err, errlen, "cannot use it: %s",
		    strerror(errno)) < 0)
			err[0] = '\0';
		return -1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct stack_ops sops = {
		.ready = d_ready,
		.state_changed = d_state,
	};
	struct daemon	 d;
	const char	*path = BG96_CONF_PATH;
	bool		 check = false;
	char		 err[512];
	int		 ch, nerr, r;

	memset(&d, 0, sizeof(d));
	while ((ch = getopt(argc, argv, "c:nvVh")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'v':
			d.verbose++;
			break;
		case 'V':
			printf("bg96d %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return EX_USAGE_;
		}
	}
	if (optind != argc) {
		usage();
		return EX_USAGE_;
	}

	d.conf = xcalloc(1, sizeof(*d.conf));
	nerr = conf_load(path, d.conf, stderr);
	if (check) {
		if (nerr == 0)
			printf("configuration OK\n");
		conf_free(d.conf);
		free(d.conf);
		return nerr == 0 ? 0 : EX_CONFIG_;
	}
	if (nerr != 0) {
		conf_free(d.conf);
		free(d.conf);
		return EX_CONFIG_;
	}
	log_init(level_of(d.conf, d.verbose));
	signal(SIGPIPE, SIG_IGN);
	event_set_log_callback(libevent_log_cb);

	if (prepare_socket_dir(d.conf->daemon.socket_dir, err,
	    sizeof(err)) == -1) {
		log_error("bg96d: socket_dir %s: %s",
		    d.conf->daemon.socket_dir, err);
		conf_free(d.conf);
		free(d.conf);
		return 1;
	}
	d.base = event_base_new();
	if (d.base == NULL)
		fatalx("event_base_new failed");
	d.st = stack_new(d.base, d.conf, &sops, &d);
	d.modem = d.st->modem;
	d.msocks = d.st->msocks;
	d.eps = d.st->eps;
	d.evs = events_new(d.base);
	d.ctl = control_new(d.base, d.modem, d.msocks, d.eps);
	d.metrics = metrics_new(d.base, &(struct metrics_src){
	    .modem = d.modem, .msocks = d.msocks, .eps = d.eps });
	r = epset_apply(d.eps, d.conf, err, sizeof(err));
	if (r == 0)
		r = events_apply(d.evs, d.conf,
		    group_lookup(d.conf->daemon.socket_group), err, sizeof(err));
	if (r == 0)
		r = control_apply(d.ctl, d.conf,
		    group_lookup(d.conf->daemon.socket_group), err, sizeof(err));
	if (r == 0)
		r = metrics_apply(d.metrics, d.conf, err, sizeof(err));
	if (r == 0 && privdrop(d.conf->daemon.user, d.conf->daemon.socket_dir,
	    err, sizeof(err)) != 0)
		r = -1;
	if (r != 0) {
		log_error("bg96d: %s", err);
		metrics_free(d.metrics);
		control_free(d.ctl);
		events_free(d.evs);
		stack_free(d.st);
		event_base_free(d.base);
		conf_free(d.conf);
		free(d.conf);
		return 1;
	}

	d.sigterm = evsignal_new(d.base, SIGTERM, d_signal_cb, &d);
	d.sigint = evsignal_new(d.base, SIGINT, d_signal_cb, &d);
	d.sighup = evsignal_new(d.base, SIGHUP, d_signal_cb, &d);
	evsignal_add(d.sigterm, NULL);
	evsignal_add(d.sigint, NULL);
	evsignal_add(d.sighup, NULL);

	log_info("bg96d %s: started (config %s, modem %s)", PACKAGE_VERSION,
	    d.conf->path, d.conf->modem.device);
	modem_start(d.modem);
	sd_notify(0, "READY=1");
	if (sd_watchdog_enabled(0, &d.watchdog_usec) > 0 &&
	    d.watchdog_usec > 0) {
		d.watchdog = evtimer_new(d.base, d_watchdog_cb, &d);
		d_watchdog_cb(-1, 0, &d);
	}

	event_base_dispatch(d.base);

	event_free(d.sigterm);
	event_free(d.sigint);
	event_free(d.sighup);
	if (d.shutdown_timer != NULL)
		event_free(d.shutdown_timer);
	if (d.watchdog != NULL)
		event_free(d.watchdog);
	metrics_free(d.metrics);
	control_free(d.ctl);
	events_free(d.evs);
	stack_free(d.st);
	event_base_free(d.base);
	conf_free(d.conf);
	free(d.conf);
	return 0;
}
