/*
 * bg96ctl: command-line client of bg96d's control socket (DESIGN.md
 * section 5).  Sends one request line, reads one JSON reply line, prints
 * it as a table (or raw with --json).  No libevent: plain blocking I/O
 * with poll() deadlines.
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

#include "config.h"

#define EX_USAGE_	64
#define CTL_SOCKET	"/run/bg96/control.sock"
#define CTL_LINE_MAX	1024		/* request, without "\n" */
#define CTL_REPLY_MAX	(4 * 1024 * 1024)
#define CTL_TMO_S	10		/* status, reset */
#define CTL_TMO_AT_S	300		/* at: the daemon allows AT+QPING 255 s */
#define JSON_DEPTH_MAX	32

/* A parsed JSON value. */
enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype	 type;
	bool		 b;
	char		*s;		/* J_STR: decoded; J_NUM: its text */
	size_t		 n;		/* J_ARR, J_OBJ: members */
	struct jv	*items;
	char		**keys;		/* J_OBJ */
};

struct jp {
	const char	*p, *end;
	int		 depth;
};

static const char *progname = "bg96ctl";

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-s SOCKET] [--json] status | at COMMAND... "
	    "| reset\n"
	    "  -s SOCKET  control socket (default %s)\n"
	    "  --json     print the daemon's raw JSON reply\n", progname,
	    CTL_SOCKET);
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

static void
jv_free(struct jv *v)
{
	size_t	 i;

	free(v->s);
	for (i = 0; i < v->n; i++) {
		jv_free(&v->items[i]);
		if (v->keys != NULL)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	memset(v, 0, sizeof(*v));
}

static void
jp_ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int
jp_hex4(struct jp *j, unsigned int *out)
{
	unsigned int	 v = 0;
	int		 i;
	char		 c;

	if (j->end - j->p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		c = *j->p++;
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned int)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* Append code point cp as UTF-8. */
static size_t
utf8_put(char *d, unsigned int cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xc0 | (cp >> 6));
		d[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xe0 | (cp >> 12));
		d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | (cp >> 18));
	d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	d[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string at j->p (the opening quote); decoded into a new buffer. */
static int
jp_string(struct jp *j, char **out)
{
	const char	*start, *e;
	char		*d;
	size_t		 n = 0;
	unsigned int	 cp, lo;

	if (j->p >= j->end || *j->p != '"')
		return -1;
	start = ++j->p;
	/* Decoded text is never longer than its source: find its end. */
	for (e = start; e < j->end && *e != '"'; e++)
		if (*e == '\\' && e + 1 < j->end)
			e++;
	d = xrealloc(NULL, (size_t)(e - start) + 1);
	while (j->p < j->end && *j->p != '"') {
		unsigned char	 c = (unsigned char)*j->p++;

		if (c < 0x20)
			goto bad;
		if (c != '\\') {
			d[n++] = (char)c;
			continue;
		}
		if (j->p >= j->end)
			goto bad;
		switch (*j->p++) {
		case '"':  d[n++] = '"'; break;
		case '\\': d[n++] = '\\'; break;
		case '/':  d[n++] = '/'; break;
		case 'b':  d[n++] = '\b'; break;
		case 'f':  d[n++] = '\f'; break;
		case 'n':  d[n++] = '\n'; break;
		case 'r':  d[n++] = '\r'; break;
		case 't':  d[n++] = '\t'; break;
		case 'u':
			if (jp_hex4(j, &cp) == -1)
				goto bad;
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (j->end - j->p < 6 || j->p[0] != '\\' ||
				    j->p[1] != 'u')
					goto bad;
				j->p += 2;
				if (jp_hex4(j, &lo) == -1 || lo < 0xdc00 ||
				    lo > 0xdfff)
					goto bad;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp < 0xe000)
				goto bad;
			if (cp == 0)
				cp = '?';	/* keep C strings whole */
			/* 6 source bytes give at most 4 (12 give 4). */
			n += utf8_put(d + n, cp);
			break;
		default:
			goto bad;
		}
	}
	if (j->p >= j->end)
		goto bad;
	j->p++;
	d[n] = '\0';
	*out = d;
	return 0;
bad:
	free(d);
	return -1;
}

static int
jp_number(struct jp *j, struct jv *v)
{
	const char	*s = j->p;
	size_t		 digits;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	digits = 0;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
		j->p++;
		digits++;
	}
	if (digits == 0)
		return -1;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		for (digits = 0; j->p < j->end && *j->p >= '0' &&
		    *j->p <= '9'; digits++)
			j->p++;
		if (digits == 0)
			return -1;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		for (digits = 0; j->p < j->end && *j->p >= '0' &&
		    *j->p <= '9'; digits++)
			j->p++;
		if (digits == 0)
			return -1;
	}
	v->type = J_NUM;
	v->s = xrealloc(NULL, (size_t)(j->p - s) + 1);
	memcpy(v->s, s, (size_t)(j->p - s));
	v->s[j->p - s] = '\0';
	return 0;
}

