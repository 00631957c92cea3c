/*
 * bg96sim: command line, event loop, protocol-violation bookkeeping.
 */
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "sim.h"

#define EXIT_USAGE		64
#define EXIT_VIOLATION		3
#define VIOLATIONS_KEPT		256
#define COMMAND_NAMES_MAX	64
#define BUF_MAX			(64L * 1024 * 1024)

struct sim_opts		 opts;
struct event_base	*base;

static char		*violations[VIOLATIONS_KEPT];
static size_t		 nviolations;
static struct {
	char		 name[32];
	unsigned long	 n;
} commands[COMMAND_NAMES_MAX];
static size_t		 ncommands;
static uint32_t		 rng_state;

static const struct {
	const char	*name;
	unsigned int	 flag;
} quirk_names[] = {
	{ "recv-len",		QUIRK_RECV_LEN },
	{ "state3",		QUIRK_STATE3 },
	{ "boot-urcs",		QUIRK_BOOT_URCS },
	{ "urc-in-list",	QUIRK_URC_IN_LIST },
	{ "urc-before-prompt",	QUIRK_URC_BEFORE_PROMPT },
	{ "cme-tcpip",		QUIRK_CME_TCPIP },
	{ "urcport-usbat",	QUIRK_URCPORT_USBAT },
	{ "urc-anywhere",	QUIRK_URC_ANYWHERE },
	{ "recv-in-empty-read",	QUIRK_RECV_IN_EMPTY },
	{ "closed-in-response",	QUIRK_CLOSED_IN_RESP },
	{ "split-response",	QUIRK_SPLIT_RESPONSE },
	{ "slow-answers",	QUIRK_SLOW_ANSWERS },
	{ "adversarial",	QUIRK_ADVERSARIAL },
};

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: bg96sim --link PATH [--baud N] [--latency-ms N] [--control SOCKET]\n"
"               [--seed N] [--hosts NAME=IP[,NAME=IP...]] [--listen-offset N]\n"
"               [--quirks LIST] [--rx-buf BYTES] [--tx-buf BYTES]\n"
"               [--allow-remote] [--log FILE] [--register-delay-ms N]\n"
"quirks: recv-len state3 boot-urcs urc-in-list urc-before-prompt cme-tcpip\n"
"        urcport-usbat urc-anywhere recv-in-empty-read closed-in-response\n"
"        split-response slow-answers adversarial\n"
"exit: 0 on SIGTERM/SIGINT, 3 if the host violated the protocol\n");
}

void
sim_violation(const char *fmt, ...)
{
	char	 buf[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_msg("VIOLATION: %s", buf);
	if (nviolations < VIOLATIONS_KEPT &&
	    (violations[nviolations] = strdup(buf)) == NULL) {
		log_msg("out of memory");
		exit(1);
	}
	nviolations++;
}

size_t
sim_violation_count(void)
{
	return nviolations;
}

const char *
sim_violation_get(size_t i)
{
	return i < VIOLATIONS_KEPT && i < nviolations ? violations[i] : NULL;
}

void
sim_count_command(const char *name)
{
	size_t	 i;

	for (i = 0; i < ncommands; i++) {
		if (strcmp(commands[i].name, name) == 0) {
			commands[i].n++;
			return;
		}
	}
	if (ncommands == COMMAND_NAMES_MAX) {
		/* The last entry collects whatever does not fit. */
		snprintf(commands[ncommands - 1].name,
		    sizeof(commands[0].name), "(other)");
		commands[ncommands - 1].n++;
		return;
	}
	snprintf(commands[ncommands].name, sizeof(commands[0].name), "%s",
	    name);
	commands[ncommands++].n = 1;
}

size_t
sim_command_count(void)
{
	return ncommands;
}

const char *
sim_command_get(size_t i, unsigned long *n)
{
	*n = commands[i].n;
	return commands[i].name;
}

/* xorshift32: reproducible with --seed. */
uint32_t
sim_random(void)
{
	uint32_t	 x = rng_state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	rng_state = x;
	return x;
}

static long
num_arg(const char *name, const char *s, long lo, long hi)
{
	char	*end;
	long	 n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || n < lo || n > hi) {
		fprintf(stderr, "bg96sim: --%s: expected a number in "
		    "%ld..%ld, got \"%s\"\n", name, lo, hi, s);
		exit(EXIT_USAGE);
	}
	return n;
}

