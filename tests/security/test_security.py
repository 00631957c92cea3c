#!/usr/bin/env python3
"""Security tests (issue 8): socket file modes and groups, isolation
between endpoints and between clients, AT injection from every input
(config values, SOCKS names, control "at" text), each proven by what
bg96sim's log says it received, connect floods against a small file
descriptor limit, and bounds on slow or oversized SOCKS and control input.

Every case runs the real bg96sim and bg96d.  What bg96sim received is read
from its log: every command line it took is logged as "rx: <line>" (with
CR, LF and other control bytes escaped), so a test can list them all.
"""
import grp
import os
import re
import resource
import signal
import socket
import stat
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from harness import (BG96D, Ctl, Env, Server, echo_handler,  # noqa
                     echo_once, fd_count, recv_all, run_cases,
                     steady_fd_count, tcp_endpoint, wait_for)

SKIP = 77


def skip(why):
    print("SKIP: " + why)
    return SKIP


def rx_lines(env):
    """Every command line bg96sim received, in order (escaped as logged)."""
    out = []
    with open(env.sim_log, "rb") as f:
        for ln in f.read().decode("utf-8", "replace").splitlines():
            m = re.search(r" bg96sim: rx: (.*)$", ln)
            if m:
                out.append(m.group(1))
    return out


# The command names bg96d itself may send (DESIGN.md section 4) and the
# read-only ones the control socket allows.  Anything else in bg96sim's
# log was injected.
DAEMON_COMMANDS = {
    "AT", "ATE0", "AT+CMEE", "AT+CMEE?", "AT+CPIN?", "AT+CPIN", "AT+QICSGP", "AT+CEREG",
    "AT+CEREG?", "AT+CGREG?", "AT+CREG?", "AT+QIACT", "AT+QIACT?",
    "AT+QIDEACT", "AT+QIOPEN", "AT+QICLOSE", "AT+QISEND", "AT+QIRD",
    "AT+QISTATE", "AT+QISTATE?", "AT+CFUN", "AT+CSQ", "AT+QCSQ", "AT+COPS?",
    "AT+QNWINFO", "AT+QIGETERROR", "ATI", "AT+GSN", "AT+CGSN", "AT+QCCID",
    "AT+QGMR", "AT+QPING", "AT+QNTP", "AT+QIDNSGIP", "AT+QICFG", "AT+IFC",
    "AT+QURCCFG", "AT+CGATT?", "AT+CFUN?", "AT+QIDNSCFG", "AT+COPS",
    "AT+CGREG", "AT+CREG",
}


def command_name(line):
    """"AT+QIOPEN=1,..." -> "AT+QIOPEN", "AT+CPIN?" -> "AT+CPIN?"."""
    return line.upper().split("=", 1)[0]


def assert_no_injection(env, marker="QPOWD"):
    """Each line bg96sim took is one command bg96d may send, none carries
    the marker, and none has an escaped control byte in it."""
    lines = rx_lines(env)
    assert lines, "bg96sim received nothing"
    for ln in lines:
        assert marker not in ln.upper(), "injected: %r" % ln
        assert "\\x1b" not in ln and "\\x1a" not in ln, \
            "control byte reached the modem: %r" % ln
        if ln.startswith("AT"):
            name = command_name(ln)
            assert name in DAEMON_COMMANDS or \
                name.rstrip("?") in DAEMON_COMMANDS, \
                "unexpected command %r" % ln
    return lines


def settle_fds(env, want, timeout=20):
    """Wait until bg96d holds `want` descriptors (or fewer); return it."""
    end = time.monotonic() + timeout
    n = fd_count(env.daemon.pid)
    while n > want and time.monotonic() < end:
        time.sleep(0.2)
        n = fd_count(env.daemon.pid)
    return n


def settle_baseline(env):
    return steady_fd_count(env.daemon.pid, 5, 10)


def other_group():
    """A group this process may give its files: a supplementary group
    that is not the primary one, or (as root) any other group."""
    if os.geteuid() == 0:
        for name in ("nogroup", "daemon", "users"):
            try:
                return grp.getgrnam(name)
            except KeyError:
                pass
        return None
    for gid in os.getgroups():
        if gid != os.getegid():
            try:
                return grp.getgrgid(gid)
            except KeyError:
                pass
    return None


