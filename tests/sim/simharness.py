"""The Sim harness shared by the bg96sim tests (test_transcripts.py,
test_adversarial.py): bg96sim on a pty with its control socket, the
host-side helpers, and the runner (a per-test alarm, 'ok'/'FAIL' lines).

Python 3 standard library only.  Every wait is bounded, every process is
killed by its pid, every temporary directory is removed.
"""

import errno
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import time
import traceback
import tty

SIM = None              # the bg96sim binary: run_tests() sets it
READ_TIMEOUT = 3.0      # seconds, for any single expected answer
TEST_TIMEOUT = 30       # seconds, hard cap per test


class Failure(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Sim:
    """One bg96sim process, with the host side of its serial line."""

    def __init__(self, *args, boot=True):
        self.dir = tempfile.mkdtemp(prefix='bg96sim-test-')
        self.link = os.path.join(self.dir, 'tty')
        self.ctl_path = os.path.join(self.dir, 'control.sock')
        self.log = os.path.join(self.dir, 'sim.log')
        self.fd = None
        self.buf = b''
        self.expect_status = 0
        self.proc = subprocess.Popen(
            [SIM, '--link', self.link, '--control', self.ctl_path,
             '--log', self.log] + list(args),
            stdin=subprocess.DEVNULL)
        try:
            self.open_link()
            if boot:
                self.expect(b'\r\nRDY\r\n')
        except BaseException:
            self.kill()
            raise

    # process and line

    def open_link(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while not os.path.islink(self.link):
            check(self.proc.poll() is None,
                  'bg96sim exited with %s before linking' % self.proc.returncode)
            check(time.monotonic() < deadline, 'link never appeared')
            time.sleep(0.01)
        if self.fd is not None:
            os.close(self.fd)
        self.fd = os.open(self.link, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        # TCSANOW: TCSAFLUSH would throw away the RDY already queued.
        tty.setraw(self.fd, termios.TCSANOW)
        self.buf = b''

    def close_line(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def stop(self):
        """SIGTERM, then the exit status (bounded wait, then SIGKILL)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
                raise Failure('bg96sim ignored SIGTERM')
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.cleanup()

    def cleanup(self):
        self.close_line()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, n=40):
        try:
            with open(self.log, 'r', errors='replace') as f:
                return ''.join(f.readlines()[-n:])
        except OSError:
            return '(no log)'

    def __enter__(self):
        return self

    def __exit__(self, etype, value, tb):
        if etype is not None:
            sys.stderr.write('--- bg96sim log tail ---\n%s' % self.log_tail())
            self.kill()
            return False
        try:
            status = self.stop()
            if status != self.expect_status:
                sys.stderr.write('--- bg96sim log tail ---\n%s'
                                 % self.log_tail())
                raise Failure('bg96sim exit status %s, expected %s'
                              % (status, self.expect_status))
            check(not os.path.lexists(self.link),
                  'the link is still there after exit')
        finally:
            self.cleanup()
        return False

    # reading and writing the line

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([self.fd], [], [], left)
        if not r:
            return False
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return True
        except OSError as e:
            if e.errno == errno.EIO:
                raise Failure('serial line hung up; have %r' % self.buf)
            raise
        self.buf += data
        return True

    def expect(self, want, timeout=READ_TIMEOUT):
        """The next bytes from the modem are exactly want."""
        deadline = time.monotonic() + timeout
        while True:
            n = min(len(self.buf), len(want))
            if self.buf[:n] != want[:n]:
                raise Failure('expected %r\n       got %r' % (want, self.buf))
            if len(self.buf) >= len(want):
                break
            if not self._fill(deadline):
                raise Failure('timeout: expected %r\n            got %r'
                              % (want, self.buf))
        self.buf = self.buf[len(want):]

    def read(self, n, timeout=READ_TIMEOUT):
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            if not self._fill(deadline):
                raise Failure('timeout: wanted %d bytes, have %r'
                              % (n, self.buf))
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def line(self, timeout=READ_TIMEOUT):
        """One framed line "\\r\\n<text>\\r\\n": returns text."""
        self.expect(b'\r\n', timeout)
        deadline = time.monotonic() + timeout
        while b'\r\n' not in self.buf:
            if not self._fill(deadline):
                raise Failure('timeout reading a line: %r' % self.buf)
        i = self.buf.index(b'\r\n')
        text, self.buf = self.buf[:i], self.buf[i + 2:]
        return text

    def quiet(self, t=0.2):
        """Nothing comes from the modem for t seconds."""
        deadline = time.monotonic() + t
        while self._fill(deadline):
            pass
        check(self.buf == b'', 'unexpected bytes: %r' % self.buf)

    def send(self, data, timeout=READ_TIMEOUT):
        deadline = time.monotonic() + timeout
        while data:
            _, w, _ = select.select([], [self.fd], [],
                                    max(0, deadline - time.monotonic()))
            check(w, 'cannot write to the line')
            try:
                n = os.write(self.fd, data)
            except BlockingIOError:
                continue
            data = data[n:]

    def cmd(self, line, want, timeout=READ_TIMEOUT):
        self.send(line + b'\r')
        self.expect(want, timeout)

    def ok(self, line):
        self.cmd(line, b'\r\nOK\r\n')

    def control(self, request, timeout=READ_TIMEOUT):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(self.ctl_path)
            s.sendall(request.encode() + b'\n')
            s.shutdown(socket.SHUT_WR)      # the reply must still come
            data = b''
            while not data.endswith(b'\n'):
                chunk = s.recv(65536)
                check(chunk, 'control socket closed early')
                data += chunk
        finally:
            s.close()
        return json.loads(data.decode())

    # shared steps

    def init(self):
        """ATE0 (still echoed), CMEE=1, then transcript 13.1."""
        self.cmd(b'ATE0', b'ATE0\r\r\nOK\r\n')
        self.ok(b'AT+CMEE=1')
        self.ok(b'AT+QICSGP=1,1,"iot.example","","",0')
        self.ok(b'AT+QIACT=1')
        self.cmd(b'AT+QIACT?',
                 b'\r\n+QIACT: 1,1,1,"10.44.0.17"\r\n\r\nOK\r\n')

    def open_tcp(self, cid, server, access=0):
        """Opens slot cid to server; returns the accepted peer socket."""
        port = server.getsockname()[1]
        self.cmd(b'AT+QIOPEN=1,%d,"TCP","127.0.0.1",%d,0,%d'
                 % (cid, port, access),
                 b'\r\nOK\r\n\r\n+QIOPEN: %d,0\r\n' % cid)
        conn, _ = server.accept()
        conn.settimeout(READ_TIMEOUT)
        return conn

    def _counters(self, cmd, cid):
        """AT+<cmd>=<id>,0 (QIRD, QISEND): its three counters."""
        self.send(b'AT+%s=%d,0\r' % (cmd, cid))
        text = self.line()
        m = re.fullmatch(rb'\+%s: (\d+),(\d+),(\d+)' % cmd, text)
        check(m, 'bad %s counters: %r' % (cmd.decode(), text))
        self.expect(b'\r\nOK\r\n')
        return tuple(int(x) for x in m.groups())

    def counters(self, cid):
        """AT+QIRD=<id>,0 as (total, read, unread)."""
        return self._counters(b'QIRD', cid)

    def wait_rx(self, cid, total, timeout=READ_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            c = self.counters(cid)
            if c[0] >= total:
                return c
            check(time.monotonic() < deadline,
                  'slot %d received %d of %d bytes' % (cid, c[0], total))
            time.sleep(0.02)

    def qisend_counters(self, cid):
        """AT+QISEND=<id>,0 as (sent, acked, unacked)."""
        return self._counters(b'QISEND', cid)

    def violations(self):
        return self.control('stats')['violations']


def tcp_server(rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind(('127.0.0.1', 0))
    s.listen(8)
    s.settimeout(READ_TIMEOUT)
    return s


def udp_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    s.settimeout(READ_TIMEOUT)
    return s


def recv_exact(conn, n):
    data = b''
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        check(chunk, 'peer closed after %d of %d bytes' % (len(data), n))
        data += chunk
    return data


def qird_data(sim, cid, length=1500):
    """One AT+QIRD=<id>,<len>: returns the payload (b'' when drained)."""
    sim.send(b'AT+QIRD=%d,%d\r' % (cid, length))
    head = sim.line()
    m = re.fullmatch(rb'\+QIRD: (\d+)', head)
    check(m, 'bad QIRD header %r' % head)
    n = int(m.group(1))
    if n == 0:
        sim.expect(b'\r\nOK\r\n')
        return b''
    data = sim.read(n)
    sim.expect(b'\r\n\r\nOK\r\n')
    return data


def alarm(signum, frame):
    raise TimeoutError('test took longer than %d s' % TEST_TIMEOUT)


def run_tests(tests, argv, usage):
    """argv: PATH_TO_BG96SIM [TEST_NAME...]; runs the wanted tests (all
    without names); the exit status."""
    global SIM
    if len(argv) < 2:
        sys.stderr.write(usage)
        return 2
    SIM = os.path.abspath(argv[1])
    wanted = argv[2:]
    signal.signal(signal.SIGALRM, alarm)
    passed = failed = 0
    t_all = time.monotonic()
    for test in tests:
        if wanted and test.__name__ not in wanted:
            continue
        t0 = time.monotonic()
        signal.alarm(TEST_TIMEOUT)
        try:
            test()
            signal.alarm(0)
            passed += 1
            print('ok   %-32s %.2fs' % (test.__name__, time.monotonic() - t0))
        except Exception:
            signal.alarm(0)
            failed += 1
            print('FAIL %-32s %.2fs' % (test.__name__, time.monotonic() - t0))
            traceback.print_exc()
        sys.stdout.flush()
    print('total %.2fs' % (time.monotonic() - t_all))
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0
