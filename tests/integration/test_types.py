#!/usr/bin/env python3
"""Every modem service type and access mode, end to end: udp endpoints
(SOCK_SEQPACKET), tcp-listener, udp-service, direct push, and the shared
slot table."""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Env, Server, echo_handler, free_port,  # noqa
                     listener_endpoint, recv_all, run_cases,
                     service_endpoint, sha, tcp_endpoint, UdpServer,
                     udp_endpoint, wait_for)


class UdpEcho(UdpServer):
    """A loopback UDP server that answers each datagram with prefix+data
    and remembers which source addresses it saw."""

    def __init__(self, prefix=b""):
        self.prefix = prefix
        self.peers = []
        super().__init__()

    def datagram(self, data, addr):
        self.peers.append(addr)
        self.sock.sendto(self.prefix + data, addr)


def seqpacket(env, name):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(30)
    s.connect(env.sock_path(name))
    return s


def case_udp_datagrams():
    """One message = one datagram each way, boundaries kept, up to 1460."""
    srv = UdpEcho()
    env = Env("udp", endpoints=udp_endpoint("coap", srv.port))
    ok = False
    try:
        c = seqpacket(env, "coap")
        for size in (1, 2, 100, 1000, 1460, 7, 1460):
            msg = os.urandom(size)
            c.send(msg)
            got = c.recv(4096)
            assert got == msg, "datagram of %d came back as %d" % (
                size, len(got))
        # Several in flight: each comes back whole, in order.
        msgs = [os.urandom(50 + i) for i in range(8)]
        for m in msgs:
            c.send(m)
        for m in msgs:
            assert c.recv(4096) == m
        c.close()
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_udp_too_large():
    """A datagram over 1460 bytes is refused: the client is closed."""
    srv = UdpEcho()
    env = Env("udpbig", endpoints=udp_endpoint("coap", srv.port))
    ok = False
    try:
        c = seqpacket(env, "coap")
        c.send(b"fits")
        assert c.recv(100) == b"fits"
        c.send(os.urandom(1461))
        try:
            r = c.recv(100)
        except ConnectionResetError:
            r = b""
        assert r == b"", "expected the session to end, got %r" % r
        env.wait_log("datagram too large")
        wait_for(lambda: env.sim_cmd("stats")["slots"] == [], 10,
                 "slot freed")
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_listener():
    """A remote client connects to the modem's listener; bg96d relays it
    to the forward target (tcp and unix), 256 KiB both ways intact."""
    srv = Server(echo_handler)
    lport = free_port()
    tmpdir = "/tmp/bg96-fwd-%d" % os.getpid()
    os.makedirs(tmpdir, exist_ok=True)
    upath = os.path.join(tmpdir, "app.sock")
    usrv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    usrv.bind(upath)
    usrv.listen(4)
    lport2 = free_port()

    def unix_echo():
        conn, _ = usrv.accept()
        conn.settimeout(60)
        echo_handler(conn)
        conn.close()
    threading.Thread(target=unix_echo, daemon=True).start()
    env = Env("listen", endpoints=listener_endpoint(
        "in", lport, "tcp:127.0.0.1:%d" % srv.port) + listener_endpoint(
        "in2", lport2, "unix:" + upath))
    ok = False
    try:
        env.wait_log("modem listens on port %d" % lport)
        env.wait_log("modem listens on port %d" % lport2)
        for port in (lport, lport2):
            data = os.urandom(256 * 1024)
            c = socket.create_connection(("127.0.0.1", port), 10)
            got = []
            t = threading.Thread(target=lambda: got.append(
                recv_all(c, 60, len(data))))
            t.start()
            c.sendall(data)
            t.join(60)
            assert got and sha(got[0]) == sha(data), "relay corrupted"
            c.close()
        ok = True
    finally:
        srv.close()
        usrv.close()
        os.unlink(upath)
        os.rmdir(tmpdir)
        env.close(ok)


def case_listener_refused_and_reopened():
    """Forward target refusing: the modem connection is closed.  After a
    modem reboot the listener comes back by itself."""
    lport = free_port()
    dead = free_port()          # nothing listens there
    env = Env("listen2", endpoints=listener_endpoint(
        "in", lport, "tcp:127.0.0.1:%d" % dead))
    ok = False
    try:
        env.wait_log("modem listens on port %d" % lport)
        c = socket.create_connection(("127.0.0.1", lport), 10)
        assert recv_all(c, 30) == b"", "expected the connection closed"
        c.close()
        env.wait_log("forward target")
        wait_for(lambda: len(env.sim_cmd("stats")["slots"]) == 1, 10,
                 "only the listener slot left")
        env.sim_cmd("reboot")
        env.wait_ready(count=2)
        env.wait_log("modem listens on port %d" % lport, count=2)
        c = socket.create_connection(("127.0.0.1", lport), 10)
        assert recv_all(c, 30) == b""
        c.close()
        ok = True
    finally:
        env.close(ok)


