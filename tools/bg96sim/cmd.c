/*
 * Modem-wide state (echo, error format, registration, PDP contexts, power)
 * and the table of commands.  The socket commands live in slot.c.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "sim.h"

#define MODEM_IMEI	"866425030123451"
#define MODEM_ICCID	"89882280666027595366"
#define MODEM_REVISION	"BG96MAR02A07M1G"
#define MODEM_QGMR	"BG96MAR02A07M1G_01.019.01.019"
#define MODEM_OPERATOR	"bg96sim"
#define MODEM_TAC	"1A2B"
#define MODEM_CI	"01A2D101"
#define MODEM_ACT	8		/* LTE Cat-M1 */
#define MODEM_DNS_TTL	600
#define CTX_STRMAX	64
#define MODEM_RESET_MS	300	/* AT+CFUN=1,1: POWERED DOWN to RDY */
#define MODEM_POWERON_MS 1000	/* AT+QPOWD: off until "power-on" */

enum reg_kind {
	REG_CREG,
	REG_CGREG,
	REG_CEREG,
	REG_NKINDS
};

static const char *const reg_prefix[REG_NKINDS] = {
	"+CREG", "+CGREG", "+CEREG"
};

struct pdp_ctx {
	int	 type;		/* 1 IPv4, 2 IPv6, 3 IPv4v6 */
	int	 auth;
	int	 active;
	char	 apn[CTX_STRMAX];
	char	 user[CTX_STRMAX];
	char	 pass[CTX_STRMAX];
};

static struct {
	int		 echo;
	int		 cmee;
	int		 reg_n[REG_NKINDS];
	int		 stat;		/* registration status, as reported */
	int		 searching;	/* since boot, until --register-delay-ms */
	int		 dereg;		/* "deregister" from the control socket */
	int		 cfun;
	int		 ifc_dce;
	int		 ifc_dte;
	int		 urc_uart;	/* URCs go to uart1 (this port) */
	int		 last_err;
	struct pdp_ctx	 ctx[SIM_NCTX + 1];
} m;

static struct event	*ev_register;
static struct event	*ev_reboot;
static struct event	*ev_rereg;

static void	 modem_register_cb(evutil_socket_t, short, void *);
static void	 modem_reboot_cb(evutil_socket_t, short, void *);
static void	 modem_rereg_cb(evutil_socket_t, short, void *);

void
modem_init(void)
{
	int	 i;

	if ((ev_register = evtimer_new(base, modem_register_cb, NULL)) == NULL ||
	    (ev_reboot = evtimer_new(base, modem_reboot_cb, NULL)) == NULL ||
	    (ev_rereg = evtimer_new(base, modem_rereg_cb, NULL)) == NULL) {
		log_msg("modem: out of memory");
		exit(1);
	}
	/* The context configuration survives reboots (stored with CGDCONT). */
	for (i = 1; i <= SIM_NCTX; i++)
		m.ctx[i].type = 1;
}

void
modem_free(void)
{
	if (ev_register != NULL)
		event_free(ev_register);
	if (ev_reboot != NULL)
		event_free(ev_reboot);
	if (ev_rereg != NULL)
		event_free(ev_rereg);
	ev_register = ev_reboot = ev_rereg = NULL;
}

int
modem_echo(void)
{
	return m.echo;
}

int
modem_cmee(void)
{
	return m.cmee;
}

int
modem_urcs_here(void)
{
	return m.urc_uart;
}

int
modem_ctx_active(int cid)
{
	return cid >= 1 && cid <= SIM_NCTX && m.ctx[cid].active;
}

int
modem_pdp_any(void)
{
	int	 i;

	for (i = 1; i <= SIM_NCTX; i++)
		if (m.ctx[i].active)
			return 1;
	return 0;
}

void
modem_set_error(int code)
{
	m.last_err = code;
}

static int
modem_registered(void)
{
	return m.stat == 1 || m.stat == 5;
}

static void
reg_format(char *buf, size_t len, int kind, int with_n)
{
	int	 o;

	if (with_n)
		o = snprintf(buf, len, "%s: %d,%d", reg_prefix[kind],
		    m.reg_n[kind], m.stat);
	else
		o = snprintf(buf, len, "%s: %d", reg_prefix[kind], m.stat);
	if (o > 0 && (size_t)o < len && m.reg_n[kind] >= 2 &&
	    modem_registered())
		snprintf(buf + o, len - (size_t)o, ",\"%s\",\"%s\",%d",
		    MODEM_TAC, MODEM_CI, MODEM_ACT);
}

