#!/usr/bin/env python3
"""Soak test: bg96d + bg96sim under a mixed concurrent load for a set time
(default 600 s), with a fault injected every 20-60 s.

Load (one thread per worker, each looping until the deadline):
  tcp       2 workers: tcp endpoint -> loopback server; echo, upload
            (server answers the sha256) or download; 1 KiB .. 512 KiB
  udp       1 worker:  udp endpoint (SOCK_SEQPACKET) -> UDP echo server;
            sessions of self-checking datagrams
  socks     1 worker:  socks.sock CONNECT by IP and by name -> the same
            server as tcp
  listener  1 worker:  a remote TCP peer connects to the modem's listen
            port; bg96d relays it to a local Unix forward target
  service   1 worker:  remote UDP peers send to the modem's service port;
            bg96d relays to a local UDP echo server and back

Every byte is checked: stream data is generated from a per-transfer seed
that travels in a 32-byte header, so both ends can check that what they
got is an exact prefix of what was sent (and all of it, for a completed
transfer).  Datagrams carry a session id, a sequence number and their own
sha256.  Faults: reboot, pdpdeact, hangup, stall, garbage, send-fail
(bg96sim's control socket), chosen and timed from --seed.

bg96d's VmRSS and fd count are sampled every 10 s.  Verdict (exit 1 on
failure): no corrupted bytes or datagrams, no stuck transfer, RSS flat
after warm-up, fds back to the idle baseline at the end, at least
--min-completed completed transfers of every kind, service back after the
last fault, bg96sim exits 0 (no protocol violations), bg96d alive all
along and exits 0 on SIGTERM.  A JSON report goes to --report.

    python3 tests/soak/soak.py --duration 120
    meson test -C build --suite soak        (BG96_SOAK_SECONDS, default 600)
"""
import argparse
import hashlib
import json
import os
import random
import selectors
import shutil
import socket
import struct
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from harness import (fd_count, free_port, listener_endpoint,  # noqa: E402
                     rss_kib, service_endpoint, steady_fd_count,
                     tcp_endpoint, udp_endpoint, wait_for)
from soaklib import (HDR, KINDS, MAGIC, MODE_DOWN, MODE_ECHO,  # noqa: E402
                     MODE_NAMES, MODE_UP, UHDR, UMIN, SoakEnv, dgram_ok,
                     gen, make_dgram, now, read_exact, recv_checked,
                     StreamServer, UdpEchoServer)

SANITIZED = os.environ.get("BG96_SANITIZED") == "1"
RSS_SLACK_KIB = 512
STUCK_S = 120.0           # no progress for this long: the transfer is stuck
XFER_MAX_S = 600.0        # a transfer longer than this is stuck too
DGRAM_LOSS_S = 5.0        # a datagram not back after this is lost
CONNECT_TIMEOUT = 60      # endpoints' and socks' connect_timeout
SAMPLE_EVERY = 10.0
FAULT_GAP = (20.0, 60.0)

STREAM_KINDS = ("tcp", "socks", "listener")
# Which way is "up" (local -> network) for the client's bytes of a kind:
# tcp, udp and socks clients are local programs; listener and service
# clients are remote peers.
CLIENT_IS_LOCAL = {"tcp": True, "udp": True, "socks": True,
                   "listener": False, "service": False}



# ---------------------------------------------------------------- accounting

class Stats:
    """Counters per kind, shared by every thread."""

    FIELDS = ("completed", "cut", "refused", "corrupted", "stuck",
              "server_corrupted", "server_timeouts", "client_sent",
              "client_received", "server_received", "server_sent")
    UFIELDS = ("dgrams_sent", "dgrams_intact", "dgrams_lost",
               "dgrams_late", "dgrams_corrupted", "dgrams_duplicated",
               "dgrams_misrouted", "server_dgrams_corrupted")

    def __init__(self):
        self.lock = threading.Lock()
        self.k = {}
        for kind in KINDS:
            d = dict.fromkeys(self.FIELDS, 0)
            if kind in ("udp", "service"):
                d.update(dict.fromkeys(self.UFIELDS, 0))
            else:
                d["by_mode"] = {m: dict(completed=0, cut=0, refused=0)
                                for m in MODE_NAMES.values()}
            self.k[kind] = d
        self.why_refused = {kind: {} for kind in KINDS}
        self.problems = []      # text of every corruption / stuck event
        self.seen = {}          # xid or session -> bytes the server got

    def add(self, kind, **kw):
        with self.lock:
            for f, n in kw.items():
                self.k[kind][f] += n

    def refused(self, kind, why):
        with self.lock:
            self.k[kind]["refused"] += 1
            d = self.why_refused[kind]
            d[why] = d.get(why, 0) + 1

    def mode(self, kind, mode, outcome):
        with self.lock:
            self.k[kind]["by_mode"][MODE_NAMES[mode]][outcome] += 1

    def problem(self, text):
        with self.lock:
            if len(self.problems) < 200:
                self.problems.append("%.1f %s" % (now() - T0, text))
        log("PROBLEM: " + text)

    def server_saw(self, key):
        with self.lock:
            self.seen[key] = True

    def did_server_see(self, key, wait=2.0):
        end = now() + wait
        while True:
            with self.lock:
                if self.seen.pop(key, False):
                    return True
            if now() >= end:
                return False
            time.sleep(0.1)