def case_listener_max_connections():
    """max_connections on a listener: the extra accepted one is closed."""
    srv = Server(echo_handler)
    lport = free_port()
    env = Env("listen3", endpoints=listener_endpoint(
        "in", lport, "tcp:127.0.0.1:%d" % srv.port, "max_connections = 1"))
    ok = False
    try:
        env.wait_log("modem listens on port %d" % lport)
        a = socket.create_connection(("127.0.0.1", lport), 10)
        a.sendall(b"first")
        assert recv_all(a, 30, 5) == b"first"
        b = socket.create_connection(("127.0.0.1", lport), 10)
        assert recv_all(b, 30) == b"", "second connection not refused"
        env.wait_log("max_connections (1) reached")
        a.sendall(b"still")
        assert recv_all(a, 30, 5) == b"still"
        a.close()
        b.close()
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_udp_service():
    """Each remote peer gets its own local socket; answers go back to the
    right peer; mappings expire after idle_timeout."""
    srv = UdpEcho(prefix=b"re:")
    lport = free_port(socket.SOCK_DGRAM)
    env = Env("svc", endpoints=service_endpoint("coap", lport, srv.port,
                                                "idle_timeout = 2"))
    ok = False
    try:
        env.wait_log("modem listens on port %d" % lport)
        peers = []
        for i in range(3):
            p = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            p.settimeout(10)
            peers.append(p)
        for rnd in range(2):
            for i, p in enumerate(peers):
                msg = b"peer %d round %d " % (i, rnd) + os.urandom(i * 300)
                p.sendto(msg, ("127.0.0.1", lport))
                got, addr = p.recvfrom(4096)
                assert got == b"re:" + msg, (i, got[:40])
                assert addr == ("127.0.0.1", lport), addr
        # Three peers, one local socket each, reused across rounds.
        assert len(set(srv.peers)) == 3, srv.peers
        # After idle_timeout the mapping goes; a new one is made.
        time.sleep(3.5)
        peers[0].sendto(b"again", ("127.0.0.1", lport))
        got, _ = peers[0].recvfrom(4096)
        assert got == b"re:again"
        assert len(set(srv.peers)) == 4, "mapping did not expire"
        for p in peers:
            p.close()
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_push_tcp():
    """access_mode = push: 1 MiB both ways intact."""
    srv = Server(echo_handler)
    env = Env("push", endpoints=tcp_endpoint("echo", srv.port,
                                             "access_mode = push"))
    ok = False
    try:
        data = os.urandom(1 << 20)
        c = env.connect("echo")
        got = []
        t = threading.Thread(target=lambda: got.append(
            recv_all(c, 120, len(data))))
        t.start()
        c.sendall(data)
        t.join(120)
        assert got and sha(got[0]) == sha(data), "push data corrupted"
        c.close()
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_push_stalled_reader():
    """Direct push has no backpressure: a client that reads nothing is
    disconnected once it is BRIDGE_PUSH_MAX behind; memory stays bounded
    and the bytes it did get are the server's bytes, in order."""
    data = os.urandom(4 << 20)

    def source(conn):
        try:
            conn.sendall(data)
        except OSError:
            pass
        return True
    srv = Server(source)
    env = Env("pushstall", endpoints=tcp_endpoint("src", srv.port,
                                                  "access_mode = push"))
    ok = False
    try:
        c = env.connect("src")
        env.wait_log("too slow for direct push", timeout=60)
        rss = env.rss_kib()
        if os.environ.get("BG96_SANITIZED") != "1":
            assert rss < 8 * 1024, "VmRSS %d KiB" % rss
        try:
            got = recv_all(c, 30)
        except ConnectionResetError:
            got = b""
        assert data.startswith(got), "bytes delivered are not a prefix"
        assert len(got) < len(data)
        c.close()
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_push_udp():
    """access_mode = push on a udp endpoint."""
    srv = UdpEcho()
    env = Env("pushudp", endpoints=udp_endpoint("coap", srv.port,
                                                "access_mode = push"))
    ok = False
    try:
        c = seqpacket(env, "coap")
        for size in (1, 500, 1460):
            msg = os.urandom(size)
            c.send(msg)
            assert c.recv(4096) == msg
        c.close()
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_slot_accounting():
    """Listener, udp-service and clients share the 12 slots; the endpoint
    quota holds; a waiting client is served when a slot frees."""
    srv = Server(echo_handler)
    usrv = UdpEcho()
    lport = free_port()
    sport = free_port(socket.SOCK_DGRAM)
    env = Env("slots", endpoints=listener_endpoint(
        "in", lport, "tcp:127.0.0.1:%d" % srv.port) + service_endpoint(
        "svc", sport, usrv.port) + tcp_endpoint("a", srv.port) +
        tcp_endpoint("b", srv.port, "max_connections = 2"))
    ok = False
    try:
        env.wait_log("modem listens on port %d" % lport)
        env.wait_log("modem listens on port %d" % sport)
        clients = [env.connect("a") for _ in range(10)]
        for c in clients:
            c.sendall(b"x")
            assert recv_all(c, 30, 1) == b"x"
        assert len(env.sim_cmd("stats")["slots"]) == 12
        # Every slot busy: a client of b waits, then gets one.
        w = env.connect("b")
        w.sendall(b"wait")
        w.settimeout(1.0)
        try:
            early = w.recv(10)
        except socket.timeout:
            early = None
        assert early is None, "served without a free slot"
        clients.pop().close()
        assert recv_all(w, 30, 4) == b"wait"
        # b's quota is 2: with slots free, the third b client waits.
        for c in clients[:3]:
            c.close()
        w2 = env.connect("b")
        w2.sendall(b"two")
        assert recv_all(w2, 30, 3) == b"two"
        w3 = env.connect("b")
        w3.sendall(b"three")
        w3.settimeout(1.0)
        try:
            early = w3.recv(10)
        except socket.timeout:
            early = None
        assert early is None, "max_connections not honoured"
        w.close()
        w3.settimeout(30)
        assert recv_all(w3, 30, 5) == b"three"
        for c in clients[3:] + [w2, w3]:
            c.close()
        ok = True
    finally:
        srv.close()
        usrv.close()
        env.close(ok)


