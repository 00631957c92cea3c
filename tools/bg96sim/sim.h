/*
 * bg96sim: a Quectel BG96 (firmware BG96MAR02A07M1G) on a pseudo-terminal.
 *
 * One header for the whole tool, in sections named after the file that
 * defines the functions.  The emulator shares no code with bg96d on
 * purpose: it is the oracle the daemon is tested against.
 */
#ifndef BG96SIM_H
#define BG96SIM_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evbuffer;
struct timeval;

#define SIM_NSLOTS	12	/* connectID 0..11 */
#define SIM_NCTX	16	/* contextID 1..16 */
#define SIM_MAXLINE	1024	/* longest command line we accept */
#define SIM_MAXSEND	1460	/* AT+QISEND=<id>,<n> upper bound */
#define SIM_MAXREAD	1500	/* AT+QIRD=<id>,<n> upper bound */
#define SIM_MAXHOSTS	32
#define SIM_MAXARGS	12

#define QUIRK_RECV_LEN		0x01	/* "recv",<id>,<len> in buffer mode */
#define QUIRK_STATE3		0x02	/* QISTATE reports 3 for connected TCP */
#define QUIRK_BOOT_URCS		0x04	/* +CFUN, +CPIN, +QUSIM, SMS DONE, APP RDY */
#define QUIRK_URC_IN_LIST	0x08	/* URC between info lines and OK */
#define QUIRK_URC_BEFORE_PROMPT	0x10	/* URC just before "\r\n> " */
#define QUIRK_CME_TCPIP		0x20	/* TCP/IP errors as +CME ERROR: 5xx */
#define QUIRK_URCPORT_USBAT	0x40	/* URCs go to usbat until AT+QURCCFG */
#define QUIRK_URC_ANYWHERE	0x80	/* due URCs at any later line boundary */
#define QUIRK_RECV_IN_EMPTY	0x100	/* recv URC between "+QIRD: 0" and OK */
#define QUIRK_CLOSED_IN_RESP	0x200	/* "closed" inside the slot's next answer */
#define QUIRK_SPLIT_RESPONSE	0x400	/* pauses inside responses */
#define QUIRK_SLOW_ANSWERS	0x800	/* answers up to 200 ms late */
/* "adversarial": where and when, never what (no firmware variation). */
#define QUIRK_ADVERSARIAL	(QUIRK_URC_ANYWHERE | QUIRK_RECV_IN_EMPTY | \
				 QUIRK_CLOSED_IN_RESP | QUIRK_SPLIT_RESPONSE | \
				 QUIRK_SLOW_ANSWERS | QUIRK_URC_IN_LIST | \
				 QUIRK_URC_BEFORE_PROMPT)

struct sim_host {
	char	 name[64];
	char	 ip[64];
};

struct sim_opts {
	const char	*link;
	const char	*control;
	const char	*logfile;
	long		 baud;		/* 0: unpaced */
	long		 latency_ms;
	long		 register_delay_ms;
	long		 listen_offset;
	uint32_t	 seed;
	unsigned int	 quirks;
	size_t		 rx_buf;
	size_t		 tx_buf;
	int		 allow_remote;
	int		 nhosts;
	struct sim_host	 hosts[SIM_MAXHOSTS];
};

extern struct sim_opts	 opts;
extern struct event_base *base;

