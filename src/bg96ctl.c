/*
 * bg96ctl: command-line client of bg96d's control socket (DESIGN.md
 * section 5).  Sends one request line, reads one JSON reply line, prints
 * it as a table (or raw with --json).  No libevent: plain blocking I/O
 * with poll() deadlines; jansson reads the reply.  "events" reads
 * events.sock (in the control socket's directory) until bg96d closes it.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "bg96d/timeouts.h"

#define EX_USAGE_	64
#define CTL_SOCKET	"/run/bg96/control.sock"
#define CTL_LINE_MAX	1024		/* request, without "\n" */
#define CTL_REPLY_MAX	(4 * 1024 * 1024)
#define EVENT_LINE_MAX	(64 * 1024)

static const char *progname = "bg96ctl";

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-s SOCKET] [--json] status | at COMMAND... "
	    "| reset | events\n"
	    "  -s SOCKET  control socket (default %s); events.sock is\n"
	    "             read from the same directory\n"
	    "  --json     print the daemon's raw JSON reply (or events)\n",
	    progname, CTL_SOCKET);
}

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", progname);
		exit(1);
	}
	return p;
}

/* Member key of an object; NULL if there is none (or v is no object). */
static const json_t *
jv_get(const json_t *v, const char *key)
{
	return json_is_object(v) ? json_object_get(v, key) : NULL;
}

