/*
 * bridge.h: one local client paired with one modem socket, bytes both
 * ways with backpressure (DESIGN.md section 4).
 *
 * A bridge moves bytes; it does not decide when it may have a slot.
 * Its owner (admit.c) creates it, tells it when to open its modem
 * connection (bridge_start), and hears back through bridge_ops what
 * changes the owner's accounting.
 */
#ifndef BG96D_BRIDGE_H
#define BG96D_BRIDGE_H

struct bridge;
struct bufferevent;
struct conf_endpoint;
struct event_base;
struct msock;
struct msock_peer;
struct msockset;

/* What a bridge tells its owner; each gets the owner's arg. */
struct bridge_ops {
	/*
	 * The connect deadline passed before bridge_start(): the owner
	 * ends the bridge (bridge_fail()).
	 */
	void	(*expired)(void *);
	/*
	 * The modem failed while opening, before the deadline: the slot
	 * is gone and the bridge waits to be started again.
	 */
	void	(*requeue)(void *);
	/* The bridge let go of its slot but lives on (a SOCKS reply). */
	void	(*released)(void *);
	/* Something the endpoint counts as failed / linger_expired. */
	void	(*failed)(void *);
	void	(*linger_expired)(void *);
	/* The bridge is gone (freed); the last call. */
	void	(*closed)(void *);
};

/*
 * A client accepted on a tcp (stream) or udp (SEQPACKET) endpoint's
 * socket: it waits, buffering what it sends, for bridge_start() until
 * conf's connect_timeout.  conf must outlive the bridge; its limits are
 * read as they are (a reload may change them).
 */
struct bridge	*bridge_new(struct event_base *, const struct conf_endpoint *,
		    int fd, const struct bridge_ops *, void *arg);
/*
 * A SOCKS5 client asked for host:port (validated); bev holds its socket
 * (and any bytes it already sent after the request).  The reply is
 * sent when the modem connection opens or fails.
 */
struct bridge	*bridge_new_socks(struct event_base *,
		    const struct conf_endpoint *, struct bufferevent *bev,
		    const char *host, int port, const struct bridge_ops *,
		    void *arg);
/*
 * A tcp-listener's modem socket accepted a connection on ms: connect to
 * the forward target and bridge the two.  Returns NULL if it ended at
 * once (closed() was called).
 */
struct bridge	*bridge_new_incoming(struct event_base *,
		    const struct conf_endpoint *, struct msock *ms,
		    const struct msock_peer *from, const struct bridge_ops *,
		    void *arg);
/*
 * Open the modem connection on a free slot (AT+QIOPEN, bounded by
 * qiopen_ms and the connect deadline).  Returns 0, or -1 if no slot
 * was free (nothing changed).
 */
int		 bridge_start(struct bridge *, struct msockset *,
		    long long qiopen_ms);
/*
 * End a bridge that never opened, err (errors.h) saying why for a
 * SOCKS client's reply code, why for the log.
 */
void		 bridge_fail(struct bridge *, int err, const char *why);
/* Close the client now (shutdown, endpoint removed). */
void		 bridge_abort(struct bridge *, const char *why);

#endif
