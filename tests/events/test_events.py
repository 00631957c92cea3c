#!/usr/bin/env python3
"""The event stream, <socket_dir>/events.sock, and `bg96ctl events`, end
to end: real bg96sim and bg96d.  Run one case by name, or all."""
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from harness import (Env, Server, echo_handler, echo_once,  # noqa: E402
                     free_port, recv_all, tcp_endpoint, wait_for)

BG96CTL = os.environ.get("BG96CTL", "build/src/bg96ctl")
SANITIZED = os.environ.get("BG96_SANITIZED") == "1"

QUEUE_MAX = 256         # EVENTS_QUEUE_MAX
CLIENTS_MAX = 16        # EVENTS_CLIENTS_MAX


def ev_path(env):
    return os.path.join(env.run, "events.sock")


class Sub:
    """A subscriber of events.sock: one parsed event per line."""

    def __init__(self, env, rcvbuf=None):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(30)
        self.s.connect(ev_path(env))
        self.buf = b""
        self.seen = []

    def next(self, timeout=30):
        """The next event, or None at EOF; fails on timeout."""
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("no event within %s s; seen %s" %
                                     (timeout, self.names()[-20:]))
            self.s.settimeout(left)
            try:
                b = self.s.recv(65536)
            except socket.timeout:
                continue
            if not b:
                return None
            self.buf += b
        line, self.buf = self.buf.split(b"\n", 1)
        e = json.loads(line)
        assert isinstance(e.get("event"), str), line
        assert e["event"] == "error" or isinstance(e.get("ts"), str) and e["ts"].endswith("Z") and \
            len(e["ts"]) == len("2026-12-04T04:18:03.123Z"), line
        self.seen.append(e)
        return e

    def until(self, name, timeout=30, **match):
        """Events up to and including the first `name` whose members
        match; fails on EOF or timeout."""
        got = []
        end = time.monotonic() + timeout
        while True:
            e = self.next(max(0.1, end - time.monotonic()))
            if e is None:
                raise AssertionError("EOF waiting for %s; seen %s" %
                                     (name, [x["event"] for x in got]))
            got.append(e)
            if e["event"] == name and all(e.get(k) == v
                                          for k, v in match.items()):
                return got

    def names(self):
        return [e["event"] for e in self.seen]

    def close(self):
        self.s.close()


def subsequence(names, want):
    """Is want, in order, a subsequence of names?"""
    it = iter(names)
    return all(w in it for w in want)


