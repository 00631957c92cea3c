/*
 * modem.c: the modem's state machine.
 *
 * One function writes the state (modem_set_state) and logs
 * "old -> new (why)".  Bring-up is a fixed list of steps run through the
 * command queue; a step's answer decides whether to go on, wait, or
 * recover.  Recovery backs off exponentially up to [modem] backoff_max.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bg96d/at.h"
#include "bg96d/atq.h"
#include "bg96d/cmdfam.h"
#include "bg96d/conf.h"
#include "bg96d/events.h"
#include "bg96d/evtimer.h"
#include "bg96d/log.h"
#include "bg96d/mline.h"
#include "bg96d/modem.h"
#include "bg96d/radio.h"
#include "bg96d/serial.h"
#include "bg96d/timeouts.h"
#include "bg96d/util.h"

/* Bring-up steps, in order. */
enum step {
	STEP_ATE0,
	STEP_CMEE,
	STEP_QISTATE,
	STEP_IFC,
	STEP_ATI,
	STEP_GSN,
	STEP_QGMR,
	STEP_CPIN,
	STEP_QCCID,
	STEP_URCPORT,
	STEP_TRANSPKTSIZE,
	STEP_TRANSWAITTM,
	STEP_DCD,
	STEP_QICSGP,
	STEP_CEREG_URC,
	STEP_CGREG_URC,
	STEP_CREG_URC,
	STEP__INIT_DONE,
};

struct modem {
	struct event_base	*base;
	const struct conf	*conf;
	struct modem_ops	 ops;
	void			*arg;
	struct atq		*atq;
	struct atq_job		*health;	/* READY: modem_health_* */
	struct radio		*radio;		/* READY: signal, operator */
	struct serial		*serial;
	enum modem_state	 state;
	struct event		*timer;		/* the state's one timer */
	long long		 state_since;
	long long		 probe_deadline;
	int			 backoff_ms;
	int			 step;
	bool			 pin_rejected;	/* never retry a wrong PIN */
	bool			 pin_sent;
	int			 sim_busy_tries;
	int			 reg_poll;	/* which CxREG? is next */
	int			 reg[3];	/* CEREG, CGREG, CREG stat */
	bool			 ctx_active;
	bool			 ctx_checking;	/* modem_check_context() */
	bool			 ctx_seen;
	struct modem_info	 info;
	struct modem_counters	 counters;
	char			 last_line[256];	/* info line of a step */
	int			 stale[AT_NSLOTS];
	int			 nstale;
	unsigned int		 listed;	/* slots AT+QISTATE listed */
	int			 silent_streak;	/* recoveries: modem mute */
	int			 act_failures;	/* AT+QIACT refused in a row */
	bool			 await_rdy;	/* after AT+CFUN=1,1 */
	pid_t			 reset_pid;	/* reset_command running */
	long long		 reset_deadline;
	long long		 reg_lost_at;	/* READY but unregistered since */
};

static const char *state_names[] = {
	[MODEM_ABSENT] = "absent",
	[MODEM_PROBING] = "probing",
	[MODEM_INITIALIZING] = "initializing",
	[MODEM_REGISTERING] = "registering",
	[MODEM_ACTIVATING] = "activating",
	[MODEM_READY] = "ready",
	[MODEM_RECOVERING] = "recovering",
};

static void	modem_set_state(struct modem *, enum modem_state, const char *);
static void	modem_timer_cb(evutil_socket_t, short, void *);
static void	modem_urc(void *, const char *);
static void	modem_lost(void *, const char *);
static void	modem_unresponsive(void *);
static void	modem_probe(struct modem *);
static void	modem_init_step(struct modem *);
static void	modem_reg_poll(struct modem *);
static void	modem_activate(struct modem *);
static void	modem_recover(struct modem *, const char *);
static void	modem_backoff(struct modem *, enum modem_state, const char *);
static void	modem_escalate(struct modem *, const char *);
static void	modem_health_tick(void *);
static struct atq_cmd *modem_reg_query(struct modem *, int,
		    void (*)(void *, enum atq_result, const struct at_event *));
static struct atq_cmd *modem_health_make(void *);
static bool	modem_parse_reg(const char *, int *, int *);
static void	modem_reg_update(struct modem *);
static bool	modem_registered(const struct modem *);
static void	modem_silent(struct modem *, const char *);
static void	modem_echo(void *, const char *);
static void	modem_qistate_line(void *, const char *);

static const struct atq_job_ops health_ops = {
	.tick = modem_health_tick,
	.make = modem_health_make,
	.escape = true,		/* auto mode: held URCs come after "+++" */
};

const char *
modem_state_name(enum modem_state s)
{
	return state_names[s];
}

struct modem *
modem_new(struct event_base *base, const struct conf *conf,
    const struct modem_ops *ops, void *arg)
{
	static const struct atq_ops aops = {
		.urc = modem_urc,
		.lost = modem_lost,
		.unresponsive = modem_unresponsive,
		.echo = modem_echo,
	};
	struct modem	*m = xcalloc(1, sizeof(*m));

	m->base = base;
	m->ops = *ops;
	m->arg = arg;
	m->atq = atq_new(base, &aops, m);
	m->radio = radio_new(m->atq);
	/* No socket commands before MODEM_READY (modem_set_state). */
	atq_sockets_ready(m->atq, false);
	m->timer = evtimer_new(base, modem_timer_cb, m);
	m->state = MODEM_ABSENT;
	m->state_since = now_ms();
	m->info.reg_stat = -1;
	m->info.act = -1;
	modem_set_conf(m, conf);
	return m;
}

