#!/usr/bin/env python3
"""The control socket (DESIGN.md section 5) and bg96ctl, end to end:
real bg96sim and bg96d, and a fake control server for bg96ctl's own
edge cases.  Run one case by name, or all."""
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from harness import (Ctl, Env, Server, echo_handler, recv_all,  # noqa: E402
                     tcp_endpoint, wait_for)

BG96CTL = os.environ.get("BG96CTL", "build/src/bg96ctl")

IMEI = "866425030123451"
ICCID = "89882280666027595366"


def ask(env, line):
    c = Ctl(env)
    try:
        return c.ask(line)
    finally:
        c.close()


def ctl_path(env):
    return os.path.join(env.run, "control.sock")


def bg96ctl(*args, timeout=60):
    return subprocess.run([BG96CTL] + list(args), capture_output=True,
                          text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def wait_status(env, pred, timeout, what):
    last = [None]

    def ok():
        last[0] = ask(env, "status")
        return pred(last[0])
    try:
        wait_for(ok, timeout, what)
    except AssertionError:
        raise AssertionError("timed out waiting for %s; last status %s"
                             % (what, json.dumps(last[0])))
    return last[0]


def rewrite_conf(env, extra):
    """The harness's config plus extra text at the end."""
    with open(env.conf) as f:
        text = f.read()
    if not hasattr(env, "orig_conf"):
        env.orig_conf = text
    with open(env.conf, "w") as f:
        f.write(env.orig_conf + "\n" + extra)


def case_status():
    """status: modem facts from the emulator, the radio refresh, a socket
    entry with exact byte counters while a client is bridged, the
    endpoint list and the counters."""
    srv = Server(echo_handler)
    env = Env("ctl-status", endpoints=tcp_endpoint("echo", srv.port))
    ok = False
    try:
        st = stat.S_IMODE(os.stat(ctl_path(env)).st_mode)
        assert st == 0o600, "default mode %o" % st
        r = wait_status(env, lambda r: r["modem"]["operator"] is not None
                        and r["modem"]["rat"] is not None
                        and r["modem"]["rssi_dbm"] is not None, 20,
                        "radio facts")
        assert r["ok"] is True
        m = r["modem"]
        assert m["state"] == "ready", m
        assert m["imei"] == IMEI, m
        assert m["iccid"] == ICCID, m
        assert "BG96MAR02A07M1G" in m["firmware"], m
        assert m["ip"] == "10.44.0.17", m
        assert m["registered"] is True, m
        assert m["operator"] == "bg96sim", m
        assert m["rat"] == "CAT-M1", m
        assert m["rssi_dbm"] == -73, m     # +QCSQ's rssi beats +CSQ's -73
        assert r["sockets"] == [], r["sockets"]
        eps = r["endpoints"]
        assert len(eps) == 1, eps
        e = eps[0]
        assert e["name"] == "echo" and e["type"] == "tcp", e
        assert e["socket"] == env.sock_path("echo"), e
        assert (e["active"], e["accepted"], e["refused"], e["failed"]) == \
            (0, 0, 0, 0), e
        cnt = r["counters"]
        for k in ("bringups", "reboots", "pdp_lost", "line_lost",
                  "unresponsive", "at_commands", "at_timeouts",
                  "at_bytes_in", "at_bytes_out"):
            assert isinstance(cnt.get(k), int), (k, cnt)
        assert cnt["bringups"] == 1 and cnt["reboots"] == 0, cnt
        assert cnt["at_commands"] > 0, cnt

        data = os.urandom(3000)
        c = env.connect("echo")
        c.sendall(data)
        got = recv_all(c, 30, len(data))
        assert got == data, "echo corrupted"

        def counted(r):
            return (len(r["sockets"]) == 1 and
                    r["sockets"][0]["bytes_up"] == len(data) and
                    r["sockets"][0]["bytes_down"] == len(data))
        r = wait_status(env, counted, 10, "socket byte counters")
        s = r["sockets"][0]
        assert 0 <= s["id"] <= 11, s
        assert s["endpoint"] == "echo", s
        assert s["type"] == "tcp" and s["state"] == "open", s
        assert s["remote"] == "127.0.0.1:%d" % srv.port, s
        assert isinstance(s["age_s"], int) and 0 <= s["age_s"] < 60, s
        e = r["endpoints"][0]
        assert e["active"] == 1 and e["accepted"] == 1, e
        c.close()
        wait_status(env, lambda r: r["sockets"] == [], 20, "slot freed")
        assert not srv.errors, srv.errors
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_pipeline():
    """Many requests on one connection, in one write or split across
    writes, answered one line each, in order (an "at" in the middle
    holds back the requests after it)."""
    env = Env("ctl-pipe")
    ok = False
    try:
        c = Ctl(env)
        c.send("status\nat AT+CSQ\nbogus\nat AT+GSN\nat AT+GSN?\nstatus\n")
        r = [c.reply() for _ in range(6)]
        assert r[0]["ok"] and r[0]["modem"]["state"] == "ready", r[0]
        assert r[1] == {"ok": True, "lines": ["+CSQ: 20,99"],
                        "result": "OK"}, r[1]
        assert r[2] == {"ok": False, "error": "unknown request"}, r[2]
        assert r[3]["ok"] and r[3]["lines"] == [IMEI], r[3]
        assert r[4]["ok"] is False and r[4]["result"] == "ERROR", r[4]
        assert r[5]["ok"] and "counters" in r[5], r[5]
        # Split across writes, CRLF line ends.
        for part in ("sta", "tus\r", "\nat AT+", "CSQ\r\n"):
            c.send(part)
            time.sleep(0.05)
        assert c.reply()["modem"]["state"] == "ready"
        assert c.reply()["lines"] == ["+CSQ: 20,99"]
        # Fifty in a row.
        c.send("at AT+CSQ\nstatus\n" * 25)
        for i in range(50):
            r = c.reply()
            assert r["ok"], r
            assert ("lines" in r) == (i % 2 == 0), (i, r)
        c.close()
        ok = True
    finally:
        env.close(ok)


def case_at():
    """at: info lines and OK for the allowlisted commands; answers that
    look like URCs (+CEREG:) still reach the requester."""
    env = Env("ctl-at")
    ok = False
    try:
        c = Ctl(env)
        r = c.ask("at AT+CSQ")
        assert r == {"ok": True, "lines": ["+CSQ: 20,99"], "result": "OK"}, r
        r = c.ask("at ATI")
        assert r["ok"] and r["lines"] == ["Quectel", "BG96",
                                          "Revision: BG96MAR02A07M1G"], r
        r = c.ask("at at+gsn")
        assert r["ok"] and r["lines"] == [IMEI], r
        r = c.ask("at AT+CGSN")
        assert r["ok"] and r["lines"] == [IMEI], r
        r = c.ask("at AT+QCCID")
        assert r["ok"] and r["lines"] == ["+QCCID: " + ICCID], r
        r = c.ask("at AT+QGMR")
        assert r["ok"] and r["lines"][0].startswith("BG96MAR02A07M1G"), r
        r = c.ask("at AT+COPS?")
        assert r["ok"] and r["lines"] == ['+COPS: 0,0,"bg96sim",8'], r
        r = c.ask("at AT+QCSQ")
        assert r["ok"] and r["lines"][0].startswith('+QCSQ: "CAT-M1"'), r
        r = c.ask("at AT+QNWINFO")
        assert r["ok"] and r["lines"][0].startswith('+QNWINFO: "CAT-M1"'), r
        r = c.ask("at AT+CEREG?")
        assert r["ok"] and len(r["lines"]) == 1 and \
            r["lines"][0].startswith("+CEREG: "), r
        r = c.ask("at AT+CPIN?")
        assert r["ok"] and r["lines"] == ["+CPIN: READY"], r
        r = c.ask("at AT+CSQ=?")
        assert r["ok"] and r["lines"] == ["+CSQ: (0-31,99),(0-7,99)"], r
        r = c.ask("at AT+QIDNSGIP=1,\"localhost\"")
        assert r["result"] in ("OK", "ERROR"), r
        c.close()
        # The daemon is still in step with the modem.
        assert ask(env, "at AT+CSQ")["ok"]
        ok = True
    finally:
        env.close(ok)


def case_at_error():
    """A final ERROR from the modem: ok false, the result passed on."""
    env = Env("ctl-at-error")
    ok = False
    try:
        r = ask(env, "at AT+GSN?")
        assert r["ok"] is False and r["result"] == "ERROR", r
        assert r["lines"] == [] and "ERROR" in r["error"], r
        r = ask(env, "at AT+QXYZ?")     # unknown to the modem
        assert r["ok"] is False and r["result"] == "ERROR", r
        assert ask(env, "at AT+CSQ")["ok"]
        ok = True
    finally:
        env.close(ok)


REFUSED = [
    "AT+CFUN=1,1", "AT+CFUN=0", "ATE1", "ATE0", "ATZ", "AT&F", "AT&W",
    "AT+IPR=9600", "AT+IFC=2,2", "AT+QPOWD", "AT+QPOWD=1",
    'AT+QICFG="dataformat",0,0',
    'AT+QIOPEN=1,0,"TCP","127.0.0.1",80,0,0', "AT+QISEND=0,0",
    "AT+QISEND=0,5", "AT+QIRD=0,1500", "AT+QICLOSE=0", "AT+QISWTMD=0,1",
    "AT+QIACT=1", "AT+QIDEACT=1", "+++", "ATO", "AT", "ATZ?", "ATE1?",
    "AT+CFUN=1,1?", "AT+CSQ;+CFUN=0", "AT+CSQ;", "AT+CSQ\x1b",
    "AT+CSQ\x1a", "AT+CSQ\x1b[A", "AT+CSQ\t", "AT+C\x7fSQ",
    "AT+CSQ\xc3\xa9", "CSQ", "A", "AT+QPING=", "AT+CSQ " + "x" * 600,
    "ATI0", "AT+CGSN=1",
]


def case_at_refused():
    """The allowlist: state-changing commands, chaining, control bytes
    and oversize text never reach the modem."""
    env = Env("ctl-at-refused")
    ok = False
    try:
        before = env.sim_cmd("stats")["commands"]
        c = Ctl(env)
        for cmd in REFUSED:
            c.send(b"at " + cmd.encode("latin-1") + b"\n")
            r = c.reply()
            assert r["ok"] is False and r["error"], (cmd, r)
            assert "lines" not in r, (cmd, r)
            assert r["error"] != "unknown request", (cmd, r)
        r = c.ask("at AT+CSQ")
        assert r["ok"], r
        c.close()
        after = env.sim_cmd("stats")["commands"]
        for name in ("AT+CFUN", "AT+QPOWD", "ATZ", "AT&F", "AT+IPR",
                     "AT+IFC", "AT+QICFG", "AT+QISWTMD", "ATO"):
            assert after.get(name, 0) == before.get(name, 0), \
                (name, before, after)
        assert after.get("AT+CSQ", 0) >= before.get("AT+CSQ", 0) + 1
        ok = True
    finally:
        env.close(ok)


def case_overlong():
    """A 1024-byte line is a request; a longer one gets an error reply
    and the connection is closed."""
    env = Env("ctl-overlong")
    ok = False
    try:
        c = Ctl(env)
        r = c.ask("x" * 1024)
        assert r == {"ok": False, "error": "unknown request"}, r
        assert c.ask("status")["ok"]
        c.send("status " + "x" * 2000 + "\nstatus\n")
        r = c.reply()
        assert r["ok"] is False and "too long" in r["error"], r
        assert c.at_eof(), "connection not closed after an overlong line"
        c.close()
        # Without any newline at all.
        c = Ctl(env)
        c.send("y" * 5000)
        r = c.reply()
        assert r["ok"] is False and "too long" in r["error"], r
        assert c.at_eof()
        c.close()
        assert ask(env, "status")["ok"]
        ok = True
    finally:
        env.close(ok)


def case_unknown():
    """Anything else, the empty line included, is an unknown request;
    the connection stays usable.  A last line without "\\n" before EOF
    is answered too."""
    env = Env("ctl-unknown")
    ok = False
    try:
        c = Ctl(env)
        for line in ("", "foo", "STATUS", "status now", "at", " status",
                     "reset please", "st\x00atus"):
            r = c.ask(line)
            assert r == {"ok": False, "error": "unknown request"}, (line, r)
        assert c.ask("status")["ok"]
        c.close()
        c = Ctl(env)
        c.send("status")
        c.s.shutdown(socket.SHUT_WR)
        assert c.reply()["ok"]
        assert c.at_eof()
        c.close()
        ok = True
    finally:
        env.close(ok)


def case_reset():
    """reset: the modem goes through probing back to ready, bridged
    clients are closed, new clients are served."""
    srv = Server(echo_handler)
    env = Env("ctl-reset", endpoints=tcp_endpoint("echo", srv.port))
    ok = False
    try:
        cl = env.connect("echo")
        cl.sendall(b"ping")
        assert recv_all(cl, 30, 4) == b"ping"
        r = ask(env, "reset")
        assert r == {"ok": True}, r
        cl.settimeout(30)
        try:
            rest = cl.recv(100)
        except ConnectionResetError:
            rest = b""
        assert rest == b"", "bridged client not closed: %r" % rest
        cl.close()
        env.wait_log("-> probing", 20)
        env.wait_ready(30, count=2)
        r = wait_status(env, lambda r: r["modem"]["state"] == "ready", 20,
                        "ready again")
        assert r["counters"]["bringups"] == 2, r["counters"]
        cl = env.connect("echo")
        cl.sendall(b"again")
        assert recv_all(cl, 30, 5) == b"again"
        cl.close()
        ok = True
    finally:
        srv.close()
        env.close(ok)


def case_mode():
    """[control] mode sets the socket file's mode."""
    env = Env("ctl-mode", extra_conf="[control]\nmode = 0640\n")
    ok = False
    try:
        st = os.stat(ctl_path(env))
        assert stat.S_ISSOCK(st.st_mode), "not a socket"
        assert stat.S_IMODE(st.st_mode) == 0o640, \
            "mode %o" % stat.S_IMODE(st.st_mode)
        assert ask(env, "status")["ok"]
        ok = True
    finally:
        env.close(ok)


def case_sighup():
    """SIGHUP: enable = no removes the socket (an open client keeps
    working), enable = yes brings it back, a new mode is applied."""
    env = Env("ctl-sighup")
    ok = False
    try:
        path = ctl_path(env)
        kept = Ctl(env)
        rewrite_conf(env, "[control]\nenable = no\n")
        env.daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: not os.path.exists(path), 10, "control.sock gone")
        assert kept.ask("status")["ok"]
        kept.close()
        rewrite_conf(env, "[control]\nmode = 0660\n")
        env.daemon.send_signal(signal.SIGHUP)
        # The file appears at bind(), its mode a moment later.
        wait_for(lambda: os.path.exists(path) and
                 stat.S_IMODE(os.stat(path).st_mode) == 0o660, 10,
                 "control.sock back with mode 0660")
        assert ask(env, "status")["ok"]
        rewrite_conf(env, "[control]\nmode = 0600\n")
        env.daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: stat.S_IMODE(os.stat(path).st_mode) == 0o600, 10,
                 "mode 0600")
        assert ask(env, "status")["ok"]
        ok = True
    finally:
        env.close(ok)


