"""The load of the soak test, shared with the schedule test (sched.py):
the transfer protocol (a 32-byte header, then echo / sink / source,
checked against the header's seed), its TCP and UDP servers, the
datagram format, and SoakEnv (the harness's Env with bg96sim's log kept
as a bounded tail)."""
import collections
import fcntl
import hashlib
import os
import random
import socket
import struct
import threading
import time

from harness import Env, Server, UdpServer

SERVER_IO_S = 180.0       # server side: give up on a silent peer

KINDS = ("tcp", "udp", "socks", "listener", "service")

MAGIC = b"SOAK"
HDR = struct.Struct(">4sBBxxQQQ")     # magic mode kind xid seed length
MODE_ECHO, MODE_UP, MODE_DOWN = 1, 2, 3
MODE_NAMES = {MODE_ECHO: "echo", MODE_UP: "up", MODE_DOWN: "down"}
UMAGIC = b"SOKU"
UHDR = struct.Struct(">4sQI")         # magic session seq
UMIN = UHDR.size + 32


def gen(seed, n):
    return random.Random(seed).randbytes(n)


def now():
    return time.monotonic()


def read_exact(conn, n):
    buf = bytearray()
    while len(buf) < n:
        b = conn.recv(n - len(buf))
        if not b:
            break
        buf += b
    return bytes(buf)


class StreamServer(Server):
    """Accepts TCP (or Unix) connections and serves the transfer protocol:
    a 32-byte header, then echo / sink (answer the sha256) / source.  What
    it receives is checked against the header's seed as it arrives."""

    ACCEPT_POLL = 0.5

    def __init__(self, stats, label, unix_path=None):
        self.stats = stats
        self.label = label      # the kind blamed for an unreadable header
        super().__init__(None, unix_path)

    def _run(self, conn, idx=None):
        kind = None
        try:
            conn.settimeout(SERVER_IO_S)
            hdr = read_exact(conn, HDR.size)
            if len(hdr) < HDR.size:
                if not MAGIC.startswith(hdr[:4]):
                    self.stats.problem("server: short header %r is not ours"
                                       % hdr)
                    self.stats.add(self.label, server_corrupted=1)
                return
            magic, mode, kidx, xid, seed, length = HDR.unpack(hdr)
            if (magic != MAGIC or mode not in MODE_NAMES or
                    kidx >= len(KINDS) or length > 1 << 20):
                self.stats.problem("server: corrupted header %r" % hdr)
                self.stats.add(self.label, server_corrupted=1)
                return
            kind = KINDS[kidx]
            self.stats.server_saw(xid)
            data = gen(seed, length)
            if mode == MODE_DOWN:
                view = memoryview(data)
                for i in range(0, length, 16384):
                    conn.sendall(view[i:i + 16384])
                    self.stats.add(kind, server_sent=len(view[i:i + 16384]))
                return
            got = 0
            while got < length:
                b = conn.recv(min(65536, length - got))
                if not b:
                    break
                if b != data[got:got + len(b)]:
                    self.stats.problem(
                        "server: %s xid %d (%s) bytes %d..%d differ from "
                        "what was sent" % (kind, xid, MODE_NAMES[mode], got,
                                           got + len(b)))
                    self.stats.add(kind, server_corrupted=1)
                    return
                got += len(b)
                self.stats.add(kind, server_received=len(b))
                if mode == MODE_ECHO:
                    conn.sendall(b)
                    self.stats.add(kind, server_sent=len(b))
            if got == length and mode == MODE_UP:
                conn.sendall(hashlib.sha256(data).digest())
        except socket.timeout:
            self.stats.add(kind or self.label, server_timeouts=1)
        except OSError:
            pass            # cut by a fault: what arrived was checked
        finally:
            conn.close()


class UdpEchoServer(UdpServer):
    """Answers every datagram with itself after checking its hash."""

    POLL = 0.5

    def __init__(self, stats, kind):
        self.stats = stats
        self.kind = kind
        super().__init__()

    def datagram(self, data, addr):
        if not dgram_ok(data):
            self.stats.problem("udp server (%s): corrupted datagram of "
                               "%d bytes" % (self.kind, len(data)))
            self.stats.add(self.kind, server_dgrams_corrupted=1)
            return
        self.stats.server_saw(("u", UHDR.unpack(data[:UHDR.size])[1]))
        self.stats.add(self.kind, server_received=len(data))
        try:
            self.sock.sendto(data, addr)
            self.stats.add(self.kind, server_sent=len(data))
        except OSError:
            pass


def recv_checked(sock, rx, expect, chunk=65536):
    """One recv on a non-blocking stream, appended to rx (a bytearray)
    and checked against expect: None to go on, else how the transfer
    ended: eof, reset, extra (more than expected) or mismatch."""
    try:
        b = sock.recv(chunk)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return "reset"
    if b == b"":
        return "eof"
    n0 = len(rx)
    rx += b
    if len(rx) > len(expect):
        return "extra"
    if b != expect[n0:len(rx)]:
        return "mismatch"
    return None


def make_dgram(session, seq, size, rng):
    head = UHDR.pack(UMAGIC, session, seq)
    body = rng.randbytes(max(0, size - UMIN))
    return head + hashlib.sha256(head + body).digest() + body


def dgram_ok(d):
    return (len(d) >= UMIN and d[:4] == UMAGIC and
            hashlib.sha256(d[:UHDR.size] + d[UMIN:]).digest() ==
            d[UHDR.size:UMIN])


class SoakEnv(Env):
    """The harness's Env, but bg96sim logs into a pipe of which only the
    last SIM_LOG_KEEP bytes are kept (it logs every AT line and payload:
    about 100 MB a minute under this load)."""

    SIM_LOG_KEEP = 16 << 20

    def start_sim(self):
        self.sim_tail = collections.deque()
        self.sim_tail_len = 0
        os.mkfifo(self.sim_log)
        self.tail_thread = threading.Thread(target=self._tail, daemon=True)
        self.tail_thread.start()
        super().start_sim()

    def _tail(self):
        fd = os.open(self.sim_log, os.O_RDONLY)
        try:
            fcntl.fcntl(fd, 1031, 1 << 20)      # F_SETPIPE_SZ
        except OSError:
            pass
        while True:
            b = os.read(fd, 1 << 16)
            if not b:
                break
            self.sim_tail.append(b)
            self.sim_tail_len += len(b)
            while self.sim_tail_len > self.SIM_LOG_KEEP:
                self.sim_tail_len -= len(self.sim_tail.popleft())
        os.close(fd)

    def save_sim_log(self, path):
        self.tail_thread.join(10)
        with open(path, "wb") as f:
            f.write(b"".join(list(self.sim_tail)))
