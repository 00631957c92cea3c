#!/usr/bin/env python3
"""bg96d-bench: goodput, fairness, latency and cost of bg96d (DESIGN.md 7).

Every case starts its own bg96sim (on a pseudo-terminal, paced with --baud)
and its own bg96d in a fresh temp dir, moves data between real local
clients (Unix sockets) and real loopback TCP servers, and stops both
processes by pid.  The emulator's pacing is measured in the same run with
trivial clients that speak to bg96sim's pty directly (no bg96d):

  line-out      raw bytes the emulator writes to the pty (direct-push
                stream, nothing but a reader on the host side)
  line-in       raw bytes the emulator reads from the pty (a writer that
                never lets the pty run dry; the emulator counts them)
  trivial-down  a minimal host: AT+QIRD=0,1500 in a loop (the AT ceiling)
  trivial-up    a minimal host: AT+QISEND=0,1460 in a loop

Ratios of the bg96d cases are against the measured line rate of the same
run (ratio) and against the nominal baud/10 (ratio_nominal).  Output: one
human table, then one JSON line per case; with --runs N every number is
the median of N runs.  Performance never changes the exit status; a
failed case (corrupt data, protocol violation, crash, timeout) does.

Standard library only, and the integration tests' harness
(tests/integration/harness.py), which starts, waits for and stops bg96sim
and bg96d.  Run from the build dir (paths substituted by meson) or from
the source tree with --bg96d and --bg96sim.
"""
import argparse
import bisect
import fnmatch
import json
import os
import random
import select
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import termios
import threading
import time
import tty

# Substituted by meson's configure_file (bench/meson.build).
BG96D_BUILT = "@BG96D@"
BG96SIM_BUILT = "@BG96SIM@"
HARNESS_BUILT = "@HARNESS@"

# The integration tests' harness starts, watches and stops bg96sim and
# bg96d for the bench too: from the source tree when run from there.
sys.path.insert(0, HARNESS_BUILT if not HARNESS_BUILT.startswith("@") else
                os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             "..", "tests", "integration"))
import harness  # noqa: E402
from harness import (proc_cpu, proc_status, tcp_endpoint,  # noqa: E402
                     wait_for)

MSS_READ = 1500       # AT+QIRD read length
MSS_SEND = 1460       # AT+QISEND length
TRANSPKT = 1460       # bg96d's AT+QICFG="transpktsize" (TRANSPKTSIZE_DEF)
KIB = 1024
MIB = 1024 * 1024

# ----------------------------------------------------------------------
# Sizes.  "full": one run takes about four minutes on the 2-core CI
# machine; "quick": a smoke run of a few seconds.


SIZES = {
    "full": {
        "paced": {115200: 192 * KIB, 921600: 1 * MIB},
        "paced12": {115200: 16 * KIB, 921600: 96 * KIB},   # per connection
        "bidir": {115200: 96 * KIB, 921600: 512 * KIB},     # each way
        "lat20": 96 * KIB,
        "unpaced_down": 64 * MIB,
        "unpaced_up": 16 * MIB,
        "stall": 4 * MIB,                                   # per connection
        "rounds": {0: 2000, 115200: 200, 921600: 500},
        # Transparent mode: every round waits for transwaittm (200 ms).
        "rounds_trans": {115200: 50, 921600: 50},
        "line_s": {0: 2.0, 115200: 3.0, 921600: 2.0},
        "eof_grace_s": 5.0,
    },
    "quick": {
        "paced": {115200: 6 * KIB, 921600: 32 * KIB},
        "paced12": {115200: 1 * KIB, 921600: 4 * KIB},
        "bidir": {115200: 3 * KIB, 921600: 16 * KIB},
        "lat20": 4 * KIB,
        "unpaced_down": 2 * MIB,
        "unpaced_up": 1 * MIB,
        "stall": 256 * KIB,
        "rounds": {0: 50, 115200: 10, 921600: 20},
        "rounds_trans": {115200: 5, 921600: 5},
        "line_s": {0: 0.25, 115200: 0.3, 921600: 0.25},
        "eof_grace_s": 1.0,
    },
}

# Issue 7's targets, checked (and printed) after the table; never fatal.
TARGETS = [
    ("down-1x@115200", "ratio", ">=", 0.975),
    ("up-1x@115200", "ratio", ">=", 0.975),
    ("down-12x@115200", "ratio", ">=", 0.97),
    ("down-12x@115200", "jain", ">=", 0.99),
    ("up-12x@115200", "ratio", ">=", 0.97),
    ("up-12x@115200", "jain", ">=", 0.99),
    ("down-1x@921600", "ratio", ">=", 0.975),
    ("up-1x@921600", "ratio", ">=", 0.975),
    ("down-12x@921600", "ratio", ">=", 0.97),
    ("down-12x@921600", "jain", ">=", 0.99),
    ("up-12x@921600", "ratio", ">=", 0.97),
    ("up-12x@921600", "jain", ">=", 0.99),
    ("down-1x@unpaced", "MBps|ratio", ">=", (40.0, 0.8)),
    ("down-1x@unpaced", "cpu_s_per_MB", "<=", 0.01),
    ("latency-64@unpaced", "p50_ms", "<=", 0.5),
    ("latency-64@unpaced", "p99_ms", "<=", 2.0),
    ("stall-12x@unpaced", "bg96d_rss_kib", "<=", 8192),
    # Issue 15 (transparent access mode), when those cases are run.
    ("down-1x-trans@115200", "ratio", ">=", 0.995),
    ("up-1x-trans@115200", "ratio", ">=", 0.995),
    ("down-1x-trans@921600", "ratio", ">=", 0.995),
    ("up-1x-trans@921600", "ratio", ">=", 0.995),
    ("up-1x-trans-lat20@115200", "ratio", ">=", 0.99),
]


def log(msg):
    sys.stderr.write("bg96d-bench: %s\n" % msg)
    sys.stderr.flush()


class CaseError(AssertionError):
    """A failed case; the harness's waits and starts raise its base."""


# ----------------------------------------------------------------------
# Loopback servers


class Server(harness.Server):
    """The harness's loopback TCP server, running handler(conn, index)
    per connection with TCP_NODELAY; close() shuts the connections."""

    ACCEPT_POLL = 0.1
    CONN_TIMEOUT = 600
    NODELAY = True
    KEEP_CONNS = True

    def serve(self, conn, idx):
        self.handler(conn, idx)

    def failed(self, idx, e):
        if not self.stop:
            with self.lock:
                self.errors.append("server conn %d: %r" % (idx, e))


def recv_exact_into(sock, buf, n, events, first=None):
    """Receives n bytes into buf, appending (time, bytes) per recv;
    first() is called after the first recv."""
    mv = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(mv[got:n], min(n - got, 1 << 20))
        if k == 0:
            raise CaseError("EOF after %d of %d bytes" % (got, n))
        events.append((time.monotonic(), k))
        if got == 0 and first is not None:
            first()
        got += k
    return got