def case_disabled():
    """enable = no at start: no socket file at all."""
    env = Env("ctl-disabled", extra_conf="[control]\nenable = no\n")
    ok = False
    try:
        assert not os.path.exists(ctl_path(env))
        r = bg96ctl("-s", ctl_path(env), "status")
        assert r.returncode == 1 and "cannot reach bg96d" in r.stderr, r
        ok = True
    finally:
        env.close(ok)


def case_absent():
    """No serial line: at says "modem absent", status still answers."""
    env = Env("ctl-absent")
    ok = False
    try:
        env.stop_sim()
        env.wait_log("recovering", 20)
        r = ask(env, "at AT+CSQ")
        assert r == {"ok": False, "error": "modem absent"}, r
        r = ask(env, "status")
        assert r["ok"] and r["modem"]["state"] in ("absent", "recovering",
                                                   "probing"), r["modem"]
        assert r["modem"]["rssi_dbm"] is None, r["modem"]
        ok = True
    finally:
        env.close(ok)


def case_clients():
    """At most 16 clients at once; clients vanishing with commands
    queued or in flight (closed, reset) leave the daemon healthy."""
    env = Env("ctl-clients")
    ok = False
    try:
        held = [Ctl(env) for _ in range(16)]
        for c in held:
            assert c.ask("status")["ok"]
        extra = Ctl(env)
        r = extra.reply()
        assert r["ok"] is False and "too many" in r["error"], r
        assert extra.at_eof()
        extra.close()
        for c in held:
            c.close()
        # Vanish with work pending: plain close, and close with unread
        # replies (the daemon's next read fails with ECONNRESET).
        for i in range(40):
            def attempt():
                try:
                    c = Ctl(env, timeout=5)
                except OSError:
                    return False
                try:
                    if i % 2:
                        c.send("status\n")
                        time.sleep(0.02)
                    c.send("at AT+CSQ\nat ATI\nat AT+COPS?\nstatus\n" * 3)
                except OSError:
                    pass        # refused: all 16 still busy
                c.close()
                return True
            wait_for(attempt, 10, "a control slot")
        assert env.daemon.poll() is None, "bg96d died"

        def healthy():
            try:
                return ask(env, "at AT+CSQ")["ok"]
            except (OSError, AssertionError):
                return False
        wait_for(healthy, 20, "a working control socket")
        r = ask(env, "status")
        assert r["modem"]["state"] == "ready", r["modem"]
        assert r["counters"]["at_timeouts"] == 0, r["counters"]
        ok = True
    finally:
        env.close(ok)


