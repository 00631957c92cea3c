#!/usr/bin/env python3
"""Transparent access mode end to end (issue 15): a tcp endpoint with
access_mode = transparent lends the serial line to one connection
(AT+QIOPEN ...,2 -> CONNECT, bg96-at-reference 5.11).  Every byte value
both ways, remote and client close, a second client that waits for the
line, status and control `at` while the line is lent, faults in data
mode (reboot, pdpdeact, hangup), and a client's own "+++" around pauses
that must stay payload.  bg96sim counts escapes and unguarded "+++"
runs (stats "trans"); its exit status fails a case on any protocol
violation.  Run one case by name, or all."""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Env, Server, echo_handler, recv_all, sha,  # noqa: E402
                     tcp_endpoint, wait_for)

EVERY = bytes(range(256))



# bg96d counts the escape's guard time from when its bytes are through
# the line at [modem] baud (a pty drains at once), so the emulator paces
# at the same rate: 921600 keeps the MiB cases short.  The paced cases
# below run at 115200.
FAST_BAUD = 921600
FAST = ["--baud", str(FAST_BAUD)]

def trans_endpoint(name, port, extra=""):
    return tcp_endpoint(name, port, "access_mode = transparent\n" + extra)


def trans_stats(env):
    return env.sim_cmd("stats")["trans"]


def line(env):
    return env.request("status")["line"]


def wait_lent(env, name):
    """The line is lent to a connection of endpoint name; its slot id."""
    wait_for(lambda: line(env).startswith("data:%s#" % name), 30,
             "line lent to %s" % name)
    sid = int(line(env).rsplit("#", 1)[1])
    assert trans_stats(env)["data_mode"] == sid, trans_stats(env)
    return sid


def wait_command(env, timeout=30):
    wait_for(lambda: line(env) == "command", timeout, "line back")
    wait_for(lambda: trans_stats(env)["data_mode"] == -1, timeout,
             "bg96sim in command mode")


def every_value(n):
    """n bytes holding every byte value, in a scrambled order."""
    r = bytearray(os.urandom(n))
    for i in range(0, n - 256, 4096):
        r[i:i + 256] = EVERY
    return bytes(r)


def closed_in_command_mode(env):
    """The line is back in command mode and the modem's slot closed;
    returns bg96sim's transparent-mode counters."""
    wait_command(env)
    wait_for(lambda: env.sim_cmd("stats")["slots"] == [], 30, "slot closed")
    return trans_stats(env)


def echo_through(c, data, timeout=120):
    got = []

    def reader():
        got.append(recv_all(c, timeout, len(data)))
    t = threading.Thread(target=reader)
    t.start()
    c.sendall(data)
    t.join(timeout)
    assert not t.is_alive(), "reader hung"
    assert len(got[0]) == len(data), "got %d of %d" % (len(got[0]),
                                                       len(data))
    assert sha(got[0]) == sha(data), "data corrupted"