static void
parse_hosts(const char *arg)
{
	struct in6_addr		 a6;
	struct in_addr		 a4;
	char			*list, *item, *save = NULL, *eq;
	struct sim_host		*h;

	if ((list = strdup(arg)) == NULL)
		exit(1);
	for (item = strtok_r(list, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		if ((eq = strchr(item, '=')) == NULL || eq == item ||
		    opts.nhosts == SIM_MAXHOSTS) {
			fprintf(stderr, "bg96sim: --hosts: bad entry \"%s\"\n",
			    item);
			exit(EXIT_USAGE);
		}
		*eq++ = '\0';
		h = &opts.hosts[opts.nhosts];
		if (strlen(item) >= sizeof(h->name) ||
		    strlen(eq) >= sizeof(h->ip)) {
			fprintf(stderr, "bg96sim: --hosts: entry too long\n");
			exit(EXIT_USAGE);
		}
		memcpy(h->name, item, strlen(item) + 1);
		memcpy(h->ip, eq, strlen(eq) + 1);
		opts.nhosts++;
		/* Only IP literals on the right-hand side. */
		if (inet_pton(AF_INET, h->ip, &a4) != 1 &&
		    inet_pton(AF_INET6, h->ip, &a6) != 1) {
			fprintf(stderr, "bg96sim: --hosts: \"%s\" is not an "
			    "IP address\n", h->ip);
			exit(EXIT_USAGE);
		}
	}
	free(list);
}

static void
parse_quirks(const char *arg)
{
	char	*list, *item, *save = NULL;
	size_t	 i;

	if ((list = strdup(arg)) == NULL)
		exit(1);
	for (item = strtok_r(list, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(quirk_names) / sizeof(quirk_names[0]);
		    i++)
			if (strcmp(item, quirk_names[i].name) == 0)
				break;
		if (i == sizeof(quirk_names) / sizeof(quirk_names[0])) {
			fprintf(stderr, "bg96sim: unknown quirk \"%s\"\n",
			    item);
			exit(EXIT_USAGE);
		}
		opts.quirks |= quirk_names[i].flag;
	}
	free(list);
}

static void
parse_args(int argc, char **argv)
{
	enum {
		OPT_LINK = 256, OPT_BAUD, OPT_LATENCY, OPT_CONTROL, OPT_SEED,
		OPT_HOSTS, OPT_OFFSET, OPT_QUIRKS, OPT_RXBUF, OPT_TXBUF,
		OPT_REMOTE, OPT_LOG, OPT_REGDELAY
	};
	static const struct option longopts[] = {
		{ "link",		required_argument, NULL, OPT_LINK },
		{ "baud",		required_argument, NULL, OPT_BAUD },
		{ "latency-ms",		required_argument, NULL, OPT_LATENCY },
		{ "control",		required_argument, NULL, OPT_CONTROL },
		{ "seed",		required_argument, NULL, OPT_SEED },
		{ "hosts",		required_argument, NULL, OPT_HOSTS },
		{ "listen-offset",	required_argument, NULL, OPT_OFFSET },
		{ "quirks",		required_argument, NULL, OPT_QUIRKS },
		{ "rx-buf",		required_argument, NULL, OPT_RXBUF },
		{ "tx-buf",		required_argument, NULL, OPT_TXBUF },
		{ "allow-remote",	no_argument,	   NULL, OPT_REMOTE },
		{ "log",		required_argument, NULL, OPT_LOG },
		{ "register-delay-ms",	required_argument, NULL, OPT_REGDELAY },
		{ "help",		no_argument,	   NULL, 'h' },
		{ NULL,			0,		   NULL, 0 }
	};
	int	 ch;

	opts.rx_buf = 65536;
	opts.tx_buf = 16384;
	opts.seed = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_LINK:
			opts.link = optarg;
			break;
		case OPT_BAUD:
			opts.baud = num_arg("baud", optarg, 0, 4000000);
			break;
		case OPT_LATENCY:
			opts.latency_ms = num_arg("latency-ms", optarg, 0,
			    600000);
			break;
		case OPT_CONTROL:
			opts.control = optarg;
			break;
		case OPT_SEED:
			opts.seed = (uint32_t)num_arg("seed", optarg, 0,
			    INT32_MAX);
			break;
		case OPT_HOSTS:
			parse_hosts(optarg);
			break;
		case OPT_OFFSET:
			opts.listen_offset = num_arg("listen-offset", optarg,
			    -65535, 65535);
			break;
		case OPT_QUIRKS:
			parse_quirks(optarg);
			break;
		case OPT_RXBUF:
			opts.rx_buf = (size_t)num_arg("rx-buf", optarg, 1,
			    BUF_MAX);
			break;
		case OPT_TXBUF:
			opts.tx_buf = (size_t)num_arg("tx-buf", optarg, 1,
			    BUF_MAX);
			break;
		case OPT_REMOTE:
			opts.allow_remote = 1;
			break;
		case OPT_LOG:
			opts.logfile = optarg;
			break;
		case OPT_REGDELAY:
			opts.register_delay_ms = num_arg("register-delay-ms",
			    optarg, 0, 3600000);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind != argc || opts.link == NULL) {
		usage(stderr);
		exit(EXIT_USAGE);
	}
	/* xorshift must not start at 0. */
	rng_state = opts.seed != 0 ? opts.seed : 0x9e3779b9;
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	log_msg("signal %d: stopping", (int)sig);
	event_base_loopbreak(base);
}