def case_async():
    """An "at" waits for the modem without blocking other clients; the
    same client's next requests wait for it.  Clients that vanish while
    their command is queued or in flight, and SIGTERM with a command in
    flight, leave everything consistent."""
    env = Env("ctl-async")
    ok = False
    try:
        a = Ctl(env)
        env.sim_cmd("stall 4")
        t0 = time.monotonic()
        a.send("at AT+CSQ\nstatus\n")
        time.sleep(0.2)
        r = ask(env, "status")          # another client: not held back
        assert r["ok"], r
        assert time.monotonic() - t0 < 3, "status waited for the modem"
        r = a.reply()
        assert time.monotonic() - t0 >= 3.5, "stall not in effect?"
        assert r == {"ok": True, "lines": ["+CSQ: 20,99"],
                     "result": "OK"}, r
        assert "modem" in a.reply()
        a.close()
        # Vanish with a command in flight and one queued behind it.
        env.sim_cmd("stall 2")
        b = Ctl(env)
        b.send("at AT+CSQ\nat ATI\n")
        c = Ctl(env)
        c.send("at AT+QGMR\n")
        time.sleep(0.3)
        b.close()
        c.close()
        time.sleep(2.5)
        assert ask(env, "at ATI")["lines"][0] == "Quectel"
        r = ask(env, "status")
        assert r["counters"]["at_timeouts"] == 0, r["counters"]
        # SIGTERM while a command is in flight: clean exit 0 within 5 s.
        env.sim_cmd("stall 2")
        d = Ctl(env)
        d.send("at AT+CSQ\n")
        time.sleep(0.3)
        rc, took = env.stop_daemon()
        assert rc == 0 and took < 5, (rc, took)
        assert d.at_eof()
        d.close()
        ok = True
    finally:
        env.close(ok)


