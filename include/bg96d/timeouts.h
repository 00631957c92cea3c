/*
 * timeouts.h: every deadline and retry interval of bg96d, in one place.
 *
 * Sources: bg96-at-reference.md section 10 (Quectel's maximum response
 * times and what peer drivers use) and section 2 (boot).  The command
 * deadlines can be overridden by [timeouts] in the config; the defaults
 * here are the ones DESIGN.md section 3 documents.
 */
#ifndef BG96D_TIMEOUTS_H
#define BG96D_TIMEOUTS_H

/* Kinds of AT command, each with its own deadline. */
enum tmo_kind {
	TMO_PROBE,		/* "AT" while looking for the modem */
	TMO_COMMAND,		/* anything without its own entry: 300 ms class */
	TMO_CPIN,		/* AT+CPIN?: Quectel 5 s */
	TMO_CFUN,		/* AT+CFUN: Quectel 15 s */
	TMO_QIACT,		/* AT+QIACT: Quectel 150 s */
	TMO_QIDEACT,		/* AT+QIDEACT: Quectel 40 s */
	TMO_QIOPEN,		/* AT+QIOPEN until "OK": immediate, 5 s */
	TMO_QIOPEN_CONNECT,	/* AT+QIOPEN,2 until "CONNECT": the connect
				 * itself, [timeouts] qiopen (150 s) */
	TMO_QICLOSE,		/* AT+QICLOSE: <timeout> + margin */
	TMO_PROMPT,		/* AT+QISEND until "> ": ST 10 s, Zephyr 5 s */
	TMO_SEND,		/* payload until SEND OK: Quectel 120 s */
	TMO_QIRD,		/* AT+QIRD: local buffer, 10 s then escalate */
	TMO_QPING,		/* AT+QPING: timeout x num + 5 s, capped 255 s */
	TMO_QNTP,		/* AT+QNTP: Quectel 125 s */
	TMO__COUNT
};

/* Defaults in seconds (ref. section 10 "Suggested daemon timeout"). */
#define TMO_DEF_PROBE_MS	1000	/* ST probes with 1 s per try */
#define TMO_DEF_COMMAND		5
#define TMO_DEF_CPIN		5
#define TMO_DEF_CFUN		15
#define TMO_DEF_QIACT		150
#define TMO_DEF_QIDEACT		40
#define TMO_DEF_QIOPEN_OK	5
#define TMO_DEF_QIOPEN_URC	150	/* wait for +QIOPEN: id,err, then QICLOSE */
#define TMO_DEF_QICLOSE		15
#define TMO_DEF_PROMPT		10
#define TMO_DEF_SEND		120
#define TMO_DEF_QIRD		10
#define TMO_DEF_QPING		255
#define TMO_DEF_QNTP		125

/*
 * The <timeout> argument bg96d gives AT+QICLOSE: 1 s, an abortive close
 * that keeps the single AT channel responsive (ref. section 5.3, 11.14).
 */
#define QICLOSE_ARG_S		1

/* Boot: how long "AT" probing goes on before the modem counts as gone
 * (ref. section 2.1 and 10: boot to RDY ~5 s, drivers wait up to 30 s). */
#define BOOT_PROBE_S		30

/*
 * After opening the line and after a probe that followed a timeout,
 * nothing is sent until the line has been quiet this long (at most
 * SETTLE_MAX_MS): late answers must not be taken for new ones.  The
 * modem answers AT within 300 ms (ref. section 10).
 */
#define SETTLE_QUIET_MS		300
#define SETTLE_MAX_MS		2000

/* Registration polling interval while waiting for CEREG/CGREG/CREG 1|5. */
#define REG_POLL_MS		2000

/* READY: liveness and registration check when the line is idle (an
 * atq job; the registration_timeout check runs every turn). */
#define HEALTH_POLL_MS		30000

/*
 * Transparent mode (ref. section 5.11 and 11.20): leaving data mode
 * takes at least 1 s with nothing written, "+++", then at least 1 s of
 * silence before the modem answers OK.  The timers never fire early,
 * so the minimum is the value.  The OK is then due within the
 * [timeouts] command deadline.
 */