# ---------------------------------------------------------------------------
# Socket files


def case_socket_modes():
    """Every socket file has its configured mode and group: [daemon]
    socket_mode for endpoints and socks.sock, an endpoint's own
    socket_mode over it, and control.sock 0600 by default whatever
    socket_mode says."""
    g = other_group()
    srv = Server(echo_handler)
    extra = "socket_mode = 0660\n"
    if g is not None:
        extra += "socket_group = %s\n" % g.gr_name
    extra += "[socks]\nenable = yes\n"
    env = Env("sec-modes", endpoints=tcp_endpoint("a", srv.port) +
              tcp_endpoint("b", srv.port, "socket_mode = 0600\n") +
              tcp_endpoint("c", srv.port, "socket_mode = 0666\n"),
              extra_conf=extra)
    ok = False
    try:
        want = {"a.sock": 0o660, "b.sock": 0o600, "c.sock": 0o666,
                "socks.sock": 0o660, "control.sock": 0o600}
        for name, mode in want.items():
            st = os.lstat(os.path.join(env.run, name))
            assert stat.S_ISSOCK(st.st_mode), name
            assert stat.S_IMODE(st.st_mode) == mode, \
                "%s: mode %o, want %o" % (name, stat.S_IMODE(st.st_mode),
                                          mode)
            if g is not None and name != "control.sock":
                assert st.st_gid == g.gr_gid, \
                    "%s: gid %d, want %d" % (name, st.st_gid, g.gr_gid)
        # control.sock keeps 0600 even with a world-writable socket_mode.
        st = os.lstat(os.path.join(env.run, "control.sock"))
        assert stat.S_IMODE(st.st_mode) & 0o077 == 0
        echo_once(env, "a")
        if g is None:
            print("no second group available: groups not checked")
        ok = True
    finally:
        srv.close()
        env.close(ok)


# ---------------------------------------------------------------------------
# Isolation


class Recorder:
    """A TCP server that keeps every connection's bytes and echoes them."""

    def __init__(self):
        self.got = []
        self.lock = threading.Lock()
        self.srv = Server(self.handle)
        self.port = self.srv.port

    def handle(self, conn):
        buf = b""
        conn.settimeout(60)
        while True:
            try:
                b = conn.recv(65536)
            except OSError:
                break
            if not b:
                break
            buf += b
            conn.sendall(b)
        with self.lock:
            self.got.append(buf)

    def close(self):
        self.srv.close()


def case_isolation():
    """Clients of endpoint A and of endpoint B, at once: each client gets
    back exactly its own bytes, and each server sees only the bytes of its
    own endpoint's clients, each client's on a connection of its own."""
    ra, rb = Recorder(), Recorder()
    env = Env("sec-iso", endpoints=tcp_endpoint("a", ra.port) +
              tcp_endpoint("b", rb.port))
    ok = False
    try:
        sent = {"a": [], "b": []}
        errors = []

        def client(ep, i):
            tag = ("%s%02d:" % (ep, i)).encode()
            data = tag + os.urandom(20000)
            try:
                s = env.connect(ep, timeout=60)
                s.sendall(data)
                got = recv_all(s, 60, len(data))
                s.close()
                if got != data:
                    errors.append("%s%d: got %d bytes back, wrong" %
                                  (ep, i, len(got)))
            except OSError as e:
                errors.append("%s%d: %s" % (ep, i, e))
            sent[ep].append(data)

        ts = [threading.Thread(target=client, args=(ep, i))
              for i in range(5) for ep in ("a", "b")]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        assert not errors, errors
        wait_for(lambda: len(ra.got) == 5 and len(rb.got) == 5, 30,
                 "both servers to see 5 connections")
        assert sorted(ra.got) == sorted(sent["a"]), "A's server saw other bytes"
        assert sorted(rb.got) == sorted(sent["b"]), "B's server saw other bytes"
        ok = True
    finally:
        ra.close()
        rb.close()
        env.close(ok)