def case_lifecycle():
    """A connection's life (opened with endpoint, slot, peer; closed with
    both byte counts, duration and why), a reload, then a modem reboot:
    recovery, every state on the way back, the PDP address, ready, in
    order; a connection open across the reboot is closed with a reason."""
    srv = Server(echo_handler)
    env = Env("ev-life", endpoints=tcp_endpoint("echo", srv.port))
    ok = False
    try:
        sub = Sub(env)
        h = sub.next()
        assert h["event"] == "hello" and h["state"] == "ready", h
        assert h["ip"] == "10.44.0.17" and h["registration"] in (1, 5), h

        echo_once(env, "echo", 5000)
        got = sub.until("connection_closed")
        o = [e for e in got if e["event"] == "connection_opened"]
        assert len(o) == 1, got
        o, c = o[0], got[-1]
        peer = "127.0.0.1:%d" % srv.port
        assert o["endpoint"] == "echo" and o["peer"] == peer, o
        assert 0 <= o["slot"] < 12, o
        assert c["endpoint"] == "echo" and c["slot"] == o["slot"] and \
            c["client"] == o["client"] and c["peer"] == peer, c
        assert c["bytes_up"] == 5000 and c["bytes_down"] == 5000, c
        assert isinstance(c["duration_ms"], int) and \
            0 <= c["duration_ms"] < 30000, c
        assert c["why"], c
        assert o["ts"] <= c["ts"], (o, c)

        os.kill(env.daemon.pid, signal.SIGHUP)
        r = sub.until("reload")[-1]
        assert r["ok"] is True and r["config"] == env.conf, r

        # A client holding a slot across the reboot.
        held = env.connect("echo")
        held.sendall(b"x")
        assert recv_all(held, 30, 1) == b"x"
        o2 = sub.until("connection_opened")[-1]
        assert env.sim_cmd("reboot")["ok"]
        got = sub.until("state", timeout=60, state="ready")
        names = [e["event"] for e in got]
        want = ["recovery", "connection_closed", "state", "state", "state",
                "state", "pdp", "state"]
        assert subsequence(names, want), names
        rec = got[names.index("recovery")]
        assert rec["action"] == "rebooted" and rec["why"], rec
        states = [e["state"] for e in got if e["event"] == "state"]
        assert states == ["probing", "initializing", "registering",
                          "activating", "ready"], states
        froms = [e["from"] for e in got if e["event"] == "state"]
        assert froms == ["ready", "probing", "initializing", "registering",
                         "activating"], froms
        closed = [e for e in got if e["event"] == "connection_closed"]
        assert len(closed) == 1 and closed[0]["client"] == o2["client"] \
            and closed[0]["bytes_up"] == 1 and \
            closed[0]["bytes_down"] == 1, closed
        # The client is closed before the modem comes back.
        assert names.index("connection_closed") < names.index("pdp"), names
        pdp = got[names.index("pdp")]
        assert pdp["ip"] == "10.44.0.17" and pdp["context_id"] == 1, pdp
        held.close()

        # Service resumes, and so do the events.
        echo_once(env, "echo", 100)
        c = sub.until("connection_closed")[-1]
        assert c["bytes_up"] == 100 and c["bytes_down"] == 100, c
        assert [e["ts"] for e in sub.seen] == sorted(
            e["ts"] for e in sub.seen), "timestamps out of order"
        rc, _ = env.stop_daemon()
        assert rc == 0, rc
        while sub.next(10) is not None:
            pass
        sub.close()
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_transparent_and_failed():
    """A transparent connection's bytes are counted too; a connection
    that cannot open is connection_failed with the destination and why,
    and never connection_opened."""
    srv = Server(echo_handler)
    dead = free_port()
    env = Env("ev-tr", endpoints=tcp_endpoint(
        "tr", srv.port, "access_mode = transparent\n") +
        tcp_endpoint("dead", dead))
    ok = False
    try:
        sub = Sub(env)
        assert sub.next()["event"] == "hello"
        echo_once(env, "tr", 20000)
        got = sub.until("connection_closed")
        assert [e["event"] for e in got] == ["connection_opened",
                                             "connection_closed"], got
        c = got[-1]
        assert c["endpoint"] == "tr" and c["bytes_up"] == 20000 and \
            c["bytes_down"] == 20000, c
        cl = env.connect("dead", timeout=60)
        try:
            assert cl.recv(10) == b""
        except ConnectionResetError:
            pass
        cl.close()
        got = sub.until("connection_failed", timeout=60)
        assert "connection_opened" not in [e["event"] for e in got], got
        f = got[-1]
        assert f["endpoint"] == "dead" and \
            f["peer"] == "127.0.0.1:%d" % dead and f["why"], f
        sub.close()
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_registration():
    """Registration lost and back (URCs) are events, and the operator the
    radio poll reads is one once it is known."""
    env = Env("ev-reg")
    ok = False
    try:
        sub = Sub(env)
        h = sub.next()
        assert h["event"] == "hello", h
        if h["operator"] is None:
            o = sub.until("operator", timeout=60)[-1]
            assert o["operator"] == "bg96sim", o
        else:
            assert h["operator"] == "bg96sim", h
        assert env.sim_cmd("deregister 3")["ok"]
        lost = sub.until("registration", timeout=30)[-1]
        assert lost["registered"] is False and lost["stat"] in (0, 2, 4), \
            lost
        back = sub.until("registration", timeout=30)[-1]
        assert back["registered"] is True and back["stat"] in (1, 5) and \
            back["status"] in ("home", "roaming"), back
        sub.close()
        ok = True
    finally:
        env.close(ok)


