#!/usr/bin/env python3
"""SOCKS5 on socks.sock: handshake, address types, reply codes mapped
from the modem's errors, validation before any AT command, bounds."""
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Env, Server, SKIP, echo_handler, recv_all, run_cases,  # noqa
                     sha, tcp_endpoint)

SOCKS_CONF = "[socks]\nenable = yes\nconnect_timeout = %d\n"


def socks_env(label, timeout=30, sim_args=(), wait_ready=True):
    return Env(label, extra_conf="", endpoints=SOCKS_CONF % timeout,
               sim_args=["--hosts", "web.example=127.0.0.1,v6.example=::1"]
               + list(sim_args), wait_ready=wait_ready)


def socks_connect(env, atyp, addr, port, methods=b"\x00"):
    """Do the handshake; return (socket, reply code)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(os.path.join(env.run, "socks.sock"))
    s.sendall(b"\x05" + bytes([len(methods)]) + methods)
    r = recv_all(s, 30, 2)
    if r != b"\x05\x00":
        return s, r
    if atyp == 1:
        a = socket.inet_pton(socket.AF_INET, addr)
    elif atyp == 4:
        a = socket.inet_pton(socket.AF_INET6, addr)
    else:
        name = addr.encode() if isinstance(addr, str) else addr
        a = bytes([len(name)]) + name
    s.sendall(b"\x05\x01\x00" + bytes([atyp]) + a + struct.pack(">H", port))
    rep = recv_all(s, 60, 10)
    assert len(rep) == 10 and rep[0] == 5, rep
    return s, rep[1]


def qiopens(env):
    return env.sim_cmd("stats")["commands"].get("AT+QIOPEN", 0)


def case_ipv4_and_name():
    srv = Server(echo_handler)
    env = socks_env("socks4")
    ok = False
    try:
        for atyp, addr in ((1, "127.0.0.1"), (3, "web.example")):
            s, rep = socks_connect(env, atyp, addr, srv.port)
            assert rep == 0, "reply %r" % rep
            data = os.urandom(100 * 1024)
            got = []
            t = threading.Thread(target=lambda: got.append(
                recv_all(s, 60, len(data))))
            t.start()
            s.sendall(data)
            t.join(60)
            assert got and sha(got[0]) == sha(data)
            s.close()
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_ipv6():
    ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    try:
        ls.bind(("::1", 0))
    except OSError:
        return SKIP
    ls.listen(1)
    port = ls.getsockname()[1]

    def serve():
        c, _ = ls.accept()
        c.sendall(b"hello v6")
        c.close()
    threading.Thread(target=serve, daemon=True).start()
    env = socks_env("socks6")
    ok = False
    try:
        s, rep = socks_connect(env, 4, "::1", port)
        assert rep == 0, rep
        assert recv_all(s, 30) == b"hello v6"
        s.close()
        ok = True
    finally:
        ls.close()
        env.close(ok)


def case_reply_codes():
    """565 -> 0x04, 566 -> 0x05; unsupported commands and address types."""
    env = socks_env("socksrep")
    ok = False
    try:
        dead = socket.socket()
        dead.bind(("127.0.0.1", 0))
        port = dead.getsockname()[1]
        dead.close()
        s, rep = socks_connect(env, 3, "unknown.example", 80)
        assert rep == 0x04, rep
        s.close()
        s, rep = socks_connect(env, 1, "127.0.0.1", port)
        assert rep == 0x05, rep
        s.close()
        for cmd, code in ((2, 0x07), (3, 0x07)):
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(10)
            s.connect(os.path.join(env.run, "socks.sock"))
            s.sendall(b"\x05\x01\x00")
            assert recv_all(s, 10, 2) == b"\x05\x00"
            s.sendall(bytes([5, cmd, 0, 1, 127, 0, 0, 1, 0, 80]))
            assert recv_all(s, 10, 2) == bytes([5, code])
            s.close()
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(os.path.join(env.run, "socks.sock"))
        s.sendall(b"\x05\x01\x00\x05\x01\x00\x09")
        assert recv_all(s, 10)[:4] == b"\x05\x00\x05\x08"
        s.close()
        # Username/password only: no acceptable method.
        s, r = socks_connect(env, 1, "127.0.0.1", 80, methods=b"\x02")
        assert r == b"\x05\xff", r
        assert recv_all(s, 10) == b""
        s.close()
        ok = True
    finally:
        env.close(ok)


def case_bad_names():
    """Names that could inject an AT command, or break DNS rules, are
    refused with 0x04 before any AT command is built."""
    env = socks_env("socksname")
    ok = False
    try:
        before = qiopens(env)
        for name in (b'a"b', b"x\r\nAT+CFUN=0", b"a;b", b"under_score.example",
                     b"a" * 64 + b".example", (b"a" * 62 + b".") * 4 +
                     b"abc", b"-lead.example", b"nul\x00byte", b""):
            s, rep = socks_connect(env, 3, name, 80)
            assert rep == 0x04, (name, rep)
            s.close()
        s, rep = socks_connect(env, 3, b'a",80\r\nAT+QPOWD', 80)
        assert rep == 0x04, rep
        s.close()
        assert qiopens(env) == before, "an AT+QIOPEN was sent"
        assert "AT+QPOWD" not in env.sim_cmd("stats")["commands"]
        ok = True
    finally:
        env.close(ok)


def case_handshake_bounds():
    """Slow, truncated and garbage handshakes are closed; no slot leaks."""
    env = socks_env("sockshs")
    ok = False
    try:
        path = os.path.join(env.run, "socks.sock")
        g = socket.socket(socket.AF_UNIX)
        g.settimeout(10)
        g.connect(path)
        g.sendall(b"\x04\x01\x00\x50garbage")
        assert recv_all(g, 10) == b"\x05\xff"
        g.close()
        t = socket.socket(socket.AF_UNIX)
        t.connect(path)
        t.sendall(b"\x05\x02")          # promises two methods, sends none
        t.close()
        slow = socket.socket(socket.AF_UNIX)
        slow.settimeout(20)
        slow.connect(path)
        slow.sendall(b"\x05")
        t0 = time.monotonic()
        assert recv_all(slow, 20) == b""
        assert time.monotonic() - t0 < 15
        slow.close()
        assert env.sim_cmd("stats")["slots"] == []
        env.wait_log("handshake too slow")
        ok = True
    finally:
        env.close(ok)


def case_timeout_codes():
    """No +QIOPEN in time -> 0x06; modem not ready -> 0x03."""
    env = socks_env("sockstmo", timeout=3)
    ok = False
    try:
        env.sim_cmd("qiopen-silence on")
        s, rep = socks_connect(env, 3, "web.example", 80)
        assert rep == 0x06, rep
        s.close()
        ok = True
    finally:
        env.close(ok)
    env = socks_env("socksnr", timeout=2,
                    sim_args=["--register-delay-ms", "60000"],
                    wait_ready=False)
    ok = False
    try:
        time.sleep(0.5)
        s, rep = socks_connect(env, 3, "web.example", 80)
        assert rep == 0x03, rep
        s.close()
        ok = True
    finally:
        env.close(ok)


def case_curl():
    """curl --proxy socks5h://localhost<socket> fetches through the modem;
    the name is resolved by the modem (bg96sim --hosts)."""
    curl = shutil.which("curl")
    if curl is None:
        return SKIP
    v = subprocess.run([curl, "--version"], capture_output=True, text=True)
    parts = v.stdout.split()[1].split(".")
    if (int(parts[0]), int(parts[1])) < (7, 84):
        return SKIP            # unix-socket SOCKS proxies came in 7.84
    body = os.urandom(64 * 1024)

    def http(conn):
        req = b""
        while b"\r\n\r\n" not in req:
            req += conn.recv(4096)
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n"
                     % len(body) + body)
        return req
    srv = Server(http)
    env = socks_env("sockscurl")
    ok = False
    try:
        out = os.path.join(env.dir, "out")
        r = subprocess.run([curl, "-sS", "--max-time", "60", "-o", out,
                            "--proxy", "socks5h://localhost" +
                            os.path.join(env.run, "socks.sock"),
                            "http://web.example:%d/x" % srv.port],
                           timeout=90)
        assert r.returncode == 0, r.returncode
        assert open(out, "rb").read() == body
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_name_reaches_modem():
    """The modem, not the host, resolves names: AT+QIOPEN carries it."""
    srv = Server(echo_handler)
    env = socks_env("socksdns")
    ok = False
    try:
        s, rep = socks_connect(env, 3, "web.example", srv.port)
        assert rep == 0
        s.sendall(b"x")
        assert recv_all(s, 30, 1) == b"x"
        s.close()
        log = open(env.sim_log, "rb").read()
        assert b'AT+QIOPEN=1,11,"TCP","web.example",%d' % srv.port in log
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_twelve_plus_fixed():
    """12 SOCKS connections and a fixed endpoint's client at once, on a
    paced line: the 13th waits for a slot; all finish intact; the 12
    that ran together progress at the same pace (round robin)."""
    srv = Server(echo_handler)
    env = Env("socks12", sim_args=["--baud", "921600", "--hosts",
                                   "web.example=127.0.0.1"],
              endpoints=SOCKS_CONF % 60 + tcp_endpoint("fixed", srv.port))
    ok = False
    try:
        size = 16 * 1024
        done = {}
        socks_list = []
        for i in range(12):
            s, rep = socks_connect(env, 3, "web.example", srv.port)
            assert rep == 0, rep
            socks_list.append(s)
        fixed = env.connect("fixed")
        t0 = time.monotonic()

        def run(key, s):
            data = os.urandom(size)
            got = []
            t = threading.Thread(target=lambda: got.append(
                recv_all(s, 120, size)))
            t.start()
            s.sendall(data)
            t.join(120)
            done[key] = (time.monotonic() - t0,
                         bool(got) and got[0] == data)
            s.close()           # frees the slot for the one waiting
        threads = [threading.Thread(target=run, args=(i, s))
                   for i, s in enumerate(socks_list)]
        threads.append(threading.Thread(target=run, args=("fixed", fixed)))
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        assert all(v[1] for v in done.values()), "a transfer was corrupted"
        times = sorted(v[0] for k, v in done.items() if k != "fixed")
        assert times[-1] / times[0] < 1.5, "unfair: %r" % times
        assert done["fixed"][0] > times[0], "fixed client was not queued"
        ok = True
    finally:
        srv.close()
        env.close(ok)


CASES = {
    "ipv4_and_name": case_ipv4_and_name,
    "ipv6": case_ipv6,
    "reply_codes": case_reply_codes,
    "bad_names": case_bad_names,
    "handshake_bounds": case_handshake_bounds,
    "timeout_codes": case_timeout_codes,
    "curl": case_curl,
    "name_reaches_modem": case_name_reaches_modem,
    "twelve_plus_fixed": case_twelve_plus_fixed,
}

if __name__ == "__main__":
    run_cases(CASES, sys.argv)