def case_udp_isolation():
    """Two clients of one udp endpoint each receive only the replies to
    their own datagrams."""
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    stop = threading.Event()

    def echo():
        u.settimeout(0.2)
        while not stop.is_set():
            try:
                d, a = u.recvfrom(2048)
            except socket.timeout:
                continue
            u.sendto(d, a)

    t = threading.Thread(target=echo, daemon=True)
    t.start()
    env = Env("sec-udpiso", endpoints="[endpoint u]\ntype = udp\n"
              "host = 127.0.0.1\nport = %d\n" % port)
    ok = False
    try:
        cs = []
        for _ in range(2):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            c.settimeout(30)
            c.connect(env.sock_path("u"))
            cs.append(c)
        for n in range(20):
            for i, c in enumerate(cs):
                c.send(b"client%d-%03d" % (i, n))
        for i, c in enumerate(cs):
            got = 0
            while got < 20:
                d = c.recv(2048)
                assert d.startswith(b"client%d-" % i), \
                    "client %d got %r" % (i, d)
                got += 1
        for c in cs:
            c.close()
        ok = True
    finally:
        stop.set()
        t.join(2)
        u.close()
        env.close(ok)


# ---------------------------------------------------------------------------
# AT injection


BAD_VALUES = [
    # (section key, value, why it must be refused)
    ("apn", 'internet",1,"x', "quote"),
    ("apn", "internet\x1b", "ESC"),
    ("apn", "internet\x1a", "Ctrl-Z"),
    ("apn", "a\rAT+QPOWD", "CR"),
    ("username", 'u"\x0dAT+QPOWD', "quote and CR"),
    ("password", 'p",1\x1aAT+QPOWD', "quote, Ctrl-Z"),
    ("pin", "1234;+QPOWD", "not digits"),
    ("pin", '1234"', "quote"),
    ("host", 'example.com",80,0,0\x0dAT+QPOWD', "host with quote"),
    ("host", "a;b.example", "host with ;"),
    ("host", "exa mple.com", "host with space"),
    ("host", "example.com\x1b", "host with ESC"),
]


def conf_with(key, value, port=80, device="/dev/null"):
    modem = "[modem]\ndevice = %s\n" % device
    ep = "[endpoint e]\ntype = tcp\nport = %d\n" % port
    if key == "host":
        ep += "host = %s\n" % value
    else:
        modem += "%s = %s\n" % (key, value)
        ep += "host = example.com\n"
    return modem + ep


def case_config_injection():
    """A value that could break out of its AT string (quote, CR, ESC,
    Ctrl-Z, ';' where it does not belong) is a configuration error that
    names its line, at start-up (-n and a real start) and at SIGHUP; the
    running daemon keeps its old settings and bg96sim never receives the
    text."""
    import subprocess
    import tempfile
    for key, value, why in BAD_VALUES:
        fd, path = tempfile.mkstemp(suffix=".conf")
        with os.fdopen(fd, "wb") as f:
            f.write(conf_with(key, value).encode("latin-1"))
        try:
            r = subprocess.run([BG96D, "-n", "-c", path], capture_output=True,
                               timeout=10)
            assert r.returncode == 78, (key, why, r.returncode, r.stderr)
            line = 3 if key != "host" else 6
            want = ("%s:%d: " % (path, line)).encode()
            assert want in r.stderr, (key, why, r.stderr)
        finally:
            os.unlink(path)

    # A running daemon given each bad value by SIGHUP.
    srv = Server(echo_handler)
    env = Env("sec-confinj", endpoints=tcp_endpoint("echo", srv.port),
              modem_conf="apn = internet\n")
    ok = False
    try:
        good = open(env.conf, "rb").read()
        for n, (key, value, why) in enumerate(BAD_VALUES):
            text = good.decode()
            if key == "host":
                text = text.replace("host = 127.0.0.1",
                                    "host = %s" % value, 1)
            else:
                text = text.replace("apn = internet\n", "apn = internet\n"
                                    "%s = %s\n" % (key, value), 1)
            with open(env.conf, "wb") as f:
                f.write(text.encode("latin-1"))
            env.daemon.send_signal(signal.SIGHUP)
            env.wait_log("reload failed", count=n + 1)
        with open(env.conf, "wb") as f:
            f.write(good)
        echo_once(env, "echo")
        assert env.daemon.poll() is None
        assert_no_injection(env)
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_config_safe_values():
    """Values that are odd but safe inside an AT string (';', "'", '\\',
    '=' and ',' in credentials) reach the modem verbatim, in one AT+QICSGP
    line, and nothing else is sent with them."""
    user = "us;er,x"
    password = "p'a\\s=s;AT+QPOWD"
    env = Env("sec-confsafe", modem_conf="apn = internet.example\n"
              "username = %s\npassword = %s\nauth = pap\n" % (user, password))
    ok = False
    try:
        lines = rx_lines(env)
        want = 'AT+QICSGP=1,1,"internet.example","%s","%s",1' % (
            user, password.replace("\\", "\\\\"))
        qicsgp = [ln for ln in lines if ln.startswith("AT+QICSGP=")]
        assert qicsgp, lines
        assert all(ln == want for ln in qicsgp), (qicsgp, want)
        # The only QPOWD bg96sim saw is inside that quoted password: it
        # ran no command of that name.
        cmds = env.sim_cmd("stats")["commands"]
        assert "AT+QPOWD" not in cmds, cmds
        assert env.daemon.poll() is None
        ok = True
    finally:
        env.close(ok)