void
modem_free(struct modem *m)
{
	if (m == NULL)
		return;
	radio_free(m->radio);
	atq_free(m->atq);
	serial_close(m->serial);
	event_free(m->timer);
	free(m);
}

void
modem_set_conf(struct modem *m, const struct conf *c)
{
	m->conf = c;
	atq_set_line_rate(m->atq, c->modem.baud);
	atq_set_timeout(m->atq, TMO_COMMAND, c->timeouts.command * 1000);
	atq_set_timeout(m->atq, TMO_PROMPT, c->timeouts.prompt * 1000);
	atq_set_timeout(m->atq, TMO_SEND, c->timeouts.send * 1000);
	atq_set_timeout(m->atq, TMO_QICLOSE, c->timeouts.qiclose * 1000);
	atq_set_timeout(m->atq, TMO_QIACT, c->timeouts.qiact * 1000);
	atq_set_timeout(m->atq, TMO_QIDEACT, c->timeouts.qideact * 1000);
	atq_set_timeout(m->atq, TMO_QIOPEN_CONNECT, c->timeouts.qiopen * 1000);
}

struct atq *
modem_atq(struct modem *m)
{
	return m->atq;
}

enum modem_state
modem_state(const struct modem *m)
{
	return m->state;
}

const struct modem_info *
modem_info(const struct modem *m)
{
	return &m->info;
}

const struct radio_info *
modem_radio(const struct modem *m)
{
	return radio_info(m->radio);
}

long long
modem_retry_in(const struct modem *m)
{
	if ((m->state != MODEM_RECOVERING && m->state != MODEM_ABSENT) ||
	    m->await_rdy)
		return -1;
	return (long long)m->backoff_ms - (now_ms() - m->state_since);
}

const struct modem_counters *
modem_counters(const struct modem *m)
{
	return &m->counters;
}

static void
modem_arm(struct modem *m, int ms)
{
	evtimer_add_ms(m->timer, ms);
}

/* The only writer of m->state. */
static void
modem_set_state(struct modem *m, enum modem_state new, const char *why)
{
	enum modem_state	 old = m->state;

	evtimer_del(m->timer);
	if (old != new)
		log_info("modem: %s -> %s (%s)", state_names[old],
		    state_names[new], why);
	m->state = new;
	m->state_since = now_ms();
	/* The slots' commands go out in READY only. */
	atq_sockets_ready(m->atq, new == MODEM_READY);
	atq_job_del(m->health);
	m->health = NULL;
	radio_stop(m->radio);
	if (m->ops.state_changed != NULL)
		m->ops.state_changed(m->arg, new, why);

	switch (new) {
	case MODEM_ABSENT:
		break;
	case MODEM_PROBING:
		m->probe_deadline = now_ms() + BOOT_PROBE_S * 1000LL;
		modem_probe(m);
		break;
	case MODEM_INITIALIZING:
		m->step = STEP_ATE0;
		m->sim_busy_tries = 0;
		modem_init_step(m);
		break;
	case MODEM_REGISTERING:
		m->reg[0] = m->reg[1] = m->reg[2] = -1;
		m->reg_poll = 0;
		modem_reg_poll(m);
		break;
	case MODEM_ACTIVATING:
		modem_activate(m);
		break;
	case MODEM_READY:
		m->backoff_ms = 0;
		m->silent_streak = 0;
		m->act_failures = 0;
		m->reg_lost_at = 0;
		m->counters.bringups++;
		m->health = atq_job_add(m->atq, HEALTH_POLL_MS, &health_ops,
		    m);
		radio_start(m->radio);
		if (m->ops.ready != NULL)
			m->ops.ready(m->arg);
		break;
	case MODEM_RECOVERING:
		break;
	}
}

/* Sockets are gone: tell the socket layer once. */
static void
modem_sockets_down(struct modem *m, const char *why)
{
	if (m->ops.down != NULL)
		m->ops.down(m->arg, why);
}

/* Open the serial line, or retry later. */
static void
modem_open(struct modem *m)
{
	char	 err[256];

	m->serial = serial_open(m->conf->modem.device, m->conf->modem.baud,
	    m->conf->modem.flow_control == CONF_FLOW_RTSCTS, err, sizeof(err));
	if (m->serial == NULL) {
		m->counters.line_lost++;
		modem_backoff(m, MODEM_ABSENT, err);
		return;
	}
	atq_attach(m->atq, serial_fd(m->serial));
	modem_set_state(m, MODEM_PROBING, "serial line open");
}

void
modem_start(struct modem *m)
{
	modem_open(m);
}