def case_echo_1mib():
    """1 MiB with every byte value both ways through the lent line; no
    escape meanwhile; the client's close ends data mode with a guarded
    escape and the slot is closed."""
    srv = Server(echo_handler)
    env = Env("tr-echo", sim_args=FAST, baud=FAST_BAUD,
              endpoints=trans_endpoint("echo", srv.port))
    ok = False
    try:
        c = env.connect("echo")
        c.sendall(b"x")
        assert recv_all(c, 30, 1) == b"x"
        wait_lent(env, "echo")
        echo_through(c, every_value(1 << 20))
        st = trans_stats(env)
        assert st["escapes"] == 0, st
        c.close()
        st = closed_in_command_mode(env)
        assert st["plus_no_lead"] == 0 and st["plus_no_trail"] == 0, st
        assert not srv.errors, srv.errors
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_remote_close_mid_stream():
    """The remote sends 256 KiB (every byte value) and closes: the client
    gets every byte, then EOF; the slot is closed (NO CARRIER, QICLOSE)."""
    data = every_value(256 * 1024)

    def sender(conn):
        conn.sendall(data)
        return len(data)
    srv = Server(sender)
    env = Env("tr-rclose", sim_args=FAST, baud=FAST_BAUD,
              endpoints=trans_endpoint("src", srv.port))
    ok = False
    try:
        c = env.connect("src")
        got = recv_all(c, 120)
        assert len(got) == len(data), "got %d of %d" % (len(got), len(data))
        assert sha(got) == sha(data), "data corrupted"
        c.close()
        closed_in_command_mode(env)
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_client_close():
    """A client that sends and closes: its bytes reach the remote, then
    the remote sees EOF; the daemon escaped with both guards."""
    data = every_value(64 * 1024)
    got = []

    def sink(conn):
        got.append(recv_all(conn, 60))
        return len(got[0])
    srv = Server(sink)
    env = Env("tr-cclose", sim_args=FAST, baud=FAST_BAUD,
              endpoints=trans_endpoint("sink", srv.port))
    ok = False
    try:
        c = env.connect("sink")
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        c.close()
        wait_for(lambda: got, 60, "remote EOF")
        assert sha(got[0]) == sha(data), "remote got %d of %d bytes" % (
            len(got[0]), len(data))
        st = closed_in_command_mode(env)
        assert st["plus_no_lead"] == 0 and st["plus_no_trail"] == 0, st
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_second_client_waits():
    """While the line is lent, a second client is not served; once the
    first closes, it is."""
    srv = Server(echo_handler)
    env = Env("tr-second", sim_args=FAST, baud=FAST_BAUD,
              endpoints=trans_endpoint("echo", srv.port))
    ok = False
    try:
        a = env.connect("echo")
        echo_through(a, b"first")
        wait_lent(env, "echo")
        b = env.connect("echo")
        b.sendall(b"second")
        b.settimeout(2.0)
        try:
            early = b.recv(100)
        except socket.timeout:
            early = None
        assert early is None, "second client served while the line is lent"
        echo_through(a, b"still first")
        a.close()
        b.settimeout(60)
        assert recv_all(b, 60, 6) == b"second", "second client not served"
        wait_lent(env, "echo")
        echo_through(b, every_value(8192))
        b.close()
        wait_command(env)
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_status_and_at():
    """status shows "data:<endpoint>#<id>" with byte counts while the
    line is lent; control `at` is refused then, and works after."""
    srv = Server(echo_handler)
    env = Env("tr-status", sim_args=FAST, baud=FAST_BAUD,
              endpoints=trans_endpoint("echo", srv.port))
    ok = False
    try:
        assert line(env) == "command"
        c = env.connect("echo")
        echo_through(c, b"hello")
        sid = wait_lent(env, "echo")
        st = env.request("status")
        assert st["line"] == "data:echo#%d" % sid, st["line"]
        r = env.request("at AT+CSQ")
        assert r.get("ok") is False, r
        echo_through(c, b"still lent")       # nothing reached the line
        assert trans_stats(env)["escapes"] == 0
        c.close()
        wait_command(env)
        r = env.request("at AT+CSQ", timeout=30)
        assert r.get("ok") is True, r
        ok = True
    finally:
        srv.close()
        env.close(ok)


def fault_case(name, fault, recover_count=2):
    """A fault in data mode: the client gets EOF, the daemon recovers
    and serves a new transparent connection."""
    srv = Server(echo_handler)
    env = Env("tr-" + name, sim_args=FAST, baud=FAST_BAUD,
              endpoints=trans_endpoint("echo", srv.port))
    ok = False
    try:
        c = env.connect("echo")
        echo_through(c, b"before")
        wait_lent(env, "echo")
        r = env.sim_cmd(fault)
        assert r.get("ok"), r
        got = recv_all(c, 60)
        assert got == b"", "bytes after the fault: %r" % got[:100]
        c.close()
        if recover_count:
            env.wait_ready(timeout=60, count=recover_count)
        c = env.connect("echo")
        echo_through(c, every_value(16384), timeout=60)
        c.close()
        wait_command(env)
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_reboot_in_data_mode():
    """The modem reboots in data mode (POWERED DOWN, RDY)."""
    fault_case("reboot", "reboot")


def case_hangup_in_data_mode():
    """The serial line goes away for 2 s in data mode."""
    fault_case("hangup", "hangup 2")


def case_pdpdeact_in_data_mode():
    """The network drops the context in data mode (NO CARRIER, then the
    pdpdeact URC)."""
    fault_case("pdpdeact", "pdpdeact 1", recover_count=0)