T0 = now()
LOG_LOCK = threading.Lock()


def log(text):
    with LOG_LOCK:
        sys.stdout.write("[%7.1f] %s\n" % (now() - T0, text))
        sys.stdout.flush()


# ------------------------------------------------------------------- servers

# ------------------------------------------------------------------- clients

def pump(sock, out, expect):
    """Send out while reading; read until EOF.  Returns (sent, received,
    how) with how in eof, reset, stuck, mismatch, extra."""
    sock.setblocking(False)
    sel = selectors.DefaultSelector()
    view = memoryview(out)
    sent = 0
    rx = bytearray()
    last = t0 = now()
    events = selectors.EVENT_READ | (selectors.EVENT_WRITE if out else 0)
    sel.register(sock, events)
    try:
        while True:
            t = now()
            if t - last > STUCK_S or t - t0 > XFER_MAX_S:
                return sent, rx, "stuck"
            for _, mask in sel.select(1.0):
                if mask & selectors.EVENT_READ:
                    n0 = len(rx)
                    how = recv_checked(sock, rx, expect)
                    if how:
                        return sent, rx, how
                    if len(rx) > n0:
                        last = now()
                if mask & selectors.EVENT_WRITE and sent < len(out):
                    try:
                        sent += sock.send(view[sent:sent + 65536])
                        last = now()
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:
                        events = selectors.EVENT_READ
                        sel.modify(sock, events)
                        continue
                    if sent == len(out):
                        events = selectors.EVENT_READ
                        sel.modify(sock, events)
    finally:
        sel.close()