/*
 * Recovery policy, in one place.  Every cause lands in one of three
 * functions:
 * - modem_recover(): the line is gone or unusable (EOF/EIO, open fails):
 *   drop it, reopen after an exponential backoff capped at backoff_max.
 * - modem_silent(): the line is there but the modem does not answer:
 *   as modem_recover(), and from the second time in a row the optional
 *   [modem] reset_command (GPIO power cycle) runs before the reopen.
 * - modem_escalate(): the modem answers but is stuck (no registration,
 *   no context, bring-up refused): AT+CFUN=1,1, wait for RDY, bring up
 *   again; if even that fails, modem_silent().
 * Unexpected RDY / POWERED DOWN and PDP loss are handled where they are
 * seen (modem_urc): all sockets go, bring-up resumes at the right step.
 * Each closes the affected sockets first (ops.down), so no client hangs.
 */
static void
modem_recover(struct modem *m, const char *why)
{
	modem_backoff(m, MODEM_RECOVERING, why);
}

/* Drop the line; state is RECOVERING, or ABSENT if it cannot be opened. */
static void
modem_backoff(struct modem *m, enum modem_state st, const char *why)
{
	int	 cap = m->conf->modem.backoff_max * 1000;

	events_recovery("reopen", why);
	modem_sockets_down(m, why);
	atq_detach(m->atq);
	serial_close(m->serial);
	m->serial = NULL;
	m->ctx_active = false;
	m->await_rdy = false;
	m->info.ip[0] = '\0';
	if (m->backoff_ms == 0)
		m->backoff_ms = BACKOFF_MIN_MS;
	else if (m->backoff_ms < cap)
		m->backoff_ms *= 2;
	if (m->backoff_ms > cap)
		m->backoff_ms = cap;
	modem_set_state(m, st, why);
	log_info("modem: retrying in %d ms", m->backoff_ms);
	modem_arm(m, m->backoff_ms);
}

static void
modem_silent(struct modem *m, const char *why)
{
	m->counters.unresponsive++;
	m->silent_streak++;
	modem_recover(m, why);
}

static void
modem_cfun_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct modem	*m = arg;

	if (m->state != MODEM_RECOVERING || !m->await_rdy ||
	    res == ATQ_RES_ABORTED)
		return;
	if (res != ATQ_RES_OK) {
		m->await_rdy = false;
		modem_silent(m, "AT+CFUN=1,1 not accepted");
		return;
	}
	log_info("modem: restarting; waiting up to %d s for RDY",
	    BOOT_PROBE_S);
}

static void
modem_escalate(struct modem *m, const char *why)
{
	struct atq_cmd	*c;

	if (!atq_attached(m->atq)) {
		modem_silent(m, why);
		return;
	}
	m->counters.cfun_resets++;
	events_recovery("restart", why);
	modem_sockets_down(m, why);
	atq_abort_all(m->atq);
	m->ctx_active = false;
	m->info.ip[0] = '\0';
	modem_set_state(m, MODEM_RECOVERING, why);
	log_warnx("modem: restarting it with AT+CFUN=1,1");
	m->await_rdy = true;
	c = atq_cmd_new(TMO_CFUN, "AT+CFUN=1,1");
	c->on_done = modem_cfun_done;
	c->arg = m;
	atq_submit(m->atq, c, true);
	modem_arm(m, BOOT_PROBE_S * 1000);
}

/* Start [modem] reset_command; true if it is running. */
static bool
modem_run_reset(struct modem *m)
{
	const char	*cmd = m->conf->modem.reset_command;
	pid_t		 pid;

	if (cmd[0] == '\0' || m->silent_streak < 2)
		return false;
	m->silent_streak = 0;
	m->counters.reset_commands++;
	events_recovery("reset_command", cmd);
	log_warnx("modem: running reset_command %s", cmd);
	pid = fork();
	if (pid == -1) {
		log_warn("modem: fork for reset_command");
		return false;
	}
	if (pid == 0) {
		execl(cmd, cmd, m->conf->modem.device, (char *)NULL);
		_exit(127);
	}
	m->reset_pid = pid;
	m->reset_deadline = now_ms() + RESET_COMMAND_S * 1000LL;
	return true;
}

/* reset_command finished (or ran out of time)? */
static bool
modem_reset_done(struct modem *m)
{
	int	 status;
	pid_t	 r;

	if (m->reset_pid == 0)
		return true;
	r = waitpid(m->reset_pid, &status, WNOHANG);
	if (r == 0 && now_ms() < m->reset_deadline)
		return false;
	if (r == 0) {
		log_warnx("modem: reset_command still running after %d s; "
		    "killing it", RESET_COMMAND_S);
		kill(m->reset_pid, SIGKILL);
		waitpid(m->reset_pid, &status, 0);
	} else if (r > 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		log_warnx("modem: reset_command failed (status %d)", status);
	m->reset_pid = 0;
	return true;
}

void
modem_reset(struct modem *m, const char *why)
{
	m->pin_rejected = false;
	m->backoff_ms = 0;
	modem_recover(m, why);
}

static void
modem_health_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct modem	*m = arg;

	if (m->state != MODEM_READY || res != ATQ_RES_OK)
		return;		/* timeouts: the queue probes by itself */
	if (modem_registered(m))
		m->reg_lost_at = 0;
	else if (m->reg_lost_at == 0)
		m->reg_lost_at = now_ms();
}

/*
 * READY: a job of the queue (HEALTH_POLL_MS).  Every turn, give up on a
 * registration that stayed lost for registration_timeout (whatever the
 * line is doing); then, if the line is free, ask for the LTE
 * registration (a liveness probe too).
 */