static int
jp_literal(struct jp *j, const char *lit)
{
	size_t	 n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || strncmp(j->p, lit, n) != 0)
		return -1;
	j->p += n;
	return 0;
}

static int	jp_value(struct jp *, struct jv *);

/* Members of an array or object, after the opening bracket. */
static int
jp_members(struct jp *j, struct jv *v, bool obj)
{
	char	 close = obj ? '}' : ']';
	char	*key;

	jp_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return 0;
	}
	for (;;) {
		key = NULL;
		if (obj) {
			jp_ws(j);
			if (jp_string(j, &key) == -1)
				return -1;
			jp_ws(j);
			if (j->p >= j->end || *j->p != ':') {
				free(key);
				return -1;
			}
			j->p++;
		}
		v->items = xrealloc(v->items, (v->n + 1) * sizeof(*v->items));
		if (obj)
			v->keys = xrealloc(v->keys, (v->n + 1) *
			    sizeof(*v->keys));
		memset(&v->items[v->n], 0, sizeof(v->items[v->n]));
		if (obj)
			v->keys[v->n] = key;
		v->n++;
		if (jp_value(j, &v->items[v->n - 1]) == -1)
			return -1;
		jp_ws(j);
		if (j->p >= j->end)
			return -1;
		if (*j->p == close) {
			j->p++;
			return 0;
		}
		if (*j->p++ != ',')
			return -1;
	}
}

static int
jp_value(struct jp *j, struct jv *v)
{
	int	 r;

	jp_ws(j);
	if (j->p >= j->end)
		return -1;
	switch (*j->p) {
	case '{':
	case '[':
		if (++j->depth > JSON_DEPTH_MAX)
			return -1;
		v->type = *j->p == '{' ? J_OBJ : J_ARR;
		j->p++;
		r = jp_members(j, v, v->type == J_OBJ);
		j->depth--;
		return r;
	case '"':
		v->type = J_STR;
		return jp_string(j, &v->s);
	case 't':
		v->type = J_BOOL;
		v->b = true;
		return jp_literal(j, "true");
	case 'f':
		v->type = J_BOOL;
		return jp_literal(j, "false");
	case 'n':
		v->type = J_NULL;
		return jp_literal(j, "null");
	default:
		return jp_number(j, v);
	}
}

/* Parse a whole document; -1 (and nothing allocated) if malformed. */
static int
json_parse(const char *text, size_t len, struct jv *v)
{
	struct jp	 j = { text, text + len, 0 };

	memset(v, 0, sizeof(*v));
	if (jp_value(&j, v) == -1) {
		jv_free(v);
		return -1;
	}
	jp_ws(&j);
	if (j.p != j.end) {
		jv_free(v);
		return -1;
	}
	return 0;
}

static const struct jv *
jv_get(const struct jv *v, const char *key)
{
	size_t	 i;

	if (v == NULL || v->type != J_OBJ)
		return NULL;
	for (i = 0; i < v->n; i++)
		if (strcmp(v->keys[i], key) == 0)
			return &v->items[i];
	return NULL;
}