def socks_try(env, name, port=80):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(os.path.join(env.run, "socks.sock"))
    s.sendall(b"\x05\x01\x00")
    assert recv_all(s, 20, 2) == b"\x05\x00"
    s.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name +
              struct.pack(">H", port))
    r = recv_all(s, 20, 10)
    s.close()
    return r[1] if len(r) >= 2 else None


def case_socks_injection():
    """SOCKS names carrying a quote, CR, LF, ';', ',', ESC, Ctrl-Z, a
    space or non-ASCII are refused with 0x04; bg96sim sees no AT+QIOPEN
    for them and no injected command."""
    env = Env("sec-socksinj", extra_conf="[socks]\nenable = yes\n")
    ok = False
    try:
        names = [b'a"b', b'h",80,0,0\rAT+QPOWD\r', b"h\nAT+QPOWD",
                 b"h;AT+QPOWD", b"h,1", b"h\x1b", b"h\x1aAT+QPOWD",
                 b"exa mple.com", b"caf\xc3\xa9.example", b"h\x00x",
                 b"\x7f"]
        for name in names:
            rep = socks_try(env, name)
            assert rep == 0x04, (name, rep)
        lines = assert_no_injection(env)
        assert not [ln for ln in lines if ln.startswith("AT+QIOPEN")], \
            "an AT+QIOPEN went out"
        ok = True
    finally:
        env.close(ok)


def case_control_injection():
    """"at" text with ';', CR, LF, an open '"', ESC or Ctrl-Z never gets a
    second command to the modem: each is refused (or, for LF, split into
    a request that is not "at"), and bg96sim's log shows only the allowed
    commands, each alone on its line."""
    env = Env("sec-ctlinj")
    ok = False
    try:
        c = Ctl(env)
        refused = [
            b'AT+QPING=1,"a";+QPOWD', b'AT+CSQ;AT+QPOWD', b"AT+CSQ\rAT+QPOWD",
            b'AT+QPING=1,"a\rAT+QPOWD"', b'AT+QIDNSGIP=1,"a',
            b'AT+QIDNSGIP=1,"a"b"', b"AT+CSQ\x1bAT+QPOWD",
            b'AT+QPING=1,"a\x1a"', b"AT+QNTP=1,\"h\"\x1a",
        ]
        for cmd in refused:
            c.send(b"at " + cmd + b"\n")
            r = c.reply()
            assert r["ok"] is False, (cmd, r)
            assert r["error"] != "unknown request", (cmd, r)
        # LF ends the request: the rest is a request of its own.
        c.send(b"at AT+CSQ\nAT+QPOWD\n")
        r = c.reply()
        assert r["ok"], r
        r = c.reply()
        assert r["ok"] is False and r["error"] == "unknown request", r
        # A balanced quote with odd content is allowed and goes out alone.
        c.send(b'at AT+QIDNSGIP=1,"x,y z"\n')
        r = c.reply()
        c.close()
        lines = assert_no_injection(env)
        dns = [ln for ln in lines if ln.startswith("AT+QIDNSGIP")]
        assert dns == ['AT+QIDNSGIP=1,"x,y z"'], dns
        ok = True
    finally:
        env.close(ok)