static void
modem_health_tick(void *arg)
{
	struct modem	*m = arg;

	if (m->reg_lost_at != 0 && now_ms() - m->reg_lost_at >
	    m->conf->modem.registration_timeout * 1000LL) {
		m->counters.reg_timeouts++;
		modem_escalate(m, "registration lost for too long");
	}
}

static struct atq_cmd *
modem_health_make(void *arg)
{
	return modem_reg_query(arg, 0, modem_health_done);
}

static void
modem_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct modem	*m = arg;

	switch (m->state) {
	case MODEM_RECOVERING:
		if (m->await_rdy) {
			/* No RDY after AT+CFUN=1,1: probe anyway. */
			m->await_rdy = false;
			modem_set_state(m, MODEM_PROBING, "no RDY after restart");
			break;
		}
		if (m->reset_pid == 0 && modem_run_reset(m)) {
			modem_arm(m, RESET_COMMAND_POLL_MS);
			break;
		}
		if (!modem_reset_done(m)) {
			modem_arm(m, RESET_COMMAND_POLL_MS);
			break;
		}
		modem_open(m);
		break;
	case MODEM_ABSENT:
		modem_open(m);
		break;
	case MODEM_PROBING:
		modem_probe(m);
		break;
	case MODEM_INITIALIZING:
		modem_init_step(m);
		break;
	case MODEM_REGISTERING:
		if (now_ms() - m->state_since >
		    m->conf->modem.registration_timeout * 1000LL) {
			m->counters.reg_timeouts++;
			modem_escalate(m, "no network registration in time");
			return;
		}
		modem_reg_poll(m);
		break;
	case MODEM_ACTIVATING:
		modem_activate(m);
		break;
	case MODEM_READY:
		break;		/* the health check is an atq job */
	}
}

/* Every step's answer comes through here with the step it was for. */
static void
modem_line_cb(void *arg, const char *line)
{
	struct modem	*m = arg;

	strlcpy(m->last_line, line, sizeof(m->last_line));
}

static void
modem_probe_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct modem	*m = arg;

	if (m->state != MODEM_PROBING || res == ATQ_RES_ABORTED)
		return;
	if (res == ATQ_RES_OK) {
		/*
		 * That OK may answer a probe sent before a stall or a
		 * reopen, with more to come: let the line go quiet first.
		 */
		atq_resync(m->atq);
		modem_set_state(m, MODEM_INITIALIZING, "modem answers");
		return;
	}
	if (now_ms() > m->probe_deadline) {
		modem_silent(m, "modem does not answer AT");
		return;
	}
	/* ERROR or timeout (autobaud, boot in progress): try again. */
	modem_arm(m, res == ATQ_RES_TIMEOUT ? 0 : TMO_DEF_PROBE_MS);
}

static void
modem_probe(struct modem *m)
{
	struct atq_cmd	*c = atq_cmd_new(TMO_PROBE, "AT");

	c->on_done = modem_probe_done;
	c->arg = m;
	atq_submit(m->atq, c, false);
}

/* Copy the value after "PREFIX: " of the last info line. */
static void
modem_take(struct modem *m, const char *prefix, char *dst, size_t dstsz)
{
	const char	*s = m->last_line;
	size_t		 n = strlen(prefix);

	if (prefix[0] != '\0') {
		if (strncmp(s, prefix, n) != 0)
			return;
		s += n;
		while (*s == ' ')
			s++;
	}
	/* Identity strings are shown by the control socket: text only. */
	for (n = 0; s[n] != '\0'; n++)
		if (s[n] < 0x20 || s[n] > 0x7e || s[n] == '"') {
			log_warnx("modem: identity line with odd bytes "
			    "ignored");
			return;
		}
	strlcpy(dst, s, dstsz);
}