/* main.c */
void		 sim_violation(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
size_t		 sim_violation_count(void);
const char	*sim_violation_get(size_t);
uint32_t	 sim_random(void);
void		 sim_count_command(const char *);
size_t		 sim_command_count(void);
const char	*sim_command_get(size_t, unsigned long *);

/* log.c */
void		 log_open(const char *);
void		 log_close(void);
void		 log_msg(const char *, ...)
		    __attribute__((format(printf, 1, 2), nonnull(1)));
/* Logs "what: <escaped bytes>", cut to a prefix for long payloads. */
void		 log_bytes(const char *, const void *, size_t);
/* Escapes len bytes into out (always NUL-terminated); returns out. */
char		*log_escape(char *, size_t, const void *, size_t);

/*
 * pace.c: one direction of the line at baud/10 bytes per second, with no
 * idle time banked (a byte after an idle moment t0 completes at t0 + one
 * byte time at the earliest).
 */
struct pace {
	double		 rate;		/* bytes per second, 0: unpaced */
	double		 chunk;		/* bytes released at a time */
	double		 line_t;	/* completion of the last byte released */
	int		 idle;		/* the line ran dry since */
};
double		 pace_now(void);
void		 pace_init(struct pace *, long);
/* Bytes that may go now (SIZE_MAX when unpaced); starts an idle line. */
size_t		 pace_avail(struct pace *);
void		 pace_start(struct pace *);
void		 pace_idle(struct pace *);
void		 pace_take(struct pace *, size_t);
/* How long until want bytes (at most a chunk) may go. */
void		 pace_delay(struct pace *, size_t, struct timeval *);
/* Bytes to wait for before a release: a chunk, or all of fewer. */
size_t		 pace_chunk(const struct pace *, size_t);

/* pty.c */
int		 pty_open(void);
int		 pty_link(void);
void		 pty_unlink(void);
void		 pty_fini(void);
/* Queues bytes for the master side; never writes synchronously. */
void		 pty_send(const void *, size_t);
uint64_t	 pty_queued(void);
uint64_t	 pty_written(void);
size_t		 pty_pending(void);
uint64_t	 pty_bytes_in(void);
void		 pty_drop_input(void);
size_t		 pty_input_waiting(void);
void		 pty_stall(long);
void		 pty_hangup(long);
int		 pty_is_up(void);
void		 pty_input_hold(int);
double		 pty_in_time(void);
size_t		 pty_input_before_write(void);
double		 pty_byte_time(void);

/* at.c: line discipline, command life cycle, responses. */
struct at_arg {
	char		*s;
	int		 quoted;
};
enum at_kind {
	AT_EXEC,	/* AT+X */
	AT_READ,	/* AT+X? */
	AT_TEST,	/* AT+X=? */
	AT_SET		/* AT+X=... */
};
struct at_cmd {
	char		 name[32];
	enum at_kind	 kind;
	int		 nargs;
	struct at_arg	 args[SIM_MAXARGS];
	char		 line[SIM_MAXLINE + 1];
};
void		 at_init(void);
void		 at_free(void);
/* Bytes read from the master, in order. */
void		 at_input(const uint8_t *, size_t);
/* Called by pty.c after every write to the master. */
void		 at_written(uint64_t);
void		 at_boot(void);
void		 at_down(void);
void		 at_stalled(void);
void		 at_forgive(size_t);
int		 at_arg_int(const struct at_cmd *, int, long, long, long *);
const char	*at_arg_str(const struct at_cmd *, int);
void		 at_info(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
/* "\r\n<hdr>\r\n<data>\r\n": a length-counted info block (QIRD). */
void		 at_info_data(const char *, const void *, size_t);
void		 at_final(const char *);
/* The final result ms milliseconds from now; URCs due meanwhile first. */
void		 at_final_delay(const char *, long);
void		 at_ok(void);
void		 at_error(void);
/* ERROR or +CME ERROR: <code> as AT+CMEE says. */
void		 at_cme(int);
/* TCP/IP failure: ERROR, or +CME ERROR: 5xx with QUIRK_CME_TCPIP. */
void		 at_tcpip_error(int);
/* The name of a +CME ERROR or TCP/IP error code; NULL if unknown. */
const char	*at_err_text(int);
void		 at_prompt(size_t, void (*)(const uint8_t *, size_t, void *),
		    void *);
void		 at_urc(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
void		 at_urc_data(const char *, const void *, size_t);
/* A line written whatever the URC port (boot and power URCs). */
void		 at_line_force(const char *);
/* A URC just before the final result of the command in flight. */
void		 at_urc_before_final(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
/* Raw bytes past the queues, never inside an item (garbage). */
void		 at_raw(const void *, size_t);
/* Output produced but not handed to the line yet. */
size_t		 at_pending(void);
/* Data mode (trans.c, slot.c). */
void		 at_connect(int);
int		 at_data_mode(void);
void		 at_escaped(void);
void		 at_carrier_lost(void);
void		 at_set_late_prompt(long);
void		 at_set_late_answer(long);

/* cmd.c: modem state and the command table. */
void		 cmd_dispatch(struct at_cmd *);
void		 modem_init(void);
void		 modem_boot(void);
void		 modem_reboot(long);
void		 modem_pdpdeact(int);
void		 modem_deregister(long);
int		 modem_echo(void);
int		 modem_cmee(void);
int		 modem_urcs_here(void);
int		 modem_ctx_active(int);
int		 modem_pdp_any(void);
void		 modem_set_error(int);
void		 modem_free(void);

/* slot.c: the 12 sockets, backed by host sockets. */
void		 slot_init(void);
void		 slot_fini(void);
void		 slot_reset_all(void);
void		 slot_ctx_down(int, int);
void		 slot_output_drained(void);
void		 slot_set_silence(int);
void		 slot_set_send_fail(int);
/* The next n QISENDs answer SEND FAIL. */
void		 slot_set_send_fail_count(long);
/* Appends the "slots" JSON array. */
void		 slot_stats(struct evbuffer *);
/* Resolves an IP literal or a --hosts name: 0, or -1. */
int		 slot_resolve(const char *, struct sockaddr_storage *, socklen_t *);
void		 cmd_qiopen(struct at_cmd *);
void		 cmd_qiclose(struct at_cmd *);
void		 cmd_qisend(struct at_cmd *);
void		 cmd_qird(struct at_cmd *);
void		 cmd_qistate(struct at_cmd *);
void		 cmd_qiswtmd(struct at_cmd *);
void		 cmd_ato(struct at_cmd *);
/* Data mode: the line carries slot id's bytes from now / no more. */
void		 slot_trans_start(int);
void		 slot_trans_stop(int);
/* Host bytes for slot id (one packet; one datagram for UDP). */
void		 slot_trans_write(int, const uint8_t *, size_t);

/* trans.c: transparent access mode, the host's side. */
void		 trans_init(void);
void		 trans_free(void);
void		 trans_reset(void);
void		 trans_begin(int);
void		 trans_end(void);
/* The slot in data mode, -1 if none. */
int		 trans_active(void);
size_t		 trans_input(const uint8_t *, size_t, double, double);
void		 cmd_qicfg(struct at_cmd *);
void		 trans_stats(struct evbuffer *);

/* ctl.c */
int		 ctl_open(const char *);
void		 ctl_close(void);
/* Appends s as a JSON string. */
void		 ctl_json_str(struct evbuffer *, const char *);

#endif /* BG96SIM_H */
