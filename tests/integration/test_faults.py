#!/usr/bin/env python3
"""The real world, injected through bg96sim's control socket: reboots,
PDP loss, serial loss, stalls, garbage, URC storms, SEND FAIL, firmware
quirks, a modem that is absent at start.  bg96d must recover by itself,
never leave a client hanging, never corrupt bytes."""
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Env, Server, echo_handler, recv_all, run_cases, sha,  # noqa
                     tcp_endpoint, wait_for)


def echo_roundtrip(env, name, size=4096, timeout=60):
    data = os.urandom(size)
    c = env.connect(name, timeout)
    got = []
    t = threading.Thread(target=lambda: got.append(
        recv_all(c, timeout, len(data))))
    t.start()
    c.sendall(data)
    t.join(timeout)
    c.close()
    assert got and sha(got[0]) == sha(data), "echo corrupted or short"


def closed_soon(c, seconds):
    """The client sees EOF or a reset within seconds (data may precede)."""
    c.settimeout(seconds)
    t0 = time.monotonic()
    try:
        while c.recv(65536):
            if time.monotonic() - t0 > seconds:
                raise AssertionError("client still open")
    except ConnectionResetError:
        pass
    except socket.timeout:
        raise AssertionError("client left hanging for %d s" % seconds)


def streaming_client(env, name):
    """A client pushing data through an echo endpoint until it breaks."""
    c = env.connect(name)
    stop = threading.Event()

    def pump():
        try:
            while not stop.is_set():
                c.sendall(os.urandom(2048))
                time.sleep(0.01)
        except OSError:
            pass
    threading.Thread(target=pump, daemon=True).start()
    return c, stop


def fault_case(label, fault, log_text, wait_ready=2):
    def case():
        srv = Server(echo_handler)
        env = Env(label, endpoints=tcp_endpoint("echo", srv.port))
        ok = False
        try:
            c, stop = streaming_client(env, "echo")
            time.sleep(0.5)
            r = env.sim_cmd(fault)
            assert r.get("ok"), r
            closed_soon(c, 10)
            stop.set()
            c.close()
            env.wait_log(log_text)
            env.wait_ready(timeout=60, count=wait_ready)
            echo_roundtrip(env, "echo", 64 * 1024)
            assert os.path.exists(env.sock_path("echo"))
            ok = True
        finally:
            srv.close()
            env.close(ok)
    return case


def case_stall():
    """The modem answers nothing for 8 s: commands time out, the modem is
    probed, the line re-opened; a client that arrives meanwhile is served
    once the modem is back."""
    srv = Server(echo_handler)
    env = Env("stall", endpoints=tcp_endpoint("echo", srv.port))
    ok = False
    try:
        assert env.sim_cmd("stall 8")["ok"]
        c = env.connect("echo")
        c.sendall(b"patience")
        assert recv_all(c, 60, 8) == b"patience"
        c.close()
        env.wait_log("timed out")
        echo_roundtrip(env, "echo", 32 * 1024)
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_garbage_and_storm():
    """Garbage bytes and a URC storm during a transfer: logged, skipped,
    and every byte intact."""
    srv = Server(echo_handler)
    env = Env("garbage", endpoints=tcp_endpoint("echo", srv.port))
    ok = False
    try:
        data = os.urandom(512 * 1024)
        c = env.connect("echo")
        got = []
        t = threading.Thread(target=lambda: got.append(
            recv_all(c, 120, len(data))))
        t.start()

        def inject():
            for _ in range(5):
                env.sim_cmd("garbage 300")
                env.sim_cmd("urc-storm 200")
                time.sleep(0.05)
        inj = threading.Thread(target=inject)
        inj.start()
        c.sendall(data)
        t.join(120)
        inj.join(30)
        assert got and sha(got[0]) == sha(data), "data corrupted"
        c.close()
        env.wait_log("unexpected line")
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_send_fail():
    """SEND FAIL for two seconds is backpressure: retried, nothing lost."""
    srv = Server(echo_handler)
    env = Env("sendfail", endpoints=tcp_endpoint("echo", srv.port))
    ok = False
    try:
        data = os.urandom(256 * 1024)
        c = env.connect("echo")
        got = []
        t = threading.Thread(target=lambda: got.append(
            recv_all(c, 120, len(data))))
        t.start()
        env.sim_cmd("send-fail on")
        threading.Timer(2.0, lambda: env.sim_cmd("send-fail off")).start()
        c.sendall(data)
        t.join(120)
        assert got and sha(got[0]) == sha(data), "data corrupted"
        c.close()
        ok = True
    finally:
        srv.close()
        env.close(ok)