/* Printable form of a scalar into buf: control characters become '?'. */
static const char *
jv_text(const struct jv *v, char *buf, size_t sz)
{
	size_t	 i;

	if (v == NULL || v->type == J_NULL)
		return "-";
	switch (v->type) {
	case J_BOOL:
		return v->b ? "yes" : "no";
	case J_NUM:
	case J_STR:
		snprintf(buf, sz, "%s", v->s);
		for (i = 0; buf[i] != '\0'; i++)
			if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
				buf[i] = '?';
		return buf;
	case J_ARR:
		return "[...]";
	case J_OBJ:
		return "{...}";
	case J_NULL:
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
print_list(const char *title, const struct jv *arr, const char *const *keys,
    const char *const *heads, size_t ncols)
{
	char	**cells, buf[512];
	size_t	 nrows, r, c;

	if (arr == NULL || arr->type != J_ARR || arr->n == 0) {
		printf("%s: none\n", title);
		return;
	}
	printf("%s:\n", title);
	nrows = arr->n + 1;
	cells = xrealloc(NULL, nrows * ncols * sizeof(*cells));
	for (c = 0; c < ncols; c++)
		cells[c] = strdup(heads[c]);
	for (r = 1; r < nrows; r++)
		for (c = 0; c < ncols; c++)
			cells[r * ncols + c] = strdup(jv_text(jv_get(
			    &arr->items[r - 1], keys[c]), buf, sizeof(buf)));
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
print_object(const char *title, const struct jv *obj)
{
	char	 buf[512];
	size_t	 i, w = 0;

	printf("%s:\n", title);
	if (obj == NULL || obj->type != J_OBJ)
		return;
	for (i = 0; i < obj->n; i++)
		if (strlen(obj->keys[i]) > w)
			w = strlen(obj->keys[i]);
	for (i = 0; i < obj->n; i++) {
		const struct jv	*v = &obj->items[i];

		if (strcmp(obj->keys[i], "rssi_dbm") == 0 && v->type == J_NUM)
			printf("  %-*s  %s dBm\n", (int)w, obj->keys[i],
			    jv_text(v, buf, sizeof(buf)));
		else
			printf("  %-*s  %s\n", (int)w, obj->keys[i],
			    jv_text(v, buf, sizeof(buf)));
	}
}

static void
print_status(const struct jv *r)
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
	print_list("sockets", jv_get(r, "sockets"), skeys, sheads, 8);
	printf("\n");
	print_list("endpoints", jv_get(r, "endpoints"), ekeys, eheads, 7);
	printf("\n");
	print_object("counters", jv_get(r, "counters"));
}

static void
print_lines(const struct jv *lines)
{
	char	 buf[2048];
	size_t	 i;

	if (lines == NULL || lines->type != J_ARR)
		return;
	for (i = 0; i < lines->n; i++)
		if (lines->items[i].type == J_STR)
			printf("%s\n", jv_text(&lines->items[i], buf,
			    sizeof(buf)));
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
	const struct jv	*ok, *err;
	struct jv	 reply;
	char		 req[CTL_LINE_MAX + 2], *line = NULL;
	bool		 json = false, good;
	size_t		 len;
	ssize_t		 n;
	int		 ch, fd, i, tmo = CTL_TMO_S;

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
		tmo = CTL_TMO_AT_S;
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
	if (json_parse(line, (size_t)n, &reply) == -1)
		ok = NULL;
	else if ((ok = jv_get(&reply, "ok")) == NULL || ok->type != J_BOOL) {
		jv_free(&reply);
		ok = NULL;
	}
	if (ok == NULL) {
		if (json)
			printf("%s\n", line);
		fprintf(stderr, "%s: malformed reply from bg96d\n", progname);
		free(line);
		return 1;
	}
	good = ok->b;
	if (json)
		printf("%s\n", line);
	else if (strcmp(verb, "status") == 0 && good)
		print_status(&reply);
	else if (strcmp(verb, "at") == 0)
		print_lines(jv_get(&reply, "lines"));
	else if (good)
		printf("ok\n");
	if (!good && !json) {
		char	 buf[1024];

		err = jv_get(&reply, "error");
		fprintf(stderr, "%s: %s\n", progname,
		    err != NULL && err->type == J_STR ?
		    jv_text(err, buf, sizeof(buf)) : "request failed");
	}
	jv_free(&reply);
	free(line);
	fflush(stdout);
	return good ? 0 : 1;
}
