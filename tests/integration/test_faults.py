#!/usr/bin/env python3
"""The real world, injected through bg96sim's control socket: reboots,
PDP loss, serial loss, stalls, garbage, URC storms, SEND FAIL, firmware
quirks, a modem that is absent at start.  bg96d must recover by itself,
never leave a client hanging, never corrupt bytes."""
import os
import re
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Env, Server, echo_handler, free_port,  # noqa
                     listener_endpoint, recv_all, run_cases, sha,
                     tcp_endpoint, wait_for)
from faultlib import (adversarial_echo, assert_alive, closed_soon,  # noqa
                      connect_retry, counters, echo_roundtrip, fault_case,
                      idle_fault_case, quiet_client, remote_roundtrip)


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


def paced_echo(env, name, chunks=40, size=16 * 1024, gap=0.1, during=None):
    """An echo transfer of chunks*size bytes spread over chunks*gap
    seconds; during(i) is called before chunk i.  Returns when every byte
    came back intact (fails on corruption, a short read or EOF)."""
    data = os.urandom(chunks * size)
    c = env.connect(name)
    got = []
    t = threading.Thread(target=lambda: got.append(
        recv_all(c, 60, len(data))), daemon=True)
    t.start()
    for i in range(chunks):
        if during is not None:
            during(i)
        c.sendall(data[i * size:(i + 1) * size])
        time.sleep(gap)
    t.join(90)
    c.close()
    assert got, "transfer did not finish"
    assert len(got[0]) == len(data), "short: %d of %d bytes" % (
        len(got[0]), len(data))
    assert sha(got[0]) == sha(data), "transfer corrupted"


def case_deregister_transfer():
    """A short loss of registration (3 s, well under registration_timeout)
    while a transfer runs: logged, and the transfer goes on intact."""
    srv = Server(echo_handler)
    env = Env("dereg", endpoints=tcp_endpoint("echo", srv.port))
    ok = False
    try:
        pid = env.daemon.pid

        def during(i):
            if i == 5:
                assert env.sim_cmd("deregister 3")["ok"]
        paced_echo(env, "echo", during=during)
        env.wait_log("registration lost")
        env.wait_log("registered again", 30)
        assert_alive(env, pid)
        echo_roundtrip(env, "echo", 64 * 1024)
        assert "-> ready" not in env.log_text().split(
            "registration lost", 1)[1], "recovered for a short loss"
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_deregister_idle():
    """A short loss of registration while idle: a quiet client keeps its
    connection, a client that arrives meanwhile is served."""
    srv = Server(echo_handler)
    env = Env("deregidle", endpoints=tcp_endpoint("echo", srv.port))
    ok = False
    try:
        pid = env.daemon.pid
        q = quiet_client(env, "echo")
        assert env.sim_cmd("deregister 3")["ok"]
        env.wait_log("registration lost", 10)
        echo_roundtrip(env, "echo", 16 * 1024, timeout=30)
        env.wait_log("registered again", 30)
        q.sendall(b"still")
        assert recv_all(q, 30, 5) == b"still", "quiet client lost"
        q.close()
        assert_alive(env, pid)
        echo_roundtrip(env, "echo", 64 * 1024)
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_listener_reboot():
    """A tcp-listener endpoint across a modem reboot: the relayed remote
    connection is closed at once; the listener accepts again within 30 s
    and relays intact."""
    srv = Server(echo_handler)
    lport = free_port()
    env = Env("lreboot", endpoints=listener_endpoint(
        "in", lport, "tcp:127.0.0.1:%d" % srv.port) +
        tcp_endpoint("echo", srv.port))
    ok = False
    try:
        pid = env.daemon.pid
        env.wait_log("modem listens on port %d" % lport)
        remote_roundtrip(lport, 64 * 1024, time.monotonic() + 10)
        c = connect_retry(lport, time.monotonic() + 10)
        c.sendall(b"ping")
        assert recv_all(c, 30, 4) == b"ping"
        assert env.sim_cmd("reboot")["ok"]
        t0 = time.monotonic()
        closed_soon(c, 10)
        c.close()
        env.wait_log("modem powered down")
        remote_roundtrip(lport, 64 * 1024, t0 + 30)
        env.wait_log("modem listens on port %d" % lport, count=2)
        assert_alive(env, pid)
        echo_roundtrip(env, "echo", 64 * 1024)
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_client_vanishes_in_send():
    """The client writes and is gone while bg96d waits for the late '> '
    prompt (answers 300 ms late): the prompt phase is completed, exactly
    the bytes written reach the server, the slot is closed, and bg96sim
    sees no protocol violation."""
    received = []
    done = threading.Semaphore(0)

    def sink(conn):
        data = recv_all(conn, 60)
        received.append(data)
        done.release()
        return len(data)
    srv = Server(sink)
    esrv = Server(echo_handler)
    env = Env("vanish", sim_args=["--latency-ms", "300"],
              endpoints=tcp_endpoint("sink", srv.port) +
              tcp_endpoint("echo", esrv.port))
    ok = False
    try:
        pid = env.daemon.pid
        # (bytes, SO_LINGER 0, pause before close): with no pause the
        # close races the QISEND command itself; 100 ms later it lands in
        # the 300 ms wait for the prompt.
        for i, (size, linger, pause) in enumerate((
                (1000, True, 0), (1000, False, 0.1), (1, False, 0),
                (5000, True, 0.1), (1460, False, 0.1))):
            data = os.urandom(size)
            c = env.connect("sink")
            env.wait_log("connected to 127.0.0.1:%d" % srv.port, 20,
                         count=i + 1)
            if linger:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
            c.sendall(data)
            time.sleep(pause)
            c.close()
            assert done.acquire(timeout=30), "server saw no EOF"
            assert len(received[i]) == size, "server got %d of %d bytes" % (
                len(received[i]), size)
            assert received[i] == data, "bytes corrupted"
        wait_for(lambda: env.sim_cmd("stats")["slots"] == [], 15,
                 "slots freed")
        st = env.sim_cmd("stats")
        assert st["violation_count"] == 0, st["violations"]
        assert st["commands"].get("AT+QISEND", 0) >= 5, st["commands"]
        assert_alive(env, pid, ("sink", "echo"))
        echo_roundtrip(env, "echo", 4 * 1024, timeout=60)
        ok = True
    finally:
        srv.close()
        esrv.close()
        env.close(ok)