static void
modem_step_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct modem	*m = arg;
	const char	*l = m->last_line;

	if (m->state != MODEM_INITIALIZING || res == ATQ_RES_ABORTED)
		return;
	if (res == ATQ_RES_TIMEOUT) {
		modem_silent(m, "bring-up command timed out");
		return;
	}
	switch ((enum step)m->step) {
	case STEP_ATI:
		/* The last line of ATI is "Revision: ...". */
		modem_take(m, "Revision:", m->info.model,
		    sizeof(m->info.model));
		break;
	case STEP_GSN:
		modem_take(m, "", m->info.imei, sizeof(m->info.imei));
		break;
	case STEP_QGMR:
		modem_take(m, "", m->info.firmware, sizeof(m->info.firmware));
		break;
	case STEP_QCCID:
		modem_take(m, "+QCCID:", m->info.iccid,
		    sizeof(m->info.iccid));
		break;
	case STEP_CPIN:
		if (res == ATQ_RES_OK && strcmp(l, "+CPIN: READY") == 0)
			break;
		if (res == ATQ_RES_OK && strcmp(l, "+CPIN: SIM PIN") == 0) {
			if (m->conf->modem.pin[0] == '\0') {
				log_error("modem: the SIM asks for a PIN and "
				    "none is configured; waiting for an "
				    "operator");
				return;
			}
			if (m->pin_rejected) {
				log_error("modem: the SIM rejected the PIN "
				    "before; not trying again (an operator "
				    "must fix [modem] pin and run reset)");
				return;
			}
			m->pin_sent = true;
			{
				struct atq_cmd	*c = atq_cmd_new(TMO_CPIN,
				    "AT+CPIN=\"%s\"", m->conf->modem.pin);

				c->on_done = modem_step_done;
				c->arg = m;
				m->last_line[0] = '\0';
				atq_submit(m->atq, c, false);
			}
			return;
		}
		if (res == ATQ_RES_OK && m->pin_sent &&
		    m->last_line[0] == '\0') {
			/* AT+CPIN="..." accepted: ask again. */
			m->pin_sent = false;
			modem_arm(m, SIM_RETRY_MS);
			return;
		}
		if (res == ATQ_RES_ERROR && m->pin_sent) {
			m->pin_sent = false;
			m->pin_rejected = true;
			log_error("modem: the SIM rejected the configured PIN; "
			    "not retrying (a SIM locks after three wrong "
			    "PINs)");
			return;
		}
		if (res == ATQ_RES_OK && strncmp(l, "+CPIN: ", 7) == 0) {
			log_error("modem: SIM state \"%s\": waiting for an "
			    "operator", l + 7);
			return;
		}
		/* +CME ERROR 14 (SIM busy, just after boot) and friends. */
		if (++m->sim_busy_tries <= SIM_BUSY_TRIES) {
			modem_arm(m, SIM_RETRY_MS);
			return;
		}
		modem_escalate(m, "SIM not ready");
		return;
	case STEP_QISTATE:
		/*
		 * Slots not listed are free: in buffer mode until opened.
		 * Listed ones keep the mode the modem reported; they are
		 * closed once the context is up (modem_close_stale).
		 */
		if (res == ATQ_RES_OK) {
			int	 id;

			for (id = 0; id < AT_NSLOTS; id++)
				if (!(m->listed & (1U << id)))
					atq_set_push(m->atq, id, false);
		}
		break;
	case STEP_DCD:
		if (res != ATQ_RES_OK) {
			log_info("modem: AT&C1 not accepted; DCD not used");
			atq_set_dcd(m->atq, false);
		}
		break;
	case STEP_TRANSPKTSIZE:
	case STEP_TRANSWAITTM:
		/* Some firmware lacks settings (ref. 5.10): go on. */
		if (res != ATQ_RES_OK)
			log_info("modem: AT+QICFG=\"%s\" not accepted; "
			    "continuing with the module's default",
			    m->step == STEP_TRANSPKTSIZE ? "transpktsize" :
			    "transwaittm");
		break;
	case STEP_ATE0:
	case STEP_CMEE:
	case STEP_IFC:
	case STEP_URCPORT:
	case STEP_QICSGP:
		if (res != ATQ_RES_OK) {
			if (m->step == STEP_URCPORT) {
				log_info("modem: AT+QURCCFG not accepted; "
				    "continuing");
				break;
			}
			modem_escalate(m, "bring-up command refused");
			return;
		}
		break;
	case STEP_CEREG_URC:
	case STEP_CGREG_URC:
	case STEP_CREG_URC:
	case STEP__INIT_DONE:
		break;
	}
	m->step++;
	modem_init_step(m);
}

static const char *
modem_auth_pdp_args(const struct modem *m, char *buf, size_t sz)
{
	const struct conf	*c = m->conf;

	snprintf(buf, sz, "AT+QICSGP=%d,%d,\"%s\",\"%s\",\"%s\",%d",
	    c->modem.context_id, (int)c->modem.pdp_type, c->modem.apn,
	    c->modem.username, c->modem.password, (int)c->modem.auth);
	return buf;
}

/* The bring-up commands, in the order of enum step. */
static const struct {
	const char	*cmd;		/* NULL: built from the config */
	const char	*prefix;	/* URC-looking answer lines */
	enum tmo_kind	 kind;
} init_steps[STEP__INIT_DONE] = {
	[STEP_ATE0] = { "ATE0", NULL, TMO_COMMAND },
	[STEP_CMEE] = { "AT+CMEE=1", NULL, TMO_COMMAND },
	[STEP_QISTATE] = { NULL, NULL, TMO_COMMAND },	/* cmdfam_qi */
	[STEP_IFC] = { NULL, NULL, TMO_COMMAND },
	[STEP_ATI] = { "ATI", NULL, TMO_COMMAND },
	[STEP_GSN] = { "AT+GSN", NULL, TMO_COMMAND },
	[STEP_QGMR] = { "AT+QGMR", NULL, TMO_COMMAND },
	[STEP_CPIN] = { "AT+CPIN?", "+CPIN:", TMO_CPIN },
	[STEP_QCCID] = { "AT+QCCID", NULL, TMO_COMMAND },
	[STEP_URCPORT] = { "AT+QURCCFG=\"urcport\",\"uart1\"", NULL,
	    TMO_COMMAND },
	/* Not saved by the module: set after every boot (ref. 5.10). */
	[STEP_TRANSPKTSIZE] = { NULL, NULL, TMO_COMMAND },
	[STEP_TRANSWAITTM] = { NULL, NULL, TMO_COMMAND },
	/* DCD follows the data connection (ref. 3.12's init block). */
	[STEP_DCD] = { "AT&C1", NULL, TMO_COMMAND },
	[STEP_QICSGP] = { NULL, NULL, TMO_COMMAND },
	[STEP_CEREG_URC] = { "AT+CEREG=1", NULL, TMO_COMMAND },
	[STEP_CGREG_URC] = { "AT+CGREG=1", NULL, TMO_COMMAND },
	[STEP_CREG_URC] = { "AT+CREG=1", NULL, TMO_COMMAND },
};