def quirk_case(quirks):
    def case():
        srv = Server(echo_handler)
        env = Env("quirk", sim_args=["--quirks", quirks],
                  endpoints=tcp_endpoint("echo", srv.port))
        ok = False
        try:
            echo_roundtrip(env, "echo", 256 * 1024)
            # A second daemon start sees the slot table (QISTATE) too.
            c = env.connect("echo")
            c.sendall(b"k")
            assert recv_all(c, 30, 1) == b"k"
            env.daemon.kill()
            env.daemon.wait()
            env.start_daemon()
            env.wait_ready(count=2)
            echo_roundtrip(env, "echo", 16 * 1024)
            c.close()
            ok = True
        finally:
            srv.close()
            env.close(ok)
    return case


def case_qiopen_silence():
    """No +QIOPEN answer: the client is closed at connect_timeout, the
    slot freed with AT+QICLOSE; later clients work."""
    srv = Server(echo_handler)
    env = Env("silence", endpoints=tcp_endpoint("echo", srv.port).replace(
        "connect_timeout = 30", "connect_timeout = 3"))
    ok = False
    try:
        env.sim_cmd("qiopen-silence on")
        c = env.connect("echo")
        t0 = time.monotonic()
        assert recv_all(c, 20) == b""
        assert time.monotonic() - t0 < 6, "not closed at connect_timeout"
        c.close()
        env.wait_log("connect timed out")
        env.sim_cmd("qiopen-silence off")
        wait_for(lambda: env.sim_cmd("stats")["slots"] == [], 10,
                 "slot freed")
        echo_roundtrip(env, "echo", 8 * 1024)
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_absent_at_start():
    """No modem at start: sockets are bound anyway; a client waits; the
    modem appears; the client is served."""
    srv = Server(echo_handler)
    env = Env("absent", endpoints=tcp_endpoint("echo", srv.port),
              start_daemon=False)
    ok = False
    try:
        env.stop_sim()
        assert not os.path.exists(env.link)
        env.start_daemon()
        wait_for(lambda: os.path.exists(env.sock_path("echo")), 10,
                 "socket file while the modem is absent")
        c = env.connect("echo")
        c.sendall(b"later")
        time.sleep(1.5)
        env.start_sim()
        assert recv_all(c, 60, 5) == b"later"
        c.close()
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_reset_command():
    """A modem that never answers: after two silent recoveries the
    configured reset_command runs (with the device as argument)."""
    srv = Server(echo_handler)
    marker = "/tmp/bg96-reset-%d" % os.getpid()
    script = marker + ".sh"
    with open(script, "w") as f:
        f.write("#!/bin/sh\necho \"$1\" >> %s\n" % marker)
    os.chmod(script, 0o755)
    env = Env("reset", endpoints=tcp_endpoint("echo", srv.port),
              modem_conf="reset_command = %s" % script)
    ok = False
    try:
        env.sim_cmd("stall 90")
        c = env.connect("echo")        # makes the daemon notice
        wait_for(lambda: os.path.exists(marker), 80, "reset_command run")
        assert open(marker).read().strip() == env.link
        c.close()
        env.wait_log("running reset_command")
        ok = True
    finally:
        srv.close()
        env.close(ok)
        for p in (marker, script):
            if os.path.exists(p):
                os.unlink(p)


CASES = {
    "reboot": fault_case("reboot", "reboot", "modem powered down"),
    "pdpdeact": fault_case("pdp", "pdpdeact", "PDP context deactivated"),
    "hangup": fault_case("hangup", "hangup 2", "serial line lost"),
    "stall": case_stall,
    "garbage_and_storm": case_garbage_and_storm,
    "send_fail": case_send_fail,
    "quirks_recv_len_state3": quirk_case("recv-len,state3"),
    "quirks_urcs": quirk_case("boot-urcs,urc-in-list,urc-before-prompt"),
    "quirks_cme": quirk_case("cme-tcpip"),
    "qiopen_silence": case_qiopen_silence,
    "absent_at_start": case_absent_at_start,
    "reset_command": case_reset_command,
}

if __name__ == "__main__":
    run_cases(CASES, sys.argv)
