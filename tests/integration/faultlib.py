"""Fault-test helpers shared by test_faults.py and test_slow.py: clients
that stream or sit quiet through a fault, the checks after it (bg96d
alive, the echo whole), and the case factories for a fault during a
transfer, while idle, and through an adversarial modem."""
import os
import socket
import threading
import time

from harness import (Env, Server, echo_handler, recv_all, sha,
                     tcp_endpoint)


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


def assert_alive(env, pid, names=("echo",)):
    """bg96d still runs as the same process, every socket file in place."""
    assert env.daemon.poll() is None, "bg96d exited (%s)" % (
        env.daemon.returncode,)
    assert env.daemon.pid == pid, "bg96d pid changed"
    for name in names:
        assert os.path.exists(env.sock_path(name)), \
            "socket file %s gone" % name


def counters(env):
    """The counters of bg96d's control socket status reply."""
    return env.request("status")["counters"]


def fault_case(label, fault, log_text, wait_ready=2):
    def case():
        srv = Server(echo_handler)
        env = Env(label, endpoints=tcp_endpoint("echo", srv.port))
        ok = False
        try:
            pid = env.daemon.pid
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
            assert_alive(env, pid)
            ok = True
        finally:
            srv.close()
            env.close(ok)
    return case


def quiet_client(env, name):
    """A client with an open modem connection that carries nothing now."""
    c = env.connect(name)
    c.sendall(b"hi")
    assert recv_all(c, 30, 2) == b"hi", "quiet client not served"
    time.sleep(0.3)     # the line goes quiet
    return c


def idle_fault_case(label, fault, log_text, counter):
    """The fault while no transfer runs: first with no client at all, then
    with one open but quiet connection (it must see EOF or a reset).  The
    status counter of the cause counts both."""
    def case():
        srv = Server(echo_handler)
        env = Env(label, endpoints=tcp_endpoint("echo", srv.port))
        ok = False
        try:
            pid = env.daemon.pid
            n0 = counters(env)[counter]
            # No client at all.
            r = env.sim_cmd(fault)
            assert r.get("ok"), r
            env.wait_log(log_text)
            env.wait_ready(timeout=60, count=2)
            assert_alive(env, pid)
            echo_roundtrip(env, "echo", 64 * 1024)
            # One quiet client.
            c = quiet_client(env, "echo")
            r = env.sim_cmd(fault)
            assert r.get("ok"), r
            closed_soon(c, 10)
            c.close()
            env.wait_log(log_text, count=2)
            env.wait_ready(timeout=60, count=3)
            assert_alive(env, pid)
            echo_roundtrip(env, "echo", 64 * 1024)
            n = counters(env)[counter]
            assert n >= n0 + 2, "counter %s: %d -> %d" % (counter, n0, n)
            ok = True
        finally:
            srv.close()
            env.close(ok)
    return case


def connect_retry(port, deadline):
    """Connect to 127.0.0.1:port, retrying refusals until deadline."""
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), 5)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise AssertionError("port %d refused for too long" % port)
            time.sleep(0.1)


def remote_roundtrip(port, size, deadline):
    """A remote client of the modem's listener: size bytes echoed back."""
    data = os.urandom(size)
    c = connect_retry(port, deadline)
    got = []
    t = threading.Thread(target=lambda: got.append(
        recv_all(c, 30, len(data))), daemon=True)
    t.start()
    c.sendall(data)
    t.join(40)
    c.close()
    assert got and sha(got[0]) == sha(data), "listener echo corrupted"


def adversarial_echo(seeds, size=256 * 1024):
    """Issue 13's headline: a plain echo through a modem that places URCs
    wherever the reference allows (a recv URC between "+QIRD: 0" and its
    OK, "closed" inside the next answer, pauses inside answers, slow
    answers).  Before the fix half of these seeds stalled for good."""
    def case():
        for seed in seeds:
            srv = Server(echo_handler)
            env = Env("adv%d" % seed, sim_args=[
                "--baud", "921600", "--quirks", "adversarial",
                "--seed", str(seed)],
                endpoints=tcp_endpoint("echo", srv.port))
            ok = False
            try:
                echo_roundtrip(env, "echo", size, timeout=150)
                assert env.sim_cmd("stats")["violations"] == [], \
                    "protocol violation"
                ok = True
            finally:
                env.close(ok)
                srv.close()
    return case