def qiopen_error_case(label, host, port_fn, code, why):
    """+QIOPEN: id,<code>: the client gets EOF at once, the log says why,
    the slot is freed, and a good endpoint still works."""
    def case():
        srv = Server(echo_handler)
        port = port_fn(srv)
        env = Env(label, sim_args=["--hosts", "echo.test=127.0.0.1"],
                  endpoints=tcp_endpoint("bad", port).replace(
                      "host = 127.0.0.1", "host = " + host) +
                  tcp_endpoint("echo", srv.port).replace(
                      "host = 127.0.0.1", "host = echo.test"))
        ok = False
        try:
            pid = env.daemon.pid
            for n in range(1, 3):
                c = env.connect("bad")
                t0 = time.monotonic()
                closed_soon(c, 10)
                c.close()
                assert time.monotonic() - t0 < 10
                env.wait_log(why, 10, count=n)
                wait_for(lambda: env.sim_cmd("stats")["slots"] == [], 10,
                         "slot freed")
            with open(env.sim_log, "rb") as f:
                assert re.search(rb"\+QIOPEN: \d+,%d" % code, f.read()), \
                    "bg96sim did not answer %d" % code
            assert_alive(env, pid, ("bad", "echo"))
            echo_roundtrip(env, "echo", 64 * 1024)
            ok = True
        finally:
            srv.close()
            env.close(ok)
    return case


def refused_port(srv):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()        # nothing listens there now
    return port


def source_handler(sent):
    """A server that pushes random data until the connection breaks,
    recording what it sent."""
    def handler(conn):
        try:
            while True:
                b = os.urandom(8192)
                sent.append(b)      # a superset of what left
                conn.sendall(b)
        except OSError:
            pass
        return 0
    return handler


def case_stall_transfer():
    """The modem goes silent for 15 s during a download (the only commands
    are AT+QIRD, so no payload is in flight).  Half a second in, a second
    client asks for a connection, so a command surely goes into the
    silence.  The command deadline expires, AT probes (and only probes)
    follow, three go unanswered, the line is re-opened: the downloading
    client is closed (EOF or reset) within 15 s having received a clean
    prefix of the stream, and once the modem answers again the second
    client is served, with no late answer taken for a new one."""
    sent = []
    src = Server(source_handler(sent))
    srv = Server(echo_handler)
    env = Env("stallx", endpoints=tcp_endpoint("src", src.port) +
              tcp_endpoint("echo", srv.port).replace(
                  "connect_timeout = 30", "connect_timeout = 50"))
    ok = False
    try:
        pid = env.daemon.pid
        c = env.connect("src")
        got = [recv_all(c, 30, 256 * 1024)]
        assert env.sim_cmd("stall 15")["ok"]
        t0 = time.monotonic()
        time.sleep(0.5)
        c2 = env.connect("echo", 60)
        c2.sendall(b"patience")
        c.settimeout(15)
        try:
            while True:
                b = c.recv(65536)
                if not b:
                    break
                got.append(b)
                assert time.monotonic() - t0 < 15, "client still open"
        except ConnectionResetError:
            pass
        except socket.timeout:
            raise AssertionError("download client left hanging")
        c.close()
        data = b"".join(got)
        assert data == b"".join(sent)[:len(data)], "download corrupted"
        env.wait_log("no answer to 3 probes", max(0.1, 15 - (
            time.monotonic() - t0)))
        assert recv_all(c2, 60, 8) == b"patience"
        c2.close()
        env.wait_ready(timeout=60, count=2)
        st = env.sim_cmd("stats")
        assert st["violation_count"] == 0, st["violations"]
        assert_alive(env, pid, ("src", "echo"))
        echo_roundtrip(env, "echo", 64 * 1024)
        ok = True
    finally:
        src.close()
        srv.close()
        env.close(ok)