def case_bg96ctl():
    """bg96ctl against the daemon: status table, --json, at, reset."""
    srv = Server(echo_handler)
    env = Env("ctl-bg96ctl", endpoints=tcp_endpoint("echo", srv.port))
    ok = False
    try:
        path = ctl_path(env)
        c = env.connect("echo")
        c.sendall(b"abc")
        assert recv_all(c, 30, 3) == b"abc"
        r = bg96ctl("-s", path, "status")
        assert r.returncode == 0, r
        for text in ("state", "ready", IMEI, ICCID, "10.44.0.17",
                     "sockets:", "endpoints:", "counters:", "echo",
                     "line: command\n",
                     "127.0.0.1:%d" % srv.port, env.sock_path("echo")):
            assert text in r.stdout, (text, r.stdout)
        r = bg96ctl("status", "--json", "-s", path)
        assert r.returncode == 0, r
        j = json.loads(r.stdout)
        assert j["ok"] and j["modem"]["imei"] == IMEI, j
        assert r.stdout.count("\n") == 1, r.stdout
        r = bg96ctl("-s", path, "at", "AT+CSQ")
        assert r.returncode == 0 and r.stdout == "+CSQ: 20,99\n", r
        r = bg96ctl("at", "AT+CSQ", "-s", path, "--json")
        assert r.returncode == 0 and json.loads(r.stdout)["lines"] == \
            ["+CSQ: 20,99"], r
        r = bg96ctl("-s", path, "at", "AT+GSN?")
        assert r.returncode == 1 and "ERROR" in r.stderr, r
        r = bg96ctl("-s", path, "at", "AT+CFUN=1,1")
        assert r.returncode == 1 and "not allowed" in r.stderr, r
        r = bg96ctl("-s", path, "reset")
        assert r.returncode == 0 and r.stdout == "ok\n", r
        c.settimeout(30)
        try:
            assert c.recv(10) == b""
        except ConnectionResetError:
            pass
        c.close()
        env.wait_ready(30, count=2)
        ok = True
    finally:
        srv.close()
        env.close(ok)


