/*
 * ctlstatus.c: the "status" reply (see ctlstatus.h).  Field names,
 * order and types are the protocol of DESIGN.md section 5; bg96ctl and
 * scripts read them.
 */
#include <stdbool.h>

#include "bg96d/at.h"
#include "bg96d/atq.h"
#include "bg96d/conf.h"
#include "bg96d/ctljson.h"
#include "bg96d/ctlstatus.h"
#include "bg96d/endpoint.h"
#include "bg96d/modem.h"
#include "bg96d/msock.h"
#include "bg96d/radio.h"
#include "bg96d/util.h"

/* Counters are unsigned; JSON integers here are 64-bit signed. */
static json_t *
jcount(unsigned long long v)
{
	return json_integer((json_int_t)v);
}

static void
set(json_t *o, const char *key, json_t *v)
{
	json_object_set_new_nocheck(o, key, v);
}

/* Names of socket types as the control protocol spells them. */
static const char *
ctlstatus_msock_type(enum msock_type t)
{
	switch (t) {
	case MSOCK_TCP:		 return "tcp";
	case MSOCK_UDP:		 return "udp";
	case MSOCK_TCP_LISTENER: return "tcp-listener";
	case MSOCK_UDP_SERVICE:	 return "udp-service";
	case MSOCK_TCP_INCOMING: return "tcp-incoming";
	}
	return "unknown";
}

static json_t *
ctlstatus_modem(const struct ctlstatus_src *src)
{
	const struct modem_info	*mi = modem_info(src->modem);
	const struct radio_info	*r = modem_radio(src->modem);
	enum modem_state	 st = modem_state(src->modem);
	bool			 ready = st == MODEM_READY;
	json_t			*o = json_object();

	set(o, "state", ctl_json_str(modem_state_name(st)));
	set(o, "imei", ctl_json_str_null(mi->imei));
	set(o, "iccid", ctl_json_str_null(mi->iccid));
	set(o, "firmware", ctl_json_str_null(mi->firmware));
	set(o, "model", ctl_json_str_null(mi->model));
	/* Radio facts are refreshed only while ready. */
	set(o, "operator", ctl_json_str_null(ready ? r->oper : ""));
	set(o, "rat", ctl_json_str_null(ready ? r->rat : ""));
	set(o, "registered", json_boolean(mi->reg_stat == 1 ||
	    mi->reg_stat == 5));
	set(o, "rssi_dbm", ready && r->have_rssi ?
	    json_integer(r->rssi_dbm) : json_null());
	set(o, "ip", ctl_json_str_null(mi->ip));
	return o;
}