static void
modem_init_step(struct modem *m)
{
	struct atq_cmd	*c;
	char		 buf[512];

	if (m->step == STEP_DCD && !m->conf->modem.dcd) {
		atq_set_dcd(m->atq, false);
		m->step++;
	}
	if (m->step == STEP__INIT_DONE) {
		modem_set_state(m, MODEM_REGISTERING, "modem initialised");
		return;
	}
	if (m->step == STEP_DCD)
		atq_set_dcd(m->atq, true);
	if (m->step == STEP_IFC)
		strlcpy(buf, m->conf->modem.flow_control == CONF_FLOW_RTSCTS ?
		    "AT+IFC=2,2" : "AT+IFC=0,0", sizeof(buf));
	else if (m->step == STEP_QICSGP)
		modem_auth_pdp_args(m, buf, sizeof(buf));
	else if (m->step == STEP_QISTATE)
		strlcpy(buf, cmdfam_qi.state, sizeof(buf));
	else if (m->step == STEP_TRANSPKTSIZE)
		snprintf(buf, sizeof(buf), "AT+QICFG=\"transpktsize\",%d",
		    m->conf->modem.transpktsize);
	else if (m->step == STEP_TRANSWAITTM)
		snprintf(buf, sizeof(buf), "AT+QICFG=\"transwaittm\",%d",
		    m->conf->modem.transwaittm);
	else
		strlcpy(buf, init_steps[m->step].cmd, sizeof(buf));
	m->last_line[0] = '\0';
	m->listed = 0;
	c = atq_cmd_new(init_steps[m->step].kind, "%s", buf);
	c->prefix = m->step == STEP_QISTATE ? cmdfam_qi.state_hdr :
	    init_steps[m->step].prefix;
	c->on_line = m->step == STEP_QISTATE ? modem_qistate_line :
	    modem_line_cb;
	c->on_done = modem_step_done;
	c->arg = m;
	atq_submit(m->atq, c, false);
}

/*
 * "+CxREG: ..." in either form (read response "n,stat[,...]" or URC
 * "stat[,...]", told apart by mline): which of CEREG, CGREG, CREG
 * (0, 1, 2) and its stat.
 */
static bool
modem_parse_reg(const char *line, int *idx, int *stat)
{
	struct mline	 ml;

	if (mline_parse(line, &ml) != MLINE_REG)
		return false;
	*idx = ml.u.reg.which == MLINE_CEREG ? 0 :
	    ml.u.reg.which == MLINE_CGREG ? 1 : 2;
	*stat = ml.u.reg.stat;
	return true;
}

static bool
modem_registered(const struct modem *m)
{
	int	 i;

	for (i = 0; i < 3; i++)
		if (m->reg[i] == 1 || m->reg[i] == 5)
			return true;
	return false;
}

static void
modem_reg_update(struct modem *m)
{
	int	 i, best = -1;

	for (i = 0; i < 3; i++)
		if (m->reg[i] == 1 || m->reg[i] == 5)
			best = m->reg[i];
	if (best == -1)
		for (i = 0; i < 3; i++)
			if (m->reg[i] > best)
				best = m->reg[i];
	m->info.reg_stat = best;
	events_registration(best);
}

static void
modem_reg_line(void *arg, const char *line)
{
	struct modem	*m = arg;
	int		 idx, stat;

	if (modem_parse_reg(line, &idx, &stat)) {
		m->reg[idx] = stat;
		modem_reg_update(m);
	}
}

static void
modem_reg_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct modem	*m = arg;

	if (m->state != MODEM_REGISTERING || res == ATQ_RES_ABORTED)
		return;
	if (modem_registered(m)) {
		modem_set_state(m, MODEM_ACTIVATING, "registered");
		return;
	}
	m->reg_poll = (m->reg_poll + 1) % 3;
	modem_arm(m, m->reg_poll == 0 ? REG_POLL_MS : 0);
}

/* A registration query: which 0 CEREG, 1 CGREG, 2 CREG. */
static struct atq_cmd *
modem_reg_query(struct modem *m, int which,
    void (*on_done)(void *, enum atq_result, const struct at_event *))
{
	static const char *q[] = { "AT+CEREG?", "AT+CGREG?", "AT+CREG?" };
	static const char *p[] = { "+CEREG:", "+CGREG:", "+CREG:" };
	struct atq_cmd	*c;

	c = atq_cmd_new(TMO_COMMAND, "%s", q[which]);
	c->prefix = p[which];
	c->on_line = modem_reg_line;
	c->on_done = on_done;
	c->arg = m;
	return c;
}

static void
modem_reg_poll(struct modem *m)
{
	atq_submit(m->atq, modem_reg_query(m, m->reg_poll, modem_reg_done),
	    false);
}