class FakeDaemon:
    """A control socket that records requests and answers canned text."""

    def __init__(self, path, reply):
        self.path = path
        self.reply = reply
        self.requests = []
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.bind(path)
        self.s.listen(4)
        self.s.settimeout(0.2)
        self.stop = False
        self.t = threading.Thread(target=self._loop, daemon=True)
        self.t.start()

    def _loop(self):
        while not self.stop:
            try:
                c, _ = self.s.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            c.settimeout(20)
            buf = b""
            try:
                while b"\n" not in buf:
                    b = c.recv(4096)
                    if not b:
                        break
                    buf += b
                self.requests.append(buf)
                if self.reply is not None:
                    c.sendall(self.reply)
                    c.close()
                else:
                    time.sleep(15)      # never answer
                    c.close()
            except OSError:
                c.close()

    def close(self):
        self.stop = True
        self.s.close()


def case_bg96ctl_fake():
    """bg96ctl's own side: words joined after "at", reset, replies that
    are malformed, hostile or missing."""
    d = tempfile.mkdtemp(prefix="bg96ctl-")
    try:
        path = os.path.join(d, "c.sock")
        f = FakeDaemon(path, b'{"ok":true,"lines":["a\\u00e9\\u001b[2J",'
                             b'"\\ud83d\\ude00 x"],"result":"OK"}\n')
        r = bg96ctl("-s", path, "at", 'AT+QPING=1,"host"', "4", "1")
        assert r.returncode == 0, r
        assert f.requests[-1] == b'at AT+QPING=1,"host" 4 1\n', f.requests
        assert "\x1b" not in r.stdout, repr(r.stdout)
        assert r.stdout.startswith("a\u00e9?[2J\n"), repr(r.stdout)
        r = bg96ctl("-s", path, "reset")
        assert f.requests[-1] == b"reset\n" and r.returncode == 0, r
        r = bg96ctl("-s", path, "status")
        assert f.requests[-1] == b"status\n" and r.returncode == 0, r
        f.close()
        os.unlink(path)
        bad = [b"not json\n", b'{"ok":tru}\n', b'{"ok":"yes"}\n',
               b'[1,2]\n', b'{"ok":true\n', b'{"ok":true}garbage\n',
               b'"\\ud800"\n', b"[" * 5000 + b"\n", b"", b'{"a":"\x01"}\n',
               b'{"ok":true,"modem":[1,{"x":null}],"sockets":{},'
               b'"endpoints":[1,"x",null],"counters":7}\n']
        for i, reply in enumerate(bad):
            p = os.path.join(d, "b%d.sock" % i)
            f = FakeDaemon(p, reply)
            r = bg96ctl("-s", p, "status")
            if i == len(bad) - 1:
                # Well-formed, odd shape: printed without crashing.
                assert r.returncode == 0, (reply, r)
            else:
                assert r.returncode == 1, (reply, r)
                assert r.stderr.startswith("bg96ctl: "), (reply, r)
            assert r.returncode >= 0, ("crashed", reply, r)
            r = bg96ctl("--json", "-s", p, "at", "AT+CSQ")
            assert r.returncode in (0, 1), (reply, r)
            f.close()
        # A line lent to a transparent connection, with its byte counts.
        p = os.path.join(d, "lent.sock")
        f = FakeDaemon(p, b'{"ok":true,"line":"data:mqtt#11",'
                          b'"line_bytes_up":12,"line_bytes_down":345}\n')
        r = bg96ctl("-s", p, "status")
        assert r.returncode == 0, r
        assert "line: data:mqtt#11 (up 12, down 345)\n" in r.stdout, r
        f.close()
        f = FakeDaemon(os.path.join(d, "slow.sock"), None)
        t0 = time.monotonic()
        r = bg96ctl("-s", os.path.join(d, "slow.sock"), "status")
        assert r.returncode == 1 and "no reply" in r.stderr, r
        assert time.monotonic() - t0 < 30
        f.close()
    finally:
        subprocess.run(["rm", "-rf", d])


