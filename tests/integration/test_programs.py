#!/usr/bin/env python3
"""Real programs through the daemon in every tcp access mode (issue 15):
curl downloads a file from a loopback HTTP server, and an MQTT session
(mosquitto_sub and mosquitto_pub over --unix, to a real mosquitto broker
on loopback) carries messages both ways, through buffer, transparent and
auto endpoints.  A program that is not installed skips its cases (the
quick start installs curl and mosquitto)."""
import os
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SKIP, Env, sha, tcp_endpoint, wait_for  # noqa: E402
from test_transparent import FAST, FAST_BAUD, line  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening(port):
    def up():
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            return False
    wait_for(up, 15, "server on port %d" % port)


def mode_env(name, port, mode):
    return Env(name, sim_args=FAST, baud=FAST_BAUD,
               modem_conf="transparent_reenter = 1\n",
               endpoints=tcp_endpoint("svc", port,
                                      "access_mode = %s\n" % mode))


def curl_case(mode):
    curl = shutil.which("curl")
    if curl is None:
        return SKIP
    root = os.path.join("/tmp", "bg96-www-%s-%d" % (mode, os.getpid()))
    os.makedirs(root, exist_ok=True)
    body = os.urandom(300 * 1024)
    with open(os.path.join(root, "file.bin"), "wb") as f:
        f.write(body)
    port = free_port()
    http = subprocess.Popen([sys.executable, "-m", "http.server", str(port),
                             "--bind", "127.0.0.1", "--directory", root],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    env = None
    ok = False
    try:
        listening(port)
        env = mode_env("curl-" + mode, port, mode)
        for i in range(2):      # twice: the second after a close
            out = os.path.join(env.dir, "out%d.bin" % i)
            r = subprocess.run([curl, "-sS", "--max-time", "60", "-o", out,
                                "--unix-socket", env.sock_path("svc"),
                                "http://x/file.bin"], timeout=90)
            assert r.returncode == 0, "curl exit %d" % r.returncode
            with open(out, "rb") as f:
                assert sha(f.read()) == sha(body), "download corrupted"
        wait_for(lambda: line(env) == "command", 30, "line back")
        if mode != "buffer":
            c = env.request("status")["counters"]
            if mode == "auto":
                assert c["auto_entries"] >= 1, c
        ok = True
    finally:
        http.kill()
        http.wait()
        shutil.rmtree(root, ignore_errors=True)
        if env:
            env.close(ok)


def mqtt_round(env, sub, pub, sub_via, pub_vias, procs):
    """A subscriber (QoS 1) and 10 messages from each publisher route,
    in order; every message arrives once."""
    n = 10 * len(pub_vias)
    out = open(os.path.join(env.dir, "sub-%d.out" % len(procs)), "w+")
    s = subprocess.Popen([sub] + sub_via + ["-t", "bg96/test", "-C", str(n),
                          "-W", "90", "-q", "1"], stdout=out,
                         stderr=subprocess.STDOUT)
    procs.append(s)
    if sub_via[0] == "--unix":
        wait_for(lambda: any(sl.get("endpoint") == "svc" for sl in
                             env.request("status")["sockets"]),
                 30, "subscriber connected through the modem")
    time.sleep(1.0)         # the subscription is made
    sent = []
    for via in pub_vias:
        for i in range(10):
            msg = "m%d-%s" % (len(sent), os.urandom(8).hex())
            sent.append(msg)
            r = subprocess.run([pub] + via + ["-t", "bg96/test", "-q", "1",
                                              "-m", msg], timeout=60)
            assert r.returncode == 0, "mosquitto_pub exit %d" % r.returncode
    assert s.wait(120) == 0, "mosquitto_sub exit %s" % s.returncode
    out.seek(0)
    got = out.read().split()
    out.close()
    assert got == sent, "subscriber got %r, sent %r" % (got, sent)


def mqtt_case(mode):
    broker = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto")
        else None)
    pub, sub = shutil.which("mosquitto_pub"), shutil.which("mosquitto_sub")
    if broker is None or pub is None or sub is None:
        return SKIP
    port = free_port()
    env = None
    procs = []
    ok = False
    try:
        env = mode_env("mqtt-" + mode, port, mode)
        conf = os.path.join(env.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\n"
                    "persistence false\n" % port)
        procs.append(subprocess.Popen([broker, "-c", conf],
                                      stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        listening(port)
        sock = env.sock_path("svc")
        via_modem = ["--unix", sock]
        on_loopback = ["-h", "127.0.0.1", "-p", str(port)]
        if mode == "transparent":
            # One connection holds the line at a time: the subscriber's
            # session through the modem gets what loopback publishes,
            # then a publisher through the modem feeds a loopback one.
            mqtt_round(env, sub, pub, via_modem, [on_loopback], procs)
            mqtt_round(env, sub, pub, on_loopback, [via_modem], procs)
        else:
            # The subscriber's session through the modem gets 10
            # messages from loopback, then 10 from publishers through
            # the modem (second clients: auto mode escapes for them).
            mqtt_round(env, sub, pub, via_modem, [on_loopback, via_modem],
                       procs)
        if mode == "auto":
            c = env.request("status")["counters"]
            assert c["auto_entries"] >= 1 and c["auto_escapes"] >= 1, c
        ok = True
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        if env:
            env.close(ok)


CASES = {}
for _m in ("buffer", "transparent", "auto"):
    CASES["curl_" + _m] = (lambda m: lambda: curl_case(m))(_m)
    CASES["mqtt_" + _m] = (lambda m: lambda: mqtt_case(m))(_m)

if __name__ == "__main__":
    from harness import run_cases
    run_cases(CASES, sys.argv)
