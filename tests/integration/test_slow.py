#!/usr/bin/env python3
"""The long fault cases, kept out of the default test run (suite 'slow'):
a 30 s loss of the serial line during a transfer and while idle, 50 modem
reboots and 20 serial hangups in a row without file descriptor or memory
growth, a registration lost for longer than registration_timeout.

Run them with:  meson test -C build --suite slow
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Server, echo_handler, run_cases, tcp_endpoint  # noqa
from harness import (fd_count, free_port, listener_endpoint,  # noqa
                     steady_fd_count, wait_for)
from faultlib import (adversarial_echo, assert_alive,  # noqa
                      closed_soon, counters, echo_roundtrip,
                      fault_case, idle_fault_case, quiet_client,
                      remote_roundtrip, streaming_client)

SANITIZED = os.environ.get("BG96_SANITIZED") == "1"
RSS_SLACK_KIB = 512


def settle(env, want_slots):
    """Wait until the emulator has exactly want_slots open slots and the
    daemon's fd count has stopped moving, then return that count."""
    wait_for(lambda: len(env.sim_cmd("stats")["slots"]) == want_slots, 15,
             "%d open slot(s)" % want_slots)
    return steady_fd_count(env.daemon.pid, 1, 5)


def growth_check(env, base, want_slots, label):
    """fds equal to base (waiting a few seconds for stragglers), VmRSS
    within RSS_SLACK_KIB of base (not checked under ASan, whose
    quarantine holds freed memory on purpose)."""
    fds0, rss0 = base
    fds = settle(env, want_slots)
    end = time.monotonic() + 5
    while fds != fds0 and time.monotonic() < end:
        time.sleep(0.2)
        fds = fd_count(env.daemon.pid)
    rss = env.rss_kib()
    print("%s: fds %d -> %d, VmRSS %d -> %d KiB" % (label, fds0, fds, rss0,
                                                    rss))
    sys.stdout.flush()
    assert fds == fds0, "file descriptors grew: %d -> %d (%s)" % (
        fds0, fds, sorted(os.listdir("/proc/%d/fd" % env.daemon.pid)))
    if not SANITIZED:
        assert rss <= rss0 + RSS_SLACK_KIB, \
            "VmRSS grew: %d -> %d KiB" % (rss0, rss)


def case_reboot_cycles():
    """50 modem reboots, each with a transfer running through it and a
    tcp-listener open: the client sees EOF within 10 s, the listener
    accepts again within 30 s, a fresh 64 KiB transfer is intact, and
    bg96d's fds and VmRSS after cycle 50 equal those after cycle 5."""
    srv = Server(echo_handler)
    lport = free_port()
    env = Env("cycles", endpoints=tcp_endpoint("echo", srv.port) +
              listener_endpoint("in", lport, "tcp:127.0.0.1:%d" % srv.port))
    ok = False
    try:
        pid = env.daemon.pid
        env.wait_log("modem listens on port %d" % lport)
        base = None
        for i in range(1, 51):
            c, stop = streaming_client(env, "echo")
            time.sleep(0.2)
            assert env.sim_cmd("reboot")["ok"]
            t0 = time.monotonic()
            closed_soon(c, 10)
            stop.set()
            c.close()
            env.wait_ready(timeout=60, count=i + 1)
            remote_roundtrip(lport, 16 * 1024, t0 + 30)
            env.wait_log("modem listens on port %d" % lport, count=i + 1)
            echo_roundtrip(env, "echo", 64 * 1024)
            assert_alive(env, pid)
            if i == 5:
                base = (settle(env, 1), env.rss_kib())
                print("after cycle 5: %d fds, VmRSS %d KiB" % base)
                sys.stdout.flush()
        growth_check(env, base, 1, "cycles 5..50")
        assert env.log_text().count("modem powered down") >= 50
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_hangup_cycles():
    """20 losses of the serial line (1 s each; the pseudo-terminal is a
    new one every time): no fd or memory growth between cycle 5 and 20."""
    srv = Server(echo_handler)
    env = Env("hcycles", endpoints=tcp_endpoint("echo", srv.port))
    ok = False
    try:
        pid = env.daemon.pid
        base = None
        for i in range(1, 21):
            c = quiet_client(env, "echo")
            assert env.sim_cmd("hangup 1")["ok"]
            closed_soon(c, 10)
            c.close()
            env.wait_log("serial line lost", count=i)
            env.wait_ready(timeout=60, count=i + 1)
            echo_roundtrip(env, "echo", 64 * 1024)
            assert_alive(env, pid)
            if i == 5:
                base = (settle(env, 0), env.rss_kib())
                print("after cycle 5: %d fds, VmRSS %d KiB" % base)
                sys.stdout.flush()
        growth_check(env, base, 0, "hangups 5..20")
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_hangup30_waiting_client():
    """A client that arrives during a 30 s line loss waits (its
    connect_timeout is 60 s) and is served once the modem is back."""
    srv = Server(echo_handler)
    env = Env("hwait", endpoints=tcp_endpoint("echo", srv.port).replace(
        "connect_timeout = 30", "connect_timeout = 60"))
    ok = False
    try:
        pid = env.daemon.pid
        assert env.sim_cmd("hangup 30")["ok"]
        env.wait_log("serial line lost")
        time.sleep(2)
        echo_roundtrip(env, "echo", 64 * 1024, timeout=90)
        assert_alive(env, pid)
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_deregister_long():
    """Registration lost for longer than registration_timeout (10 s): the
    modem is restarted (AT+CFUN=1,1), the open client is closed at once,
    and service resumes without a bg96d restart."""
    srv = Server(echo_handler)
    env = Env("dereglong", endpoints=tcp_endpoint("echo", srv.port),
              start_daemon=False)
    ok = False
    try:
        with open(env.conf) as f:
            text = f.read()
        with open(env.conf, "w") as f:
            f.write(text.replace("registration_timeout = 60",
                                 "registration_timeout = 10"))
        env.start_daemon()
        env.wait_ready()
        pid = env.daemon.pid
        n0 = counters(env)["reg_timeouts"]
        c = quiet_client(env, "echo")
        assert env.sim_cmd("deregister 300")["ok"]
        env.wait_log("registration lost")
        # Noticed at the first health poll (every 30 s) after 10 s.
        env.wait_log("registration lost for too long", 50)
        closed_soon(c, 10)
        c.close()
        env.wait_ready(timeout=60, count=2)
        assert_alive(env, pid)
        echo_roundtrip(env, "echo", 64 * 1024)
        assert counters(env)["reg_timeouts"] == n0 + 1
        ok = True
    finally:
        srv.close()
        env.close(ok)


CASES = {
    "hangup30": fault_case("hangup30", "hangup 30", "serial line lost"),
    "hangup30_idle": idle_fault_case("hangup30i", "hangup 30",
                                     "serial line lost", "line_lost"),
    "hangup30_waiting_client": case_hangup30_waiting_client,
    "reboot_cycles": case_reboot_cycles,
    "hangup_cycles": case_hangup_cycles,
    "deregister_long": case_deregister_long,
    "adversarial_echo_seeds": adversarial_echo(range(2, 10)),
}

if __name__ == "__main__":
    run_cases(CASES, sys.argv)