static void
summary(void)
{
	unsigned long	 n, total = 0;
	size_t		 i;

	for (i = 0; i < ncommands; i++)
		total += commands[i].n;
	log_msg("summary: %lu commands, %llu bytes in, %llu bytes out, "
	    "%zu violations", total, (unsigned long long)pty_bytes_in(),
	    (unsigned long long)pty_written(), nviolations);
	for (i = 0; i < ncommands; i++) {
		sim_command_get(i, &n);
		log_msg("summary: %s %lu", commands[i].name, n);
	}
	for (i = 0; i < nviolations && i < VIOLATIONS_KEPT; i++)
		log_msg("summary: VIOLATION: %s", violations[i]);
}

int
main(int argc, char **argv)
{
	struct event_config	*cfg;
	struct event		*ev_term, *ev_int;
	size_t			 i;
	int			 status;

	parse_args(argc, argv);
	log_open(opts.logfile);
	signal(SIGPIPE, SIG_IGN);
	/* Pacing needs sub-millisecond timers (timerfd with epoll). */
	if ((cfg = event_config_new()) == NULL ||
	    event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER) == -1 ||
	    (base = event_base_new_with_config(cfg)) == NULL) {
		log_msg("event_base_new failed");
		return 1;
	}
	event_config_free(cfg);
	ev_term = evsignal_new(base, SIGTERM, signal_cb, NULL);
	ev_int = evsignal_new(base, SIGINT, signal_cb, NULL);
	if (ev_term == NULL || ev_int == NULL) {
		log_msg("evsignal_new failed");
		return 1;
	}
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);

	at_init();
	trans_init();
	slot_init();
	modem_init();
	if (opts.control != NULL && ctl_open(opts.control) == -1)
		return 1;
	if (pty_open() == -1)
		return 1;
	modem_boot();
	/* The link appears only now: the modem answers from here on. */
	if (pty_link() == -1) {
		pty_fini();
		ctl_close();
		return 1;
	}
	log_msg("bg96sim ready on %s (baud %ld, latency %ld ms, quirks 0x%x, "
	    "seed %lu)", opts.link, opts.baud, opts.latency_ms, opts.quirks,
	    (unsigned long)opts.seed);

	event_base_dispatch(base);

	summary();
	status = nviolations > 0 ? EXIT_VIOLATION : 0;
	pty_unlink();
	slot_fini();
	pty_fini();
	ctl_close();
	modem_free();
	trans_free();
	at_free();
	event_free(ev_term);
	event_free(ev_int);
	event_base_free(base);
	for (i = 0; i < nviolations && i < VIOLATIONS_KEPT; i++)
		free(violations[i]);
	log_msg("exit %d", status);
	log_close();
	return status;
}
