#!/usr/bin/env python3
"""Randomized schedule test: bg96d against an adversarial bg96sim, many
short rounds of mixed clients with modem faults at random moments, every
invariant checked after every round.

One seed fixes everything the test chooses (random.Random(seed) for every
choice, and bg96sim --seed): the emulator's quirks and pacing, and per
round the clients (kind, size, mode, behaviour, start time) and the faults
(kind, argument, moment).  Thread timing is not reproducible, the choices
are.

Clients of a round (each with its own deadline):
  tcp         tcp endpoint (buffer mode) -> loopback stream server
  tcp-push    tcp endpoint in push mode -> the same server
  udp         udp endpoint (SOCK_SEQPACKET) -> loopback UDP echo server
  udp-push    the same in push mode
  socks       socks.sock CONNECT (by IP, by name, or to a dead target)
  listener    a remote TCP peer -> the modem's listener port -> bg96d ->
              a local Unix stream server (the forward target)
  service     a remote UDP peer -> the modem's service port -> bg96d ->
              the local UDP echo server and back
Stream transfers are echo, upload (the server answers the sha256) or
download; a client may half-close, close early (abort) or read slowly.

Faults (bg96sim's control socket): reboot, pdpdeact, hangup SECS, stall
SECS, garbage N, send-fail N, late-prompt MS, late-answer MS.  Commands
this bg96sim does not know are detected and skipped (send-fail N falls
back to send-fail on/off); adversarial quirks fall back to urc-in-list
and urc-before-prompt.

Invariants, after every round:
  * what a client received is an exact prefix of what its remote sent,
    and what a remote received is an exact prefix of what its client sent
    (no byte the client did not send, e.g. "AT\\r"); datagrams intact
    (lost allowed; corrupted, merged, duplicated or misrouted not);
  * a stream is complete or ended by a close; in a round without faults
    every transfer completes (nothing cut, nothing refused);
  * no client operation passes its deadline (connect_timeout + transfer
    time + fault time + margin), no remote connection outlives its client
    by more than the settle bound;
  * within the settle bound after the last client and fault of the round,
    bg96d is ready again and bg96sim shows no slot in use but the
    listener's and the service's;
  * bg96sim counts no protocol violation; bg96d alive, its fd count and
    VmRSS bounded.
At the end: a fault-free round with one client of every kind, fds back to
the idle baseline, bg96d exits 0 on SIGTERM, bg96sim exits 0.

A failing seed prints the one command that replays it, and the tail of
both logs.

    python3 tests/sched/sched.py --seed 1234 --rounds 20 --build build
    python3 tests/sched/sched.py --seeds 100-149 --build build-asan
"""
import argparse
import hashlib
import json
import os
import random
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "soak"))
import harness  # noqa: E402
from harness import (fd_count, free_port, listener_endpoint,  # noqa: E402
                     rss_kib, service_endpoint, steady_fd_count,
                     tcp_endpoint, udp_endpoint, wait_for)
import soaklib  # noqa: E402
from soaklib import (HDR, MAGIC, MODE_DOWN, MODE_ECHO,  # noqa: E402
                     MODE_NAMES, MODE_UP, UHDR, UMIN, SoakEnv, dgram_ok, gen,
                     make_dgram, read_exact, recv_checked)

KINDS = ("tcp", "tcp-push", "udp", "udp-push", "socks", "listener",
         "service")
STREAM_KINDS = ("tcp", "tcp-push", "socks", "listener")
DGRAM_KINDS = ("udp", "udp-push", "service")
ENDPOINT = {"tcp": "tcp", "tcp-push": "tcpp", "udp": "udp",
            "udp-push": "udpp"}
HOSTNAME = "sched.test"

# bg96d's configuration for the run (seconds).
CONNECT_TIMEOUT = 20
TIMEOUTS = {"command": 4, "prompt": 4, "send": 20, "qiopen": 20,
            "qiclose": 8}
SERVICE_IDLE = 3
LISTEN_PORT = 8080          # as configured; bg96sim adds --listen-offset
SERVICE_PORT = 5683

MARGIN_S = 25.0             # slack on every client deadline
ADVERSARIAL_RATE = 8000.0  # bytes/s a round's clients share (slow-answers)
SETTLE_S = 30.0             # after the last client and fault of a round
LOSS_S = 2.0                # a datagram not back after this is lost
FD_SLACK = 80               # fds above the idle baseline during a run
RSS_SLACK_KIB = 4096        # VmRSS growth allowed after the first round
SIM_DEFAULT_QUIRKS = "urc-in-list,urc-before-prompt"
EXTRA_QUIRKS = ("recv-len", "state3", "boot-urcs", "cme-tcpip")

# Extra time a fault may cost the clients of its round (seconds).
FAULT_COST = {"reboot": 10, "pdpdeact": 8, "hangup": 8, "stall": 8,
              "garbage": 4, "send-fail": 6, "late-prompt": 8,
              "late-answer": 8}


def now():
    return time.monotonic()


def lograte_size(rng, lo, hi):
    """A size between lo and hi, log-uniformly."""
    return int(lo * (hi / lo) ** rng.random())


# -------------------------------------------------------------- the schedule

