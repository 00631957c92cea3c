/*
 * control.h: the control socket, <socket_dir>/control.sock (DESIGN.md
 * section 5): one JSON reply line per request line.
 */
#ifndef BG96D_CONTROL_H
#define BG96D_CONTROL_H

#include <stddef.h>

struct event_base;
struct conf;
struct modem;
struct msockset;
struct epset;
struct control;

/* Create the control service (no socket yet). */
struct control	*control_new(struct event_base *, struct modem *,
		    struct msockset *, struct epset *);
/*
 * Bind (or re-bind after SIGHUP) the control socket per conf ([control]
 * enable/mode, [daemon] socket_dir/socket_group).  With enable = no the
 * socket is removed.  Returns 0, -1 with err, or ERR_INSTANCE (errors.h)
 * with err if another instance answers there.
 */
int		 control_apply(struct control *, const struct conf *, int gid,
		    char *err, size_t errlen);
/* Close every client and the socket, remove the file; NULL-safe. */
void		 control_free(struct control *);

#endif