# ---------------------------------------------------------------------------
# Floods and bounds


def connect_nb(path, kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_UNIX, kind)
    s.setblocking(False)
    try:
        s.connect(path)
    except (BlockingIOError, InterruptedError):
        s.close()
        return None
    except OSError:
        s.close()
        return None
    return s


def case_connect_flood():
    """1,000 connects on one socket file, first against the normal
    descriptor limit, then with bg96d's limit cut to 40: bg96d holds at
    most 12 modem connections and 64 waiting clients, pauses accept on
    EMFILE and resumes; afterwards every slot is free, the descriptor
    count is back to its idle value, and the endpoint and control socket
    work."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    srv = Server(echo_handler)
    env = Env("sec-flood", endpoints=tcp_endpoint("echo", srv.port))
    ok = False
    try:
        pid = env.daemon.pid
        path = env.sock_path("echo")
        base = settle_baseline(env)
        print("idle descriptors: %d" % base)

        def flood(total, hold):
            """Connect `total` times, keeping up to `hold` open (fewer when
            the backlog is full); return the highest descriptor count seen
            in bg96d."""
            held, done, peak = [], 0, 0
            end = time.monotonic() + 120
            while done < total and time.monotonic() < end:
                s = connect_nb(path)
                if s is None:
                    # The backlog is full: bg96d is not accepting (EMFILE)
                    # or is slower than us.  The oldest clients give up.
                    for x in held[:max(1, len(held) // 4)]:
                        x.close()
                    del held[:max(1, len(held) // 4)]
                    time.sleep(0.002)
                else:
                    done += 1
                    held.append(s)
                if len(held) >= hold:
                    for x in held[:hold // 2]:
                        x.close()
                    del held[:hold // 2]
                if done % 50 == 0:
                    peak = max(peak, fd_count(pid))
            peak = max(peak, fd_count(pid))
            for x in held:
                x.close()
            return done, peak

        done, peak = flood(1000, 400)
        print("normal limit: %d connects, peak %d descriptors" % (done, peak))
        assert done == 1000, "only %d connects in 120 s" % done
        # 12 bridged + 64 waiting + their modem-side bookkeeping (none:
        # the modem socket is not a descriptor) + a few in flight.
        assert peak <= base + 12 + 64 + 8, "peak %d, base %d" % (peak, base)
        wait_for(lambda: env.sim_cmd("stats")["slots"] == [], 60,
                 "every modem slot free")
        assert settle_fds(env, base) == base, "descriptors leaked"
        echo_once(env, "echo")

        limit = 40
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, limit))
        done, peak = flood(1000, 200)
        print("limit %d: %d connects, peak %d descriptors" % (limit, done,
                                                             peak))
        assert done == 1000, "only %d connects in 120 s" % done
        assert peak <= limit
        env.wait_log("accept: Too many open files")
        wait_for(lambda: env.sim_cmd("stats")["slots"] == [], 60,
                 "every modem slot free")
        assert settle_fds(env, base) == base, "descriptors leaked"
        wait_for(lambda: try_echo(env), 20, "accept to resume")
        c = Ctl(env)
        c.send(b"status\n")
        assert c.reply()["ok"]
        c.close()
        assert env.daemon.poll() is None, "bg96d died"
        ok = True
    finally:
        srv.close()
        env.close(ok)


def try_echo(env):
    try:
        echo_once(env, "echo", 1024)
        return True
    except (OSError, AssertionError):
        return False


def case_socks_flood():
    """SOCKS clients that connect and never finish the handshake: at most
    32 are held at once, each for at most the 10 s deadline; a real client
    still gets through afterwards."""
    srv = Server(echo_handler)
    env = Env("sec-socksflood", extra_conf="[socks]\nenable = yes\n")
    ok = False
    try:
        pid = env.daemon.pid
        base = settle_baseline(env)
        path = os.path.join(env.run, "socks.sock")
        held = []
        end = time.monotonic() + 8     # under the 10 s handshake deadline
        while len(held) < 300 and time.monotonic() < end:
            if len(held) >= 40 and \
                    "too many handshakes under way" in env.log_text():
                break
            s = connect_nb(path)
            if s is None:
                time.sleep(0.005)      # backlog full: let bg96d accept
                continue
            try:
                s.send(b"\x05")        # a greeting that never finishes
            except OSError:             # refused (closed) already
                s.close()
                continue
            held.append(s)
        time.sleep(1)
        peak = fd_count(pid)
        print("stalled handshakes: %d held, bg96d has %d descriptors "
              "(idle %d)" % (len(held), peak, base))
        assert peak <= base + 32 + 2, (peak, base)
        env.wait_log("too many handshakes under way")
        for s in held:
            s.close()
        n = settle_fds(env, base)
        assert n == base, "descriptors leaked: %d, idle %d: %s" % (
            n, base, sorted(os.listdir("/proc/%d/fd" % pid)))
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(20)
        s.connect(path)
        s.sendall(b"\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01" +
                  struct.pack(">H", srv.port))
        r = recv_all(s, 20, 12)
        assert r[:2] == b"\x05\x00" and r[2:4] == b"\x05\x00", r
        s.sendall(b"ping")
        assert recv_all(s, 20, 4) == b"ping"
        s.close()
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_control_bounds():
    """A control client that dribbles an endless line is answered "request
    line too long" and closed after 1 KiB, and one that never ends a line
    is closed after 10 s; one that floods requests
    without reading has its input bounded (bg96d stops reading); 40
    clients at once are capped at 16; bg96d stays small and responsive."""
    env = Env("sec-ctlbounds")
    ok = False
    try:
        pid = env.daemon.pid
        base = settle_baseline(env)
        path = os.path.join(env.run, "control.sock")
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(30)
        s.connect(path)
        sent = 0
        try:
            while sent < 4096:
                s.send(b"x" * 64)
                sent += 64
                time.sleep(0.002)
        except OSError:
            pass
        r = recv_all(s, 30)
        assert b"request line too long" in r, r
        s.close()

        # A line started and never finished: closed after 10 s, however
        # slowly the bytes trickle in.
        t0 = time.monotonic()
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(30)
        s.connect(path)
        s.sendall(b"status\n" + b"sta")
        r = b""
        while b"not finished" not in r and time.monotonic() - t0 < 25:
            time.sleep(1)
            try:
                s.send(b"t")
            except OSError:
                break
            s.settimeout(0.1)
            try:
                r += s.recv(65536)
            except socket.timeout:
                pass
            s.settimeout(30)
        r += recv_all(s, 10)
        took = time.monotonic() - t0
        s.close()
        print("unfinished line closed after %.1f s" % took)
        assert b'"modem"' in r, r              # the complete line answered
        assert b"request line not finished in time" in r, r
        assert 9 <= took <= 20, took

        rss0 = env.rss_kib()
        f = socket.socket(socket.AF_UNIX)
        f.connect(path)
        f.setblocking(False)
        pushed = 0
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                pushed += f.send(b"status\n" * 1000)
            except BlockingIOError:
                time.sleep(0.05)
                try:
                    pushed += f.send(b"status\n" * 1000)
                except BlockingIOError:
                    break
        print("flooding client wrote %d bytes before blocking" % pushed)
        assert pushed < 64 * 1024 * 1024, "input never pushed back"
        rss = env.rss_kib()
        print("VmRSS %d -> %d KiB" % (rss0, rss))
        if os.environ.get("BG96_SANITIZED") != "1":
            assert rss - rss0 < 8192, (rss0, rss)
        others = [connect_nb(path) for _ in range(40)]
        time.sleep(0.5)
        n = fd_count(pid)
        for x in others:
            if x is not None:
                x.close()
        f.close()
        wait_for(lambda: try_status(env), 20, "control to answer again")
        print("descriptors with 40 extra clients: %d (idle %d)" % (n, base))
        assert n <= base + 16, "more than 16 control clients held"
        assert env.daemon.poll() is None
        ok = True
    finally:
        env.close(ok)


def try_status(env):
    try:
        return env.request("status")["ok"]
    except (OSError, ValueError, KeyError):
        return False


CASES = {name[5:]: fn for name, fn in globals().items()
         if name.startswith("case_")}

if __name__ == "__main__":
    run_cases(CASES, sys.argv)