def first_difference(got, want):
    n = min(len(got), len(want))
    lo, hi = 0, n          # binary search on prefix equality
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if got[:mid] == want[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return "first difference at byte %d of %d: got %r, want %r" % (
        lo, len(want), bytes(got[lo:lo + 12]), bytes(want[lo:lo + 12]))


def wait_eof(sock):
    while True:
        b = sock.recv(65536)
        if not b:
            return


# ----------------------------------------------------------------------
# bg96sim + bg96d


class Env(harness.Env):
    """The harness's bg96sim (paced at baud, latency_ms per answer) and,
    unless daemon=False, bg96d (not verbose, under --wrap if given), with
    the figures the bench reads from them."""

    def __init__(self, bench, tag, baud, latency_ms=0, endpoints=(),
                 daemon=True, modem_conf=""):
        self.bench = bench
        self.tag = tag
        self.logf = None
        sim_args = []
        if baud:
            sim_args += ["--baud", str(baud)]
        if latency_ms:
            sim_args += ["--latency-ms", str(latency_ms)]
        eps = "".join(tcp_endpoint(ep[0], ep[1],
                                   ep[2] if len(ep) > 2 else "",
                                   connect_timeout=60)
                      for ep in endpoints)
        try:
            super().__init__("bench", sim_args=sim_args, endpoints=eps,
                             baud=baud or 921600, start_daemon=daemon,
                             modem_conf=modem_conf,
                             verbose=0, wait_ready=False,
                             bg96d=bench.bg96d, bg96sim=bench.bg96sim,
                             wrap=bench.wrap)
            if daemon:
                self.wait_ready(240 if bench.wrap else 30)
                for ep in endpoints:
                    path = self.sock_path(ep[0])
                    wait_for(lambda: os.path.exists(path), 10, path)
        except BaseException:
            self.close(keep=True)
            raise

    def log_text(self):
        try:
            return super().log_text()
        except OSError:
            return ""

    def connect(self, name, timeout=120):
        return super().connect(name, timeout)

    def stats(self):
        st = self.sim_cmd("stats")
        st["t"] = time.monotonic()
        return st

    def cpu(self):
        return proc_cpu(self.dpid) if self.dpid else None

    def sim_cpu(self):
        return proc_cpu(self.sim.pid) if self.sim else None

    def hwm(self):
        return proc_status(self.dpid, "VmHWM") if self.dpid else None

    def close(self, keep=False):
        """Stop both (the harness's stop); keep the directory (in --outdir
        if given) on a problem or --keep; the problems."""
        problems = self.stop(120 if self.bench.wrap else 10)
        if problems:
            keep = True
        if keep or self.bench.args.keep:
            dest = self.dir
            if self.bench.outdir:
                dest = os.path.join(self.bench.outdir, "env-" + self.tag)
                shutil.rmtree(dest, ignore_errors=True)
                shutil.copytree(self.dir, dest, symlinks=True,
                                ignore=shutil.ignore_patterns("*.sock",
                                                              "modem"))
                shutil.rmtree(self.dir, ignore_errors=True)
            log("%s: kept %s" % (self.tag, dest))
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        return problems


# ----------------------------------------------------------------------
# A trivial AT client on the pty (no bg96d): the pacing reference.


class AtClient:
    def __init__(self, path):
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        attr = termios.tcgetattr(self.fd)
        attr[2] &= ~termios.CRTSCTS
        termios.tcsetattr(self.fd, termios.TCSANOW, attr)
        self.buf = bytearray()

    def close(self):
        os.close(self.fd)

    def fill(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return 0
        try:
            b = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return 0
        self.buf += b
        return len(b)

    def write_all(self, data):
        mv = memoryview(data)
        while mv:
            try:
                n = os.write(self.fd, mv)
                mv = mv[n:]
            except BlockingIOError:
                select.select([], [self.fd], [], 1.0)

    def line(self, timeout=10.0):
        """Next non-empty line (without CRLF)."""
        end = time.monotonic() + timeout
        while True:
            while True:
                i = self.buf.find(b"\r\n")
                if i < 0:
                    break
                ln = bytes(self.buf[:i])
                del self.buf[:i + 2]
                if ln:
                    return ln
            left = end - time.monotonic()
            if left <= 0:
                raise CaseError("pty: no answer (have %r)" %
                                bytes(self.buf[:80]))
            self.fill(left)

    def cmd(self, text, timeout=10.0, want=None):
        """Runs a command; returns its lines; fails unless OK."""
        self.write_all(text.encode() + b"\r")
        lines = []
        while True:
            ln = self.line(timeout)
            if ln == text.encode():
                continue          # echo
            if ln == b"OK":
                return lines
            if ln.startswith(b"ERROR") or ln.startswith(b"+CME ERROR"):
                raise CaseError("%s: %s" % (text, ln.decode()))
            lines.append(ln)

    def wait_line(self, prefix, timeout=10.0):
        while True:
            ln = self.line(timeout)
            if ln.startswith(prefix):
                return ln

    def bring_up(self):
        # Echo may be on and boot URCs may wait in the pty.
        end = time.monotonic() + 10
        while True:
            try:
                self.cmd("ATE0", timeout=1.0)
                break
            except CaseError:
                if time.monotonic() > end:
                    raise
        self.cmd("AT+QIACT=1", timeout=30)

    def open_tcp(self, port, mode):
        self.cmd('AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,%d' % (port, mode))
        ln = self.wait_line(b"+QIOPEN:", 30)
        if ln.strip() != b"+QIOPEN: 0,0":
            raise CaseError("QIOPEN: %s" % ln.decode())


def rate_from_events(events, skip_s):
    """(bytes, seconds) between the first event after skip_s and the last,
    not counting that first event's bytes."""
    if not events:
        return 0, 0.0
    t_start = events[0][0] + skip_s
    i = bisect.bisect_left(events, (t_start, -1))
    if i >= len(events) - 1:
        i = 0
    t0 = events[i][0]
    nbytes = sum(n for _, n in events[i + 1:])
    return nbytes, events[-1][0] - t0


def cum_at(events, t):
    """Bytes a stream had received by time t, interpolated linearly
    between recv events (a recv of n bytes at t_k completes a ramp that
    started at the previous recv)."""
    times = [e[0] for e in events]
    k = bisect.bisect_left(times, t)
    done = sum(n for _, n in events[:k])
    if k == 0 or k >= len(events):
        return done
    t_prev, (t_k, n_k) = times[k - 1], events[k]
    return done + n_k * (t - t_prev) / (t_k - t_prev) if t_k > t_prev \
        else done


def forever_sender(conn, idx, chunk=b"\x55" * 65536):
    """Server handler: send until the peer goes away."""
    try:
        while True:
            conn.sendall(chunk)
    except OSError:
        pass


class Sampler:
    """bg96sim's counters every period seconds while a case runs, in a
    thread: when the connection entered data mode (auto), how often, and
    how many escapes.  Each sample: (t, bytes_in, bytes_out, data_mode,
    escapes, bytes_up); data_mode is the slot in data mode or -1."""

    def __init__(self, env, period=0.02):
        self.env = env
        self.period = period
        self.samples = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.done.is_set():
            try:
                st = self.env.stats()
            except (OSError, ValueError):
                return
            tr = st.get("trans", {})
            self.samples.append((st["t"], st["bytes_in"], st["bytes_out"],
                                 tr.get("data_mode", -1),
                                 tr.get("escapes", 0),
                                 tr.get("bytes_up", 0)))
            self.done.wait(self.period)

    def stop(self):
        self.done.set()
        self.thread.join(15)

    def entries(self):
        """Times at which data mode was seen entered (a sample in data
        mode after one that was not, or the first sample)."""
        out = []
        prev = -1
        for smp in self.samples:
            if smp[3] >= 0 and prev < 0:
                out.append(smp[0])
            prev = smp[3]
        return out


def rate_after(events, t):
    """(bytes, seconds) of a stream from its first recv after t to its
    last (that first recv not counted), as rate_from_events."""
    i = bisect.bisect_right(events, (t, float("inf")))
    if i >= len(events) - 1:
        return 0, 0.0
    return sum(n for _, n in events[i + 1:]), events[-1][0] - events[i][0]


SINK_CODE = r"""
import socket, threading
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
def drain(c):
    while c.recv(1 << 20):
        pass
while True:
    c, _ = s.accept()
    threading.Thread(target=drain, args=(c,), daemon=True).start()
"""


class SinkProcess:
    """A loopback server that reads and discards, in its own process (so
    that it never competes for the bench's interpreter lock)."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", SINK_CODE],
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE)
        self.port = int(self.proc.stdout.readline())

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


# ----------------------------------------------------------------------
# The bench


class Bench:
    def __init__(self, args):
        self.args = args
        self.bg96d = args.bg96d
        self.bg96sim = args.bg96sim
        self.wrap = shlex.split(args.wrap) if args.wrap else []
        self.outdir = args.outdir
        if self.outdir:
            os.makedirs(self.outdir, exist_ok=True)
        self.sizes = SIZES["quick" if args.quick else "full"]
        self.scale = args.scale
        self.line = {}       # (run, baud) -> {"out": Bps, "in": Bps, ...}
        self.run_no = 0
        self.rng = random.Random(7)
        self.pattern = self.rng.randbytes(1 * MIB + 12 * 4099 + 64)

    def size(self, n):
        return max(1, int(n * self.scale))

    def data(self, n, idx=0):
        """Deterministic bytes for connection idx: distinct per idx."""
        off = (idx * 4099) % (len(self.pattern) - 1 * MIB)
        p = self.pattern[off:off + 1 * MIB]
        reps = n // len(p) + 1
        return (p * reps)[:n]

    # -------------------------------------------------------------- env
    def env(self, case, **kw):
        tag = "%s-%s-run%d" % (case["name"], case["baud"] or "unpaced",
                               self.run_no)
        return Env(self, tag, case["baud"], **kw)

    def attach_start(self, env, case):
        if not self.args.attach or not env.dpid:
            return None
        out = self.outdir or env.dir
        cmd = self.args.attach.format(
            pid=env.dpid, case=case["id"].replace("@", "-"),
            run=self.run_no, dir=out)
        p = subprocess.Popen(shlex.split(cmd), stdin=subprocess.DEVNULL)
        time.sleep(0.5)
        return p

    def attach_stop(self, p):
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    # ------------------------------------------------- pacing reference
    def case_line_out(self, case):
        """Raw bytes the emulator writes: a direct-push stream."""
        baud = case["baud"]
        dur = self.sizes["line_s"][baud]
        srv = Server(forever_sender)
        env = self.env(case, daemon=False)
        at = None
        try:
            at = AtClient(env.link)
            at.bring_up()
            at.open_tcp(srv.port, 1)
            events = []
            end = time.monotonic() + dur + 0.2
            while time.monotonic() < end:
                r, _, _ = select.select([at.fd], [], [], 0.5)
                if r:
                    try:
                        b = os.read(at.fd, 1 << 16)
                    except BlockingIOError:
                        continue
                    events.append((time.monotonic(), len(b)))
            nbytes, secs = rate_from_events(events, 0.2)
            rate = nbytes / secs
            return {"bytes": nbytes, "seconds": secs, "goodput_Bps": rate,
                    "line_Bps": baud / 10 if baud else None,
                    "ratio": rate / (baud / 10) if baud else None,
                    "what": "raw pty bytes/s out of bg96sim (push stream)"
                    }, env, srv, at
        except BaseException:
            self._cleanup(env, srv, at)
            raise

    def case_line_in(self, case):
        """Raw bytes the emulator reads.  Stream: long command lines
        written back to back (pipelined, so this emulator instance records
        violations, ignored here), counted by bg96sim's own bytes_in over
        the window.  Burst: one 1000-byte command line after 30 ms of
        silence, timed from its write to its ERROR; a real UART takes
        1000 byte times, whatever the line did before."""
        baud = case["baud"]
        dur = self.sizes["line_s"][baud]
        env = self.env(case, daemon=False)
        env.ignore_violations = True
        at = None
        try:
            at = AtClient(env.link)
            at.bring_up()
            nominal = baud / 10
            # Burst first, while nothing is pipelined.
            line = b"AT+QBENCH=" + b"9" * 989 + b"\r"     # 1000 bytes
            bursts = []
            for _ in range(3 if self.args.quick else 8):
                time.sleep(0.03)
                at.buf.clear()
                t = time.monotonic()
                at.write_all(line)
                at.wait_line(b"ERROR", 10)
                bursts.append(time.monotonic() - t)
            burst_s = statistics.median(bursts)
            # "\r\nERROR\r\n" out after the line is in.
            burst_in_s = burst_s - 9 / nominal
            # Stream.
            blob = line * 64
            mv = memoryview(blob)
            pos = 0
            marks = []
            t_first = time.monotonic()
            want = [t_first + 0.2, t_first + 0.2 + dur]
            while len(marks) < 2:
                now = time.monotonic()
                if now >= want[len(marks)]:
                    st = env.stats()
                    marks.append((st["t"], st["bytes_in"]))
                    continue
                r, w, _ = select.select([at.fd], [at.fd], [], 0.05)
                if r:
                    try:
                        os.read(at.fd, 1 << 16)
                    except BlockingIOError:
                        pass
                if w:
                    try:
                        n = os.write(at.fd, mv[pos:pos + 4096])
                        pos = (pos + n) % len(blob)
                    except BlockingIOError:
                        pass
            nbytes = marks[1][1] - marks[0][1]
            secs = marks[1][0] - marks[0][0]
            rate = nbytes / secs
            return {"bytes": nbytes, "seconds": secs, "goodput_Bps": rate,
                    "line_Bps": nominal, "ratio": rate / nominal,
                    "burst_ms": 1000 * burst_s,
                    "burst_Bps": 1000 / burst_in_s,
                    "burst_ratio": 1000 / burst_in_s / nominal,
                    "banked_bytes": round(nominal * (1000 / nominal -
                                                     burst_in_s)),
                    "what": "raw pty bytes/s into bg96sim: stream "
                    "(bytes_in), burst (1000 B after 30 ms idle)"
                    }, env, None, at
        except BaseException:
            self._cleanup(env, None, at)
            raise

    def case_trivial_down(self, case):
        """A minimal host reading with AT+QIRD=0,1500 in a tight loop
        (blocking reads, one write per command)."""
        baud = case["baud"]
        dur = self.sizes["line_s"][baud]
        srv = Server(forever_sender)
        env = self.env(case, daemon=False)
        at = None
        try:
            at = AtClient(env.link)
            at.bring_up()
            at.open_tcp(srv.port, 0)
            time.sleep(0.05)
            fd = at.fd
            os.set_blocking(fd, True)
            cmd = b"AT+QIRD=0,%d\r" % MSS_READ
            buf = bytes(at.buf)
            events = []
            nread = empty = 0
            read = os.read
            end = time.monotonic() + dur + 0.2
            while True:
                os.write(fd, cmd)
                while True:
                    i = buf.find(b"+QIRD: ")
                    if i >= 0:
                        j = buf.find(b"\r\n", i)
                        if j > 0:
                            n = int(buf[i + 7:j])
                            stop = j + 2 + n + (8 if n else 6)
                            if len(buf) >= stop:
                                if buf[stop - 4:stop] != b"OK\r\n":
                                    raise CaseError("QIRD: bad answer")
                                buf = buf[stop:]
                                break
                    buf += read(fd, 65536)
                nread += 1
                t = time.monotonic()
                if n:
                    events.append((t, n))
                else:
                    empty += 1
                if t > end:
                    break
            nbytes, secs = rate_from_events(events, 0.2)
            rate = nbytes / secs if secs > 0 else 0.0
            rec = {"bytes": nbytes, "seconds": secs, "goodput_Bps": rate,
                   "reads": nread, "empty_reads": empty}
            if baud:
                # A real UART: 15 bytes in, then 15 + 1500 + 8 out.
                lo = self.line_rates(baud).get("out") or baud / 10
                rec["line_Bps"] = lo
                rec["ratio"] = rate / lo
                rec["uart_ceiling_ratio"] = 1500 / (1523 + 15)
            return rec, env, srv, at
        except BaseException:
            self._cleanup(env, srv, at)
            raise

    def case_trivial_up(self, case):
        """A minimal host sending with AT+QISEND=0,1460 in a tight loop."""
        baud = case["baud"]
        dur = self.sizes["line_s"][baud]
        srv = SinkProcess()
        env = None
        at = None
        try:
            env = self.env(case, daemon=False)
            at = AtClient(env.link)
            at.bring_up()
            at.open_tcp(srv.port, 0)
            fd = at.fd
            os.set_blocking(fd, True)
            payload = self.data(MSS_SEND)
            cmd = b"AT+QISEND=0,%d\r" % MSS_SEND
            buf = bytes(at.buf)
            events = []
            fails = 0
            read = os.read
            end = time.monotonic() + dur + 0.2
            while True:
                os.write(fd, cmd)
                while b"> " not in buf:
                    buf += read(fd, 65536)
                buf = buf[buf.index(b"> ") + 2:]
                os.write(fd, payload)
                while True:
                    i = buf.find(b"SEND ")
                    if i >= 0:
                        j = buf.find(b"\r\n", i)
                        if j > 0:
                            ok = buf[i:j] == b"SEND OK"
                            buf = buf[j + 2:]
                            break
                    buf += read(fd, 65536)
                t = time.monotonic()
                if ok:
                    events.append((t, MSS_SEND))
                else:
                    fails += 1
                    time.sleep(0.0002)
                if t > end:
                    break
            nbytes, secs = rate_from_events(events, 0.2)
            rate = nbytes / secs if secs > 0 else 0.0
            rec = {"bytes": nbytes, "seconds": secs, "goodput_Bps": rate,
                   "send_fail": fails}
            if baud:
                # A real UART: 17 + 1460 bytes in, 4 + 11 out, in turn.
                li = self.line_rates(baud).get("in") or baud / 10
                rec["line_Bps"] = li
                rec["ratio"] = rate / li
                rec["uart_ceiling_ratio"] = 1460 / (1477 + 15)
            return rec, env, srv, at
        except BaseException:
            self._cleanup(env, srv, at)
            raise

    @staticmethod
    def _cleanup(env, srv, at):
        if at is not None:
            try:
                at.close()
            except OSError:
                pass
        if srv is not None:
            srv.close()
        if env is not None:
            env.close()

    # ------------------------------------------------- through bg96d
    def transfer(self, case, nconn, per_conn, direction, latency_ms=0,
                 ep_extra="", modem_conf="", sample=False):
        """nconn clients on one endpoint; direction down, up or bidir;
        sample: bg96sim's data mode counters during the case (Sampler)."""
        baud = case["baud"]
        down = direction in ("down", "bidir")
        up = direction in ("up", "bidir")
        datas = [self.data(per_conn, i) for i in range(nconn)]
        srv_rx = {}          # server conn index -> (events, buf)
        cli_rx = {}          # client index -> (events, buf)
        lock = threading.Lock()
        nstreams = nconn * (2 if up and down else 1)
        # Receive buffers exist before anything connects (allocating and
        # faulting in 64 MiB takes a while).
        srv_bufs = [bytearray(per_conn) for _ in range(nconn)] if up else []
        cli_bufs = [bytearray(per_conn) for _ in range(nconn)] if down \
            else []
        marks = {"done": 0}

        def first():
            """The first payload byte anywhere: emulator counters."""
            with lock:
                if "first" in marks:
                    return
                marks["first"] = None
            marks["first"] = env.stats()

        def stream_done():
            with lock:
                marks["done"] += 1
                last = marks["done"] == nstreams
            if last:
                marks["last"] = env.stats()

        def handler(conn, idx):
            sender = None
            if down:
                payload = datas[idx % nconn]
                if up:
                    sender = threading.Thread(
                        target=lambda: conn.sendall(payload), daemon=True)
                    sender.start()
                else:
                    conn.sendall(payload)
            if up:
                ev, buf = [], srv_bufs[idx % nconn]
                with lock:
                    srv_rx[idx] = (ev, buf)
                recv_exact_into(conn, buf, per_conn, ev, first)
                stream_done()
                if sender is not None:
                    sender.join()
            else:
                wait_eof(conn)

        srv = Server(handler)
        env = None
        try:
            env = self.env(case, latency_ms=latency_ms,
                           endpoints=[("bench", srv.port, ep_extra)],
                           modem_conf=modem_conf)
            timeout = 60 + 5 * nconn * per_conn * (2 if up and down else 1) \
                / (baud / 10 if baud else 1e6)
            errors = []
            t_conn = {}

            def client(i):
                try:
                    s = env.connect("bench", timeout)
                    t_conn[i] = time.monotonic()
                    snd = None
                    if up:
                        def push():
                            s.sendall(datas[i])
                            s.shutdown(socket.SHUT_WR)
                        if down:
                            snd = threading.Thread(target=push, daemon=True)
                            snd.start()
                        else:
                            push()
                    if down:
                        ev, buf = [], cli_bufs[i]
                        with lock:
                            cli_rx[i] = (ev, buf)
                        recv_exact_into(s, buf, per_conn, ev, first)
                        stream_done()
                        if snd is not None:
                            snd.join()
                    if up and not down:
                        wait_eof(s)
                    s.close()
                except Exception as e:
                    errors.append("client %d: %r" % (i, e))

            st0 = env.stats()
            cpu0, scpu0 = env.cpu(), env.sim_cpu()
            att = self.attach_start(env, case)
            sampler = Sampler(env) if sample else None
            threads = [threading.Thread(target=client, args=(i,),
                                        daemon=True) for i in range(nconn)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout + 30)
            # The server side finishes too (bidir: the last bytes up may
            # still be on their way when the client has all of its own).
            # Downstream only, the server just waits for the close of the
            # client to reach it: not a matter of data, so only a warning.
            warnings = []
            if up:
                if not srv.join(timeout + 30):
                    errors.append("server still receiving after %.0f s" %
                                  (timeout + 30))
            elif not srv.join(self.sizes["eof_grace_s"]):
                warnings.append(
                    "%d of %d client close(s) never reached the remote "
                    "(no EOF within %g s)" % (
                        sum(t.is_alive() for t in srv.threads), nconn,
                        self.sizes["eof_grace_s"]))
            if sampler is not None:
                sampler.stop()
            st1 = env.stats()
            cpu1, scpu1 = env.cpu(), env.sim_cpu()
            self.attach_stop(att)
            hwm = env.hwm()
            if any(t.is_alive() for t in threads):
                errors.append("clients still running after %.0f s" %
                              (timeout + 30))
            errors = srv.errors + errors
            # Integrity: every stream arrives intact (up: which client a
            # server connection belongs to is found by its first bytes).
            heads = {d[:64]: k for k, d in enumerate(datas)}
            for what, rx in (("down stream (client %d)", cli_rx),
                             ("up stream (server conn %d)", srv_rx)):
                for i, (ev, buf) in rx.items():
                    k = heads.get(bytes(buf[:64]), 0)
                    if buf != datas[k]:
                        errors.append((what % i) + " corrupt: " +
                                      first_difference(buf, datas[k]))
            streams = []
            if down:
                streams += [cli_rx[i][0] for i in sorted(cli_rx)]
            if up:
                streams += [srv_rx[i][0] for i in sorted(srv_rx)]
            if len(streams) != nconn * (2 if up and down else 1):
                errors.append("%d of %d streams completed" % (
                    len(streams), nconn * (2 if up and down else 1)))
            if errors:
                raise CaseError("; ".join(errors[:4]))
            rec = self.goodput(streams, nconn > 1)
            if warnings:
                rec["warning"] = "; ".join(warnings)
            rec["first_byte_ms"] = 1000 * (min(s[0][0] for s in streams) -
                                           min(t_conn.values()))
            if down and up:
                rec["down_Bps"] = self.goodput(
                    [cli_rx[i][0] for i in sorted(cli_rx)])["goodput_Bps"]
                rec["up_Bps"] = self.goodput(
                    [srv_rx[i][0] for i in sorted(srv_rx)])["goodput_Bps"]
            self.add_cost(rec, cpu0, cpu1, scpu0, scpu1, hwm)
            window = (marks["first"], marks["last"]) \
                if marks.get("first") and marks.get("last") else None
            self.add_line(rec, case, direction, st0, st1,
                          nconn * per_conn, window)
            if sampler is not None:
                self.add_switch(rec, sampler, streams, case, direction)
            self.judge_violations(env, rec)
            return rec, env, srv, None
        except BaseException:
            self._cleanup(env, srv, None)
            raise

    def add_switch(self, rec, sampler, streams, case, direction):
        """Auto access mode: the connection starts in buffer mode and
        the daemon moves it into data mode (AT+QISWTMD) once alone.  The
        goodput window starts when bytes flow, so the buffer mode seconds
        before the switch count in ratio; ratio_after_switch is the
        goodput from the first sample of bg96sim's counters that saw data
        mode (20 ms apart) to the last byte; switch_s is the time from
        the first payload byte to that sample."""
        ent = sampler.entries()
        samples = sampler.samples
        rec["data_mode_entries"] = len(ent)
        if samples:
            rec["escapes"] = samples[-1][4] - samples[0][4]
        rec["samples"] = len(samples)
        if not ent:
            return
        t_sw = ent[0]
        t_first = min(s[0][0] for s in streams)
        rec["switch_s"] = t_sw - t_first
        nbytes = secs = 0
        for ev in streams:
            b, sec = rate_after(ev, t_sw)
            nbytes += b
            secs = max(secs, sec)
        if secs > 0:
            rate = nbytes / secs
            rec["goodput_after_switch_Bps"] = rate
            line = rec.get("line_Bps")
            if line:
                rec["ratio_after_switch"] = rate / line

    @staticmethod
    def goodput(streams, fairness=False):
        """Aggregate goodput over all streams from the first byte to the
        last (the very first recv not counted); with fairness, per stream
        goodput over the window where every stream was moving and Jain's
        index over them."""
        allev = sorted(e for s in streams for e in s)
        t0, t1 = allev[0][0], allev[-1][0]
        nbytes = sum(n for _, n in allev) - allev[0][1]
        secs = t1 - t0
        rec = {"bytes": nbytes, "seconds": secs,
               "goodput_Bps": nbytes / secs if secs > 0 else 0.0}
        if fairness:
            a = max(s[0][0] for s in streams)     # every stream started
            b = min(s[-1][0] for s in streams)    # none finished yet
            if b - a < 0.25 * secs:
                a = t0                            # fall back: from t0
            per = []
            for s in streams:
                per.append((cum_at(s, b) - cum_at(s, a)) / (b - a)
                           if b > a else 0.0)
            sq = sum(x * x for x in per)
            rec["per_conn_Bps"] = [round(x, 1) for x in per]
            rec["jain"] = (sum(per) ** 2) / (len(per) * sq) if sq else 0.0
            rec["fair_window_s"] = b - a
        return rec

    @staticmethod
    def add_cost(rec, cpu0, cpu1, scpu0, scpu1, hwm):
        rec["bg96d_cpu_s"] = (cpu1 - cpu0) if None not in (cpu0, cpu1) \
            else None
        rec["bg96d_rss_kib"] = hwm
        rec["sim_cpu_s"] = (scpu1 - scpu0) if None not in (scpu0, scpu1) \
            else None

    def line_rates(self, baud):
        return self.line.get((self.run_no, baud), {})

    def add_line(self, rec, case, direction, st0, st1, total=0,
                 window=None):
        """line_Bps: the measured rate of the direction that carries the
        payload; counters of the emulator over the case (st0..st1), and
        line use over the goodput window (emulator counters read when
        the first payload byte and the last one arrived)."""
        baud = case["baud"]
        lr = self.line_rates(baud)
        key = "in" if direction == "up" else "out"
        nominal = baud / 10 if baud else None
        line = lr.get(key) or nominal
        if baud and direction != "latency":
            rec["line_Bps"] = line
            rec["ratio"] = rec["goodput_Bps"] / line if line else None
            rec["nominal_Bps"] = nominal
            rec["ratio_nominal"] = rec["goodput_Bps"] / nominal
            # Against a minimal host on the same emulator and baud.
            triv = lr.get({"down": "trivial-down", "up": "trivial-up"}.get(
                direction, ""))
            if triv and direction in ("down", "up"):
                rec["ratio_trivial"] = rec["goodput_Bps"] / triv
        cmds = {}
        c0 = st0.get("commands", {})
        for k, v in st1.get("commands", {}).items():
            d = v - c0.get(k, 0)
            if d:
                cmds[k] = d
        rec["commands"] = cmds
        rec["violations"] = st1.get("violation_count", 0) - \
            st0.get("violation_count", 0)
        if st0.get("violation_count", 0):
            rec["violations_before"] = st0["violation_count"]
        if st1.get("violation_count", 0):
            rec["violation_texts"] = st1.get("violations", [])[:3]
        rec["sim_bytes_out"] = st1["bytes_out"] - st0["bytes_out"]
        rec["sim_bytes_in"] = st1["bytes_in"] - st0["bytes_in"]
        nqird = sum(v for k, v in cmds.items() if "QIRD" in k)
        nsend = sum(v for k, v in cmds.items() if "QISEND" in k)
        if nqird and direction == "down":
            rec["bytes_per_qird"] = total / nqird
        if nsend and direction == "up":
            rec["bytes_per_qisend"] = total / nsend
        w0, w1 = window or (st0, st1)
        dt = w1["t"] - w0["t"]
        b_out = w1["bytes_out"] - w0["bytes_out"]
        b_in = w1["bytes_in"] - w0["bytes_in"]
        wc0 = w0.get("commands", {})
        ncmd = sum(v - wc0.get(k, 0)
                   for k, v in w1.get("commands", {}).items())
        if baud and ncmd and dt > 0:
            rec["window_cmds"] = ncmd
            lo = lr.get("out") or nominal
            li = lr.get("in") or nominal
            rec["line_out_busy"] = b_out / lo / dt
            rec["line_in_busy"] = b_in / li / dt
            # Time the payload direction's line stood idle, per command
            # (from the emulator's byte counters over the case), and the
            # line time of what had to cross the other way per command
            # (the command downstream; prompt and SEND OK upstream): on a
            # real UART the idle time is at least that.
            if direction == "down":
                rec["idle_ms_per_cmd"] = 1000 * (dt - b_out / lo) / ncmd
                rec["other_way_ms_per_cmd"] = 1000 * b_in / li / ncmd
            elif direction == "up":
                rec["idle_ms_per_cmd"] = 1000 * (dt - b_in / li) / ncmd
                rec["other_way_ms_per_cmd"] = 1000 * b_out / lo / ncmd

    @staticmethod
    def judge_violations(env, rec):
        """Violations during bg96d's bring-up (before the measured window)
        are reported, not fatal: the integration tests own correctness;
        one inside the window makes the figures suspect and fails."""
        env.ignore_violations = rec.get("violations", 0) == 0

    def case_xfer(self, case):
        p = case["params"]
        return self.transfer(case, p["nconn"], p["per_conn"], p["dir"],
                             p.get("latency_ms", 0), p.get("ep_extra", ""),
                             p.get("modem_conf", ""), p.get("sample", False))

    def case_unpaced(self, case):
        rec, env, srv, at = self.case_xfer(case)
        rec["MBps"] = rec["goodput_Bps"] / 1e6
        if rec["bg96d_cpu_s"] is not None:
            rec["cpu_s_per_MB"] = rec["bg96d_cpu_s"] / (rec["bytes"] / 1e6)
        lr = self.line_rates(0)
        if case["params"]["dir"] == "down":
            raw, triv = lr.get("out"), lr.get("trivial-down")
        else:
            raw = triv = lr.get("trivial-up")
        # The ceiling: what bg96sim moves through its pty to a trivial
        # client (raw stream, and a minimal AT host doing the same job).
        rec["line_Bps"] = raw
        rec["ratio"] = rec["goodput_Bps"] / raw if raw else None
        rec["ceiling_trivial_Bps"] = triv
        rec["ratio_trivial"] = rec["goodput_Bps"] / triv if triv else None
        return rec, env, srv, at

    def case_latency(self, case):
        baud = case["baud"]
        p = case["params"]
        trans = p.get("trans", False)
        rounds = self.sizes["rounds_trans" if trans else "rounds"][baud]

        def echo(conn, idx):
            while True:
                b = conn.recv(65536)
                if not b:
                    return
                conn.sendall(b)

        srv = Server(echo)
        env = None
        try:
            env = self.env(case, endpoints=[("bench", srv.port,
                                             p.get("ep_extra", ""))],
                           modem_conf=p.get("modem_conf", ""))
            st0 = env.stats()
            cpu0, scpu0 = env.cpu(), env.sim_cpu()
            att = self.attach_start(env, case)
            s = env.connect("bench", 60)
            msg = self.data(64, 3)
            buf = bytearray(64)
            lat = []
            t_start = time.monotonic()
            for k in range(rounds + 5):
                t = time.perf_counter()
                s.sendall(msg)
                recv_exact_into(s, buf, 64, [])
                dt = time.perf_counter() - t
                if buf != msg:
                    raise CaseError("echo corrupt")
                if k >= 5:          # the first rounds open the slot
                    lat.append(dt)
            secs = time.monotonic() - t_start
            s.close()
            st1 = env.stats()
            cpu1, scpu1 = env.cpu(), env.sim_cpu()
            self.attach_stop(att)
            if srv.errors:
                raise CaseError("; ".join(srv.errors))
            lat.sort()
            q = lambda p: 1000 * lat[min(len(lat) - 1, int(p * len(lat)))]
            rec = {"bytes": 128 * rounds, "seconds": secs,
                   "goodput_Bps": 128 * rounds / secs,
                   "rounds": rounds, "p50_ms": q(0.50), "p99_ms": q(0.99),
                   "mean_ms": 1000 * statistics.fmean(lat),
                   "max_ms": 1000 * lat[-1]}
            self.add_cost(rec, cpu0, cpu1, scpu0, scpu1, env.hwm())
            self.add_line(rec, case, "latency", st0, st1)
            self.judge_violations(env, rec)
            if baud and trans:
                # Data mode: the 64 bytes up, then the same 64 down, and
                # nothing else (issue 15: "two line times").  The module
                # sends a partial packet transwaittm x 100 ms after its
                # last byte (AT+QICFG, ref. 5.10): the remote's own delay
                # is at least that.
                rec["uart_min_ms"] = 1000 * 2 * 64 / (baud / 10)
                wt = st1.get("trans", {}).get("transwaittm")
                if wt is not None:
                    rec["transwaittm_ms"] = 100 * wt
                    rec["p50_over_uart_waittm_ms"] = \
                        rec["p50_ms"] - rec["uart_min_ms"] - 100 * wt
            elif baud and p.get("push"):
                # Push: "AT+QISEND=11,64\r", "\r\n> ", 64 bytes, SEND OK,
                # then '\r\n+QIURC: "recv",11,64\r\n', 64 bytes, "\r\n".
                rec["uart_min_ms"] = 1000 * (16 + 4 + 64 + 11 + 24 + 64 +
                                             2) / (baud / 10)
            elif baud:
                # One exchange on a real UART, every byte in turn:
                # "AT+QISEND=11,64\r", "\r\n> ", 64 bytes, SEND OK, the
                # recv URC, "AT+QIRD=11\r", "+QIRD: 64", 64 bytes, OK.
                rec["uart_min_ms"] = 1000 * (16 + 4 + 64 + 11 + 22 + 11 +
                                             13 + 64 + 8) / (baud / 10)
            if baud:
                rec["p50_over_uart_ms"] = rec["p50_ms"] - rec["uart_min_ms"]
            return rec, env, srv, None
        except BaseException:
            self._cleanup(env, srv, None)
            raise

    def case_stall(self, case):
        """12 clients that never read while the remote pushes: bounded
        memory (the modem's window closes).  Reports peak RSS."""
        per = self.size(self.sizes["stall"])
        chunk = self.data(64 * KIB, 5)
        sent = [0] * 12

        def pusher(conn, idx):
            conn.settimeout(2)
            try:
                while sent[idx % 12] < per:
                    sent[idx % 12] += conn.send(chunk)
            except (socket.timeout, OSError):
                pass
            try:
                wait_eof(conn)
            except OSError:
                pass

        srv = Server(pusher)
        env = None
        socks = []
        try:
            env = self.env(case, endpoints=[("bench", srv.port)])
            cpu0, scpu0 = env.cpu(), env.sim_cpu()
            t0 = time.monotonic()
            for i in range(12):
                s = env.connect("bench", 60)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                socks.append(s)
            # Wait until nothing moves any more (every buffer is full).
            last, still = -1, 0
            while still < 10 and time.monotonic() - t0 < 60:
                time.sleep(0.1)
                tot = sum(sent)
                still = still + 1 if tot == last else 0
                last = tot
            hwm = env.hwm()
            rss = proc_status(env.dpid, "VmRSS")
            cpu1, scpu1 = env.cpu(), env.sim_cpu()
            for s in socks:
                s.close()
            rec = {"bytes": sum(sent), "seconds": time.monotonic() - t0,
                   "goodput_Bps": None, "conns": 12,
                   "accepted": srv.accepted, "bg96d_rss_now_kib": rss}
            self.add_cost(rec, cpu0, cpu1, scpu0, scpu1, hwm)
            return rec, env, srv, None
        except BaseException:
            for s in socks:
                s.close()
            self._cleanup(env, srv, None)
            raise

    # ---------------------------------------------------------- driver
    def run_case(self, case):
        kind = case["kind"]
        fn = getattr(self, "case_" + kind)
        t = time.monotonic()
        err = None
        rec = None
        env = srv = at = None
        try:
            rec, env, srv, at = fn(case)
        except AssertionError as e:         # CaseError, a harness wait
            err = str(e)
        except Exception as e:
            import traceback
            traceback.print_exc()
            err = repr(e)
        problems = []
        if at is not None:
            at.close()
        if srv is not None:
            srv.close()
        if env is not None:
            problems = env.close()
        if err:
            problems.insert(0, err)
        base = {"case": case["name"], "baud": case["baud"]}
        if rec is None:
            rec = {}
        base.update(rec)
        base["ok"] = not problems
        if problems:
            base["error"] = "; ".join(problems)
        base["wall_s"] = time.monotonic() - t
        # Record the pacing reference for the later cases of this run.
        if base["ok"] and kind in ("line_out", "line_in", "trivial_down",
                                   "trivial_up"):
            key = {"line_out": "out", "line_in": "in",
                   "trivial_down": "trivial-down",
                   "trivial_up": "trivial-up"}[kind]
            self.line.setdefault((self.run_no, case["baud"]), {})[key] = \
                base["goodput_Bps"]
        return base


def build_cases(bench):
    sz = bench.sizes
    S = bench.size
    cases = []

    def add(name, baud, kind, optional=False, **params):
        cases.append({"name": name, "baud": baud, "kind": kind,
                      "params": params, "optional": optional,
                      "id": "%s@%s" % (name, baud or "unpaced")})

    for baud in (115200, 921600, 0):
        add("line-out", baud, "line_out")
        if baud:
            add("line-in", baud, "line_in")
        add("trivial-down", baud, "trivial_down")
        add("trivial-up", baud, "trivial_up")
    for baud in (115200, 921600):
        add("down-1x", baud, "xfer", nconn=1, per_conn=S(sz["paced"][baud]),
            dir="down")
        add("up-1x", baud, "xfer", nconn=1, per_conn=S(sz["paced"][baud]),
            dir="up")
        add("down-12x", baud, "xfer", nconn=12,
            per_conn=S(sz["paced12"][baud]), dir="down")
        add("up-12x", baud, "xfer", nconn=12,
            per_conn=S(sz["paced12"][baud]), dir="up")
        add("bidir-1x", baud, "xfer", nconn=1,
            per_conn=S(sz["bidir"][baud]), dir="bidir")
    add("up-1x-lat20", 115200, "xfer", nconn=1, per_conn=S(sz["lat20"]),
        dir="up", latency_ms=20)
    add("down-1x", 0, "unpaced", nconn=1, per_conn=S(sz["unpaced_down"]),
        dir="down")
    add("up-1x", 0, "unpaced", nconn=1, per_conn=S(sz["unpaced_up"]),
        dir="up")
    # Direct-push access mode: no AT+QIRD round trips.  Only when named
    # (--cases down-1x-push): push mode has no backpressure, so bg96d
    # rightly closes a client that falls behind, and a Python client on
    # a busy 2-core machine sometimes does.
    add("down-1x-push", 0, "unpaced", optional=True, nconn=1,
        per_conn=S(sz["unpaced_down"]), dir="down",
        ep_extra="access_mode = push\n")
    # At a paced line a client keeps up with push mode easily.  At
    # 115200 bg96sim may queue 5.7 s of pushed data ahead of a command's
    # answer (SLOT_PUSH_HIGH_WATER); bg96d moves the deadline by it
    # (atq_push_grace), so this case also checks that.
    for baud in (115200, 921600):
        add("down-1x-push", baud, "xfer",
            nconn=1, per_conn=S(sz["paced"][baud]), dir="down",
            ep_extra="access_mode = push\n")

    # Data mode upstream: the module sends a packet per transpktsize
    # bytes and a partial one transwaittm (200 ms) after its last byte,
    # so a stream of whole packets measures the line; the wait of a
    # partial packet is a per-burst latency (latency-64-trans), not line
    # time.  Before 2026-12-04 these sizes were not whole packets and
    # that one 200 ms wait made up the whole gap to the line.
    def whole(n):
        return max(TRANSPKT, n - n % TRANSPKT)

    # Transparent access mode (issue 15): the line lent to one
    # connection, no framing at all.  Only when named (--cases
    # down-1x-trans...): a bg96d without transparent support refuses the
    # endpoint.
    trans = "access_mode = transparent\n"
    for baud in (115200, 921600):
        for d in ("down", "up"):
            add("%s-1x-trans" % d, baud, "xfer", optional=True, nconn=1,
                per_conn=whole(S(sz["paced"][baud])), dir=d,
                ep_extra=trans)
    add("up-1x-trans-lat20", 115200, "xfer", optional=True, nconn=1,
        per_conn=whole(S(sz["lat20"])), dir="up", latency_ms=20,
        ep_extra=trans)
    # Auto access mode (issue 15): buffer mode first, data mode once the
    # connection is alone (AT+QISWTMD), re-entry 1 s after an escape.
    # Only when named, like the transparent cases.
    for baud in (115200, 921600):
        for d in ("down", "up"):
            add("%s-1x-auto" % d, baud, "xfer", optional=True, nconn=1,
                per_conn=whole(S(sz["paced"][baud])), dir=d,
                ep_extra="access_mode = auto\n",
                modem_conf="transparent_reenter = 1\n", sample=True)
    add("up-1x-auto-lat20", 115200, "xfer", optional=True, nconn=1,
        per_conn=whole(S(sz["lat20"])), dir="up", latency_ms=20,
        ep_extra="access_mode = auto\n",
        modem_conf="transparent_reenter = 1\n", sample=True)
    for baud in (0, 115200, 921600):
        add("latency-64", baud, "latency")
    for baud in (115200, 921600):
        add("latency-64-push", baud, "latency", push=True,
            ep_extra="access_mode = push\n")
    for baud in (115200, 921600):
        add("latency-64-trans", baud, "latency", optional=True, trans=True,
            ep_extra=trans)
    # The same with AT+QICFG="transwaittm",0: a partial packet at once.
    add("latency-64-trans-w0", 115200, "latency", optional=True, trans=True,
        ep_extra=trans, modem_conf="transwaittm = 0\n")
    add("latency-64-auto", 115200, "latency", optional=True, trans=True,
        ep_extra="access_mode = auto\n",
        modem_conf="transparent_reenter = 1\n")
    add("stall-12x", 0, "stall")
    return cases


def select_cases(cases, patterns):
    if not patterns:
        return [c for c in cases if not c["optional"]]
    pats = [p.strip() for p in patterns.split(",") if p.strip()]
    out = []
    for c in cases:
        for p in pats:
            if c["optional"] and c["name"] not in p:
                continue
            if "@" not in p:
                p = p + "@*"
            if fnmatch.fnmatch(c["id"], p) or \
                    fnmatch.fnmatch(c["id"].replace("unpaced", "0"), p):
                out.append(c)
                break
    # The pacing reference of every baud in use is always measured first.
    bauds = {c["baud"] for c in out}
    refs = [c for c in cases if c["kind"] in ("line_out", "line_in",
            "trivial_down", "trivial_up") and c["baud"] in bauds]
    return refs + [c for c in out if c not in refs]


# ----------------------------------------------------------------------
# PPP over the same line, computed from its framing (not measured)


def ppp_ratio(mtu=1500, payload=None, tcp_ts=False, acfc=True, pfc=True,
              fcs=2, accm=0xFFFFFFFF):
    """Payload bytes over line bytes for back-to-back PPP frames (RFC
    1662 HDLC-like framing) each carrying one IPv4+TCP packet of mtu
    bytes (or of payload data bytes if given), data bytes uniformly
    random.  Per frame: one 0x7E flag (shared between back-to-back
    frames), address and control 0xFF 0x03 unless ACFC, protocol 2 bytes
    (1 with PFC), the packet, FCS (2: 16-bit, 4: 32-bit).  Every byte
    between the flags is escaped (0x7D, byte ^ 0x20) if it is 0x7E, 0x7D
    or a control character set in the ACCM: 34/256 of uniform bytes with
    the default ACCM 0xFFFFFFFF, 2/256 with ACCM 0.  The escape rate is
    applied to headers too (an approximation: 40 of 1500 bytes).  The 8N1
    start and stop bits are the same for every mode and cancel out of
    the ratio.  Returns (ratio, line bytes per frame, data bytes)."""
    hdr = 40 + (12 if tcp_ts else 0)
    data = mtu - hdr if payload is None else payload
    nctl = bin(accm & 0xFFFFFFFF).count("1")
    p_esc = (2 + nctl) / 256
    inner = (0 if acfc else 2) + (1 if pfc else 2) + hdr + data + fcs
    line = 1 + inner * (1 + p_esc)
    return data / line, line, data


def ppp_records(bauds):
    """The computed PPP rows: bulk TCP at MTU 1500 (down and up are the
    same framing; the ACKs go the other way, on the other wire of a
    full-duplex line, and are not counted against goodput), for the
    default ACCM and for ACCM 0, with and without TCP timestamps; and a
    64-byte echo round trip (one frame each way, in turn)."""
    out = []
    for baud in bauds:
        line_Bps = baud / 10
        for accm, ts in ((0xFFFFFFFF, False), (0, False),
                         (0xFFFFFFFF, True), (0, True)):
            r, fl, data = ppp_ratio(1500, tcp_ts=ts, accm=accm)
            # One delayed ACK per two segments, on the other direction.
            _, ack_line, _ = ppp_ratio(1500, payload=0, tcp_ts=ts,
                                       accm=accm)
            out.append({
                "case": "ppp-bulk", "baud": baud, "bytes": None,
                "seconds": None, "goodput_Bps": r * line_Bps,
                "line_Bps": line_Bps, "ratio": r, "bg96d_cpu_s": None,
                "bg96d_rss_kib": None, "computed": True, "mtu": 1500,
                "accm": "0x%08x" % accm, "tcp_timestamps": ts,
                "acfc": True, "pfc": True, "fcs_bytes": 2,
                "line_bytes_per_frame": fl, "data_bytes_per_frame": data,
                "ack_ratio_other_way": ack_line / 2 / fl, "ok": True})
        for accm in (0xFFFFFFFF, 0):
            _, fl, _ = ppp_ratio(payload=64, accm=accm)
            out.append({
                "case": "ppp-latency-64", "baud": baud, "bytes": None,
                "seconds": None, "goodput_Bps": None, "line_Bps": line_Bps,
                "ratio": None, "bg96d_cpu_s": None, "bg96d_rss_kib": None,
                "computed": True, "accm": "0x%08x" % accm,
                "uart_min_ms": 1000 * 2 * fl / line_Bps, "ok": True})
    return out


# ----------------------------------------------------------------------
# Aggregation and output


def median_record(recs):
    """Per-field medians of numbers; other fields from the run whose
    primary figure is the median; "runs" lists the primary figure."""
    ok = [r for r in recs if r.get("ok")]
    if not ok:
        # Every run failed: medians over the runs that have figures.
        ok = [r for r in recs if r.get("goodput_Bps") is not None or
              r.get("bg96d_rss_kib") is not None]
        if not ok:
            return recs[-1]
    prim = "p50_ms" if "p50_ms" in ok[0] else (
        "bg96d_rss_kib" if ok[0]["case"].startswith("stall") else
        "goodput_Bps")
    vals = sorted(ok, key=lambda r: r.get(prim) or 0)
    mid = dict(vals[(len(vals) - 1) // 2])
    for k, v in list(mid.items()):
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            xs = [r[k] for r in ok if isinstance(r.get(k), (int, float))]
            if xs:
                m = statistics.median(xs)
                mid[k] = int(m) if isinstance(v, int) and m == int(m) else m
    mid["runs"] = len(recs)
    if len(recs) > 1:
        mid["runs_" + prim] = [r.get(prim) for r in recs]
    if any(not r.get("ok") for r in recs):
        mid["ok"] = False
        errs = []
        for r in recs:
            e = r.get("error", "")
            if not r.get("ok") and e not in errs:
                errs.append(e)
        mid["error"] = "; ".join(errs)
        mid["failed_runs"] = sum(not r.get("ok") for r in recs)
    return mid


def rounded(rec):
    out = {}
    for k, v in rec.items():
        if isinstance(v, float):
            if "ratio" in k or k in ("jain", "line_out_busy",
                                     "line_in_busy"):
                v = round(v, 4)
            elif "_ms" in k or k.endswith("_s") or k == "seconds" \
                    or k == "cpu_s_per_MB" or k == "MBps":
                v = round(v, 4 if v < 10 else 2)
            else:
                v = round(v, 1)
        elif isinstance(v, list):
            v = [round(x, 4 if abs(x) < 10 else 1)
                 if isinstance(x, float) else x for x in v]
        out[k] = v
    return out


ORDER = ["case", "baud", "bytes", "seconds", "goodput_Bps", "line_Bps",
         "ratio", "bg96d_cpu_s", "bg96d_rss_kib"]


def json_line(rec):
    r = rounded(rec)
    d = {k: r.get(k) for k in ORDER}
    for k, v in r.items():
        if k not in d and k not in ("wall_s", "run"):
            d[k] = v
    return json.dumps(d, separators=(",", ":"))


def fmt(v, spec):
    if v is None:
        return "-"
    try:
        return spec % v
    except TypeError:
        return str(v)


def table(recs):
    hdr = ("case", "baud", "bytes", "secs", "goodput B/s", "line B/s",
           "ratio", "r/nominal", "cpu s", "rss KiB", "notes")
    rows = []
    for r in recs:
        notes = []
        if r.get("computed"):
            notes.append("computed: ACCM %s%s" % (
                r["accm"], ", TCP timestamps" if r.get("tcp_timestamps")
                else ""))
            if r.get("ack_ratio_other_way") is not None:
                notes.append("ACKs use %.3f of the other direction" %
                             r["ack_ratio_other_way"])
        if "jain" in r:
            notes.append("jain %.4f" % r["jain"])
        if "p50_ms" in r:
            notes.append("p50 %.3f ms p99 %.3f ms" % (r["p50_ms"],
                                                     r["p99_ms"]))
        if r.get("uart_min_ms"):
            notes.append("a real UART needs %.2f ms" % r["uart_min_ms"])
        if r.get("transwaittm_ms") is not None:
            notes.append("transwaittm %d ms" % r["transwaittm_ms"])
        if r.get("ratio_after_switch") is not None:
            notes.append("%.4f after the switch (%.2f s in)" % (
                r["ratio_after_switch"], r["switch_s"]))
        if "MBps" in r:
            notes.append("%.2f MB/s" % r["MBps"])
        if "cpu_s_per_MB" in r:
            notes.append("%.4f cpu s/MB" % r["cpu_s_per_MB"])
        if r.get("ratio_trivial") is not None:
            notes.append("%.3f of trivial host" % r["ratio_trivial"])
        if "down_Bps" in r:
            notes.append("down %.0f up %.0f" % (r["down_Bps"], r["up_Bps"]))
        if r.get("idle_ms_per_cmd") is not None:
            notes.append("idle %.3f ms/cmd (other way %.3f)" % (
                r["idle_ms_per_cmd"], r["other_way_ms_per_cmd"]))
        if r.get("bytes_per_qird"):
            notes.append("%.0f B/QIRD" % r["bytes_per_qird"])
        if r.get("burst_ms") is not None:
            notes.append("1000 B after idle: %.2f ms, %.4f of line, %d B "
                         "banked" % (r["burst_ms"], r["burst_ratio"],
                                     r["banked_bytes"]))
        if r.get("uart_ceiling_ratio"):
            notes.append("a real UART allows %.4f" % r["uart_ceiling_ratio"])
        if r.get("violations_before"):
            notes.append("%d violation(s) at bring-up" %
                         r["violations_before"])
        if r.get("violations"):
            notes.append("VIOLATIONS %d" % r["violations"])
        if r.get("warning"):
            notes.append("WARNING: %s" % r["warning"])
        if not r.get("ok"):
            notes.append("FAILED: %s" % r.get("error", "")[:100])
        rows.append((r["case"], str(r["baud"] or "unpaced"),
                     fmt(r.get("bytes"), "%d"), fmt(r.get("seconds"), "%.2f"),
                     fmt(r.get("goodput_Bps"), "%.0f"),
                     fmt(r.get("line_Bps"), "%.0f"),
                     fmt(r.get("ratio"), "%.4f"),
                     fmt(r.get("ratio_nominal"), "%.4f"),
                     fmt(r.get("bg96d_cpu_s"), "%.2f"),
                     fmt(r.get("bg96d_rss_kib"), "%d"), "; ".join(notes)))
    w = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
         for i, h in enumerate(hdr)]
    out = []
    line = lambda cells: "  ".join(
        c.ljust(w[i]) if i in (0, 10) else c.rjust(w[i])
        for i, c in enumerate(cells)).rstrip()
    out.append(line(hdr))
    out.append(line(["-" * x for x in w]))
    for row in rows:
        out.append(line(row))
    return "\n".join(out)


def check_targets(recs):
    by = {"%s@%s" % (r["case"], r["baud"] or "unpaced"): r for r in recs}
    out = []
    for cid, key, op, want in TARGETS:
        r = by.get(cid)
        if r is None:
            continue
        suffix = "" if r.get("ok") else "  [case failed: %s]" % \
            r.get("error", "")[:60]
        if key == "MBps|ratio":
            mb, ra = r.get("MBps"), r.get("ratio")
            met = (mb or 0) >= want[0] or (ra or 0) >= want[1]
            have = "%.2f MB/s, %.3f of the pty ceiling" % (mb or 0, ra or 0)
            wtxt = ">= %g MB/s or >= %g of the ceiling" % want
        else:
            v = r.get(key)
            if v is None:
                continue
            met = v >= want if op == ">=" else v <= want
            have = "%.4g" % v
            wtxt = "%s %g" % (op, want)
        out.append("target %-7s %-20s %-14s %s (want %s)%s" % (
            "MET" if met else "MISSED", cid, key, have, wtxt, suffix))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(
        prog="bg96d-bench",
        description="Benchmark bg96d against bg96sim (DESIGN.md 7).")
    ap.add_argument("--bg96d", default=None, help="path of bg96d")
    ap.add_argument("--bg96sim", default=None, help="path of bg96sim")
    ap.add_argument("--quick", action="store_true",
                    help="tiny sizes: a smoke run of a few seconds")
    ap.add_argument("--cases", default="",
                    help="comma-separated NAME or NAME@BAUD globs "
                    "(BAUD: 115200, 921600, unpaced or 0); see --list")
    ap.add_argument("--list", action="store_true", help="list the cases")
    ap.add_argument("--runs", type=int, default=1,
                    help="repeat every case N times, report medians")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply the transfer sizes")
    ap.add_argument("--wrap", default="",
                    help="command prefix for bg96d, e.g. 'valgrind "
                    "--tool=callgrind --callgrind-out-file=/tmp/cg.%%p'")
    ap.add_argument("--attach", default="",
                    help="command run on the live bg96d for the measured "
                    "part of each case, stopped with SIGINT; {pid} {case} "
                    "{run} {dir} are substituted, e.g. 'strace -c -f -o "
                    "{dir}/strace-{case}.txt -p {pid}'")
    ap.add_argument("--outdir", default="",
                    help="keep artefacts (kept environments) here")
    ap.add_argument("--keep", action="store_true",
                    help="keep every case's temp dir (logs)")
    ap.add_argument("--json-only", action="store_true",
                    help="print only the JSON lines")
    ap.add_argument("--raw", default="",
                    help="also write every run's record (JSON lines) here")
    args = ap.parse_args()

    def resolve(given, built, env, what):
        p = given or os.environ.get(env) or (
            built if not built.startswith("@") else None)
        if not p:
            ap.error("where is %s? give --%s (or set %s)" % (what, what,
                                                             env))
        if not os.access(p, os.X_OK):
            ap.error("%s: not an executable" % p)
        return os.path.abspath(p)

    if args.runs < 1:
        ap.error("--runs must be at least 1")
    bench_cases = None
    if not args.list:
        args.bg96d = resolve(args.bg96d, BG96D_BUILT, "BG96D", "bg96d")
        args.bg96sim = resolve(args.bg96sim, BG96SIM_BUILT, "BG96SIM",
                               "bg96sim")
    bench = Bench(args)
    bench_cases = select_cases(build_cases(bench), args.cases)
    if args.list:
        for c in build_cases(bench):
            print(c["id"] + ("  (only when named)" if c["optional"]
                             else ""))
        return 0
    if not bench_cases:
        ap.error("no case matches %r" % args.cases)

    results = {}
    interrupted = False
    t_all = time.monotonic()
    try:
        for run in range(args.runs):
            bench.run_no = run
            for c in bench_cases:
                rec = bench.run_case(c)
                rec["run"] = run + 1
                results.setdefault(c["id"], []).append(rec)
                if args.raw:
                    with open(args.raw, "a") as f:
                        f.write(json.dumps(rounded(rec),
                                           separators=(",", ":")) + "\n")
                r = rounded(rec)
                log("run %d/%d %-22s %s" % (
                    run + 1, args.runs, c["id"],
                    ("ratio %s" % r.get("ratio")) if r.get("ratio") else
                    ("goodput %s B/s" % r.get("goodput_Bps"))
                    if r.get("goodput_Bps") else
                    ("rss %s KiB" % r.get("bg96d_rss_kib")))
                    + ("" if rec["ok"] else "  FAILED: " +
                       rec.get("error", "")))
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted: reporting what ran")
    final = [median_record(results[c["id"]]) for c in bench_cases
             if c["id"] in results]
    final += ppp_records(sorted({c["baud"] for c in bench_cases
                                 if c["baud"]}))
    if not args.json_only:
        print("bg96d-bench: %d case(s), %d run(s)%s, %.0f s; ratios "
              "against the line rate measured in the same run"
              % (len(final), args.runs, " (medians)" if args.runs > 1
                 else "", time.monotonic() - t_all))
        print(table(final))
        tg = check_targets(final)
        if tg and not args.quick:
            print(tg)
    for r in final:
        print(json_line(r))
    sys.stdout.flush()
    failed = [r for r in final if not r.get("ok")]
    if failed:
        log("%d case(s) failed" % len(failed))
    return 1 if failed or interrupted else 0


if __name__ == "__main__":
    # SIGPIPE stays ignored (Python's default): sockets to bg96d must give
    # EPIPE, not kill the bench.  A closed stdout (| head) ends it quietly.
    try:
        sys.exit(main())
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