static json_t *
ctlstatus_sockets(const struct ctlstatus_src *src)
{
	struct msock_info	 info[AT_NSLOTS];
	long long		 now = now_ms();
	json_t			*a = json_array(), *o;
	int			 i;

	msockset_info(src->msocks, info);
	for (i = 0; i < AT_NSLOTS; i++) {
		const struct msock_info	*s = &info[i];

		if (!s->in_use)
			continue;
		o = json_object();
		set(o, "id", json_integer(s->id));
		set(o, "endpoint", ctl_json_str_null(s->label));
		set(o, "type", ctl_json_str(ctlstatus_msock_type(s->type)));
		set(o, "state", ctl_json_str_null(s->state));
		set(o, "remote", ctl_json_str_null(s->remote));
		set(o, "bytes_up", jcount(s->bytes_up));
		set(o, "bytes_down", jcount(s->bytes_down));
		set(o, "age_s", json_integer(now > s->since_ms ?
		    (now - s->since_ms) / 1000 : 0));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *
ctlstatus_endpoints(const struct ctlstatus_src *src)
{
	struct endpoint_info	 info[CONF_MAX_ENDPOINTS + 1];
	json_t			*a = json_array(), *o;
	int			 i, n;

	n = src->eps != NULL ? epset_info(src->eps, info) : 0;
	for (i = 0; i < n; i++) {
		o = json_object();
		set(o, "name", ctl_json_str(info[i].name));
		set(o, "type", ctl_json_str(conf_ep_type_name(info[i].type)));
		set(o, "socket", ctl_json_str_null(info[i].socket));
		set(o, "active", json_integer(info[i].active));
		set(o, "accepted", jcount(info[i].accepted));
		set(o, "refused", jcount(info[i].refused));
		set(o, "failed", jcount(info[i].failed));
		set(o, "linger_expired", jcount(info[i].linger_expired));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *
ctlstatus_counters(const struct ctlstatus_src *src)
{
	const struct modem_counters	*mc = modem_counters(src->modem);
	const struct msockset_counters	*sc = msockset_counters(src->msocks);
	const struct atq_stats		*as = atq_stats(modem_atq(src->modem));
	json_t				*o = json_object();

	set(o, "uptime_s", json_integer((now_ms() - src->started) / 1000));
	set(o, "bringups", jcount(mc->bringups));
	set(o, "reboots", jcount(mc->reboots));
	set(o, "pdp_lost", jcount(mc->pdp_lost));
	set(o, "line_lost", jcount(mc->line_lost));
	set(o, "unresponsive", jcount(mc->unresponsive));
	set(o, "reg_timeouts", jcount(mc->reg_timeouts));
	set(o, "reg_lost", jcount(mc->reg_lost));
	set(o, "cfun_resets", jcount(mc->cfun_resets));
	set(o, "reset_commands", jcount(mc->reset_commands));
	set(o, "incoming_full", jcount(msockset_incoming_full(src->msocks)));
	set(o, "send_fail", jcount(sc->send_fail));
	set(o, "send_errors", jcount(sc->send_errors));
	set(o, "rx_polls", jcount(sc->rx_polls));
	set(o, "auto_entries", jcount(sc->auto_entries));
	set(o, "auto_escapes", jcount(sc->auto_escapes));
	set(o, "clients_waiting", json_integer(src->eps != NULL ?
	    epset_waiting(src->eps) : 0));
	set(o, "at_commands", jcount(as->commands));
	set(o, "at_timeouts", jcount(as->timeouts));
	set(o, "at_unexpected", jcount(as->unexpected));
	set(o, "at_overlong", jcount(as->overlong));
	set(o, "at_late_prompts", jcount(as->late_prompts));
	set(o, "at_echoes", jcount(as->echoes));
	set(o, "at_cr_finals", jcount(as->cr_finals));
	set(o, "at_late_answers", jcount(as->late_answers));
	set(o, "at_bytes_in", jcount(as->bytes_in));
	set(o, "at_bytes_out", jcount(as->bytes_out));
	set(o, "control_requests", jcount(src->requests));
	set(o, "control_refused", jcount(src->refused));
	return o;
}

/*
 * Who owns the serial line: "command", "data:<endpoint>#<id>" (lent
 * to a transparent connection) or "escaping"; with the holder's byte
 * counts (null in command mode).  From the queue's state, never the
 * modem: nothing may be asked on a lent line.
 */
static void
ctlstatus_line(const struct ctlstatus_src *src, json_t *o)
{
	struct msock_info	 info[AT_NSLOTS];
	enum atq_line		 line;
	char			 buf[64];
	int			 id;

	line = atq_line_owner(modem_atq(src->modem), &id);
	if (line == ATQ_LINE_COMMAND || id < 0 || id >= AT_NSLOTS) {
		/* An escape with no holder: after a failed one (atq.c). */
		set(o, "line", ctl_json_str(line == ATQ_LINE_COMMAND ?
		    "command" : "escaping"));
		set(o, "line_bytes_up", json_null());
		set(o, "line_bytes_down", json_null());
		return;
	}
	msockset_info(src->msocks, info);
	if (line == ATQ_LINE_ESCAPING)
		strlcpy(buf, "escaping", sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "data:%s#%d", info[id].label, id);
	set(o, "line", ctl_json_str(buf));
	set(o, "line_bytes_up", jcount(info[id].bytes_up));
	set(o, "line_bytes_down", jcount(info[id].bytes_down));
}

json_t *
ctlstatus_json(const struct ctlstatus_src *src)
{
	json_t	*o = json_object();

	set(o, "ok", json_true());
	set(o, "modem", ctlstatus_modem(src));
	ctlstatus_line(src, o);
	set(o, "sockets", ctlstatus_sockets(src));
	set(o, "endpoints", ctlstatus_endpoints(src));
	set(o, "counters", ctlstatus_counters(src));
	return o;
}