#define ESCAPE_GUARD_MS		1000
/*
 * Before the escape, how often to look whether the data-mode bytes left
 * the port (our buffer, then the tty's TIOCOUTQ): 4096 bytes at 115200
 * bit/s take 0.36 s, so 20 ms costs at most 2 % of that.
 */
#define ESCAPE_DRAIN_POLL_MS	20

/*
 * AT+QICFG="transwaittm" (x 100 ms, ref. 5.10: 0..20): the module sends
 * a partial transparent-mode packet after this idle time.  2 (200 ms)
 * is the module's own default: short enough for interactive traffic,
 * long enough that a client's burst written in several pieces still
 * leaves as few packets.
 */
#define TRANSWAITTM_DEF		2

/*
 * A client's own "+++" must never escape data mode (ref. 5.11: 1 s of
 * silence, "+++", 1 s of silence; msock.c slot_plus_ok()).  '+' bytes
 * written after PLUS_QUIET_MS without a write are counted: silence is
 * measured where we write, and bytes still queued only shorten the
 * silence the modem sees, so half the guard time leaves room for a
 * modem that measures its guard coarsely.  A '+' that would complete
 * three waits until PLUS_SPACE_MS after the previous write (more than
 * the guard time, which ends any count) or for the client's next bytes.
 */
#define PLUS_QUIET_MS		(ESCAPE_GUARD_MS / 2)
#define PLUS_SPACE_MS		(ESCAPE_GUARD_MS + 200)

/*
 * access_mode = auto (a local choice; the escape's cost is ref. 5.11's
 * two guard times, 2 s at least): when an escape hands the line to a
 * job (the health check), the other jobs due within JOB_BATCH_MS run
 * too (the radio poll), so one escape serves them.  The connection goes
 * back to data mode [modem] transparent_reenter seconds (default
 * TRANSPARENT_REENTER_DEF) after its escape, once it is alone, nothing
 * waits for the line and no job is due within AUTO_JOB_MARGIN_MS
 * (longer than RADIO_POLL_STEP_MS, so a poll cycle is not cut in two).
 * AT+QISWTMD answers within 300 ms (ref. 5.8): the command deadline.
 */
#define JOB_BATCH_MS		10000
/*
 * Direct push (ref. 5.2): a command's answer waits behind the payloads
 * the modem pushes meanwhile, so its deadline moves by their line time
 * (atq.c atq_push_grace()), at most this much in all (a local bound:
 * 64 KiB at 115200 bit/s takes 5.7 s).
 */
#define PUSH_GRACE_MAX_MS	60000
/* [modem] dcd: how often DCD is read in data mode (a local choice:
 * a tenth of the escape's guard time). */
#define DCD_POLL_MS		100
#define AUTO_JOB_MARGIN_MS	3000
#define TRANSPARENT_REENTER_DEF	2


/* AT+QIACT refused this many times in a row: restart the modem. */
#define QIACT_TRIES		3
#define QIACT_RETRY_MS		5000

/* [modem] reset_command may run this long before it is killed; its
 * exit is checked this often (a local choice: a GPIO script takes
 * seconds, 200 ms is invisible next to that). */
#define RESET_COMMAND_S		30
#define RESET_COMMAND_POLL_MS	200

/*
 * SIM not ready at bring-up (+CME ERROR 14 "SIM busy" just after boot):
 * AT+CPIN? is asked again every 1 s for about 20 s (ref. section 3.3:
 * "poll every 1 s for up to about 10-20 s after boot"), then the modem
 * is restarted.  The same delay separates an accepted AT+CPIN="<pin>"
 * from the next AT+CPIN?.
 */
#define SIM_RETRY_MS		1000
#define SIM_BUSY_TRIES		20

/*
 * A final result ended by CR alone is held for its LF this long, then
 * taken as complete.  The BG96 ends every result with CR LF (ref.
 * section 1.2, ATS4 = 10), and the next command must not go out before
 * the LF (the modem is still writing): a pause between the two on a busy
 * line or USB is waited out (bg96sim's split-response pauses up to
 * 50 ms).  Only a modem with S4 changed ends results with CR alone; it
 * still works, at one command per this delay, and is counted
 * (at_cr_finals).
 */
#define FINAL_LF_WAIT_MS	250