/* Recomputes the registration status; URCs for those who asked. */
static void
modem_update_reg(void)
{
	char	 buf[128];
	int	 stat, k;

	if (m.cfun != 1)
		stat = 0;
	else if (m.searching || m.dereg)
		stat = 2;
	else
		stat = 1;
	if (stat == m.stat)
		return;
	log_msg("registration %d -> %d", m.stat, stat);
	m.stat = stat;
	for (k = 0; k < REG_NKINDS; k++) {
		if (m.reg_n[k] == 0)
			continue;
		reg_format(buf, sizeof(buf), k, 0);
		at_urc("%s", buf);
	}
}

static void
modem_register_cb(evutil_socket_t fd, short what, void *arg)
{
	m.searching = 0;
	modem_update_reg();
}

static void
modem_rereg_cb(evutil_socket_t fd, short what, void *arg)
{
	m.dereg = 0;
	modem_update_reg();
}

static void
modem_start_search(void)
{
	struct timeval	 tv;

	evtimer_del(ev_register);
	if (opts.register_delay_ms <= 0) {
		m.searching = 0;
		return;
	}
	m.searching = 1;
	tv.tv_sec = opts.register_delay_ms / 1000;
	tv.tv_usec = (opts.register_delay_ms % 1000) * 1000;
	evtimer_add(ev_register, &tv);
}

void
modem_boot(void)
{
	int	 i;

	m.echo = 1;
	m.cmee = 0;
	for (i = 0; i < REG_NKINDS; i++)
		m.reg_n[i] = 0;
	m.cfun = 1;
	m.dereg = 0;
	m.ifc_dce = m.ifc_dte = 0;
	m.urc_uart = !(opts.quirks & QUIRK_URCPORT_USBAT);
	m.last_err = 0;
	for (i = 1; i <= SIM_NCTX; i++)
		m.ctx[i].active = 0;
	m.stat = 0;
	modem_start_search();
	m.stat = m.searching ? 2 : 1;
	log_msg("boot (registration %d)", m.stat);
	at_line_force("RDY");
	if (opts.quirks & QUIRK_BOOT_URCS) {
		at_line_force("+CFUN: 1");
		at_line_force("+CPIN: READY");
		at_line_force("+QUSIM: 1");
		at_line_force("+QIND: SMS DONE");
		at_line_force("APP RDY");
	}
	at_boot();
}

/* Everything that does not survive a power cycle goes. */
static void
modem_off(void)
{
	int	 i;

	at_down();
	trans_reset();
	slot_reset_all();
	evtimer_del(ev_register);
	evtimer_del(ev_reboot);
	evtimer_del(ev_rereg);
	for (i = 1; i <= SIM_NCTX; i++)
		m.ctx[i].active = 0;
}

/*
 * Power off, saying "POWERED DOWN" if told to, and boot again after
 * delay_ms.  A negative delay boots nothing (the serial line is going
 * away, and pty.c boots the modem when it comes back).
 */
static void
modem_power_off(int say, long delay_ms)
{
	struct timeval	 tv;

	if (say && pty_is_up())
		at_line_force("POWERED DOWN");
	modem_off();
	/* Input sent before the power-down is lost, not run after RDY. */
	pty_drop_input();
	if (delay_ms < 0)
		return;
	tv.tv_sec = delay_ms / 1000;
	tv.tv_usec = (delay_ms % 1000) * 1000;
	evtimer_add(ev_reboot, &tv);
}

/* Reset: "POWERED DOWN", then RDY after delay_ms. */
void
modem_reboot(long delay_ms)
{
	log_msg("reboot");
	modem_power_off(delay_ms >= 0, delay_ms);
}

static void
modem_reboot_cb(evutil_socket_t fd, short what, void *arg)
{
	modem_boot();
}

/* The network dropped the context: every socket on it goes to state 4. */
void
modem_pdpdeact(int cid)
{
	if (cid < 1 || cid > SIM_NCTX)
		return;
	m.ctx[cid].active = 0;
	at_urc("+QIURC: \"pdpdeact\",%d", cid);
	slot_ctx_down(cid, 0);
}

