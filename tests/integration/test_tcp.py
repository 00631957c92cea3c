#!/usr/bin/env python3
"""TCP endpoints end to end: client -> Unix socket -> bg96d -> bg96sim ->
real loopback server, and back.  Run one case by name, or all."""
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Env, Server, echo_handler, recv_all, sha,  # noqa
                     tcp_endpoint, wait_for, BG96D)


def case_echo_1mib():
    """1 MiB of random bytes both ways through one connection."""
    srv = Server(echo_handler)
    env = Env("echo", endpoints=tcp_endpoint("echo", srv.port))
    ok = False
    try:
        data = os.urandom(1 << 20)
        c = env.connect("echo")
        got = []

        def reader():
            got.append(recv_all(c, 120, len(data)))
        t = threading.Thread(target=reader)
        t.start()
        c.sendall(data)
        t.join(120)
        assert not t.is_alive(), "reader hung"
        assert len(got[0]) == len(data), "got %d of %d" % (len(got[0]),
                                                           len(data))
        assert sha(got[0]) == sha(data), "data corrupted"
        c.close()
        assert not srv.errors, srv.errors
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_twelve_plus_one():
    """12 concurrent connections of 128 KiB each, and a 13th that waits
    for a free slot and is then served."""
    srv = Server(echo_handler)
    env = Env("twelve", endpoints=tcp_endpoint("echo", srv.port))
    ok = False
    try:
        size = 128 * 1024
        payloads = [os.urandom(size) for _ in range(13)]
        results = [None] * 13
        clients = []
        for i in range(12):
            clients.append(env.connect("echo"))
        env.wait_log("on slot", count=12)
        thirteenth = env.connect("echo")
        # The 13th holds no slot yet: nothing of its data may come back.
        thirteenth.sendall(b"waiting")
        thirteenth.settimeout(1.0)
        try:
            early = thirteenth.recv(100)
        except socket.timeout:
            early = None
        assert early is None, "13th client served without a free slot"
        thirteenth.settimeout(120)

        def run(i, c, data):
            def reader(out):
                out.append(recv_all(c, 120, len(data)))
            out = []
            t = threading.Thread(target=reader, args=(out,))
            t.start()
            c.sendall(data)
            t.join(120)
            results[i] = out[0] if out else b""
            c.close()
        threads = [threading.Thread(target=run, args=(i, clients[i],
                                                      payloads[i]))
                   for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        for i in range(12):
            assert results[i] == payloads[i], "connection %d corrupted" % i
        # Now the 13th has a slot: its first bytes come back, then more.
        first = recv_all(thirteenth, 60, 7)
        assert first == b"waiting", first
        run(12, thirteenth, payloads[12])
        assert results[12] == payloads[12], "13th connection corrupted"
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_remote_close_in_flight():
    """The server sends 256 KiB and closes at once: every byte arrives,
    then EOF, and the slot is freed."""
    data = os.urandom(256 * 1024)

    def source(conn):
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
        return True
    srv = Server(source)
    env = Env("rclose", endpoints=tcp_endpoint("src", srv.port))
    ok = False
    try:
        c = env.connect("src")
        got = recv_all(c, 60)
        assert len(got) == len(data), "got %d of %d" % (len(got), len(data))
        assert sha(got) == sha(data)
        c.close()
        wait_for(lambda: env.sim_cmd("stats").get("slots") == [], 10,
                 "slot freed in the modem")
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_half_close():
    """Request, SHUT_WR, then the whole reply and EOF."""
    req = os.urandom(10000)
    reply = os.urandom(30000)

    def server(conn):
        got = recv_all(conn, 30, len(req))
        assert got == req, "request corrupted"
        conn.sendall(reply)
        return True
    srv = Server(server)
    env = Env("half", endpoints=tcp_endpoint("rr", srv.port))
    ok = False
    try:
        c = env.connect("rr")
        c.sendall(req)
        c.shutdown(socket.SHUT_WR)
        got = recv_all(c, 60)
        assert got == reply, "reply: got %d bytes" % len(got)
        c.close()
        assert not srv.errors, srv.errors
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_slow_reader():
    """A client that reads nothing while 4 MiB wait for it: bg96d stays
    small (backpressure reaches the server), then all arrives intact."""
    data = os.urandom(4 << 20)

    def source(conn):
        conn.sendall(data)
        return True
    srv = Server(source)
    env = Env("slow", endpoints=tcp_endpoint("src", srv.port))
    ok = False
    try:
        c = env.connect("src")
        time.sleep(3)
        rss = env.rss_kib()
        sanitized = os.environ.get("BG96_SANITIZED") == "1"
        if not sanitized:
            assert rss < 8 * 1024, "bg96d VmRSS %d KiB" % rss
        got = recv_all(c, 120, len(data))
        assert len(got) == len(data), "got %d of %d" % (len(got), len(data))
        assert sha(got) == sha(data)
        print("VmRSS while stalled: %d KiB" % rss)
        c.close()
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_not_ready():
    """A client that connects while the modem is still registering waits
    and is then served."""
    srv = Server(echo_handler)
    env = Env("notready", sim_args=["--register-delay-ms", "3000"],
              endpoints=tcp_endpoint("echo", srv.port), wait_ready=False)
    ok = False
    try:
        wait_for(lambda: os.path.exists(env.sock_path("echo")), 10,
                 "socket file")
        c = env.connect("echo")
        assert "-> ready" not in env.log_text(), "modem ready too early"
        c.sendall(b"hello through a modem that was not ready")
        got = recv_all(c, 60, 40)
        assert got == b"hello through a modem that was not ready", got
        c.close()
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_sigterm():
    """SIGTERM with connections open: every slot closed with QICLOSE,
    socket files removed, clients see EOF, exit 0 within 5 s."""
    srv = Server(echo_handler)
    env = Env("term", endpoints=tcp_endpoint("echo", srv.port))
    ok = False
    try:
        clients = [env.connect("echo") for _ in range(3)]
        for c in clients:
            c.sendall(b"x")
            assert recv_all(c, 30, 1) == b"x"
        assert len(env.sim_cmd("stats")["slots"]) == 3
        rc, took = env.stop_daemon(6)
        assert rc == 0, "exit status %s" % rc
        assert took < 5, "took %.1f s" % took
        assert not os.path.exists(env.sock_path("echo")), "socket file left"
        for c in clients:
            assert recv_all(c, 5) == b"", "client not closed"
        assert env.sim_cmd("stats")["slots"] == [], "slots left open"
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_connect_refused():
    """A destination that refuses: the client is closed, the slot freed."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()        # nothing listens there now
    env = Env("refused", endpoints=tcp_endpoint("nowhere", port))
    ok = False
    try:
        c = env.connect("nowhere")
        assert recv_all(c, 30) == b"", "expected EOF"
        env.wait_log("connect failed")
        wait_for(lambda: env.sim_cmd("stats").get("slots") == [], 10,
                 "slot freed")
        ok = True
    finally:
        env.close(ok)


def case_second_instance():
    """A socket file that answers means another bg96d: exit 1; a stale
    one (nobody listening) is replaced."""
    srv = Server(echo_handler)
    env = Env("twice", endpoints=tcp_endpoint("echo", srv.port))
    ok = False
    try:
        r = subprocess.run([BG96D, "-c", env.conf], timeout=10,
                           stderr=subprocess.PIPE)
        assert r.returncode == 1, "second instance exit %d" % r.returncode
        assert b"another bg96d" in r.stderr, r.stderr
        # The first instance still works.
        c = env.connect("echo")
        c.sendall(b"ping")
        assert recv_all(c, 30, 4) == b"ping"
        c.close()
        # Kill it hard: the socket file stays behind, stale.
        env.daemon.kill()
        env.daemon.wait()
        assert os.path.exists(env.sock_path("echo"))
        env.start_daemon()
        env.wait_ready(count=2)
        c = env.connect("echo")
        c.sendall(b"pong")
        assert recv_all(c, 30, 4) == b"pong"
        c.close()
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_idle_timeout():
    """idle_timeout closes a quiet connection (within 1.25 periods), not a
    busy one."""
    srv = Server(echo_handler)
    env = Env("idle", endpoints=tcp_endpoint("echo", srv.port,
                                             "idle_timeout = 2"))
    ok = False
    try:
        quiet = env.connect("echo")
        busy = env.connect("echo")
        t0 = time.monotonic()
        closed_at = []

        def watch():                     # when does the quiet one end?
            if recv_all(quiet, 10) == b"":
                closed_at.append(time.monotonic() - t0)
        w = threading.Thread(target=watch)
        w.start()
        for _ in range(12):              # 3.6 s of traffic on busy
            busy.sendall(b"tick")
            assert recv_all(busy, 10, 4) == b"tick"
            time.sleep(0.3)
        w.join(10)
        assert closed_at, "quiet one not closed"
        # idle_timeout is 2 s, checked in quarters: 2..2.5 s, plus slack.
        assert 1.9 < closed_at[0] < 3.2, "closed after %.1f s" % closed_at[0]
        busy.sendall(b"alive")
        assert recv_all(busy, 10, 5) == b"alive"
        busy.close()
        quiet.close()
        ok = True
    finally:
        srv.close()
        env.close(ok)


CASES = {
    "echo_1mib": case_echo_1mib,
    "twelve_plus_one": case_twelve_plus_one,
    "remote_close_in_flight": case_remote_close_in_flight,
    "half_close": case_half_close,
    "slow_reader": case_slow_reader,
    "not_ready": case_not_ready,
    "sigterm": case_sigterm,
    "connect_refused": case_connect_refused,
    "second_instance": case_second_instance,
    "idle_timeout": case_idle_timeout,
}

if __name__ == "__main__":
    from harness import run_cases
    run_cases(CASES, sys.argv)