def case_slow_subscriber():
    """A subscriber that never reads: the daemon's RSS stays within a
    bound while thousands of events go by, another subscriber gets each
    event promptly, a client's echo still works; once it reads, it gets
    its queue, {"event":"overflow","dropped":N} with the exact count of
    what it missed, and then the stream again."""
    if SANITIZED:
        # ASan keeps freed memory in quarantine: RSS would measure that.
        os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + \
            ":quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
    srv = Server(echo_handler)
    env = Env("ev-slow", endpoints=tcp_endpoint("echo", srv.port))
    ok = False
    n_events = 8000
    try:
        pid = env.daemon.pid
        lazy = Sub(env, rcvbuf=4096)
        reader = Sub(env)
        assert reader.next()["event"] == "hello"

        def reload_wait():
            os.kill(pid, signal.SIGHUP)
            t0 = time.monotonic()
            reader.until("reload", timeout=10)
            return time.monotonic() - t0

        # Warm up: the kernel's socket buffer fills, the queue fills.
        for _ in range(1000):
            reload_wait()
        rss0 = env.rss_kib()
        worst = 0.0
        for i in range(n_events):
            worst = max(worst, reload_wait())
            if i == n_events // 2:
                echo_once(env, "echo", 4096)
        rss1 = env.rss_kib()
        echo_once(env, "echo", 4096)
        worst = max(worst, reload_wait())   # after the echo's events
        assert worst < 2.0, "an event took %.3f s to arrive" % worst
        # The queue holds at most QUEUE_MAX short lines; thousands of
        # events kept in memory would take far more than this.
        grown = rss1 - rss0
        print("RSS %d -> %d KiB over %d events; slowest event %.1f ms" % (
            rss0, rss1, n_events, worst * 1000))
        assert grown < 600, "RSS grew by %d KiB over %d events" % (
            grown, n_events)
        # Count from the first reload on, which both have (an event
        # between the two connects would be the lazy one's only).
        first = [e["event"] for e in reader.seen].index("reload")
        total = len(reader.seen) - first

        got = lazy.until("overflow", timeout=30)
        assert got[0]["event"] == "hello", got[0]
        dropped = got[-1]["dropped"]
        body = got[1:-1]
        body = body[[e["event"] for e in body].index("reload"):]
        assert "overflow" not in [e["event"] for e in body], \
            "more than one gap"
        # What it got and what it was told it missed is everything.
        assert len(body) + dropped == total, (len(body), dropped, total)
        assert dropped >= n_events, (dropped, n_events)
        # The queue's part (a full one) came before the gap, in order.
        assert len(body) >= QUEUE_MAX, len(body)
        ts = [e["ts"] for e in body]
        assert ts == sorted(ts), "events out of order"
        # It goes on.
        os.kill(pid, signal.SIGHUP)
        lazy.until("reload", timeout=10)
        lazy.close()
        reader.close()
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_subscribers():
    """At most 16 subscribers: the 17th gets an error line and EOF; one
    that leaves makes room.  A subscriber's input is ignored; its EOF
    closes it.  The socket file has control.sock's mode, and goes with
    [control] enable = no."""
    env = Env("ev-subs", extra_conf="[control]\nmode = 0640\n")
    ok = False
    try:
        st = os.stat(ev_path(env))
        assert stat.S_ISSOCK(st.st_mode), "not a socket"
        assert stat.S_IMODE(st.st_mode) == 0o640, \
            "mode %o" % stat.S_IMODE(st.st_mode)
        subs = [Sub(env) for _ in range(CLIENTS_MAX)]
        for s in subs:
            assert s.next()["event"] == "hello"
        extra = Sub(env)
        e = extra.next()
        assert e == {"event": "error",
                     "error": "too many event subscribers"}, e
        assert extra.next() is None
        extra.close()
        # Input is thrown away; the stream goes on.
        subs[0].s.sendall(b"status\n" * 1000)
        os.kill(env.daemon.pid, signal.SIGHUP)
        for s in subs:
            assert s.until("reload")[-1]["ok"]
        # EOF from a subscriber frees its place.
        subs[1].s.shutdown(socket.SHUT_WR)
        assert subs[1].next() is None
        subs[1].close()

        def room():
            s = Sub(env)
            e = s.next()
            s.close()
            return e["event"] == "hello"
        wait_for(room, 10, "a free subscriber place")
        # enable = no: the file goes (and bg96ctl says it cannot reach).
        with open(env.conf) as f:
            text = f.read()
        with open(env.conf, "w") as f:
            f.write(text.replace("mode = 0640", "mode = 0640\nenable = no"))
        os.kill(env.daemon.pid, signal.SIGHUP)
        wait_for(lambda: not os.path.exists(ev_path(env)), 10,
                 "events.sock removed")
        r = subprocess.run([BG96CTL, "-s", os.path.join(env.run,
                            "control.sock"), "events"], capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL)
        assert r.returncode == 1 and "events.sock" in r.stderr, r
        for s in subs:
            s.close()
        ok = True
    finally:
        env.close(ok)