/* AT+QIACT? with its line and done handlers. */
static struct atq_cmd *
modem_qiact_query(struct modem *m, void (*on_line)(void *, const char *),
    void (*on_done)(void *, enum atq_result, const struct at_event *))
{
	struct atq_cmd	*c = atq_cmd_new(TMO_QIACT, "AT+QIACT?");

	c->prefix = "+QIACT:";
	c->on_line = on_line;
	c->on_done = on_done;
	c->arg = m;
	return c;
}

/* +QIACT: <cid>,<state>,<type>[,"<ip>"] */
static void
modem_qiact_line(void *arg, const char *line)
{
	struct modem	*m = arg;
	struct mline	 ml;

	if (mline_parse(line, &ml) != MLINE_QIACT ||
	    ml.u.qiact.cid != m->conf->modem.context_id)
		return;
	m->ctx_active = ml.u.qiact.state == 1;
	if (ml.u.qiact.has_ip)
		strlcpy(m->info.ip, ml.u.qiact.ip, sizeof(m->info.ip));
}

static void	modem_close_stale(struct modem *);

/*
 * +QISTATE: <id>,"<type>",...,<access_mode>,"<port>": a socket the modem
 * holds.  Its access mode tells the framer whether "recv" URCs of that
 * slot carry payload; during bring-up it is a stale socket to close.
 */
static void
modem_qistate_line(void *arg, const char *line)
{
	struct modem	*m = arg;
	struct mline	 ml;

	if (mline_parse(line, &ml) != MLINE_QISTATE)
		return;
	atq_set_push(m->atq, ml.u.qistate.id, ml.u.qistate.mode == 1);
	m->listed |= 1U << ml.u.qistate.id;
	if (m->nstale < AT_NSLOTS)
		m->stale[m->nstale++] = ml.u.qistate.id;
}

static void
modem_stale_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct modem	*m = arg;

	if (m->state != MODEM_ACTIVATING || res == ATQ_RES_ABORTED)
		return;
	modem_close_stale(m);
}

/* Close, one by one, the slots QISTATE listed that nobody here owns. */
static void
modem_close_stale(struct modem *m)
{
	struct atq_cmd	*c;
	char		 cmd[CMDFAM_CMD_MAX];
	int		 id;

	while (m->nstale > 0) {
		id = m->stale[--m->nstale];
		if (m->ops.slot_owned != NULL && m->ops.slot_owned(m->arg, id))
			continue;
		log_info("modem: closing stale socket %d", id);
		cmdfam_close(&cmdfam_qi, cmd, sizeof(cmd), id, QICLOSE_ARG_S);
		c = atq_cmd_new(TMO_QICLOSE, "%s", cmd);
		c->on_done = modem_stale_done;
		c->arg = m;
		atq_submit(m->atq, c, false);
		return;
	}
	events_pdp(m->conf->modem.context_id, m->info.ip);
	modem_set_state(m, MODEM_READY, m->info.ip[0] != '\0' ?
	    m->info.ip : "context active");
}

static void
modem_act_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct modem	*m = arg;
	struct atq_cmd	*c;

	if (m->state != MODEM_ACTIVATING || res == ATQ_RES_ABORTED)
		return;
	if (res == ATQ_RES_TIMEOUT) {
		modem_silent(m, "context activation timed out");
		return;
	}
	if (!m->ctx_active) {
		if (res == ATQ_RES_OK) {
			/* Query said inactive: activate, then query again. */
			c = atq_cmd_new(TMO_QIACT, "AT+QIACT=%d",
			    m->conf->modem.context_id);
			c->on_done = modem_act_done;
			c->arg = m;
			m->ctx_active = true;	/* assume; the query checks */
			m->info.ip[0] = '\0';
			atq_submit(m->atq, c, false);
			return;
		}
		modem_escalate(m, "context query failed");
		return;
	}
	if (m->info.ip[0] == '\0') {
		if (res != ATQ_RES_OK) {
			m->ctx_active = false;
			if (++m->act_failures >= QIACT_TRIES) {
				m->act_failures = 0;
				modem_escalate(m, "context activation refused");
				return;
			}
			log_warnx("modem: AT+QIACT refused; trying again");
			modem_arm(m, QIACT_RETRY_MS);
			return;
		}
		m->ctx_active = false;
		atq_submit(m->atq, modem_qiact_query(m, modem_qiact_line,
		    modem_act_done), false);
		return;
	}
	/* Context up: close what a previous run left open. */
	m->nstale = 0;
	m->listed = 0;
	c = atq_cmd_new(TMO_COMMAND, "%s", cmdfam_qi.state);
	c->prefix = cmdfam_qi.state_hdr;
	c->on_line = modem_qistate_line;
	c->on_done = modem_stale_done;
	c->arg = m;
	atq_submit(m->atq, c, false);
}

static void
modem_activate(struct modem *m)
{
	m->ctx_active = false;
	m->info.ip[0] = '\0';
	atq_submit(m->atq, modem_qiact_query(m, modem_qiact_line,
	    modem_act_done), false);
}