def case_client_plus_is_payload():
    """A client that sends "+++" (and "++", "++++", "+++x") alone between
    pauses longer than the guard time: every byte reaches the remote and
    comes back, data mode is never left (no escape in bg96sim)."""
    srv = Server(echo_handler)
    env = Env("tr-plus", sim_args=FAST, baud=FAST_BAUD,
              endpoints=trans_endpoint("echo", srv.port))
    ok = False
    try:
        c = env.connect("echo")
        echo_through(c, b"start")
        sid = wait_lent(env, "echo")
        for piece in (b"+++", b"+++", b"++", b"++++", b"+++x", b"+",
                      b"x+++"):
            time.sleep(1.3)
            c.sendall(piece)
            time.sleep(1.3)
            got = recv_all(c, 30, len(piece))
            assert got == piece, "sent %r, echoed %r" % (piece, got)
            st = trans_stats(env)
            assert st["escapes"] == 0 and st["data_mode"] == sid, st
        assert line(env) == "data:echo#%d" % sid, line(env)
        echo_through(c, every_value(32768))
        c.close()
        wait_command(env)
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_client_close_paced():
    """At 115200 baud, on a line that paces its input: a client writes
    48 KiB (4.3 s of line time) and closes at once.  The escape must wait
    for the bytes to be on the line, not for write(): the remote gets
    exactly the client's bytes (no "+++" among them), then EOF, and
    bg96sim saw one guarded escape and no unguarded "+++"."""
    data = every_value(48 * 1024).replace(b"+", b"-")
    got = []

    def sink(conn):
        got.append(recv_all(conn, 90))
        return len(got[0])
    srv = Server(sink)
    env = Env("tr-paced", sim_args=["--baud", "115200"],
              endpoints=trans_endpoint("sink", srv.port))
    ok = False
    try:
        c = env.connect("sink")
        c.sendall(b"x")
        wait_lent(env, "sink")
        c.sendall(data)
        c.close()
        wait_for(lambda: got, 90, "remote EOF")
        assert got[0] == b"x" + data, "remote got %d of %d bytes%s" % (
            len(got[0]), len(data) + 1,
            ", with '+'" if b"+" in got[0] else "")
        st = closed_in_command_mode(env)
        assert st["escapes"] == 1, st
        assert st["plus_no_lead"] == 0 and st["plus_no_trail"] == 0, st
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_client_plus_paced():
    """The client "+++" patterns at 115200 baud with input pacing:
    payload every time, data mode kept."""
    srv = Server(echo_handler)
    env = Env("tr-plus-paced", sim_args=["--baud", "115200"],
              endpoints=trans_endpoint("echo", srv.port))
    ok = False
    try:
        c = env.connect("echo")
        echo_through(c, b"start")
        sid = wait_lent(env, "echo")
        for piece in (b"+++", b"++", b"+++", b"++++"):
            time.sleep(1.3)
            c.sendall(piece)
            time.sleep(1.3)
            got = recv_all(c, 30, len(piece))
            assert got == piece, "sent %r, echoed %r" % (piece, got)
            st = trans_stats(env)
            assert st["escapes"] == 0 and st["data_mode"] == sid, st
        c.close()
        wait_command(env)
        ok = True
    finally:
        srv.close()
        env.close(ok)


def sigterm_in_data_mode(env, c):
    """SIGTERM while the line is lent: the client gets EOF, the escape
    and AT+QICLOSE go out within the shutdown deadline, bg96d exits 0
    and the modem is left in command mode with no socket open."""
    rc, took = env.stop_daemon(timeout=10)
    assert rc == 0, "bg96d exited %s" % rc
    assert took < 5.0, "shutdown took %.1f s" % took
    c.settimeout(10)
    assert c.recv(100) == b"", "no EOF for the client"
    st = env.sim_cmd("stats")
    assert st["trans"]["data_mode"] == -1, st["trans"]
    assert st["trans"]["escapes"] == 1, st["trans"]
    assert st["slots"] == [], st["slots"]


def case_sigterm_in_data_mode():
    """SIGTERM while a transparent connection holds the line."""
    srv = Server(echo_handler)
    env = Env("tr-term", sim_args=FAST, baud=FAST_BAUD,
              endpoints=trans_endpoint("echo", srv.port))
    ok = False
    try:
        c = env.connect("echo")
        echo_through(c, every_value(4096))
        wait_lent(env, "echo")
        sigterm_in_data_mode(env, c)
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_client_not_reading():
    """Backpressure downstream: a client that does not read for 5 s
    while the remote sends 1 MiB stops the reading of the line (bg96d's
    memory stays flat: the pty, the emulator and TCP hold the rest);
    then it reads every byte, intact."""
    data = every_value(1 << 20)

    def sender(conn):
        conn.sendall(data)
        return len(data)
    srv = Server(sender)
    env = Env("tr-noread", sim_args=FAST, baud=FAST_BAUD,
              endpoints=trans_endpoint("src", srv.port))
    ok = False
    try:
        c = env.connect("src")
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        wait_lent(env, "src")
        rss0 = env.rss_kib()
        time.sleep(5)
        grown = env.rss_kib() - rss0
        assert grown < 1024, "bg96d grew by %d KiB" % grown
        down = env.request("status")["line_bytes_down"]
        assert down < len(data) // 2, "%d bytes read off the line" % down
        got = recv_all(c, 120, len(data))
        assert sha(got) == sha(data), "got %d of %d" % (len(got), len(data))
        c.close()
        wait_command(env)
        ok = True
    finally:
        srv.close()
        env.close(ok)


CASES = {
    "sigterm_in_data_mode": case_sigterm_in_data_mode,
    "client_not_reading": case_client_not_reading,
    "echo_1mib": case_echo_1mib,
    "remote_close_mid_stream": case_remote_close_mid_stream,
    "client_close": case_client_close,
    "second_client_waits": case_second_client_waits,
    "status_and_at": case_status_and_at,
    "reboot_in_data_mode": case_reboot_in_data_mode,
    "hangup_in_data_mode": case_hangup_in_data_mode,
    "pdpdeact_in_data_mode": case_pdpdeact_in_data_mode,
    "client_plus_is_payload": case_client_plus_is_payload,
    "client_close_paced": case_client_close_paced,
    "client_plus_paced": case_client_plus_paced,
}

if __name__ == "__main__":
    from harness import run_cases
    run_cases(CASES, sys.argv)