void
modem_deregister(long secs)
{
	struct timeval	 tv;

	m.dereg = 1;
	modem_update_reg();
	tv.tv_sec = secs;
	tv.tv_usec = 0;
	evtimer_add(ev_rereg, &tv);
}

/*
 * The handlers below see only the forms and argument counts their line
 * of cmd_table accepts; the test form's fixed answer is the table's too.
 */

/* AT, ATE0, ATE1, AT&D0, AT&W: nothing to do but OK. */
static void
cmd_at(struct at_cmd *c)
{
	at_ok();
}

static void
cmd_ate(struct at_cmd *c)
{
	m.echo = strcmp(c->name, "ATE1") == 0;
	at_ok();
}

/* ATZ, AT&F: back to the stored profile (echo on, numeric errors off). */
static void
cmd_atz(struct at_cmd *c)
{
	m.echo = 1;
	m.cmee = 0;
	at_ok();
}

/*
 * AT+QPOWD: "POWERED DOWN" (not for the immediate form), then the modem
 * is off.  There is no PWRKEY here: it comes back by itself a little later,
 * as a board with a power-on circuit would bring it back.
 */
static void
cmd_qpowd(struct at_cmd *c)
{
	long	 mode = 1;

	if (c->kind == AT_SET && at_arg_int(c, 0, 0, 1, &mode) == -1) {
		at_error();
		return;
	}
	at_ok();
	modem_power_off(mode == 1, MODEM_POWERON_MS);
}

static void
cmd_ati(struct at_cmd *c)
{
	at_info("Quectel");
	at_info("BG96");
	at_info("Revision: %s", MODEM_REVISION);
	at_ok();
}

static void
cmd_gmi(struct at_cmd *c)
{
	if (strcmp(c->name, "AT+GMI") == 0)
		at_info("Quectel");
	else if (strcmp(c->name, "AT+GMM") == 0)
		at_info("BG96");
	else
		at_info("Revision: %s", MODEM_REVISION);
	at_ok();
}

static void
cmd_gsn(struct at_cmd *c)
{
	at_info("%s", MODEM_IMEI);
	at_ok();
}

static void
cmd_qccid(struct at_cmd *c)
{
	if (m.cfun != 1) {
		at_cme(13);
		return;
	}
	at_info("+QCCID: %s", MODEM_ICCID);
	at_ok();
}

static void
cmd_qgmr(struct at_cmd *c)
{
	at_info("%s", MODEM_QGMR);
	at_ok();
}

static void
cmd_cmee(struct at_cmd *c)
{
	long	 n;

	switch (c->kind) {
	case AT_SET:
		if (at_arg_int(c, 0, 0, 2, &n) == -1) {
			at_error();
			return;
		}
		m.cmee = (int)n;
		break;
	case AT_READ:
		at_info("+CMEE: %d", m.cmee);
		break;
	default:
		m.cmee = 0;
		break;
	}
	at_ok();
}

static void
cmd_ifc(struct at_cmd *c)
{
	long	 a, b;

	if (c->kind == AT_READ) {
		at_info("+IFC: %d,%d", m.ifc_dce, m.ifc_dte);
		at_ok();
		return;
	}
	if (at_arg_int(c, 0, 0, 2, &a) == -1 ||
	    at_arg_int(c, 1, 0, 2, &b) == -1 || a == 1 || b == 1) {
		at_error();
		return;
	}
	m.ifc_dce = (int)a;
	m.ifc_dte = (int)b;
	at_ok();
}

static void
cmd_ipr(struct at_cmd *c)
{
	static const long rates[] = { 9600, 19200, 38400, 57600, 115200,
	    230400, 460800, 921600 };
	size_t	 i;
	long	 r;

	if (c->kind == AT_READ) {
		at_info("+IPR: %ld", opts.baud > 0 ? opts.baud : 115200);
		at_ok();
		return;
	}
	if (at_arg_int(c, 0, 0, 4000000, &r) == -1) {
		at_error();
		return;
	}
	for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		if (rates[i] == r)
			break;
	if (i == sizeof(rates) / sizeof(rates[0])) {
		at_error();
		return;
	}
	log_msg("AT+IPR=%ld ignored: the emulated line keeps its rate", r);
	at_ok();
}

