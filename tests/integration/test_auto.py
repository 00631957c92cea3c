#!/usr/bin/env python3
"""access_mode = auto end to end (issue 15): a tcp connection opens in
buffer mode and goes into data mode (AT+QISWTMD=id,2 -> CONNECT) while
it is the only socket; a second client, a control `at` request or the
health check takes the line back ("+++" with its guard times), the
connection stays open in buffer mode, and it returns to data mode
[modem] transparent_reenter seconds after it is alone again.  Every
byte is checked across the switches; bg96sim's exit status fails a case
on any protocol violation."""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Env, Server, echo_handler, recv_all, sha,  # noqa: E402
                     tcp_endpoint, wait_for)
from test_transparent import (FAST, FAST_BAUD, echo_through,  # noqa: E402
                              every_value, line, trans_stats, wait_command)

REENTER = 1


def auto_env(name, port, reenter=REENTER, extra=""):
    return Env(name, sim_args=FAST, baud=FAST_BAUD,
               modem_conf="transparent_reenter = %d\n" % reenter,
               endpoints=tcp_endpoint("echo", port,
                                      "access_mode = auto\n" + extra))


def counters(env):
    return env.request("status")["counters"]


def wait_data(env, timeout=30):
    """The line is lent to the echo connection (data mode); its slot."""
    wait_for(lambda: line(env).startswith("data:echo#"), timeout,
             "auto connection in data mode")
    sid = int(line(env).rsplit("#", 1)[1])
    wait_for(lambda: trans_stats(env)["data_mode"] == sid, timeout,
             "bg96sim in data mode")
    return sid


def case_alone_goes_to_data_mode():
    """One connection alone: buffer mode first, then data mode; 1 MiB of
    every byte value both ways; the close escapes, then QICLOSE."""
    srv = Server(echo_handler)
    env = auto_env("auto-alone", srv.port)
    ok = False
    try:
        c = env.connect("echo")
        echo_through(c, b"hello")
        wait_data(env)
        assert counters(env)["auto_entries"] == 1, counters(env)
        echo_through(c, every_value(1 << 20))
        assert trans_stats(env)["escapes"] == 0, trans_stats(env)
        c.close()
        wait_command(env)
        wait_for(lambda: env.sim_cmd("stats")["slots"] == [], 30,
                 "slot closed")
        st = trans_stats(env)
        assert st["plus_no_lead"] == 0 and st["plus_no_trail"] == 0, st
        assert not srv.errors, srv.errors
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_second_client_escapes():
    """A second client takes the line back: both are served at once in
    buffer mode while the first keeps streaming, every byte intact; when
    the second leaves, the first returns to data mode."""
    srv = Server(echo_handler)
    env = auto_env("auto-second", srv.port)
    ok = False
    try:
        a = env.connect("echo")
        echo_through(a, b"first")
        wait_data(env)
        # a streams across the switch back to buffer mode
        data = every_value(256 * 1024)
        got = []
        t = threading.Thread(target=lambda: got.append(
            recv_all(a, 120, len(data))))
        t.start()
        sender = threading.Thread(target=lambda: a.sendall(data))
        sender.start()
        t0 = time.monotonic()
        b = env.connect("echo")
        echo_through(b, b"second", timeout=60)
        served = time.monotonic() - t0
        # issue 15: a second client is served within transparent_reenter
        # + 3 s (the escape takes 2 s of guard time at least).
        assert served < REENTER + 3, "second served after %.1f s" % served
        assert line(env) == "command", line(env)
        assert counters(env)["auto_escapes"] >= 1, counters(env)
        echo_through(b, every_value(16384))
        sender.join(120)
        t.join(120)
        assert not t.is_alive(), "first client's reader hung"
        assert sha(got[0]) == sha(data), "first client's data corrupted"
        b.close()
        wait_data(env, timeout=30)      # alone again: back to data mode
        assert counters(env)["auto_entries"] >= 2, counters(env)
        echo_through(a, every_value(65536))
        a.close()
        wait_command(env)
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_at_request_escapes():
    """A control `at` request in data mode waits for the escape and is
    answered; the connection keeps its bytes and goes back."""
    srv = Server(echo_handler)
    env = auto_env("auto-at", srv.port)
    ok = False
    try:
        c = env.connect("echo")
        echo_through(c, b"hello")
        wait_data(env)
        r = env.request("at AT+CSQ", timeout=30)
        assert r.get("ok") is True, r
        assert counters(env)["auto_escapes"] == 1, counters(env)
        echo_through(c, every_value(32768))
        wait_data(env)
        echo_through(c, every_value(32768))
        c.close()
        wait_command(env)
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_remote_close_in_data_mode():
    """The remote closes while the connection is in data mode: every
    byte, then EOF (NO CARRIER), then the slot is closed."""
    data = every_value(128 * 1024)
    go = threading.Event()

    def sender(conn):
        go.wait(30)
        conn.sendall(data)
        return len(data)
    srv = Server(sender)
    env = auto_env("auto-rclose", srv.port)
    ok = False
    try:
        c = env.connect("echo")
        wait_data(env)
        go.set()
        got = recv_all(c, 120)
        assert sha(got) == sha(data), "got %d of %d" % (len(got), len(data))
        c.close()
        wait_command(env)
        wait_for(lambda: env.sim_cmd("stats")["slots"] == [], 30,
                 "slot closed")
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_health_check_escapes():
    """In data mode the health check (every 30 s) takes the line back:
    one escape serves it and the radio poll due with it, the stream
    keeps every byte, and the connection returns to data mode."""
    srv = Server(echo_handler)
    env = auto_env("auto-health", srv.port)
    ok = False
    try:
        c = env.connect("echo")
        echo_through(c, b"hello")
        wait_data(env)
        cmds = env.sim_cmd("stats")["commands"]
        cereg, csq = cmds.get("AT+CEREG", 0), cmds.get("AT+CSQ", 0)
        deadline = time.monotonic() + 45
        while counters(env)["auto_escapes"] == 0:
            assert time.monotonic() < deadline, "no escape for the health check"
            echo_through(c, every_value(8192))
        wait_data(env)
        cmds = env.sim_cmd("stats")["commands"]
        assert cmds.get("AT+CEREG", 0) > cereg, cmds
        assert cmds.get("AT+CSQ", 0) > csq, cmds
        assert counters(env)["auto_escapes"] == 1, counters(env)
        echo_through(c, every_value(65536))
        c.close()
        wait_command(env)
        ok = True
    finally:
        srv.close()
        env.close(ok)


CASES = {
    "health_check_escapes": case_health_check_escapes,
    "alone_goes_to_data_mode": case_alone_goes_to_data_mode,
    "second_client_escapes": case_second_client_escapes,
    "at_request_escapes": case_at_request_escapes,
    "remote_close_in_data_mode": case_remote_close_in_data_mode,
}

if __name__ == "__main__":
    from harness import run_cases
    run_cases(CASES, sys.argv)