/* The modem restarted on its own: everything is gone, echo is back. */
static void
modem_rebooted(struct modem *m, const char *why)
{
	m->counters.reboots++;
	events_recovery("rebooted", why);
	modem_sockets_down(m, why);
	atq_abort_all(m->atq);
	m->ctx_active = false;
	m->info.ip[0] = '\0';
	modem_set_state(m, MODEM_PROBING, why);
}

/* The PDP context is gone: sockets go, deactivate, activate again. */
static void
modem_context_lost(struct modem *m, const char *why)
{
	struct atq_cmd	*c;

	events_recovery("reactivate", why);
	modem_sockets_down(m, why);
	if (m->state != MODEM_READY && m->state != MODEM_ACTIVATING)
		return;
	/* AN: deactivate, then activate again. */
	c = atq_cmd_new(TMO_QIDEACT, "AT+QIDEACT=%d",
	    m->conf->modem.context_id);
	atq_submit(m->atq, c, false);
	modem_set_state(m, MODEM_ACTIVATING, "PDP context lost");
}

static void
modem_ctxcheck_line(void *arg, const char *line)
{
	struct modem	*m = arg;
	struct mline	 ml;

	if (mline_parse(line, &ml) == MLINE_QIACT &&
	    ml.u.qiact.cid == m->conf->modem.context_id &&
	    ml.u.qiact.state == 1)
		m->ctx_seen = true;
}

static void
modem_ctxcheck_done(void *arg, enum atq_result res, const struct at_event *ev)
{
	struct modem	*m = arg;

	m->ctx_checking = false;
	if (m->state != MODEM_READY || res != ATQ_RES_OK)
		return;		/* a timeout has its own recovery */
	if (m->ctx_seen) {
		log_info("modem: PDP context %d is active after all",
		    m->conf->modem.context_id);
		return;
	}
	m->counters.pdp_lost++;
	modem_context_lost(m, "PDP context found inactive");
}

void
modem_check_context(struct modem *m, const char *why)
{
	if (m->state != MODEM_READY || m->ctx_checking)
		return;
	log_warnx("modem: %s; checking the PDP context", why);
	m->ctx_checking = true;
	m->ctx_seen = false;
	atq_submit(m->atq, modem_qiact_query(m, modem_ctxcheck_line,
	    modem_ctxcheck_done), true);
}

/*
 * The modem echoed a command: echo is on again, so it restarted since
 * ATE0 and its RDY was lost (ref. 11.8).  Before ATE0 is answered the
 * echo is expected.
 */
static void
modem_echo(void *arg, const char *text)
{
	struct modem	*m = arg;
	char		 esc[64];

	switch (m->state) {
	case MODEM_ABSENT:
	case MODEM_PROBING:
	case MODEM_RECOVERING:
		return;
	case MODEM_INITIALIZING:
		if (m->step <= STEP_ATE0)
			return;
		break;
	case MODEM_REGISTERING:
	case MODEM_ACTIVATING:
	case MODEM_READY:
		break;
	}
	log_warnx("modem: \"%s\" echoed: echo is on again",
	    log_escape(esc, sizeof(esc), text, strlen(text)));
	modem_rebooted(m, "modem restarted (command echo is back)");
}

static void
modem_urc(void *arg, const char *line)
{
	struct modem	*m = arg;
	struct mline	 ml;
	int		 idx, stat;

	if (strcmp(line, "RDY") == 0) {
		if (m->state == MODEM_PROBING)
			return;
		if (m->state == MODEM_RECOVERING && m->await_rdy) {
			m->await_rdy = false;
			atq_abort_all(m->atq);
			modem_set_state(m, MODEM_PROBING, "modem restarted");
			return;
		}
		if (m->state == MODEM_RECOVERING)
			return;
		modem_rebooted(m, "modem rebooted (RDY)");
		return;
	}
	if (strcmp(line, "POWERED DOWN") == 0 ||
	    strcmp(line, "PSM POWER DOWN") == 0) {
		if (m->state != MODEM_PROBING && m->state != MODEM_RECOVERING)
			modem_rebooted(m, "modem powered down");
		return;
	}
	if (modem_parse_reg(line, &idx, &stat)) {
		bool	 was = modem_registered(m);

		m->reg[idx] = stat;
		modem_reg_update(m);
		if (was && !modem_registered(m)) {
			log_warnx("modem: registration lost (%s)", line);
			m->counters.reg_lost++;
			if (m->state == MODEM_READY)
				m->reg_lost_at = now_ms();
		} else if (!was && modem_registered(m) && m->reg_lost_at) {
			log_info("modem: registered again");
			m->reg_lost_at = 0;
		}
		return;
	}
	if (mline_parse(line, &ml) == MLINE_PDPDEACT) {
		m->counters.pdp_lost++;
		if (ml.u.pdpdeact.cid != m->conf->modem.context_id)
			return;
		modem_context_lost(m, "PDP context deactivated");
		return;
	}
	log_debug("modem: URC %s", line);
}

static void
modem_lost(void *arg, const char *why)
{
	struct modem	*m = arg;
	char		 buf[256];

	snprintf(buf, sizeof(buf), "serial line lost: %s", why);
	m->counters.line_lost++;
	modem_recover(m, buf);
}

static void
modem_unresponsive(void *arg)
{
	struct modem	*m = arg;

	modem_silent(m, "modem stopped answering");
}