static void
cmd_cpin(struct at_cmd *c)
{
	if (c->kind == AT_SET) {
		at_cme(3);	/* no PIN is asked for */
		return;
	}
	at_info("+CPIN: READY");
	at_ok();
}

static void
cmd_csq(struct at_cmd *c)
{
	if (m.cfun == 1)
		at_info("+CSQ: 20,99");
	else
		at_info("+CSQ: 99,99");
	at_ok();
}

static void
cmd_qcsq(struct at_cmd *c)
{
	if (modem_registered())
		at_info("+QCSQ: \"CAT-M1\",-73,-102,165,-12");
	else
		at_info("+QCSQ: \"NOSERVICE\"");
	at_ok();
}

static void
cmd_qnwinfo(struct at_cmd *c)
{
	if (modem_registered())
		at_info("+QNWINFO: \"CAT-M1\",\"26201\",\"LTE BAND 20\",6300");
	else
		at_info("+QNWINFO: No Service");
	at_ok();
}

static void
cmd_cops(struct at_cmd *c)
{
	long	 mode;

	switch (c->kind) {
	case AT_READ:
		if (modem_registered())
			at_info("+COPS: 0,0,\"%s\",%d", MODEM_OPERATOR,
			    MODEM_ACT);
		else
			at_info("+COPS: 0");
		break;
	case AT_SET:
		if (at_arg_int(c, 0, 0, 4, &mode) == -1) {
			at_error();
			return;
		}
		break;
	default:
		at_info("+COPS: (1,\"%s\",\"%s\",\"26201\",%d),,(0-4),(0-2)",
		    MODEM_OPERATOR, MODEM_OPERATOR, MODEM_ACT);
		break;
	}
	at_ok();
}

static void
cmd_creg(struct at_cmd *c)
{
	char	 buf[128];
	long	 n;
	int	 k;

	if (strcmp(c->name, "AT+CREG") == 0)
		k = REG_CREG;
	else if (strcmp(c->name, "AT+CGREG") == 0)
		k = REG_CGREG;
	else
		k = REG_CEREG;
	switch (c->kind) {
	case AT_SET:
		if (at_arg_int(c, 0, 0, k == REG_CEREG ? 5 : 2, &n) == -1) {
			at_error();
			return;
		}
		m.reg_n[k] = n > 2 ? 2 : (int)n;
		break;
	case AT_READ:
		reg_format(buf, sizeof(buf), k, 1);
		at_info("%s", buf);
		break;
	default:
		at_info("%s: (0-%d)", reg_prefix[k], k == REG_CEREG ? 5 : 2);
		break;
	}
	at_ok();
}

static void
cmd_qurccfg(struct at_cmd *c)
{
	const char	*what, *port;

	if ((what = at_arg_str(c, 0)) == NULL ||
	    strcasecmp(what, "urcport") != 0) {
		at_error();
		return;
	}
	if (c->nargs == 1) {
		at_info("+QURCCFG: \"urcport\",\"%s\"",
		    m.urc_uart ? "uart1" : "usbat");
		at_ok();
		return;
	}
	if ((port = at_arg_str(c, 1)) == NULL) {
		at_error();
		return;
	}
	if (strcasecmp(port, "uart1") == 0)
		m.urc_uart = 1;
	else if (strcasecmp(port, "usbat") == 0 ||
	    strcasecmp(port, "usbmodem") == 0)
		m.urc_uart = 0;
	else {
		at_error();
		return;
	}
	log_msg("URC port: %s", port);
	at_ok();
}