def case_stall_long():
    """The modem is silent for 20 s while idle, long enough for the probes
    to fail and the line to be re-opened and probed again: when it comes
    back it answers every queued AT at once.  Those late OKs must not be
    taken for answers to the bring-up commands (bg96sim counts a command
    sent before the previous answer was written out as a violation); a
    client that arrived during the stall is served afterwards.  (qiclose
    is shortened so that the AT+QICLOSE after the failed connect does not
    hide the silence.)"""
    srv = Server(echo_handler)
    env = Env("stalll", endpoints=tcp_endpoint("echo", srv.port).replace(
        "connect_timeout = 30", "connect_timeout = 50"),
        extra_conf="[timeouts]\nqiclose = 2\n")
    ok = False
    try:
        pid = env.daemon.pid
        assert env.sim_cmd("stall 20")["ok"]
        time.sleep(0.5)     # off the whole seconds of the daemon's timers
        c = env.connect("echo")        # makes the daemon notice
        c.sendall(b"patience")
        env.wait_log("no answer to 3 probes", 15)
        assert recv_all(c, 60, 8) == b"patience"
        c.close()
        env.wait_ready(timeout=40, count=2)
        st = env.sim_cmd("stats")
        assert st["violation_count"] == 0, st["violations"]
        assert_alive(env, pid)
        echo_roundtrip(env, "echo", 64 * 1024)
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_garbage_idle():
    """4 KiB of garbage five times and a URC storm on an idle line: logged
    and skipped; an open quiet client is not disturbed."""
    srv = Server(echo_handler)
    env = Env("garbagei", endpoints=tcp_endpoint("echo", srv.port))
    ok = False
    try:
        pid = env.daemon.pid
        q = quiet_client(env, "echo")
        for _ in range(5):
            assert env.sim_cmd("garbage 4096")["ok"]
            time.sleep(0.1)
        assert env.sim_cmd("urc-storm 500")["ok"]
        time.sleep(0.5)
        q.sendall(b"still")
        assert recv_all(q, 30, 5) == b"still", "quiet client lost"
        q.close()
        assert_alive(env, pid)
        echo_roundtrip(env, "echo", 64 * 1024)
        assert env.log_text().count("-> ready") == 1, "needless recovery"
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_status_counters():
    """Every recovery cause has a counter in the control socket's status
    (the modem layer counts them all), and each fault moves its own."""
    srv = Server(echo_handler)
    env = Env("counters", endpoints=tcp_endpoint("echo", srv.port))
    ok = False
    try:
        c0 = counters(env)
        missing = [k for k in ("bringups", "reboots", "pdp_lost", "line_lost",
                               "unresponsive", "reg_timeouts", "reg_lost",
                               "cfun_resets", "reset_commands")
                   if not isinstance(c0.get(k), int)]
        assert not missing, "status counters missing: %s" % missing
        assert env.sim_cmd("reboot")["ok"]
        env.wait_ready(timeout=60, count=2)
        assert env.sim_cmd("pdpdeact")["ok"]
        env.wait_ready(timeout=60, count=3)
        assert env.sim_cmd("deregister 1")["ok"]
        env.wait_log("registered again", 20)
        assert env.sim_cmd("hangup 1")["ok"]
        env.wait_ready(timeout=60, count=4)
        echo_roundtrip(env, "echo", 16 * 1024)
        c = counters(env)
        for k, d in (("reboots", 1), ("pdp_lost", 1), ("reg_lost", 1),
                     ("bringups", 3)):
            assert c[k] - c0[k] == d, "%s: %d -> %d" % (k, c0[k], c[k])
        assert c["line_lost"] > c0["line_lost"], c
        for k in ("unresponsive", "reg_timeouts", "cfun_resets",
                  "reset_commands"):
            assert c[k] == c0[k], "%s: %d -> %d" % (k, c0[k], c[k])
        ok = True
    finally:
        srv.close()
        env.close(ok)


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
    "reboot_idle": idle_fault_case("rebooti", "reboot", "modem powered down",
                                   "reboots"),
    "pdpdeact_idle": idle_fault_case("pdpi", "pdpdeact", "PDP context lost",
                                     "pdp_lost"),
    "hangup_idle": idle_fault_case("hangupi", "hangup 2", "serial line lost",
                                   "line_lost"),
    "deregister": case_deregister_transfer,
    "deregister_idle": case_deregister_idle,
    "listener_reboot": case_listener_reboot,
    "client_vanishes_in_send": case_client_vanishes_in_send,
    "qiopen_565": qiopen_error_case("dns", "no-such-host.invalid",
                                    lambda srv: srv.port, 565,
                                    "connect failed: DNS (565)"),
    "qiopen_566": qiopen_error_case("refused", "127.0.0.1", refused_port, 566,
                                    "connect failed: refused or unreachable"
                                    " (566)"),
    "stall_transfer": case_stall_transfer,
    "stall_long": case_stall_long,
    "garbage_idle": case_garbage_idle,
    "status_counters": case_status_counters,
    "adversarial_echo": adversarial_echo([1]),
}

if __name__ == "__main__":
    run_cases(CASES, sys.argv)
