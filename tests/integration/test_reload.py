#!/usr/bin/env python3
"""SIGHUP: endpoints added, removed or changed take effect without
dropping the clients of unchanged endpoints; a bad file changes nothing."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Env, Server, echo_handler, recv_all, run_cases,  # noqa
                     tcp_endpoint, wait_for)


def rewrite(env, endpoints, extra=""):
    text = open(env.conf).read()
    head = text[:text.index("[daemon]")]
    with open(env.conf, "w") as f:
        f.write(head + "[daemon]\nsocket_dir = %s\nlog_level = info\n%s\n%s"
                % (env.run, extra, endpoints))


def ping(c, msg=b"ping"):
    c.sendall(msg)
    assert recv_all(c, 30, len(msg)) == msg


def case_reload_endpoints():
    srv = Server(echo_handler)
    srv2 = Server(echo_handler)
    env = Env("reload", endpoints=tcp_endpoint("a", srv.port) +
              tcp_endpoint("b", srv.port) + tcp_endpoint("c", srv.port))
    ok = False
    try:
        ca = env.connect("a")
        ping(ca)
        cc = env.connect("c")
        ping(cc)
        # a unchanged (a new limit only), b removed, c changed, d added.
        rewrite(env, tcp_endpoint("a", srv.port, "idle_timeout = 3600") +
                tcp_endpoint("c", srv2.port) + tcp_endpoint("d", srv.port))
        env.daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: os.path.exists(env.sock_path("d")), 10, "d.sock")
        wait_for(lambda: not os.path.exists(env.sock_path("b")), 10,
                 "b.sock removed")
        ping(ca, b"still here")           # unchanged endpoint kept
        assert recv_all(cc, 10) == b"", "changed endpoint's client kept"
        cd = env.connect("d")
        ping(cd)
        cc = env.connect("c")
        ping(cc)
        assert srv2.accepted == 1, "c does not go to its new port"
        # A broken file: errors logged, everything keeps working.
        open(env.conf, "a").write("\n[bogus]\nkey = 1\n")
        env.daemon.send_signal(signal.SIGHUP)
        env.wait_log("reload failed")
        ping(ca, b"after a bad reload")
        assert os.path.exists(env.sock_path("d"))
        for c in (ca, cc, cd):
            c.close()
        ok = True
    finally:
        srv.close()
        srv2.close()
        env.close(ok)


def case_reload_socks_and_modem():
    """[socks] switched on by SIGHUP; a [modem] change re-initialises."""
    srv = Server(echo_handler)
    env = Env("reload2", endpoints=tcp_endpoint("a", srv.port))
    ok = False
    try:
        rewrite(env, tcp_endpoint("a", srv.port) + "[socks]\nenable = yes\n")
        env.daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: os.path.exists(os.path.join(env.run, "socks.sock")),
                 10, "socks.sock")
        text = open(env.conf).read().replace("backoff_max = 2",
                                             "backoff_max = 3")
        open(env.conf, "w").write(text)
        env.daemon.send_signal(signal.SIGHUP)
        env.wait_log("[modem] settings changed")
        env.wait_ready(count=2)
        c = env.connect("a")
        ping(c)
        c.close()
        ok = True
    finally:
        srv.close()
        env.close(ok)


CASES = {
    "reload_endpoints": case_reload_endpoints,
    "reload_socks_and_modem": case_reload_socks_and_modem,
}

if __name__ == "__main__":
    run_cases(CASES, sys.argv)