class Client:
    """One client of a round: what it will do (chosen from the round's
    generator before anything runs) and what happened."""

    def __init__(self, cid, kind, rng, line_rate):
        self.cid = cid
        self.kind = kind
        self.start = rng.uniform(0.0, 1.5)
        self.seed = rng.getrandbits(63)
        self.target = "ok"
        self.behaviour = "normal"
        self.result = {}
        self.problems = []
        self.t_end = None
        cap = max(4096, min(256 << 10, int(line_rate * 2.5)))
        if kind in STREAM_KINDS:
            self.mode = rng.choice((MODE_ECHO, MODE_UP, MODE_DOWN))
            if rng.random() < 0.4:
                self.length = lograte_size(rng, 64, 8192)
            else:
                self.length = lograte_size(rng, min(8192, cap // 2), cap)
            if kind == "tcp-push":
                self.length = min(self.length, 128 << 10)
            b = rng.random()
            if b < 0.08:
                self.behaviour = "abort"        # after sending a part
            elif b < 0.15:
                self.behaviour = "abort-late"   # once something came back
            elif b < 0.25 and self.mode != MODE_DOWN and \
                    kind != "listener":
                # (a remote peer's FIN ends a modem connection: "closed")
                self.behaviour = "half-close"
            elif b < 0.35 and kind != "tcp-push":
                # (push mode: a client 256 KiB behind is disconnected)
                self.behaviour = "slow"
            self.abort_frac = rng.random()
            self.abort_reset = kind == "listener" and rng.random() < 0.5
            if kind == "socks":
                t = rng.random()
                self.target = ("ip" if t < 0.45 else "name" if t < 0.9 else
                               "dead-port" if t < 0.95 else "bad-name")
            self.n = self.window = 0
        else:
            self.mode = None
            self.n = rng.randint(3, 12)
            self.window = rng.choice((1, 2, 4, 8))
            self.length = 0
            self.sizes = [rng.randint(UMIN, 1460) for _ in range(self.n)]
            self.abort_frac = self.abort_reset = None

    def bytes_moved(self):
        if self.kind in DGRAM_KINDS:
            return 2 * sum(self.sizes)
        return self.length * (2 if self.mode == MODE_ECHO else 1)

    def describe(self):
        if self.kind in DGRAM_KINDS:
            return "#%d %s %d datagrams (window %d)" % (
                self.cid, self.kind, self.n, self.window)
        extra = "" if self.target == "ok" else " target " + self.target
        return "#%d %s %s %d bytes %s%s" % (
            self.cid, self.kind, MODE_NAMES[self.mode], self.length,
            self.behaviour, extra)


class Fault:
    def __init__(self, rng, timeouts):
        self.at = rng.uniform(0.0, 3.0)
        self.kind = rng.choice(("reboot", "pdpdeact", "hangup", "stall",
                                "garbage", "send-fail", "late-prompt",
                                "late-answer"))
        # Every draw is made whatever the kind, so the rest of the round
        # does not depend on which command this bg96sim supports.
        args = {"hangup": rng.randint(1, 3), "stall": rng.randint(1, 7),
                "garbage": rng.randint(16, 2048),
                "send-fail": rng.randint(1, 8),
                "late-prompt": rng.randint(100, 2000 * timeouts["prompt"]),
                "late-answer": rng.randint(100, 2000 * timeouts["command"])}
        self.arg = args.get(self.kind)
        self.outcome = None

    def cost(self):
        c = FAULT_COST[self.kind]
        if self.kind in ("hangup", "stall"):
            c += self.arg
        elif self.kind in ("late-prompt", "late-answer"):
            c += self.arg / 1000.0
        return c

    def describe(self):
        return self.kind if self.arg is None else "%s %s" % (self.kind,
                                                             self.arg)


class Round:
    def __init__(self, seed, index, line_rate, final=False):
        rng = random.Random("%d/round/%d" % (seed, index))
        self.index = index
        self.final = final
        if final:
            kinds = list(KINDS)
        else:
            kinds = [rng.choice(KINDS) for _ in range(rng.randint(1, 7))]
        self.clients = [Client(i, k, rng, line_rate)
                        for i, k in enumerate(kinds)]
        if final:
            for c in self.clients:
                c.behaviour, c.target = "normal", "ok" if c.kind != "socks" \
                    else "ip"
            self.faults = []
        else:
            nf = rng.choice((0, 0, 1, 1, 1, 2, 2, 3))
            self.faults = sorted((Fault(rng, TIMEOUTS) for _ in range(nf)),
                                 key=lambda f: f.at)
        self.problems = []
        self.lock = threading.Lock()

    def problem(self, text):
        with self.lock:
            self.problems.append(text)


# ------------------------------------------------------------ the far ends

class ServerRec:
    """What a remote (stream server) saw of one client's connection."""

    def __init__(self, mode, length):
        self.mode = mode
        self.length = length
        self.got = 0
        self.sent = 0
        self.how = None         # eof, reset, timeout, error
        self.done = threading.Event()


class StreamRemote(soaklib.StreamServer):
    """The far end of a stream client: soak's accept loop, but it checks
    every byte up to end of file (nothing may follow the transfer), half
    closes instead of closing when it is done, and records per client."""

    def __init__(self, run, label, unix_path=None):
        self.run = run
        super().__init__(None, label, unix_path)

    def _run(self, conn, idx=None):
        run = self.run
        rec = None
        try:
            conn.settimeout(run.server_io_s)
            hdr = read_exact(conn, HDR.size)
            if len(hdr) < HDR.size or hdr[:4] != MAGIC:
                if hdr and not MAGIC.startswith(hdr[:4]):
                    run.problem("%s remote got %d bytes no client sent: %r" %
                                (self.label, len(hdr), hdr))
                return
            magic, mode, kidx, xid, seed, length = HDR.unpack(hdr)
            c = run.clients.get(xid)
            if (c is None or mode != c.mode or length != c.length or
                    seed != c.seed % (1 << 63)):
                run.problem("%s remote got a header no client sent: %r" %
                            (self.label, hdr))
                return
            rec = ServerRec(mode, length)
            with run.lock:
                if xid in run.srv:
                    run.problem("%s remote: client %d connected twice" % (
                        self.label, xid))
                    return
                run.srv[xid] = rec
            data = gen(seed, length)
            if mode == MODE_DOWN:
                for i in range(0, length, 16384):
                    conn.sendall(data[i:i + 16384])
                    rec.sent = min(length, i + 16384)
                conn.shutdown(socket.SHUT_WR)
            elif length == 0:
                conn.shutdown(socket.SHUT_WR)
            expect = data if mode != MODE_DOWN else b""
            while True:
                b = conn.recv(65536)
                if not b:
                    rec.how = "eof"
                    break
                n0 = rec.got
                rec.got += len(b)
                if rec.got > len(expect):
                    tail = b[max(0, len(expect) - n0):]
                    run.problem(
                        "%s remote of client %d got %d bytes after the %d "
                        "it was sent: %r" % (self.label, xid, len(tail),
                                             len(expect), tail[:64]))
                    rec.how = "extra"
                    break
                if b != expect[n0:rec.got]:
                    i = next(i for i in range(len(b))
                             if b[i] != expect[n0 + i])
                    run.problem(
                        "%s remote of client %d: byte %d differs from what "
                        "the client sent (got %r, sent %r)" % (
                            self.label, xid, n0 + i, b[i:i + 24],
                            expect[n0 + i:n0 + i + 24]))
                    rec.how = "mismatch"
                    break
                if mode == MODE_ECHO:
                    conn.sendall(b)
                    rec.sent += len(b)
                if rec.got == length:
                    if mode == MODE_UP:
                        conn.sendall(hashlib.sha256(data).digest())
                        rec.sent = 32
                    conn.shutdown(socket.SHUT_WR)
        except socket.timeout:
            if rec is not None:
                rec.how = "timeout"
        except OSError as e:
            if rec is not None:
                rec.how = "reset" if isinstance(
                    e, (ConnectionResetError, BrokenPipeError)) else \
                    "error " + type(e).__name__
        finally:
            conn.close()
            if rec is not None:
                rec.done.set()


class UdpRemote(soaklib.UdpEchoServer):
    """soak's UDP echo server (it checks each datagram's hash); the
    session of every datagram must be a client of this run."""

    def __init__(self, run, kind):
        self.run = run
        super().__init__(self, kind)

    # soaklib.UdpEchoServer reports through its stats object: this one.
    def problem(self, text):
        self.run.problem(text)

    def add(self, kind, **kw):
        pass

    def server_saw(self, key):
        _, session = key
        c = self.run.clients.get(session)
        if c is None or c.kind not in DGRAM_KINDS:
            self.run.problem("%s: UDP remote got a datagram of session %d, "
                             "which no client sent" % (self.kind, session))


# ------------------------------------------------------------------ clients

def pump(sock, out, expect, deadline, client):
    """Send out while reading; read until EOF; everything by deadline.
    Returns (sent, received, how); how is eof, reset, timeout, mismatch,
    extra or aborted."""
    sock.setblocking(False)
    sel = selectors.DefaultSelector()
    sent = 0
    rx = bytearray()
    limit = len(out)
    rx_limit = None
    if client.behaviour == "abort":
        limit = int(len(out) * client.abort_frac)
    elif client.behaviour == "abort-late" and client.mode != MODE_UP:
        rx_limit = max(1, int(len(expect) * client.abort_frac))
    chunk = 4096 if client.behaviour == "slow" else 65536
    events = selectors.EVENT_READ | (selectors.EVENT_WRITE if out else 0)
    sel.register(sock, events)
    writing = bool(out)
    try:
        while True:
            if client.behaviour == "abort" and sent >= limit:
                return sent, rx, "aborted"
            if client.behaviour == "abort-late" and (
                    len(rx) >= rx_limit if rx_limit is not None else
                    sent == len(out)):
                return sent, rx, "aborted"
            left = deadline - now()
            if left <= 0:
                return sent, rx, "timeout"
            for _, mask in sel.select(min(left, 1.0)):
                if mask & selectors.EVENT_READ:
                    n0 = len(rx)
                    how = recv_checked(sock, rx, expect, chunk)
                    if how:
                        return sent, rx, how
                    if len(rx) > n0 and client.behaviour == "slow":
                        time.sleep(0.01)
                if writing and mask & selectors.EVENT_WRITE:
                    end = min(limit, sent + 65536) \
                        if client.behaviour == "abort" else sent + 65536
                    try:
                        sent += sock.send(out[sent:end])
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:
                        writing = False
                    if sent == len(out):
                        writing = False
                        if client.behaviour == "half-close":
                            try:
                                sock.shutdown(socket.SHUT_WR)
                            except OSError:
                                pass
                    if not writing:
                        sel.modify(sock, selectors.EVENT_READ)
    finally:
        sel.close()


class Sched:
    """One seed: bg96sim + bg96d, the rounds, the verdict."""

    def __init__(self, args, seed):
        self.args = args
        self.seed = seed
        self.sanitized = args.sanitized
        self.scale = 3.0 if self.sanitized else 1.0
        self.server_io_s = 300.0
        self.lock = threading.Lock()
        self.clients = {}       # xid -> Client, every round of the run
        self.srv = {}           # xid -> ServerRec
        self.round = None
        self.env = None
        self.failed_round = None
        self.reasons = []
        self.ids = 0
        self.samples = []
        rng = random.Random("%d/run" % seed)
        self.baud = rng.choice((0, 0, 921600, 921600, 460800, 115200))
        self.latency_ms = rng.choice((0, 0, 0, 5, 20))
        self.extra_quirks = [q for q in EXTRA_QUIRKS if rng.random() < 0.25]
        self.sim_seed = rng.randrange(1 << 31)
        # Bytes per second the round's clients may count on (both
        # directions together, shared by all): a quarter of the line, or
        # an unpaced guess.
        self.line_rate = (self.baud / 10.0) if self.baud else 400e3
        self.rate = self.line_rate / 4.0 / self.scale
        self.features = {}

    def problem(self, text):
        r = self.round
        if r is not None:
            r.problem(text)
        else:
            with self.lock:
                self.reasons.append(text)

    def log(self, text):
        if not self.args.quiet:
            sys.stdout.write("[seed %d %7.1f] %s\n" % (
                self.seed, now() - self.t0, text))
            sys.stdout.flush()

    # ---- setup

    def sim_supports(self):
        """Which of the adversarial options this bg96sim has."""
        try:
            out = subprocess.run([harness.BG96SIM, "--help"],
                                 capture_output=True, text=True,
                                 timeout=10)
            text = out.stdout + out.stderr
        except (OSError, subprocess.TimeoutExpired):
            text = ""
        return "adversarial" in text

    def start(self):
        self.t0 = now()
        self.fwd_dir = tempfile.mkdtemp(prefix="bg96-schedfwd-")
        self.fwd_path = os.path.join(self.fwd_dir, "app.sock")
        self.tcp_srv = StreamRemote(self, "tcp")
        self.unix_srv = StreamRemote(self, "listener",
                                     unix_path=self.fwd_path)
        self.udp_srv = UdpRemote(self, "udp")
        self.svc_srv = UdpRemote(self, "service")
        self.dead_port = free_port()
        # bg96sim binds LISTEN_PORT + offset and SERVICE_PORT + offset.
        for _ in range(50):
            lp = free_port()
            off = lp - LISTEN_PORT
            if 1024 < SERVICE_PORT + off < 65536:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    s.bind(("127.0.0.1", SERVICE_PORT + off))
                    break
                except OSError:
                    continue
                finally:
                    s.close()
        self.offset = off
        self.lport = LISTEN_PORT + off
        self.sport = SERVICE_PORT + off
        adversarial = self.sim_supports()
        self.features["adversarial"] = adversarial
        if adversarial:
            # slow-answers: half the commands and SEND OKs up to 200 ms
            # late, split pauses: about 10 KB/s through the AT channel
            # whatever the baud rate (a 225 KB echo took 60 s).
            self.rate = min(self.rate, ADVERSARIAL_RATE / self.scale)
        quirks = ["adversarial" if adversarial else SIM_DEFAULT_QUIRKS]
        quirks += self.extra_quirks
        sim_args = ["--seed", str(self.sim_seed), "--hosts",
                    HOSTNAME + "=127.0.0.1", "--listen-offset",
                    str(self.offset), "--quirks", ",".join(quirks)]
        if self.baud:
            sim_args += ["--baud", str(self.baud)]
        if self.latency_ms:
            sim_args += ["--latency-ms", str(self.latency_ms)]
        self.sim_args = sim_args
        endpoints = (
            "[socks]\nenable = yes\nconnect_timeout = %d\n\n" %
            CONNECT_TIMEOUT +
            tcp_endpoint("tcp", self.tcp_srv.port) +
            tcp_endpoint("tcpp", self.tcp_srv.port, "access_mode = push") +
            udp_endpoint("udp", self.udp_srv.port) +
            udp_endpoint("udpp", self.udp_srv.port, "access_mode = push") +
            listener_endpoint("lis", LISTEN_PORT, "unix:" + self.fwd_path) +
            service_endpoint("svc", SERVICE_PORT, self.svc_srv.port,
                             "idle_timeout = %d" % SERVICE_IDLE))
        endpoints = endpoints.replace("connect_timeout = 30",
                                      "connect_timeout = %d" %
                                      CONNECT_TIMEOUT)
        timeouts = "[timeouts]\n" + "".join(
            "%s = %d\n" % kv for kv in TIMEOUTS.items())
        self.env = SoakEnv("sched", sim_args=sim_args, endpoints=endpoints,
                           extra_conf=timeouts, verbose=self.args.verbose,
                           wait_ready=False)
        self.pid = self.env.daemon.pid
        self.env.wait_ready(60 * self.scale)
        self.detect_commands()
        self.wait_services(60 * self.scale)
        self.baseline_fds = self.settle_fds()
        self.log("bg96d pid %d ready; bg96sim %s; baud %s, latency %d ms; "
                 "idle %d fds; commands %s" % (
                     self.pid, " ".join(sim_args), self.baud or "unpaced",
                     self.latency_ms, self.baseline_fds,
                     ", ".join("%s %s" % (k, "yes" if v else "no")
                               for k, v in sorted(self.features.items()))))

    def detect_commands(self):
        """Ask bg96sim whether it knows the newer fault commands (an
        argument of 0 does nothing)."""
        for cmd, probe in (("late-prompt", "late-prompt 0"),
                           ("late-answer", "late-answer 0"),
                           ("send-fail-n", "send-fail 0")):
            try:
                r = self.env.sim_cmd(probe)
                self.features[cmd] = bool(r.get("ok"))
            except (OSError, ValueError):
                self.features[cmd] = False

    def sim_stats(self):
        return self.env.sim_cmd("stats")

    def busy_slots(self, st):
        return [s for s in st["slots"]
                if s["type"] not in ("TCP LISTENER", "UDP SERVICE")]

    def wait_services(self, timeout):
        def up():
            types = [s["type"] for s in self.sim_stats()["slots"]]
            return "TCP LISTENER" in types and "UDP SERVICE" in types
        wait_for(up, timeout, "the listener and service slots")

    def settle_fds(self, timeout=30):
        return steady_fd_count(self.pid, 10, timeout)

    def modem_state(self):
        try:
            return self.env.request("status")["modem"]["state"]
        except (OSError, ValueError, KeyError):
            return None

    def next_id(self):
        with self.lock:
            self.ids += 1
            return self.ids

    # ---- clients

    def run_client(self, r, c, deadline):
        try:
            time.sleep(c.start)
            if c.kind in STREAM_KINDS:
                self.stream_client(c, deadline)
            elif c.kind == "service":
                self.service_client(c, deadline)
            else:
                self.udp_client(c, deadline)
        except Exception:
            r.problem("client %s crashed: %s" % (c.describe(),
                                                 traceback.format_exc()))
        finally:
            c.t_end = now()

    def open_stream(self, c, deadline):
        """A connected socket, or None (c.result says why)."""
        s = None
        try:
            if c.kind == "listener":
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.settimeout(max(0.1, deadline - now()))
                s.connect(("127.0.0.1", self.lport))
                return s
            if c.kind != "socks":
                s = self.env.connect(ENDPOINT[c.kind],
                                     max(0.1, deadline - now()))
                return s
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(max(0.1, deadline - now()))
            s.connect(os.path.join(self.env.run, "socks.sock"))
            s.sendall(b"\x05\x01\x00")
            if read_exact(s, 2) != b"\x05\x00":
                c.result["how"] = "socks greeting refused"
                s.close()
                return None
            port = self.tcp_srv.port
            if c.target in ("ip", "dead-port"):
                addr = b"\x01" + socket.inet_aton("127.0.0.1")
                if c.target == "dead-port":
                    port = self.dead_port
            else:
                name = HOSTNAME if c.target == "name" else "nosuch.invalid"
                addr = b"\x03" + bytes([len(name)]) + name.encode()
            s.sendall(b"\x05\x01\x00" + addr + struct.pack(">H", port))
            s.settimeout(max(0.1, deadline - now()))
            head = read_exact(s, 4)
            if len(head) < 4:
                c.result["how"] = "socks closed before its reply"
                s.close()
                return None
            alen = {1: 4, 4: 16}.get(head[3])
            if alen is None:
                alen = read_exact(s, 1)[0]
            rest = read_exact(s, alen + 2)
            c.result["socks_reply"] = head[1]
            if head[0] != 5 or len(rest) != alen + 2:
                c.problems.append("malformed SOCKS reply %r" % (head + rest))
            if head[1] != 0:
                c.result["how"] = "socks reply %d" % head[1]
                # The daemon closes the client after a failure reply.
                s.settimeout(max(0.1, deadline - now()))
                try:
                    tail = s.recv(1)
                except OSError:
                    tail = b""
                if tail:
                    c.problems.append("data after SOCKS failure reply %d" %
                                      head[1])
                s.close()
                return None
            return s
        except socket.timeout:
            c.result["how"] = "timeout"
            if s is not None:
                s.close()
            return None
        except OSError as e:
            c.result["how"] = "refused (%s)" % type(e).__name__
            if s is not None:
                s.close()
            return None

    def stream_client(self, c, deadline):
        data = gen(c.seed % (1 << 63), c.length)
        hdr = HDR.pack(MAGIC, c.mode, KINDS.index(c.kind), c.cid,
                       c.seed % (1 << 63), c.length)
        out = hdr + (data if c.mode != MODE_DOWN else b"")
        expect = hashlib.sha256(data).digest() if c.mode == MODE_UP else data
        c.out_len, c.expect_len = len(out), len(expect)
        s = self.open_stream(c, deadline)
        if s is None:
            c.result.setdefault("sent", 0)
            c.result.setdefault("received", 0)
            return
        try:
            sent, rx, how = pump(s, out, expect, deadline, c)
            if how == "aborted" and c.abort_reset:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
        finally:
            s.close()
        c.result.update(sent=sent, received=len(rx), how=how)
        if how in ("mismatch", "extra"):
            i = next((i for i in range(min(len(rx), len(expect)))
                      if rx[i] != expect[i]), min(len(rx), len(expect)))
            c.problems.append(
                "received bytes are not what its remote sent (%s at byte %d "
                "of %d: got %r, expected %r)" % (
                    how, i, len(expect), bytes(rx[i:i + 24]),
                    expect[i:i + 24]))

    def dgram_session(self, c, send, recv, deadline, closed_is_eof):
        rng = random.Random(c.seed)
        state = {}              # seq -> [status, time sent]
        nseq = 0
        res = dict(sent=0, intact=0, lost=0, late=0, how="done")
        n = c.n
        while True:
            t = now()
            if t >= deadline:
                res["how"] = "timeout"
                break
            for q, v in state.items():
                if v[0] == "p" and t - v[1] > c.loss_s:
                    v[0] = "l"
                    res["lost"] += 1
            pending = sum(1 for v in state.values() if v[0] == "p")
            if nseq < n and t > deadline - c.loss_s - 10.0 * self.scale:
                res["unsent"] = n - nseq      # out of time: stop sending
                res["how"] = "out of time"
                n = nseq
            if nseq >= n and not pending:
                break
            if nseq < n and pending < c.window:
                d = make_dgram(c.cid, nseq, c.sizes[nseq], rng)
                try:
                    send(d)
                except socket.timeout:
                    continue
                except OSError as e:
                    res["how"] = "closed (%s)" % type(e).__name__
                    break
                state[nseq] = ["p", now()]
                nseq += 1
                res["sent"] += 1
                continue
            try:
                d = recv()
            except socket.timeout:
                continue
            except OSError as e:
                res["how"] = "closed (%s)" % type(e).__name__
                break
            if d == b"" and closed_is_eof:
                res["how"] = "eof"
                break
            if not dgram_ok(d):
                c.problems.append("corrupted datagram of %d bytes: %r" % (
                    len(d), d[:48]))
                continue
            _, sess, q = UHDR.unpack(d[:UHDR.size])
            if sess != c.cid or q not in state:
                c.problems.append("datagram of session %d seq %d is not "
                                  "ours" % (sess, q))
                continue
            if len(d) != c.sizes[q]:
                c.problems.append("datagram %d came back as %d bytes, "
                                  "sent %d" % (q, len(d), c.sizes[q]))
            if state[q][0] == "r":
                c.problems.append("datagram %d received twice" % q)
                continue
            if state[q][0] == "l":
                res["lost"] -= 1
                res["late"] += 1
            state[q][0] = "r"
            res["intact"] += 1
        res["lost"] += sum(1 for v in state.values() if v[0] == "p")
        c.result.update(res)

    def udp_client(self, c, deadline):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            s.settimeout(max(0.1, deadline - now()))
            try:
                s.connect(self.env.sock_path(ENDPOINT[c.kind]))
            except socket.timeout:
                c.result["how"] = "timeout"
                return
            except OSError as e:
                c.result.update(how="refused (%s)" % type(e).__name__,
                                sent=0, intact=0)
                return
            s.settimeout(0.2)
            self.dgram_session(c, s.send, lambda: s.recv(4096), deadline,
                               True)
        finally:
            s.close()

    def service_client(self, c, deadline):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(0.2)
        dest = ("127.0.0.1", self.sport)

        def recv():
            data, addr = s.recvfrom(4096)
            if addr != dest:
                c.problems.append("datagram from %r" % (addr,))
                raise socket.timeout()
            return data

        def send(d):
            try:
                s.sendto(d, dest)
            except ConnectionRefusedError:
                pass        # ICMP from an earlier datagram: the port was
                #             closed (an outage), this one may get through
        try:
            self.dgram_session(c, send, recv, deadline, False)
        finally:
            s.close()

    # ---- faults

    @staticmethod
    def effect(f):
        """Seconds a fault keeps acting after its command was answered."""
        if f.kind in ("stall", "hangup"):
            return float(f.arg)
        if f.kind in ("late-prompt", "late-answer"):
            return f.arg / 1000.0
        if f.kind == "reboot":
            return 1.0
        return 0.0

    def inject(self, r, t_start):
        self.inject_faults(r, t_start)
        # The round is over only when the last fault has stopped acting:
        # a stall must not reach into the next round.
        ends = [f.effect_end for f in r.faults
                if getattr(f, "effect_end", None) is not None]
        if ends and max(ends) > now():
            time.sleep(max(ends) - now())

    def inject_faults(self, r, t_start):
        for f in r.faults:
            delay = t_start + f.at - now()
            if delay > 0:
                time.sleep(delay)
            cmds = []
            if f.kind in ("late-prompt", "late-answer"):
                if not self.features.get(f.kind):
                    f.outcome = "skipped (bg96sim has no %s)" % f.kind
                    self.log("  round %d: fault %s skipped: bg96sim has no "
                             "%s" % (r.index, f.describe(), f.kind))
                    continue
                cmds = [f.describe()]
            elif f.kind == "send-fail":
                if self.features.get("send-fail-n"):
                    cmds = [f.describe()]
                else:
                    cmds = ["send-fail on", 0.5 * f.arg, "send-fail off"]
            else:
                cmds = [f.describe()]
            outcome = "ok"
            for cmd in cmds:
                if isinstance(cmd, float):
                    time.sleep(cmd)
                    continue
                try:
                    a = self.env.sim_cmd(cmd)
                except (OSError, ValueError) as e:
                    a = {"ok": False, "error": repr(e)}
                if not a.get("ok"):
                    outcome = "refused: %s" % a.get("error")
            f.outcome = outcome
            f.t = now() - t_start
            f.effect_end = now() + self.effect(f)
            self.log("  round %d: fault %s at %.2f s: %s" % (
                r.index, f.describe(), f.t, outcome))

    # ---- a round

    def run_round(self, r):
        t_start = now()
        for c in r.clients:
            c.cid = self.next_id()
            self.clients[c.cid] = c
        faulted = bool(r.faults)
        fault_cost = sum(f.cost() for f in r.faults)
        moved = sum(c.bytes_moved() for c in r.clients)
        budget = (CONNECT_TIMEOUT + moved / self.rate + fault_cost +
                  MARGIN_S * self.scale)
        self.log("round %d%s: %s; faults: %s; client deadline %.0f s" % (
            r.index, " (final)" if r.final else "",
            ", ".join(c.describe() for c in r.clients),
            ", ".join("%s at %.2f" % (f.describe(), f.at) for f in r.faults)
            or "none", budget))
        threads = []
        # A datagram not back after loss_s is lost.  It shares the line
        # with the round's other traffic: give it the time that takes.
        loss_s = min(LOSS_S * self.scale + moved / self.rate,
                     20.0 * self.scale)
        for c in r.clients:
            c.loss_s = loss_s
            c.t_round = t_start
            c.deadline = t_start + c.start + budget
            t = threading.Thread(target=self.run_client,
                                 args=(r, c, c.deadline), daemon=True)
            threads.append(t)
        inj = threading.Thread(target=self.inject, args=(r, t_start),
                               daemon=True)
        for t in threads + [inj]:
            t.start()
        for c, t in zip(r.clients, threads):
            t.join(max(0.0, c.deadline - now()) + 10)
            if t.is_alive():
                r.problem("client %s still running 10 s after its deadline"
                          % c.describe())
        inj.join(120)
        t_quiet = now()
        # Settle: modem ready, slots free, remotes closed.
        settle = SETTLE_S * self.scale
        end = t_quiet + settle
        try:
            wait_for(lambda: self.modem_state() == "ready",
                     max(0.1, end - now()), "bg96d ready")
        except AssertionError:
            r.problem("bg96d not ready %.0f s after the round's last client "
                      "and fault (state %s)" % (settle, self.modem_state()))
        # A stream client that sent its header to a reachable target: its
        # remote must see it (the daemon may still be opening a queued
        # client's connection).  Without a fault it must get there within
        # the bound; with one it may have been dropped: a short grace.
        for c in r.clients:
            if (c.kind not in STREAM_KINDS or
                    c.result.get("sent", 0) < HDR.size or
                    c.target in ("dead-port", "bad-name")):
                continue
            limit = end if not faulted else max(now() + 2.0 * self.scale,
                                                c.t_end + 5.0 * self.scale)
            while self.srv.get(c.cid) is None and now() < min(limit, end):
                time.sleep(0.05)
        st = self.sim_stats()
        while self.busy_slots(st) and now() < end:
            time.sleep(0.2)
            st = self.sim_stats()
        if self.busy_slots(st):
            r.problem("bg96sim slots still in use %.0f s after the round's "
                      "last client and fault: %s" % (
                          now() - t_quiet, json.dumps(self.busy_slots(st))))
        # Every slot is closed: a remote's connection is closed too, or
        # its end of file is in its socket buffer.
        grace = max(end, now() + 2.0 * self.scale)
        for c in r.clients:
            rec = self.srv.get(c.cid)
            if rec is not None and not rec.done.wait(max(0.0,
                                                         grace - now())):
                r.problem("client %s: its remote connection is still open "
                          "%.0f s after the client ended (%d bytes received,"
                          " %d sent)" % (c.describe(), now() - c.t_end,
                                         rec.got, rec.sent))
        if st.get("violation_count"):
            r.problem("bg96sim counted %d protocol violations: %s" % (
                st["violation_count"], st.get("violations", [])[:10]))
        self.check_clients(r, faulted)
        self.check_daemon(r)
        if not r.problems and not r.final:
            try:
                self.wait_services(settle)
            except AssertionError:
                r.problem("the listener or service slot is not back %.0f s "
                          "after the round" % (2 * settle))
        self.log("round %d: %s in %.1f s" % (
            r.index, "FAIL" if r.problems else "ok", now() - t_start))
        return not r.problems

    def check_clients(self, r, faulted):
        for c in r.clients:
            res = c.result
            how = res.get("how", "?")
            what = "client " + c.describe()
            for p in c.problems:
                r.problem("%s: %s" % (what, p))
            if how == "timeout":
                r.problem("%s: timed out (deadline %.0f s after the round "
                          "began; %s)" % (what, c.deadline - c.t_round,
                                          self.summary(c)))
                continue
            if c.kind in DGRAM_KINDS:
                done = how == "done" and res.get("intact", 0) + \
                    res.get("lost", 0) == c.n
                if not faulted and not done:
                    r.problem("%s: session ended without a fault in the "
                              "round (%s)" % (what, self.summary(c)))
                if r.final and res.get("intact", 0) == 0:
                    r.problem("%s: no datagram came back after the faults "
                              "(%s)" % (what, self.summary(c)))
                continue
            rec = self.srv.get(c.cid)
            bad_target = c.target in ("dead-port", "bad-name")
            if bad_target:
                if res.get("socks_reply") == 0 or rec is not None:
                    r.problem("%s: a dead target was reported reachable (%s)"
                              % (what, self.summary(c)))
                continue
            if rec is not None and rec.how in ("mismatch", "extra"):
                continue        # reported by the remote already
            if how.startswith("refused") or how.startswith("socks"):
                # Never connected: only a fault excuses that.
                if not faulted:
                    r.problem("%s: refused in a round without faults (%s)" %
                              (what, self.summary(c)))
                continue
            complete = (how == "eof" and res.get("sent") == c.out_len and
                        res.get("received") == c.expect_len)
            if c.behaviour in ("abort", "abort-late"):
                if how != "aborted" and how not in ("eof", "reset"):
                    r.problem("%s: %s" % (what, self.summary(c)))
                # Local close: what was sent goes out first (DESIGN §4).
                # Only where the client had nothing unread: an echo
                # client's close with data in flight may be a reset.
                if (not faulted and how == "aborted" and
                        c.mode == MODE_UP and not c.abort_reset and
                        rec is not None and
                        rec.got != max(0, res["sent"] - HDR.size)):
                    r.problem("%s: closed after sending %d bytes, its remote"
                              " got %d (no fault in the round; DESIGN 4: "
                              "local close, pending data is sent first)" % (
                                  what, res["sent"] - HDR.size, rec.got))
                if (not faulted and how == "aborted" and
                        res["sent"] > HDR.size and rec is None):
                    r.problem("%s: closed after sending %d bytes, none "
                              "reached a remote (no fault in the round; "
                              "DESIGN 4: local close, pending data is sent "
                              "first)" % (what, res["sent"]))
                continue
            if not faulted and not complete:
                r.problem("%s: not complete in a round without faults (%s)"
                          % (what, self.summary(c)))
            if (not faulted and rec is not None and c.mode != MODE_DOWN and
                    rec.got != c.length):
                r.problem("%s: its remote got %d of %d bytes in a round "
                          "without faults" % (what, rec.got, c.length))

    def summary(self, c):
        res = dict(c.result)
        rec = self.srv.get(c.cid)
        if rec is not None:
            res["remote"] = {"got": rec.got, "sent": rec.sent, "how": rec.how}
        if c.t_end is not None:
            res["ended_s"] = round(c.t_end - c.t_round, 1)
        return json.dumps(res, sort_keys=True)

    def check_daemon(self, r):
        if self.env.daemon.poll() is not None:
            r.problem("bg96d died (exit %s)" % self.env.daemon.returncode)
            return
        try:
            fds = fd_count(self.pid)
            rss = rss_kib(self.pid)
        except OSError as e:
            r.problem("bg96d /proc: %r" % e)
            return
        self.samples.append((r.index, fds, rss))
        if fds > self.baseline_fds + FD_SLACK:
            r.problem("bg96d holds %d fds, idle baseline %d" % (
                fds, self.baseline_fds))
        if not self.sanitized and len(self.samples) > 1:
            first = self.samples[0][2]
            if rss > first + RSS_SLACK_KIB:
                r.problem("bg96d VmRSS %d KiB, %d KiB after round %d" % (
                    rss, first, self.samples[0][0]))

    # ---- the run

    def run(self):
        self.start()
        for i in range(self.args.rounds):
            r = Round(self.seed, i, self.line_rate / 4.0)
            self.round = r
            if not self.run_round(r):
                self.failed_round = i
                return False
        # One-shot faults wait for the command they delay: one that found
        # no command in its round must not act in the fault-free one.
        for cmd, feature in (("late-prompt 0", "late-prompt"),
                             ("late-answer 0", "late-answer"),
                             ("send-fail off", "send-fail-n")):
            if self.features.get(feature):
                self.env.sim_cmd(cmd)
        r = Round(self.seed, self.args.rounds, self.line_rate / 4.0,
                  final=True)
        self.round = r
        if not self.run_round(r):
            self.failed_round = r.index
            return False
        self.round = None
        # Idle again: every fd back (service mappings expire).
        end = now() + (SERVICE_IDLE + 30) * self.scale
        fds = fd_count(self.pid)
        while fds != self.baseline_fds and now() < end:
            time.sleep(0.5)
            fds = fd_count(self.pid)
        if fds != self.baseline_fds:
            self.reasons.append("bg96d fds not back to the idle baseline: "
                                "%d -> %d" % (self.baseline_fds, fds))
        return not self.reasons

    def finish(self, ok):
        """Stop both programs; check their exit; print the logs' tails on
        failure.  Returns the final verdict."""
        env = self.env
        if env is None:
            return ok
        try:
            rc, secs = env.stop_daemon(timeout=10.0 * self.scale)
            if rc != 0:
                self.reasons.append("bg96d exited %s on SIGTERM" % rc)
            elif secs > 5.0 * self.scale:
                self.reasons.append("bg96d took %.1f s to stop" % secs)
        except AssertionError as e:
            self.reasons.append(str(e))
        src = env.stop_sim()
        if src != 0:
            self.reasons.append("bg96sim exited %s (protocol violations?)" %
                                src)
        if hasattr(env, "logf"):
            env.logf.close()
        for srv in (self.tcp_srv, self.unix_srv, self.udp_srv, self.svc_srv):
            srv.close()
        ok = ok and not self.reasons
        if not ok:
            self.keep_logs()
        shutil.rmtree(env.dir, ignore_errors=True)
        shutil.rmtree(self.fwd_dir, ignore_errors=True)
        return ok

    def keep_logs(self):
        env = self.env
        if self.args.keep_dir is None:
            self.args.keep_dir = tempfile.mkdtemp(prefix="bg96-sched-logs-")
        keep = os.path.join(self.args.keep_dir, "sched-seed-%d" % self.seed)
        os.makedirs(keep, exist_ok=True)
        for name in (env.log, env.conf):
            if os.path.exists(name):
                shutil.copy(name, keep)
        env.save_sim_log(os.path.join(keep, "sim.log"))
        self.kept = keep
        for name, lines in ((os.path.join(keep, "bg96d.log"), 60),
                            (os.path.join(keep, "sim.log"), 80)):
            try:
                with open(name, "rb") as f:
                    f.seek(0, 2)
                    f.seek(max(0, f.tell() - 200000))
                    tail = f.read().decode("utf-8", "replace").splitlines()
            except OSError:
                continue
            sys.stdout.write("---- %s (last %d lines)\n" % (name, lines))
            for line in tail[-lines:]:
                sys.stdout.write(line[:400] + "\n")


def replay_command(args, seed, rounds):
    build = os.path.relpath(args.build, SRCDIR) \
        if os.path.abspath(args.build).startswith(SRCDIR + os.sep) \
        else args.build
    return "python3 tests/sched/sched.py --seed %d --rounds %d --build %s" % (
        seed, rounds, build)


class Interrupted(Exception):
    """SIGTERM or SIGINT (meson's timeout): stop, clean up, report."""


def on_signal(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def run_seed(args, seed):
    t0 = now()
    s = Sched(args, seed)
    ok = False
    try:
        ok = s.run()
    except Interrupted as e:
        args.interrupted = True
        s.reasons.append("interrupted by %s in round %s" % (
            e, s.round.index if s.round is not None else "-"))
        if s.round is not None:
            s.failed_round = s.round.index
    except Exception:
        s.reasons.append("the test crashed: " + traceback.format_exc())
        if s.env is not None:
            for p in (s.env.daemon, s.env.sim):
                if p is not None and p.poll() is None:
                    p.kill()
                    p.wait()
    ok = s.finish(ok)
    dt = now() - t0
    if ok:
        print("PASS seed %d: %d rounds in %.1f s" % (seed, args.rounds, dt))
        sys.stdout.flush()
        return True
    r = s.round
    print("FAIL seed %d after %.1f s%s" % (
        seed, dt, "" if s.failed_round is None else
        ", round %d%s" % (s.failed_round, " (final)" if r is not None and
                          r.final else "")))
    if r is not None and s.failed_round is not None:
        for f in r.faults:
            print("  fault %s at %.2f s: %s" % (f.describe(), f.at,
                                                 f.outcome))
        for p in r.problems:
            print("  " + p)
    for p in s.reasons:
        print("  " + p)
    if getattr(s, "kept", None):
        print("  logs kept in %s" % s.kept)
    rounds = args.rounds if s.failed_round is None or (
        r is not None and r.final) else s.failed_round + 1
    print("replay: " + replay_command(args, seed, rounds))
    sys.stdout.flush()
    return False


def parse_seeds(text):
    out = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, help="one seed")
    ap.add_argument("--seeds", help="several: A-B, or A,B,C")
    ap.add_argument("--rounds", type=int, default=12,
                    help="rounds per seed, before the final one (12)")
    ap.add_argument("--build", help="build directory (default: from "
                    "$BG96D, else build)")
    ap.add_argument("--verbose", type=int, default=2,
                    help="bg96d -v count (2: every AT line)")
    ap.add_argument("--keep-dir", help="where a failing seed's logs are "
                    "kept (default: a new directory in $TMPDIR)")
    ap.add_argument("--quiet", action="store_true",
                    help="only the verdicts")
    args = ap.parse_args()
    given_build = args.build is not None
    if args.build is None:
        if "BG96D" in os.environ:
            args.build = os.path.dirname(os.path.dirname(
                os.path.abspath(os.environ["BG96D"])))
        else:
            args.build = os.path.join(SRCDIR, "build")
    args.build = os.path.abspath(args.build)
    harness.BG96D = os.path.join(args.build, "src", "bg96d")
    harness.BG96SIM = os.path.join(args.build, "tools", "bg96sim", "bg96sim")
    if not given_build and "BG96SIM" in os.environ:
        harness.BG96SIM = os.path.abspath(os.environ["BG96SIM"])
    for p in (harness.BG96D, harness.BG96SIM):
        if not os.access(p, os.X_OK):
            ap.error("%s not found: build first, or give --build" % p)
    args.sanitized = os.environ.get("BG96_SANITIZED") == "1"
    try:
        with open(os.path.join(args.build, "meson-info",
                               "intro-buildoptions.json")) as f:
            for o in json.load(f):
                if o["name"] == "b_sanitize":
                    args.sanitized = o["value"] != "none"
    except (OSError, ValueError, KeyError):
        pass
    if args.sanitized:
        os.environ.setdefault("ASAN_OPTIONS",
                              "abort_on_error=1:detect_leaks=1")
        os.environ.setdefault("UBSAN_OPTIONS",
                              "print_stacktrace=1:halt_on_error=1")
    seeds = []
    if args.seed is not None:
        seeds.append(args.seed)
    if args.seeds:
        seeds.extend(parse_seeds(args.seeds))
    if not seeds:
        seeds = [1]
    args.interrupted = False
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    failed = []
    for seed in seeds:
        if not run_seed(args, seed):
            failed.append(seed)
        if args.interrupted:
            break
    print("%d seeds, %d passed, %d failed%s" % (
        len(seeds), len(seeds) - len(failed), len(failed),
        (": " + " ".join(map(str, failed))) if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
