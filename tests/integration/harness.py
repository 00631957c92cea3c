"""Integration-test harness: real bg96sim and bg96d processes in a temp dir.

Every test gets a fresh directory, an emulator on a pseudo-terminal, a
daemon configured for it, and loopback servers on ephemeral ports.  All
processes are killed by pid at the end; the emulator must report zero
protocol violations (exit status 0 on SIGTERM).
"""
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BG96D = os.environ.get("BG96D", "build/src/bg96d")
BG96SIM = os.environ.get("BG96SIM", "build/tools/bg96sim/bg96sim")

SKIP = 77


def sha(data):
    return hashlib.sha256(data).hexdigest()


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


# ----------------------------------------------------------------------
# /proc: the daemon's descriptors, memory and CPU, by pid.


CLK_TCK = os.sysconf("SC_CLK_TCK")


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def steady_fd_count(pid, same, timeout, interval=0.1):
    """pid's fd count once it has stayed the same for `same` more samples
    (interval apart), or the last one seen after timeout seconds."""
    last, seen = -1, 0
    end = time.monotonic() + timeout
    while True:
        n = fd_count(pid)
        seen = seen + 1 if n == last else 0
        last = n
        if seen >= same or time.monotonic() >= end:
            return last
        time.sleep(interval)


def proc_status(pid, key):
    """A numeric field of /proc/pid/status (VmRSS, VmHWM...): None if the
    process or the field is missing."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_kib(pid):
    v = proc_status(pid, "VmRSS")
    return -1 if v is None else v


def proc_cpu(pid):
    """utime + stime of pid in seconds (None once it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    fields = s[s.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_children(pid):
    out = []
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            out = [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def proc_comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def real_daemon_pid(root):
    """The bg96d process under a wrap command (strace -f, perf record,
    valgrind...): a descendant named bg96d, else the root itself."""
    todo = [root]
    while todo:
        pid = todo.pop(0)
        if proc_comm(pid).startswith("bg96d"):
            return pid
        todo.extend(proc_children(pid))
    return root


def recv_all(sock, timeout=60.0, limit=None):
    """Read until EOF (or limit bytes); fail on timeout."""
    sock.settimeout(timeout)
    chunks = []
    n = 0
    while limit is None or n < limit:
        b = sock.recv(65536 if limit is None else min(65536, limit - n))
        if not b:
            break
        chunks.append(b)
        n += len(b)
    return b"".join(chunks)


class Server:
    """A loopback TCP server (a Unix one with unix_path) running
    handler(conn) per connection, each in a thread: the one accept loop
    of the tests, the soak and the bench.  Subclasses change the class
    settings or serve(conn, idx) (idx: the connection's accept order)."""

    ACCEPT_POLL = 0.2       # s between looks at self.stop
    CONN_TIMEOUT = 120      # s, each connection's socket timeout
    NODELAY = False         # TCP_NODELAY on accepted connections
    KEEP_CONNS = False      # keep them (in conns) and their threads

    def __init__(self, handler=None, unix_path=None):
        self.handler = handler
        if unix_path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(unix_path)
            self.port = None
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(("127.0.0.1", 0))
            self.port = self.sock.getsockname()[1]
        self.sock.listen(64)
        self.errors = []
        self.results = []
        self.accepted = 0
        self.conns = []
        self.threads = []
        self.lock = threading.Lock()
        self.stop = False
        t = threading.Thread(target=self._loop, daemon=True)
        t.start()

    def _loop(self):
        self.sock.settimeout(self.ACCEPT_POLL)
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            if self.NODELAY:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                idx = self.accepted
                self.accepted += 1
                if self.KEEP_CONNS:
                    self.conns.append(conn)
            t = threading.Thread(target=self._run, args=(conn, idx),
                                 daemon=True)
            if self.KEEP_CONNS:
                self.threads.append(t)
            t.start()

    def _run(self, conn, idx):
        try:
            if self.CONN_TIMEOUT is not None:
                conn.settimeout(self.CONN_TIMEOUT)
            r = self.serve(conn, idx)
            with self.lock:
                self.results.append(r)
        except Exception as e:  # reported by the test
            self.failed(idx, e)
        finally:
            conn.close()

    def serve(self, conn, idx):
        return self.handler(conn)

    def failed(self, idx, e):
        with self.lock:
            self.errors.append(repr(e))

    def join(self, timeout):
        """Wait for the connections' threads (KEEP_CONNS); all done?"""
        end = time.monotonic() + timeout
        for t in list(self.threads):
            t.join(max(0.0, end - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)

    def close(self):
        self.stop = True
        self.sock.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class UdpServer:
    """A loopback UDP server calling datagram(data, addr) for each
    datagram, in one thread: the one receive loop of the tests and the
    soak."""

    POLL = 0.2              # s between looks at self.stop

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = False
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        self.sock.settimeout(self.POLL)
        while not self.stop:
            try:
                data, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                if self.stop:
                    return
                continue
            self.datagram(data, addr)

    def datagram(self, data, addr):
        raise NotImplementedError

    def close(self):
        self.stop = True
        self.sock.close()


def echo_handler(conn):
    n = 0
    while True:
        b = conn.recv(65536)
        if not b:
            break
        conn.sendall(b)
        n += len(b)
    return n


class Env:
    """bg96sim + bg96d in a temp dir.

    The one owner of starting, watching and stopping both processes (the
    tests, the soak, the schedule test and bg96d-bench use it): bg96sim
    with sim_args, bg96d at baud with the given config sections, -v times
    verbose (none for 0), under a wrap command (a list: strace -f, perf
    record...) if given; bg96d and bg96sim default to $BG96D and
    $BG96SIM (the module's BG96D and BG96SIM when the process starts)."""

    def __init__(self, name, sim_args=(), endpoints="", extra_conf="",
                 start_daemon=True, verbose=1, wait_ready=True,
                 modem_conf="", baud=115200, bg96d=None, bg96sim=None,
                 wrap=()):
        self.sim = None
        self.daemon = None
        self.dpid = None
        self.bg96d = bg96d
        self.bg96sim = bg96sim
        self.wrap = list(wrap)
        self.ignore_violations = False  # bg96sim's exit status 3
        self.dir = tempfile.mkdtemp(prefix="bg96-" + name + "-")
        self.link = os.path.join(self.dir, "modem")
        self.run = os.path.join(self.dir, "run")
        self.sim_ctl = os.path.join(self.dir, "sim.ctl")
        self.sim_log = os.path.join(self.dir, "sim.log")
        self.log = os.path.join(self.dir, "bg96d.log")
        self.conf = os.path.join(self.dir, "bg96d.conf")
        self.sim_args = list(sim_args)
        with open(self.conf, "w") as f:
            f.write("[modem]\ndevice = %s\nbaud = %d\n"
                    "registration_timeout = 60\nbackoff_max = 2\n%s\n"
                    "[daemon]\nsocket_dir = %s\nlog_level = info\n"
                    "%s\n%s\n" % (self.link, baud, modem_conf, self.run,
                                   extra_conf, endpoints))
        self.start_sim()
        if start_daemon:
            self.start_daemon(verbose)
            if wait_ready:
                self.wait_ready()

    def start_sim(self):
        args = [self.bg96sim or BG96SIM, "--link", self.link, "--log",
                self.sim_log, "--control", self.sim_ctl] + self.sim_args
        self.sim = subprocess.Popen(args, stdin=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(self.link) or
                 self.sim.poll() is not None, 10, "bg96sim link")
        if self.sim.poll() is not None:
            raise AssertionError("bg96sim exited %s" % self.sim.returncode)

    def start_daemon(self, verbose=1):
        args = self.wrap + [self.bg96d or BG96D, "-c", self.conf] + (
            ["-" + "v" * verbose] if verbose else [])
        self.logf = open(self.log, "ab")
        self.daemon = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                       stdout=self.logf, stderr=self.logf)
        self.dpid = self.daemon.pid

    def log_text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, text, timeout=30, count=1):
        wait_for(lambda: self.log_text().count(text) >= count, timeout,
                 repr(text) + " in bg96d log")

    def wait_ready(self, timeout=30, count=1):
        """count "-> ready" lines in the log; fails at once if bg96d
        exits.  Under a wrap command, finds bg96d's own pid (dpid)."""
        def exited():
            return self.daemon is not None and self.daemon.poll() is not None
        wait_for(lambda: self.log_text().count("-> ready") >= count or
                 exited(), timeout, "'-> ready' in bg96d log")
        if self.log_text().count("-> ready") < count:
            raise AssertionError("bg96d exited %s before ready" %
                                 self.daemon.returncode)
        if self.wrap:
            self.dpid = real_daemon_pid(self.daemon.pid)

    def sock_path(self, name):
        return os.path.join(self.run, name + ".sock")

    def connect(self, name, timeout=60):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.sock_path(name))
        return s

    def sim_cmd(self, cmd):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.sim_ctl)
        s.sendall(cmd.encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            b = s.recv(65536)
            if not b:
                break
            buf += b
        s.close()
        return json.loads(buf)

    def request(self, line, timeout=10):
        """One control socket request; its JSON reply."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(timeout)
            s.connect(os.path.join(self.run, "control.sock"))
            s.sendall(line.encode() + b"\n")
            buf = b""
            while b"\n" not in buf:
                b = s.recv(65536)
                if not b:
                    break
                buf += b
        finally:
            s.close()
        return json.loads(buf.split(b"\n", 1)[0])

    def rss_kib(self):
        return rss_kib(self.daemon.pid)

    def stop_daemon(self, timeout=5.0):
        """SIGTERM to bg96d (itself, not a wrap command), SIGKILL after
        timeout s; returns (exit status, seconds taken)."""
        if self.daemon is None or self.daemon.poll() is not None:
            return (self.daemon.returncode if self.daemon else None, 0)
        pid = self.dpid if self.wrap and self.dpid else self.daemon.pid
        t0 = time.monotonic()
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
        try:
            rc = self.daemon.wait(timeout)
        except subprocess.TimeoutExpired:
            if pid != self.daemon.pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            self.daemon.kill()
            self.daemon.wait()
            raise AssertionError("bg96d did not stop within %.1f s" % timeout)
        return rc, time.monotonic() - t0

    def stop_sim(self):
        if self.sim is None or self.sim.poll() is not None:
            return self.sim.returncode if self.sim else None
        self.sim.send_signal(signal.SIGTERM)
        try:
            return self.sim.wait(10)
        except subprocess.TimeoutExpired:
            self.sim.kill()
            return self.sim.wait()

    def stop(self, daemon_timeout=5.0):
        """Stop bg96d, then bg96sim; the problems seen (an exit status
        other than 0, bg96sim's 3 unless ignore_violations, a bg96d that
        needed SIGKILL)."""
        problems = []
        try:
            rc, _ = self.stop_daemon(daemon_timeout)
            if rc not in (0, None):
                problems.append("bg96d exited %s" % rc)
        except AssertionError as e:
            problems.append(str(e))
        src = self.stop_sim()
        if src not in (0, None) and not (src == 3 and
                                         self.ignore_violations):
            problems.append("bg96sim exited %s (protocol violations?)" % src)
        if getattr(self, "logf", None):
            self.logf.close()
        return problems

    def close(self, ok):
        """Stop everything; check both exit statuses; keep logs on failure."""
        problems = self.stop()
        if problems or not ok:
            for name in (self.log, self.sim_log):
                try:
                    with open(name, "rb") as f:
                        data = f.read()
                    sys.stderr.write("---- %s (last 6000 bytes)\n" % name)
                    sys.stderr.write(data[-6000:].decode("utf-8", "replace"))
                except OSError:
                    pass
        shutil.rmtree(self.dir, ignore_errors=True)
        if problems:
            raise AssertionError("; ".join(problems))


def echo_once(env, name, size=4096):
    """Random bytes through endpoint `name` to an echo server and back."""
    data = os.urandom(size)
    c = env.connect(name, timeout=30)
    try:
        c.sendall(data)
        got = recv_all(c, 30, len(data))
    finally:
        c.close()
    assert got == data, "%s: echoed %d of %d bytes" % (name, len(got),
                                                       len(data))


def tcp_endpoint(name, port, extra="", connect_timeout=30):
    return ("[endpoint %s]\ntype = tcp\nhost = 127.0.0.1\nport = %d\n"
            "connect_timeout = %d\n%s\n" % (name, port, connect_timeout,
                                             extra))


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def udp_endpoint(name, port, extra=""):
    return ("[endpoint %s]\ntype = udp\nhost = 127.0.0.1\nport = %d\n"
            "connect_timeout = 30\n%s\n" % (name, port, extra))


def listener_endpoint(name, local_port, forward, extra=""):
    return ("[endpoint %s]\ntype = tcp-listener\nlocal_port = %d\n"
            "forward = %s\n%s\n" % (name, local_port, forward, extra))


def service_endpoint(name, local_port, fwd_port, extra=""):
    return ("[endpoint %s]\ntype = udp-service\nlocal_port = %d\n"
            "forward = udp:127.0.0.1:%d\n%s\n" % (name, local_port,
                                                   fwd_port, extra))


class Ctl:
    """One control connection: send lines, read JSON reply lines."""

    def __init__(self, env_or_path, timeout=30):
        path = env_or_path if isinstance(env_or_path, str) else \
            os.path.join(env_or_path.run, "control.sock")
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def raw_line(self):
        while b"\n" not in self.buf:
            b = self.s.recv(65536)
            if not b:
                raise AssertionError("EOF before a reply line (have %r)"
                                     % self.buf[:200])
            self.buf += b
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def reply(self):
        line = self.raw_line()
        line.decode("ascii")            # escaped: always plain ASCII
        return json.loads(line)

    def ask(self, line):
        self.send(line + "\n")
        return self.reply()

    def at_eof(self, timeout=10):
        self.s.settimeout(timeout)
        try:
            return self.s.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.s.close()


def grouped(group, fn):
    """Tag case fn with a meson group (`--list GROUP`): cases that need
    other dependencies or timeouts than the file's default ones."""
    fn.group = group
    return fn


def run_cases(cases, argv):
    """Run the named case (or all); print 'N passed, N failed'.

    `--list [GROUP]` prints the case names (those tagged GROUP by grouped(),
    or the untagged ones for GROUP "default"; all without GROUP), one a
    line: meson.build registers one test per name, so a case is named only
    in its file's CASES."""
    if argv[1:2] == ["--list"]:
        group = argv[2] if len(argv) > 2 else None
        for name, fn in cases.items():
            if group is None or getattr(fn, "group", "default") == group:
                print(name)
        sys.exit(0)
    names = argv[1:] or list(cases)
    passed = failed = 0
    for name in names:
        t0 = time.monotonic()
        try:
            r = cases[name]()
            if r == SKIP:
                print("SKIP %s" % name)
                if len(names) == 1:
                    print("0 passed, 0 failed, 1 skipped")
                    sys.exit(SKIP)
                continue
            passed += 1
            print("PASS %s (%.1f s)" % (name, time.monotonic() - t0))
        except Exception as e:
            failed += 1
            import traceback
            traceback.print_exc()
            print("FAIL %s: %s" % (name, e))
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