static int
ctx_copy(char *dst, const char *src)
{
	if (src == NULL || strlen(src) >= CTX_STRMAX)
		return -1;
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

static void
cmd_qicsgp(struct at_cmd *c)
{
	struct pdp_ctx	 tmp, *x;
	long		 cid, type, auth;

	if (at_arg_int(c, 0, 1, SIM_NCTX, &cid) == -1) {
		at_error();
		return;
	}
	x = &m.ctx[cid];
	if (c->nargs == 1) {
		at_info("+QICSGP: %d,\"%s\",\"%s\",\"%s\",%d", x->type, x->apn,
		    x->user, x->pass, x->auth);
		at_ok();
		return;
	}
	tmp = *x;
	if ((c->nargs != 3 && c->nargs != 5 && c->nargs != 6) ||
	    at_arg_int(c, 1, 1, 3, &type) == -1 ||
	    ctx_copy(tmp.apn, at_arg_str(c, 2)) == -1) {
		at_error();
		return;
	}
	tmp.type = (int)type;
	tmp.user[0] = tmp.pass[0] = '\0';
	tmp.auth = 0;
	if (c->nargs >= 5 && (ctx_copy(tmp.user, at_arg_str(c, 3)) == -1 ||
	    ctx_copy(tmp.pass, at_arg_str(c, 4)) == -1)) {
		at_error();
		return;
	}
	if (c->nargs == 6) {
		if (at_arg_int(c, 5, 0, 3, &auth) == -1) {
			at_error();
			return;
		}
		tmp.auth = (int)auth;
	}
	*x = tmp;
	at_ok();
}

static void
ctx_line(int cid)
{
	const struct pdp_ctx	*x = &m.ctx[cid];

	/* An IPv4v6 context is shown by its IPv4 address (unverified). */
	if (x->type == 2)
		at_info("+QIACT: %d,1,2,\"2001:DB8:0:%X::11\"", cid, cid);
	else
		at_info("+QIACT: %d,1,1,\"10.44.0.%d\"", cid, 16 + cid);
}

static void
cmd_qiact(struct at_cmd *c)
{
	long	 cid;
	int	 i;

	if (c->kind == AT_READ) {
		for (i = 1; i <= SIM_NCTX; i++)
			if (m.ctx[i].active)
				ctx_line(i);
		at_ok();
		return;
	}
	if (at_arg_int(c, 0, 1, SIM_NCTX, &cid) == -1) {
		at_error();
		return;
	}
	if (m.ctx[cid].active) {
		log_msg("AT+QIACT=%ld: context already active", cid);
		at_tcpip_error(572);
		return;
	}
	if (!modem_registered()) {
		log_msg("AT+QIACT=%ld: not registered", cid);
		at_tcpip_error(561);
		return;
	}
	m.ctx[cid].active = 1;
	log_msg("context %ld active", cid);
	at_ok();
}

static void
cmd_qideact(struct at_cmd *c)
{
	long	 cid;

	if (at_arg_int(c, 0, 1, SIM_NCTX, &cid) == -1) {
		at_error();
		return;
	}
	m.ctx[cid].active = 0;
	slot_ctx_down((int)cid, 1);
	log_msg("context %ld inactive", cid);
	at_ok();
}

static void
cmd_qigeterror(struct at_cmd *c)
{
	const char	*text = at_err_text(m.last_err);

	at_info("+QIGETERROR: %d,%s", m.last_err,
	    text != NULL ? text : "unknown error");
	at_ok();
}

static void
cmd_cfun(struct at_cmd *c)
{
	long	 fun, rst = 0;
	int	 i;

	if (c->kind == AT_READ) {
		at_info("+CFUN: %d", m.cfun);
		at_ok();
		return;
	}
	if (at_arg_int(c, 0, 0, 4, &fun) == -1 ||
	    (fun != 0 && fun != 1 && fun != 4) ||
	    (c->nargs == 2 && at_arg_int(c, 1, 0, 1, &rst) == -1)) {
		at_error();
		return;
	}
	if (rst) {
		at_ok();
		modem_reboot(MODEM_RESET_MS);
		return;
	}
	if (fun == m.cfun) {
		at_ok();
		return;
	}
	if (fun == 1) {
		m.cfun = 1;
		modem_start_search();
	} else {
		/* Radio off: the PDP contexts and their sockets are lost. */
		m.cfun = (int)fun;
		for (i = 1; i <= SIM_NCTX; i++)
			if (m.ctx[i].active)
				modem_pdpdeact(i);
	}
	at_ok();
	modem_update_reg();
}

static void
cmd_qidnsgip(struct at_cmd *c)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	const char		*name;
	char			 ip[INET6_ADDRSTRLEN];
	long			 cid;

	if (at_arg_int(c, 0, 1, SIM_NCTX, &cid) == -1 ||
	    (name = at_arg_str(c, 1)) == NULL) {
		at_tcpip_error(552);
		return;
	}
	if (!m.ctx[cid].active) {
		at_tcpip_error(561);
		return;
	}
	at_ok();
	if (slot_resolve(name, &ss, &sl) == -1) {
		modem_set_error(565);
		at_urc("+QIURC: \"dnsgip\",565");
		return;
	}
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
		    ip, sizeof(ip));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    ip, sizeof(ip));
	at_urc("+QIURC: \"dnsgip\",0,1,%d", MODEM_DNS_TTL);
	at_urc("+QIURC: \"dnsgip\",\"%s\"", ip);
}