def case_listener_close_and_full():
    """Close from either side; and with every slot busy, a new remote
    client gets the modem's "incoming full", which bg96d logs and counts."""
    got_eof = []

    def local(conn):
        data = b""
        while True:
            b = conn.recv(65536)
            if not b:
                break
            data += b
            if data == b"close please":
                return data        # the local side closes first
            if data.startswith(b"bye"):
                conn.sendall(b"ack")
        got_eof.append(data)
        return data
    srv = Server(local)
    echo = Server(echo_handler)
    lport = free_port()
    env = Env("listenfull", endpoints=listener_endpoint(
        "in", lport, "tcp:127.0.0.1:%d" % srv.port) +
        tcp_endpoint("fill", echo.port))
    ok = False
    try:
        env.wait_log("modem listens on port %d" % lport)
        # Remote side closes: the local server sees EOF after the data.
        r = socket.create_connection(("127.0.0.1", lport), 10)
        r.sendall(b"bye now")
        assert recv_all(r, 30, 3) == b"ack"
        r.close()
        wait_for(lambda: got_eof == [b"bye now"], 10, "local EOF")
        # Local side closes: the remote client sees EOF.
        r = socket.create_connection(("127.0.0.1", lport), 10)
        r.sendall(b"close please")
        assert recv_all(r, 30) == b""
        r.close()
        wait_for(lambda: len(env.sim_cmd("stats")["slots"]) == 1, 10,
                 "incoming slots freed")
        # Fill the other 11 slots, then knock on the listener.
        fill = [env.connect("fill") for _ in range(11)]
        for c in fill:
            c.sendall(b"f")
            assert recv_all(c, 30, 1) == b"f"
        r = socket.create_connection(("127.0.0.1", lport), 10)
        try:
            extra = recv_all(r, 30)
        except ConnectionResetError:
            extra = b""
        assert extra == b"", extra
        r.close()
        env.wait_log("every slot is in use")
        for c in fill:
            c.close()
        ok = True
    finally:
        srv.close()
        echo.close()
        env.close(ok)


CASES = {
    "udp_datagrams": case_udp_datagrams,
    "udp_too_large": case_udp_too_large,
    "listener": case_listener,
    "listener_refused_and_reopened": case_listener_refused_and_reopened,
    "listener_max_connections": case_listener_max_connections,
    "udp_service": case_udp_service,
    "push_tcp": case_push_tcp,
    "push_stalled_reader": case_push_stalled_reader,
    "push_udp": case_push_udp,
    "slot_accounting": case_slot_accounting,
    "listener_close_and_full": case_listener_close_and_full,
}

if __name__ == "__main__":
    run_cases(CASES, sys.argv)