def case_reload_failed():
    """A reload that fails is an event too (ok false, the error)."""
    env = Env("ev-reloadfail")
    ok = False
    try:
        sub = Sub(env)
        assert sub.next()["event"] == "hello"
        with open(env.conf, "a") as f:
            f.write("\n[daemon]\nlog_level = loud\n")
        os.kill(env.daemon.pid, signal.SIGHUP)
        r = sub.until("reload")[-1]
        assert r["ok"] is False and r["error"], r
        sub.close()
        ok = True
    finally:
        env.close(ok)


def bg96ctl_events(env, *args):
    return subprocess.Popen([BG96CTL, "-s", os.path.join(env.run,
                             "control.sock"), "events"] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, stdin=subprocess.DEVNULL)


def case_bg96ctl():
    """bg96ctl events: one readable line per event (time, name,
    key=value), --json the raw lines; both exit 0 when bg96d stops."""
    srv = Server(echo_handler)
    env = Env("ev-ctl", endpoints=tcp_endpoint("echo", srv.port))
    ok = False
    try:
        sub = Sub(env)
        assert sub.next()["event"] == "hello"
        text = bg96ctl_events(env)
        raw = bg96ctl_events(env, "--json")
        # Each prints its hello once it is subscribed.
        first_text = text.stdout.readline()
        first_raw = raw.stdout.readline()
        assert " hello " in first_text and "state=ready" in first_text, \
            first_text
        assert json.loads(first_raw)["event"] == "hello", first_raw
        echo_once(env, "echo", 300)
        sub.until("connection_closed")
        os.kill(env.daemon.pid, signal.SIGHUP)
        sub.until("reload")
        rc, _ = env.stop_daemon()
        assert rc == 0, rc
        out, err = text.communicate(timeout=30)
        assert text.returncode == 0, (text.returncode, err)
        lines = (first_text + out).splitlines()
        names = [ln.split()[1] for ln in lines]
        assert subsequence(names, ["hello", "connection_opened",
                                   "connection_closed", "reload"]), out
        closed = lines[names.index("connection_closed")]
        assert closed.split()[0].endswith("Z"), closed
        for kv in ("endpoint=echo", "bytes_up=300", "bytes_down=300",
                   "peer=127.0.0.1:%d" % srv.port, "why=\""):
            assert kv in closed, (kv, closed)
        assert "ok=yes" in lines[names.index("reload")], out
        out, err = raw.communicate(timeout=30)
        assert raw.returncode == 0, (raw.returncode, err)
        evs = [json.loads(ln) for ln in (first_raw + out).splitlines()]
        names = [e["event"] for e in evs]
        assert subsequence(names, ["hello", "connection_opened",
                                   "connection_closed", "reload"]), names
        c = evs[names.index("connection_closed")]
        assert c["bytes_up"] == 300 and c["bytes_down"] == 300, c
        sub.close()
        ok = True
    finally:
        srv.close()
        env.close(ok)


CASES = {name[5:]: fn for name, fn in globals().items()
         if name.startswith("case_")}


if __name__ == "__main__":
    from harness import run_cases
    run_cases(CASES, sys.argv)