/*
 * AT+QISEND's "> " did not come within [timeouts] prompt: the modem may
 * still send it and then read the next n bytes as payload (ref. 5.5),
 * so nothing else is written for this long, and a late prompt still
 * gets the payload.  Then the modem counts as unresponsive.  Quectel's
 * maximum for AT+QISEND is 120 s (ref. section 10).
 */
#define PROMPT_LATE_MAX_MS	(TMO_DEF_SEND * 1000)

/* Backoff between recovery attempts: floor; the cap is backoff_max. */
#define BACKOFF_MIN_MS		1000

/* SEND FAIL is backpressure (ref. 11.17): retry after this, doubling. */
#define SEND_FAIL_RETRY_MIN_MS	50
#define SEND_FAIL_RETRY_MAX_MS	1000

/* A SOCKS5 client has this long for its whole handshake. */
#define SOCKS_HANDSHAKE_MS	10000

/* A client that half-closed is checked this often for a full close. */
#define HALFCLOSE_CHECK_MS	1000

/* Local timings (bg96d's own choices, not the modem's). */
/* A closing client may take this long to read its last bytes. */
#define BRIDGE_FLUSH_MS		5000
/* After EMFILE/ENFILE, accepting pauses for this long. */
#define ACCEPT_PAUSE_MS		1000
/* A closing TCP slot polls AT+QISEND=id,0 this often until unacked is
 * 0 (ref. 11.16: SEND OK is not delivery), for at most TMO_DEF_QICLOSE. */
#define DRAIN_POLL_MS		100
/*
 * A buffer-mode slot that nothing has read for this long is read once:
 * the modem sends a recv URC only once until the buffer is drained, so
 * a URC lost on the line (noise, a garbled line) would otherwise leave
 * its client waiting forever (ref. 11.6: poll sockets as a guard).
 */
#define RX_POLL_MS		30000
#define DRAIN_MAX_MS		(TMO_DEF_QICLOSE * 1000)
/*
 * A client that closed while its remote does not read (SEND FAIL after
 * SEND FAIL) holds its slot for its last bytes only while the modem
 * takes a chunk at least this often (as long as the drain above); then
 * they are dropped and counted (linger_expired).
 */
#define LINGER_MAX_MS		(TMO_DEF_QICLOSE * 1000)
/* A listener or UDP service the modem refused is tried again after. */
#define SVC_RETRY_MS		5000

/* idle_timeout is checked this many times per period (so a connection
 * closes between 1 and 1.25 idle_timeouts after its last byte). */
#define IDLE_TICKS		4

/* Shutdown: every slot gets AT+QICLOSE, but the daemon exits within 5 s
 * (DESIGN.md section 2) even if the modem does not answer.  Whether
 * every close is answered is checked this often (a local choice, fine
 * next to the modem's 300 ms answers). */
#define SHUTDOWN_DEADLINE_MS	4000
#define SHUTDOWN_POLL_MS	20


/*
 * The control socket (DESIGN.md section 5; bg96d's own bounds): a client
 * with no request for CONTROL_IDLE_S is closed, a request line that has
 * started must end within CONTROL_LINE_S (a slow writer cannot hold a
 * client slot), output not read for CONTROL_WRITE_S closes the client.
 */
#define CONTROL_IDLE_S		600
#define CONTROL_LINE_S		10
#define CONTROL_WRITE_S		60

/*
 * The radio refresh for "status" (signal, operator, access technology):
 * one command per step while the queue is idle, so it never holds up
 * socket traffic for more than one 300 ms-class command (ref. section
 * 10), a full round every cycle (as often as the health check,
 * HEALTH_POLL_MS), the first soon after the modem is ready.
 */
#define RADIO_POLL_FIRST_MS	500
#define RADIO_POLL_STEP_MS	1000
#define RADIO_POLL_CYCLE_MS	30000

/*
 * bg96ctl waits this long for a reply: status and reset are answered at
 * once; "at" waits for the modem, up to the longest deadline the daemon
 * allows a passthrough command (AT+QPING, TMO_DEF_QPING), with room for
 * commands queued before it.
 */
#define BG96CTL_REPLY_S		10
#define BG96CTL_AT_REPLY_S	300

#endif