def case_bg96ctl_unreachable():
    """A socket path that does not exist, or nobody listening on it."""
    d = tempfile.mkdtemp(prefix="bg96ctl-")
    try:
        path = os.path.join(d, "nothing", "control.sock")
        r = bg96ctl("-s", path, "status")
        assert r.returncode == 1, r
        assert "bg96ctl: cannot reach bg96d at %s: " % path in r.stderr, r
        assert r.stdout == "", r
        stale = os.path.join(d, "stale.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(stale)
        s.close()
        r = bg96ctl("-s", stale, "at", "AT+CSQ")
        assert r.returncode == 1, r
        assert "cannot reach bg96d at %s: " % stale in r.stderr, r
        if os.geteuid() != 0:
            locked = os.path.join(d, "locked")
            os.mkdir(locked, 0o700)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(os.path.join(locked, "c.sock"))
            s.listen(1)
            os.chmod(os.path.join(locked, "c.sock"), 0)
            r = bg96ctl("-s", os.path.join(locked, "c.sock"), "status")
            assert r.returncode == 1 and "ermission denied" in r.stderr, r
            s.close()
    finally:
        subprocess.run(["rm", "-rf", d])


def case_bg96ctl_usage():
    """Bad usage exits 64 with a usage message; --help exits 0."""
    for args in ([], ["bogus"], ["at"], ["status", "x"], ["reset", "now"],
                 ["-x", "status"], ["-s"], ["--json"],
                 ["at", "AT+CSQ\nreset"], ["at", "A" * 2000]):
        r = bg96ctl(*args)
        assert r.returncode == 64, (args, r)
        assert r.stderr, (args, r)
        assert r.stdout == "", (args, r)
    r = bg96ctl("--help")
    assert r.returncode == 0 and "usage" in r.stderr, r
    r = bg96ctl("-V")
    assert r.returncode == 0 and r.stdout.startswith("bg96ctl "), r


CASES = {name[5:]: fn for name, fn in globals().items()
         if name.startswith("case_")}


if __name__ == "__main__":
    from harness import run_cases
    run_cases(CASES, sys.argv)