/* Printable form of a scalar into buf: control characters become '?'. */
static const char *
jv_text(const json_t *v, char *buf, size_t sz)
{
	size_t	 i, n;

	switch (v != NULL ? json_typeof(v) : JSON_NULL) {
	case JSON_TRUE:
		return "yes";
	case JSON_FALSE:
		return "no";
	case JSON_INTEGER:
		snprintf(buf, sz, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return buf;
	case JSON_REAL:
		snprintf(buf, sz, "%.15g", json_real_value(v));
		return buf;
	case JSON_STRING:
		/* As snprintf would cut it; a NUL (\u0000) is a '?' too. */
		n = json_string_length(v);
		if (n > sz - 1)
			n = sz - 1;
		memcpy(buf, json_string_value(v), n);
		buf[n] = '\0';
		for (i = 0; i < n; i++)
			if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
				buf[i] = '?';
		return buf;
	case JSON_ARRAY:
		return "[...]";
	case JSON_OBJECT:
		return "{...}";
	case JSON_NULL:
		break;
	}
	return "-";
}

/* Print rows of cells (row 0 is the header) as aligned columns. */
static void
print_table(char **cells, size_t nrows, size_t ncols)
{
	size_t	 w[16], r, c, len;

	if (ncols > 16)
		ncols = 16;
	memset(w, 0, sizeof(w));
	for (r = 0; r < nrows; r++)
		for (c = 0; c < ncols; c++)
			if ((len = strlen(cells[r * ncols + c])) > w[c])
				w[c] = len;
	for (r = 0; r < nrows; r++) {
		printf(" ");
		for (c = 0; c < ncols; c++) {
			if (c + 1 < ncols)
				printf(" %-*s ", (int)w[c], cells[r * ncols + c]);
			else
				printf(" %s", cells[r * ncols + c]);
		}
		printf("\n");
	}
}

/* One table from an array of objects: columns are keys with headers. */
static void
print_list(const char *title, const json_t *arr, const char *const *keys,
    const char *const *heads, size_t ncols)
{
	char	**cells, buf[512];
	size_t	 nrows, r, c;

	if (!json_is_array(arr) || json_array_size(arr) == 0) {
		printf("%s: none\n", title);
		return;
	}
	printf("%s:\n", title);
	nrows = json_array_size(arr) + 1;
	cells = xrealloc(NULL, nrows * ncols * sizeof(*cells));
	for (c = 0; c < ncols; c++)
		cells[c] = strdup(heads[c]);
	for (r = 1; r < nrows; r++)
		for (c = 0; c < ncols; c++)
			cells[r * ncols + c] = strdup(jv_text(jv_get(
			    json_array_get(arr, r - 1), keys[c]), buf,
			    sizeof(buf)));
	for (c = 0; c < nrows * ncols; c++)
		if (cells[c] == NULL) {
			fprintf(stderr, "%s: out of memory\n", progname);
			exit(1);
		}
	print_table(cells, nrows, ncols);
	for (c = 0; c < nrows * ncols; c++)
		free(cells[c]);
	free(cells);
}

/* Every member of an object as "key value" lines. */
static void
print_object(const char *title, const json_t *obj)
{
	const char	*key;
	const json_t	*v;
	char		 buf[512];
	size_t		 w = 0;

	printf("%s:\n", title);
	if (!json_is_object(obj))
		return;
	json_object_foreach((json_t *)obj, key, v)
		if (strlen(key) > w)
			w = strlen(key);
	json_object_foreach((json_t *)obj, key, v) {
		if (strcmp(key, "rssi_dbm") == 0 && json_is_number(v))
			printf("  %-*s  %s dBm\n", (int)w, key,
			    jv_text(v, buf, sizeof(buf)));
		else
			printf("  %-*s  %s\n", (int)w, key,
			    jv_text(v, buf, sizeof(buf)));
	}
}

/* Who holds the serial line: "command", "data:<endpoint>#<id>" ... */
static void
print_line(const json_t *r)
{
	const json_t	*up = jv_get(r, "line_bytes_up");
	char		 a[64], b[32], c[32];

	if (jv_get(r, "line") == NULL)
		return;		/* an older bg96d */
	printf("line: %s", jv_text(jv_get(r, "line"), a, sizeof(a)));
	if (json_is_integer(up))
		printf(" (up %s, down %s)", jv_text(up, b, sizeof(b)),
		    jv_text(jv_get(r, "line_bytes_down"), c, sizeof(c)));
	printf("\n\n");
}

static void
print_status(const json_t *r)
{
	static const char *const skeys[] = { "id", "endpoint", "type",
	    "state", "remote", "bytes_up", "bytes_down", "age_s" };
	static const char *const sheads[] = { "ID", "ENDPOINT", "TYPE",
	    "STATE", "REMOTE", "UP", "DOWN", "AGE(s)" };
	static const char *const ekeys[] = { "name", "type", "active",
	    "accepted", "refused", "failed", "socket" };
	static const char *const eheads[] = { "NAME", "TYPE", "ACTIVE",
	    "ACCEPTED", "REFUSED", "FAILED", "SOCKET" };

	print_object("modem", jv_get(r, "modem"));
	printf("\n");
	print_line(r);
	print_list("sockets", jv_get(r, "sockets"), skeys, sheads, 8);
	printf("\n");
	print_list("endpoints", jv_get(r, "endpoints"), ekeys, eheads, 7);
	printf("\n");
	print_object("counters", jv_get(r, "counters"));
}

static void
print_lines(const json_t *lines)
{
	const json_t	*v;
	char		 buf[2048];
	size_t		 i;

	json_array_foreach(lines, i, v)
		if (json_is_string(v))
			printf("%s\n", jv_text(v, buf, sizeof(buf)));
}

static long long
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to become ready for ev before deadline; -1 on timeout. */
static int
wait_fd(int fd, short ev, long long deadline)
{
	struct pollfd	 pfd = { fd, ev, 0 };
	long long	 left;
	int		 r;

	for (;;) {
		left = deadline - mono_ms();
		if (left <= 0)
			return -1;
		/* In slices: poll() takes an int of milliseconds. */
		r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 0;
		if (r == -1 && errno != EINTR)
			return -1;
	}
}

static int
ctl_connect(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "%s: %s: socket path too long\n", progname,
		    path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "%s: socket: %s\n", progname, strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int	 e = errno;

		if (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR)
			fprintf(stderr, "%s: cannot reach bg96d at %s: %s "
			    "(is bg96d running, with [control] enable = yes?)\n",
			    progname, path, strerror(e));
		else if (e == EACCES || e == EPERM)
			fprintf(stderr, "%s: %s: %s (the control socket is "
			    "only open to its owner and group, see [control] "
			    "mode)\n", progname, path, strerror(e));
		else
			fprintf(stderr, "%s: cannot reach bg96d at %s: %s\n",
			    progname, path, strerror(e));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Send req and read one reply line (without "\n") into *out.  Returns
 * its length, or -1 after printing why.
 */
static ssize_t
ctl_exchange(int fd, const char *req, int tmo_s, char **out)
{
	long long	 deadline = mono_ms() + tmo_s * 1000LL;
	size_t		 len = strlen(req), off = 0, cap = 4096;
	char		*buf, *nl;
	ssize_t		 n;

	while (off < len) {
		if (wait_fd(fd, POLLOUT, deadline) == -1)
			goto timeout;
		n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "%s: send: %s\n", progname,
			    strerror(errno));
			return -1;
		}
		off += (size_t)n;
	}
	buf = xrealloc(NULL, cap);
	off = 0;
	for (;;) {
		if (off == cap) {
			if (cap >= CTL_REPLY_MAX) {
				fprintf(stderr, "%s: reply too long\n",
				    progname);
				free(buf);
				return -1;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		if (wait_fd(fd, POLLIN, deadline) == -1) {
			free(buf);
			goto timeout;
		}
		n = recv(fd, buf + off, cap - off, 0);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "%s: recv: %s\n", progname,
			    strerror(errno));
			free(buf);
			return -1;
		}
		if (n == 0) {
			fprintf(stderr, "%s: bg96d closed the connection "
			    "without a reply\n", progname);
			free(buf);
			return -1;
		}
		if ((nl = memchr(buf + off, '\n', (size_t)n)) != NULL) {
			*nl = '\0';
			*out = buf;
			return nl - buf;
		}
		off += (size_t)n;
	}
timeout:
	fprintf(stderr, "%s: no reply from bg96d within %d s\n", progname,
	    tmo_s);
	return -1;
}