class Worker(threading.Thread):
    def __init__(self, soak, kind, index):
        super().__init__(daemon=True, name="%s-%d" % (kind, index))
        self.soak = soak
        self.kind = kind
        self.rng = random.Random("%d/%s/%d" % (soak.seed, kind, index))
        self.stats = soak.stats
        self.count = 0
        self.error = None

    def run(self):
        fn = {"udp": self.udp_session, "service": self.service_session}.get(
            self.kind, self.stream_transfer)
        try:
            while now() < self.soak.deadline and not self.soak.abort:
                fn()
                self.count += 1
                time.sleep(self.rng.uniform(0.0, 0.1))
        except Exception:
            self.error = traceback.format_exc()
            self.stats.problem("worker %s crashed: %s" % (self.name,
                                                          self.error))

    # ---- tcp, socks, listener

    def open_stream(self):
        """(a connected stream to the kind's far server, None) or (None,
        why it was refused)."""
        env = self.soak.env
        s = None
        try:
            if self.kind == "tcp":
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(30)
                s.connect(env.sock_path("tcp"))
                return s, None
            if self.kind == "listener":
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.settimeout(30)
                s.connect(("127.0.0.1", self.soak.lport))
                return s, None
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(30)
            s.connect(os.path.join(env.run, "socks.sock"))
            s.sendall(b"\x05\x01\x00")
            s.settimeout(STUCK_S)
            r = read_exact(s, 2)
            if r != b"\x05\x00":
                s.close()
                return None, "socks greeting %r" % r
            if self.rng.random() < 0.5:
                addr = b"\x01" + socket.inet_aton("127.0.0.1")
            else:
                addr = b"\x03" + bytes([len(b"soak.test")]) + b"soak.test"
            s.sendall(b"\x05\x01\x00" + addr +
                      struct.pack(">H", self.soak.tcp_srv.port))
            r = read_exact(s, 10)
            if len(r) != 10 or r[0] != 5 or r[1] != 0:
                s.close()
                return None, ("socks reply %d" % r[1] if len(r) > 1 else
                              "socks reply %r" % r)
            return s, None
        except socket.timeout:
            s.close()
            self.stats.add(self.kind, stuck=1)
            self.stats.problem("%s: connect/handshake timed out" % self.name)
            return None, None
        except OSError as e:
            if s is not None:
                s.close()
            return None, type(e).__name__

    def stream_transfer(self):
        kind = self.kind
        mode = self.rng.choice((MODE_ECHO, MODE_UP, MODE_DOWN))
        length = int(1024 * 2 ** self.rng.uniform(0, 9))
        seed = self.rng.getrandbits(63)
        xid = self.soak.next_id()
        data = gen(seed, length)
        hdr = HDR.pack(MAGIC, mode, KINDS.index(kind), xid, seed, length)
        out = hdr + (data if mode != MODE_DOWN else b"")
        expect = hashlib.sha256(data).digest() if mode == MODE_UP else data
        t0 = now()
        s, why = self.open_stream()
        if s is None:
            if why is not None:
                self.stats.refused(kind, why)
                self.stats.mode(kind, mode, "refused")
            time.sleep(0.5)     # an outage: do not spin
            return
        try:
            sent, rx, how = pump(s, out, expect)
        finally:
            s.close()
        self.stats.add(kind, client_sent=max(0, sent - HDR.size),
                       client_received=len(rx))
        what = "%s xid %d %s %d bytes" % (self.name, xid, MODE_NAMES[mode],
                                         length)
        if how in ("mismatch", "extra"):
            self.stats.add(kind, corrupted=1)
            self.stats.problem("%s: received bytes are not a prefix of what "
                               "was sent (%s after %d bytes)" % (
                                   what, how, len(rx)))
            self.stats.did_server_see(xid, 0)
            return
        if how == "stuck":
            self.stats.add(kind, stuck=1)
            self.stats.problem("%s: stuck (%d sent, %d received, %.0f s)" % (
                what, sent, len(rx), now() - t0))
            self.stats.did_server_see(xid, 0)
            return
        if how == "eof" and sent == len(out) and len(rx) == len(expect):
            self.stats.add(kind, completed=1)
            self.stats.mode(kind, mode, "completed")
            self.stats.did_server_see(xid, 0)
            return
        # Closed early (eof or reset): rx was checked to be a prefix.
        if rx or self.stats.did_server_see(xid):
            self.stats.add(kind, cut=1)
            self.stats.mode(kind, mode, "cut")
        else:
            self.stats.refused(kind, "closed before reaching the server "
                               "(%s)" % how)
            self.stats.mode(kind, mode, "refused")

    # ---- datagrams

    def dgram_session(self, send, recv, closed_is_eof):
        """Common loop of a udp / service session.  send(d) may raise
        socket.timeout; recv() returns bytes, b"" on EOF, or raises
        socket.timeout."""
        kind = self.kind
        session = self.soak.next_id()
        n = self.rng.randint(10, 80)
        window = self.rng.choice((1, 2, 4, 8))
        state = {}              # seq -> [status, time sent]
        nseq = 0
        last_rx = now()
        closed = False
        got_any = False
        counts = dict(sent=0, intact=0, lost=0)
        stuck = False
        while not closed:
            t = now()
            pending = [q for q, v in state.items() if v[0] == "p"]
            for q in pending:
                if t - state[q][1] > DGRAM_LOSS_S:
                    state[q][0] = "l"
                    counts["lost"] += 1
            pending = [q for q, v in state.items() if v[0] == "p"]
            if nseq >= n and not pending:
                break
            if kind == "udp" and t - last_rx > STUCK_S:
                stuck = True
                break
            if nseq < n and len(pending) < window:
                d = make_dgram(session, nseq,
                               self.rng.randint(UMIN, 1460), self.rng)
                try:
                    send(d)
                except socket.timeout:
                    continue
                except OSError:
                    closed = True
                    break
                state[nseq] = ["p", now()]
                nseq += 1
                counts["sent"] += 1
                self.stats.add(kind, dgrams_sent=1, client_sent=len(d))
                continue
            try:
                r = recv()
            except socket.timeout:
                continue
            except OSError:
                closed = True
                break
            if r == b"" and closed_is_eof:
                closed = True
                break
            last_rx = now()
            if not dgram_ok(r):
                self.stats.add(kind, dgrams_corrupted=1)
                self.stats.problem("%s session %d: corrupted datagram of %d "
                                   "bytes" % (self.name, session, len(r)))
                continue
            _, sess, q = UHDR.unpack(r[:UHDR.size])
            if sess != session or q not in state:
                self.stats.add(kind, dgrams_misrouted=1)
                self.stats.problem("%s session %d: datagram of session %d "
                                   "seq %d is not ours" % (self.name, session,
                                                           sess, q))
                continue
            got_any = True
            st = state[q][0]
            if st == "r":
                self.stats.add(kind, dgrams_duplicated=1)
                self.stats.problem("%s session %d: seq %d received twice" % (
                    self.name, session, q))
                continue
            if st == "l":
                counts["lost"] -= 1
                self.stats.add(kind, dgrams_late=1)
            state[q][0] = "r"
            counts["intact"] += 1
            self.stats.add(kind, dgrams_intact=1, client_received=len(r))
        # Whatever is still pending when the session ends is lost.
        counts["lost"] += sum(1 for v in state.values() if v[0] == "p")
        self.stats.add(kind, dgrams_lost=counts["lost"])
        if stuck:
            self.stats.add(kind, stuck=1)
            self.stats.problem("%s session %d: no datagram moved for %d s "
                               "and the session is still open" % (
                                   self.name, session, STUCK_S))
        elif not closed and counts["intact"] == counts["sent"] == n:
            self.stats.add(kind, completed=1)
        elif got_any or self.stats.did_server_see(("u", session)):
            self.stats.add(kind, cut=1)
        else:
            self.stats.refused(kind, "no datagram reached the server")
        self.stats.did_server_see(("u", session), 0)

    def udp_session(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            s.settimeout(30)
            try:
                s.connect(self.soak.env.sock_path("udp"))
            except OSError as e:
                self.stats.refused(self.kind, type(e).__name__)
                time.sleep(0.5)
                return
            s.settimeout(1.0)
            self.dgram_session(s.send, lambda: s.recv(4096), True)
        finally:
            s.close()

    def service_session(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(1.0)
        dest = ("127.0.0.1", self.soak.sport)

        def recv():
            while True:
                data, addr = s.recvfrom(4096)
                if addr == dest:
                    return data
                self.stats.add(self.kind, dgrams_misrouted=1)
                self.stats.problem("%s: datagram from %r" % (self.name, addr))
        try:
            self.dgram_session(lambda d: s.sendto(d, dest), recv, False)
        finally:
            s.close()


# ---------------------------------------------------------------- the soak

class Soak:
    def __init__(self, args):
        self.args = args
        self.seed = args.seed
        self.duration = args.duration
        self.stats = Stats()
        self.abort = False
        self.ids = 0
        self.id_lock = threading.Lock()
        self.faults = []
        self.samples = []
        self.reasons = []
        self.env = None
        self.rss = None
        self.end = {}
        self.t_load_end = 0.0
        self.baseline_fds = self.baseline_rss = None

    def next_id(self):
        with self.id_lock:
            self.ids += 1
            return self.ids

    # ---- setup

    def start(self):
        st = self.stats
        self.fwd_dir = tempfile.mkdtemp(prefix="bg96-soakfwd-")
        self.fwd_path = os.path.join(self.fwd_dir, "app.sock")
        self.tcp_srv = StreamServer(st, "tcp")
        self.unix_srv = StreamServer(st, "listener", unix_path=self.fwd_path)
        self.udp_srv = UdpEchoServer(st, "udp")
        self.svc_srv = UdpEchoServer(st, "service")
        self.lport = free_port()
        self.sport = free_port(socket.SOCK_DGRAM)
        endpoints = (
            "[socks]\nenable = yes\nconnect_timeout = %d\n\n" %
            CONNECT_TIMEOUT +
            tcp_endpoint("tcp", self.tcp_srv.port).replace(
                "connect_timeout = 30", "connect_timeout = %d" %
                CONNECT_TIMEOUT) +
            udp_endpoint("udp", self.udp_srv.port).replace(
                "connect_timeout = 30", "connect_timeout = %d" %
                CONNECT_TIMEOUT) +
            listener_endpoint("lis", self.lport, "unix:" + self.fwd_path) +
            service_endpoint("svc", self.sport, self.svc_srv.port,
                             "idle_timeout = 10"))
        pace = []
        if self.args.baud:
            pace += ["--baud", str(self.args.baud)]
        if self.args.latency_ms:
            pace += ["--latency-ms", str(self.args.latency_ms)]
        self.env = SoakEnv("soak", sim_args=["--seed", str(self.seed),
                                             "--hosts", "soak.test=127.0.0.1"]
                           + pace,
                           endpoints=endpoints, verbose=self.args.verbose)
        self.pid = self.env.daemon.pid
        self.env.wait_log("modem listens on port %d" % self.lport, 30)
        self.env.wait_log("modem listens on port %d" % self.sport, 30)
        self.baseline_fds = self.settle_fds()
        self.baseline_rss = rss_kib(self.pid)
        log("bg96d pid %d ready: idle baseline %d fds, VmRSS %d KiB" % (
            self.pid, self.baseline_fds, self.baseline_rss))

    def slots(self):
        return len(self.env.sim_cmd("stats")["slots"])

    def settle_fds(self, timeout=30):
        """Wait for the listener and service slots only, then for the fd
        count to stop moving; return it."""
        wait_for(lambda: self.slots() == 2, timeout, "2 open slots")
        return steady_fd_count(self.pid, 10, timeout)

    def alive(self):
        return self.env.daemon.poll() is None

    def modem_state(self):
        try:
            return self.env.request("status")["modem"]["state"]
        except (OSError, ValueError, KeyError):
            return None

    # ---- background threads

    def sampler(self):
        while not self.stop_sampling.is_set():
            t = now() - self.t_start
            if not self.alive():
                self.abort = True
                self.reasons.append("bg96d died at %.0f s (exit %s)" % (
                    t, self.env.daemon.returncode))
                return
            try:
                self.samples.append({"t": round(t, 1),
                                     "rss_kib": rss_kib(self.pid),
                                     "fds": fd_count(self.pid)})
            except OSError:
                pass
            self.stop_sampling.wait(SAMPLE_EVERY)

    def injector(self):
        rng = random.Random("%d/faults" % self.seed)
        t_next = self.t_start + rng.uniform(*FAULT_GAP)
        while True:
            # Every draw is made whether or not the fault runs, so the
            # schedule depends on the seed alone.
            kind = rng.choice(("reboot", "pdpdeact", "hangup", "stall",
                               "garbage", "send-fail"))
            arg = {"hangup": rng.randint(1, 4), "stall": rng.randint(2, 8),
                   "garbage": rng.randint(16, 4096),
                   "send-fail": round(rng.uniform(1.0, 4.0), 1)}.get(kind)
            if self.stop_faults.wait(max(0.0, t_next - now())):
                return
            if t_next >= self.deadline or self.abort:
                return
            cmd = kind if arg is None else "%s %s" % (kind, arg)
            if kind == "send-fail":
                cmd = "send-fail on"
            t = now() - self.t_start
            try:
                r = self.env.sim_cmd(cmd)
                if kind == "send-fail":
                    time.sleep(arg)
                    r2 = self.env.sim_cmd("send-fail off")
                    if not r2.get("ok"):
                        r = r2
            except (OSError, ValueError) as e:
                r = {"ok": False, "error": repr(e)}
            rec = {"t": round(t, 1), "kind": kind, "arg": arg,
                   "ok": bool(r.get("ok"))}
            if not r.get("ok"):
                rec["error"] = r.get("error")
            self.faults.append(rec)
            log("fault %-9s %-6s %s" % (kind, "" if arg is None else arg,
                                        "" if rec["ok"] else
                                        "(refused: %s)" % rec.get("error")))
            t_next += rng.uniform(*FAULT_GAP)

    def progress(self):
        while not self.stop_sampling.wait(60):
            with self.stats.lock:
                parts = ["%s %d/%d/%d" % (k, v["completed"], v["cut"],
                                          v["refused"])
                         for k, v in self.stats.k.items()]
            s = self.samples[-1] if self.samples else {}
            log("completed/cut/refused: %s; VmRSS %s KiB, %s fds" % (
                ", ".join(parts), s.get("rss_kib"), s.get("fds")))

    # ---- the run

    def run(self):
        self.start()
        self.t_start = now()
        self.deadline = self.t_start + self.duration
        self.stop_sampling = threading.Event()
        self.stop_faults = threading.Event()
        threads = [threading.Thread(target=self.sampler, daemon=True),
                   threading.Thread(target=self.progress, daemon=True)]
        inj = threading.Thread(target=self.injector, daemon=True)
        workers = [Worker(self, k, i) for k, n in (
            ("tcp", 2), ("udp", 1), ("socks", 1), ("listener", 1),
            ("service", 1)) for i in range(n)]
        log("load: %d workers (%s), faults every %d-%d s, %d s" % (
            len(workers), ", ".join(w.name for w in workers),
            FAULT_GAP[0], FAULT_GAP[1], self.duration))
        for t in threads + [inj] + workers:
            t.start()
        while now() < self.deadline and not self.abort:
            time.sleep(1)
        log("deadline: waiting for the transfers in flight")
        self.stop_faults.set()
        inj.join(30)
        self.env.sim_cmd("send-fail off")
        for w in workers:
            w.join(max(1.0, XFER_MAX_S + 60 - (now() - self.deadline)))
            if w.is_alive():
                self.reasons.append("worker %s did not finish" % w.name)
            if w.error:
                self.reasons.append("worker %s crashed" % w.name)
        self.t_load_end = now() - self.t_start
        self.stop_sampling.set()
        self.finish()

    def finish(self):
        """Load and faults are over: the modem must come back, every kind
        must work once more, fds must return to the baseline."""
        env = self.env
        self.end = {}
        if self.alive():
            try:
                end = now() + 120
                while self.modem_state() != "ready":
                    if now() > end:
                        raise AssertionError("modem not ready 120 s after "
                                             "the last fault")
                    time.sleep(0.5)
                self.post_check()
            except AssertionError as e:
                self.reasons.append(str(e))
            try:
                fds = self.settle_fds(60)
                end = now() + 90     # service mappings expire after 10 s
                while fds != self.baseline_fds and now() < end:
                    time.sleep(1)
                    fds = fd_count(self.pid)
                self.end["fds"] = fds
                self.end["rss_kib"] = rss_kib(self.pid)
                if fds != self.baseline_fds:
                    self.reasons.append(
                        "fds not back to the idle baseline: %d -> %d (%s)" % (
                            self.baseline_fds, fds,
                            sorted(os.listdir("/proc/%d/fd" % self.pid))))
            except (AssertionError, OSError) as e:
                self.reasons.append("idle state not reached: %s" % e)
            try:
                st = env.sim_cmd("stats")
                self.end["sim_violations"] = st.get("violation_count")
                self.end["sim_violation_list"] = st.get("violations", [])[:20]
                self.end["sim_commands"] = st.get("commands")
            except (OSError, ValueError) as e:
                self.reasons.append("bg96sim stats: %r" % e)
            self.end["ready_count"] = env.log_text().count("-> ready")
        else:
            self.reasons.append("bg96d died (exit %s)" %
                                env.daemon.returncode)
        # Stop both: bg96d within 5 s with 0, bg96sim with 0.
        try:
            rc, secs = env.stop_daemon(timeout=10.0)
            self.end["bg96d_exit"] = rc
            self.end["bg96d_stop_s"] = round(secs, 2)
            if rc != 0:
                self.reasons.append("bg96d exited %s on SIGTERM" % rc)
            elif secs > 5.0:
                self.reasons.append("bg96d took %.1f s to stop" % secs)
        except AssertionError as e:
            self.reasons.append(str(e))
        src = env.stop_sim()
        self.end["bg96sim_exit"] = src
        if src != 0:
            self.reasons.append("bg96sim exited %s (protocol violations?)" %
                                src)
        if hasattr(env, "logf"):
            env.logf.close()
        for srv in (self.tcp_srv, self.unix_srv, self.udp_srv, self.svc_srv):
            srv.close()

    def post_check(self):
        """One transfer of every kind after the faults: must complete."""
        for kind in KINDS:
            w = Worker(self, kind, 99)
            fn = {"udp": w.udp_session, "service": w.service_session}.get(
                kind, w.stream_transfer)
            k = self.stats.k[kind]
            n0 = k["completed"]
            for attempt in range(12):
                fn()
                if k["completed"] > n0 or k["stuck"]:
                    break
                time.sleep(5)
            if k["completed"] == n0:
                raise AssertionError("%s: no transfer completed after the "
                                     "faults stopped" % kind)
        log("post-check: every kind completes a transfer after the faults")

    # ---- verdict and report

    def verdict(self):
        st = self.stats.k
        for kind, k in st.items():
            bad = k["corrupted"] + k["server_corrupted"] + sum(
                k.get(f, 0) for f in ("dgrams_corrupted", "dgrams_duplicated",
                                      "dgrams_misrouted",
                                      "server_dgrams_corrupted"))
            if bad:
                self.reasons.append("%s: %d corrupted" % (kind, bad))
            if k["stuck"]:
                self.reasons.append("%s: %d stuck" % (kind, k["stuck"]))
            if k["completed"] < self.args.min_completed:
                self.reasons.append("%s: only %d completed transfers "
                                    "(want %d)" % (kind, k["completed"],
                                                   self.args.min_completed))
        # RSS flat after warm-up: max of the last third of the post-warm-up
        # load within RSS_SLACK_KIB of the max of its first third.
        warm = min(120.0, 0.2 * self.duration)
        span = self.duration - warm
        load = [s for s in self.samples if warm <= s["t"] <= self.duration]
        first = [s["rss_kib"] for s in load if s["t"] < warm + span / 3]
        last = [s["rss_kib"] for s in load if s["t"] >= warm + 2 * span / 3]
        self.rss = {"warmup_s": warm, "baseline": self.baseline_rss,
                    "first": self.samples[0]["rss_kib"] if self.samples
                    else None,
                    "first_third_max": max(first) if first else None,
                    "last_third_max": max(last) if last else None,
                    "max": max((s["rss_kib"] for s in self.samples),
                               default=None),
                    "last": self.samples[-1]["rss_kib"] if self.samples
                    else None,
                    "end_idle": self.end.get("rss_kib"),
                    "slack_kib": RSS_SLACK_KIB, "checked": not SANITIZED}
        if not first or not last:
            self.reasons.append("too few RSS samples")
        elif not SANITIZED and max(last) > max(first) + RSS_SLACK_KIB:
            self.reasons.append("VmRSS grew: max %d KiB in the first third "
                                "after warm-up, %d KiB in the last" % (
                                    max(first), max(last)))
        if self.end.get("sim_violations"):
            self.reasons.append("bg96sim counted %d protocol violations" %
                                self.end["sim_violations"])
        return not self.reasons

    def report(self, ok):
        st = self.stats.k
        up = down = 0
        for kind, k in st.items():
            a = k["server_received"] if CLIENT_IS_LOCAL[kind] else \
                k["client_received"]
            b = k["client_received"] if CLIENT_IS_LOCAL[kind] else \
                k["server_received"]
            up += a
            down += b
            k["bytes_up"] = a
            k["bytes_down"] = b
        per_kind = {}
        for f in self.faults:
            per_kind[f["kind"]] = per_kind.get(f["kind"], 0) + 1
        return {
            "seed": self.seed,
            "baud": self.args.baud, "latency_ms": self.args.latency_ms,
            "duration_s": self.duration,
            "load_ended_s": round(self.t_load_end, 1),
            "sanitized": SANITIZED,
            "workers": {"tcp": 2, "udp": 1, "socks": 1, "listener": 1,
                        "service": 1},
            "faults": {"count": len(self.faults), "per_kind": per_kind,
                       "list": self.faults},
            "bytes_up": up, "bytes_down": down,
            "kinds": st,
            "refused_why": self.stats.why_refused,
            "rss_kib": self.rss,
            "fds": {"baseline": self.baseline_fds, "end": self.end.get("fds"),
                    "max": max((s["fds"] for s in self.samples),
                               default=None)},
            "samples": self.samples,
            "end": self.end,
            "problems": self.stats.problems,
            "verdict": "pass" if ok else "fail",
            "reasons": self.reasons,
        }


def summary(rep):
    lines = []
    lines.append("bg96d soak: seed %d, %d s, verdict %s" % (
        rep["seed"], rep["duration_s"], rep["verdict"].upper()))
    lines.append("faults: %d (%s)" % (rep["faults"]["count"], ", ".join(
        "%s %d" % kv for kv in sorted(rep["faults"]["per_kind"].items()))))
    lines.append("bytes: up %.1f MiB, down %.1f MiB" % (
        rep["bytes_up"] / 1048576, rep["bytes_down"] / 1048576))
    lines.append("%-9s %9s %6s %8s %9s %6s %9s %9s" % (
        "kind", "completed", "cut", "refused", "corrupted", "stuck",
        "up MiB", "down MiB"))
    for kind, k in rep["kinds"].items():
        bad = k["corrupted"] + k["server_corrupted"] + sum(
            k.get(f, 0) for f in ("dgrams_corrupted", "dgrams_duplicated",
                                  "dgrams_misrouted",
                                  "server_dgrams_corrupted"))
        lines.append("%-9s %9d %6d %8d %9d %6d %9.1f %9.1f" % (
            kind, k["completed"], k["cut"], k["refused"], bad, k["stuck"],
            k["bytes_up"] / 1048576, k["bytes_down"] / 1048576))
    for kind in ("udp", "service"):
        k = rep["kinds"][kind]
        lines.append("%s datagrams: %d sent, %d intact, %d lost (%d late), "
                     "%d corrupted" % (kind, k["dgrams_sent"],
                                       k["dgrams_intact"], k["dgrams_lost"],
                                       k["dgrams_late"],
                                       k["dgrams_corrupted"] +
                                       k["dgrams_misrouted"] +
                                       k["dgrams_duplicated"] +
                                       k["server_dgrams_corrupted"]))
    r = rep["rss_kib"]
    lines.append("VmRSS KiB: idle %s, first third max %s, last third max "
                 "%s, max %s, end %s%s" % (
                     r["baseline"], r["first_third_max"], r["last_third_max"],
                     r["max"], r["end_idle"],
                     "" if r["checked"] else " (not checked: sanitizer)"))
    f = rep["fds"]
    lines.append("fds: idle baseline %s, max %s, end %s" % (
        f["baseline"], f["max"], f["end"]))
    e = rep["end"]
    lines.append("bg96d: %s recoveries to ready, exit %s in %s s; bg96sim "
                 "exit %s, %s violations" % (
                     e.get("ready_count"), e.get("bg96d_exit"),
                     e.get("bg96d_stop_s"), e.get("bg96sim_exit"),
                     e.get("sim_violations")))
    for reason in rep["reasons"]:
        lines.append("FAIL: " + reason)
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=int, default=int(
        os.environ.get("BG96_SOAK_SECONDS", "600")),
        help="seconds of load (default $BG96_SOAK_SECONDS or 600)")
    ap.add_argument("--seed", type=int, default=int(
        os.environ.get("BG96_SOAK_SEED", "9600")))
    ap.add_argument("--report", help="JSON report path (default: a new "
                    "temp dir, kept)")
    ap.add_argument("--baud", type=int, default=int(
        os.environ.get("BG96_SOAK_BAUD", "0")),
        help="bg96sim --baud (default $BG96_SOAK_BAUD or 0: unpaced)")
    ap.add_argument("--latency-ms", type=int, default=0,
                    help="bg96sim --latency-ms")
    ap.add_argument("--min-completed", type=int, default=10,
                    help="completed transfers required per kind")
    ap.add_argument("--verbose", type=int, default=0,
                    help="bg96d -v count (0: info)")
    ap.add_argument("--print-report", action="store_true",
                    help="also print the JSON report")
    ap.add_argument("--keep-logs", action="store_true",
                    help="keep the logs even when the run passes")
    args = ap.parse_args()
    if args.duration < 30:
        ap.error("--duration must be at least 30 s")
    if args.report is None:
        args.report = os.path.join(tempfile.mkdtemp(prefix="bg96-soakrep-"),
                                   "soak-report.json")
    log("soak: seed %d, duration %d s, report %s" % (
        args.seed, args.duration, args.report))
    soak = Soak(args)
    try:
        soak.run()
    except Exception:
        soak.reasons.append("soak crashed: " + traceback.format_exc())
        log(soak.reasons[-1])
        if soak.env is not None:
            for p in (soak.env.daemon, soak.env.sim):
                if p is not None and p.poll() is None:
                    p.kill()
                    p.wait()
    ok = soak.verdict()
    rep = soak.report(ok)
    os.makedirs(os.path.dirname(os.path.abspath(args.report)), exist_ok=True)
    with open(args.report, "w") as f:
        json.dump(rep, f, indent=1)
    # Keep the logs next to the report when something went wrong.
    if soak.env is not None:
        if not ok or args.keep_logs:
            logs = os.path.abspath(args.report) + ".logs"
            os.makedirs(logs, exist_ok=True)
            for name in (soak.env.log, soak.env.conf):
                if os.path.exists(name):
                    shutil.copy(name, logs)
            soak.env.save_sim_log(os.path.join(logs, "sim.log.tail"))
            print("logs kept in %s" % logs)
        shutil.rmtree(soak.env.dir, ignore_errors=True)
    if hasattr(soak, "fwd_dir"):
        shutil.rmtree(soak.fwd_dir, ignore_errors=True)
    if args.print_report:
        print(json.dumps(rep, indent=1))
    print("report: %s" % args.report)
    print(summary(rep))
    sys.stdout.flush()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