/*
 * The command table: the one skeleton of every command.  A line says
 * which forms its handler answers (any other form is an error), how many
 * arguments its set form takes (other counts are an error), the test
 * form's answer when it is fixed (the line, or "" for a bare OK; NULL:
 * the handler answers it, if its forms include it), and which error a
 * wrong form or count gets (0: ERROR; else that TCP/IP error, ERROR or
 * +CME ERROR: 5xx).
 */
#define F_EXEC	(1U << AT_EXEC)
#define F_READ	(1U << AT_READ)
#define F_TEST	(1U << AT_TEST)
#define F_SET	(1U << AT_SET)
#define F_ANY	(F_EXEC | F_READ | F_TEST | F_SET)
#define NARGS	SIM_MAXARGS

static const struct cmd_def {
	const char	*name;
	unsigned int	 forms;
	int		 min_args;
	int		 max_args;
	const char	*test;
	int		 err;
	void		(*fn)(struct at_cmd *);
} cmd_table[] = {
	{ "AT",		F_ANY,	0, NARGS, NULL, 0,	cmd_at },
	{ "ATE",	F_ANY,	0, NARGS, NULL, 0,	cmd_ate },
	{ "ATE0",	F_ANY,	0, NARGS, NULL, 0,	cmd_ate },
	{ "ATE1",	F_ANY,	0, NARGS, NULL, 0,	cmd_ate },
	{ "ATI",	F_ANY,	0, NARGS, NULL, 0,	cmd_ati },
	{ "AT&D",	F_ANY,	0, NARGS, NULL, 0,	cmd_at },
	{ "AT&D0",	F_ANY,	0, NARGS, NULL, 0,	cmd_at },
	{ "AT&D1",	F_ANY,	0, NARGS, NULL, 0,	cmd_at },
	{ "AT&D2",	F_ANY,	0, NARGS, NULL, 0,	cmd_at },
	{ "AT&C0",	F_ANY,	0, NARGS, NULL, 0,	cmd_at },
	{ "AT&C1",	F_ANY,	0, NARGS, NULL, 0,	cmd_at },
	{ "AT&W",	F_ANY,	0, NARGS, NULL, 0,	cmd_at },
	{ "ATZ",	F_ANY,	0, NARGS, NULL, 0,	cmd_atz },
	{ "ATZ0",	F_ANY,	0, NARGS, NULL, 0,	cmd_atz },
	{ "AT&F",	F_ANY,	0, NARGS, NULL, 0,	cmd_atz },
	{ "AT&F0",	F_ANY,	0, NARGS, NULL, 0,	cmd_atz },
	{ "ATO",	F_EXEC,	0, 0, NULL, 0,		cmd_ato },
	{ "ATO0",	F_EXEC,	0, 0, NULL, 0,		cmd_ato },
	{ "AT+QPOWD",	F_EXEC | F_SET, 1, 1, "+QPOWD: (0,1)", 0, cmd_qpowd },
	{ "AT+GMI",	F_EXEC,	0, 0, "", 0,		cmd_gmi },
	{ "AT+GMM",	F_EXEC,	0, 0, "", 0,		cmd_gmi },
	{ "AT+GMR",	F_EXEC,	0, 0, "", 0,		cmd_gmi },
	{ "AT+GSN",	F_EXEC,	0, 0, "", 0,		cmd_gsn },
	{ "AT+CGSN",	F_EXEC,	0, 0, "", 0,		cmd_gsn },
	{ "AT+QCCID",	F_EXEC,	0, 0, "", 0,		cmd_qccid },
	{ "AT+QGMR",	F_EXEC,	0, 0, "", 0,		cmd_qgmr },
	{ "AT+CMEE",	F_EXEC | F_READ | F_SET, 1, 1, "+CMEE: (0-2)", 0,
	    cmd_cmee },
	{ "AT+IFC",	F_READ | F_SET, 2, 2, "+IFC: (0,2),(0,2)", 0,
	    cmd_ifc },
	{ "AT+IPR",	F_READ | F_SET, 1, NARGS, "+IPR: (),(9600,19200,"
	    "38400,57600,115200,230400,460800,921600)", 0, cmd_ipr },
	{ "AT+CPIN",	F_READ | F_SET, 0, NARGS, "", 0,	cmd_cpin },
	{ "AT+CSQ",	F_EXEC,	0, 0, "+CSQ: (0-31,99),(0-7,99)", 0,
	    cmd_csq },
	{ "AT+QCSQ",	F_EXEC,	0, 0, "", 0,		cmd_qcsq },
	{ "AT+QNWINFO",	F_EXEC,	0, 0, "", 0,		cmd_qnwinfo },
	{ "AT+COPS",	F_READ | F_TEST | F_SET, 1, NARGS, NULL, 0,
	    cmd_cops },
	{ "AT+CREG",	F_READ | F_TEST | F_SET, 1, 1, NULL, 0, cmd_creg },
	{ "AT+CGREG",	F_READ | F_TEST | F_SET, 1, 1, NULL, 0, cmd_creg },
	{ "AT+CEREG",	F_READ | F_TEST | F_SET, 1, 1, NULL, 0, cmd_creg },
	{ "AT+QURCCFG",	F_SET,	1, 2, "+QURCCFG: \"urcport\",(\"usbat\","
	    "\"usbmodem\",\"uart1\")", 0, cmd_qurccfg },
	{ "AT+QICSGP",	F_SET,	1, 6, "+QICSGP: (1-16),(1-3),<APN>,"
	    "<username>,<password>,(0-3)", 0, cmd_qicsgp },
	{ "AT+QIACT",	F_READ | F_SET, 1, 1, "+QIACT: (1-16)", 0,
	    cmd_qiact },
	{ "AT+QIDEACT",	F_SET,	1, 1, "+QIDEACT: (1-16)", 0, cmd_qideact },
	/* transpktsize, transwaittm; the rest is accepted and ignored. */
	{ "AT+QICFG",	F_ANY,	0, NARGS, NULL, 0,	cmd_qicfg },
	{ "AT+QIGETERROR", F_EXEC, 0, 0, "", 0,		cmd_qigeterror },
	{ "AT+CFUN",	F_READ | F_SET, 1, 2, "+CFUN: (0,1,4),(0-1)", 0,
	    cmd_cfun },
	{ "AT+QIDNSGIP", F_SET,	2, 2, "", 552,		cmd_qidnsgip },
	{ "AT+QIOPEN",	F_SET,	5, 7, "+QIOPEN: (1-16),(0-11),\"TCP/UDP/"
	    "TCP LISTENER/UDP SERVICE\",\"<IP_address>/<domain_name>\","
	    "<remote_port>,<local_port>,(0-2)", 552, cmd_qiopen },
	{ "AT+QICLOSE",	F_SET,	1, 2, "+QICLOSE: (0-11),(0-65535)", 552,
	    cmd_qiclose },
	{ "AT+QISEND",	F_SET,	1, 4, "+QISEND: (0-11),(0-1460)", 552,
	    cmd_qisend },
	{ "AT+QIRD",	F_SET,	1, 2, "+QIRD: (0-11),(0-1500)", 552,
	    cmd_qird },
	{ "AT+QISWTMD",	F_SET,	2, 2, "+QISWTMD: (0-11),(0-2)", 552,
	    cmd_qiswtmd },
	{ "AT+QISTATE",	F_EXEC | F_READ | F_SET, 2, 2, "", 552,
	    cmd_qistate },
};

/* The one skeleton: the table's form, count and test answers, then fn. */
static void
cmd_run(const struct cmd_def *d, struct at_cmd *c)
{
	if (c->kind == AT_TEST && d->test != NULL) {
		if (*d->test != '\0')
			at_info("%s", d->test);
		at_ok();
		return;
	}
	if (!(d->forms & (1U << c->kind)) || (c->kind == AT_SET &&
	    (c->nargs < d->min_args || c->nargs > d->max_args))) {
		if (d->err != 0)
			at_tcpip_error(d->err);
		else
			at_error();
		return;
	}
	d->fn(c);
}

void
cmd_dispatch(struct at_cmd *c)
{
	size_t	 i;

	for (i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]); i++) {
		if (strcmp(cmd_table[i].name, c->name) == 0) {
			cmd_run(&cmd_table[i], c);
			return;
		}
	}
	log_msg("unknown command %s", c->name);
	at_error();
}