/* A string member printed as key=value: quoted if it has spaces. */
static void
print_member(const char *key, const json_t *v)
{
	char	 buf[1024];
	const char *t = jv_text(v, buf, sizeof(buf));

	if (json_is_string(v) && (t[0] == '\0' || strpbrk(t, " \"=") != NULL))
		printf(" %s=\"%s\"", key, t);
	else
		printf(" %s=%s", key, t);
}

/* One event: time, name, then its other members as key=value. */
static int
print_event(const char *line, size_t len, bool json)
{
	json_t		*e, *v;
	json_error_t	 jerr;
	const char	*key;
	char		 ts[64], name[64];

	if ((e = json_loadb(line, len, JSON_ALLOW_NUL, &jerr)) == NULL ||
	    !json_is_string(jv_get(e, "event"))) {
		json_decref(e);
		fprintf(stderr, "%s: malformed event from bg96d\n", progname);
		return -1;
	}
	if (json)
		printf("%.*s\n", (int)len, line);
	else {
		printf("%s %s", jv_text(jv_get(e, "ts"), ts, sizeof(ts)),
		    jv_text(jv_get(e, "event"), name, sizeof(name)));
		json_object_foreach(e, key, v)
			if (strcmp(key, "ts") != 0 && strcmp(key, "event") != 0)
				print_member(key, v);
		printf("\n");
	}
	fflush(stdout);
	if (strcmp(json_string_value(jv_get(e, "event")), "error") == 0) {
		char	 buf[512];

		fprintf(stderr, "%s: %s\n", progname,
		    jv_text(jv_get(e, "error"), buf, sizeof(buf)));
		json_decref(e);
		return -1;
	}
	json_decref(e);
	return 0;
}

/*
 * Print events from <dir of ctlpath>/events.sock until bg96d closes it:
 * 0 then, 1 on an error.
 */
static int
events(const char *ctlpath, bool json)
{
	char		 path[4096], *buf, *nl;
	const char	*slash;
	size_t		 off = 0, start;
	ssize_t		 n;
	int		 fd, rc = 1;

	slash = strrchr(ctlpath, '/');
	if ((size_t)snprintf(path, sizeof(path), "%.*sevents.sock",
	    slash != NULL ? (int)(slash - ctlpath + 1) : 0, ctlpath) >=
	    sizeof(path)) {
		fprintf(stderr, "%s: %s: path too long\n", progname, ctlpath);
		return 1;
	}
	if ((fd = ctl_connect(path)) == -1)
		return 1;
	buf = xrealloc(NULL, EVENT_LINE_MAX);
	for (;;) {
		n = recv(fd, buf + off, EVENT_LINE_MAX - off, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fprintf(stderr, "%s: recv: %s\n", progname,
			    strerror(errno));
			break;
		}
		if (n == 0) {
			if (off > 0)
				fprintf(stderr, "%s: bg96d closed the stream "
				    "within an event\n", progname);
			else
				rc = 0;
			break;
		}
		off += (size_t)n;
		start = 0;
		while ((nl = memchr(buf + start, '\n', off - start)) != NULL) {
			if (print_event(buf + start, (size_t)(nl - buf) - start,
			    json) == -1)
				goto out;
			start = (size_t)(nl - buf) + 1;
		}
		memmove(buf, buf + start, off - start);
		off -= start;
		if (off == EVENT_LINE_MAX) {
			fprintf(stderr, "%s: event too long\n", progname);
			break;
		}
	}
out:
	free(buf);
	close(fd);
	return rc;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json",	no_argument,		NULL, 'j' },
		{ "socket",	required_argument,	NULL, 's' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 }
	};
	const char	*path = CTL_SOCKET, *verb;
	const json_t	*ok, *err;
	json_t		*reply;
	json_error_t	 jerr;
	char		 req[CTL_LINE_MAX + 2], *line = NULL;
	bool		 json = false, good;
	size_t		 len;
	ssize_t		 n;
	int		 ch, fd, i, tmo = BG96CTL_REPLY_S;

	while ((ch = getopt_long(argc, argv, "s:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage();
			return 0;
		case 'V':
			printf("bg96ctl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
			return EX_USAGE_;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage();
		return EX_USAGE_;
	}
	verb = argv[0];
	if (strcmp(verb, "events") == 0) {
		if (argc != 1) {
			usage();
			return EX_USAGE_;
		}
		return events(path, json);
	}
	if (strcmp(verb, "status") == 0 || strcmp(verb, "reset") == 0) {
		if (argc != 1) {
			usage();
			return EX_USAGE_;
		}
		snprintf(req, sizeof(req), "%s\n", verb);
	} else if (strcmp(verb, "at") == 0) {
		if (argc < 2) {
			usage();
			return EX_USAGE_;
		}
		len = (size_t)snprintf(req, sizeof(req), "at");
		for (i = 1; i < argc; i++) {
			if (strpbrk(argv[i], "\r\n") != NULL) {
				fprintf(stderr, "%s: line breaks are not "
				    "allowed in a command\n", progname);
				return EX_USAGE_;
			}
			if (len + 1 + strlen(argv[i]) > CTL_LINE_MAX) {
				fprintf(stderr, "%s: command too long\n",
				    progname);
				return EX_USAGE_;
			}
			req[len++] = ' ';
			memcpy(req + len, argv[i], strlen(argv[i]));
			len += strlen(argv[i]);
		}
		req[len++] = '\n';
		req[len] = '\0';
		tmo = BG96CTL_AT_REPLY_S;
	} else {
		fprintf(stderr, "%s: unknown command: %s\n", progname, verb);
		usage();
		return EX_USAGE_;
	}

	if ((fd = ctl_connect(path)) == -1)
		return 1;
	n = ctl_exchange(fd, req, tmo, &line);
	close(fd);
	if (n == -1)
		return 1;
	/* A "\u0000" in a string is allowed (printed as '?'). */
	if ((reply = json_loadb(line, (size_t)n, JSON_ALLOW_NUL,
	    &jerr)) == NULL)
		ok = NULL;
	else if (ok = jv_get(reply, "ok"), !json_is_boolean(ok)) {
		json_decref(reply);
		ok = NULL;
	}
	if (ok == NULL) {
		if (json)
			printf("%s\n", line);
		fprintf(stderr, "%s: malformed reply from bg96d\n", progname);
		free(line);
		return 1;
	}
	good = json_is_true(ok);
	if (json)
		printf("%s\n", line);
	else if (strcmp(verb, "status") == 0 && good)
		print_status(reply);
	else if (strcmp(verb, "at") == 0)
		print_lines(jv_get(reply, "lines"));
	else if (good)
		printf("ok\n");
	if (!good && !json) {
		char	 buf[1024];

		err = jv_get(reply, "error");
		fprintf(stderr, "%s: %s\n", progname, json_is_string(err) ?
		    jv_text(err, buf, sizeof(buf)) : "request failed");
	}
	json_decref(reply);
	free(line);
	fflush(stdout);
	return good ? 0 : 1;
}
